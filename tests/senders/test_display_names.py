"""Changing a number's display name: checked, sent to the mock Meta, decided both ways.

Meta decides by the phone_number_name_update webhook (the mock sends it after its review
delay) or, when the webhook is lost, the decision shows in the next read of the number
(a sync). Either way it is applied, recorded and notified once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import Membership, Notification
from accounts.services.notifications import notification_body, notification_title
from accounts.tenancy import tenant_scope
from senders import selectors
from senders import troubleshooting as ts
from senders.models import (
    AccountHistory,
    ConnectionStatus,
    HistoryKind,
    NameStatus,
    PhoneNumber,
    PhoneNumberDetails,
)
from senders.services import display_names, sync
from senders.services.graph import graph_client
from tests.factories import World
from tests.fixtures_celery import wait_for
from tests.fixtures_senders import Connected
from tests.fixtures_webhooks import post_signed
from waba_portal.errors import Conflict

pytestmark = pytest.mark.django_db(transaction=True)  # webhooks are processed at commit


def login(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def name_url(c: Connected) -> str:
    return f"/t/acme/settings/whatsapp/numbers/{c.phone.pk}/name/"


def notes(c: Connected) -> list[Notification]:
    with tenant_scope(c.tenant):
        return list(Notification.objects.order_by("id"))


def name_rows(c: Connected) -> list[AccountHistory]:
    with tenant_scope(c.tenant):
        return list(
            AccountHistory.objects.filter(
                phone_number_id=c.phone.pk, kind=HistoryKind.NAME
            ).order_by("id")
        )


def change_of(c: Connected) -> selectors.NameChange | None:
    with tenant_scope(c.tenant):
        return selectors.display_name_change(phone=c.reload_phone())


def meta_phone(c: Connected, *fields: str) -> dict[str, Any]:
    client = graph_client(token=c.token)
    try:
        return client.phone_number_get(c.phone_number_id, fields=list(fields))
    finally:
        client.close()


def name_calls(mock_meta, c: Connected) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [
        r
        for r in mock_meta.requests()
        if r["method"] == "POST"
        and r["path"].endswith(f"/{c.phone_number_id}")
        and "new_display_name" in (r.get("body") or {})
    ]


def ask(client: Client, c: Connected, name: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(name_url(c), {"name": name, **extra}, headers={"HX-Request": "true"})


@pytest.fixture
def reviewed(mock_meta, live_server, connected_waba: Connected) -> Connected:  # type: ignore[no-untyped-def]
    """The mock reviews names after 0.2 s and sends its webhook to this test's server."""
    mock_meta.set_webhook_url(live_server.url + "/webhooks/meta/")
    mock_meta.config(
        name_review_delay=0.2,
        name_rules=[
            {
                "match": "name_contains",
                "value": "Express",
                "decision": "REJECTED",
                "reason": "NAME_NOT_CONSISTENT",
            }
        ],
    )
    return connected_waba


# --- Checked before Meta is asked --------------------------------------------------------


