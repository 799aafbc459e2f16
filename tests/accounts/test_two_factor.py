"""Two-factor sign-in: set up with an app and recovery codes, sign in with a code, turn off;
and the owners' switch that makes it required for every member of a workspace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import selectors, services
from accounts.errors import Invalid, NotAllowed, RateLimited
from accounts.models import AuditEvent, Membership, Tenant, User
from accounts.tenancy import tenant_scope
from tests.accounts.sign_in_support import (
    a_moment,
    a_person,
    client_from,
    log_in,
    secret_on_page,
    totp_code,
)
from tests.factories import PASSWORD, World

pytestmark = pytest.mark.django_db

STEP = timedelta(seconds=30)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(a_moment(), tick=False) as traveller:
        yield traveller


def turn_on(user: User, clock: time_machine.Traveller) -> tuple[bytes, list[str]]:
    """Two-factor sign-in for ``user`` through the services; the key and recovery codes.

    The clock then moves one step on, so the next code is not the one just used.
    """
    device = services.two_factor.two_factor_setup_start(user=user)
    _device, codes = services.two_factor.two_factor_setup_confirm(
        user=user, code=totp_code(device.bin_key)
    )
    clock.shift(STEP)
    return device.bin_key, codes


def signed_in_with_code(user: User, key: bytes) -> Client:
    client = client_from()
    assert log_in(client, user.email)["Location"] == "/login/code/"
    assert client.post("/login/code/", {"code": totp_code(key)}).status_code == 302
    return client


def audit_actions(tenant: Tenant) -> list[str]:
    with tenant_scope(tenant):
        return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# --- Setting up on the account page ----------------------------------------------------------


def test_set_up_with_the_qr_code_or_the_secret_and_a_first_code(
    clock: time_machine.Traveller, world: World
) -> None:
    user = world.agent.user
    client = client_from()
    client.force_login(user)
    profile = client.get("/account/").content.decode()
    assert 'href="/account/two-factor/"' in profile and "Set up two-factor sign-in" in profile

    page = client.get("/account/two-factor/").content.decode()
    assert re.search(r'<svg[^>]*class="two-factor-qr"', page)  # drawn on the server
    key = secret_on_page(page)
    assert (
        client.get("/account/two-factor/")
        .content.decode()
        .count(page[page.index('id="totp-secret"') :][:60])
    )  # a reload shows the same secret

    wrong = client.post("/account/two-factor/", {"code": "000000"})
    assert wrong.status_code == 400
    assert "This code does not match" in wrong.content.decode()
    assert not selectors.two_factor_enabled(user=user)

    done = client.post("/account/two-factor/", {"code": totp_code(key)})
    assert done.status_code == 302 and done["Location"] == "/account/two-factor/recovery-codes/"
    assert selectors.two_factor_enabled(user=user)
    shown = client.get(done["Location"]).content.decode()
    codes = re.findall(r'<span class="user-select-all">([a-z2-7]{4}-[a-z2-7]{4})</span>', shown)
    assert len(codes) == 10 == len(set(codes))
    assert "This is the only time they are shown." in shown
    again = client.get(done["Location"]).content.decode()
    assert not any(code in again for code in codes)
    assert "You have 10 unused recovery codes." in again
    assert "member.two_factor_enabled" in audit_actions(world.tenant)


def test_a_code_used_to_set_up_does_not_sign_in_again(
    clock: time_machine.Traveller, world: World
) -> None:
    user = world.agent.user
    device = services.two_factor.two_factor_setup_start(user=user)
    code = totp_code(device.bin_key)
    services.two_factor.two_factor_setup_confirm(user=user, code=code)
    client = client_from()
    log_in(client, user.email)
    replay = client.post("/login/code/", {"code": code})
    assert replay.status_code == 400
    clock.shift(STEP)
    assert client.post("/login/code/", {"code": totp_code(device.bin_key)}).status_code == 302


# --- Signing in ----------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(
    clock: time_machine.Traveller, world: World
) -> None:
    user = world.agent.user
    key, _codes = turn_on(user, clock)
    client = client_from()
    response = log_in(client, user.email, next_url="/account/")
    assert response.status_code == 302 and response["Location"] == "/login/code/"
    assert "_auth_user_id" not in client.session  # not signed in yet
    assert client.get("/account/")["Location"].startswith("/login/")

    page = client.get("/login/code/").content.decode()
    assert "Enter your code" in page and 'autocomplete="one-time-code"' in page
    wrong = client.post("/login/code/", {"code": "123456"})
    assert wrong.status_code == 400 and "This code does not match" in wrong.content.decode()
    assert "_auth_user_id" not in client.session

    right = client.post("/login/code/", {"code": totp_code(key)})
    assert right.status_code == 302 and right["Location"] == "/account/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/account/").status_code == 200


def test_a_wrong_password_never_reaches_the_code_step(
    clock: time_machine.Traveller, world: World
) -> None:
    user = world.agent.user
    turn_on(user, clock)
    client = client_from()
    assert log_in(client, user.email, "wrong").status_code == 200
    assert client.get("/login/code/")["Location"] == "/login/"


def test_a_recovery_code_signs_in_once(clock: time_machine.Traveller, world: World) -> None:
    user = world.agent.user
    _key, codes = turn_on(user, clock)
    client = client_from()
    log_in(client, user.email)
    assert client.post("/login/code/", {"code": codes[0].upper()}).status_code == 302
    assert selectors.recovery_codes_left(user=user) == 9
    assert "member.recovery_code_used" in audit_actions(world.tenant)

    client.post("/logout/")
    log_in(client, user.email)
    used = client.post("/login/code/", {"code": codes[0]})
    assert used.status_code == 400
    assert client.post("/login/code/", {"code": codes[1].replace("-", "")}).status_code == 302


def test_wrong_codes_are_limited_and_the_page_says_when_to_retry(
    clock: time_machine.Traveller, world: World
) -> None:
    user = world.agent.user
    key, _codes = turn_on(user, clock)
    client = client_from()
    log_in(client, user.email)
    for _ in range(5):  # TWO_FACTOR_FAILURE_LIMIT
        assert client.post("/login/code/", {"code": "000000"}).status_code == 400
    refused = client.post("/login/code/", {"code": totp_code(key)})
    assert refused.status_code == 429
    assert "Too many wrong codes or passwords. Try again in 15\xa0minutes (at 9:15 a.m. UTC)." in (
        refused.content.decode()
    )
    assert "_auth_user_id" not in client.session

    clock.shift(timedelta(minutes=15))
    log_in(client, user.email)
    assert client.post("/login/code/", {"code": totp_code(key)}).status_code == 302


def test_a_password_waits_a_few_minutes_for_its_code(
    clock: time_machine.Traveller, world: World
) -> None:
    user = world.agent.user
    key, _codes = turn_on(user, clock)
    client = client_from()
    log_in(client, user.email)
    clock.shift(timedelta(seconds=301))  # TWO_FACTOR_SIGN_IN_TIMEOUT_SECONDS
    late = client.post("/login/code/", {"code": totp_code(key)})
    assert late.status_code == 302 and late["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert "took too long" in client.get("/login/").content.decode()


# --- Turning off, new recovery codes ----------------------------------------------------------


def test_turn_off_with_the_password(clock: time_machine.Traveller, world: World) -> None:
    user = world.agent.user
    key, _codes = turn_on(user, clock)
    client = signed_in_with_code(user, key)
    assert client.get("/account/two-factor/disable/").status_code == 200
    wrong = client.post("/account/two-factor/disable/", {"password": "wrong"})
    assert wrong.status_code == 400 and "This password is not right." in wrong.content.decode()
    assert selectors.two_factor_enabled(user=user)
    nothing = client.post("/account/two-factor/disable/", {"password": "", "code": ""})
    assert "Enter your password or a code from your app." in nothing.content.decode()

    off = client.post("/account/two-factor/disable/", {"password": PASSWORD})
    assert off.status_code == 302 and off["Location"] == "/account/"
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticToken.objects.filter(device__user=user).exists()
    assert "member.two_factor_disabled" in audit_actions(world.tenant)
    assert log_in(client_from(), user.email)["Location"] == "/"  # the password alone again


def test_turn_off_with_a_code(clock: time_machine.Traveller, world: World) -> None:
    user = world.agent.user
    key, _codes = turn_on(user, clock)
    services.two_factor.two_factor_disable(user=user, code=totp_code(key))
    assert not selectors.two_factor_enabled(user=user)


def test_new_recovery_codes_replace_the_old_ones(
    clock: time_machine.Traveller, world: World
) -> None:
    user = world.agent.user
    key, old = turn_on(user, clock)
    client = signed_in_with_code(user, key)
    made = client.post("/account/two-factor/recovery-codes/", {"password": PASSWORD})
    assert made.status_code == 302
    page = client.get(made["Location"]).content.decode()
    new = re.findall(r'<span class="user-select-all">([a-z2-7]{4}-[a-z2-7]{4})</span>', page)
    assert len(new) == 10 and not set(new) & set(old)
    with pytest.raises(Invalid):
        services.two_factor.two_factor_verify(user=user, code=old[0])
    services.two_factor.two_factor_verify(user=user, code=new[0])
    assert "member.recovery_codes_regenerated" in audit_actions(world.tenant)


# --- The owners' switch -------------------------------------------------------------------


def require(world: World, membership: Membership, required: bool = True) -> Tenant:
    with tenant_scope(world.tenant):
        return services.two_factor.tenant_set_two_factor_required(
            actor=membership, required=required
        )


def test_only_an_owner_who_uses_it_can_require_it(
    clock: time_machine.Traveller, world: World
) -> None:
    with pytest.raises(Invalid, match="for your own account first"):
        require(world, world.owner)
    turn_on(world.admin.user, clock)
    with pytest.raises(NotAllowed):
        require(world, world.admin)

    turn_on(world.owner.user, clock)
    assert require(world, world.owner).two_factor_required
    assert "tenant.two_factor_required" in audit_actions(world.tenant)
    with tenant_scope(world.tenant):
        event = AuditEvent.objects.get(action="tenant.two_factor_required")
    assert event.actor == world.owner.user and event.metadata == {"required": True}


def test_the_switch_on_the_security_page_is_the_owners(
    clock: time_machine.Traveller, world: World
) -> None:
    key, _codes = turn_on(world.owner.user, clock)
    turn_on(world.admin.user, clock)
    admin = client_from()
    admin.force_login(world.admin.user)
    page = admin.get("/t/acme/settings/security/")
    assert page.status_code == 200 and "Only owners can change this." in page.content.decode()
    assert admin.post("/t/acme/settings/security/", {"required": "on"}).status_code == 403
    assert not Tenant.objects.get(pk=world.tenant.pk).two_factor_required

    agent = client_from()
    agent.force_login(world.agent.user)
    assert agent.get("/t/acme/settings/security/").status_code == 403

    owner = signed_in_with_code(world.owner.user, key)
    listing = owner.get("/t/acme/settings/security/").content.decode()
    assert 'id="security-form"' in listing and "agent@acme.test" in listing
    saved = owner.post("/t/acme/settings/security/", {"required": "on"})
    assert saved.status_code == 302
    assert Tenant.objects.get(pk=world.tenant.pk).two_factor_required
    assert owner.get("/t/acme/").status_code == 200  # the owner's session gave a code


def test_a_required_workspace_sends_members_without_it_to_set_it_up(
    clock: time_machine.Traveller, world: World
) -> None:
    turn_on(world.owner.user, clock)
    require(world, world.owner)
    agent = client_from()
    agent.force_login(world.agent.user)

    for path in ["/t/acme/", "/t/acme/settings/members/", "/t/acme/settings/whatsapp/"]:
        response = agent.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/account/two-factor/?next=%2Ft%2Facme%2F")
    api = agent.get("/api/v1/t/acme/wabas/", HTTP_ACCEPT="application/json")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "two_factor_required"
    # What stays open: the set-up page, the account, the language switch, logging out...
    setup = agent.get("/account/two-factor/?next=/t/acme/")
    assert (
        setup.status_code == 200 and "Acme requires two-factor sign-in." in setup.content.decode()
    )
    assert agent.get("/account/").status_code == 200
    assert agent.post("/language/", {"language": "de", "next": "/account/"})["Location"] == (
        "/account/"
    )
    # ...and the member's other workspaces that do not require it.
    with tenant_scope(world.other_tenant):
        Membership.objects.create(user=world.agent.user, role="agent")
    assert agent.get("/t/globex/").status_code == 200

    key = secret_on_page(setup.content.decode())
    done = agent.post("/account/two-factor/?next=/t/acme/", {"code": totp_code(key)})
    assert done["Location"] == "/account/two-factor/recovery-codes/?next=%2Ft%2Facme%2F"
    codes_page = agent.get(done["Location"]).content.decode()
    assert 'href="/t/acme/" id="continue"' in codes_page
    assert agent.get("/t/acme/").status_code == 200
    assert agent.get("/api/v1/t/acme/wabas/", HTTP_ACCEPT="application/json").status_code == 200

    agent.post("/logout/")
    assert agent.get("/t/acme/")["Location"].startswith("/login/")


def test_a_session_that_gave_no_code_is_asked_for_one(
    clock: time_machine.Traveller, world: World
) -> None:
    turn_on(world.owner.user, clock)
    require(world, world.owner)
    key, _codes = turn_on(world.agent.user, clock)
    agent = client_from()
    agent.force_login(world.agent.user)  # a session from before two-factor sign-in was on
    response = agent.get("/t/acme/settings/teams/")
    assert response["Location"] == "/login/code/?next=%2Ft%2Facme%2Fsettings%2Fteams%2F"
    entered = agent.post(response["Location"], {"code": totp_code(key)})
    assert entered["Location"] == "/t/acme/settings/teams/"
    assert agent.get("/t/acme/settings/teams/").status_code == 200


def test_a_member_who_turns_it_off_is_asked_to_set_it_up_again(
    clock: time_machine.Traveller, world: World
) -> None:
    turn_on(world.owner.user, clock)
    require(world, world.owner)
    key, _codes = turn_on(world.agent.user, clock)
    agent = signed_in_with_code(world.agent.user, key)
    assert agent.get("/t/acme/").status_code == 200
    warning = agent.get("/account/two-factor/disable/").content.decode()
    assert "Acme requires two-factor sign-in" in warning
    agent.post("/account/two-factor/disable/", {"password": PASSWORD})
    assert agent.get("/t/acme/")["Location"].startswith("/account/two-factor/?next=")


def test_turning_the_requirement_off_opens_the_workspace_again(
    clock: time_machine.Traveller, world: World
) -> None:
    turn_on(world.owner.user, clock)
    require(world, world.owner)
    require(world, world.owner, required=False)
    agent = client_from()
    agent.force_login(world.agent.user)
    assert agent.get("/t/acme/").status_code == 200
    assert audit_actions(world.tenant)[-1] == "tenant.two_factor_optional"


def test_the_code_limit_counts_wrong_passwords_too(
    clock: time_machine.Traveller, world: World
) -> None:
    user = world.agent.user
    key, _codes = turn_on(user, clock)
    for _ in range(5):
        with pytest.raises(Invalid):
            services.two_factor.two_factor_disable(user=user, password="guess")
    with pytest.raises(RateLimited):
        services.two_factor.two_factor_disable(user=user, password=PASSWORD)
    assert selectors.two_factor_enabled(user=user)
    clock.shift(timedelta(minutes=15))
    services.two_factor.two_factor_disable(user=user, code=totp_code(key))
    assert not selectors.two_factor_enabled(user=user)


def test_a_person_without_workspaces_can_use_it_too(clock: time_machine.Traveller) -> None:
    person = a_person()
    key, _codes = turn_on(person, clock)
    assert signed_in_with_code(person, key).get("/").status_code == 302
