"""An admin adds a phone number from the account's page, in headless Chromium.

Real parts: the portal on a live server, the mock Meta server over HTTP. The screenshots
(desktop and 390 px wide) go to $SCREENSHOT_DIR when it is set, to be looked at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from accounts.tenancy import tenant_scope
from senders.models import PhoneNumber, PhoneNumberDetails, WhatsAppAccount
from tests.browser.test_accessibility import axe_violations
from tests.factories import PASSWORD, World
from tests.fixtures_browser import complete_mock_embedded_signup
from tests.fixtures_senders import ConnectWaba

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Any, live_server: Any, email: str) -> None:
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/t/acme/$"))


def shoot(page: Any, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def no_sideways_scroll(page: Any) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def test_add_a_number_from_the_account_page(
    live_server: Any, page: Any, mock_meta: Any, world: World, connect_waba: ConnectWaba
) -> None:
    connected = connect_waba(world.tenant, name="Acme Support")
    log_in(page, live_server, world.admin.user.email)
    page.goto(f"{live_server.url}/t/acme/settings/whatsapp/accounts/{connected.waba.pk}/")
    page.click("#add-number")
    page.wait_for_url(re.compile(r"/accounts/\d+/numbers/add/$"))
    assert "not be in use on WhatsApp" in page.locator("#number-prerequisites").inner_text()
    shoot(page, "number-add-desktop")

    # A short code: refused beside the field, Meta not asked.
    page.select_option("#id_country", "US")
    page.fill("#id_number", "33669")
    page.fill("#id_display_name", "Acme Berlin")
    page.click("#add-number-submit")
    page.wait_for_load_state()
    number = page.locator("#id_number")
    assert number.get_attribute("aria-invalid") == "true"
    assert "short code" in page.locator("#id_number-error").inner_text()
    assert page.evaluate("document.activeElement.id") == "id_number"  # focused to fix it
    shoot(page, "number-add-short-code-desktop")
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert no_sideways_scroll(page)
    assert page.locator("#add-number-submit").is_visible()
    shoot(page, "number-add-short-code-390")
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 900})
    assert not [
        r for r in mock_meta.requests() if r["method"] == "POST" and "phone_numbers" in r["path"]
    ]

    # A Berlin landline: added, and the number's own page opens.
    page.select_option("#id_country", "DE")
    page.fill("#id_number", "030 123456")
    page.click("#add-number-submit")
    page.wait_for_url(re.compile(r"/settings/whatsapp/numbers/\d+/$"))
    with tenant_scope(world.tenant):
        phone = PhoneNumber.objects.get(details__e164="+4930123456")
        assert PhoneNumberDetails.objects.get(phone_number=phone).number_type == "fixed_line"
    assert page.url.endswith(f"/settings/whatsapp/numbers/{phone.pk}/")
    assert "+49 30 123456" in page.locator("#number-heading").inner_text()
    assert "was added" in page.locator("main").inner_text()
    shoot(page, "number-added-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    assert no_sideways_scroll(page)
    shoot(page, "number-added-390")

    # Back on the account, in international format among its numbers.
    page.goto(f"{live_server.url}/t/acme/settings/whatsapp/accounts/{connected.waba.pk}/")
    assert "+49 30 123456" in page.locator("#numbers").inner_text()
    page.goto(
        f"{live_server.url}/t/acme/settings/whatsapp/accounts/{connected.waba.pk}/numbers/add/"
    )
    assert no_sideways_scroll(page)
    shoot(page, "number-add-390")


def test_choosing_another_account_in_meta_s_window_stops_with_the_fix(
    live_server: Any,
    page: Any,
    mock_meta: Any,
    settings: Any,
    world: World,
    connect_waba: ConnectWaba,
) -> None:
    settings.EMBEDDED_SIGNUP_URL = mock_meta.base_url + "/dialog/embedded-signup"
    connected = connect_waba(world.tenant, name="Acme Support")
    log_in(page, live_server, world.owner.user.email)
    page.goto(
        f"{live_server.url}/t/acme/settings/whatsapp/accounts/{connected.waba.pk}/numbers/add/"
    )
    complete_mock_embedded_signup(
        page, business="Someone Else GmbH", waba="Someone Else", phone="+4930123457"
    )
    page.wait_for_url(re.compile(r"/settings/whatsapp/onboarding/\d+/$"), timeout=20_000)
    problem = page.locator("[data-problem]")
    assert problem.get_attribute("data-problem") == "signup_other_waba"
    assert "already connected" in problem.inner_text()
    shoot(page, "number-add-other-waba-desktop")
    page.click("#add-number-again")
    page.wait_for_url(re.compile(r"/accounts/\d+/numbers/add/$"))
    with tenant_scope(world.tenant):
        assert list(WhatsAppAccount.objects.values_list("pk", flat=True)) == [connected.waba.pk]
