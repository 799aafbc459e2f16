"""Account and number webhooks: signed payloads through the real endpoint, and from the mock."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Notification
from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import AccountHistory, ConnectionStatus, HistoryKind
from tests.factories import World, claim
from tests.fixtures_celery import wait_for
from tests.fixtures_senders import Connected, ConnectWaba
from tests.fixtures_webhooks import post_signed
from waba_portal.webhooks import services as webhook_services
from waba_portal.webhooks.models import WebhookChange, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)  # processing is queued at commit

NOW = int(time.time())


def change(field: str, **value: Any) -> dict[str, Any]:
    return {"field": field, "value": value}


def payload(entry_id: str, *changes: dict[str, Any], at: int = NOW) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": entry_id, "time": at, "changes": list(changes)}],
    }


def post(c: Connected, *changes: dict[str, Any], at: int = NOW, entry_id: str = "") -> None:
    response = post_signed(Client(), payload(entry_id or c.waba_id, *changes, at=at))
    assert response.status_code == 200


def account_update(event: str, **extra: Any) -> dict[str, Any]:
    return change("account_update", event=event, **extra)


def ban(state: str | list[str]) -> dict[str, Any]:
    return account_update(
        "DISABLED_UPDATE", ban_info={"waba_ban_state": state, "waba_ban_date": "January 2, 2026"}
    )


def history(c: Connected, **filters: Any) -> list[AccountHistory]:
    with tenant_scope(c.tenant):
        return list(AccountHistory.objects.filter(waba_id=c.waba.pk, **filters).order_by("id"))


def notifications(c: Connected) -> list[Notification]:
    with tenant_scope(c.tenant):
        return list(Notification.objects.order_by("id"))


def digits(display: str) -> str:
    return "".join(ch for ch in display if ch.isdigit())


def assert_all_processed() -> None:
    assert set(WebhookChange.objects.values_list("status", flat=True)) <= {"processed"}


# --- account_update ------------------------------------------------------------


def test_partner_added_and_app_installed_are_recorded(connected_waba: Connected) -> None:
    c = connected_waba
    waba_info = {"waba_id": c.waba_id, "owner_business_id": c.business_id}
    # Partner events name the business portfolio in entry.id; the WABA is in waba_info.
    post(
        c,
        account_update("PARTNER_ADDED", waba_info=waba_info),
        account_update("PARTNER_APP_INSTALLED", waba_info=waba_info),
        entry_id=c.business_id,
    )
    assert_all_processed()
    assert [h.new_value for h in history(c, kind=HistoryKind.CONNECTION)] == [
        "PARTNER_ADDED",
        "PARTNER_APP_INSTALLED",
    ]
    assert c.reload().connection_status == ConnectionStatus.CONNECTED
    assert notifications(c) == []


@pytest.mark.parametrize(
    "event", ["PARTNER_APP_UNINSTALLED", "PARTNER_REMOVED", "ACCOUNT_DELETED", "ACCOUNT_OFFBOARDED"]
)
def test_disconnected_at_meta_shows_the_fix_and_reconnect_clears_it(
    connected_waba: Connected, event: str
) -> None:
    c = connected_waba
    extra: dict[str, Any] = {
        "disconnection_info": {"reason": "USER_ACTION", "initiated_by": "USER"}
    }
    entry_id = c.waba_id
    if event.startswith("PARTNER_"):
        extra["waba_info"] = {"waba_id": c.waba_id, "owner_business_id": c.business_id}
        entry_id = c.business_id
    post(c, account_update(event, **extra), entry_id=entry_id)

    waba = c.reload()
    assert (waba.problem, waba.connection_status) == (
        ts.DISCONNECTED_BY_META,
        ConnectionStatus.ACTION_REQUIRED,
    )
    (disconnected,) = history(c, kind=HistoryKind.CONNECTION)
    assert disconnected.new_value == ConnectionStatus.ACTION_REQUIRED
    notes = notifications(c)
    assert len(notes) == 2 and str(ts.get(ts.DISCONNECTED_BY_META).title) in notes[0].title
    assert {m.to[0] for m in mail.outbox} == {"owner@acme.test", "admin@acme.test"}

    post(c, account_update("ACCOUNT_RECONNECTED"), at=NOW + 60)
    waba = c.reload()
    assert (waba.problem, waba.connection_status) == ("", ConnectionStatus.CONNECTED)
    assert len(history(c, kind=HistoryKind.CONNECTION)) == 2


def test_disable_then_reinstate(connected_waba: Connected) -> None:
    c = connected_waba
    post(c, ban(["DISABLE"]))  # the mock and some captures send a one-item list
    waba = c.reload()
    assert (waba.ban_state, waba.meta_status) == ("DISABLE", "DISABLED")
    assert (waba.connection_status, waba.problem) == (ConnectionStatus.DISABLED, ts.WABA_DISABLED)
    assert len(notifications(c)) == 2

    post(c, ban("REINSTATE"), at=NOW + 60)
    waba = c.reload()
    assert (waba.ban_state, waba.meta_status) == ("REINSTATE", "ACTIVE")
    assert (waba.connection_status, waba.problem) == (ConnectionStatus.CONNECTED, "")
    assert [(h.old_value, h.new_value) for h in history(c, kind=HistoryKind.BAN)] == [
        ("", "DISABLE"),
        ("DISABLE", "REINSTATE"),
    ]
    notes = notifications(c)
    assert len(notes) == 4 and "reinstated" in notes[-1].title


def test_scheduled_disable_warns_but_still_sends(connected_waba: Connected) -> None:
    c = connected_waba
    post(c, ban("SCHEDULE_FOR_DISABLE"))
    waba = c.reload()
    assert waba.ban_state == "SCHEDULE_FOR_DISABLE"
    assert waba.connection_status == ConnectionStatus.CONNECTED
    assert len(history(c, kind=HistoryKind.BAN)) == 1 and len(notifications(c)) == 2


def test_an_older_disable_arriving_after_a_newer_reinstate_does_not_disable(
    connected_waba: Connected,
) -> None:
    c = connected_waba
    post(c, ban("REINSTATE"), at=NOW)
    post(c, ban("DISABLE"), at=NOW - 600)  # delivered late
    waba = c.reload()
    assert waba.ban_state == "REINSTATE"
    assert waba.connection_status == ConnectionStatus.CONNECTED
    assert [h.new_value for h in history(c, kind=HistoryKind.BAN)] == ["REINSTATE"]
    # The same holds inside one delivery, whatever the order of its changes.
    other = {"id": c.waba_id, "changes": [ban("SCHEDULE_FOR_DISABLE")]}
    body = payload(c.waba_id, ban("DISABLE"), at=NOW + 100)
    body["entry"].insert(0, {**other, "time": NOW + 200})
    post_signed(Client(), body)
    assert c.reload().ban_state == "SCHEDULE_FOR_DISABLE"


def test_the_same_event_twice_leaves_one_history_row(connected_waba: Connected) -> None:
    c = connected_waba
    # Twice in one delivery, then again in another delivery (a different body), then a replay.
    post(c, ban("DISABLE"), ban("DISABLE"))
    post_signed(Client(), payload(c.waba_id, ban("DISABLE"), change("unknown_field", a=1)))
    webhook_services.deliveries_process(
        delivery_ids=list(WebhookDelivery.objects.values_list("id", flat=True)), force=True
    )
    assert len(history(c, kind=HistoryKind.BAN)) == 1
    assert len(notifications(c)) == 2


def test_restriction_then_lifted(connected_waba: Connected) -> None:
    c = connected_waba
    info = [{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": NOW + 86400}]
    post(c, account_update("ACCOUNT_RESTRICTION", restriction_info=info))
    post(c, account_update("ACCOUNT_RESTRICTION", restriction_info=info))  # duplicate
    waba = c.reload()
    assert waba.restrictions == info
    assert (waba.connection_status, waba.problem) == (
        ConnectionStatus.RESTRICTED,
        ts.ACCOUNT_RESTRICTED,
    )
    (restricted,) = history(c, kind=HistoryKind.RESTRICTION)
    assert restricted.new_value == "RESTRICTED_BIZ_INITIATED_MESSAGING"
    assert len(notifications(c)) == 2

    post(c, account_update("ACCOUNT_RESTRICTION", restriction_info=[]), at=NOW + 60)
    waba = c.reload()
    assert (waba.restrictions, waba.connection_status) == ([], ConnectionStatus.CONNECTED)
    assert history(c, kind=HistoryKind.RESTRICTION)[-1].new_value == "lifted"
    assert len(notifications(c)) == 2  # lifting is good news: no warning


def test_violation_is_recorded_and_notified_once(connected_waba: Connected) -> None:
    c = connected_waba
    violation = account_update("ACCOUNT_VIOLATION", violation_info={"violation_type": "SCAM"})
    post(c, violation)
    post(c, violation, change("unknown_field", b=2))  # same event, another delivery
    (row,) = history(c, kind=HistoryKind.VIOLATION)
    assert row.new_value == "SCAM" and row.source == "webhook"
    assert len(notifications(c)) == 2


# --- account_review_update, business_capability_update ------------------------------------------


def test_account_review_decision(connected_waba: Connected) -> None:
    c = connected_waba
    post(c, change("account_review_update", decision="REJECTED"))
    post(c, change("account_review_update", decision="REJECTED"), change("unknown_field", c=3))
    assert c.reload().account_review_status == "REJECTED"
    (row,) = history(c, kind=HistoryKind.REVIEW)
    assert (row.old_value, row.new_value) == ("APPROVED", "REJECTED")
    assert len(notifications(c)) == 2
    post(c, change("account_review_update", decision="APPROVED"), at=NOW - 3600)  # older
    assert c.reload().account_review_status == "REJECTED"


def test_business_capability_update_sets_the_limit_and_number_cap(
    connected_waba: Connected,
) -> None:
    c = connected_waba
    post(
        c,
        change(
            "business_capability_update",
            max_daily_conversations_per_business="TIER_10K",
            max_phone_numbers_per_business=20,
            max_phone_numbers_per_waba=25,
        ),
    )
    waba = c.reload()
    assert (waba.messaging_limit, waba.max_phone_numbers) == ("TIER_10K", 25)
    assert c.reload_phone().messaging_limit == "TIER_10K"  # the limit is the portfolio's
    (row,) = history(c, kind=HistoryKind.LIMIT)
    assert (row.old_value, row.new_value) == ("TIER_2K", "TIER_10K")
    assert notifications(c) == []  # an increase is not a warning

    post(
        c,
        change("business_capability_update", max_daily_conversations_per_business="TIER_250"),
        at=NOW + 60,
    )
    assert c.reload().messaging_limit == "TIER_250"
    assert len(notifications(c)) == 2  # a decrease is


# --- Numbers ------------------------------------------------------------


def quality(c: Connected, event: str, **extra: Any) -> dict[str, Any]:
    return change(
        "phone_number_quality_update",
        display_phone_number=digits(c.phone.display_phone_number),
        event=event,
        **extra,
    )


def test_flagged_and_unflagged(connected_waba: Connected, mock_meta) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    assert c.phone.display_phone_number.startswith("+1 ")  # stored formatted, sent as digits
    # The event carries neither: the number is read from Meta after it.
    mock_meta.patch("phone", c.phone_number_id, status="FLAGGED", quality_rating="RED")
    post(c, quality(c, "FLAGGED", current_limit="TIER_2K"))
    phone = c.reload_phone()
    assert (phone.meta_status, phone.quality_rating) == ("FLAGGED", "RED")
    assert phone.connection_status == ConnectionStatus.RESTRICTED
    assert {h.kind for h in history(c)} == {HistoryKind.STATUS, HistoryKind.QUALITY}
    assert all(h.phone_number_id == phone.pk for h in history(c))
    assert len(notifications(c)) == 2  # one notice for the event, to owner and admin

    mock_meta.patch("phone", c.phone_number_id, status="CONNECTED", quality_rating="GREEN")
    post(c, quality(c, "UNFLAGGED"), at=NOW + 60)
    phone = c.reload_phone()
    assert (phone.meta_status, phone.quality_rating) == ("CONNECTED", "GREEN")
    assert phone.connection_status == ConnectionStatus.CONNECTED
    assert len(notifications(c)) == 2


def test_limit_downgrade_upgrade_and_throughput(connected_waba: Connected) -> None:
    c = connected_waba
    post(
        c,
        quality(
            c, "DOWNGRADE", old_limit="TIER_2K", max_daily_conversations_per_business="TIER_250"
        ),
    )
    post(
        c,
        quality(
            c, "DOWNGRADE", old_limit="TIER_2K", max_daily_conversations_per_business="TIER_250"
        ),
        change("unknown_field", d=4),
    )
    assert c.reload_phone().messaging_limit == "TIER_250"
    assert c.reload().messaging_limit == "TIER_250"
    assert len(history(c, kind=HistoryKind.LIMIT)) == 1
    assert len(notifications(c)) == 2

    post(c, quality(c, "UPGRADE", current_limit="TIER_10K"), at=NOW + 60)
    assert c.reload_phone().messaging_limit == "TIER_10K"
    post(
        c,
        quality(c, "THROUGHPUT_UPGRADE", max_daily_conversations_per_business="TIER_UNLIMITED"),
        at=NOW + 120,
    )
    phone = c.reload_phone()
    assert (phone.messaging_limit, phone.throughput_level) == ("TIER_UNLIMITED", "HIGH")
    assert len(notifications(c)) == 2  # upgrades are no warnings
    assert [h.new_value for h in history(c, kind=HistoryKind.LIMIT)] == [
        "TIER_250",
        "TIER_10K",
        "TIER_UNLIMITED",
    ]


def name_update(c: Connected, decision: str, **extra: Any) -> dict[str, Any]:
    return change(
        "phone_number_name_update",
        display_phone_number=digits(c.phone.display_phone_number),
        decision=decision,
        **extra,
    )


def test_display_name_rejected_then_approved(connected_waba: Connected) -> None:
    c = connected_waba
    rejected = name_update(
        c,
        "REJECTED",
        requested_verified_name="Acme!!!",
        rejection_reason="Name does not match the business",
    )
    post(c, rejected)
    post(c, rejected, change("unknown_field", e=5))
    phone = c.reload_phone()
    assert (phone.name_status, phone.problem, phone.requested_name) == (
        "DECLINED",
        ts.DISPLAY_NAME_REJECTED,
        "Acme!!!",
    )
    assert phone.name_rejection_reason == "Name does not match the business"
    assert phone.connection_status == ConnectionStatus.ACTION_REQUIRED
    (row,) = history(c, kind=HistoryKind.NAME)
    assert (row.old_value, row.new_value) == ("APPROVED", "DECLINED")
    notes = notifications(c)
    assert len(notes) == 2 and "Name does not match" in notes[0].body

    post(
        c,
        name_update(
            c, "APPROVED", requested_verified_name="Acme Deliveries", rejection_reason=None
        ),
        at=NOW + 60,
    )
    phone = c.reload_phone()
    assert (phone.name_status, phone.verified_name, phone.problem) == (
        "APPROVED",
        "Acme Deliveries",
        "",
    )
    assert phone.connection_status == ConnectionStatus.CONNECTED
    assert len(history(c, kind=HistoryKind.NAME)) == 2
    assert len(notifications(c)) == 4


def test_events_for_unknown_numbers_and_accounts_are_ignored(
    world: World, connected_waba: Connected
) -> None:
    c = connected_waba
    claim(world.tenant, "777000000000001")  # claimed, but no account record (yet)
    post(
        c, change("phone_number_quality_update", display_phone_number="4930000000", event="FLAGGED")
    )
    post_signed(Client(), payload("777000000000001", ban("DISABLE")))
    assert_all_processed()
    assert history(c) == [] and notifications(c) == []


# --- Tenancy ------------------------------------------------------------


def test_events_of_another_tenants_waba_never_touch_ours(
    connected_waba: Connected, other_connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = connected_waba, other_connected_waba
    post(theirs, ban("DISABLE"), change("account_review_update", decision="REJECTED"))
    mock_meta.patch("phone", theirs.phone_number_id, status="FLAGGED", quality_rating="RED")
    post(theirs, quality(theirs, "FLAGGED"))
    # A payload naming their WABA but carrying our number's display number.
    post(theirs, quality(ours, "FLAGGED"), at=NOW + 1)

    assert theirs.reload().ban_state == "DISABLE"
    assert theirs.reload_phone().meta_status == "FLAGGED"
    waba = ours.reload()
    assert (waba.ban_state, waba.account_review_status) == ("", "APPROVED")
    assert ours.reload_phone().meta_status == "CONNECTED"
    assert history(ours) == [] and notifications(ours) == []
    assert len(notifications(theirs)) == 1 * 3  # their owner: ban, review, flag


# --- From the mock, over HTTP ----------------------------------------------------------


def test_events_emitted_by_the_mock_arrive_and_apply(
    live_server, mock_meta, world: World, connect_waba: ConnectWaba
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant)
    mock_meta.set_webhook_url(live_server.url + "/webhooks/meta/")

    mock_meta.emit(
        field="account_update", waba_id=c.waba_id, event="DISABLED_UPDATE", ban_state="DISABLE"
    )
    wait_for(
        lambda: c.reload().ban_state == "DISABLE", timeout=20, message=str(mock_meta.webhooks())
    )
    assert c.reload().connection_status == ConnectionStatus.DISABLED

    mock_meta.emit(
        field="phone_number_quality_update",
        phone_number_id=c.phone_number_id,
        event="DOWNGRADE",
        current_limit="TIER_250",
    )
    wait_for(
        lambda: c.reload_phone().messaging_limit == "TIER_250",
        timeout=20,
        message=str(mock_meta.webhooks()),
    )

    mock_meta.emit(
        field="phone_number_name_update",
        phone_number_id=c.phone_number_id,
        decision="REJECTED",
        requested_verified_name="Acme?",
        rejection_reason="Too generic",
    )
    wait_for(
        lambda: c.reload_phone().name_status == "DECLINED",
        timeout=20,
        message=str(mock_meta.webhooks()),
    )

    mock_meta.emit(field="account_update", waba_id=c.waba_id, event="PARTNER_APP_UNINSTALLED")
    wait_for(
        lambda: c.reload().problem == ts.DISCONNECTED_BY_META,
        timeout=20,
        message=str(mock_meta.webhooks()),
    )

    assert_all_processed()
    kinds = [h.kind for h in history(c)]
    assert {HistoryKind.BAN, HistoryKind.LIMIT, HistoryKind.NAME, HistoryKind.CONNECTION} <= set(
        kinds
    )
    # Owner and admin were told about the ban, the downgrade, the rejection, the removal.
    wait_for(
        lambda: len(notifications(c)) == 8,
        timeout=10,
        message=str([n.title for n in notifications(c)]),
    )
