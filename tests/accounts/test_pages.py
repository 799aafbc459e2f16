"""Pages outside a workspace: log in, password reset, profile, workspaces, tenant switcher."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from tests.factories import PASSWORD, World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/signup/", "/login/", "/password-reset/", "/password-reset/sent/"]
)
def test_public_pages_render(client: Client, path: str) -> None:
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/account/", "/workspaces/", "/workspaces/new/"])
def test_personal_pages_need_a_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_with_email_and_a_clear_error_otherwise(world: World) -> None:
    c = Client()
    wrong = c.post("/login/", {"username": "owner@acme.test", "password": "nope"})
    assert "do not match an account" in wrong.content.decode()
    ok = c.post("/login/", {"username": "OWNER@acme.test", "password": PASSWORD})
    assert ok.status_code == 302
    assert c.get("/").url == "/t/acme/"


def test_password_reset_by_email(world: World) -> None:
    c = Client()
    c.post("/password-reset/", {"email": "agent@acme.test"})
    (message,) = mail.outbox
    link = re.search(r"http://[^/]+(/password-reset/\S+/)", message.body).group(1)
    form = c.get(link, follow=True)
    assert form.status_code == 200
    new = "a-new-password-2026"
    done = c.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert Client().login(username="agent@acme.test", password=new)
    # The link works once.
    assert "invalid or was used already" in c.get(link, follow=True).content.decode()


def test_unknown_address_gets_the_same_answer_and_no_mail(client: Client, db: None) -> None:
    response = client.post("/password-reset/", {"email": "nobody@nowhere.test"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_tenant_switcher_lists_every_workspace_of_the_user(world: World) -> None:
    from accounts import services
    from accounts.tenancy import tenant_scope

    with tenant_scope(world.tenant):
        inv = services.invitations.invitation_create(
            actor=world.owner, email="owner@globex.test", role="admin"
        )
    services.invitations.invitation_accept(invitation=inv, user=world.other_owner.user)
    c = Client()
    c.force_login(world.other_owner.user)
    page = c.get("/t/globex/").content.decode()
    assert 'href="/t/acme/"' in page and 'href="/t/globex/"' in page
    listing = c.get("/workspaces/").content.decode()
    assert "Acme" in listing and "Globex" in listing


def test_profile_keeps_name_and_language(world: World) -> None:
    c = Client()
    c.force_login(world.agent.user)
    c.post("/account/", {"full_name": "Agent Smith", "language": "ru"})
    world.agent.user.refresh_from_db()
    assert (world.agent.user.full_name, world.agent.user.language) == ("Agent Smith", "ru")
    assert "Обзор" in c.get("/t/acme/").content.decode()


def test_create_a_second_workspace(world: World) -> None:
    c = Client()
    c.force_login(world.agent.user)
    response = c.post("/workspaces/new/", {"name": "Side Project"})
    assert response.status_code == 302 and response["Location"] == "/t/side-project/"
    assert c.get("/t/side-project/settings/audit/").status_code == 200  # its owner
