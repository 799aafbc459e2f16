"""A number's channel settings in the browser: rename, close to all users, give a role.

Everything is saved in place (htmx): the page is never reloaded, which the test checks
with a marker it leaves on ``window``. Screenshots at 1280 and 390 px go to
/tmp/shots/h5/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.tenancy import tenant_scope
from senders.models import ChannelMember, ChannelRole, ChannelSettings
from tests.browser.test_accessibility import axe_violations, sign_in
from tests.factories import PhoneNumberFactory, WhatsAppAccountFactory, World, team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/h5")


def overflow(page) -> int:  # type: ignore[no-untyped-def]
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def test_rename_close_to_all_users_and_give_a_viewer_role_in_place(
    live_server, page, world: World
) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    waba = WhatsAppAccountFactory(tenant=world.tenant, name="Acme Support")
    phone = PhoneNumberFactory(waba=waba, display_phone_number="+1 555-0100", is_primary=True)
    team(world.tenant, "Night shift")
    url = f"{live_server.url}/t/acme/settings/whatsapp/numbers/{phone.pk}/channel/"
    sign_in(page, live_server, world.owner.user)
    page.goto(url)
    assert page.input_value("#id_name") == "Acme Support"
    assert axe_violations(page) == []
    page.screenshot(path=str(SHOTS / "channel-desktop.png"), full_page=True)
    page.evaluate("window.__notReloaded = true")

    # A refused value is shown beside its field, in place.
    page.fill("#id_auto_resolve_new_days", "0")
    page.click("#channel-save")
    page.locator("#id_auto_resolve_new_days-error").wait_for()
    assert "from 1 to 365" in page.inner_text("#id_auto_resolve_new_days-error")
    assert page.evaluate("document.activeElement.id") == "id_auto_resolve_new_days"
    assert axe_violations(page) == []
    page.screenshot(path=str(SHOTS / "channel-error-desktop.png"), full_page=True)

    # Rename and switch "all users" off: saved in place, the roles table follows.
    page.fill("#id_auto_resolve_new_days", "14")
    page.fill("#id_name", "Front desk")
    page.uncheck("#id_all_users")
    page.click("#channel-save")
    page.locator("#channel-settings-status", has_text="The channel settings are saved.").wait_for()
    agent_row = page.locator('[data-member="agent@acme.test"]')
    assert agent_row.get_attribute("data-role") == ""
    assert "No access" in agent_row.inner_text()

    # Give the agent the Viewer role.
    page.select_option(f"#channel-role-{world.agent.pk}", "viewer")
    agent_row.locator("button", has_text="Give role").click()
    page.locator('[data-member="agent@acme.test"][data-role="viewer"]').wait_for()
    assert "is now Viewer on this channel" in page.inner_text("#channel-roles-status")
    assert (
        "Role given on this channel."
        in page.locator('[data-member="agent@acme.test"]').inner_text()
    )
    assert page.evaluate("window.__notReloaded === true")  # all of it without a reload
    assert axe_violations(page) == []
    page.screenshot(path=str(SHOTS / "channel-saved-desktop.png"), full_page=True)

    with tenant_scope(world.tenant):
        channel = ChannelSettings.objects.get(phone_number=phone)
        role = ChannelMember.objects.get(channel=channel, membership=world.agent).role
    assert (channel.name, channel.all_users, channel.auto_resolve_new_days) == (
        "Front desk",
        False,
        14,
    )
    assert role == ChannelRole.VIEWER

    # The same page at 390 px: nothing runs off the side.
    page.set_viewport_size({"width": 390, "height": 900})
    page.reload()
    assert overflow(page) <= 0
    assert axe_violations(page) == []
    page.screenshot(path=str(SHOTS / "channel-390.png"), full_page=True)


def test_an_agent_reads_the_settings_and_sees_their_role(live_server, page, world: World) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone = PhoneNumberFactory(waba__tenant=world.tenant, waba__name="Acme Sales")
    with tenant_scope(world.tenant):
        from senders.services import channels

        channel = channels.channel_ensure(phone=phone)
        channels.channel_member_set(
            actor=world.owner, channel=channel, membership=world.agent, role=ChannelRole.VIEWER
        )
    sign_in(page, live_server, world.agent.user)
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{live_server.url}/t/acme/settings/whatsapp/numbers/{phone.pk}/channel/")
    assert "Your role on this channel: Viewer." in page.inner_text("#channel-my-role")
    assert page.locator("#channel-settings-form").count() == 0
    assert page.inner_text("#channel-name") == "Acme Sales"
    assert page.locator(".channel-role-form").count() == 0
    assert overflow(page) <= 0
    assert axe_violations(page) == []
    page.screenshot(path=str(SHOTS / "channel-agent-390.png"), full_page=True)
