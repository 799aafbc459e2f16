"""Webhooks and the sync end on Meta's state, whatever order they come in.

Per aspect of a number (quality, status, name) each piece of information keeps its
time: a webhook its event time, a read of Meta its start. The quality webhook says
what happened but not the rating it left (docs/meta/NOTES.md §5), so after one the
number is read from Meta, once for a burst of events. Everything runs against the mock
Meta server over HTTP; tasks run in-process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Notification
from accounts.tenancy import tenant_scope
from senders import tasks as sender_tasks
from senders import troubleshooting as ts
from senders.models import AccountHistory, ConnectionStatus, HistoryKind, PhoneNumber
from tests.fixtures_senders import Connected
from tests.fixtures_webhooks import post_signed
from tests.senders.test_events import name_update, payload, post, quality
from waba_portal.graph.client import GraphClient

pytestmark = pytest.mark.django_db(transaction=True)  # webhooks are processed at commit


def now() -> int:
    """A webhook's ``entry.time`` for an event happening now (Meta stamps whole seconds)."""
    return int(time.time())


def run_sync(c: Connected) -> None:
    sender_tasks.sync_waba_task.delay(c.tenant.pk, c.waba.pk)


def state(c: Connected) -> dict[str, str]:
    phone = c.reload_phone()
    return {
        "meta_status": phone.meta_status,
        "quality_rating": phone.quality_rating,
        "name_status": phone.name_status,
        "problem": phone.problem,
        "connection_status": phone.connection_status,
    }


def phone_reads(mock_meta, c: Connected) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The mock's log of GETs of the number's own node (the targeted reads)."""
    return [
        r
        for r in mock_meta.requests()
        if r["method"] == "GET" and r["path"].rstrip("/").endswith("/" + c.phone_number_id)
    ]


def history(c: Connected, **filters: Any) -> list[AccountHistory]:
    with tenant_scope(c.tenant):
        return list(AccountHistory.objects.filter(waba_id=c.waba.pk, **filters).order_by("id"))


def notifications(c: Connected) -> list[Notification]:
    with tenant_scope(c.tenant):
        return list(Notification.objects.order_by("id"))


# --- The cases: one change at Meta, the webhook it sends, what we must end with ----------


@dataclass(frozen=True)
class Case:
    """Meta's number goes from ``before`` to ``after`` and sends ``webhook`` about it."""

    before: dict[str, str]
    after: dict[str, str]
    webhook: Callable[[Connected], dict[str, Any]]
    expected_before: dict[str, str]
    expected_after: dict[str, str]
    ours_before: dict[str, str] = field(default_factory=dict)


CASES = {
    # UNFLAGGED names no rating: Meta moved the number from Low to Medium, not to High.
    "quality": Case(
        before={"quality_rating": "RED"},
        after={"quality_rating": "YELLOW"},
        webhook=lambda c: quality(c, "UNFLAGGED"),
        ours_before={"quality_rating": "RED"},
        expected_before={"quality_rating": "RED", "meta_status": "CONNECTED"},
        expected_after={
            "quality_rating": "YELLOW",
            "meta_status": "CONNECTED",
            "connection_status": ConnectionStatus.CONNECTED,
        },
    ),
    # A flag that Meta also shows in the number's status.
    "status": Case(
        before={},
        after={"status": "FLAGGED", "quality_rating": "RED"},
        webhook=lambda c: quality(c, "FLAGGED"),
        expected_before={"meta_status": "CONNECTED", "quality_rating": "GREEN"},
        expected_after={
            "meta_status": "FLAGGED",
            "quality_rating": "RED",
            "connection_status": ConnectionStatus.RESTRICTED,
        },
    ),
    # A flag that lowers the quality and leaves the status CONNECTED: the status must not
    # read "Flagged" after the webhook and "Connected" after the next sync.
    "status_kept": Case(
        before={},
        after={"quality_rating": "RED"},
        webhook=lambda c: quality(c, "FLAGGED"),
        expected_before={"meta_status": "CONNECTED", "quality_rating": "GREEN"},
        expected_after={
            "meta_status": "CONNECTED",
            "quality_rating": "RED",
            "connection_status": ConnectionStatus.CONNECTED,
        },
    ),
    "name": Case(
        before={},
        after={"name_status": "DECLINED"},
        webhook=lambda c: name_update(
            c, "REJECTED", requested_verified_name="Acme!!!", rejection_reason="Too generic"
        ),
        expected_before={"name_status": "APPROVED", "problem": ""},
        expected_after={
            "name_status": "DECLINED",
            "problem": ts.DISPLAY_NAME_REJECTED,
            "connection_status": ConnectionStatus.ACTION_REQUIRED,
        },
    ),
}


