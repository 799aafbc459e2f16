"""Input the database cannot hold answers 400 or 404 at every URL, never 500 (issue #11).

The first test is generated from the URL conf, as the permission matrix is (and with its
helpers): every pattern, tenant or not, is filled with ids of real objects and tried as
nobody signed in and as Acme's owner (and as staff where only staff get in) with

- a NUL (``%00``) in each URL argument, or in the last segment of a URL without one;
- a NUL in the query string;
- a NUL in a form field and in a JSON body;
- a 30-digit number in every URL argument that is an id, and in the form fields that
  carry ids.

A NUL is refused with 400 by ``waba_portal.guards.UnstorableTextMiddleware`` before
any view runs (the API and JSON requests get ``error_body()``, pages the 400 page); an
id beyond 64 bits matches no URL (``<id:...>``) and answers 404. The tests after it
look at each part of a request the guard reads, and at the webhook POST it leaves alone.
Ids in forms and on SQLite are tested in ``tests/core/test_ids.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import get_resolver, resolve
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from tests.factories import UserFactory, World, make_world
from tests.fixtures_webhooks import WsgiClient, post_signed
from tests.test_permission_matrix import (
    _PARAMETER,
    NOT_IDS,
    TENANT_KWARG,
    URL_VALUES,
    Route,
    TenantObjects,
    _walk,
    describe,
    objects_of,
)
from waba_portal.graph.webhooks import sign_payload
from waba_portal.webhooks import samples
from waba_portal.webhooks.models import WebhookDelivery

HUGE_ID = "1" + "0" * 29  # 30 digits, as in the issue: far beyond a 64-bit integer


@dataclass
class Site:
    world: World
    acme: TenantObjects
    staff: User
    delivery: WebhookDelivery
    group: Group


@pytest.fixture
def site(db: None) -> Site:
    world = make_world()
    return Site(
        world=world,
        acme=objects_of(world.tenant, world.agent),  # as in the permission matrix
        staff=UserFactory(email="staff@portal.test", is_staff=True, is_superuser=True),
        delivery=WebhookDelivery.objects.create(
            received_at="2026-01-01T00:00:00Z", body=b"{}", body_sha256="0" * 64
        ),
        group=Group.objects.create(name="Operators"),
    )


# Values of URL arguments outside tenant URLs (those are the permission matrix's
# URL_VALUES). A URL with an argument in neither fails its case until one is added.
OTHER_VALUES: dict[str, Callable[[Site], object]] = {
    "delivery_id": lambda s: s.delivery.pk,
    "token": lambda s: "no-such-token",  # invitation links and password-reset links
    "uidb64": lambda s: urlsafe_base64_encode(force_bytes(s.world.owner.user.pk)),
    "content_type_id": lambda s: ContentType.objects.get_for_model(Group).pk,
    "object_id": lambda s: s.group.pk,  # the admin's, for any model: a missing one is fine
    "pk": lambda s: s.group.pk,
}
# URL arguments that are not ids (beside the matrix's NOT_IDS).
OTHER_NOT_IDS = {"token", "uidb64"}

# Regex patterns (Django's admin) cannot be filled; each has an example path here.
REGEX_EXAMPLES = {
    "admin:app_list": "/admin/auth/",
    "admin/(?P<url>.*)$": "/admin/no-such-page/",
}

# Answered as the WSGI intake answers them, which is before Django and its middleware:
# the guard leaves these POSTs alone (waba_portal.guards).
RAW_POSTS = {"webhooks:meta"}

# Django's admin, not our URL conf: it sends non-staff to its login and answers a
# missing object with a redirect to its index, so a huge id there need only not fail.
THIRD_PARTY_PREFIX = "admin/"
STAFF_PREFIXES = ("admin/", "staff/")

# A NUL in the query parameters that views read (and in a name nobody reads).
NUL_QUERY = urlencode({"action": "\x00", "status": "\x00", "page": "\x00", "q\x00": "1"})
# A NUL in the form fields that views read.
NUL_FORM = {"action": "\x00", "name": "x\x00", "email": "a\x00@b.test", "next": "/\x00"}
# Ids in form fields, as the views read them (team_detail, the staff replay).
HUGE_FORM = {
    "action": "remove",
    "membership": HUGE_ID,
    "delivery_id": HUGE_ID,
    "from_id": "1",
    "to_id": HUGE_ID,
}


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def id_kwargs(route: Route) -> list[str]:
    skip = {TENANT_KWARG, *NOT_IDS, *OTHER_NOT_IDS}
    return [k for k in route.kwargs if k not in skip] if route.fillable else []


def fill(route: Route, site: Site, replace: Callable[[str, str], str] | None = None) -> str:
    """The route's URL with real values; ``replace(kwarg, value)`` may change any of them."""
    if not route.fillable:
        if route.name not in REGEX_EXAMPLES:
            pytest.fail(f"{route.name}: add an example path for {route.route} to REGEX_EXAMPLES")
        return REGEX_EXAMPLES[route.name]

    def value(m: re.Match[str]) -> str:
        kwarg = m["parameter"]
        if kwarg == TENANT_KWARG:
            text = site.acme.tenant.slug
        elif kwarg in URL_VALUES:
            text = str(URL_VALUES[kwarg](site.acme))
        elif kwarg in OTHER_VALUES:
            text = str(OTHER_VALUES[kwarg](site))
        else:
            pytest.fail(f"{route.name}: register a value for {kwarg!r} in OTHER_VALUES")
        return replace(kwarg, text) if replace else text

    return "/" + _PARAMETER.sub(value, route.route)


