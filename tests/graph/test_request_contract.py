"""Every request the client sends matches the spec's request contract.

Requests are captured on the client's own ``requests.Session`` (a response hook), so
what is validated is exactly what went over the wire to the mock Meta server. Each
captured request is checked against the operation it implements: method, path
template, query parameters and the JSON ``requestBody`` schema (jsonschema, 2020-12).

Where the spec is wrong (NOTES.md §4/§9), :data:`CORRECTIONS` says how it is patched
before validating; nothing else is relaxed.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import requests

from waba_portal.graph import GraphClient, RetryPolicy

CORRECTIONS = {
    "allOf+additionalProperties": (
        "Send schemas combine BaseMessageProperties with a branch that says "
        "additionalProperties: false inside allOf, so no message can ever validate. The "
        "intent is 'no unknown keys across the combination': moved to "
        "unevaluatedProperties: false on the allOf holder."
    ),
    "biz_opaque_callback_data": (
        "BaseMessageProperties lacks biz_opaque_callback_data, which Meta documents and "
        "echoes in status webhooks (NOTES §4): added as an optional string."
    ),
    "Message discriminator": (
        "Message is a oneOf of loose schemas that overlap; the discriminator on 'type' "
        "picks the branch, as OpenAPI intends: validate against that branch."
    ),
    "mark read": (
        "Mark-as-read shares POST /messages but is MarkMessageRequestPayload, not a "
        "Message branch: validated against that schema."
    ),
    "QR create/update": (
        "createOrUpdateQrCode is a oneOf of CreateQrCodeRequest and UpdateQrCodeRequest, "
        "but Create does not forbid 'code', so every update matches both: the branch is "
        "picked by the presence of 'code'."
    ),
    "generic query parameters": (
        "fields/limit/after/before are accepted by every Graph edge; the template "
        "listing also takes filters (status, category, language, name) per NOTES §3."
    ),
}

GENERIC_QUERY = {"fields", "limit", "after", "before"}
TEMPLATE_FILTERS = {"name", "status", "category", "language", "name_or_content", "content"}

# operations implemented by the client that the spec does not describe
NOT_IN_SPEC = {
    ("GET", "/oauth/access_token"),
    ("GET", "/debug_token"),
    ("POST", "/{app-id}/uploads"),
    ("POST", "/upload:{session}"),
}


def _patch_allof(node: Any) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("allOf"), list):
            for part in node["allOf"]:
                if isinstance(part, dict) and part.get("additionalProperties") is False:
                    del part["additionalProperties"]
                    node["unevaluatedProperties"] = False
        for value in node.values():
            _patch_allof(value)
    elif isinstance(node, list):
        for value in node:
            _patch_allof(value)


@pytest.fixture(scope="session")
def corrected(spec: dict[str, Any]) -> dict[str, Any]:
    components = copy.deepcopy(spec["components"])
    _patch_allof(components["schemas"])
    base = components["schemas"]["BaseMessageProperties"]
    base["properties"]["biz_opaque_callback_data"] = {"type": "string", "maxLength": 512}
    ops: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                ops[op["operationId"]] = (method.upper(), path, op)
    return {"components": components, "ops": ops}


def _param(spec_components: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in p:
        return spec_components["parameters"][p["$ref"].split("/")[-1]]
    return p


def _schema(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "components": root["components"]}


def check(root: dict[str, Any], op_id: str, req: requests.PreparedRequest) -> list[str]:
    method, template, op = root["ops"][op_id]
    problems: list[str] = []
    parts = urlsplit(req.url or "")
    if req.method != method:
        problems.append(f"{op_id}: method {req.method} != {method}")
    pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
    if not re.match(pattern, parts.path):
        problems.append(f"{op_id}: path {parts.path} does not match {template}")
    declared = {
        p["name"]: p
        for p in (_param(root["components"], x) for x in op.get("parameters", []))
        if p.get("in") == "query"
    }
    sent = parse_qs(parts.query, keep_blank_values=True)
    allowed = set(declared) | GENERIC_QUERY
    if op_id == "getTemplateByNameDefaultFields":
        allowed |= TEMPLATE_FILTERS
    for name in sent:
        if name not in allowed:
            problems.append(f"{op_id}: undeclared query parameter {name!r}")
    for name, p in declared.items():
        if p.get("required") and name not in sent:
            problems.append(f"{op_id}: missing required query parameter {name!r}")
    body = req.body
    content_type = req.headers.get("Content-Type", "")
    request_body = op.get("requestBody")
    if not body:
        if request_body and request_body.get("required"):
            problems.append(f"{op_id}: required body missing")
        return problems
    if not request_body:
        problems.append(f"{op_id}: sent a body but the operation takes none")
        return problems
    content = request_body.get("content", {})
    if content_type.startswith("multipart/form-data"):
        if "multipart/form-data" not in content:
            problems.append(f"{op_id}: multipart body not accepted")
        return problems
    if "application/json" not in content_type:
        problems.append(f"{op_id}: unexpected content type {content_type!r}")
        return problems
    data = json.loads(body)
    schema = content["application/json"]["schema"]
    if op_id == "sendMessage":
        if data.get("status") == "read":
            schema = {"$ref": "#/components/schemas/MarkMessageRequestPayload"}
        else:
            mapping = root["components"]["schemas"]["Message"]["discriminator"]["mapping"]
            if data.get("type") not in mapping:
                return [*problems, f"sendMessage: type {data.get('type')!r} not in the spec"]
            schema = {"$ref": mapping[data["type"]]}
    if op_id == "createOrUpdateQrCode":
        branch = "UpdateQrCodeRequest" if "code" in data else "CreateQrCodeRequest"
        schema = {"$ref": f"#/components/schemas/{branch}"}
    validator = jsonschema.Draft202012Validator(_schema(root, schema))
    for error in validator.iter_errors(data):
        problems.append(f"{op_id}: {list(error.absolute_path)}: {error.message[:300]}")
    return problems


class Recorder:
    def __init__(self, client: GraphClient) -> None:
        self.items: list[requests.PreparedRequest] = []
        client.session.hooks["response"].append(self._hook)

    def _hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.items.append(response.request)

    def take(self) -> requests.PreparedRequest:
        assert self.items, "no request captured"
        last = self.items[-1]
        self.items.clear()
        return last


@pytest.fixture
def callback_url() -> Iterator[str]:
    """A callback URL that passes Meta's verification GET for the token "vt-123" (the mock
    sends one before it sets an override, NOTES §10)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            ok = query.get("hub.verify_token") == ["vt-123"]
            body = query["hub.challenge"][0].encode() if ok else b""
            self.send_response(200 if ok else 403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/meta"
    server.shutdown()
    server.server_close()


def test_requests_match_the_spec(
    mock_meta: Any, corrected: dict[str, Any], callback_url: str
) -> None:
    seeded = mock_meta.seed(
        businesses=[
            {
                "name": "Contract Ltd",
                "wabas": [
                    {
                        "name": "Contract WABA",
                        "phone_numbers": [{"phone": "+15550002222", "display_name": "Contract"}],
                        "templates": [{"name": "contract_tpl", "language": "en_US"}],
                    }
                ],
            }
        ]
    )
    waba, phone = seeded["waba_id"], seeded["phone_number_id"]
    gc = GraphClient(
        base_url=mock_meta.base_url,
        token=seeded["token"],
        app_id=mock_meta.app_id,
        app_secret=mock_meta.app_secret,
        retry_policy=RetryPolicy(max_attempts=1),
    )
    rec = Recorder(gc)
    problems: list[str] = []
    covered: set[str] = set()

    def run(op_id: str, action: Any) -> Any:
        result = action()
        if hasattr(result, "__next__"):
            result = list(result)
        problems.extend(check(corrected, op_id, rec.take()))
        covered.add(op_id)
        return result

    customer = "16505551234"
    inbound = mock_meta.inbound(phone_number_id=phone, **{"from": customer}, text="hi")
    inbound_id = inbound.get("message_id") or inbound.get("id")

    run("getWhatsAppBusinessAccountDetails", lambda: gc.waba_get(waba, fields=["id", "name"]))
    run("updateWhatsAppBusinessAccount", lambda: gc.waba_update(waba, name="Contract WABA 2"))
    run(
        "subscribeToWabaWebhooks",
        lambda: gc.subscribed_apps_subscribe(
            waba, override_callback_uri=callback_url, verify_token="vt-123"
        ),
    )
    run("getAllSubscriptionsForAWaba", lambda: gc.subscribed_apps_list(waba))
    run(
        "getWhatsAppBusinessAccountPhoneNumbers",
        lambda: gc.phone_numbers_list(waba, fields=["id", "status"], limit=10),
    )
    added = run(
        "createWhatsAppBusinessAccountPhoneNumber",
        lambda: gc.phone_number_add(waba, cc="1", phone_number="5550003333", verified_name="Added"),
    )
    new_phone = added["id"]
    run("getPhoneNumberById", lambda: gc.phone_number_get(new_phone, fields=["id", "status"]))
    run("requestVerificationCode", lambda: gc.request_code(new_phone, code_method="VOICE"))
    code = mock_meta.last_code(new_phone)
    run("verifyPhoneNumberCode", lambda: gc.verify_code(new_phone, code))
    run(
        "registerWhatsAppBusinessPhoneNumber",
        lambda: gc.register(new_phone, "135790", data_localization_region="DE"),
    )
    run("updatePhoneNumberStatus", lambda: gc.phone_number_update(new_phone, pin="135790"))
    run("deregisterPhoneNumber", lambda: gc.deregister(new_phone))
    run(
        "updateWhatsAppBusinessProfileInformation",
        lambda: gc.business_profile_update(
            phone,
            about="About us",
            address="1 Main St",
            email="hi@example.com",
            websites=["https://example.com"],
            vertical="RETAIL",
        ),
    )
    run("getWhatsAppBusinessProfile", lambda: gc.business_profile_get(phone))
    run("getOfficialBusinessAccountStatus", lambda: gc.official_business_account_get(phone))
    run(
        "GraphWhatsAppBusinessAccountToNumberCurrentStatusOfficialBusinessAccountPost",
        lambda: gc.official_business_account_request(
            phone,
            application_data={"business_name": "Contract", "website_url": "https://example.com"},
        ),
    )
    qr = run("createOrUpdateQrCode", lambda: gc.qr_code_create(phone, "Hello!"))
    qr_code = qr.get("code") or qr.get("id")
    run("createOrUpdateQrCode", lambda: gc.qr_code_update(phone, qr_code, "Hello again"))
    run("listAllQrCodes", lambda: gc.qr_codes_list(phone))
    run("deleteIndividualQrCode", lambda: gc.qr_code_delete(phone, qr_code))
    templates = run(
        "getTemplateByNameDefaultFields",
        lambda: gc.templates_list(waba, fields=["id", "name", "status"], status="APPROVED"),
    )
    tpl_id = next(t["id"] for t in templates if t["name"] == "contract_tpl")
    run("getTemplateByIdDefaultFields", lambda: gc.template_get(tpl_id))
    run("sendMessage", lambda: gc.send_template(phone, customer, "contract_tpl", "en_US"))
    run(
        "createAuthenticationTemplateWOtpCopyCodeButton",
        lambda: gc.template_create(
            waba,
            name="contract_new",
            language="en_US",
            category="MARKETING",
            components=[
                {"type": "HEADER", "format": "TEXT", "text": "Our sale is on!"},
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, use code {{2}} today.",
                    "example": {"body_text": [["Ann", "SAVE10"]]},
                },
                {"type": "FOOTER", "text": "Reply STOP to opt out"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Shop now"}]},
            ],
        ),
    )
    run(
        "editTemplate",
        lambda: gc.template_edit(
            tpl_id,
            components=[
                {
                    "type": "BODY",
                    "text": "Hello {{1}}, welcome.",
                    "example": {"body_text": [["Ann"]]},
                }
            ],
        ),
    )
    run("deleteTemplateByName", lambda: gc.template_delete(waba, "contract_new"))
    run(
        "sendMessage",
        lambda: gc.send_text(phone, customer, "hi", reply_to=None, biz_opaque_callback_data="o-1"),
    )
    run(
        "sendMessage",
        lambda: gc.send_media(
            phone, customer, "image", link="https://example.com/a.png", caption="pic"
        ),
    )
    run(
        "sendMessage",
        lambda: gc.send_interactive(
            phone,
            customer,
            {
                "type": "button",
                "body": {"text": "Pick one"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]},
            },
        ),
    )
    run("sendMessage", lambda: gc.mark_read(phone, inbound_id))
    media_id = run("uploadImage", lambda: gc.media_upload(phone, b"\x89PNGx", "image/png"))
    run("retrieveMediaUrl", lambda: gc.media_get(media_id, phone_number_id=phone))
    run("unsubscribeFromWabaWebhooks", lambda: gc.subscribed_apps_unsubscribe(waba))

    assert problems == []
    assert len(covered) >= 28


@pytest.mark.parametrize("name", sorted(CORRECTIONS))
def test_corrections_are_documented(name: str) -> None:
    assert len(CORRECTIONS[name]) > 40


def test_checker_catches_violations(corrected: dict[str, Any]) -> None:
    bad = requests.Request(
        "POST",
        "http://x/v23.0/123/register",
        json={"messaging_product": "whatsapp", "pin": "12ab"},
    ).prepare()
    assert check(corrected, "registerWhatsAppBusinessPhoneNumber", bad)
    text = requests.Request(
        "POST",
        "http://x/v23.0/123/messages",
        json={
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "1",
            "type": "text",
            "text": {"body": "x"},
            "unexpected": 1,
        },
    ).prepare()
    assert any("unexpected" in p for p in check(corrected, "sendMessage", text))
    assert NOT_IN_SPEC
