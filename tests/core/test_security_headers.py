"""Every answer carries a strict Content-Security-Policy and a Permissions-Policy.

The pages are every named URL of the URL conf: the tenant pages filled with Acme's ids
as the permission matrix fills them (tests/test_permission_matrix.py), the others with
the values in PAGE_VALUES. Each is read with GET by nobody, by Acme's owner and by a
staff member (Acme's owner with the staff flag, for the staff pages). Every answer,
redirects and refusals included, must have:

- a CSP from our own origin only: no 'unsafe-*' source anywhere, frame-ancestors,
  base-uri and object-src 'none', and Meta's origins only on the pages that open
  Embedded Signup (connecting, adding a number);
- a Permissions-Policy that switches off the features no page uses;

and every HTML page must work under it: no inline script without the request's nonce,
no inline event handler, no style attribute or <style> element.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import timezone

from accounts.models import Membership
from tests.test_permission_matrix import (
    TENANT_KWARG,
    Route,
    Tenants,
    _walk,
    describe,
    signed_in,
    tenants,  # noqa: F401  (the fixture, used by name)
)
from waba_portal.security_headers import origin, permissions_policy
from waba_portal.webhooks.models import WebhookDelivery

CONNECT_PAGE = "senders:index"
# The pages that open Embedded Signup: connecting, and adding a number to an account.
SIGNUP_PAGES = {CONNECT_PAGE, "senders:number_add"}
META_ORIGINS = {
    "https://connect.facebook.net",
    "https://www.facebook.com",
    "https://web.facebook.com",
}
# The features every answer switches off, and how the header must say it.
FEATURES_OFF = (
    "camera",
    "microphone",
    "geolocation",
    "payment",
    "usb",
    "browsing-topics",
    "interest-cohort",
)


@dataclass
class Page:
    route: Route
    path: str


# Values for the URL arguments of pages outside a workspace (the webhook delivery's id
# is filled in by pages()). A named URL with an argument missing here fails the walk.
PAGE_VALUES: dict[str, str] = {
    "uidb64": "MQ",  # with the token: a link that is not valid, and its page says so
    "token": "not-a-valid-token",
    "app_label": "auth",
}
# The admin's pages of one object need a real row of each model (some answer 500 for
# a missing one); they answer through the same middleware as the admin's other pages.
ADMIN_OBJECT_ARGS = {"object_id", "content_type_id", "pk"}


def pages(t: Tenants, delivery: WebhookDelivery) -> Iterator[Page]:
    values = {**PAGE_VALUES, "delivery_id": str(delivery.pk)}
    for route in _walk(get_resolver().url_patterns):
        if TENANT_KWARG in route.kwargs:
            yield Page(route, route.url("acme", t.acme))
            continue
        if route.route.startswith("admin/") and ADMIN_OBJECT_ARGS & set(route.kwargs):
            continue
        unnamed = route.name == route.route  # the walk names such a URL by its route
        if unnamed and route.kwargs:
            continue  # the admin's redirect to an object and its catch-all: no link goes there
        missing = [k for k in route.kwargs if k not in values]
        if missing:
            pytest.fail(f"{route.name} ({route.route}): register a value for {missing}")
        try:
            path = reverse(route.name, kwargs={k: values[k] for k in route.kwargs})
        except NoReverseMatch:
            if not unnamed:
                raise
            path = "/" + route.route
        yield Page(route, path)


def parse_csp(header: str) -> dict[str, list[str]]:
    policy: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in policy, f"{name} twice in {header!r}"
        policy[name] = sources
    return policy


class InlineCode(HTMLParser):
    """What in a page the policy would refuse: inline scripts, handlers and styles."""

    def __init__(self, nonce: str) -> None:
        super().__init__()
        self.nonce = nonce
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name.startswith(("hx-on", "data-hx-on")):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
        has_nonce = bool(self.nonce) and attributes.get("nonce") == self.nonce
        if tag == "style" and not has_nonce:
            self.found.append("<style> without the nonce")
        if (
            tag == "script"
            and "src" not in attributes
            and attributes.get("type") != "application/json"  # data, never run
            and not has_nonce
        ):
            self.found.append("<script> without src or the nonce")


def problems_of(page: Page, response: Any) -> list[str]:
    problems: list[str] = []
    header = response.get("Content-Security-Policy")
    if not header:
        return ["no Content-Security-Policy"]
    policy = parse_csp(header)
    unsafe = [s for sources in policy.values() for s in sources if s.startswith("'unsafe-")]
    if unsafe:
        problems.append(f"unsafe sources {unsafe}")
    script_src = policy.get("script-src", [])
    if "'self'" not in script_src or "*" in script_src or "data:" in script_src:
        problems.append(f"script-src {script_src}")
    for directive, expected in {
        "default-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
    }.items():
        if policy.get(directive) != expected:
            problems.append(f"{directive} {policy.get(directive)}, not {expected}")
    meta = {s for sources in policy.values() for s in sources} & META_ORIGINS
    if meta and page.route.name not in SIGNUP_PAGES:
        problems.append(f"Meta's origins {sorted(meta)} outside the signup pages")

    permissions = response.get("Permissions-Policy", "")
    off = [f for f in FEATURES_OFF if f"{f}=()" not in permissions.split(", ")]
    if off:
        problems.append(f"Permissions-Policy {permissions!r} leaves on {off}")

    if response.get("Content-Type", "").startswith("text/html"):
        nonce = next((s[7:-1] for s in script_src if s.startswith("'nonce-")), "")
        parser = InlineCode(nonce)
        parser.feed(response.content.decode())
        problems += parser.found
    return problems


@pytest.fixture
def delivery(db: None) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        received_at=timezone.now(), body=b"{}", body_sha256="0" * 64, last_error="boom"
    )


def staff(membership: Membership) -> Client:
    membership.user.is_staff = True
    membership.user.save(update_fields=["is_staff"])
    return signed_in(membership)


@pytest.mark.parametrize("who", ["nobody", "owner", "staff"])
def test_every_answer_has_the_policies(
    tenants: Tenants,  # noqa: F811
    delivery: WebhookDelivery,
    who: str,
) -> None:
    client = {
        "nobody": Client,
        "owner": lambda: signed_in(tenants.world.owner),
        "staff": lambda: staff(tenants.world.owner),
    }[who]()
    walked = list(pages(tenants, delivery))
    failures: dict[str, list[str]] = {}
    html_pages = 0
    for page in walked:
        response = client.get(page.path)
        assert response.status_code < 500, f"{page.path}: {describe(response)}"
        html_pages += response.status_code == 200 and response["Content-Type"].startswith(
            "text/html"
        )
        problems = problems_of(page, response)
        if problems:
            failures[f"GET {page.path} ({page.route.name}, {response.status_code})"] = problems
    assert not failures, "\n".join(f"{where}: {p}" for where, p in failures.items())
    # The walk reached the pages themselves, not only the login page's redirects.
    assert html_pages >= {"nobody": 7, "owner": 18, "staff": 22}[who], html_pages


def connect_page_csp(client: Client) -> dict[str, list[str]]:
    response = client.get(reverse(CONNECT_PAGE, kwargs={"tenant_slug": "acme"}))
    assert response.status_code == 200, describe(response)
    return parse_csp(response["Content-Security-Policy"])


@override_settings(
    EMBEDDED_SIGNUP_URL="http://127.0.0.1:8123/dialog/embedded-signup",
    GRAPH_API_BASE_URL="http://127.0.0.1:8123",
)
def test_the_connect_page_allows_metas_sdk_and_the_configured_stand_in(world) -> None:  # type: ignore[no-untyped-def]
    policy = connect_page_csp(signed_in(world.admin))
    assert policy["script-src"][0] == "'self'"
    assert "https://connect.facebook.net" in policy["script-src"]
    # The mock plays Meta's dialog and Graph, not its SDK: no script from it.
    assert "http://127.0.0.1:8123" not in policy["script-src"]
    for directive in ("frame-src", "connect-src", "form-action"):
        assert {"https://www.facebook.com", "https://web.facebook.com"} <= set(policy[directive])
        assert "http://127.0.0.1:8123" in policy[directive], directive
    assert policy["connect-src"][0] == "'self'"
    assert policy["form-action"][0] == "'self'"
    assert policy["frame-ancestors"] == ["'none'"]


@override_settings(EMBEDDED_SIGNUP_URL="", GRAPH_API_BASE_URL="https://graph.facebook.com")
def test_in_production_the_connect_page_adds_metas_origins_only(world) -> None:  # type: ignore[no-untyped-def]
    policy = connect_page_csp(signed_in(world.owner))
    added = {s for sources in policy.values() for s in sources if s.startswith(("http:", "https:"))}
    assert added == META_ORIGINS


def test_an_agent_gets_no_metas_origins_on_the_connect_page(world) -> None:  # type: ignore[no-untyped-def]
    policy = connect_page_csp(signed_in(world.agent))
    assert not {s for sources in policy.values() for s in sources} & META_ORIGINS
    assert "frame-src" not in policy


def test_the_permissions_policy_header_format() -> None:
    assert (
        permissions_policy({"camera": [], "fullscreen": ["self", "https://a.example"]})
        == 'camera=(), fullscreen=(self "https://a.example")'
    )
    assert permissions_policy({"autoplay": ["*"]}) == "autoplay=*"


def test_a_static_file_carries_the_policies_too(client: Client) -> None:
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert parse_csp(response["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]
    assert "camera=()" in response["Permissions-Policy"]


def our_templates() -> list[Path]:
    root = Path(settings.BASE_DIR)
    skip = {".venv", "node_modules", "staticfiles", "var"}
    return sorted(
        p for p in root.rglob("templates/**/*.html") if not skip & set(p.relative_to(root).parts)
    )


def test_no_template_has_inline_code_the_policy_refuses() -> None:
    """Also the partials and states the walk above does not render."""
    templates = our_templates()
    assert len(templates) > 20, templates
    found = {}
    for path in templates:
        # A script or style with the request's nonce may stay inline.
        parser = InlineCode("{{ request.csp_nonce }}")
        parser.feed(path.read_text())
        if parser.found:
            found[str(path.relative_to(settings.BASE_DIR))] = parser.found
    assert not found, found


def test_an_origin_is_scheme_host_and_port_only() -> None:
    assert origin("http://u:secret@127.0.0.1:8123/dialog/x?y=1") == "http://127.0.0.1:8123"
    assert origin("https://graph.facebook.com") == "https://graph.facebook.com"
    assert origin("http://[::1]:9/") == "http://[::1]:9"
    assert origin("/relative/path") == ""
