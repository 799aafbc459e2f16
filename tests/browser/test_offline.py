"""Chromium is offline like the rest of the suite (tests/fixtures_browser.py)."""

from __future__ import annotations

import socket

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    "url",
    [
        "https://connect.facebook.net/en_US/sdk.js",  # Meta's SDK, were the dialog URL empty
        # A name that resolves without a network (this machine's, from /etc/hosts): only
        # the browser's own rule can refuse it, so the test fails without that rule.
        f"http://{socket.gethostname()}:8/",
    ],
)
def test_no_name_but_localhost_resolves_in_the_browser(page, url: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import Error

    with pytest.raises(Error, match="ERR_NAME_NOT_RESOLVED"):
        page.goto(url, timeout=10_000)
