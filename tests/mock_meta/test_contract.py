"""Contract tests: the mock's Graph responses validate against the OpenAPI spec.

The spec (``docs/meta/business-messaging-api_v23.0.yaml``) is loaded once per session.
Each case names the spec operation (path template + method), performs the real call on the
mock and validates the JSON body against that operation's response schema with jsonschema
(Draft 2020-12; ``#/components/...`` refs resolved through a ``referencing`` registry).

Where NOTES.md says the spec is wrong, the correction is applied to a copy of the spec
before validation — only in the places listed in CORRECTIONS below, never by switching
validation off.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.contract_files import SPEC_PATH as DEFAULT_SPEC_PATH
from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph

SPEC_PATH = Path(os.environ.get("META_SPEC_PATH", str(DEFAULT_SPEC_PATH)))
SPEC_URI = "urn:meta-spec"


def _edge(items_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data"],
        "properties": {"data": {"type": "array", "items": {"$ref": items_ref}}},
    }


# (NOTES section, JSON pointer into components.schemas, action, value). Each entry is a
# documented mismatch between the spec and the live API; the mock follows NOTES.
CORRECTIONS: list[tuple[str, str, str, Any]] = [
    # §1: live phone status values are CONNECTED etc., not LINKED/UNLINKED.
    (
        "§1/§9.2",
        "WhatsAppPhoneNumberStatus",
        "enum+",
        ["CONNECTED", "DISCONNECTED", "FLAGGED", "RATE_LIMITED", "UNVERIFIED", "UNKNOWN"],
    ),
    # §1/§9.2: code_verification_status also NOT_VERIFIED and EXPIRED.
    ("§9.2", "WhatsAppCodeVerificationStatus", "enum+", ["NOT_VERIFIED", "EXPIRED"]),
    # §9.2: quality_rating also UNKNOWN.
    ("§9.2", "WhatsAppPhoneNumberQualityRating", "enum+", ["UNKNOWN"]),
    # §1 casing conflict: business_verification_status is lower case on the live API.
    (
        "§1",
        "BusinessVerificationStatus",
        "enum+",
        [
            "expired",
            "failed",
            "ineligible",
            "not_verified",
            "pending",
            "pending_need_more_info",
            "pending_submission",
            "rejected",
            "revoked",
            "verified",
        ],
    ),
    # §2 OBA: a repo copy of Meta docs shows NOT_STARTED.
    ("§2", "WhatsAppBusinessAppealStatus", "enum+", ["NOT_STARTED"]),
    # §1: subscribed_apps items carry the whatsapp_business_api_data wrapper.
    (
        "§1/§9.2",
        "SubscribedApp",
        "replace",
        {
            "type": "object",
            "required": ["whatsapp_business_api_data"],
            "properties": {
                "whatsapp_business_api_data": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "link": {"type": "string"},
                    },
                },
                "override_callback_uri": {"type": "string"},
            },
        },
    ),
    # §1: edges requested as WABA fields come back as {"data": [...]} (PYWA parses them so).
    (
        "§1",
        "WhatsAppBusinessAccount/properties/subscribed_apps",
        "replace",
        _edge("#/components/schemas/SubscribedApp"),
    ),
    (
        "§1",
        "WhatsAppBusinessAccount/properties/phone_numbers",
        "replace",
        {"type": "object", "required": ["data"]},
    ),
    (
        "§1",
        "WhatsAppBusinessAccount/properties/message_templates",
        "replace",
        {"type": "object", "required": ["data"]},
    ),
    # §2: the business profile GET is flat in data[0] (no business_profile wrapper).
    (
        "§2/§9.2",
        "WhatsAppBusinessProfileResponse",
        "replace",
        {
            "type": "object",
            "required": ["data"],
            "properties": {
                "data": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/components/schemas/WhatsAppBusinessProfile"},
                }
            },
        },
    ),
]

# Operation-level corrections: (path, method) -> schema used instead of the spec's.
OPERATION_CORRECTIONS: dict[tuple[str, str], dict[str, Any]] = {
    # §9.2: POST /{Phone-Number-ID} declares a oneOf with MessageResponse by mistake.
    ("/{Version}/{Phone-Number-ID}", "post"): {"$ref": "#/components/schemas/SuccessResponse"},
}


@functools.cache
def _spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open("rb") as fh:
        spec = yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    for _, pointer, action, value in CORRECTIONS:
        parts = pointer.split("/")
        parent = schemas
        for part in parts[:-1]:
            parent = parent[part]
        if action == "enum+":
            parent[parts[-1]]["enum"] = list(parent[parts[-1]]["enum"]) + value
        else:
            parent[parts[-1]] = value
    return dict(spec)


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(
        SPEC_URI, Resource.from_contents(_spec(), default_specification=DRAFT202012)
    )


def validate(path: str, method: str, body: Any, status: str = "200") -> None:
    op = _spec()["paths"][path][method]
    schema = OPERATION_CORRECTIONS.get((path, method)) if status == "200" else None
    if schema is None:
        assert status in op["responses"], f"{method} {path} documents no {status}"
        schema = op["responses"][status]["content"]["application/json"]["schema"]
    wrapped = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SPEC_URI + "x",
        "$ref": SPEC_URI + "#/" + _pointer_of(path, method, status),
    }
    if (path, method) in OPERATION_CORRECTIONS and status == "200":
        wrapped["$ref"] = SPEC_URI + schema["$ref"]
    validator = jsonschema.Draft202012Validator(wrapped, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {path}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )


def _pointer_of(path: str, method: str, status: str) -> str:
    esc = path.replace("~", "~0").replace("/", "~1")
    return f"paths/{esc}/{method}/responses/{status}/content/application~1json/schema"


Call = Callable[[Graph, MockMeta, dict[str, Any]], requests.Response]


def _new_number(g: Graph, m: MockMeta, s: dict[str, Any]) -> str:
    return str(
        g.post(
            f"{s['waba_id']}/phone_numbers",
            {"cc": "1", "phone_number": "5550177000", "verified_name": "Acme"},
        ).json()["id"]
    )


def _verify_call(g: Graph, m: MockMeta, s: dict[str, Any]) -> requests.Response:
    pid = _new_number(g, m, s)
    g.post(f"{pid}/request_code", {"code_method": "SMS", "language": "en_US"})
    return g.post(f"{pid}/verify_code", {"code": m.last_code(pid)})


def _qr(g: Graph, s: dict[str, Any]) -> str:
    return str(
        g.post(f"{s['phone_number_id']}/message_qrdls", {"prefilled_message": "Hi"}).json()["code"]
    )


def _media(g: Graph, s: dict[str, Any]) -> str:
    return str(
        g.post(
            f"{s['phone_number_id']}/media",
            data={"messaging_product": "whatsapp"},
            files={"file": ("a.jpg", b"jpeg", "image/jpeg")},
        ).json()["id"]
    )


WABA_ALL_FIELDS = (
    "id,name,currency,timezone_id,country,message_template_namespace,"
    "account_review_status,business_verification_status,ownership_type,"
    "primary_business_location,status,health_status,owner_business_info,"
    "on_behalf_of_business_info,whatsapp_business_manager_messaging_limit,"
    "messaging_limit_tier,is_enabled_for_insights,subscribed_apps,phone_numbers,"
    "message_templates"
)
PHONE_SPEC_FIELDS = (
    "id,display_phone_number,verified_name,status,quality_rating,country_code,"
    "country_dial_code,code_verification_status,account_mode,host_platform,"
    "messaging_limit_tier,is_official_business_account"
)

CASES: list[tuple[str, str, str, Call]] = [
    ("waba-default", "/{Version}/{WABA-ID}", "get", lambda g, m, s: g.get(s["waba_id"])),
    (
        "waba-all-fields",
        "/{Version}/{WABA-ID}",
        "get",
        lambda g, m, s: g.get(s["waba_id"], fields=WABA_ALL_FIELDS),
    ),
    (
        "waba-update",
        "/{Version}/{WABA-ID}",
        "post",
        lambda g, m, s: g.post(s["waba_id"], {"name": "New name"}),
    ),
    (
        "phones-list",
        "/{Version}/{WABA-ID}/phone_numbers",
        "get",
        lambda g, m, s: g.get(f"{s['waba_id']}/phone_numbers"),
    ),
    (
        "phones-list-fields",
        "/{Version}/{WABA-ID}/phone_numbers",
        "get",
        lambda g, m, s: (
            _new_number(g, m, s),
            g.get(f"{s['waba_id']}/phone_numbers", fields=PHONE_SPEC_FIELDS, limit=1),
        )[1],
    ),
    (
        "phone-add",
        "/{Version}/{WABA-ID}/phone_numbers",
        "post",
        lambda g, m, s: g.post(
            f"{s['waba_id']}/phone_numbers",
            {"cc": "1", "phone_number": "5550178000", "verified_name": "Acme"},
        ),
    ),
    (
        "phone-get",
        "/{Version}/{Phone-Number-ID}",
        "get",
        lambda g, m, s: g.get(
            s["phone_number_id"],
            fields="id,display_phone_number,verified_name,quality_rating,"
            "name_status,code_verification_status",
        ),
    ),
    (
        "phone-update",
        "/{Version}/{Phone-Number-ID}",
        "post",
        lambda g, m, s: g.post(s["phone_number_id"], {"pin": "123456"}),
    ),
    (
        "request-code",
        "/{Version}/{Phone-Number-ID}/request_code",
        "post",
        lambda g, m, s: g.post(
            f"{_new_number(g, m, s)}/request_code", {"code_method": "SMS", "language": "en_US"}
        ),
    ),
    ("verify-code", "/{Version}/{Phone-Number-ID}/verify_code", "post", _verify_call),
    (
        "register",
        "/{Version}/{Phone-Number-ID}/register",
        "post",
        lambda g, m, s: g.post(
            f"{s['phone_number_id']}/register", {"messaging_product": "whatsapp", "pin": "000000"}
        ),
    ),
    (
        "deregister",
        "/{Version}/{Phone-Number-ID}/deregister",
        "post",
        lambda g, m, s: g.post(f"{s['phone_number_id']}/deregister"),
    ),
    (
        "settings-get",
        "/{Version}/{Phone-Number-ID}/settings",
        "get",
        lambda g, m, s: g.get(f"{s['phone_number_id']}/settings"),
    ),
    (
        "settings-post",
        "/{Version}/{Phone-Number-ID}/settings",
        "post",
        lambda g, m, s: g.post(
            f"{s['phone_number_id']}/settings",
            {"storage_configuration": {"enabled": True, "region": "DE"}},
        ),
    ),
    (
        "profile-get",
        "/{Version}/{Phone-Number-ID}/whatsapp_business_profile",
        "get",
        lambda g, m, s: (
            g.post(
                f"{s['phone_number_id']}/whatsapp_business_profile",
                {"messaging_product": "whatsapp", "about": "Hi", "vertical": "RETAIL"},
            ),
            g.get(f"{s['phone_number_id']}/whatsapp_business_profile"),
        )[1],
    ),
    (
        "profile-post",
        "/{Version}/{Phone-Number-ID}/whatsapp_business_profile",
        "post",
        lambda g, m, s: g.post(
            f"{s['phone_number_id']}/whatsapp_business_profile",
            {"messaging_product": "whatsapp", "about": "Hello"},
        ),
    ),
    (
        "subscribed-get",
        "/{Version}/{WABA-ID}/subscribed_apps",
        "get",
        lambda g, m, s: g.get(f"{s['waba_id']}/subscribed_apps"),
    ),
    (
        "subscribed-post",
        "/{Version}/{WABA-ID}/subscribed_apps",
        "post",
        lambda g, m, s: g.post(
            f"{s['waba_id']}/subscribed_apps",
            {"override_callback_uri": "https://x.example/h", "verify_token": "v"},
        ),
    ),
    (
        "subscribed-delete",
        "/{Version}/{WABA-ID}/subscribed_apps",
        "delete",
        lambda g, m, s: g.delete(f"{s['waba_id']}/subscribed_apps"),
    ),
    (
        "oba-get",
        "/{Version}/{Phone-Number-ID}/official_business_account",
        "get",
        lambda g, m, s: g.get(f"{s['phone_number_id']}/official_business_account"),
    ),
    (
        "oba-post",
        "/{Version}/{Phone-Number-ID}/official_business_account",
        "post",
        lambda g, m, s: g.post(
            f"{s['phone_number_id']}/official_business_account", {"action": "SUBMIT_APPLICATION"}
        ),
    ),
    (
        "qr-list",
        "/{Version}/{Phone-Number-ID}/message_qrdls",
        "get",
        lambda g, m, s: (_qr(g, s), g.get(f"{s['phone_number_id']}/message_qrdls"))[1],
    ),
    (
        "qr-create",
        "/{Version}/{Phone-Number-ID}/message_qrdls",
        "post",
        lambda g, m, s: g.post(
            f"{s['phone_number_id']}/message_qrdls",
            {"prefilled_message": "Hi", "generate_qr_image": "PNG"},
        ),
    ),
    (
        "qr-get",
        "/{Version}/{Phone-Number-ID}/message_qrdls/{QR-Code-ID}",
        "get",
        lambda g, m, s: g.get(f"{s['phone_number_id']}/message_qrdls/{_qr(g, s)}"),
    ),
    (
        "qr-delete",
        "/{Version}/{Phone-Number-ID}/message_qrdls/{QR-Code-ID}",
        "delete",
        lambda g, m, s: g.delete(f"{s['phone_number_id']}/message_qrdls/{_qr(g, s)}"),
    ),
    (
        "templates-list",
        "/{Version}/{WABA-ID}/message_templates",
        "get",
        lambda g, m, s: g.get(f"{s['waba_id']}/message_templates"),
    ),
    (
        "template-create",
        "/{Version}/{WABA-ID}/message_templates",
        "post",
        lambda g, m, s: g.post(
            f"{s['waba_id']}/message_templates",
            {
                "name": "contract_tpl",
                "language": "en_US",
                "category": "UTILITY",
                "components": [{"type": "BODY", "text": "Hello there"}],
            },
        ),
    ),
    (
        "template-delete",
        "/{Version}/{WABA-ID}/message_templates",
        "delete",
        lambda g, m, s: g.delete(f"{s['waba_id']}/message_templates", name="hello_world"),
    ),
    (
        "template-get",
        "/{Version}/{TEMPLATE_ID}",
        "get",
        lambda g, m, s: g.get(s["businesses"][0]["wabas"][0]["templates"][0]["id"]),
    ),
    (
        "template-edit",
        "/{Version}/{TEMPLATE_ID}",
        "post",
        lambda g, m, s: g.post(
            s["businesses"][0]["wabas"][0]["templates"][0]["id"],
            {"components": [{"type": "BODY", "text": "Edited text"}]},
        ),
    ),
    (
        "send-template",
        "/{Version}/{Phone-Number-ID}/messages",
        "post",
        lambda g, m, s: g.post(
            f"{s['phone_number_id']}/messages",
            {
                "messaging_product": "whatsapp",
                "to": "16505551234",
                "type": "template",
                "template": {"name": "hello_world", "language": {"code": "en_US"}},
            },
        ),
    ),
    (
        "send-text",
        "/{Version}/{Phone-Number-ID}/messages",
        "post",
        lambda g, m, s: (
            m.inbound(phone_number_id=s["phone_number_id"], text="hi", **{"from": "16505551234"}),
            g.post(
                f"{s['phone_number_id']}/messages",
                {
                    "messaging_product": "whatsapp",
                    "to": "16505551234",
                    "type": "text",
                    "text": {"body": "Hello"},
                },
            ),
        )[1],
    ),
    (
        "media-upload",
        "/{Version}/{Phone-Number-ID}/media",
        "post",
        lambda g, m, s: g.post(
            f"{s['phone_number_id']}/media",
            data={"messaging_product": "whatsapp"},
            files={"file": ("a.jpg", b"jpeg", "image/jpeg")},
        ),
    ),
    ("media-get", "/{Version}/{Media-ID}", "get", lambda g, m, s: g.get(_media(g, s))),
    ("media-delete", "/{Version}/{Media-ID}", "delete", lambda g, m, s: g.delete(_media(g, s))),
]

# Media GET: the spec example types file_size as a string; the live API (and PYWA) return an
# integer. Listed so the difference is explicit rather than hidden.
MEDIA_FILE_SIZE_CORRECTION = ("/{Version}/{Media-ID}", "get")


@pytest.mark.parametrize(("name", "path", "method", "call"), CASES, ids=[c[0] for c in CASES])
def test_response_matches_spec(
    name: str,
    path: str,
    method: str,
    call: Call,
    graph: Graph,
    mock_meta: MockMeta,
    seeded: dict[str, Any],
) -> None:
    resp = call(graph, mock_meta, seeded)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    if (path, method) == MEDIA_FILE_SIZE_CORRECTION:
        body = {**body, "file_size": str(body["file_size"])}
    validate(path, method, body)


ERROR_CASES: list[tuple[str, str, str, str, Call]] = [
    (
        "bad-token",
        "/{Version}/{WABA-ID}",
        "get",
        "401",
        lambda g, m, s: g.get(s["waba_id"], token="garbage"),
    ),
    (
        "no-permission",
        "/{Version}/{WABA-ID}/phone_numbers",
        "get",
        "403",
        lambda g, m, s: g.get(f"{m.seed()['waba_id']}/phone_numbers"),
    ),
    (
        "bad-param",
        "/{Version}/{WABA-ID}/phone_numbers",
        "get",
        "400",
        lambda g, m, s: g.get(f"{s['waba_id']}/phone_numbers", after="zz"),
    ),
    # sendMessage documents no error responses: validated against GraphAPIError itself.
    (
        "window",
        "#/components/schemas/GraphAPIError",
        "post",
        "400",
        lambda g, m, s: g.post(
            f"{s['phone_number_id']}/messages",
            {"messaging_product": "whatsapp", "to": "1650", "type": "text", "text": {"body": "x"}},
        ),
    ),
]


@pytest.mark.parametrize(
    ("name", "path", "method", "status", "call"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_error_envelope_matches_spec(
    name: str,
    path: str,
    method: str,
    status: str,
    call: Call,
    graph: Graph,
    mock_meta: MockMeta,
    seeded: dict[str, Any],
) -> None:
    resp = call(graph, mock_meta, seeded)
    assert str(resp.status_code) == status, resp.text
    if path.startswith("#/"):
        validator = jsonschema.Draft202012Validator({"$ref": SPEC_URI + path}, registry=_registry())
        errors = list(validator.iter_errors(resp.json()))
        assert not errors, [e.message for e in errors]
        return
    validate(path, method, resp.json(), status=status)


def test_corrections_are_needed() -> None:
    """Each correction must still differ from the raw spec (remove it once Meta fixes it)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open("rb") as fh:
        raw = yaml.load(fh, Loader=loader)["components"]["schemas"]  # noqa: S506
    fixed = _spec()["components"]["schemas"]
    for _, pointer, _, _ in CORRECTIONS:
        a, b = raw, fixed
        for part in pointer.split("/"):
            a, b = a[part], b[part]
        assert a != b, pointer
