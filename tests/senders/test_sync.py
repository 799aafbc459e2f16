"""The periodic sync of WABAs and numbers, against the mock Meta server over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Notification
from accounts.tenancy import tenant_scope
from senders import tasks as sender_tasks
from senders import troubleshooting as ts
from senders.models import (
    AccountHistory,
    ConnectionStatus,
    HistoryKind,
    MetaAsset,
    PhoneNumber,
    WhatsAppAccount,
)
from senders.services import sync
from tests.factories import World
from tests.fixtures_senders import Connected, ConnectWaba
from waba_portal.graph.client import GraphClient

pytestmark = pytest.mark.django_db


def run_sync(c: Connected, capture, *, retrying: bool = False):  # type: ignore[no-untyped-def]
    """The task as a worker runs it; side effects after commit (notification e-mails) too.

    With ``retrying``, a retry the task asks for runs at once (eager ``apply`` does that
    when the first run does not propagate its Retry).
    """
    with capture(execute=True):
        if retrying:
            return sender_tasks.sync_waba_task.apply(args=(c.tenant.pk, c.waba.pk), throw=False)
        return sender_tasks.sync_waba_task.delay(c.tenant.pk, c.waba.pk)


def history(c: Connected, **filters) -> list[AccountHistory]:  # type: ignore[no-untyped-def]
    with tenant_scope(c.tenant):
        return list(AccountHistory.objects.filter(waba_id=c.waba.pk, **filters).order_by("id"))


def notifications(c: Connected) -> list[Notification]:
    with tenant_scope(c.tenant):
        return list(Notification.objects.order_by("id"))


def graph_gets(mock_meta) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["path"] for r in mock_meta.requests() if r["method"] == "GET"]


def waba_path(c: Connected) -> str:
    return rf"^/v[0-9.]+/{c.waba_id}$"


# --- What changed is recorded and told ---------------------------------------------------


def test_a_sync_without_changes_records_nothing(
    connected_waba: Connected, mock_meta, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    run_sync(c, django_capture_on_commit_callbacks)
    waba = c.reload()
    assert waba.last_synced_at is not None and waba.sync_error == ""
    assert waba.connection_status == ConnectionStatus.CONNECTED
    assert history(c) == []
    assert notifications(c) == [] and mail.outbox == []


def test_changes_become_history_and_worse_ones_notify_managers(
    world: World, connected_waba: Connected, mock_meta, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.patch("waba", c.waba_id, account_review_status="REJECTED")
    mock_meta.patch("business", c.business_id, messaging_limit="TIER_250")
    mock_meta.patch("phone", c.phone_number_id, quality_rating="YELLOW", name_status="DECLINED")

    run_sync(c, django_capture_on_commit_callbacks)

    changes = {
        (h.kind, h.phone_number_id is not None, h.old_value, h.new_value) for h in history(c)
    }
    assert changes == {
        (HistoryKind.REVIEW, False, "APPROVED", "REJECTED"),
        (HistoryKind.LIMIT, False, "TIER_2K", "TIER_250"),
        (HistoryKind.LIMIT, True, "TIER_2K", "TIER_250"),
        (HistoryKind.QUALITY, True, "GREEN", "YELLOW"),
        (HistoryKind.NAME, True, "APPROVED", "DECLINED"),
    }
    assert all(h.source == "sync" for h in history(c))
    phone = c.reload_phone()
    assert (phone.quality_rating, phone.name_status, phone.problem) == (
        "YELLOW",
        "DECLINED",
        ts.DISPLAY_NAME_REJECTED,
    )
    assert phone.connection_status == ConnectionStatus.ACTION_REQUIRED
    # Five changes for the worse, told to the owner and the admin (not the agent).
    notes = notifications(c)
    assert len(notes) == 5 * 2
    assert {n.user.email for n in notes} == {"owner@acme.test", "admin@acme.test"}
    assert len(mail.outbox) == 10
    assert {m.to[0] for m in mail.outbox} == {"owner@acme.test", "admin@acme.test"}

    # Nothing changed since: a second sync records and tells nothing more.
    run_sync(c, django_capture_on_commit_callbacks)
    assert len(history(c)) == 5 and len(notifications(c)) == 10


def test_status_change_of_a_number_is_recorded(
    connected_waba: Connected, mock_meta, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.patch("phone", c.phone_number_id, status="FLAGGED")
    run_sync(c, django_capture_on_commit_callbacks)
    (change,) = history(c, kind=HistoryKind.STATUS)
    assert (change.old_value, change.new_value) == ("CONNECTED", "FLAGGED")
    assert c.reload_phone().connection_status == ConnectionStatus.RESTRICTED
    assert len(notifications(c)) == 2


def test_one_waba_read_and_one_numbers_read_even_with_30_numbers(
    world: World, connect_waba: ConnectWaba, mock_meta, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=30)
    mock_meta.patch("business", c.business_id, messaging_limit="TIER_10K")
    mock_meta.requests(clear=True)

    run_sync(c, django_capture_on_commit_callbacks)

    assert graph_gets(mock_meta) == [
        f"/v23.0/{c.waba_id}",
        f"/v23.0/{c.waba_id}/phone_numbers",
    ]
    with tenant_scope(c.tenant):
        assert PhoneNumber.objects.filter(messaging_limit="TIER_10K").count() == 30
    assert len(history(c, kind=HistoryKind.LIMIT)) == 31  # the WABA and each number


def test_numbers_new_at_meta_are_added_and_claimed(
    world: World, connected_waba: Connected, mock_meta, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    client = GraphClient(token=c.token, base_url=mock_meta.base_url)
    new_id = client.phone_number_add(
        c.waba_id, cc="1", phone_number="5550009999", verified_name="Acme Two"
    )["id"]

    run_sync(c, django_capture_on_commit_callbacks)

    with tenant_scope(c.tenant):
        phone = PhoneNumber.objects.get(phone_number_id=new_id)
        assert phone.waba_id == c.waba.pk
        assert phone.connection_status == ConnectionStatus.PENDING
        assert MetaAsset.objects.filter(meta_id=new_id).exists()


def test_a_number_gone_from_the_waba_is_disconnected_with_history(
    world: World, connect_waba: ConnectWaba, mock_meta, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    primary, _other = c.phones
    assert primary.is_primary
    mock_meta.patch("phone", primary.phone_number_id, waba_id="999999999")  # moved away

    run_sync(c, django_capture_on_commit_callbacks)

    gone = c.reload_phone(0)
    assert gone.connection_status == ConnectionStatus.DISCONNECTED and not gone.is_primary
    (change,) = history(c, kind=HistoryKind.CONNECTION)
    assert (change.phone_number_id, change.new_value) == (gone.pk, "disconnected")
    assert c.reload_phone(1).is_primary  # the other number is the sender now
    with tenant_scope(c.tenant):
        assert not MetaAsset.objects.filter(meta_id=gone.phone_number_id).exists()
    assert len(notifications(c)) == 2

    # Still gone at the next sync: nothing new.
    run_sync(c, django_capture_on_commit_callbacks)
    assert len(history(c, kind=HistoryKind.CONNECTION)) == 1 and len(notifications(c)) == 2


# --- Fan-out --------------------------------------------------------------------------------


def test_fan_out_picks_the_stalest_first_across_tenants_and_respects_the_cap(
    world: World, connect_waba: ConnectWaba, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    recent = connect_waba(world.tenant, name="Recent", last_synced_at=now - timedelta(minutes=1))
    old = connect_waba(world.tenant, name="Old", last_synced_at=now - timedelta(hours=2))
    oldest = connect_waba(world.other_tenant, name="Oldest", last_synced_at=now - timedelta(days=1))
    never = connect_waba(world.tenant, name="Never")
    connect_waba(world.tenant, name="Gone", connection_status=ConnectionStatus.DISCONNECTED)
    connect_waba(world.tenant, name="Registering", connection_status=ConnectionStatus.REGISTERING)
    connect_waba(world.other_tenant, name="No token", access_token=None)
    queued: list[tuple] = []
    monkeypatch.setattr(
        sender_tasks.sync_waba_task,
        "delay_on_commit",
        lambda *args: queued.append((sender_tasks.sync_waba_task.name, *args)),
    )

    settings.SYNC_INTERVAL_SECONDS = 900
    settings.SYNC_BATCH_CAP = 2
    assert sync.sync_fan_out() == 2
    assert queued == [
        ("senders.sync_waba", world.tenant.pk, never.waba.pk),
        ("senders.sync_waba", world.other_tenant.pk, oldest.waba.pk),
    ]

    queued.clear()
    settings.SYNC_BATCH_CAP = 100
    assert sender_tasks.sync_fan_out_task.delay().get() == 3
    assert [args[2] for args in queued] == [never.waba.pk, oldest.waba.pk, old.waba.pk]
    assert recent.waba.pk not in [args[2] for args in queued]


def test_fan_out_syncs_every_due_waba(
    world: World,
    connected_waba: Connected,
    other_connected_waba: Connected,
    mock_meta,
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        assert sync.sync_fan_out() == 2
    assert connected_waba.reload().last_synced_at is not None
    assert other_connected_waba.reload().last_synced_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert sync.sync_fan_out() == 0  # both synced just now


def test_beat_runs_the_fan_out_every_five_minutes() -> None:
    from waba_portal.celery import app

    entry = app.conf.beat_schedule["sync-wabas"]
    assert (entry["task"], entry["schedule"]) == ("senders.sync_fan_out", 300.0)
    # Each task names its queue on its decorator: sync work never waits behind sending.
    assert sender_tasks.sync_fan_out_task.queue == "sync"
    assert sender_tasks.sync_waba_task.queue == "sync"
    assert sender_tasks.onboarding_run_task.queue == "sync"


# --- Errors ------------------------------------------------------------


def test_expired_token_shows_its_fix_and_notifies_once(
    connected_waba: Connected, mock_meta, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.fault("GET", waba_path(c), code=190, subcode=463, http_status=401, times=2)

    run_sync(c, django_capture_on_commit_callbacks)
    run_sync(c, django_capture_on_commit_callbacks)

    waba = c.reload()
    assert (waba.problem, waba.connection_status) == (
        ts.TOKEN_INVALID,
        ConnectionStatus.ACTION_REQUIRED,
    )
    assert "190" in waba.sync_error or "expired" in waba.sync_error.lower()
    (change,) = history(c, kind=HistoryKind.CONNECTION)
    assert change.detail["problem"] == ts.TOKEN_INVALID
    notes = notifications(c)
    assert len(notes) == 2  # owner and admin, once: not at every sync
    assert str(ts.get(ts.TOKEN_INVALID).title) in notes[0].title
    assert len(mail.outbox) == 2

    # The token works again (Meta answers): the problem clears.
    run_sync(c, django_capture_on_commit_callbacks)
    waba = c.reload()
    assert (waba.problem, waba.connection_status, waba.sync_error) == (
        "",
        ConnectionStatus.CONNECTED,
        "",
    )


def test_permission_removed_is_a_problem_too(
    connected_waba: Connected, mock_meta, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.fault("GET", waba_path(c), code=200, http_status=403, times=1)
    run_sync(c, django_capture_on_commit_callbacks)
    waba = c.reload()
    assert waba.connection_status == ConnectionStatus.ACTION_REQUIRED
    assert waba.problem == ts.TOKEN_INVALID
    assert len(notifications(c)) == 2


def test_meta_unavailable_is_retried_by_the_task(
    connected_waba: Connected, mock_meta, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    # The client tries 3 times per run; the 4th failure lands in the task's first retry.
    mock_meta.fault("GET", waba_path(c), code=2, http_status=500, is_transient=True, times=4)
    mock_meta.requests(clear=True)

    result = run_sync(c, django_capture_on_commit_callbacks, retrying=True)

    assert result.successful()
    waba = c.reload()
    assert waba.last_synced_at is not None and waba.sync_error == ""
    statuses = [r["status"] for r in mock_meta.requests() if r["path"].endswith(c.waba_id)]
    assert statuses == [500, 500, 500, 500, 200]
    assert notifications(c) == []


def test_retries_are_bounded_and_the_error_is_kept(
    connected_waba: Connected, mock_meta, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    settings.SYNC_MAX_RETRIES = 1
    mock_meta.fault("GET", waba_path(c), code=2, http_status=503, is_transient=True, times=50)
    mock_meta.requests(clear=True)

    result = run_sync(c, django_capture_on_commit_callbacks, retrying=True)

    assert result.successful()  # gave up: nothing left to raise

    waba = c.reload()
    assert waba.sync_error and waba.last_synced_at is not None
    assert waba.connection_status == ConnectionStatus.CONNECTED  # not the user's problem
    assert len([r for r in mock_meta.requests() if r["path"].endswith(c.waba_id)]) == 6


def test_unverified_business_past_30_days_breaks_the_connection_once(
    world: World, connect_waba: ConnectWaba, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(
        world.tenant,
        verification="not_verified",
        unverified_since=timezone.now() - timedelta(days=29),
    )
    run_sync(c, django_capture_on_commit_callbacks)
    assert c.reload().problem == ""  # still in the trial
    assert notifications(c) == []

    with tenant_scope(c.tenant):
        WhatsAppAccount.objects.filter(pk=c.waba.pk).update(
            unverified_since=timezone.now() - timedelta(days=31)
        )
    run_sync(c, django_capture_on_commit_callbacks)
    run_sync(c, django_capture_on_commit_callbacks)

    waba = c.reload()
    assert (waba.problem, waba.connection_status) == (
        ts.UNVERIFIED_TRIAL_ENDED,
        ConnectionStatus.ACTION_REQUIRED,
    )
    (change,) = history(c, kind=HistoryKind.CONNECTION)
    assert change.detail["problem"] == ts.UNVERIFIED_TRIAL_ENDED
    notes = notifications(c)
    assert len(notes) == 2
    assert str(ts.get(ts.UNVERIFIED_TRIAL_ENDED).title) in notes[0].title


def test_verification_after_the_trial_restores_the_connection(
    world: World, connect_waba: ConnectWaba, mock_meta, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(
        world.tenant,
        verification="not_verified",
        unverified_since=timezone.now() - timedelta(days=40),
    )
    run_sync(c, django_capture_on_commit_callbacks)
    assert c.reload().problem == ts.UNVERIFIED_TRIAL_ENDED
    mock_meta.patch("business", c.business_id, verification_status="verified")
    run_sync(c, django_capture_on_commit_callbacks)
    waba = c.reload()
    assert (waba.problem, waba.connection_status, waba.unverified_since) == (
        "",
        ConnectionStatus.CONNECTED,
        None,
    )


# --- Tenancy ------------------------------------------------------------


def test_a_sync_of_one_tenant_never_touches_another(
    world: World,
    connected_waba: Connected,
    other_connected_waba: Connected,
    mock_meta,
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    a, b = connected_waba, other_connected_waba
    mock_meta.patch("phone", b.phone_number_id, quality_rating="RED")
    mock_meta.requests(clear=True)

    run_sync(a, django_capture_on_commit_callbacks)
    # Tenant A naming B's account by its primary key finds nothing and calls nobody.
    with django_capture_on_commit_callbacks(execute=True):
        sender_tasks.sync_waba_task.delay(a.tenant.pk, b.waba.pk)

    assert all(b.waba_id not in path for path in graph_gets(mock_meta))
    untouched = b.reload()
    assert untouched.last_synced_at is None
    assert b.reload_phone().quality_rating == "GREEN"
    assert history(b) == [] and notifications(b) == []


def test_a_number_held_by_another_tenant_is_not_taken(
    world: World,
    connected_waba: Connected,
    other_connected_waba: Connected,
    mock_meta,
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    a, b = connected_waba, other_connected_waba
    # At Meta, B's number now sits in A's WABA; B still holds its id here.
    mock_meta.patch("phone", b.phone_number_id, waba_id=a.waba_id)

    run_sync(a, django_capture_on_commit_callbacks)

    with tenant_scope(a.tenant):
        taken = PhoneNumber.objects.get(phone_number_id=b.phone_number_id)
        assert taken.problem == ts.ANOTHER_PROVIDER
        assert taken.connection_status == ConnectionStatus.ACTION_REQUIRED
        assert not MetaAsset.objects.filter(meta_id=b.phone_number_id).exists()
    # Meta says the number is connected; it still is not ours to send from.
    run_sync(a, django_capture_on_commit_callbacks)
    with tenant_scope(a.tenant):
        taken = PhoneNumber.objects.get(phone_number_id=b.phone_number_id)
        assert (taken.connection_status, taken.problem) == (
            ConnectionStatus.ACTION_REQUIRED,
            ts.ANOTHER_PROVIDER,
        )
    with tenant_scope(b.tenant):
        assert MetaAsset.objects.filter(meta_id=b.phone_number_id).exists()
        assert PhoneNumber.objects.get(phone_number_id=b.phone_number_id).waba_id == b.waba.pk
