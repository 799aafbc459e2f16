"""axe-core (WCAG 2.1 AA rules) over every page, as the owner, the agent and nobody.

The pages come from the URL conf, through the permission matrix's walk
(tests/test_permission_matrix.py): every tenant page with the ids of real objects, and
every page without URL arguments. A new page is checked as soon as it has a URL. Any
``serious`` or ``critical`` violation fails, with the page, the rule and the elements.

axe-core is the copy that axe-playwright-python ships (a dev dependency); it is run
with ``page.evaluate``, which the Content-Security-Policy does not apply to.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import get_resolver

from tests.factories import World
from tests.test_permission_matrix import Route, _walk, objects_of, tenant_routes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_SOURCE = files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
FAILING_IMPACTS = {"serious", "critical"}
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}

# Pages without URL arguments that are not portal pages (or only act on a POST).
NOT_PAGES = ("admin/", "api/", "healthz", "favicon.ico", "logout/", "language/", "webhooks")


def plain_pages() -> list[Route]:
    """Every page of the URL conf that takes no URL argument (login, profile, ...)."""
    return [
        r
        for r in _walk(get_resolver().url_patterns)
        if r.fillable and not r.kwargs and not r.route.startswith(NOT_PAGES)
    ]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    result = page.evaluate("(options) => axe.run(document, options)", AXE_OPTIONS)
    return [v for v in result["violations"] if v["impact"] in FAILING_IMPACTS]


def describe(path: str, width: int, violation: dict[str, Any]) -> str:
    targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:5]]
    summary = violation["nodes"][0].get("failureSummary", "").replace("\n", " ")
    return (
        f"{path} @{width}px: {violation['id']} ({violation['impact']}) {violation['help']}"
        f" -> {targets} {summary[:200]}"
    )


def sign_in(page: Any, live_server: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    session = client.session
    assert session[SESSION_KEY]
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": session.session_key,
                "url": live_server.url,
            }
        ]
    )


def check_pages(page: Any, live_server: Any, paths: list[str]) -> list[str]:
    found: list[str] = []
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            # A URL that only takes a POST (405, no body) is not a page.
            answer = page.request.get(live_server.url + path, max_redirects=0)
            html = answer.headers.get("content-type", "").startswith("text/html")
            # An htmx fragment (no <html>) is checked inside its page.
            if answer.status == 405 or not html or "<html" not in answer.text()[:400].lower():
                continue
            page.goto(live_server.url + path)
            found += [describe(path, width, v) for v in axe_violations(page)]
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                found.append(f"{path} @{width}px: the page scrolls sideways by {overflow}px")
    return found


SHOTS = Path("/tmp/shots-10e")


def test_form_errors_are_tied_to_their_fields_and_focused(live_server, page, world: World) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live_server, world.owner.user)
    page.goto(live_server.url + "/t/acme/settings/members/")
    page.fill("#invite-form input[name=email]", "not an address")
    page.click("#invite-form button[type=submit]")
    page.wait_for_load_state("load")
    field = page.locator("#invite-form input[name=email]")
    assert field.get_attribute("aria-invalid") == "true"
    described = (field.get_attribute("aria-describedby") or "").split()
    assert described
    error = page.locator(f"#{described[0]}")
    assert error.inner_text().strip()
    # After the submit, focus is on the first field with an error (portal.js).
    assert page.evaluate("document.activeElement.name") == "email"


def test_keyboard_users_skip_to_the_content_and_see_focus(live_server, page, world: World) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live_server, world.owner.user)
    page.goto(live_server.url + "/t/acme/")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    assert skip.is_visible()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert outline == "3px"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The inbox is a link of the navigation (inbox, I1: no longer a disabled placeholder).
    assert page.locator("#nav-inbox").get_attribute("href") == "/t/acme/inbox/"


def test_the_numbers_table_scrolls_by_keyboard(live_server, page, world: World) -> None:  # type: ignore[no-untyped-def]
    objects = objects_of(world.tenant, world.agent)
    sign_in(page, live_server, world.owner.user)
    SHOTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + f"/t/acme/settings/whatsapp/accounts/{objects.waba.pk}/")
        region = page.locator("#numbers").locator("xpath=..")
        assert region.get_attribute("tabindex") == "0"
        assert region.get_attribute("aria-labelledby") == "numbers-heading"
        page.screenshot(path=str(SHOTS / f"account-{width}.png"), full_page=True)
        page.goto(live_server.url + "/t/acme/settings/members/")
        page.screenshot(path=str(SHOTS / f"members-{width}.png"), full_page=True)


def test_axe_runs_under_the_policy_and_sees_a_violation(live_server, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/login/")
    page.evaluate(
        """() => {
          const image = document.createElement("img");
          image.src = "/static/missing.png";
          document.querySelector("main").appendChild(image);
        }"""
    )
    assert "image-alt" in {v["id"] for v in axe_violations(page)}


@pytest.mark.parametrize("role", ["owner", "agent"])
def test_every_page_passes_axe(live_server, page, world: World, role: str) -> None:  # type: ignore[no-untyped-def]
    membership = getattr(world, role)
    objects = objects_of(world.tenant, world.agent)
    paths = [r.url(world.tenant.slug, objects) for r in tenant_routes() if not r.is_api]
    paths += [r.url("", objects) for r in plain_pages()]
    sign_in(page, live_server, membership.user)
    found = check_pages(page, live_server, paths)
    assert not found, "\n".join(found)


def test_every_page_passes_axe_signed_out(live_server, page, world: World) -> None:  # type: ignore[no-untyped-def]
    objects = objects_of(world.tenant, world.agent)
    paths = [r.url("", objects) for r in plain_pages()] + ["/no-such-page/"]
    found = check_pages(page, live_server, paths)
    assert not found, "\n".join(found)
