"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # Offline like the rest of the suite: every host name but localhost fails to
    # resolve, so a page that pulls in a script from the internet breaks its test.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail("Chromium is not installed: apt-get install chromium (.ci/run does)")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made
    # by the test itself between page actions are still synchronous and safe.
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            instance = pw.chromium.launch(
                executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
            )
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()


def complete_mock_embedded_signup(page, *, business: str, waba: str, phone: str) -> None:  # type: ignore[no-untyped-def]
    """Click Connect WhatsApp on ``page`` and go through the mock's Embedded Signup dialog
    with a new business and WABA, as a person would (the code shown on screen)."""
    import re

    with page.expect_popup() as popup_info:
        page.click("#connect-whatsapp")
    dialog = popup_info.value
    dialog.wait_for_load_state()
    dialog.select_option("#business", "__new__")
    dialog.fill("#business-name", business)
    dialog.select_option("#waba", "__new__")
    dialog.fill("#waba-name", waba)
    dialog.click("#next")
    dialog.fill("#phone", phone)
    dialog.fill("#display-name", waba)
    dialog.click("#send-code")
    dialog.locator("#shown-code").wait_for(state="visible")
    code = re.search(r"\d{6}", dialog.locator("#shown-code").inner_text()).group(0)
    dialog.fill("#code", code)
    dialog.click("#verify")
    dialog.locator("#finish:not([disabled])").wait_for()
    dialog.click("#finish")
