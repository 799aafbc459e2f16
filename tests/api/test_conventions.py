"""What every endpoint under /api/v1/ keeps, walked over the URL conf (a new endpoint is
in these tests as soon as it is routed):

- every GET answers what the schema (/api/schema/) says, with no token, PIN, secret or
  key hash in it, every time with its offset, every phone in E.164;
- an API key with the read scope reads everything and writes nothing (403
  ``insufficient_scope``); one with read/write is never refused;
- another workspace's ids answer 404, with a key and with a session, and a key used on
  another workspace's path answers 404;
- every error, whatever its cause, is the one body ``{"error": {"code", "message",
  "details"}}``; nothing answers 5xx.

The generated schema has no warning either (``manage.py spectacular --validate
--fail-on-warn``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import resolve
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from standardwebhooks.webhooks import WebhookVerificationError

from accounts.models import API_RESOURCE_GROUPS
from accounts.tenancy import tenant_scope
from tests.api.support import key_client, session_client
from tests.factories import api_key_for, make_world
from tests.test_permission_matrix import (
    NOT_IDS,
    ROUTES,
    TENANT_KWARG,
    Route,
    TenantObjects,
    World,
    objects_of,
)
from waba_portal.api import ANY_GROUP, resource_group_of
from waba_portal.events import signing

API_ROUTES = [r for r in ROUTES if r.is_api]
WRITES = ("POST", "PUT", "PATCH", "DELETE")
_PARAMETER = re.compile(r"<(?:[^>:]+:)?([^>]+)>")

PIN = "482913"
ONBOARDING_TOKEN = "EAAonboarding0secret0token"
PREVIOUS_SECRET = "whsec_cHJldmlvdXMtc2VjcmV0LW9mLXRlc3Q="
READ_ALL = {group: "read" for group in API_RESOURCE_GROUPS}


def view_class(route: Route) -> Any:
    match = resolve("/" + _PARAMETER.sub("1", route.route).replace("t/1/", "t/acme/", 1))
    return getattr(match.func, "cls", None)


def has_handler(route: Route, method: str) -> bool:
    return hasattr(view_class(route), method.lower())


def openapi_path(route: Route) -> str:
    return "/" + _PARAMETER.sub(r"{\1}", route.route)


GET_ROUTES = [r for r in API_ROUTES if has_handler(r, "GET")]
# Answers that do not match the schema yet, each failing its case until fixed (strict:
# the fix makes the case XPASS, which fails too, so the entry goes with the fix).
KNOWN_GAPS: dict[str, str] = {}
GET_CASES = [
    pytest.param(
        r,
        id=r.name,
        marks=[pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[r.name])]
        if r.name in KNOWN_GAPS
        else [],
    )
    for r in GET_ROUTES
]
WRITE_CASES = [(r, m) for r in API_ROUTES for m in WRITES if m == "POST" or m in r.methods]
ID_CASES = [
    (r, m)
    for r in API_ROUTES
    for m in ("GET", *WRITES)
    if (m in r.methods or m == "GET") and set(r.kwargs) - {TENANT_KWARG, *NOT_IDS}
]


def case_id(case: Any) -> str:
    if isinstance(case, Route):
        return case.name
    route, method = case
    return f"{method} {route.name}"


# --- The two workspaces, with secrets to look for ------------------------------------------


@dataclass
class Workspaces:
    world: World
    acme: TenantObjects
    globex: TenantObjects
    key: str  # Acme's read/write key (every group)
    read_key: str  # Acme's read-only key (every group)
    globex_key: str
    secrets: list[str]


@pytest.fixture
def workspaces(db: None) -> Workspaces:
    world = make_world()
    acme = objects_of(world.tenant, world.agent)
    globex = objects_of(world.other_tenant, world.other_owner)
    key, secret = api_key_for(world.tenant, name="Integration")
    read, read_secret = api_key_for(world.tenant, scopes=READ_ALL, name="Reader")
    _globex, globex_secret = api_key_for(world.other_tenant)
    with tenant_scope(world.tenant):
        acme.phone.pin = PIN
        acme.phone.save(update_fields=["pin"])
        acme.onboarding.access_token = ONBOARDING_TOKEN
        acme.onboarding.save(update_fields=["access_token"])
        acme.subscription.previous_secret = PREVIOUS_SECRET
        acme.subscription.save(update_fields=["previous_secret"])
    secrets = [
        str(acme.waba.access_token),
        PIN,
        str(acme.onboarding.code),
        ONBOARDING_TOKEN,
        str(acme.subscription.secret),
        PREVIOUS_SECRET,
        secret,
        read_secret,
        key.key_hash,
        read.key_hash,
        acme.api_key.key_hash,
    ]
    assert all(len(s) >= 6 for s in secrets)
    return Workspaces(world, acme, globex, secret, read_secret, globex_secret, secrets)


def send(client: Client, method: str, path: str, body: str = "{}") -> Any:
    return client.generic(method, path, body, content_type="application/json")


def describe(response: Any) -> str:
    return f"{response.status_code} {response.content[:300]!r}"


def assert_error_body(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json"), describe(response)
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    return dict(error)


# --- The schema, as a validator of answers ---------------------------------------------


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def assert_matches_schema(schema: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The answer's JSON is what the schema says this path, method and status answer."""
    answers = schema["paths"][path][method.lower()]["responses"]
    code = str(response.status_code)
    assert code in answers, f"{method} {path} answered {code}, which the schema does not list"
    content = answers[code].get("content", {})
    if "application/json" not in content:
        return
    pointer = "/".join(
        p.replace("~", "~0").replace("/", "~1")
        for p in (
            "",
            "paths",
            path,
            method.lower(),
            "responses",
            code,
            "content",
            "application/json",
            "schema",
        )
    )
    registry: Registry[Any] = Registry().with_resource(
        "urn:api", Resource(contents=schema, specification=DRAFT202012)
    )
    validator = Draft202012Validator({"$ref": "urn:api#" + quote(pointer)}, registry=registry)
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}"[:300] for e in errors[:5]]


