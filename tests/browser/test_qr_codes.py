"""In the browser: make a QR code and see it, copy its link, download its PNG; the
Display name tab with a change in review. Screenshots at 1280 and 390 px."""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from django.conf import settings as django_settings
from django.test import Client
from PIL import Image

from accounts.models import Membership
from tests.factories import World
from tests.fixtures_senders import Connected

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/h3")


def sign_in(page, live_server, member: Membership) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(member.user)
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.session.session_key,
                "url": live_server.url,
            }
        ]
    )


def overflow(page) -> int:  # type: ignore[no-untyped-def]
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(100)
        assert overflow(page) <= 0, f"{name} scrolls sideways at {width}px"
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_make_a_qr_code_see_it_copy_its_link_and_download_it(
    live_server, page, mock_meta, world: World, connected_waba: Connected, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    sign_in(page, live_server, world.owner)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}/t/acme/settings/whatsapp/numbers/{c.phone.pk}/qr-codes/")
    assert page.locator("#qr-empty").is_visible()

    page.fill("#id_prefilled_message", "Hello! I'd like to book a table.")
    page.click("#qr-create-submit")
    card = page.locator("article[data-qr]")
    card.wait_for()
    assert "is ready" in page.locator("#qr-notice").inner_text()
    assert page.url.endswith("/qr-codes/")  # answered in place, no reload

    image = card.locator("img[data-qr-image]")
    image.wait_for()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert image.bounding_box()["width"] >= 150  # type: ignore[index]
    link = card.locator("input[data-qr-link]").input_value()
    assert link.startswith("https://wa.me/message/")

    copy = card.locator("button[data-copy-target]")
    copy.click()
    page.wait_for_function("(b) => b.textContent === 'Copied'", arg=copy.element_handle())
    assert page.evaluate("navigator.clipboard.readText()") == link

    with page.expect_download() as download:
        card.get_by_text("Download PNG").click()
    saved = tmp_path / "qr.png"
    download.value.save_as(saved)
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(saved))] == [link]

    shoot(page, "qr-codes")

    # Edit the message in place, and see the error beside the field for a too-long one.
    card.locator("summary").click()
    field = card.locator("form[data-qr-edit] textarea")
    field.evaluate("(t) => t.removeAttribute('maxlength')")
    field.fill("x" * 141)
    card.locator("form[data-qr-edit] button[type=submit]").click()
    page.locator("form[data-qr-edit] .invalid-feedback").wait_for()
    assert "at most 140" in page.locator("form[data-qr-edit] .invalid-feedback").inner_text()
    page.locator("form[data-qr-edit] textarea").fill("Is there a table for two tonight?")
    page.locator("form[data-qr-edit] button[type=submit]").click()
    page.locator("#qr-notice", has_text="is saved").wait_for()
    assert "a table for two" in page.locator("[data-qr-message]").inner_text()


def test_the_display_name_tab_with_a_change_in_review(
    live_server, page, mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.config(name_review_delay=None)
    sign_in(page, live_server, world.owner)
    page.goto(f"{live_server.url}/t/acme/settings/whatsapp/numbers/{c.phone.pk}/name/")
    page.fill("#id_name", "Acme WhatsApp")
    page.click("#name-submit")
    error = page.locator("#name-section .invalid-feedback", has_text="Remove “WhatsApp”")
    error.wait_for()
    assert page.locator("#id_name").get_attribute("aria-invalid") == "true"
    page.fill("#id_name", "Acme Deliveries")
    page.click("#name-submit")
    page.locator("#name-change[data-state='in_review']").wait_for()
    assert "is in review at Meta" in page.locator("#name-change").inner_text()
    assert page.locator("#oba-form").is_visible()
    shoot(page, "display-name")
