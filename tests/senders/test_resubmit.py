"""Resubmit is offered where registering again can help, and says what it did.

The catalogue marks the problems a new registration solves; a quality flag is not one.
After the task, Meta's state is read back and the managers are told, in words, that the
number sends now or what still blocks it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Membership, Notification, NotificationLevel
from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import ConnectionStatus, PhoneNumber
from tests.factories import World
from tests.fixtures_senders import Connected

pytestmark = pytest.mark.django_db(transaction=True)


def login(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def page_url(c: Connected) -> str:
    return f"/t/acme/settings/whatsapp/accounts/{c.waba.pk}/"


def set_phone(c: Connected, **values: Any) -> PhoneNumber:
    with tenant_scope(c.tenant):
        PhoneNumber.objects.filter(pk=c.phone.pk).update(**values)
    return c.reload_phone()


def resubmit(client: Client, c: Connected):  # type: ignore[no-untyped-def]
    return client.post(
        f"/t/acme/settings/whatsapp/numbers/{c.phone.pk}/resubmit/",
        headers={"referer": f"http://testserver{page_url(c)}"},
        follow=True,
    )


def notes(c: Connected) -> list[Notification]:
    with tenant_scope(c.tenant):
        return list(Notification.objects.select_related("user").order_by("id"))


def register_calls(mock_meta, c: Connected) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [
        r
        for r in mock_meta.requests()
        if r["method"] == "POST" and r["path"].endswith(f"/{c.phone_number_id}/register")
    ]


# --- Offered only where it can help --------------------------------------------------------

OFFERED = {
    "display name rejected": {
        "name_status": "DECLINED",
        "problem": ts.DISPLAY_NAME_REJECTED,
        "connection_status": ConnectionStatus.ACTION_REQUIRED,
    },
    "two-step PIN elsewhere": {
        "meta_status": "PENDING",
        "problem": ts.TWO_STEP_VERIFICATION,
        "connection_status": ConnectionStatus.ACTION_REQUIRED,
    },
    "not registered yet": {
        "meta_status": "PENDING",
        "platform_type": "NOT_APPLICABLE",
        "connection_status": ConnectionStatus.PENDING,
    },
}
NOT_OFFERED = {
    "quality flag": (
        {"meta_status": "FLAGGED", "connection_status": ConnectionStatus.RESTRICTED},
        "Resubmitting cannot fix this: "
        + str(ts.SEND_BLOCKS[ts.SEND_RESTRICTED]).replace("'", "&#x27;"),
    ),
    "held by another provider": (
        {"problem": ts.ANOTHER_PROVIDER, "connection_status": ConnectionStatus.ACTION_REQUIRED},
        "Resubmitting cannot fix this: " + str(ts.get(ts.ANOTHER_PROVIDER).title),
    ),
}


@pytest.mark.parametrize("case", sorted(OFFERED))
def test_resubmit_is_offered_where_registering_can_help(
    world: World, connected_waba: Connected, case: str
) -> None:
    c = connected_waba
    set_phone(c, **OFFERED[case])
    assert (
        f'data-resubmit="{c.phone_number_id}"'
        in login(world.owner).get(page_url(c)).content.decode()
    )


@pytest.mark.parametrize("case", sorted(NOT_OFFERED))
def test_resubmit_is_not_offered_nor_taken_where_it_cannot_help(
    world: World, connected_waba: Connected, mock_meta, case: str
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    values, refusal = NOT_OFFERED[case]
    set_phone(c, **values)
    owner = login(world.owner)
    assert "data-resubmit" not in owner.get(page_url(c)).content.decode()
    mock_meta.requests(clear=True)
    response = resubmit(owner, c)
    assert refusal in response.content.decode()
    assert register_calls(mock_meta, c) == []
    assert notes(c) == []


def test_the_catalogue_says_which_problems_a_resubmit_solves() -> None:
    assert {key for key, p in ts.CATALOGUE.items() if p.resubmit_fixes} == {
        ts.DISPLAY_NAME_REJECTED,
        ts.TWO_STEP_VERIFICATION,
        ts.NUMBER_OTHER_WABA,
        ts.REGISTRATION_LIMIT,
        ts.META_UNAVAILABLE,
        ts.UNEXPECTED,
    }


# --- Says what happened -----------------------------------------------------------------------


def test_a_resubmit_while_meta_still_rejects_the_name_says_so_and_registers_nothing(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.patch("phone", c.phone_number_id, name_status="DECLINED")
    set_phone(c, **OFFERED["display name rejected"])
    mock_meta.requests(clear=True)

    response = resubmit(login(world.owner), c)

    html = response.content.decode()
    assert "is being resubmitted to Meta" in html and "was resubmitted" not in html
    assert register_calls(mock_meta, c) == []  # it would only use up one of 10 in 72 hours
    phone = c.reload_phone()
    assert (phone.problem, phone.connection_status) == (
        ts.DISPLAY_NAME_REJECTED,
        ConnectionStatus.ACTION_REQUIRED,
    )
    told = notes(c)
    assert {n.user.email for n in told} == {"owner@acme.test", "admin@acme.test"}
    assert told[0].title == (
        f"{phone}: Meta still reports the display name as rejected — change it in "
        "WhatsApp Manager first."
    )
    assert "was not registered" in told[0].body
    assert told[0].level == NotificationLevel.WARNING
    assert mail.outbox == []  # the answer to a click, in the app


def test_a_resubmit_that_works_says_the_number_sends_now(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    set_phone(c, **OFFERED["display name rejected"])  # Meta has approved the new name since
    resubmit(login(world.owner), c)
    assert len(register_calls(mock_meta, c)) == 1
    phone = c.reload_phone()
    assert (phone.connection_status, phone.problem) == (ConnectionStatus.CONNECTED, "")
    told = notes(c)[0]
    assert told.title == f"{phone} was resubmitted: it is connected and can send messages."
    assert told.body == "Status here: Action required → Connected."
    assert told.level == NotificationLevel.INFO


def test_a_resubmit_that_meta_refuses_says_why_and_what_to_do(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    set_phone(c, **OFFERED["two-step PIN elsewhere"])
    mock_meta.patch("phone", c.phone_number_id, status="PENDING")
    mock_meta.fault("POST", r"/register$", code=133005, http_status=400, times=1)
    resubmit(login(world.owner), c)
    phone = c.reload_phone()
    assert phone.problem == ts.TWO_STEP_VERIFICATION
    entry = ts.get(ts.TWO_STEP_VERIFICATION)
    told = notes(c)[0]
    assert told.title == f"{phone} could not be registered: {entry.title}"
    assert str(entry.steps[0]) in told.body


def test_a_resubmit_that_registers_but_still_cannot_send_says_what_blocks_it(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    set_phone(c, **OFFERED["not registered yet"])
    with tenant_scope(c.tenant):  # the account has a problem of its own
        c.waba.problem, c.waba.connection_status = ts.CREDIT_LINE, ConnectionStatus.ACTION_REQUIRED
        c.waba.save()
    resubmit(login(world.owner), c)
    assert len(register_calls(mock_meta, c)) == 1
    phone = c.reload_phone()
    assert phone.connection_status == ConnectionStatus.CONNECTED
    assert notes(c)[0].title == (
        f"{phone} was registered, but it still cannot send: "
        f"{ts.SEND_BLOCKS[ts.SEND_ACCOUNT_BLOCKED]}"
    )


def test_a_resubmit_meta_never_answered_says_so(
    world: World, connected_waba: Connected, mock_meta, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.ONBOARDING_MAX_RETRIES = 0
    c = connected_waba
    set_phone(c, **OFFERED["two-step PIN elsewhere"])
    mock_meta.fault(
        "GET", rf"/{c.phone_number_id}$", code=2, http_status=503, is_transient=True, times=3
    )
    resubmit(login(world.owner), c)
    assert c.reload_phone().problem == ts.META_UNAVAILABLE
    assert notes(c)[0].title == (
        f"{c.reload_phone()} could not be registered: {ts.get(ts.META_UNAVAILABLE).title}"
    )
