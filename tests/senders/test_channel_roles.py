"""Who may do what on a channel: the selectors the inbox enforces (Sparkcentral's roles).

The matrix: owner, admin and agent × "all users" on and off × the member's way in (a
role of their own, a team with access, nothing). Each case checks every selector
against the same expected role, so the role, the visible channels, the visible
numbers, replying and reports cannot disagree.
"""

from __future__ import annotations

import pytest

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from senders import selectors
from senders.models import ChannelMember, ChannelRole, ChannelSettings, ChannelTeam, PhoneNumber
from senders.services import channels
from tests.factories import PhoneNumberFactory, World, team

pytestmark = pytest.mark.django_db

V, C, S = ChannelRole.VIEWER, ChannelRole.CONTRIBUTOR, ChannelRole.SUPERVISOR

# (tenant role, all users, way in) -> the role on the channel; None is no access.
EXPECTED: dict[tuple[str, bool, str], ChannelRole | None] = {
    ("owner", True, "own_role"): S,
    ("owner", True, "team"): S,
    ("owner", True, "nothing"): S,
    ("owner", False, "own_role"): S,
    ("owner", False, "team"): S,
    ("owner", False, "nothing"): S,
    ("admin", True, "own_role"): S,
    ("admin", True, "team"): S,
    ("admin", True, "nothing"): S,
    ("admin", False, "own_role"): S,
    ("admin", False, "team"): S,
    ("admin", False, "nothing"): S,
    ("agent", True, "own_role"): V,  # their own role wins, also over the default
    ("agent", True, "team"): C,
    ("agent", True, "nothing"): C,  # all users: the default role
    ("agent", False, "own_role"): V,
    ("agent", False, "team"): C,  # team members are Contributors
    ("agent", False, "nothing"): None,
}


def set_up(
    world: World, role: str, all_users: bool, way_in: str, suffix: str = ""
) -> tuple[Membership, ChannelSettings, PhoneNumber]:
    phone = PhoneNumberFactory(waba__tenant=world.tenant)
    membership = world.by_role(role)
    with tenant_scope(world.tenant):
        channel = channels.channel_ensure(phone=phone)
        channel.all_users, channel.all_teams = all_users, False
        channel.save()
        if way_in == "own_role":
            # Stored directly: the service gives roles to agents only, and a manager's
            # row (say, kept from before a promotion) must change nothing.
            ChannelMember.objects.create(channel=channel, membership=membership, role=V)
        elif way_in == "team":
            ChannelTeam.objects.create(
                channel=channel, team=team(world.tenant, "T" + suffix, membership)
            )
        team(world.tenant, "Bystanders" + suffix)  # a team without access changes nothing
    return membership, channel, phone


@pytest.mark.parametrize(("role", "all_users", "way_in"), list(EXPECTED))
def test_the_role_resolution_matrix(world: World, role: str, all_users: bool, way_in: str) -> None:
    membership, channel, phone = set_up(world, role, all_users, way_in)
    expected = EXPECTED[(role, all_users, way_in)]
    with tenant_scope(world.tenant):
        assert selectors.channel_role_for(membership, channel) == expected
        assert (channel in selectors.channels_visible_to(membership)) is (expected is not None)
        assert (phone in selectors.phones_visible_to(membership)) is (expected is not None)
        assert (phone.pk in selectors.visible_phone_ids(membership)) is (expected is not None)
        assert selectors.can_reply(membership, channel) is (expected in (C, S))
        assert selectors.can_see_reports(membership, channel) is (expected == S)
        assert selectors.phone_channel_role(membership, phone) == expected
        # The channel's facts read once (as a page that also lists the assignable does).
        facts = selectors.channel_facts(channel)
        assert selectors.channel_access_for(membership, channel, facts=facts) == (
            selectors.channel_access_for(membership, channel)
        )
        (row,) = [
            a
            for a in selectors.channel_access_table(channel=channel)
            if a.membership.pk == membership.pk
        ]
        assert row.role == expected and row.source_words


