"""The OpenAPI schema (/api/schema/) is valid, complete and documents what every call
shares; the docs page (/api/docs/) is served from our own files under the strict CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver
from openapi_spec_validator import validate

from tests.test_permission_matrix import _walk

pytestmark = pytest.mark.django_db

_PARAMETER = re.compile(r"<(?:[^>:]+:)?([^>]+)>")
HANDLERS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:300]
    return response.json()  # type: ignore[no-any-return]


def api_routes() -> list[tuple[str, list[str]]]:
    """Every /api/v1/ URL of the URL conf as an OpenAPI path, with its view's methods."""
    found = []
    for route in _walk(get_resolver().url_patterns):
        if not route.route.startswith("api/v1/"):
            continue
        match = get_resolver().resolve("/" + _PARAMETER.sub("1", route.route))
        view = getattr(match.func, "cls", None)
        methods = [m for m in HANDLERS if view is not None and hasattr(view, m)]
        found.append(("/" + _PARAMETER.sub(r"{\1}", route.route), methods))
    return found


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in HANDLERS
    ]


def test_the_schema_is_valid_openapi_3(schema: dict[str, Any]) -> None:
    validate(schema)
    assert schema["openapi"].startswith("3.1")
    assert schema["info"]["title"] == "WABA Portal API"


def test_every_url_under_api_v1_is_in_the_schema(schema: dict[str, Any]) -> None:
    routes = api_routes()
    assert len(routes) > 10 and ("/api/v1/t/{tenant_slug}/", ["get"]) in routes
    missing = [path for path, _methods in routes if path not in schema["paths"]]
    assert missing == [], f"URLs under /api/v1/ that the schema lacks: {missing}"
    for path, methods in routes:
        assert set(methods) <= set(schema["paths"][path]), (path, methods)


def test_every_operation_documents_the_one_error_body_and_both_credentials(
    schema: dict[str, Any],
) -> None:
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = schema["components"]["schemas"]["ErrorDetail"]
    assert set(detail["properties"]) == {"code", "message", "details"}
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKey"]["type"] == "http" and schemes["apiKey"]["scheme"] == "bearer"
    assert "cookieAuth" in schemes
    for path, method, op in operations(schema):
        where = f"{method.upper()} {path}"
        for code in ("401", "403", "404", "429"):
            body = op["responses"][code]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (where, code)
        assert "Retry-After" in op["responses"]["429"]["headers"], where
        names = {name for requirement in op["security"] for name in requirement}
        assert {"apiKey", "cookieAuth"} <= names, where
        if method != "get":
            assert "400" in op["responses"], where


IDEMPOTENT = {
    ("post", "/api/v1/t/{tenant_slug}/onboardings/"),
    ("post", "/api/v1/t/{tenant_slug}/event-subscriptions/"),
    ("post", "/api/v1/t/{tenant_slug}/event-subscriptions/{subscription_pk}/test/"),
    ("post", "/api/v1/t/{tenant_slug}/event-subscriptions/{subscription_pk}/rotate-secret/"),
    (
        "post",
        "/api/v1/t/{tenant_slug}/event-subscriptions/{subscription_pk}/deliveries/"
        "{delivery_pk}/redeliver/",
    ),
}


def test_the_posts_that_take_an_idempotency_key_say_so(schema: dict[str, Any]) -> None:
    marked = set()
    for path, method, op in operations(schema):
        headers = [p for p in op.get("parameters", []) if p["in"] == "header"]
        if any(p["name"] == "Idempotency-Key" for p in headers):
            marked.add((method, path))
            assert "422" in op["responses"] and "409" in op["responses"], path
            success = [c for c in op["responses"] if c.startswith("2")]
            assert all("Idempotent-Replayed" in op["responses"][c]["headers"] for c in success)
    assert marked >= IDEMPOTENT, IDEMPOTENT - marked


def test_our_endpoints_are_described_in_full(schema: dict[str, Any]) -> None:
    tenant = schema["paths"]["/api/v1/t/{tenant_slug}/"]["get"]
    assert tenant["tags"] == ["tenant"]
    ref = tenant["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/Tenant")
    create = schema["paths"]["/api/v1/t/{tenant_slug}/event-subscriptions/"]["post"]
    assert create["tags"] == ["events"]
    created = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert "secret" in schema["components"]["schemas"][created.rsplit("/", 1)[1]]["properties"]
    listed = schema["paths"][
        "/api/v1/t/{tenant_slug}/event-subscriptions/{subscription_pk}/deliveries/"
    ]
    params = {p["name"] for p in listed["get"]["parameters"]}
    assert {"cursor", "limit", "status", "event_type"} <= params
    page = listed["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"next", "previous", "results"} <= set(
        schema["components"]["schemas"][page["$ref"].rsplit("/", 1)[1]]["properties"]
    )
    ids = {p["name"]: p["schema"] for p in listed["get"]["parameters"] if p["in"] == "path"}
    assert ids["subscription_pk"]["type"] == "integer"


def test_no_secret_field_is_described(schema: dict[str, Any]) -> None:
    for name, component in schema["components"]["schemas"].items():
        fields = set(component.get("properties", {}))
        if name == "PinReveal":  # the PIN shown once, on explicit request (pin/reveal/)
            fields -= {"pin"}
        assert not fields & {"key_hash", "access_token", "pin", "previous_secret"}, name
    # ... and that answer is the reveal's alone.
    revealed = [
        (method, path)
        for path, method, op in operations(schema)
        if "PinReveal" in str(op.get("responses", {}))
    ]
    assert revealed == [("post", "/api/v1/t/{tenant_slug}/phone-numbers/{phone_pk}/pin/reveal/")]


def test_the_docs_page_is_served_from_our_own_static_files() -> None:
    client = Client()
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attributes for attributes in scripts), scripts
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<style" not in html and "style=" not in html and "//cdn" not in html
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
