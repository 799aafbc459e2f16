"""Role × method × URL, with a second tenant whose ids are tried everywhere."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import Invitation, Membership, Role, Team
from accounts.tenancy import tenant_scope
from tests.factories import World, team

pytestmark = pytest.mark.django_db


def client_for(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def _objects(world: World) -> dict[str, int]:
    t = team(world.tenant, "Support", world.agent)
    foreign_team = team(world.other_tenant, "Foreign")
    with tenant_scope(world.tenant):
        inv = Invitation.objects.create(email="new@acme.test", role=Role.AGENT)
    with tenant_scope(world.other_tenant):
        foreign_inv = Invitation.objects.create(email="new@globex.test", role=Role.AGENT)
    return {
        "team": t.pk,
        "foreign_team": foreign_team.pk,
        "inv": inv.pk,
        "foreign_inv": foreign_inv.pk,
        "agent": world.agent.pk,
        "foreign_member": world.other_owner.pk,
    }


GET_PAGES = [
    # (path, owner, admin, agent)
    ("/t/acme/", 200, 200, 200),
    ("/t/acme/settings/members/", 200, 200, 200),
    ("/t/acme/settings/teams/", 200, 200, 200),
    ("/t/acme/settings/teams/{team}/", 200, 200, 200),
    ("/t/acme/settings/audit/", 200, 200, 403),
]


@pytest.mark.parametrize("role", ["owner", "admin", "agent"])
@pytest.mark.parametrize("row", GET_PAGES, ids=[r[0] for r in GET_PAGES])
def test_tenant_pages_answer_by_role(world: World, role: str, row: tuple) -> None:
    ids = _objects(world)
    path, *codes = row
    expected = dict(zip(["owner", "admin", "agent"], codes, strict=True))[role]
    response = client_for(world.by_role(role)).get(path.format(**ids))
    assert response.status_code == expected


@pytest.mark.parametrize("row", GET_PAGES, ids=[r[0] for r in GET_PAGES])
def test_user_of_another_tenant_gets_404_on_every_page(world: World, row: tuple) -> None:
    ids = _objects(world)
    response = client_for(world.other_owner).get(row[0].format(**ids))
    assert response.status_code == 404


@pytest.mark.parametrize("row", GET_PAGES, ids=[r[0] for r in GET_PAGES])
def test_anonymous_is_sent_to_login(world: World, row: tuple) -> None:
    ids = _objects(world)
    response = Client().get(row[0].format(**ids))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_unknown_tenant_and_foreign_tenant_answer_the_same_404(world: World) -> None:
    c = client_for(world.owner)
    missing = c.get("/t/no-such-tenant/settings/members/")
    foreign = c.get("/t/globex/settings/members/")
    assert missing.status_code == foreign.status_code == 404
    # The same page, but for the CSRF token every page carries (masked anew each time)
    # and the address the language switcher returns to (the path the user asked for).
    token = re.compile(
        rb'("X-CSRFToken": "|name="csrfmiddlewaretoken" value="|name="next" value=")[^"]+"'
    )
    assert token.sub(b"", missing.content) == token.sub(b"", foreign.content)


POSTS = [
    # (path, data, owner, admin, agent)
    ("/t/acme/settings/members/", {"email": "x@acme.test", "role": "agent"}, 302, 302, 403),
    ("/t/acme/settings/members/{agent}/role/", {"role": "admin"}, 302, 302, 403),
    ("/t/acme/settings/invitations/{inv}/resend/", {}, 302, 302, 403),
    ("/t/acme/settings/invitations/{inv}/revoke/", {}, 302, 302, 403),
    ("/t/acme/settings/teams/", {"name": "Sales"}, 302, 302, 403),
    ("/t/acme/settings/teams/{team}/", {"action": "rename", "name": "Care"}, 302, 302, 403),
    ("/t/acme/settings/teams/{team}/", {"action": "add", "membership": "{agent}"}, 302, 302, 403),
    ("/t/acme/settings/teams/{team}/", {"action": "delete"}, 302, 302, 403),
    ("/t/acme/settings/members/{agent}/remove/", {}, 302, 302, 302),  # agent: leaves
]


@pytest.mark.parametrize("role", ["owner", "admin", "agent"])
@pytest.mark.parametrize("row", POSTS, ids=[f"{r[0]} {r[1]}" for r in POSTS])
def test_actions_by_role(world: World, role: str, row: tuple) -> None:
    ids = _objects(world)
    path, data, *codes = row
    expected = dict(zip(["owner", "admin", "agent"], codes, strict=True))[role]
    data = {k: v.format(**ids) for k, v in data.items()}
    response = client_for(world.by_role(role)).post(path.format(**ids), data)
    assert response.status_code == expected


FOREIGN_IDS = [
    ("/t/acme/settings/members/{foreign_member}/role/", {"role": "agent"}),
    ("/t/acme/settings/members/{foreign_member}/remove/", {}),
    ("/t/acme/settings/invitations/{foreign_inv}/revoke/", {}),
    ("/t/acme/settings/invitations/{foreign_inv}/resend/", {}),
    ("/t/acme/settings/teams/{foreign_team}/", {"action": "delete"}),
    ("/t/acme/settings/teams/{team}/", {"action": "remove", "membership": "{foreign_member}"}),
]


@pytest.mark.parametrize("row", FOREIGN_IDS, ids=[r[0] + str(r[1]) for r in FOREIGN_IDS])
def test_foreign_ids_answer_404_and_change_nothing(world: World, row: tuple) -> None:
    ids = _objects(world)
    path, data = row
    data = {k: v.format(**ids) for k, v in data.items()}
    response = client_for(world.owner).post(path.format(**ids), data)
    assert response.status_code == 404
    with tenant_scope(world.other_tenant):
        assert Membership.objects.get(pk=world.other_owner.pk).role == Role.OWNER
        assert Team.objects.filter(pk=ids["foreign_team"]).exists()
        assert Invitation.objects.get(pk=ids["foreign_inv"]).status == "pending"


def test_team_add_refuses_a_member_of_another_tenant(world: World) -> None:
    ids = _objects(world)
    response = client_for(world.owner).post(
        f"/t/acme/settings/teams/{ids['team']}/",
        {"action": "add", "membership": str(ids["foreign_member"])},
    )
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/t/acme/settings/invitations/{inv}/Revoke/", {}),
        ("/t/acme/settings/invitations/{inv}/cancel/", {}),
        ("/t/acme/settings/teams/{team}/", {"action": "remove", "membership": "abc"}),
    ],
)
def test_unknown_actions_and_malformed_ids_answer_404_and_change_nothing(
    world: World, path: str, data: dict
) -> None:
    ids = _objects(world)
    response = client_for(world.owner).post(path.format(**ids), data)
    assert response.status_code == 404
    with tenant_scope(world.tenant):
        assert Invitation.objects.get(pk=ids["inv"]).status == "pending"
        assert list(Team.objects.get(pk=ids["team"]).members.all()) == [world.agent]


def test_a_refusal_is_a_page_that_says_why_and_what_to_do(world: World) -> None:
    agent = client_for(world.agent)
    page = agent.get("/t/acme/settings/audit/")
    assert page.status_code == 403
    text = page.content.decode()
    assert "Only owners and admins can open this page." in text
    assert "Ask an owner of the workspace to change your role" in text
    assert 'id="nav-settings"' in text  # the portal's layout, not a bare error
    invite = agent.post("/t/acme/settings/members/", {"email": "x@acme.test", "role": "agent"})
    assert invite.status_code == 403
    assert "Only owners and admins can invite members." in invite.content.decode()
    with tenant_scope(world.tenant):
        assert not Invitation.objects.filter(email="x@acme.test").exists()


def test_a_foreign_or_missing_page_says_where_to_go(world: World) -> None:
    owner = client_for(world.owner)
    for path in ("/t/globex/", "/t/acme/settings/teams/999999/"):
        page = owner.get(path)
        assert page.status_code == 404, path
        assert "belongs to a workspace you are not a member of" in page.content.decode()
