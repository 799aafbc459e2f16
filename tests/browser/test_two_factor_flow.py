"""A member turns on two-factor sign-in in the browser, logs out and logs in with a code.

The code is worked out here from the secret the page shows as text, as an authenticator
app would. A code is good once: the one that finished the set-up cannot log in again,
so logging in uses the next one (``tolerance`` lets the server take one step ahead).
"""

from __future__ import annotations

import math
import re
import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP

from accounts import selectors
from tests.factories import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code_at_step(key: bytes, step: int) -> str:
    totp = TOTP(key)
    totp.time = step * 30
    return f"{totp.token():06d}"


def test_set_up_two_factor_log_out_and_log_in_with_a_code(live_server, page, world: World) -> None:  # type: ignore[no-untyped-def]
    # Nothing refused by the Content-Security-Policy, no script error. (The wrong code's
    # answer is a 400, which Chromium reports as a failed load: that one is expected.)
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "status of 400" not in m.text else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "agent@acme.test")
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/t/acme/$"))

    page.goto(live_server.url + "/account/")
    page.click("#two-factor-link")
    page.wait_for_url(re.compile(r"/account/two-factor/$"))
    assert page.locator("#totp-qr svg").is_visible()
    secret = page.inner_text("#totp-secret").replace(" ", "")
    key = b32decode(secret + "=" * (-len(secret) % 8))

    page.fill("#id_code", "000000")
    page.click("#two-factor-setup-form button[type=submit]")
    assert "does not match" in page.inner_text(".invalid-feedback")
    set_up_step = math.floor(time.time() / 30)
    page.fill("#id_code", code_at_step(key, set_up_step))
    page.click("#two-factor-setup-form button[type=submit]")
    page.wait_for_url(re.compile(r"/account/two-factor/recovery-codes/$"))
    assert page.inner_text(".alert-success") == "Two-factor sign-in is on."
    assert page.locator("#recovery-codes li").count() == 10
    assert selectors.two_factor_enabled(user=world.agent.user)

    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login/$"))

    page.fill("#id_username", "agent@acme.test")
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/login/code/$"))
    # The step after the set-up's (or the current one, if time moved past it already).
    step = max(math.floor(time.time() / 30), set_up_step + 1)
    page.fill("#id_code", code_at_step(key, step))
    page.click("#code-form button[type=submit]")
    page.wait_for_url(re.compile(r"/t/acme/$"))
    assert page.locator("h1").inner_text() == "Acme"
    assert errors == []