def test_all_teams_lets_members_of_any_team_in(world: World) -> None:
    phone = PhoneNumberFactory(waba__tenant=world.tenant)
    with tenant_scope(world.tenant):
        channel = channels.channel_ensure(phone=phone)
        channel.all_users, channel.all_teams = False, True
        channel.save()
        assert selectors.channel_role_for(world.agent, channel) is None  # in no team
        team(world.tenant, "Any team", world.agent)
        access = selectors.channel_access_for(world.agent, channel)
        assert (access.role, access.source) == (C, selectors.ACCESS_ALL_TEAMS)
        assert list(selectors.channels_visible_to(world.agent)) == [channel]


def test_a_team_with_access_is_named_as_the_reason(world: World) -> None:
    membership, channel, _phone = set_up(world, "agent", False, "team")
    with tenant_scope(world.tenant):
        access = selectors.channel_access_for(membership, channel)
    assert access.source == selectors.ACCESS_TEAM and access.teams == ("T",)
    assert access.source_words == "Member of a team with access: T."


def test_another_workspaces_member_has_no_access(world: World) -> None:
    phone = PhoneNumberFactory(waba__tenant=world.tenant)
    with tenant_scope(world.tenant):
        channel = channels.channel_ensure(phone=phone)
        assert selectors.channel_role_for(world.other_owner, channel) is None
        assert not selectors.can_reply(world.other_owner, channel)
    with tenant_scope(world.other_tenant):
        assert not selectors.channels_visible_to(world.other_owner).exists()
        assert not selectors.phones_visible_to(world.other_owner).exists()
        assert selectors.visible_phone_ids(world.other_owner) == []


def test_a_number_without_its_channel_yet_counts_with_the_defaults(world: World) -> None:
    phone = PhoneNumberFactory(waba__tenant=world.tenant)
    hidden = PhoneNumberFactory(waba__tenant=world.tenant)
    with tenant_scope(world.tenant):
        closed = channels.channel_ensure(phone=hidden)
        closed.all_users, closed.all_teams = False, False
        closed.save()
        assert not ChannelSettings.objects.filter(phone_number=phone).exists()
        assert selectors.phone_channel_role(world.agent, phone) == C
        assert selectors.phone_channel_role(world.owner, phone) == S
        assert list(selectors.phones_visible_to(world.agent)) == [phone]
        assert set(selectors.phones_visible_to(world.admin)) == {phone, hidden}
        assert selectors.visible_phone_ids(world.agent) == [phone.pk]
        assert set(selectors.visible_phone_ids(world.admin)) == {phone.pk, hidden.pk}
        unsaved = selectors.channel_for_phone(phone=phone)
        facts = selectors.channel_facts(unsaved)
        assert selectors.channel_access_for(world.agent, unsaved, facts=facts).role == C
        assert not ChannelSettings.objects.filter(phone_number=phone).exists()  # reads only


def test_channel_visibility_takes_few_queries(world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for n in range(5):
        set_up(world, "agent", False, "team", suffix=str(n))
    with tenant_scope(world.tenant), django_assert_max_num_queries(2):
        assert len(list(selectors.channels_visible_to(world.agent))) == 5


def test_the_visible_numbers_follow_a_change_of_access(world: World) -> None:
    """``visible_phone_ids`` compiles its statement once per member: the access it
    reads is the access of the moment."""
    membership, channel, phone = set_up(world, "agent", False, "nothing")
    with tenant_scope(world.tenant):
        assert selectors.visible_phone_ids(membership) == []
        ChannelMember.objects.create(channel=channel, membership=membership, role=C)
        assert selectors.visible_phone_ids(membership) == [phone.pk]
        ChannelMember.objects.filter(channel=channel).delete()
        channel.all_users = True
        channel.save()
        assert selectors.visible_phone_ids(membership) == [phone.pk]
