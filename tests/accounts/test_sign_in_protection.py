"""Sign-in protection: wrong passwords lock out for a while, reset mails and sign-ups are
limited per hour, and none of it tells whether an address has an account."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone, translation

from accounts import services
from accounts.errors import RateLimited
from accounts.models import User
from tests.accounts.sign_in_support import (
    a_moment,
    a_person,
    an_email,
    an_ip,
    client_from,
    log_in,
    without_tokens,
)
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 5  # AXES_FAILURE_LIMIT's default
COOL_OFF = timedelta(minutes=15)  # AXES_COOLOFF_TIME's default


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(a_moment(), tick=False) as traveller:
        yield traveller


def fail_until_locked(client: Client, email: str) -> object:
    """LIMIT wrong passwords; the answer to the last one."""
    for _ in range(LIMIT - 1):
        response = log_in(client, email, "not-the-password")
        assert response.status_code == 200
        assert "do not match an account" in response.content.decode()
    return log_in(client, email, "not-the-password")


# --- Wrong passwords ---------------------------------------------------------------------


def test_wrong_passwords_lock_the_account_and_say_when_to_retry(
    clock: time_machine.Traveller,
) -> None:
    person = a_person()
    locked = fail_until_locked(client_from(), person.email)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Signing in is paused" in page
    assert "Try again in 15\xa0minutes (at 9:15 a.m. UTC)." in page
    assert 'href="/password-reset/"' in page
    assert "{% block" not in page and "<nav" in page  # the portal's layout

    # Locked by the account: the right password, from another network too, is refused.
    elsewhere = client_from()
    refused = log_in(elsewhere, person.email)
    assert refused.status_code == 429
    assert "_auth_user_id" not in elsewhere.session
    # The lock does not move while it lasts.
    clock.shift(timedelta(minutes=5))
    assert "Try again in 10\xa0minutes" in log_in(elsewhere, person.email).content.decode()


def test_a_lock_ends_by_itself_after_the_cool_off(clock: time_machine.Traveller) -> None:
    person = a_person()
    client = client_from()
    assert fail_until_locked(client, person.email).status_code == 429

    clock.shift(COOL_OFF - timedelta(seconds=1))
    assert log_in(client, person.email).status_code == 429
    clock.shift(timedelta(seconds=1))
    response = log_in(client, person.email)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(person.pk)


def test_a_locked_account_and_an_unknown_address_answer_alike(
    clock: time_machine.Traveller,
) -> None:
    person = a_person()
    unknown = an_email()
    assert not User.objects.filter(email=unknown).exists()
    clients = {email: client_from() for email in (person.email, unknown)}
    first = [log_in(c, email, "wrong") for email, c in clients.items()]
    assert [r.status_code for r in first] == [200, 200]
    assert without_tokens(first[0].content.decode()).replace(person.email, "X") == without_tokens(
        first[1].content.decode()
    ).replace(unknown, "X")

    for email, c in clients.items():
        for _ in range(LIMIT - 2):
            log_in(c, email, "wrong")
    locked = [log_in(c, email, "wrong") for email, c in clients.items()]
    assert [r.status_code for r in locked] == [429, 429]
    assert without_tokens(locked[0].content.decode()) == without_tokens(locked[1].content.decode())
    # The right password of the existing account gets the same page again.
    again = log_in(client_from(), person.email)
    assert without_tokens(again.content.decode()) == without_tokens(locked[1].content.decode())


def test_many_addresses_from_one_network_lock_that_network(clock: time_machine.Traveller) -> None:
    person = a_person()
    network = an_ip()
    with override_settings(SIGN_IN_IP_FAILURE_LIMIT=3):
        for _ in range(2):
            assert log_in(client_from(network), an_email(), "guess").status_code == 200
        assert log_in(client_from(network), an_email(), "guess").status_code == 429
        # Every address from that network now waits, the right password too...
        assert log_in(client_from(network), person.email).status_code == 429
        # ...and the same person elsewhere signs in.
        assert log_in(client_from(), person.email).status_code == 302


def test_a_successful_sign_in_clears_the_accounts_count(clock: time_machine.Traveller) -> None:
    person = a_person()
    client = client_from()
    for _ in range(LIMIT - 1):
        log_in(client, person.email, "wrong")
    assert log_in(client, person.email).status_code == 302
    client.post("/logout/")
    for _ in range(LIMIT - 1):
        assert log_in(client, person.email, "wrong").status_code == 200


def test_the_address_is_counted_as_the_account_is_looked_up(clock: time_machine.Traveller) -> None:
    person = a_person()
    client = client_from()
    for variant in [person.email.upper(), f" {person.email} ", person.email.title()]:
        log_in(client, variant, "wrong")
    log_in(client_from(), person.email.capitalize(), "wrong")
    assert log_in(client_from(), person.email, "wrong").status_code == 429


def test_the_lock_page_speaks_the_visitors_language(clock: time_machine.Traveller) -> None:
    client = client_from(HTTP_ACCEPT_LANGUAGE="de")
    locked = fail_until_locked_any_language(client, an_email())
    assert locked.status_code == 429
    page = locked.content.decode()
    assert '<html lang="de">' in page
    assert "15\xa0Minuten" in page and "09:15 UTC" in page


def fail_until_locked_any_language(client: Client, email: str) -> object:
    for _ in range(LIMIT - 1):
        assert log_in(client, email, "wrong").status_code == 200
    return log_in(client, email, "wrong")


def test_an_admin_lifts_a_lock_with_axes_commands(clock: time_machine.Traveller) -> None:
    person = a_person()
    client = client_from()
    assert fail_until_locked(client, person.email).status_code == 429
    call_command("axes_reset_username", person.email)
    assert log_in(client, person.email).status_code == 302


def test_authenticate_without_a_request_is_not_counted(db: None) -> None:
    person = a_person()
    assert Client().login(username=person.email, password=PASSWORD)
    for _ in range(LIMIT + 1):
        assert not Client().login(username=person.email, password="wrong")
    assert Client().login(username=person.email, password=PASSWORD)


# --- Password-reset mails ------------------------------------------------------------------


def ask_reset(client: Client, email: str) -> object:
    response = client.post("/password-reset/", {"email": email})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    return response


def test_reset_mails_per_address_are_limited_per_hour_with_the_same_answer(
    clock: time_machine.Traveller,
) -> None:
    person = a_person()
    for _ in range(3):  # PASSWORD_RESET_LIMIT_PER_ADDRESS
        ask_reset(client_from(), person.email)
    assert len(mail.outbox) == 3
    ask_reset(client_from(), person.email.upper())  # the same answer, and no mail
    assert len(mail.outbox) == 3

    clock.shift(timedelta(hours=1))
    ask_reset(client_from(), person.email)
    assert len(mail.outbox) == 4 and mail.outbox[-1].to == [person.email]


def test_an_unknown_address_over_the_limit_answers_like_a_known_one(
    clock: time_machine.Traveller,
) -> None:
    person = a_person()
    unknown = an_email()
    answers = {}
    for email in (person.email, unknown):
        for _ in range(4):
            response = ask_reset(client_from(), email)
        answers[email] = response.client.get(response["Location"])
    assert len(mail.outbox) == 3
    known_page, unknown_page = (without_tokens(a.content.decode()) for a in answers.values())
    assert known_page == unknown_page


def test_reset_mails_per_client_are_limited_per_hour(clock: time_machine.Traveller) -> None:
    people = [a_person() for _ in range(3)]
    network = an_ip()
    with override_settings(PASSWORD_RESET_LIMIT_PER_IP=2):
        for person in people:
            ask_reset(client_from(network), person.email)
        assert [m.to for m in mail.outbox] == [[people[0].email], [people[1].email]]
        ask_reset(client_from(), people[2].email)  # from another network
        assert mail.outbox[-1].to == [people[2].email]


# --- Sign-ups ----------------------------------------------------------------------------


def sign_up(client: Client, email: str) -> object:
    return client.post(
        "/signup/",
        {
            "full_name": "Ada Lovelace",
            "email": email,
            "tenant_name": "Engines",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )


def test_sign_ups_per_client_are_limited_per_hour(clock: time_machine.Traveller) -> None:
    network = an_ip()
    with override_settings(SIGNUP_LIMIT_PER_IP=2):
        for _ in range(2):
            assert sign_up(client_from(network), an_email()).status_code == 302
        refused_email = an_email()
        refused = sign_up(client_from(network), refused_email)
        assert refused.status_code == 200
        page = refused.content.decode()
        assert "Too many sign-ups from your network in the last hour." in page
        assert "Try again in 1\xa0hour (at 10 a.m. UTC)." in page
        assert not User.objects.filter(email=refused_email).exists()

        assert sign_up(client_from(), an_email()).status_code == 302  # another network
        clock.shift(timedelta(hours=1))
        assert sign_up(client_from(network), refused_email).status_code == 302


def test_the_sign_up_refusal_is_a_rate_limited_error_with_the_retry_time(
    clock: time_machine.Traveller,
) -> None:
    network = an_ip()
    with override_settings(SIGNUP_LIMIT_PER_IP=1):
        services.tenants.user_signup(
            email=an_email(), password=PASSWORD, full_name="A", tenant_name="A", client_ip=network
        )
        with pytest.raises(RateLimited) as refused:
            services.tenants.user_signup(
                email=an_email(),
                password=PASSWORD,
                full_name="B",
                tenant_name="B",
                client_ip=network,
            )
    error = refused.value
    assert (error.status, error.code) == (429, "rate_limited")
    assert error.body()["error"]["details"]["retry_at"] == error.retry_at.isoformat()
    assert error.retry_at.isoformat().endswith("10:00:00+00:00")


def test_the_retry_time_is_rounded_up_and_told_in_the_active_time_zone(
    clock: time_machine.Traveller,
) -> None:
    retry_at = timezone.now() + timedelta(minutes=14, seconds=30)
    assert services.throttling.retry_words(retry_at) == {
        "wait": "15\xa0minutes",
        "time": "9:15 a.m. UTC",
    }
    with timezone.override("Asia/Kolkata"), translation.override("de"):
        assert services.throttling.retry_words(retry_at) == {
            "wait": "15\xa0Minuten",
            "time": "14:45 IST",
        }
