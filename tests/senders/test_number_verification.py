"""Verifying a number added in the portal: a code by SMS or voice call, wrong codes counted.

Three wrong codes lock the number for four hours, each wrong code after that for a
day, and a success resets the count; the lock is ours, checked before Meta is asked.
Meta's own refusals (136024, 136025) show their troubleshooting entries. The mock Meta
server sends the codes (over HTTP); our clock travels with time-machine.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django.utils.formats import date_format

from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import VerificationMethod
from senders.services import registration
from tests.factories import World
from tests.fixtures_senders import Connected
from tests.senders.numbers_support import (
    calls,
    code_of,
    htmx,
    login,
    number_url,
    pending_number,
    reload,
    verification,
    wrong_code,
)

pytestmark = pytest.mark.django_db(transaction=True)


def ask_code(client: Any, phone: Any, method: str = "SMS", language: str = "en_US") -> Any:
    return htmx(client, number_url(phone, "code/request"), {"method": method, "language": language})


def enter(client: Any, phone: Any, code: str) -> Any:
    return htmx(client, number_url(phone, "code/verify"), {"code": code})


# --- Asking for a code ----------------------------------------------------------------------


def test_a_code_is_sent_by_the_chosen_method_in_the_chosen_language_and_valid_10_minutes(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)

    response = ask_code(owner, phone, "VOICE", "de_DE")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="number-progress"' in html and "<html" not in html  # the block, in place
    assert "Meta is calling" in html and 'id="verification-code"' in html
    sent = calls(mock_meta, phone, "request_code")
    assert [c["body"] for c in sent] == [{"code_method": "VOICE", "language": "de_DE"}]
    row = verification(connected_waba, phone)
    assert row is not None and (row.method, row.language) == ("VOICE", "de_DE")
    assert row.code_expires_at is not None and row.code_requested_at is not None
    assert row.code_expires_at - row.code_requested_at == timedelta(minutes=10)
    handset = mock_meta.codes(phone.phone_number_id)
    assert handset[0]["method"] == "VOICE" and handset[0]["language"] == "de_DE"


@pytest.mark.parametrize(
    ("number_type", "suggested"),
    [("mobile", "SMS"), ("fixed_line", "VOICE"), ("toll_free", "VOICE"), ("", "SMS")],
)
def test_sms_is_suggested_for_mobiles_and_a_voice_call_for_landlines(
    world: World, connected_waba: Connected, number_type: str, suggested: str
) -> None:
    phone = pending_number(connected_waba, number_type=number_type)
    html = login(world.admin).get(number_url(phone)).content.decode()
    checked = html.split(f'id="method-{suggested.lower()}"')[1].split(">")[0]
    assert "checked" in checked
    other = "voice" if suggested == "SMS" else "sms"
    assert "checked" not in html.split(f'id="method-{other}"')[1].split(">")[0]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"method": "FAX", "language": "en_US"}, "method", "SMS or voice call"),
        ({"method": "SMS", "language": "xx"}, "language", "language of the code"),
    ],
)
def test_a_bad_method_or_language_is_refused_before_meta_is_asked(
    world: World,
    connected_waba: Connected,
    mock_meta,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    mock_meta.requests(clear=True)
    html = htmx(login(world.owner), number_url(phone, "code/request"), data).content.decode()
    assert message in html
    assert calls(mock_meta, phone, "request_code") == []


def test_metas_136024_shows_its_troubleshooting_entry_and_counts_nothing(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    mock_meta.config(code_request_limit=1)
    owner = login(world.owner)
    ask_code(owner, phone)

    html = ask_code(owner, phone).content.decode()

    entry = ts.get(ts.VERIFICATION_CODE_REQUEST)
    assert f'data-problem="{ts.VERIFICATION_CODE_REQUEST}"' in html
    assert str(entry.steps[0]) in html
    row = verification(connected_waba, phone)
    assert row is not None and (row.failed_attempts, row.lockouts) == (0, 0)


# --- Entering it ----------------------------------------------------------------------------


def test_the_right_code_verifies_the_number_and_register_comes_next(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)
    ask_code(owner, phone)

    html = enter(owner, phone, code_of(mock_meta, phone)).content.decode()

    assert "is verified. Register it next." in html
    assert 'id="register-number"' in html and 'id="verification-code"' not in html
    phone = reload(connected_waba, phone)
    assert phone.code_verification_status == "VERIFIED"
    row = verification(connected_waba, phone)
    assert row is not None and row.verified_at is not None
    mock_phone = next(
        p for p in mock_meta.state()["phone_numbers"] if p["id"] == phone.phone_number_id
    )
    assert mock_phone["code_verification_status"] == "VERIFIED"


def test_a_code_with_spaces_or_a_dash_is_read_as_its_six_digits(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)
    ask_code(owner, phone)
    code = code_of(mock_meta, phone)
    enter(owner, phone, f" {code[:3]}-{code[3:]} ")
    assert reload(connected_waba, phone).code_verification_status == "VERIFIED"


@pytest.mark.parametrize("code", ["12345", "abcdef", "1234567", ""])
def test_a_code_that_is_not_six_digits_is_refused_beside_the_field_and_not_counted(
    world: World, connected_waba: Connected, mock_meta, code: str
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)
    ask_code(owner, phone)
    mock_meta.requests(clear=True)
    html = enter(owner, phone, code).content.decode()
    assert "Enter the 6 digits" in html and 'aria-invalid="true"' in html
    assert calls(mock_meta, phone, "verify_code") == []
    row = verification(connected_waba, phone)
    assert row is not None and row.failed_attempts == 0


def test_a_code_before_any_was_asked_for_is_refused(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    with tenant_scope(connected_waba.tenant), pytest.raises(registration.Invalid) as refused:
        registration.verification_code_verify(actor=world.owner, phone=phone, code="123456")
    assert refused.value.code == "no_code"


def test_a_wrong_code_is_metas_136025_with_its_entry_and_the_attempts_left(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)
    ask_code(owner, phone)

    html = enter(owner, phone, wrong_code(code_of(mock_meta, phone))).content.decode()

    assert f'data-problem="{ts.VERIFICATION_CODE_WRONG}"' in html
    assert "2 wrong codes left before verification is locked for 4 hours" in html
    assert str(ts.get(ts.VERIFICATION_CODE_WRONG).steps[0]) in html
    row = verification(connected_waba, phone)
    assert row is not None and (row.failed_attempts, row.lockouts) == (1, 0)


# --- Lockouts, with time travel -------------------------------------------------------------


def test_three_failures_lock_for_four_hours_then_each_failure_for_a_day_and_success_resets(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)
    start = timezone.now()
    with time_machine.travel(start, tick=True) as clock:
        ask_code(owner, phone)
        wrong = wrong_code(code_of(mock_meta, phone))
        enter(owner, phone, wrong)
        enter(owner, phone, wrong)
        html = enter(owner, phone, wrong).content.decode()  # the third
        row = verification(connected_waba, phone)
        assert row is not None and (row.lockouts, row.failed_attempts) == (1, 0)
        assert row.locked_until is not None
        assert abs(row.locked_until - (start + timedelta(hours=4))) < timedelta(minutes=1)
        ends = timezone.localtime(row.locked_until)
        until = ends.strftime("%H:%M")
        if ends.date() != timezone.localtime().date():  # a run after 20:00: the lock ends tomorrow
            until = f"{date_format(ends, 'DATE_FORMAT')}, {until}"
        assert f"try again at {until}" in html
        assert len(calls(mock_meta, phone, "verify_code")) == 3

        # Locked: refused here, before Meta is asked — for a code and for a new one.
        html = enter(owner, phone, code_of(mock_meta, phone)).content.decode()
        assert f"Too many wrong codes: try again at {until}." in html
        assert f'data-problem="{ts.VERIFICATION_LOCKED}"' in html
        ask_code(owner, phone)
        assert len(calls(mock_meta, phone, "verify_code")) == 3
        assert len(calls(mock_meta, phone, "request_code")) == 1

        clock.shift(timedelta(hours=4, minutes=1))  # the lock is over
        ask_code(owner, phone)
        assert len(calls(mock_meta, phone, "request_code")) == 2
        html = enter(owner, phone, wrong_code(code_of(mock_meta, phone))).content.decode()
        row = verification(connected_waba, phone)
        assert row is not None and row.lockouts == 2 and row.locked_until is not None
        assert abs(row.locked_until - (timezone.now() + timedelta(days=1))) < timedelta(minutes=1)
        assert "A wrong code now locks" not in html  # it is locked now, not warned

        clock.shift(timedelta(hours=23))
        assert "Too many wrong codes" in enter(owner, phone, "123456").content.decode()
        clock.shift(timedelta(hours=1, minutes=1))
        ask_code(owner, phone)
        enter(owner, phone, code_of(mock_meta, phone))

    row = verification(connected_waba, phone)
    assert row is not None and row.verified_at is not None
    assert (row.failed_attempts, row.lockouts, row.locked_until) == (0, 0, None)
    assert reload(connected_waba, phone).code_verification_status == "VERIFIED"


def test_a_lock_shows_on_the_page_in_the_users_time_zone(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    world.owner.user.time_zone = "Asia/Tokyo"
    world.owner.user.save(update_fields=["time_zone"])
    with tenant_scope(connected_waba.tenant):
        row = registration.NumberVerification.objects.create(
            phone_number=phone,
            method=VerificationMethod.SMS,
            language="en_US",
            code_requested_at=timezone.now(),
            code_expires_at=timezone.now() + timedelta(minutes=10),
            lockouts=1,
            locked_until=timezone.now() + timedelta(hours=4),
        )
    assert row.locked_until is not None
    tokyo = row.locked_until.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M")
    utc = row.locked_until.astimezone(ZoneInfo("UTC")).strftime("%H:%M")
    html = enter(login(world.owner), phone, "123456").content.decode()
    shown = re.findall(r"Too many wrong codes: try again at ([^<]*?)\.\s*<", html)
    assert shown and all(when.endswith(tokyo) and utc not in when for when in shown)


def test_a_code_older_than_10_minutes_is_refused_before_meta_is_asked(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)
    with time_machine.travel(timezone.now(), tick=True) as clock:
        ask_code(owner, phone)
        code = code_of(mock_meta, phone)
        clock.shift(timedelta(minutes=10, seconds=5))
        html = enter(owner, phone, code).content.decode()
    assert "The code expired" in html
    assert calls(mock_meta, phone, "verify_code") == []
    row = verification(connected_waba, phone)
    assert row is not None and row.failed_attempts == 0


def test_a_code_meta_expired_is_its_136025_and_counts(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)
    ask_code(owner, phone)
    code = code_of(mock_meta, phone)
    mock_meta.advance_clock(11 * 60)  # Meta's clock: the code is gone there
    html = enter(owner, phone, code).content.decode()
    assert f'data-problem="{ts.VERIFICATION_CODE_WRONG}"' in html
    assert "expired" in html  # Meta's words, shown with the entry
    row = verification(connected_waba, phone)
    assert row is not None and row.failed_attempts == 1


# --- Two attempts at once -------------------------------------------------------------------


def _at_once(c: Connected, world: World, phone: Any, codes: list[str]) -> list[Any]:
    """Verify ``codes`` from two threads at once (two transactions); their outcomes."""
    outcomes: list[Any] = [None] * len(codes)
    start = threading.Barrier(len(codes))

    def attempt(index: int) -> None:
        try:
            start.wait()
            with tenant_scope(c.tenant):
                outcomes[index] = registration.verification_code_verify(
                    actor=world.owner, phone=phone, code=codes[index]
                )
        except Exception as exc:  # the outcome is what is tested
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(codes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_two_wrong_codes_at_once_after_two_failures_lock_once_and_meta_is_asked_once(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)
    ask_code(owner, phone)
    wrong = wrong_code(code_of(mock_meta, phone))
    enter(owner, phone, wrong)
    enter(owner, phone, wrong)
    # Meta is slow to answer, so the second attempt arrives while the first waits.
    mock_meta.fault("POST", r"/verify_code$", latency=0.6, times=1)

    outcomes = _at_once(connected_waba, world, phone, [wrong, wrong])

    problems = sorted(getattr(o, "problem", repr(o)) for o in outcomes)
    assert problems == sorted([ts.VERIFICATION_CODE_WRONG, ts.VERIFICATION_LOCKED])
    assert len(calls(mock_meta, phone, "verify_code")) == 3  # two before, one of the pair
    row = verification(connected_waba, phone)
    assert row is not None and (row.lockouts, row.failed_attempts) == (1, 0)


def test_the_right_code_twice_at_once_verifies_once(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    ask_code(login(world.owner), phone)
    code = code_of(mock_meta, phone)
    mock_meta.requests(clear=True)
    mock_meta.fault("POST", r"/verify_code$", latency=0.6, times=1)

    outcomes = _at_once(connected_waba, world, phone, [code, code])

    verified = [o for o in outcomes if isinstance(o, registration.NumberVerification)]
    refused = [o for o in outcomes if isinstance(o, registration.Conflict)]
    assert len(verified) == 1 and len(refused) == 1
    assert refused[0].code == "already_verified"
    assert len(calls(mock_meta, phone, "verify_code")) == 1


# --- Who may --------------------------------------------------------------------------------


def test_an_agent_sees_the_steps_but_cannot_ask_for_a_code(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    agent = login(world.agent)
    html = agent.get(number_url(phone)).content.decode()
    assert 'data-step="verification"' in html and 'id="code-request-form"' not in html
    assert ask_code(agent, phone).status_code == 403
    assert enter(agent, phone, "123456").status_code == 403
    assert calls(mock_meta, phone, "request_code") == []
