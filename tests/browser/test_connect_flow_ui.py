"""The connect page in the browser (#10): closing Meta's window lets the user try again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.tenancy import tenant_scope
from senders.models import Onboarding
from tests.factories import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/t/acme/$"))


def test_closing_the_meta_window_re_enables_connect(
    live_server, page, mock_meta, settings, world: World
) -> None:  # type: ignore[no-untyped-def]
    settings.EMBEDDED_SIGNUP_URL = mock_meta.base_url + "/dialog/embedded-signup"
    log_in(page, live_server, world.admin.user.email)
    page.goto(live_server.url + "/t/acme/settings/whatsapp/")
    button = page.locator("#connect-whatsapp")
    with page.expect_popup() as popup_info:
        button.click()
    dialog = popup_info.value
    dialog.wait_for_load_state()
    expect(button).to_be_disabled()
    expect(page.locator("#connect-status")).to_have_text("Complete the steps in the Meta window…")

    dialog.close()  # the window's own close button: it posts nothing
    expect(button).to_be_enabled(timeout=5_000)
    expect(page.locator("#connect-status")).to_have_text(
        "The Meta window was closed before the end. Nothing was connected."
    )
    assert re.search(r"/settings/whatsapp/$", page.url)
    with tenant_scope(world.tenant):
        assert not Onboarding.objects.exists()

    # And it can be opened again.
    with page.expect_popup() as again:
        button.click()
    again.value.wait_for_load_state()
    expect(button).to_be_disabled()


def test_sync_now_shows_the_result_without_a_reload(
    live_server, page, connect_waba, world: World
) -> None:  # type: ignore[no-untyped-def]
    """The task runs eagerly at commit, so the first poll finds it done: htmx reloads the
    page itself, and the message says what happened."""
    connected = connect_waba(world.tenant)
    log_in(page, live_server, world.owner.user.email)
    page.goto(f"{live_server.url}/t/acme/settings/whatsapp/accounts/{connected.waba.pk}/")
    reloads: list[str] = []
    page.on("load", lambda: reloads.append(page.url))
    page.click("#sync-now")
    expect(page.get_by_text("The account was read from Meta just now.")).to_be_visible(
        timeout=10_000
    )
    assert reloads, "the page was reloaded by htmx, not by the test"