# --- Walking an answer ------------------------------------------------------------------

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
OFFSET = re.compile(r"(Z|[+-]\d{2}:\d{2})$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def leaves(value: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{where}[{index}]")
    else:
        yield where, value


def assert_conventions(data: Any, secrets: list[str]) -> None:
    raw = json.dumps(data)
    for secret in secrets:
        assert secret not in raw, f"a secret is in the answer: {secret[:4]}…"
    for where, value in leaves(data):
        if isinstance(value, str) and DATETIME.match(value):
            assert OFFSET.search(value), f"{where} = {value!r} has no offset"
        if where.endswith(".e164") and value:
            assert E164.match(value), f"{where} = {value!r} is not E.164"
        if where.rsplit(".", 1)[-1] in {"key_hash", "access_token", "pin", "code_hash"}:
            pytest.fail(f"{where} is in the answer")


# --- The tests ----------------------------------------------------------------------------


def test_the_schema_generates_without_a_warning(tmp_path: Any) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/v1/t/{tenant_slug}/wabas/{waba_pk}/reconnect/" in target.read_text()


def test_the_walks_cover_the_api() -> None:
    names = {r.name for r in GET_ROUTES}
    assert {"api-waba-list", "api-template-list", "api-tenant-detail"} <= names, names
    assert len(WRITE_CASES) > 40 and len(ID_CASES) > 60


@pytest.mark.parametrize("route", GET_CASES)
def test_every_get_answers_its_schema_and_keeps_the_conventions(
    workspaces: Workspaces, schema: dict[str, Any], route: Route
) -> None:
    path = route.url("acme", workspaces.acme)
    for client in (key_client(workspaces.key), session_client(workspaces.world.owner)):
        response = client.get(path)
        assert response.status_code in (200, 204), describe(response)
        if response.status_code == 200 and response["Content-Type"].startswith("application/json"):
            assert_matches_schema(schema, openapi_path(route), "GET", response)
            assert_conventions(response.json(), workspaces.secrets)
        else:
            assert not any(s.encode() in response.content for s in workspaces.secrets)


@pytest.mark.parametrize("case", WRITE_CASES, ids=case_id)
def test_a_read_key_reads_and_never_writes_and_a_write_key_may(
    workspaces: Workspaces, case: tuple[Route, str]
) -> None:
    route, method = case
    path = route.url("acme", workspaces.acme)
    view = view_class(route)
    reads_only = bool(getattr(view, "reads_only", False))
    reader = key_client(workspaces.read_key)
    refused = send(reader, method, path)
    if resource_group_of(view()) == ANY_GROUP:  # the workspace itself: no writes at all
        assert refused.status_code == 405, describe(refused)
    elif reads_only:
        assert refused.status_code not in (401, 403, 404), describe(refused)
    else:
        assert refused.status_code == 403, describe(refused)
        error = assert_error_body(refused)
        assert error["code"] == "insufficient_scope"
        assert error["details"]["needs"] == "write"
    if has_handler(route, "GET"):
        assert reader.get(path).status_code in (200, 204)
    # Read/write: never refused, never "not found", never a crash, even on a bad body.
    writer = key_client(workspaces.key)
    if method != "DELETE":  # a DELETE reads no body: it would delete, and the next 404
        broken = send(writer, method, path, "{not json")
        assert broken.status_code not in (401, 403, 404), describe(broken)
        assert broken.status_code < 500, describe(broken)
        if broken.status_code >= 400:
            assert_error_body(broken)
    response = send(writer, method, path)
    assert response.status_code not in (401, 403, 404), describe(response)
    assert response.status_code < 500, describe(response)
    if response.status_code >= 400:
        assert_error_body(response)
        assert_conventions(response.json(), workspaces.secrets)


