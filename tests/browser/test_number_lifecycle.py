"""An admin adds a number in the browser, receives its code on the mock's handset page,
verifies and registers it, sees its PIN once and makes it the primary sender.

Real parts: the portal on a live server, the mock Meta server over HTTP and headless
Chromium; every step of the number page updates in place (htmx). Screenshots of each
state, 1280 and 390 px wide, go to $SHOTS_DIR (default /tmp/shots/h2).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from accounts.tenancy import tenant_scope
from senders.models import ConnectionStatus, PhoneNumber
from tests.browser.test_accessibility import axe_violations, describe
from tests.factories import PASSWORD, World
from tests.fixtures_senders import Connected

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots/h2"))
NEW_NUMBER = "+49 1512 3456789"


def log_in(page: Any, live_server: Any, email: str) -> None:
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/t/acme/$"))


def shoot(page: Any, name: str, *, axe: bool = True) -> None:
    """Both widths; at 390 px nothing may stick out sideways, and axe finds nothing."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: {overflow}px wider than a {width} px screen"
        if axe:
            found = [describe(name, width, v) for v in axe_violations(page)]
            assert found == [], found
    page.set_viewport_size({"width": 1280, "height": 900})


def code_from_handset(page: Any, mock_meta: Any, digits: str) -> str:
    """Open the mock's handset page in a new tab, pick the number, read the valid code."""
    handset = page.context.new_page()
    handset.goto(mock_meta.base_url + "/_mock/handset/")
    label = handset.locator("#handset-phone option", has_text=digits[-4:]).first.inner_text()
    handset.select_option("#handset-phone", label=label)
    handset.click("#handset-show")
    message = handset.locator("li.message[data-valid=true]").first
    text = message.locator("p.text").inner_text()
    code = message.locator("code.code").inner_text()
    assert code.replace(" ", "") in text.replace("-", "").replace(" ", "")
    shoot(handset, "mock-handset", axe=False)  # the mock's own page, not the portal's
    handset.close()
    return code


def test_add_verify_register_and_make_primary(
    live_server, page, mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server, world.admin.user.email)
    page.goto(live_server.url + f"/t/acme/settings/whatsapp/accounts/{connected_waba.waba.pk}/")
    page.click("#add-number")
    page.select_option("#id_country", "DE")
    page.fill("#id_number", NEW_NUMBER)
    page.fill("#id_display_name", "Acme Support")
    page.click("#add-number-submit")
    page.wait_for_url(re.compile(r"/settings/whatsapp/numbers/\d+/$"))
    assert page.locator("[data-step=verification]").get_attribute("data-step-state") == "todo"
    shoot(page, "number-pending")

    # Ask for the code by SMS, in German: the block updates without a reload.
    page.evaluate("window.__same_page = true")
    page.check("#method-sms")
    page.select_option("#code-language", "de_DE")
    page.click("#request-code")
    page.locator("[data-done=ok]").wait_for()
    assert "Meta sent the code" in page.locator("[data-done=ok]").inner_text()
    shoot(page, "number-code-sent")

    code = code_from_handset(page, mock_meta, "3456789")
    page.fill("#verification-code", f"{(int(code) + 1) % 10**6:06d}")
    page.click("#verify-code")
    page.locator("[data-problem=verification_code_wrong]").wait_for()
    assert "2 wrong codes left" in page.locator("#number-error").inner_text()
    assert page.locator("#verification-code").get_attribute("aria-invalid") == "true"
    # Focus on the answer (moved there once the swap has settled: waited for, not raced).
    page.wait_for_function("document.activeElement?.id === 'number-error'", timeout=5000)
    shoot(page, "number-wrong-code")

    page.fill("#verification-code", code)
    page.click("#verify-code")
    page.locator("#register-number").wait_for()
    page.click("#register-number")
    page.locator("#two-step").wait_for()
    assert "registered and can send messages" in page.locator("[data-done=ok]").inner_text()
    # The rest of the page follows in place: the state, the heading, the history.
    assert page.locator("#number-state [data-status]").get_attribute("data-status") == "connected"
    assert page.locator("#number-heading-status").get_attribute("data-status") == "connected"
    assert "Registered" in page.locator("#number-history").inner_text()
    shoot(page, "number-registered")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#reveal-pin")
    pin = page.locator("[data-pin]").inner_text()
    assert re.fullmatch(r"[0-9]{6}", pin)
    assert page.evaluate("window.__same_page") is True  # no reload on the way
    shoot(page, "number-pin-shown")
    with tenant_scope(world.tenant):
        phone = PhoneNumber.objects.get(display_phone_number__contains="3456789")
        assert str(phone.pin) == pin and phone.connection_status == ConnectionStatus.CONNECTED

    page.reload()
    assert page.locator("[data-pin]").count() == 0 and page.locator("#reveal-pin").count() == 0
    page.click("#make-primary")
    page.wait_for_url(re.compile(r"/settings/whatsapp/accounts/\d+/$"))
    row = page.locator(f"#numbers tr[data-phone='{phone.phone_number_id}']")
    assert "Primary" in row.inner_text()
    with tenant_scope(world.tenant):
        assert PhoneNumber.objects.get(pk=phone.pk).is_primary

    # Removing the old primary: its dialog offers the new one as the replacement.
    page.goto(live_server.url + f"/t/acme/settings/whatsapp/numbers/{connected_waba.phone.pk}/")
    page.click("#open-remove")
    page.locator("#remove-dialog.show").wait_for()
    assert page.locator("#new-primary").count() == 0  # it is not the primary any more
    shoot(page, "number-remove-dialog")
    page.click("#confirm-remove")
    page.wait_for_url(re.compile(r"/settings/whatsapp/accounts/\d+/$"))
    assert "was removed and deregistered" in page.locator("main").inner_text()


def test_the_primary_number_asks_for_its_replacement_in_the_remove_dialog(
    live_server, page, mock_meta, world: World, connect_waba
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    log_in(page, live_server, world.owner.user.email)
    page.goto(live_server.url + f"/t/acme/settings/whatsapp/numbers/{c.phones[0].pk}/")
    page.click("#open-remove")
    page.locator("#remove-dialog.show").wait_for()
    shoot(page, "number-remove-primary")
    page.select_option("#new-primary", str(c.phones[1].pk))
    page.click("#confirm-remove")
    page.wait_for_url(re.compile(r"/settings/whatsapp/accounts/\d+/$"))
    assert "is the primary sender now" in page.locator("main").inner_text()
    with tenant_scope(world.tenant):
        assert PhoneNumber.objects.get(pk=c.phones[1].pk).is_primary