def test_a_name_meta_surely_refuses_is_refused_beside_the_field(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    response = ask(login(world.owner), c, "Acme WhatsApp Support")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and "Remove “WhatsApp”" in html
    assert name_calls(mock_meta, c) == []
    assert c.reload_phone().requested_name == ""


def test_a_warning_is_shown_and_the_name_is_sent_once_confirmed(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.config(name_review_delay=None)
    client = login(world.owner)
    first = ask(client, c, "ACME Deliveries")
    assert first.status_code == 400
    html = first.content.decode()
    assert 'name="confirm_warnings"' in html and "normal capitals" in html
    assert name_calls(mock_meta, c) == []

    second = ask(client, c, "ACME Deliveries", confirm_warnings="1")
    assert second.status_code == 200
    assert "is in review at Meta" in second.content.decode()
    (call,) = name_calls(mock_meta, c)
    assert call["body"]["new_display_name"] == "ACME Deliveries"


def test_the_change_limit_and_the_same_name_in_review_are_refused(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.config(name_review_delay=None)
    owner = world.owner
    with tenant_scope(c.tenant):
        display_names.display_name_request(actor=owner, phone=c.reload_phone(), name="Acme Shop")
        with pytest.raises(Conflict, match="reviewing “Acme Shop” already"):
            display_names.display_name_request(
                actor=owner, phone=c.reload_phone(), name="Acme Shop"
            )
        with pytest.raises(Conflict, match="display name already"):
            display_names.display_name_request(
                actor=owner, phone=c.reload_phone(), name="Acme WABA"
            )
        # Nine more requests this month: Meta's ten in 30 days are used up.
        phone = c.reload_phone()
        for n in range(9):
            AccountHistory.objects.create(
                waba_id=phone.waba_id,
                phone_number=phone,
                kind=HistoryKind.NAME,
                old_value="APPROVED",
                new_value="PENDING_REVIEW",
                source="user",
                detail={"requested_name": f"Acme {n}"},
                occurred_at=timezone.now() - timedelta(days=20 - n),
            )
        with pytest.raises(Conflict) as refused:
            display_names.display_name_request(actor=owner, phone=phone, name="Acme Store")
    assert refused.value.code == "display_name_change_limit"
    assert (timezone.now() + timedelta(days=10)).date().isoformat() in refused.value.message
    assert len(name_calls(mock_meta, c)) == 1


def test_agents_cannot_ask_and_see_the_state(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    agent = login(world.agent)
    assert ask(agent, c, "Acme Deliveries").status_code == 403
    page = agent.get(name_url(c))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="name-form"' not in html and "Only owners and admins" in html
    assert name_calls(mock_meta, c) == []


# --- Decided by the webhook --------------------------------------------------------------


def test_a_change_approved_by_the_webhook_needs_a_new_registration(
    mock_meta, world: World, reviewed: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = reviewed
    client = login(world.owner)
    response = ask(client, c, "Acme Deliveries")
    assert response.status_code == 200, response.content
    phone = c.reload_phone()
    # The number keeps its approved name (and sends) while the new one is reviewed.
    assert (phone.verified_name, phone.name_status, phone.requested_name) == (
        "Acme WABA",
        NameStatus.APPROVED,
        "Acme Deliveries",
    )
    with tenant_scope(c.tenant):
        assert PhoneNumberDetails.objects.get(phone_number=phone).name_requested_at
    assert change_of(c).state == selectors.NAME_IN_REVIEW  # type: ignore[union-attr]

    wait_for(
        lambda: (
            (change_of(c) or selectors.NameChange("", "", "", None, None, False, None)).state
            == selectors.NAME_APPROVED
        ),
        timeout=20,
        message=str(mock_meta.webhooks()),
    )
    change = change_of(c)
    assert change is not None and change.register_by is not None
    assert change.register_by - change.decided_at == timedelta(days=14)  # type: ignore[operator]
    assert c.reload_phone().verified_name == "Acme WABA"  # not before registering again
    (note,) = notes(c)[:1]
    assert "“Acme Deliveries”" in notification_title(note) and "approved" in notification_title(
        note
    )
    assert "Register the number again within 14 days" in notification_body(note)
    # The mails leave after the notice, one per recipient: wait for both.
    wait_for(
        lambda: {m.to[0] for m in mail.outbox} >= {"owner@acme.test", "admin@acme.test"},
        timeout=10,
        message=str([m.to for m in mail.outbox]),
    )
    page = client.get(name_url(c)).content.decode()
    assert 'data-state="approved"' in page and 'id="register-again"' in page

    # Register again (with the PIN the number was registered with, as the mock seeded
    # it): the mock shows the new name, and nothing is open any more.
    with tenant_scope(c.tenant):
        phone = PhoneNumber.objects.get(pk=c.phone.pk)
        phone.pin = "000000"
        phone.save(update_fields=["pin"])
    answer = client.post(name_url(c) + "register/", headers={"HX-Request": "true"})
    assert answer.status_code == 200
    phone = c.reload_phone()
    assert (phone.verified_name, phone.requested_name) == ("Acme Deliveries", "")
    assert phone.connection_status == ConnectionStatus.CONNECTED
    assert change_of(c) is None
    assert [r.new_value for r in name_rows(c)] == ["PENDING_REVIEW", "APPROVED"]


def test_a_change_rejected_by_the_webhook_keeps_the_number_sending(
    mock_meta, world: World, reviewed: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = reviewed
    client = login(world.owner)
    assert ask(client, c, "Acme Express").status_code == 200
    wait_for(
        lambda: change_of(c) is not None and change_of(c).state == selectors.NAME_REJECTED,  # type: ignore[union-attr]
        timeout=20,
        message=str(mock_meta.webhooks()),
    )
    phone = c.reload_phone()
    assert (phone.verified_name, phone.name_status, phone.problem) == (
        "Acme WABA",
        NameStatus.APPROVED,
        "",
    )
    assert phone.connection_status == ConnectionStatus.CONNECTED
    assert phone.name_rejection_reason == "NAME_NOT_CONSISTENT"
    note = notes(c)[0]
    assert "rejected" in notification_title(note)
    body = notification_body(note)
    assert "consistent with your branding" in body and "keeps sending as “Acme WABA”" in body
    html = client.get(name_url(c)).content.decode()
    assert 'data-state="rejected"' in html and f'data-problem="{ts.DISPLAY_NAME_REJECTED}"' in html
    assert "consistent with your branding" in html

    # The webhook again (Meta delivers at least once): nothing new.
    hooks = wait_for(
        lambda: [
            w for w in mock_meta.webhooks(wait=1) if "phone_number_name_update" in w["fields"]
        ],
        timeout=10,
    )
    before = (len(name_rows(c)), len(notes(c)))
    for hook in hooks:
        assert post_signed(Client(), hook["body"]).status_code == 200
    assert (len(name_rows(c)), len(notes(c))) == before


def test_a_first_name_is_replaced_and_decided(mock_meta, world: World, reviewed: Connected) -> None:  # type: ignore[no-untyped-def]
    """A number whose name Meta declined: the new name replaces it under review; its
    approval makes it the number's name and lifts the problem."""
    c = reviewed
    mock_meta.patch("phone", c.phone_number_id, name_status="DECLINED")
    with tenant_scope(c.tenant):
        PhoneNumber.objects.filter(pk=c.phone.pk).update(
            name_status=NameStatus.DECLINED,
            problem=ts.DISPLAY_NAME_REJECTED,
            connection_status=ConnectionStatus.ACTION_REQUIRED,
        )
    assert ask(login(world.owner), c, "Acme Deliveries").status_code == 200
    phone = c.reload_phone()
    assert (phone.verified_name, phone.name_status, phone.problem) == (
        "Acme Deliveries",
        NameStatus.PENDING_REVIEW,
        "",
    )
    wait_for(
        lambda: c.reload_phone().name_status == NameStatus.APPROVED,
        timeout=20,
        message=str(mock_meta.webhooks()),
    )
    phone = c.reload_phone()
    assert (phone.verified_name, phone.requested_name, phone.problem) == (
        "Acme Deliveries",
        "",
        "",
    )
    assert phone.connection_status == ConnectionStatus.CONNECTED
    assert "Nothing more" in notification_body(notes(c)[0])


# --- Decided by the sync -----------------------------------------------------------------


def test_a_decision_whose_webhook_was_lost_is_read_by_the_sync(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.set_webhook_url(None)  # the decision's webhook goes nowhere
    mock_meta.config(name_review_delay=0.2)
    assert ask(login(world.owner), c, "Acme Deliveries").status_code == 200
    wait_for(
        lambda: meta_phone(c, "new_name_status").get("new_name_status") == "APPROVED",
        timeout=20,
    )
    assert change_of(c).state == selectors.NAME_IN_REVIEW  # type: ignore[union-attr]
    with tenant_scope(c.tenant):
        sync.waba_sync(waba_pk=c.waba.pk)
    change = change_of(c)
    assert change is not None and change.state == selectors.NAME_APPROVED
    assert [r.source for r in name_rows(c)] == ["user", "sync"]
    assert len(notes(c)) == 2  # owner and admin
    with tenant_scope(c.tenant):
        sync.waba_sync(waba_pk=c.waba.pk)
    assert len(name_rows(c)) == 2 and len(notes(c)) == 2


def test_a_rejection_read_by_the_sync_shows_the_fix(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.set_webhook_url(None)
    mock_meta.config(
        name_review_delay=0.2,
        name_rules=[{"match": "name_contains", "value": "Express", "decision": "REJECTED"}],
    )
    assert ask(login(world.owner), c, "Acme Express").status_code == 200
    wait_for(
        lambda: meta_phone(c, "new_name_status").get("new_name_status") == "DECLINED",
        timeout=20,
    )
    with tenant_scope(c.tenant):
        sync.waba_sync(waba_pk=c.waba.pk)
    change = change_of(c)
    assert change is not None and change.state == selectors.NAME_REJECTED
    phone = c.reload_phone()
    assert (phone.name_status, phone.connection_status) == (
        NameStatus.APPROVED,
        ConnectionStatus.CONNECTED,
    )
    assert "rejected" in notification_title(notes(c)[0])


def test_a_change_asked_for_in_whatsapp_manager_is_taken_up(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.config(name_review_delay=None)
    mock_meta.patch(
        "phone", c.phone_number_id, new_display_name="Acme Foods", new_name_status="PENDING_REVIEW"
    )
    with tenant_scope(c.tenant):
        sync.waba_sync(waba_pk=c.waba.pk)
    change = change_of(c)
    assert change is not None and (change.state, change.name) == (
        selectors.NAME_IN_REVIEW,
        "Acme Foods",
    )


def test_another_tenants_number_is_not_found(
    mock_meta, world: World, connected_waba: Connected, other_connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    theirs = other_connected_waba
    owner = login(world.owner)
    url = f"/t/acme/settings/whatsapp/numbers/{theirs.phone.pk}/name/"
    assert owner.get(url).status_code == 404
    assert owner.post(url, {"name": "Acme Deliveries"}).status_code == 404
    assert name_calls(mock_meta, theirs) == []
