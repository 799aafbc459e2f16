"""Sign up, invite a member, switch to German: the first minutes of a new customer."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail

from accounts.models import Invitation, Membership, invitation_token_hash
from accounts.tenancy import unscoped
from tests.accounts.test_services import INVITATION_LINK
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_signup_invite_and_switch_to_german(live_server, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/signup/")
    page.fill("#id_full_name", "Grace Hopper")
    page.fill("#id_email", "grace@navy.test")
    page.fill("#id_tenant_name", "Compiler Works")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("#signup-form button[type=submit]")
    page.wait_for_url(re.compile(r"/t/compiler-works/$"))
    assert page.locator("h1").inner_text() == "Compiler Works"

    # Invite an agent from the members page.
    page.click("#nav-settings")
    page.click("text=Members")
    page.fill("#invite-form #id_email", "agent@navy.test")
    page.select_option("#invite-form #id_role", "agent")
    page.click("#invite-form button[type=submit]")
    assert page.locator(".alert-success").inner_text() == "Invitation sent to agent@navy.test."
    assert "agent@navy.test" in page.locator("#invitations-table").inner_text()
    with unscoped():
        invitation = Invitation.objects.get(email="agent@navy.test")
    assert invitation.tenant.slug == "compiler-works"
    link = INVITATION_LINK.search(mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    assert invitation.token_hash == invitation_token_hash(link["token"])

    # Switch the interface to German and see German text.
    page.select_option("#language-select", "de")
    page.click("#language-submit")
    page.wait_for_load_state("load")
    page.locator("h1", has_text="Mitglieder").wait_for()
    assert page.locator("#invite-form button[type=submit]").inner_text() == "Einladung senden"
    assert page.locator("html").get_attribute("lang") == "de"


def test_invited_person_creates_account_in_the_browser(live_server, page, world) -> None:  # type: ignore[no-untyped-def]
    from accounts import services
    from accounts.tenancy import tenant_scope

    with tenant_scope(world.tenant):
        services.invitations.invitation_create(
            actor=world.owner, email="newbie@acme.test", role="agent"
        )
    link = INVITATION_LINK.search(mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    token = link["token"]
    # The server must never see the token in a URL: the browser keeps the fragment to
    # itself and the page's script posts it.
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sent = urlsplit(link[0])
    page.goto(f"{live_server.url}{sent.path}#{sent.fragment}")
    page.locator("#accept-form").wait_for()
    assert page.url == f"{live_server.url}/invitations/accept/"  # the fragment is gone
    assert "Create your account for newbie@acme.test" in page.locator("main").inner_text()
    page.fill("#id_full_name", "New Bie")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD + "typo")
    page.click("#accept-form button[type=submit]")
    # The error says what to fix and the name typed is kept.
    assert "The two passwords differ" in page.locator(".invalid-feedback").inner_text()
    assert page.input_value("#id_full_name") == "New Bie"
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("#accept-form button[type=submit]")
    page.wait_for_url(re.compile(r"/t/acme/$"))
    with tenant_scope(world.tenant):
        assert Membership.objects.filter(user__email="newbie@acme.test").exists()
    assert requested and not [url for url in requested if token in url]