def nul_paths(route: Route, site: Site) -> list[str]:
    """The URL with a NUL in each argument in turn, or in its last segment."""
    kwargs = route.kwargs if route.fillable else []
    if kwargs:
        return [fill(route, site, lambda k, v, n=n: v + "%00" if k == n else v) for n in kwargs]
    path = fill(route, site)
    stem, end = (path[:-1], "/") if len(path) > 1 and path.endswith("/") else (path, "")
    return [stem + "%00" + end]


IDENTITIES = ("nobody", "owner")

# Known holes, each failing its case until fixed (strict: a fix makes the case XPASS,
# which fails too, so the entry goes with the fix).
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def _case(route: Route, who: str) -> Any:
    gap = KNOWN_GAPS.get((who, route.name))
    marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
    return pytest.param((route, who), id=f"{who} {route.name}", marks=marks)


CASES = [_case(route, who) for route in all_routes() for who in IDENTITIES] + [
    _case(route, "staff") for route in all_routes() if route.route.startswith(STAFF_PREFIXES)
]


def client_for(site: Site, who: str) -> Client:
    client = Client(raise_request_exception=False)  # a 500 is a finding, not an error
    if who == "owner":
        client.force_login(site.world.owner.user)
    elif who == "staff":
        client.force_login(site.staff)
    return client


def refused(response: Any, *, json_answer: bool) -> str | None:
    """Why ``response`` is not the guard's 400 (None when it is)."""
    if response.status_code != 400:
        return describe(response)
    if json_answer:
        is_json = response.get("Content-Type", "").startswith("application/json")
        code = response.json()["error"]["code"] if is_json else None
        ok = code == "unstorable_text"
        return None if ok else f"400 without error_body(): {describe(response)}"
    names = [t.name for t in response.templates]
    return None if "400.html" in names else f"400 without the 400 page: {describe(response)}"


