"""The channel settings API: the page's rules and words, one error body, roles, tenancy."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Membership
from accounts.tenancy import tenant_scope
from senders.models import ChannelMember, ChannelSettings, ChannelTeam, PhoneNumber
from tests.factories import PhoneNumberFactory, WhatsAppAccountFactory, World, team

pytestmark = pytest.mark.django_db


def api(m: Membership) -> APIClient:
    c = APIClient()
    c.force_authenticate(m.user)
    c.force_login(m.user)  # the workspace is resolved from the signed-in user
    return c


@pytest.fixture
def phone(world: World) -> PhoneNumber:
    waba = WhatsAppAccountFactory(tenant=world.tenant, name="Acme Support")
    return PhoneNumberFactory(waba=waba)


def url(phone: PhoneNumber, rest: str = "") -> str:
    return f"/api/v1/t/acme/phone-numbers/{phone.pk}/channel/{rest}"


def patch(m: Membership, phone: PhoneNumber, body: Any, rest: str = "") -> Any:
    return api(m).patch(url(phone, rest), body, format="json")


def test_get_answers_the_defaults_and_makes_the_channel(
    world: World, phone: PhoneNumber, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WHATSAPP_TARIFFS = [("lite", "Lite"), ("max", "Max")]
    response = api(world.agent).get(url(phone))
    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: body[k] for k in body if k not in ("id", "updated_at")} == {
        "phone_number": phone.pk,
        "name": "Acme Support",
        "display_name": "",
        "tariff": "lite",
        "tariff_label": "Lite",
        "tariffs": [{"code": "lite", "label": "Lite"}, {"code": "max", "label": "Max"}],
        "auto_assign": True,
        "auto_resolve_new_days": 30,
        "auto_resolve_pending_days": 30,
        "all_users": True,
        "all_teams": True,
        "teams": [],
        "your_role": "contributor",
    }
    with tenant_scope(world.tenant):
        assert ChannelSettings.objects.get(phone_number=phone).pk == body["id"]


def test_patch_changes_what_it_names_and_is_audited(world: World, phone: PhoneNumber) -> None:
    support = team(world.tenant, "Support")
    response = patch(
        world.admin,
        phone,
        {
            "name": "Sales",
            "auto_resolve_pending_days": 5,
            "all_users": False,
            "teams": [support.pk],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["auto_resolve_pending_days"], body["all_users"]) == (
        "Sales",
        5,
        False,
    )
    assert body["teams"] == [{"id": support.pk, "name": "Support"}]
    assert body["auto_resolve_new_days"] == 30  # not named, not changed
    with tenant_scope(world.tenant):
        actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == [
        "channel.renamed",
        "channel.auto_resolve_pending_changed",
        "channel.all_users_changed",
        "channel.team_added",
    ]


def test_what_get_answered_can_be_sent_back(world: World, phone: PhoneNumber) -> None:
    support = team(world.tenant, "Support")
    patch(world.owner, phone, {"teams": [support.pk]})
    body = api(world.owner).get(url(phone)).json()
    body["display_name"] = "Picker name"
    response = patch(world.owner, phone, body)
    assert response.status_code == 200, response.content
    assert response.json()["display_name"] == "Picker name"
    assert response.json()["teams"] == [{"id": support.pk, "name": "Support"}]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": ""}, "name", "Enter an internal name"),
        ({"name": "x" * 101}, "name", "at most 100 characters"),
        ({"display_name": "d" * 256}, "display_name", "at most 255 characters"),
        ({"tariff": "gold"}, "tariff", "Choose one of the tariffs offered"),
        ({"auto_resolve_new_days": 0}, "auto_resolve_new_days", "from 1 to 365"),
        ({"auto_resolve_pending_days": 366}, "auto_resolve_pending_days", "from 1 to 365"),
        ({"auto_resolve_new_days": "30"}, "auto_resolve_new_days", "whole number"),
        ({"all_users": "no"}, "all_users", "yes or no"),
        ({"teams": "Support"}, "teams", "list of team ids"),
        ({"colour": "red"}, "colour", "does not exist"),
    ],
)
def test_patch_refuses_with_the_pages_words(
    world: World, phone: PhoneNumber, body: dict[str, Any], field: str, words: str
) -> None:
    response = patch(world.owner, phone, body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and words in error["message"]
    assert list(error["details"]["fields"]) == [field]
    assert words in error["details"]["fields"][field][0]


def test_the_name_is_unique_per_workspace(world: World, phone: PhoneNumber) -> None:
    second = PhoneNumberFactory(waba=phone.waba, verified_name="Second")
    api(world.owner).get(url(phone))
    response = patch(world.owner, second, {"name": "ACME support"})
    assert response.status_code == 400
    assert "already called" in response.json()["error"]["details"]["fields"]["name"][0]
    foreign = PhoneNumberFactory(waba__tenant=world.other_tenant)
    theirs = api(world.other_owner).patch(
        f"/api/v1/t/globex/phone-numbers/{foreign.pk}/channel/",
        {"name": "Acme Support"},
        format="json",
    )
    assert theirs.status_code == 200, theirs.content


def test_another_workspaces_team_is_refused_and_never_linked(
    world: World, phone: PhoneNumber
) -> None:
    theirs = team(world.other_tenant, "Globex team")
    response = patch(world.owner, phone, {"teams": [theirs.pk], "name": "Changed"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"]["teams"]
    with tenant_scope(world.tenant):
        assert not ChannelTeam.objects.exists()
        assert ChannelSettings.objects.get(phone_number=phone).name == "Acme Support"


def test_a_body_that_is_not_an_object_is_refused(world: World, phone: PhoneNumber) -> None:
    response = patch(world.owner, phone, ["name"])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_agents_read_but_do_not_write(world: World, phone: PhoneNumber) -> None:
    assert api(world.agent).get(url(phone)).status_code == 200
    refused = patch(world.agent, phone, {"name": "Mine"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert api(world.agent).get(url(phone, "members/")).status_code == 200
    assert (
        api(world.agent)
        .post(url(phone, "members/"), {"membership": world.agent.pk, "role": "supervisor"})
        .status_code
        == 403
    )
    member_url = url(phone, f"members/{world.agent.pk}/")
    assert api(world.agent).get(member_url).status_code == 200
    assert patch(
        world.agent, phone, {"role": "supervisor"}, f"members/{world.agent.pk}/"
    ).status_code == (403)
    assert api(world.agent).delete(member_url).status_code == 403


def test_another_workspaces_number_and_member_are_not_found(
    world: World, phone: PhoneNumber
) -> None:
    foreign = PhoneNumberFactory(waba__tenant=world.other_tenant)
    for method in ("get", "patch"):
        assert getattr(api(world.owner), method)(url(foreign), {}, format="json").status_code == 404
    assert api(world.owner).get(url(foreign, "members/")).status_code == 404
    assert api(world.owner).get(url(phone, f"members/{world.other_owner.pk}/")).status_code == 404
    assert (
        patch(
            world.owner, phone, {"role": "viewer"}, f"members/{world.other_owner.pk}/"
        ).status_code
        == 404
    )
    with tenant_scope(world.other_tenant):
        assert not ChannelSettings.objects.exists()


def test_members_are_listed_added_changed_and_removed(world: World, phone: PhoneNumber) -> None:
    c = api(world.owner)
    listed = c.get(url(phone, "members/")).json()["results"]
    by_email = {row["email"]: row for row in listed}
    assert set(by_email) == {"owner@acme.test", "admin@acme.test", "agent@acme.test"}
    assert by_email["owner@acme.test"]["role"] == "supervisor"
    assert by_email["agent@acme.test"] | {"full_name": ""} == {
        "membership": world.agent.pk,
        "email": "agent@acme.test",
        "full_name": "",
        "workspace_role": "agent",
        "role": "contributor",
        "own_role": None,
        "source": "all_users",
        "why": "Every member has access (all users).",
    }

    added = c.post(
        url(phone, "members/"), {"membership": world.agent.pk, "role": "viewer"}, format="json"
    )
    assert added.status_code == 201, added.content
    assert (added.json()["role"], added.json()["own_role"], added.json()["source"]) == (
        "viewer",
        "viewer",
        "own_role",
    )
    again = c.post(
        url(phone, "members/"), {"membership": world.agent.pk, "role": "viewer"}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "channel_member_exists"

    member_url = f"members/{world.agent.pk}/"
    changed = patch(world.owner, phone, {"role": "supervisor"}, member_url)
    assert changed.status_code == 200 and changed.json()["role"] == "supervisor"
    assert c.get(url(phone, member_url)).json()["own_role"] == "supervisor"

    assert c.delete(url(phone, member_url)).status_code == 204
    assert c.delete(url(phone, member_url)).status_code == 204  # nothing left to take away
    after = c.get(url(phone, member_url)).json()
    assert (after["role"], after["own_role"]) == ("contributor", None)
    with tenant_scope(world.tenant):
        assert not ChannelMember.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"role": "viewer"}, 400, "membership"),
        ({"membership": "abc", "role": "viewer"}, 400, "membership"),
        ({"membership": "1" + "0" * 29, "role": "viewer"}, 400, "membership"),
        ({"membership": "other_owner", "role": "viewer"}, 400, "membership"),  # another tenant's
        ({"membership": "owner", "role": "viewer"}, 400, "membership"),  # a manager
        ({"membership": "agent", "role": "boss"}, 400, "role"),
        ({"membership": "agent"}, 400, "role"),
    ],
)
def test_adding_a_member_is_checked(
    world: World, phone: PhoneNumber, body: dict[str, Any], status: int, field: str
) -> None:
    names = {"other_owner": world.other_owner, "owner": world.owner, "agent": world.agent}
    if body.get("membership") in names:
        body = {**body, "membership": names[body["membership"]].pk}
    response = api(world.owner).post(url(phone, "members/"), body, format="json")
    assert response.status_code == status, response.content
    assert list(response.json()["error"]["details"]["fields"]) == [field]
    with tenant_scope(world.tenant):
        assert not ChannelMember.objects.exists()
