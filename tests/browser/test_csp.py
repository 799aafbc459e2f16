"""The main pages work under the Content-Security-Policy, in Chromium.

An owner goes through the dashboard, members, teams, the WhatsApp settings with the
mock's Embedded Signup dialog, the connected account's page and an onboarding in
progress (htmx polling), using what the pages moved out of inline handlers: the confirm
questions and the language select. Any console error, uncaught exception or
``securitypolicyviolation`` event, in the portal's pages or the dialog, fails the test.
The test first proves that the watch sees what the policy refuses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from accounts.tenancy import tenant_scope
from senders.models import ConnectionStatus, OnboardingStatus, WhatsAppAccount
from tests.factories import PASSWORD, OnboardingFactory, World, team
from tests.fixtures_browser import complete_mock_embedded_signup

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs in every document before its own scripts; the binding outlives navigations.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation({
    page: document.location.pathname,
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    sample: event.sample,
  });
});
"""


@dataclass
class Watch:
    violations: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Resources whose failure to load is not ours (the mock's dialog asks the mock for
    # a favicon, which the mock answers like Graph: 400).
    not_ours: set[str] = field(default_factory=set)

    def assert_clean(self, where: str) -> None:
        assert not self.violations, f"{where}: CSP violations {self.violations}"
        assert not self.errors, f"{where}: console errors {self.errors}"


@pytest.fixture
def watch(page) -> Iterator[Watch]:  # type: ignore[no-untyped-def]
    seen = Watch()
    context = page.context
    context.expose_binding("__cspViolation", lambda source, report: seen.violations.append(report))
    context.add_init_script(REPORT_VIOLATIONS)

    def console(message: Any) -> None:
        url = message.location.get("url", "")
        if message.type == "error" and url not in seen.not_ours:
            seen.errors.append(f"{url}: {message.text}")

    context.on("console", console)
    context.on("weberror", lambda error: seen.errors.append(f"uncaught: {error.error}"))
    yield seen


def log_in(page, live_server, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/t/acme/$"))


def test_the_watch_sees_what_the_policy_refuses(live_server, page, watch: Watch) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/login/")
    ran = page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__inlineRan = true";
          document.head.appendChild(script);
          document.body.setAttribute("style", "background: red");
          return window.__inlineRan === true;
        }"""
    )
    assert ran is False
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
    # The reports arrive through the binding while Playwright waits.
    for _ in range(100):
        refused = {v["directive"] for v in watch.violations}
        if {"script-src-elem", "style-src-attr"} <= refused:
            break
        page.wait_for_timeout(50)
    assert {"script-src-elem", "style-src-attr"} <= refused, watch.violations
    assert watch.errors  # Chromium says so in the console too


def test_main_pages_and_the_connect_flow_work_under_the_policy(
    live_server, page, watch: Watch, mock_meta, settings, world: World
) -> None:  # type: ignore[no-untyped-def]
    # The onboarding runs eagerly, inside the connect request, against the mock.
    settings.GRAPH_API_BASE_URL = mock_meta.base_url
    settings.EMBEDDED_SIGNUP_URL = mock_meta.base_url + "/dialog/embedded-signup"
    watch.not_ours.add(mock_meta.base_url + "/favicon.ico")
    support = team(world.tenant, "Support", world.agent)
    with tenant_scope(world.tenant):
        in_progress = OnboardingFactory(tenant=world.tenant, status=OnboardingStatus.RUNNING)
    base = live_server.url + "/t/acme"
    dialogs: list[str] = []

    def answer(dialog: Any, accept: bool) -> None:
        dialogs.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    log_in(page, live_server, world.owner.user.email)
    # htmx was told not to inject its indicator styles; our stylesheet has them.
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    watch.assert_clean("log in and dashboard")

    # Members: removing asks first (portal.js); saying no keeps the member.
    page.goto(base + "/settings/members/")
    page.once("dialog", lambda d: answer(d, accept=False))
    page.click(f"tr[data-member='{world.agent.user.email}'] .btn-outline-danger")
    assert dialogs == [f"Remove {world.agent.user.email} from this workspace?"]
    assert page.locator(f"tr[data-member='{world.agent.user.email}']").count() == 1
    watch.assert_clean("members")

    page.goto(base + "/settings/teams/")
    page.click(f"text={support.name}")
    page.wait_for_url(re.compile(rf"/settings/teams/{support.pk}/$"))
    watch.assert_clean("teams")

    # WhatsApp settings: connect through the mock's Embedded Signup dialog.
    page.goto(base + "/settings/whatsapp/")
    complete_mock_embedded_signup(
        page, business="Policy GmbH", waba="Policy Support", phone="+4930123456780"
    )
    page.wait_for_url(re.compile(r"/settings/whatsapp/onboarding/\d+/$"), timeout=30_000)
    page.click("#open-waba")
    page.wait_for_url(re.compile(r"/settings/whatsapp/accounts/\d+/$"))
    assert page.locator("#waba-name").inner_text() == "Policy Support"
    watch.assert_clean("connect flow")

    # The account's page: disconnecting asks first; saying yes disconnects.
    page.once("dialog", lambda d: answer(d, accept=True))
    page.click("#disconnect")
    page.locator("#disconnected-note").wait_for()
    assert dialogs[-1].startswith("Disconnect this account?")
    with tenant_scope(world.tenant):
        waba = WhatsAppAccount.objects.get(name="Policy Support")
        assert waba.connection_status == ConnectionStatus.DISCONNECTED
    watch.assert_clean("account page")

    # An onboarding in progress polls with htmx and swaps its progress in.
    with page.expect_response(
        lambda r: (
            r.url.endswith(f"/onboarding/{in_progress.pk}/")
            and r.request.headers.get("hx-request") == "true"
        )
    ):
        page.goto(base + f"/settings/whatsapp/onboarding/{in_progress.pk}/")
    page.locator("#onboarding-progress[data-status=running]").wait_for()
    watch.assert_clean("onboarding in progress")

    # The language is changed with its button, not on the select's change (WCAG 3.2.2).
    page.goto(base + "/")
    page.select_option("#language-select", "de")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.click("#language-submit")
    page.wait_for_function("document.documentElement.lang === 'de'")
    watch.assert_clean("language switch")