@pytest.mark.parametrize("case", CASES)
def test_no_url_fails_on_input_the_database_cannot_hold(
    site: Site, case: tuple[Route, str]
) -> None:
    route, who = case
    path = fill(route, site)
    match = resolve(path)
    assert route.name in (match.route, match.view_name), f"{path} is not {route.name}: {match}"
    failures: list[str] = []

    def expect(label: str, why: str | None) -> None:
        if why is not None:
            failures.append(f"{label}: {why}")

    for nul_path in nul_paths(route, site):
        response = client_for(site, who).get(nul_path)
        expect(f"GET {nul_path}", refused(response, json_answer=route.is_api))

    client = client_for(site, who)
    expect("GET ?NUL", refused(client.get(f"{path}?{NUL_QUERY}"), json_answer=route.is_api))
    form = urlencode(NUL_FORM)
    json_body = json.dumps({"name": "\x00", "items": [{"code": "a\x00"}]})
    posts = [
        ("POST ?NUL", f"{path}?{NUL_QUERY}", "", "application/x-www-form-urlencoded"),
        ("POST form NUL", path, form, "application/x-www-form-urlencoded"),
        ("POST JSON NUL", path, json_body, "application/json"),
    ]
    for label, url, body, content_type in posts:
        response = client_for(site, who).post(url, body, content_type=content_type)
        if route.name in RAW_POSTS:
            # Unsigned: the intake refuses it for its signature, as it always does.
            expect(label, None if response.status_code == 401 else describe(response))
        else:
            json_answer = route.is_api or content_type == "application/json"
            expect(label, refused(response, json_answer=json_answer))

    if id_kwargs(route):
        huge = fill(route, site, lambda k, v: HUGE_ID if k in id_kwargs(route) else v)
        third_party = route.route.startswith(THIRD_PARTY_PREFIX)
        for method in route.methods:
            response = client_for(site, who).generic(method, huge)
            ok = response.status_code < 500 if third_party else response.status_code == 404
            expect(f"{method} {huge}", None if ok else describe(response))

    response = client_for(site, who).post(
        path, urlencode(HUGE_FORM), content_type="application/x-www-form-urlencoded"
    )
    expect("POST huge ids", describe(response) if response.status_code >= 500 else None)

    assert not failures, "\n".join(failures)


def test_every_url_conf_is_walked() -> None:
    names = {route.name for route in all_routes()}
    assert {"accounts:home", "accounts:dashboard", "webhooks:meta", "api-waba-list"} <= names
    stale = sorted(name for _who, name in KNOWN_GAPS if name not in names)
    assert not stale, f"KNOWN_GAPS names URLs that do not exist: {stale}"


# --- What the issue reported ------------------------------------------------------------


def test_an_invitation_link_with_a_nul_answers_400_to_anyone(db: None) -> None:
    response = Client().get("/invitations/%00/")
    assert response.status_code == 400, describe(response)
    assert "400.html" in [t.name for t in response.templates]


def test_the_audit_log_filtered_by_a_nul_answers_400(world: World) -> None:
    client = Client()
    client.force_login(world.owner.user)
    response = client.get("/t/acme/settings/audit/?action=%00")
    assert response.status_code == 400, describe(response)


# --- Each part of a request -------------------------------------------------------------


@pytest.mark.parametrize(
    "cookie",
    ["abcdefgh\x00ijklmnop", '"abcdefgh\\000ijklmnop"'],  # raw, and as the quoted escape
    ids=["raw", "escaped"],
)
def test_a_session_cookie_with_a_nul_is_refused_before_it_is_looked_up(
    db: None, cookie: str
) -> None:
    response = Client().get("/", headers={"Cookie": f"sessionid={cookie}"})
    assert response.status_code == 400, describe(response)


def test_a_header_with_a_nul_is_refused(world: World) -> None:
    client = Client()
    client.force_login(world.owner.user)
    response = client.get("/api/v1/t/acme/wabas/", headers={"X-Request-Id": "a\x00b"})
    assert response.status_code == 400, describe(response)
    assert response.json()["error"] == {
        "code": "unstorable_text",
        "message": "The request contains a character that cannot be stored, such as a null "
        "character. Remove it and try again.",
        "details": {"in": "header"},
    }


def test_multipart_fields_are_read_and_files_are_not(world: World) -> None:
    client = Client()
    client.force_login(world.owner.user)
    field = client.post("/t/acme/settings/teams/", {"name": "Sup\x00port"})  # multipart
    assert field.status_code == 400, describe(field)
    file_field = client.post("/account/", {"logo\x00": SimpleUploadedFile("logo.png", b"x")})
    assert file_field.status_code == 400, describe(file_field)
    content = client.post("/account/", {"logo": SimpleUploadedFile("logo.png", b"\x89PNG\x00\x00")})
    assert "400.html" not in [t.name for t in content.templates], "a file's bytes are not text"


