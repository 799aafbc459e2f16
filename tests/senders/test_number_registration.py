"""Registering a verified number with a PIN we generate, and that PIN's life.

The PIN is made with ``secrets``, kept encrypted, sent to Meta (register, change) and
shown once on request, never logged or put anywhere else. Meta's refusals (133005 PIN
mismatch, 133016 too many registrations, 133006 not verified) show their entries.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import pytest
from django.db import connection

from accounts.models import AuditEvent
from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import ConnectionStatus, PhoneNumber
from senders.services import registration
from tests.factories import World
from tests.fixtures_senders import Connected
from tests.senders.numbers_support import (
    calls,
    code_of,
    details,
    htmx,
    login,
    number_url,
    pending_number,
    reload,
)

pytestmark = pytest.mark.django_db(transaction=True)


def verified_number(c: Connected, world: World, mock_meta: Any) -> PhoneNumber:
    phone = pending_number(c)
    owner = login(world.owner)
    htmx(owner, number_url(phone, "code/request"), {"method": "SMS", "language": "en_US"})
    htmx(owner, number_url(phone, "code/verify"), {"code": code_of(mock_meta, phone)})
    phone = reload(c, phone)
    assert phone.code_verification_status == "VERIFIED"
    return phone


def mock_phone(mock_meta: Any, phone: PhoneNumber) -> dict[str, Any]:
    return next(p for p in mock_meta.state()["phone_numbers"] if p["id"] == phone.phone_number_id)


def raw_pin_column(phone: PhoneNumber) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pin FROM senders_phonenumber WHERE id = %s", [phone.pk])
        return str(cursor.fetchone()[0])


def test_registering_sets_a_generated_pin_at_meta_and_keeps_it_encrypted(
    world: World, connected_waba: Connected, mock_meta, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    phone = verified_number(connected_waba, world, mock_meta)

    response = htmx(login(world.owner), number_url(phone, "register"))

    html = response.content.decode()
    assert "is registered and can send messages" in html
    phone = reload(connected_waba, phone)
    assert phone.connection_status == ConnectionStatus.CONNECTED
    assert phone.meta_status == "CONNECTED" and phone.registered_at is not None
    pin = str(phone.pin)
    assert re.fullmatch(r"[0-9]{6}", pin)
    at_meta = mock_phone(mock_meta, phone)
    assert at_meta["pin"] == pin and at_meta["registered"]
    [call] = calls(mock_meta, phone, "register")
    assert call["body"]["messaging_product"] == "whatsapp"
    assert pin not in raw_pin_column(phone)  # encrypted at rest
    assert pin not in html  # shown only on request
    assert pin not in caplog.text  # never logged
    row = details(connected_waba, phone)
    assert row is not None and row.pin_set_at is not None and row.pin_revealed_at is None
    with tenant_scope(connected_waba.tenant):
        audit = AuditEvent.objects.get(action="phone_number.registered")
    assert pin not in str(audit.metadata)


def test_a_number_becomes_the_primary_sender_when_none_sends(
    world: World, connect_waba, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=1)
    with tenant_scope(c.tenant):  # the seeded number is gone from the tenant's senders
        PhoneNumber.objects.filter(pk=c.phone.pk).update(
            is_primary=False, connection_status=ConnectionStatus.DISCONNECTED
        )
    phone = verified_number(c, world, mock_meta)
    htmx(login(world.owner), number_url(phone, "register"))
    phone = reload(c, phone)
    assert phone.is_primary


def test_registering_before_verification_is_refused_before_meta_is_asked(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    with tenant_scope(connected_waba.tenant), pytest.raises(registration.NumberProblem) as refused:
        registration.number_register(actor=world.owner, phone=phone)
    assert refused.value.problem == ts.NUMBER_NOT_VERIFIED
    assert calls(mock_meta, phone, "register") == []


def test_a_pin_mismatch_shows_the_two_step_entry_and_stays_on_the_number(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = verified_number(connected_waba, world, mock_meta)
    # The previous provider left two-step verification on, with a PIN we do not know.
    mock_meta.patch("phone", phone.phone_number_id, pin="918273", pin_set_by="other")

    html = htmx(login(world.owner), number_url(phone, "register")).content.decode()

    assert f'data-problem="{ts.TWO_STEP_VERIFICATION}"' in html
    assert str(ts.get(ts.TWO_STEP_VERIFICATION).steps[0]).replace("'", "&#x27;") in html
    phone = reload(connected_waba, phone)
    assert (phone.problem, phone.connection_status) == (
        ts.TWO_STEP_VERIFICATION,
        ConnectionStatus.ACTION_REQUIRED,
    )
    assert mock_phone(mock_meta, phone)["pin"] == "918273"  # nothing changed at Meta
    page = login(world.owner).get(number_url(phone)).content.decode()
    assert 'data-step="registration" data-step-state="todo"' in page


def test_metas_133016_is_the_registration_limit_entry(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = verified_number(connected_waba, world, mock_meta)
    mock_meta.fault("POST", r"/register$", code=133016, http_status=400)
    html = htmx(login(world.owner), number_url(phone, "register")).content.decode()
    assert f'data-problem="{ts.REGISTRATION_LIMIT}"' in html
    assert reload(connected_waba, phone).problem == ts.REGISTRATION_LIMIT


def test_the_registration_limit_of_the_mock_answers_133016(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = verified_number(connected_waba, world, mock_meta)
    mock_meta.config(register_limit=0)
    with tenant_scope(connected_waba.tenant), pytest.raises(registration.NumberProblem) as refused:
        registration.number_register(actor=world.owner, phone=phone)
    assert refused.value.problem == ts.REGISTRATION_LIMIT
    assert "133016" in refused.value.detail


def test_meta_saying_the_number_is_not_verified_asks_for_verification_again(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = verified_number(connected_waba, world, mock_meta)
    mock_meta.patch("phone", phone.phone_number_id, code_verification_status="EXPIRED")

    html = htmx(login(world.owner), number_url(phone, "register")).content.decode()

    assert f'data-problem="{ts.NUMBER_NOT_VERIFIED}"' in html
    phone = reload(connected_waba, phone)
    assert phone.code_verification_status == "EXPIRED"
    assert 'id="code-request-form"' in html  # verify again, in place


def test_two_register_clicks_at_once_register_once(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = verified_number(connected_waba, world, mock_meta)
    mock_meta.fault("POST", r"/register$", latency=0.6, times=1)
    outcomes: list[Any] = [None, None]
    start = threading.Barrier(2)

    def attempt(i: int) -> None:
        try:
            start.wait()
            with tenant_scope(connected_waba.tenant):
                outcomes[i] = registration.number_register(actor=world.owner, phone=phone)
        except Exception as exc:  # the outcome is what is tested
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "PhoneNumber"]
    assert len(calls(mock_meta, phone, "register")) == 1
    assert mock_phone(mock_meta, phone)["pin"] == str(reload(connected_waba, phone).pin)


# --- The PIN: shown once, then only changed ---------------------------------------------------


def registered_number(c: Connected, world: World, mock_meta: Any) -> PhoneNumber:
    phone = verified_number(c, world, mock_meta)
    htmx(login(world.owner), number_url(phone, "register"))
    return reload(c, phone)


def test_the_pin_is_shown_once_on_request_then_refused(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = registered_number(connected_waba, world, mock_meta)
    owner = login(world.owner)
    page = owner.get(number_url(phone)).content.decode()
    assert 'id="reveal-pin"' in page and str(phone.pin) not in page

    response = htmx(owner, number_url(phone, "pin/reveal"))

    html = response.content.decode()
    assert f"data-pin>{phone.pin}</strong>" in html
    assert response["Cache-Control"] == "no-store"
    row = details(connected_waba, phone)
    assert row is not None and row.pin_revealed_at is not None
    again = htmx(owner, number_url(phone, "pin/reveal")).content.decode()
    assert "The PIN was shown once already" in again and str(phone.pin) not in again
    assert str(phone.pin) not in owner.get(number_url(phone)).content.decode()
    assert 'id="reveal-pin"' not in owner.get(number_url(phone)).content.decode()


def test_without_htmx_the_pin_is_in_the_page_answered_not_in_a_redirect_or_message(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = registered_number(connected_waba, world, mock_meta)
    owner = login(world.owner)
    response = owner.post(number_url(phone, "pin/reveal"))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert str(phone.pin) in response.content.decode()
    assert str(phone.pin) not in owner.get(number_url(phone)).content.decode()  # no message


def test_change_pin_sets_a_new_one_at_meta_which_can_be_shown_once_again(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = registered_number(connected_waba, world, mock_meta)
    owner = login(world.owner)
    old = str(phone.pin)
    htmx(owner, number_url(phone, "pin/reveal"))

    html = htmx(owner, number_url(phone, "pin")).content.decode()

    assert "was changed at Meta" in html
    phone = reload(connected_waba, phone)
    new = str(phone.pin)
    assert new != old and re.fullmatch(r"[0-9]{6}", new)
    assert mock_phone(mock_meta, phone)["pin"] == new
    [call] = calls(mock_meta, phone, "")
    assert call["body"] == {"pin": new}
    assert new not in html
    revealed = htmx(owner, number_url(phone, "pin/reveal")).content.decode()
    assert f"data-pin>{new}</strong>" in revealed


@pytest.mark.parametrize("code", [133005, 100])
def test_a_pin_meta_refuses_on_change_is_the_two_step_entry_and_the_old_pin_stays(
    world: World, connected_waba: Connected, mock_meta, code: int
) -> None:  # type: ignore[no-untyped-def]
    phone = registered_number(connected_waba, world, mock_meta)
    old = str(phone.pin)
    mock_meta.fault("POST", rf"/{phone.phone_number_id}$", code=code, http_status=400)
    html = htmx(login(world.owner), number_url(phone, "pin")).content.decode()
    assert f'data-problem="{ts.TWO_STEP_VERIFICATION}"' in html
    assert str(reload(connected_waba, phone).pin) == old


def test_a_pin_change_meta_never_answered_says_to_change_it_again(
    world: World, connected_waba: Connected, mock_meta, settings
) -> None:  # type: ignore[no-untyped-def]
    phone = registered_number(connected_waba, world, mock_meta)
    old = str(phone.pin)
    settings.GRAPH_API_READ_TIMEOUT = 0.3
    mock_meta.fault("POST", rf"/{phone.phone_number_id}$", latency=1.0)
    html = htmx(login(world.owner), number_url(phone, "pin")).content.decode()
    assert "the PIN may or may not have changed. Change it again." in html
    assert str(reload(connected_waba, phone).pin) == old


def test_change_pin_needs_a_registered_number(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    with tenant_scope(connected_waba.tenant), pytest.raises(registration.Conflict) as refused:
        registration.number_pin_change(actor=world.owner, phone=phone)
    assert refused.value.code == "not_registered"
    assert calls(mock_meta, phone, "") == []


def test_a_pin_nobody_set_here_cannot_be_shown(world: World, connected_waba: Connected) -> None:
    phone = pending_number(connected_waba)
    with tenant_scope(connected_waba.tenant), pytest.raises(registration.Conflict) as refused:
        registration.number_pin_reveal(actor=world.owner, phone=phone)
    assert refused.value.code == "no_pin"


def test_generated_pins_are_six_random_digits_and_never_trivial() -> None:
    pins = {registration.new_pin() for _ in range(3000)}
    assert len(pins) > 2900  # random, not a counter
    assert all(re.fullmatch(r"[0-9]{6}", p) for p in pins)
    trivial = {"000000", "111111", "123456", "654321", "999999", "234567", "890123"}
    assert not pins & trivial
    assert registration.new_pin(avoid="482915") != "482915"


def test_an_agent_cannot_register_nor_see_or_change_the_pin(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = registered_number(connected_waba, world, mock_meta)
    agent = login(world.agent)
    page = agent.get(number_url(phone)).content.decode()
    assert 'id="reveal-pin"' not in page and 'id="change-pin"' not in page
    for action in ("register", "pin", "pin/reveal"):
        assert htmx(agent, number_url(phone, action)).status_code == 403
    row = details(connected_waba, phone)
    assert row is not None and row.pin_revealed_at is None
