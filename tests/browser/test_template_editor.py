"""An owner builds a template in the editor — an image header uploaded to Meta, named
variables, a web address button and a quick reply — watches the preview follow the typing,
submits it, and sees Meta approve it (the mock's review, its webhook, our pipeline).

Real parts: the portal on a live server, the mock Meta server over HTTP (resumable upload,
review, signed webhook), the tasks at commit, and headless Chromium. Screenshots of the
editor at 1280 and 390 px in English, German and Russian go to /tmp/shots/t2/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from accounts.tenancy import tenant_scope
from templates_app.models import Template
from tests.browser.test_accessibility import axe_violations, describe, sign_in
from tests.factories import World
from tests.fixtures_senders import Connected

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/t2")


def sample_jpeg(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "spring.jpg"
    Image.new("RGB", (640, 360), (46, 139, 87)).save(path, format="JPEG")
    return path


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_sideways_scroll(page: Any) -> int:
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def test_build_preview_submit_and_see_it_approved(
    live_server: Any,
    page: Any,
    mock_meta: Any,
    world: World,
    connected_waba: Connected,
    tmp_path: Path,
) -> None:
    mock_meta.set_webhook_url(live_server.url + "/webhooks/meta/")
    mock_meta.config(review_delay=1.0)  # the default rules approve this template
    sign_in(page, live_server, world.owner.user)
    page.goto(live_server.url + "/t/acme/templates/create/")
    assert page.locator("#editor-title").inner_text() == "New message template"

    page.fill("#id_name", "spring_offer")
    page.select_option("#id_language", "en_US")
    page.check("#category-MARKETING")
    page.check("#format-NAMED")

    # An image header: the sample goes to Meta through the resumable upload.
    page.check("#header-format-IMAGE")
    assert page.locator("#id_header_sample_file").is_visible()
    assert not page.locator("#id_header_text").is_visible()
    page.set_input_files("#id_header_sample_file", str(sample_jpeg(tmp_path)))
    page.click("#upload-sample")
    page.locator("#sample-done").wait_for()
    assert "spring.jpg" in page.locator("#sample-done").inner_text()
    page.locator("#preview-header img").wait_for()

    # Named variables: their example fields appear as they are typed.
    page.fill(
        "#id_body_text",
        "Hi {{first_name}}, your order {{order_id}} ships today. *Enjoy* the spring collection!",
    )
    page.locator("#example-body-order_id").wait_for()
    assert page.locator("#preview-body mark.wa-var").count() == 2  # no examples yet
    page.fill("#example-body-first_name", "Ann")
    page.fill("#example-body-order_id", "A-1001")
    page.fill("#id_footer_text", "Reply STOP to opt out")

    # Two kinds of buttons: a web address with a variable ending, and a quick reply.
    page.select_option("#id_new_button_kind", "URL")
    page.click("#add-button")
    page.locator("#buttons-0-url").wait_for()
    page.fill("#buttons-0-text", "Track order")
    page.fill("#buttons-0-url", "https://shop.example.com/orders/{{1}}")
    page.fill("#buttons-0-example", "A-1001")
    page.select_option("#id_new_button_kind", "QUICK_REPLY")
    page.click("#add-button")
    page.locator("#buttons-1-text").wait_for()
    assert not page.locator("#buttons-1-url").is_visible()
    page.fill("#buttons-1-text", "Not interested")

    # The preview follows: the examples filled in, the buttons under the bubble.
    body = page.locator("#preview-body")
    page.wait_for_function(
        "() => document.querySelector('#preview-footer')"
        " && document.querySelector('#preview-body').innerText.includes('A-1001')"
    )
    assert "Hi Ann, your order A-1001 ships today." in body.inner_text()
    assert body.locator("strong").inner_text() == "Enjoy"
    page.wait_for_function(
        "() => (document.querySelector('#preview-buttons') || {innerText: ''})"
        ".innerText.includes('Not interested')"
    )
    buttons = page.locator("#preview-buttons .wa-button")
    assert "Track order" in buttons.nth(0).inner_text()
    assert "https://shop.example.com/orders/A-1001" in buttons.nth(0).inner_text()
    assert "Not interested" in buttons.nth(1).inner_text()
    assert page.locator("#preview-footer").inner_text() == "Reply STOP to opt out"
    page.locator("#preview-ready").wait_for()

    problems = [describe("editor", 1280, v) for v in axe_violations(page)]
    assert problems == []
    shoot(page, "editor-en-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    assert no_sideways_scroll(page) <= 0
    assert [describe("editor", 390, v) for v in axe_violations(page)] == []
    shoot(page, "editor-en-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click("#submit-template")
    page.wait_for_url(re.compile(r"/t/acme/templates/\d+/$"))
    with tenant_scope(world.tenant):
        template = Template.objects.get(name="spring_offer")
    assert template.parameter_format == "NAMED"
    assert template.components[0]["format"] == "IMAGE"
    assert template.components[0]["example"]["header_handle"][0]
    assert [b["type"] for b in template.components[-1]["buttons"]] == ["URL", "QUICK_REPLY"]
    at_meta = [t for t in mock_meta.state()["templates"] if t["name"] == "spring_offer"]
    assert at_meta and at_meta[0]["parameter_format"] == "NAMED"

    # Meta's review approves it; its webhook goes through our pipeline to the page.
    deadline = time.monotonic() + 30
    while True:
        status = page.locator("#template-status").get_attribute("data-status")
        if status == "APPROVED":
            break
        assert time.monotonic() < deadline, f"still {status}: {mock_meta.webhooks()}"
        time.sleep(0.5)
        page.reload()
    assert page.locator("#template-status").inner_text() == "Approved"
    shoot(page, "approved-en-1280")


def test_the_editor_in_german_and_russian_at_both_widths(
    live_server: Any, browser: Any, world: World, connected_waba: Connected
) -> None:
    """The editor with an error shown and a filled preview, in each language, on a phone."""
    with tenant_scope(world.tenant):
        Template.objects.create(
            tenant=world.tenant,
            waba=connected_waba.waba,
            name="order_ready",
            language="en_US",
            category="UTILITY",
            status="APPROVED",
            meta_template_id="920000000000001",
            components=[
                {"type": "HEADER", "format": "LOCATION"},
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, your order {{2}} is ready for pick-up at our shop.",
                    "example": {"body_text": [["Ann", "A-1001"]]},
                },
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+14155550123"}
                    ],
                },
            ],
        )
        pk = Template.objects.get().pk
    for locale, language in (("en-US", "en"), ("de-DE", "de"), ("ru-RU", "ru")):
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, live_server, world.owner.user)
        page.goto(f"{live_server.url}/t/acme/templates/{pk}/edit/")
        page.locator("#wa-preview").wait_for()
        assert page.locator("html").get_attribute("lang") == language
        assert "Hi Ann, your order A-1001" in page.locator("#preview-body").inner_text()
        shoot(page, f"edit-{language}-1280")
        # a refusal at its field
        page.fill("#id_body_text", "{{1}} {{2}}")
        page.click("#submit-template")
        page.locator("#body_text-errors").wait_for()
        assert page.locator("#id_body_text").get_attribute("aria-invalid") == "true"
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            assert no_sideways_scroll(page) <= 0, (language, width)
            assert [describe(language, width, v) for v in axe_violations(page)] == []
            shoot(page, f"edit-error-{language}-{width}")
        page.goto(f"{live_server.url}/t/acme/templates/create/")
        page.check("#category-AUTHENTICATION")
        page.check("#otp-ZERO_TAP")
        assert page.locator("#id_auth_package").is_visible()
        assert not page.locator("#id_body_text").is_visible()
        page.wait_for_function(
            "() => document.querySelector('#preview-body').innerText.includes('123456')"
        )
        shoot(page, f"create-auth-{language}-390")
        context.close()
