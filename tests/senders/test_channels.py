"""Channel settings: defaults, every field's rules, the audit in words, and the page."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test import Client

from accounts.models import AuditEvent, Membership
from accounts.services.audit import audit_describe
from accounts.tenancy import tenant_scope
from senders.models import ChannelMember, ChannelRole, ChannelSettings, ChannelTeam, PhoneNumber
from senders.services import channels, snapshots
from tests.factories import PhoneNumberFactory, WhatsAppAccountFactory, World, member, team
from waba_portal.errors import Conflict, Invalid, NotAllowed
from waba_portal.settings import _tariffs

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def phone(world: World) -> PhoneNumber:
    waba = WhatsAppAccountFactory(tenant=world.tenant, name="Acme Support")
    return PhoneNumberFactory(waba=waba, display_phone_number="+1 555-0100")


def ensure(phone: PhoneNumber) -> ChannelSettings:
    with tenant_scope(phone.tenant):
        return channels.channel_ensure(phone=phone)


def update(world: World, channel: ChannelSettings, **changes: Any) -> ChannelSettings:
    with tenant_scope(world.tenant):
        return channels.channel_update(actor=world.owner, channel=channel, changes=changes)


def refused(world: World, channel: ChannelSettings, **changes: Any) -> Invalid:
    with pytest.raises(Invalid) as caught:
        update(world, channel, **changes)
    return caught.value


def audit_rows(world: World, prefix: str = "channel.") -> list[AuditEvent]:
    with tenant_scope(world.tenant):
        return list(
            AuditEvent.objects.filter(action__startswith=prefix)
            .select_related("actor")
            .order_by("pk")
        )


# --- Defaults -------------------------------------------------------------------------


def test_a_new_channel_has_the_defaults(world: World, phone: PhoneNumber, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WHATSAPP_TARIFFS = [("lite", "Lite"), ("max", "Max")]
    channel = ensure(phone)
    assert (channel.name, channel.display_name, channel.tariff) == ("Acme Support", "", "lite")
    assert channel.auto_assign is True
    assert (channel.auto_resolve_new_days, channel.auto_resolve_pending_days) == (30, 30)
    assert channel.all_users is True and channel.all_teams is True
    assert ensure(phone).pk == channel.pk  # made once
    with tenant_scope(world.tenant):
        assert ChannelSettings.objects.count() == 1


def test_default_names_are_unique_in_the_workspace(world: World, phone: PhoneNumber) -> None:
    second = PhoneNumberFactory(waba=phone.waba, display_phone_number="+1 555-0101")
    third = PhoneNumberFactory(waba=phone.waba, display_phone_number="+1 555-0101")
    nameless = PhoneNumberFactory(
        waba=phone.waba, verified_name="", display_phone_number="+49 30 1234567"
    )
    names = [ensure(p).name for p in (phone, second, third, nameless)]
    assert names == [
        "Acme Support",
        "Acme Support (+1 555-0101)",
        "Acme Support (2)",
        "+49 30 1234567",
    ]


def test_the_same_default_name_is_fine_in_another_workspace(
    world: World, phone: PhoneNumber
) -> None:
    other_waba = WhatsAppAccountFactory(tenant=world.other_tenant, name="Acme Support")
    other = PhoneNumberFactory(waba=other_waba)
    assert ensure(phone).name == ensure(other).name == "Acme Support"


def test_a_long_verified_name_is_cut_to_fit(world: World) -> None:
    waba = WhatsAppAccountFactory(tenant=world.tenant, name="N" * 200)
    first, second = PhoneNumberFactory(waba=waba), PhoneNumberFactory(waba=waba)
    assert ensure(first).name == "N" * 100
    name = ensure(second).name
    assert len(name) == 100 and name.endswith(f"({second.display_phone_number})")


def waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_two_first_reads_at_once_make_one_channel_each_with_its_own_name(world: World) -> None:
    waba = WhatsAppAccountFactory(tenant=world.tenant, name="Same Name")
    first, second = PhoneNumberFactory(waba=waba), PhoneNumberFactory(waba=waba)
    made: list[ChannelSettings] = []
    errors: list[BaseException] = []
    inside, release = threading.Event(), threading.Event()

    def hold_open() -> None:  # makes the first number's channel, and commits a moment later
        try:
            with tenant_scope(world.tenant), transaction.atomic():
                made.append(channels.channel_ensure(phone=first))
                inside.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)
            inside.set()
        finally:
            connection.close()

    def meanwhile(phone: PhoneNumber) -> None:
        try:
            with tenant_scope(world.tenant):
                made.append(channels.channel_ensure(phone=phone))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    one = threading.Thread(target=hold_open)
    one.start()
    assert inside.wait(10)
    # The same number, and another number wanting the same name, wait for the first.
    others = [threading.Thread(target=meanwhile, args=(p,)) for p in (first, second)]
    for t in others:
        t.start()
    deadline = time.monotonic() + 10
    while waiting_on_locks() < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # until both wait on the first one's uncommitted row
    assert waiting_on_locks() == 2
    release.set()
    for t in (one, *others):
        t.join(20)
    assert errors == []
    with tenant_scope(world.tenant):
        rows = {c.phone_number_id: c.name for c in ChannelSettings.objects.all()}
    assert rows == {first.pk: "Same Name", second.pk: f"Same Name ({second.display_phone_number})"}
    assert len({c.pk for c in made if c.phone_number_id == first.pk}) == 1


def test_a_number_recorded_from_meta_gets_its_channel(world: World) -> None:
    waba = WhatsAppAccountFactory(tenant=world.tenant)
    with tenant_scope(world.tenant):
        phone, _changes = snapshots.phone_apply_snapshot(
            waba=waba,
            data={
                "id": "212345678901234",
                "display_phone_number": "+1 555-0199",
                "verified_name": "Snapshot Co",
                "status": "CONNECTED",
            },
            source="sync",
            notify=False,
        )
        assert ChannelSettings.objects.get(phone_number=phone).name == "Snapshot Co"


# --- The tariffs the operator configures ------------------------------------------------


def test_tariffs_come_from_the_environment_format() -> None:
    assert _tariffs("") == []
    assert _tariffs("basic:Basic plan, gold , vip: VIP ") == [
        ("basic", "Basic plan"),
        ("gold", "gold"),
        ("vip", "VIP"),
    ]
    with pytest.raises(ImproperlyConfigured):
        _tariffs("a:A,a:Again")
    with pytest.raises(ImproperlyConfigured):
        _tariffs("x" * 65)


def test_an_unknown_tariff_is_refused_and_a_retired_one_kept(
    world: World, phone: PhoneNumber, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WHATSAPP_TARIFFS = [("lite", "Lite"), ("max", "Max")]
    channel = ensure(phone)
    error = refused(world, channel, tariff="gold")
    assert error.field == "tariff" and "Lite, Max" in error.message
    assert refused(world, channel, tariff="").field == "tariff"
    assert update(world, channel, tariff="max").tariff == "max"
    settings.WHATSAPP_TARIFFS = [("lite", "Lite")]  # the operator stops offering "max"
    assert update(world, channel, tariff="max", name="Kept").tariff == "max"
    assert refused(world, channel, tariff="max2").field == "tariff"


# --- Every field's rules ------------------------------------------------------------------


def test_the_internal_name_is_required_and_at_most_100_characters(
    world: World, phone: PhoneNumber
) -> None:
    channel = ensure(phone)
    for blank in ("", "   ", None):
        error = refused(world, channel, name=blank)
        assert error.field == "name" and "Enter an internal name" in error.message
    error = refused(world, channel, name="x" * 101)
    assert "at most 100 characters; this one has 101" in error.message
    assert update(world, channel, name="  " + "x" * 100 + " ").name == "x" * 100
    assert refused(world, channel, name=42).field == "name"


def test_the_internal_name_is_unique_in_the_workspace_only(
    world: World, phone: PhoneNumber
) -> None:
    channel = ensure(phone)
    other = ensure(PhoneNumberFactory(waba=phone.waba))
    error = refused(world, other, name="acme SUPPORT")
    assert error.field == "name"
    assert "Another channel of this workspace is already called “acme SUPPORT”" in error.message
    assert update(world, channel, name="Acme Support").name == "Acme Support"  # its own name
    foreign = ensure(PhoneNumberFactory(waba__tenant=world.other_tenant))
    with tenant_scope(world.other_tenant):
        renamed = channels.channel_update(
            actor=world.other_owner, channel=foreign, changes={"name": "Acme Support"}
        )
    assert renamed.name == "Acme Support"


def test_the_display_name_may_be_empty_and_at_most_255_characters(
    world: World, phone: PhoneNumber
) -> None:
    channel = ensure(phone)
    assert update(world, channel, display_name="D" * 255).display_name == "D" * 255
    error = refused(world, channel, display_name="D" * 256)
    assert error.field == "display_name" and "at most 255 characters" in error.message
    assert update(world, channel, display_name="").display_name == ""


@pytest.mark.parametrize("field", ["auto_resolve_new_days", "auto_resolve_pending_days"])
def test_auto_resolve_takes_1_to_365_days(world: World, phone: PhoneNumber, field: str) -> None:
    channel = ensure(phone)
    queue = "New" if field == "auto_resolve_new_days" else "Pending"
    for bad in (0, 366, -1, None, "30", 7.5, True):
        error = refused(world, channel, **{field: bad})
        assert error.field == field
        assert f"in the {queue} queue" in error.message and "from 1 to 365" in error.message
    assert getattr(update(world, channel, **{field: 1}), field) == 1
    assert getattr(update(world, channel, **{field: 365}), field) == 365


@pytest.mark.parametrize("field", ["auto_assign", "all_users", "all_teams"])
def test_switches_take_yes_or_no(world: World, phone: PhoneNumber, field: str) -> None:
    channel = ensure(phone)
    for bad in ("false", 0, None):
        assert refused(world, channel, **{field: bad}).field == field
    assert getattr(update(world, channel, **{field: False}), field) is False


def test_teams_of_another_workspace_are_refused_and_never_linked(
    world: World, phone: PhoneNumber
) -> None:
    channel = ensure(phone)
    ours = team(world.tenant, "Support")
    theirs = team(world.other_tenant, "Globex team")
    error = refused(world, channel, teams=[ours.pk, theirs.pk])
    assert error.field == "teams" and str(theirs.pk) in error.message
    assert refused(world, channel, teams="1,2").field == "teams"
    assert refused(world, channel, teams=[True]).field == "teams"
    assert refused(world, channel, teams=[10**30, -1]).field == "teams"
    with tenant_scope(world.tenant):
        assert not ChannelTeam.objects.exists()
    update(world, channel, teams=[ours.pk])
    with tenant_scope(world.tenant):
        assert list(channel.teams.values_list("team_id", flat=True)) == [ours.pk]


def test_every_refusal_is_given_at_once_and_nothing_is_half_written(
    world: World, phone: PhoneNumber
) -> None:
    channel = ensure(phone)
    error = refused(
        world, channel, name="Renamed", auto_resolve_new_days=0, display_name="D" * 300, colour=1
    )
    fields = error.details["fields"]
    assert set(fields) == {"auto_resolve_new_days", "display_name", "colour"}
    assert fields["colour"] == ["This setting does not exist."]
    with tenant_scope(world.tenant):
        channel.refresh_from_db()
    assert channel.name == "Acme Support" and channel.auto_resolve_new_days == 30
    assert audit_rows(world) == []


def test_agents_cannot_change_settings_or_roles(world: World, phone: PhoneNumber) -> None:
    channel = ensure(phone)
    with tenant_scope(world.tenant), pytest.raises(NotAllowed):
        channels.channel_update(actor=world.agent, channel=channel, changes={"name": "Mine"})
    with tenant_scope(world.tenant), pytest.raises(NotAllowed):
        channels.channel_member_set(
            actor=world.agent, channel=channel, membership=world.agent, role=ChannelRole.SUPERVISOR
        )


# --- The audit, in words ---------------------------------------------------------------


def test_every_change_is_audited_with_the_old_and_new_value(
    world: World, phone: PhoneNumber, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WHATSAPP_TARIFFS = [("lite", "Lite"), ("max", "Max")]
    channel = ensure(phone)
    support = team(world.tenant, "Support")
    update(
        world,
        channel,
        name="Sales line",
        display_name="Sales",
        tariff="max",
        auto_assign=False,
        auto_resolve_new_days=7,
        auto_resolve_pending_days=30,  # unchanged: no row
        all_users=False,
        all_teams=True,  # unchanged
        teams=[support.pk],
    )
    update(world, channel, teams=[])
    owner = world.owner.user.get_full_name()
    with tenant_scope(world.tenant):
        words = [audit_describe(row) for row in audit_rows(world)]
    assert words == [
        f"{owner} renamed the channel Acme Support to Sales line",
        f"{owner} changed the display name of the channel Sales line from — to Sales",
        f"{owner} changed the tariff of the channel Sales line from Lite to Max",
        f"{owner} changed “assign to the agent who replies” on the channel Sales line "
        "from yes to no",
        f"{owner} changed when the channel Sales line resolves New conversations from 30 to 7 days",
        f"{owner} changed “all users” on the channel Sales line from yes to no",
        f"{owner} gave the team Support access to the channel Sales line",
        f"{owner} took the access to the channel Sales line away from the team Support",
    ]
    rename = audit_rows(world)[0]
    assert rename.metadata == {
        "field": "name",
        "old": "Acme Support",
        "new": "Sales line",
        "from": "Acme Support",
        "to": "Sales line",
    }
    update(world, channel, name="Sales line", auto_assign=False)  # nothing changes
    assert len(audit_rows(world)) == len(words)


def test_roles_are_given_changed_and_taken_away_with_audit(
    world: World, phone: PhoneNumber
) -> None:
    channel = ensure(phone)
    agent = world.agent
    with tenant_scope(world.tenant):
        channels.channel_member_add(
            actor=world.owner, channel=channel, membership=agent, role=ChannelRole.VIEWER
        )
        with pytest.raises(Conflict) as twice:
            channels.channel_member_add(
                actor=world.owner, channel=channel, membership=agent, role=ChannelRole.VIEWER
            )
        assert "has the role Viewer on this channel already" in twice.value.message
        channels.channel_member_set(
            actor=world.admin, channel=channel, membership=agent, role=ChannelRole.SUPERVISOR
        )
        channels.channel_member_set(  # the same role again: no row
            actor=world.admin, channel=channel, membership=agent, role=ChannelRole.SUPERVISOR
        )
        assert channels.channel_member_remove(actor=world.owner, channel=channel, membership=agent)
        assert not channels.channel_member_remove(
            actor=world.owner, channel=channel, membership=agent
        )
        words = [audit_describe(row) for row in audit_rows(world)]
    owner, admin = world.owner.user.get_full_name(), world.admin.user.get_full_name()
    assert words == [
        f"{owner} gave agent@acme.test the role Viewer on the channel Acme Support",
        f"{admin} changed the role of agent@acme.test on the channel Acme Support "
        "from Viewer to Supervisor",
        f"{owner} took the role Supervisor on the channel Acme Support away from agent@acme.test",
    ]


def test_roles_are_for_agents_of_this_workspace(world: World, phone: PhoneNumber) -> None:
    channel = ensure(phone)
    with tenant_scope(world.tenant):
        for manager in (world.owner, world.admin):
            with pytest.raises(Invalid) as caught:
                channels.channel_member_set(
                    actor=world.owner, channel=channel, membership=manager, role="viewer"
                )
            assert "supervisor of every channel already" in caught.value.message
        with pytest.raises(Invalid) as foreign:
            channels.channel_member_set(
                actor=world.owner, channel=channel, membership=world.other_owner, role="viewer"
            )
        assert foreign.value.field == "membership"
        with pytest.raises(Invalid) as bad_role:
            channels.channel_member_set(
                actor=world.owner, channel=channel, membership=world.agent, role="owner"
            )
        assert bad_role.value.field == "role"
        assert not ChannelMember.objects.exists()


# --- The page --------------------------------------------------------------------------


def signed_in(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def page_url(phone: PhoneNumber) -> str:
    return f"/t/{phone.tenant.slug}/settings/whatsapp/numbers/{phone.pk}/channel/"


def form_data(channel: ChannelSettings, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": channel.name,
        "display_name": channel.display_name,
        "tariff": channel.tariff,
        "auto_resolve_new_days": channel.auto_resolve_new_days,
        "auto_resolve_pending_days": channel.auto_resolve_pending_days,
    }
    for switch in ("auto_assign", "all_users", "all_teams"):
        if getattr(channel, switch):
            data[switch] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_page_makes_the_channel_and_shows_the_form_to_managers(
    world: World, phone: PhoneNumber
) -> None:
    team(world.tenant, "Night shift")
    response = signed_in(world.admin).get(page_url(phone))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="channel-settings-form"' in html and 'value="Acme Support"' in html
    assert "Night shift" in html
    assert "Cannot reply to customers." in html  # the roles in words
    assert "Your role on this channel: <strong>Supervisor</strong>" in html
    with tenant_scope(world.tenant):
        assert ChannelSettings.objects.filter(phone_number=phone).exists()


def test_agents_read_the_settings_and_their_own_role(world: World, phone: PhoneNumber) -> None:
    channel = ensure(phone)
    with tenant_scope(world.tenant):
        channels.channel_member_set(
            actor=world.owner, channel=channel, membership=world.agent, role="viewer"
        )
    html = signed_in(world.agent).get(page_url(phone)).content.decode()
    assert 'id="channel-settings-form"' not in html and 'id="channel-settings-read"' in html
    assert "Your role on this channel: <strong>Viewer</strong>" in html
    assert "you cannot reply" in html
    assert "channel-role-form" not in html  # no role changes for agents
    response = signed_in(world.agent).post(page_url(phone), form_data(channel, name="Mine"))
    assert response.status_code == 403


def test_saving_the_form_changes_the_settings(world: World, phone: PhoneNumber) -> None:
    channel = ensure(phone)
    support = team(world.tenant, "Support")
    data = form_data(channel, name="Renamed", all_users=None, teams=[support.pk])
    response = signed_in(world.owner).post(page_url(phone), data)
    assert response.status_code == 302 and response["Location"] == page_url(phone)
    with tenant_scope(world.tenant):
        channel.refresh_from_db()
        assert list(channel.teams.values_list("team_id", flat=True)) == [support.pk]
    assert (channel.name, channel.all_users, channel.all_teams) == ("Renamed", False, True)


def test_a_refused_form_shows_each_error_beside_its_field(world: World, phone: PhoneNumber) -> None:
    channel = ensure(phone)
    other = ensure(PhoneNumberFactory(waba=phone.waba, verified_name="Second"))
    data = form_data(other, name=channel.name, auto_resolve_pending_days=366)
    response = signed_in(world.owner).post(page_url(other.phone_number), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_name-error"' in html and "already called" in html
    assert 'id="id_auto_resolve_pending_days-error"' in html and "from 1 to 365" in html
    assert 'aria-invalid="true"' in html
    foreign_team = team(world.other_tenant, "Theirs")
    response = signed_in(world.owner).post(
        page_url(other.phone_number), form_data(other, teams=[foreign_team.pk])
    )
    assert response.status_code == 400
    with tenant_scope(world.tenant):
        assert not ChannelTeam.objects.exists()


def test_htmx_saves_in_place_and_refreshes_the_roles(world: World, phone: PhoneNumber) -> None:
    channel = ensure(phone)
    c = signed_in(world.owner)
    response = c.post(page_url(phone), form_data(channel, all_users=None), headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and "The channel settings are saved." in html
    assert 'id="channel-roles-table" hx-swap-oob="true"' in html
    assert "No access" in html  # the agent, with all users off and no team
    bad = c.post(page_url(phone), form_data(channel, name=""), headers=HX)
    assert bad.status_code == 400 and "Enter an internal name" in bad.content.decode()


def test_roles_table_gives_changes_and_removes_in_place(world: World, phone: PhoneNumber) -> None:
    ensure(phone)
    c = signed_in(world.owner)
    members_url = page_url(phone) + "members/"
    given = c.post(members_url, {"membership": world.agent.pk, "role": "viewer"}, headers=HX)
    assert given.status_code == 200
    html = given.content.decode()
    assert "is now Viewer on this channel" in html
    assert 'data-member="agent@acme.test" data-role="viewer"' in html
    refused_role = c.post(members_url, {"membership": world.agent.pk, "role": "boss"}, headers=HX)
    assert refused_role.status_code == 400
    assert "Choose one of the channel roles" in refused_role.content.decode()
    foreign = c.post(
        members_url, {"membership": world.other_owner.pk, "role": "viewer"}, headers=HX
    )
    assert foreign.status_code == 400
    assert "Choose a member of this workspace." in foreign.content.decode()
    removed = c.post(members_url + "remove/", {"membership": world.agent.pk}, headers=HX)
    assert removed.status_code == 200
    assert "has no role of their own on this channel now: Contributor" in removed.content.decode()
    with tenant_scope(world.tenant):
        assert not ChannelMember.objects.exists()
    # Without htmx: back to the page with the message.
    plain = c.post(members_url, {"membership": world.agent.pk, "role": "supervisor"})
    assert plain.status_code == 302 and plain["Location"] == page_url(phone)
    assert "is now Supervisor" in c.get(page_url(phone)).content.decode()
    assert signed_in(world.agent).post(members_url, {"membership": world.agent.pk}).status_code == (
        403
    )


def test_another_workspaces_number_is_not_found(world: World) -> None:
    foreign = PhoneNumberFactory(waba__tenant=world.other_tenant)
    url = f"/t/acme/settings/whatsapp/numbers/{foreign.pk}/channel/"
    c = signed_in(world.owner)
    assert c.get(url).status_code == 404
    assert c.post(
        url + "members/", {"membership": world.agent.pk, "role": "viewer"}
    ).status_code == (404)
    with tenant_scope(world.other_tenant):
        assert not ChannelSettings.objects.exists()
    # A new member of ours is on the page at once.
    newcomer = member(world.tenant, email="new@acme.test")
    phone = PhoneNumberFactory(waba__tenant=world.tenant)
    assert newcomer.user.email in c.get(page_url(phone)).content.decode()