@pytest.mark.parametrize("case", ID_CASES, ids=case_id)
def test_another_workspaces_ids_are_not_found_with_a_key_or_a_session(
    workspaces: Workspaces, case: tuple[Route, str]
) -> None:
    route, method = case
    theirs = route.url("acme", workspaces.globex)
    ours = route.url("acme", workspaces.acme)
    clients = {
        "key": key_client(workspaces.key),
        "session": session_client(workspaces.world.owner),
    }
    for how, client in clients.items():
        response = send(client, method, theirs)
        if response.status_code == 405:
            # Refused before any id is read, for our ids too: it tells nothing.
            assert send(client, method, ours).status_code == 405, (how, describe(response))
            continue
        assert response.status_code == 404, (how, describe(response))
        assert assert_error_body(response)["code"] == "not_found"
    # Globex's key on Acme's path: as if the workspace did not exist.
    other = send(key_client(workspaces.globex_key), method, ours)
    assert other.status_code == 404, describe(other)
    assert_error_body(other)


@pytest.mark.parametrize("route", API_ROUTES, ids=case_id)
def test_every_refusal_is_the_one_error_body(workspaces: Workspaces, route: Route) -> None:
    path = route.url("acme", workspaces.acme)
    for method in sorted({"GET", *[m for m in WRITES if m in route.methods or m == "POST"]}):
        nobody = send(Client(), method, path)
        assert nobody.status_code == 401, describe(nobody)
        assert assert_error_body(nobody)["code"] == "not_authenticated"
        assert nobody["WWW-Authenticate"].startswith("Bearer")
        bad_key = send(key_client("wbp_live_" + "x" * 40), method, path)
        assert bad_key.status_code == 401, describe(bad_key)
        assert assert_error_body(bad_key)["code"] == "invalid_api_key"
    if not has_handler(route, "GET"):
        not_allowed = key_client(workspaces.key).get(path)
        assert not_allowed.status_code == 405, describe(not_allowed)
        assert assert_error_body(not_allowed)["code"] == "method_not_allowed"


# --- The examples of docs/api.md, run ------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def doc_example(heading: str, language: str) -> str:
    section = DOCS.read_text().split(f"### {heading}\n", 1)[1]
    found = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert found, f"docs/api.md has no {language} example under {heading!r}"
    return found.group(1)


def signed_delivery() -> tuple[str, bytes, dict[str, str]]:
    secret = signing.secret_new()
    body = json.dumps(
        {"id": "evt_0123", "type": "webhook.test", "timestamp": "2026-03-01T09:30:00+00:00"}
    ).encode()
    headers = signing.signed_headers(
        [secret], msg_id="evt_0123", timestamp=int(time.time()), body=body
    )
    return secret, body, headers


def test_the_python_example_of_the_docs_verifies_a_delivery() -> None:
    namespace: dict[str, Any] = {}
    exec(doc_example("Verifying a delivery in Python", "python"), namespace)  # noqa: S102
    verify = namespace["verify"]
    secret, body, headers = signed_delivery()
    assert verify(body, headers, secret)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        verify(body.replace(b"test", b"fake"), headers, secret)
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, signing.secret_new())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the example needs openssl")
def test_the_shell_example_of_the_docs_verifies_a_delivery() -> None:
    script = doc_example("Verifying a delivery in a shell", "sh")
    secret, body, headers = signed_delivery()

    def run(body: bytes, secret: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": "/usr/bin:/bin",
            "SECRET": secret,
            "WEBHOOK_ID": headers["webhook-id"],
            "WEBHOOK_TIMESTAMP": headers["webhook-timestamp"],
            "WEBHOOK_SIGNATURE": headers["webhook-signature"],
            "BODY": body.decode(),
        }
        return subprocess.run(
            ["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=20
        )

    good = run(body, secret)
    assert good.returncode == 0 and good.stdout.strip() == "signed", good.stderr
    assert run(body.replace(b"test", b"fake"), secret).returncode == 1
    assert run(body, signing.secret_new()).returncode == 1