def test_forms_of_other_methods_are_read_too(world: World) -> None:
    client = Client()
    client.force_login(world.owner.user)
    url = "/api/v1/t/acme/wabas/"
    put = client.put(url, urlencode({"name": "\x00"}), "application/x-www-form-urlencoded")
    assert put.status_code == 400, describe(put)
    patch = client.patch(url, encode_multipart(BOUNDARY, {"name": "\x00"}), MULTIPART_CONTENT)
    assert patch.status_code == 400, describe(patch)
    assert patch.json()["error"]["details"] == {"in": "form"}


@pytest.mark.parametrize(
    "body",
    [
        '{"code": "\\u0000"}',
        '{"a\\u0000": 1}',
        '{"deep": [[{"x": ["\\u0000"]}]]}',
        '{"code": "\\ud800"}',  # half of a surrogate pair: no character at all
    ],
)
def test_json_bodies_are_read_whatever_their_declared_type(world: World, body: str) -> None:
    client = Client()
    client.force_login(world.owner.user)
    for content_type in ("application/json", "text/plain"):
        response = client.post(
            "/t/acme/settings/whatsapp/connect/", body, content_type=content_type
        )
        assert response.status_code == 400, describe(response)
        assert response.json()["error"]["code"] == "unstorable_text", describe(response)


def test_text_that_only_looks_like_a_nul_passes(world: World) -> None:
    client = Client()
    client.force_login(world.owner.user)
    literal = client.post(
        "/t/acme/settings/whatsapp/connect/",
        json.dumps({"code": "\\u0000 and %00"}),  # a backslash, a "u", four digits
        content_type="application/json",
    )
    assert literal.json()["error"]["code"] != "unstorable_text", describe(literal)
    search = client.get("/t/acme/settings/audit/", {"action": "%00"})  # sent as %2500
    assert search.status_code == 200, describe(search)


def test_the_400_page_is_in_the_requests_language_and_the_portals_layout(db: None) -> None:
    response = Client().get("/?q=%00", headers={"Accept-Language": "de"})
    assert response.status_code == 400
    assert [t.name for t in response.templates][:2] == ["400.html", "base.html"]
    assert '<html lang="de">' in response.content.decode()
    assert 'id="bad-request"' in response.content.decode()


# --- The webhook POST, left to the intake -----------------------------------------------

ESCAPED_NUL = samples.envelope(
    (
        "111000000000001",
        [samples.change("messages", samples.inbound_text(phone_number_id="2", text="a\x00b"))],
    )
)


@pytest.mark.parametrize("entrance", ["view", "wsgi"])
def test_a_webhook_with_an_escaped_nul_is_stored_as_it_came(db: None, entrance: str) -> None:
    body = samples.dumps(ESCAPED_NUL)
    assert b"\\u0000" in body and b"\x00" not in body
    endpoint = Client() if entrance == "view" else WsgiClient()
    response = post_signed(endpoint, body)
    assert response.status_code == 200, response.content
    assert bytes(WebhookDelivery.objects.get(pk=response.json()["id"]).body) == body


def test_the_webhook_post_is_answered_as_the_intake_answers_it(db: None) -> None:
    body = samples.dumps(ESCAPED_NUL | {"n": 2})
    # The intake reads neither the query string nor other headers: nor does the guard.
    through_django = Client().post(
        "/webhooks/meta/?x=%00",
        body,
        content_type="application/json",
        headers={
            "X-Hub-Signature-256": sign_payload(body, settings.META_APP_SECRET),
            "X-Extra": "a\x00b",
        },
    )
    assert through_django.status_code == 200, describe(through_django)
    raw_nul = samples.dumps(ESCAPED_NUL).replace(b"\\u0000", b"\x00")
    for endpoint in (Client(), WsgiClient()):
        response = post_signed(endpoint, raw_nul)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "malformed_json"  # the intake's answer


def test_the_webhook_verification_get_is_guarded(db: None) -> None:
    response = Client().get("/webhooks/meta/", {"hub.mode": "subscribe", "hub.challenge": "\x00"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "url", ["/t/acme/settings/whatsapp/connect/", "/api/v1/t/acme/onboardings/"]
)
def test_json_nested_too_deeply_is_a_clear_400_not_a_crash(world: World, url: str) -> None:
    client = Client()
    client.force_login(world.owner.user)
    response = client.post(url, "[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert response.status_code == 400, describe(response)
    assert response.json()["error"]["code"] == "json_too_deep"