def assert_state(c: Connected, expected: dict[str, str], when: str) -> None:
    got = state(c)
    assert {k: got[k] for k in expected} == expected, when


def set_up(c: Connected, mock_meta, case: Case) -> None:  # type: ignore[no-untyped-def]
    if case.before:
        mock_meta.patch("phone", c.phone_number_id, **case.before)
    if case.ours_before:
        with tenant_scope(c.tenant):
            PhoneNumber.objects.filter(pk=c.phone.pk).update(**case.ours_before)
    assert_state(c, case.expected_before, "set-up")


def meta_changes(c: Connected, mock_meta, case: Case) -> None:  # type: ignore[no-untyped-def]
    """The change happens at Meta, and Meta sends its webhook."""
    mock_meta.patch("phone", c.phone_number_id, **case.after)
    post(c, case.webhook(c), at=now())


@pytest.fixture
def read_then(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[], None]], None]]:
    """``read_then(fn)``: the next sync reads Meta's numbers, then ``fn`` runs, then the
    sync applies what it read (a sync that read before an event and is applied after)."""
    original = GraphClient.phone_numbers_list

    def arm(meanwhile: Callable[[], None]) -> None:
        def read(self: GraphClient, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
            items = list(original(self, *args, **kwargs))
            monkeypatch.setattr(GraphClient, "phone_numbers_list", original)
            meanwhile()
            return iter(items)

        monkeypatch.setattr(GraphClient, "phone_numbers_list", read)

    yield arm


ORDERS = ["webhook_then_sync", "sync_then_webhook", "sync_read_before_applied_after"]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("aspect", sorted(CASES))
def test_webhook_and_sync_converge_on_metas_state_in_every_order(
    connected_waba: Connected, mock_meta, read_then, aspect: str, order: str
) -> None:  # type: ignore[no-untyped-def]
    c, case = connected_waba, CASES[aspect]
    set_up(c, mock_meta, case)

    if order == "webhook_then_sync":
        meta_changes(c, mock_meta, case)
        assert_state(c, case.expected_after, "after the webhook")
        run_sync(c)
    elif order == "sync_then_webhook":
        run_sync(c)  # Meta has not changed yet
        assert_state(c, case.expected_before, "after the sync")
        meta_changes(c, mock_meta, case)
    else:
        # The sync reads Meta, the change and its webhook happen, then the sync applies
        # its older read: it must not undo what the webhook brought.
        read_then(lambda: meta_changes(c, mock_meta, case))
        run_sync(c)

    assert_state(c, case.expected_after, "at the end")
    run_sync(c)  # and a later sync, which reads the same, changes nothing
    assert_state(c, case.expected_after, "after another sync")


@pytest.mark.parametrize("aspect", sorted(CASES))
def test_a_late_webhook_older_than_a_sync_does_not_undo_it(
    connected_waba: Connected, mock_meta, aspect: str
) -> None:  # type: ignore[no-untyped-def]
    """Meta changed and changed back; the sync saw the end; the first event's webhook
    comes last, stamped with its own (older) time."""
    c, case = connected_waba, CASES[aspect]
    set_up(c, mock_meta, case)
    run_sync(c)
    post(c, case.webhook(c), at=now() - 120)
    assert_state(c, case.expected_before, "after the late webhook")


def test_unflagged_to_medium_at_meta_ends_medium_not_high(
    connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.patch("phone", c.phone_number_id, quality_rating="RED")
    post(c, quality(c, "FLAGGED"), at=now())
    assert c.reload_phone().quality_rating == "RED"

    mock_meta.patch("phone", c.phone_number_id, quality_rating="YELLOW")
    post(c, quality(c, "UNFLAGGED"), at=now())

    phone = c.reload_phone()
    assert (phone.quality_rating, phone.quality_label) == ("YELLOW", "Medium")
    assert [(h.old_value, h.new_value) for h in history(c, kind=HistoryKind.QUALITY)] == [
        ("GREEN", "RED"),
        ("RED", "YELLOW"),
    ]
    # Told once about the drop (to the owner and the admin), not about the recovery.
    assert len(notifications(c)) == 2


def test_a_flag_read_from_meta_is_told_once(connected_waba: Connected, mock_meta) -> None:  # type: ignore[no-untyped-def]
    """One event that changes the status and the quality is one notice, as before."""
    c = connected_waba
    mock_meta.patch("phone", c.phone_number_id, status="FLAGGED", quality_rating="RED")
    post(c, quality(c, "FLAGGED"), at=now())
    assert {h.kind for h in history(c)} == {HistoryKind.STATUS, HistoryKind.QUALITY}
    assert all(h.source == "sync" for h in history(c))
    assert len(notifications(c)) == 2


# --- One read for a burst ---------------------------------------------------------------------


def test_ten_quality_events_in_one_delivery_read_the_number_once(
    connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.patch("phone", c.phone_number_id, quality_rating="RED")
    mock_meta.requests(clear=True)
    at = now()
    events = [quality(c, "FLAGGED" if i % 2 == 0 else "UNFLAGGED") for i in range(10)]
    response = post_signed(Client(), payload(c.waba_id, *events, at=at))
    assert response.status_code == 200
    assert len(phone_reads(mock_meta, c)) == 1
    assert c.reload_phone().quality_rating == "RED"
    assert c.reload_phone().refresh_requested_at is None


def test_events_while_a_read_is_queued_wait_for_it(
    connected_waba: Connected, mock_meta, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Ten deliveries, one after another, while the read they asked for is queued."""
    c = connected_waba
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        sender_tasks.phone_refresh_task,
        "apply_async",
        lambda args, **options: queued.append(tuple(args)),
    )
    mock_meta.patch("phone", c.phone_number_id, quality_rating="YELLOW")
    mock_meta.requests(clear=True)
    for i in range(10):
        post(c, quality(c, "UNFLAGGED"), at=now() + i)
    assert queued == [(c.tenant.pk, c.phone.pk)]
    assert phone_reads(mock_meta, c) == []

    monkeypatch.undo()
    sender_tasks.phone_refresh_task.apply(args=queued[0])
    assert len(phone_reads(mock_meta, c)) == 1
    assert c.reload_phone().quality_rating == "YELLOW"

    # The read has started (and ended): the next event asks for a new one.
    monkeypatch.setattr(
        sender_tasks.phone_refresh_task,
        "apply_async",
        lambda args, **options: queued.append(tuple(args)),
    )
    post(c, quality(c, "FLAGGED"), at=now() + 20)
    assert len(queued) == 2


def test_a_read_queued_long_ago_and_lost_is_queued_again(
    connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    from senders.services import sync

    with tenant_scope(c.tenant):
        PhoneNumber.objects.filter(pk=c.phone.pk).update(
            refresh_requested_at=timezone.now() - timedelta(seconds=sync.REFRESH_STALE_SECONDS + 1)
        )
    mock_meta.patch("phone", c.phone_number_id, quality_rating="YELLOW")
    mock_meta.requests(clear=True)
    post(c, quality(c, "UNFLAGGED"), at=now())
    assert len(phone_reads(mock_meta, c)) == 1
    assert c.reload_phone().quality_rating == "YELLOW"


def test_the_read_is_retried_while_meta_is_unavailable(
    connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.patch("phone", c.phone_number_id, quality_rating="YELLOW")
    path = rf"^/v[0-9.]+/{c.phone_number_id}$"
    # The client tries 3 times per run; the task's retry (at once, eagerly) gets through.
    mock_meta.fault("GET", path, code=2, http_status=503, is_transient=True, times=3)
    with tenant_scope(c.tenant):
        PhoneNumber.objects.filter(pk=c.phone.pk).update(quality_rating="RED")
    result = sender_tasks.phone_refresh_task.apply(args=(c.tenant.pk, c.phone.pk), throw=False)
    assert result.successful()
    assert c.reload_phone().quality_rating == "YELLOW"


def test_other_events_keep_their_own_values_and_read_nothing(
    connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.requests(clear=True)
    post(
        c,
        quality(
            c, "DOWNGRADE", old_limit="TIER_2K", max_daily_conversations_per_business="TIER_250"
        ),
        at=now(),
    )
    assert c.reload_phone().messaging_limit == "TIER_250"
    assert phone_reads(mock_meta, c) == []


def test_the_read_runs_on_the_sync_queue() -> None:
    assert sender_tasks.phone_refresh_task.queue == "sync"
