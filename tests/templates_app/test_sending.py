"""The sending side: usable templates, the preview, and Meta's send payload for every
component kind — checked against the spec's request schema and sent to the mock Meta
server for a template it approved — and each parameter mismatch refused before the call.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
import yaml
from django.utils import translation

from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from templates_app.models import Template
from templates_app.sending import (
    send_problem,
    template_examples,
    template_render,
    template_send_payload,
    template_slots,
    usable_templates,
)
from tests.contract_files import SPEC_PATH
from tests.factories import PhoneNumberFactory, World
from tests.fixtures_senders import Connected
from waba_portal.errors import Conflict, Invalid
from waba_portal.graph import GraphClient, RetryPolicy

pytestmark = pytest.mark.django_db

CUSTOMER = "+16505551234"

# --- The spec's request schema, with its documented corrections -----------------------

CORRECTIONS = {
    "discriminators": (
        "TemplateComponent, ParameterObject and ButtonParameterObject name their branch "
        "with a discriminator on 'type', which JSON Schema does not apply: each component "
        "and parameter is validated against the branch its type names, as OpenAPI intends."
    ),
    "button index": (
        "TemplateComponent.index has the pattern ^[2-6, 11-14]$, a character class that "
        "refuses index '0' although its own description says 'Position index of the "
        "button (0-9)': replaced by ^[0-9]$."
    ),
    "button sub_types": (
        "sub_type lists quick_reply, url and catalog only; Meta's copy-code and "
        "multi-product buttons are sent as copy_code and mpm (NOTES §4): added."
    ),
    "button parameters": (
        "ButtonParameterObject knows payload and text; copy-code buttons take a "
        "coupon_code parameter and catalog / multi-product buttons an action parameter "
        "(NOTES §4): both added as branches."
    ),
    "location header": (
        "ParameterObject lacks the location parameter of a LOCATION header (latitude, "
        "longitude, name, address), which Meta documents: added as a branch."
    ),
}


def _load_spec() -> dict[str, Any]:
    with SPEC_PATH.open("rb") as fh:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(fh, Loader=loader)  # type: ignore[no-any-return]  # noqa: S506


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    components = copy.deepcopy(_load_spec()["components"])
    s = components["schemas"]
    s["TemplateComponent"]["properties"]["index"]["pattern"] = "^[0-9]$"
    for name in ("TemplateComponent",):
        s[name]["properties"]["sub_type"]["enum"] += ["copy_code", "mpm"]
    s["ButtonComponent"]["allOf"][1]["properties"]["sub_type"]["enum"] += ["copy_code", "mpm"]
    s["ButtonComponent"]["allOf"][1]["properties"]["index"]["pattern"] = "^[0-9]$"
    s["ButtonParameterObject"]["properties"]["type"]["enum"] += ["coupon_code", "action"]
    s["ButtonParameterObject"]["discriminator"]["mapping"].update(
        {
            "coupon_code": "#/components/schemas/CouponCodeParameter",
            "action": "#/components/schemas/ActionParameter",
        }
    )
    s["CouponCodeParameter"] = {
        "type": "object",
        "required": ["type", "coupon_code"],
        "properties": {
            "type": {"enum": ["coupon_code"]},
            "coupon_code": {"type": "string", "maxLength": 15},
        },
    }
    s["ActionParameter"] = {
        "type": "object",
        "required": ["type", "action"],
        "properties": {"type": {"enum": ["action"]}, "action": {"type": "object"}},
    }
    s["ParameterObject"]["properties"]["type"]["enum"] += ["location"]
    s["ParameterObject"]["discriminator"]["mapping"]["location"] = (
        "#/components/schemas/LocationParameter"
    )
    s["LocationParameter"] = {
        "type": "object",
        "required": ["type", "location"],
        "properties": {
            "type": {"enum": ["location"]},
            "location": {
                "type": "object",
                "required": ["latitude", "longitude"],
                "properties": {
                    "latitude": {"type": "number"},
                    "longitude": {"type": "number"},
                    "name": {"type": "string"},
                    "address": {"type": "string"},
                },
            },
        },
    }
    return components


def spec_problems(components: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    """Where ``payload`` breaks the spec's TemplateMessage (discriminators applied)."""
    schemas = components["schemas"]

    def check(ref: str, value: Any, where: str) -> list[str]:
        schema = {"$ref": f"#/components/schemas/{ref}", "components": components}
        validator = jsonschema.Draft202012Validator(schema)
        return [f"{where}: {e.message[:200]}" for e in validator.iter_errors(value)]

    def branch(parent: str, value: dict[str, Any]) -> str:
        mapping = schemas[parent]["discriminator"]["mapping"]
        return str(mapping.get(value.get("type"), f"#/{parent}-unknown-{value.get('type')}"))

    problems = check("TemplateMessage", payload, "message")
    for i, comp in enumerate(payload["template"].get("components", [])):
        ref = branch("TemplateComponent", comp).rsplit("/", 1)[-1]
        if ref not in schemas:
            problems.append(f"component {i}: type {comp.get('type')!r} not in the spec")
            continue
        problems += check(ref, comp, f"component {i}")
        parent = "ButtonParameterObject" if comp["type"] == "button" else "ParameterObject"
        for j, param in enumerate(comp.get("parameters", [])):
            pref = branch(parent, param).rsplit("/", 1)[-1]
            if pref not in schemas:
                problems.append(f"component {i} parameter {j}: {param.get('type')!r}")
                continue
            problems += check(pref, param, f"component {i} parameter {j}")
    return problems


@pytest.mark.parametrize("name", sorted(CORRECTIONS))
def test_corrections_are_documented(name: str) -> None:
    assert len(CORRECTIONS[name]) > 60


def test_the_checker_catches_violations(schemas: dict[str, Any]) -> None:
    bad = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "1",
        "type": "template",
        "template": {
            "name": "x",
            "language": {"code": "en"},
            "components": [
                {"type": "body", "parameters": [{"type": "text"}]},
                {"type": "button", "sub_type": "url", "parameters": []},
            ],
        },
    }
    problems = spec_problems(schemas, bad)
    assert any("policy" in p for p in problems)
    assert any("'text' is a required property" in p for p in problems)
    assert any("index" in p for p in problems)


# --- Templates approved at the mock and recorded here ---------------------------------------

HANDLE_BYTES = b"\xff\xd8\xff\xe0 a jpeg"
BODY = {
    "type": "BODY",
    "text": "Hi {{1}}, your order {{2}} is on its way to you today.",
    "example": {"body_text": [["Ann", "A-1001"]]},
}
NAMED_BODY = {
    "type": "BODY",
    "text": "Hi {{first_name}}, your order {{order_id}} is on its way to you today.",
    "example": {
        "body_text_named_params": [
            {"param_name": "first_name", "example": "Ann"},
            {"param_name": "order_id", "example": "A-1001"},
        ]
    },
}


def kinds(handle: str) -> dict[str, dict[str, Any]]:
    """Templates of every component kind, and good values for a send of each."""
    media = {"example": {"header_handle": [handle]}}
    return {
        "text header and body": {
            "template": {
                "category": "UTILITY",
                "components": [
                    {
                        "type": "HEADER",
                        "format": "TEXT",
                        "text": "Order {{1}}",
                        "example": {"header_text": ["A-1001"]},
                    },
                    BODY,
                ],
            },
            "values": {"header": "A-77", "body.1": "Bea", "body.2": "A-77"},
        },
        "image header": {
            "template": {
                "category": "MARKETING",
                "components": [{"type": "HEADER", "format": "IMAGE", **media}, BODY],
            },
            "values": {"header": {"link": "https://example.com/a.jpg"}, "body": ["Bea", "A-77"]},
        },
        "video header": {
            "template": {
                "category": "MARKETING",
                "components": [{"type": "HEADER", "format": "VIDEO", **media}, BODY],
            },
            "values": {"header": {"id": "MEDIA_ID"}, "body": ["Bea", "A-77"]},
        },
        "document header": {
            "template": {
                "category": "UTILITY",
                "components": [{"type": "HEADER", "format": "DOCUMENT", **media}, BODY],
            },
            "values": {
                "header": {"link": "https://example.com/invoice.pdf", "filename": "invoice.pdf"},
                "body": ["Bea", "A-77"],
            },
        },
        "location header": {
            "template": {
                "category": "UTILITY",
                "components": [{"type": "HEADER", "format": "LOCATION"}, BODY],
            },
            "values": {
                "header": {"latitude": 52.52, "longitude": 13.405, "name": "Shop"},
                "body": ["Bea", "A-77"],
            },
        },
        "named variables": {
            "template": {
                "category": "UTILITY",
                "parameter_format": "NAMED",
                "components": [
                    {
                        "type": "HEADER",
                        "format": "TEXT",
                        "text": "Order {{order_id}}",
                        "example": {
                            "header_text_named_params": [
                                {"param_name": "order_id", "example": "A-1"}
                            ]
                        },
                    },
                    NAMED_BODY,
                ],
            },
            "values": {
                "header": "A-77",
                "body": {"first_name": "Bea", "order_id": "A-77"},
            },
        },
        "currency and date": {
            "template": {"category": "UTILITY", "components": [BODY]},
            "values": {
                "body.1": {"date_time": {"fallback_value": "May 3"}},
                "body.2": {
                    "currency": {"fallback_value": "€12.50", "code": "EUR", "amount_1000": 12500}
                },
            },
        },
        "URL suffix, phone, quick reply payload": {
            "template": {
                "category": "UTILITY",
                "components": [
                    BODY,
                    {
                        "type": "BUTTONS",
                        "buttons": [
                            {
                                "type": "URL",
                                "text": "Track",
                                "url": "https://example.com/track/{{1}}",
                                "example": ["A-1001"],
                            },
                            {
                                "type": "PHONE_NUMBER",
                                "text": "Call",
                                "phone_number": "+14155550123",
                            },
                            {"type": "QUICK_REPLY", "text": "Stop"},
                        ],
                    },
                ],
            },
            "values": {"body": ["Bea", "A-77"], "buttons": {"0": "A-77", "2": "STOP_ORDERS"}},
        },
        "copy code": {
            "template": {
                "category": "MARKETING",
                "components": [
                    BODY,
                    {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "SAVE10"}]},
                ],
            },
            "values": {"body": ["Bea", "A-77"], "button.0": "SPRING25"},
        },
        "catalog": {
            "template": {
                "category": "MARKETING",
                "components": [
                    BODY,
                    {"type": "BUTTONS", "buttons": [{"type": "CATALOG", "text": "View catalog"}]},
                ],
            },
            "values": {"body": ["Bea", "A-77"], "button.0": "sku-1"},
        },
        "multi-product": {
            "template": {
                "category": "MARKETING",
                "components": [
                    {"type": "HEADER", "format": "TEXT", "text": "Picked for you"},
                    BODY,
                    {"type": "BUTTONS", "buttons": [{"type": "MPM", "text": "View items"}]},
                ],
            },
            "values": {
                "body": ["Bea", "A-77"],
                "button.0": {
                    "thumbnail_product_retailer_id": "sku-1",
                    "sections": [
                        {"title": "Shoes", "product_items": [{"product_retailer_id": "sku-1"}]},
                        {"title": "Bags", "product_items": [{"product_retailer_id": "sku-2"}]},
                    ],
                },
            },
        },
        "authentication, copy code": {
            "template": {
                "category": "AUTHENTICATION",
                "components": [
                    {"type": "BODY", "add_security_recommendation": True},
                    {"type": "FOOTER", "code_expiration_minutes": 10},
                    {
                        "type": "BUTTONS",
                        "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy"}],
                    },
                ],
            },
            "values": {"code": "482913"},
        },
        "authentication, one tap": {
            "template": {
                "category": "AUTHENTICATION",
                "components": [
                    {"type": "BODY"},
                    {
                        "type": "BUTTONS",
                        "buttons": [
                            {
                                "type": "OTP",
                                "otp_type": "ONE_TAP",
                                "supported_apps": [
                                    {
                                        "package_name": "com.example.app",
                                        "signature_hash": "K8a/AINcGX7",
                                    }
                                ],
                            }
                        ],
                    },
                ],
            },
            "values": {"code": "482913"},
        },
    }


def draft(spec: dict[str, Any], **fields: Any) -> Template:
    """An unsaved template row of ``spec`` (for what reads only the row)."""
    return Template(
        name="x", language="en_US", **{"parameter_format": "POSITIONAL", **spec, **fields}
    )


class Kit:
    def __init__(self, connected: Connected, mock_meta: Any) -> None:
        self.c = connected
        self.mock = mock_meta
        self.client = GraphClient(
            base_url=mock_meta.base_url,
            token=connected.token,
            app_id=mock_meta.app_id,
            app_secret=mock_meta.app_secret,
            retry_policy=RetryPolicy(max_attempts=1),
        )
        self.handle = self.client.resumable_upload(HANDLE_BYTES, "image/jpeg", file_name="a.jpg")
        self._n = 0

    def approved(self, spec: dict[str, Any], *, name: str | None = None) -> Template:
        """The template submitted to the mock, approved there, and recorded here."""
        self._n += 1
        fields = {
            "name": name or f"kind_{self._n}",
            "language": "en_US",
            "parameter_format": "POSITIONAL",
            **copy.deepcopy(spec),
        }
        answer = self.client.template_create(self.c.waba_id, **fields)
        self.mock.patch("template", answer["id"], status="APPROVED")
        with tenant_scope(self.c.tenant):
            return Template.objects.create(
                tenant=self.c.tenant,
                waba=self.c.waba,
                meta_template_id=answer["id"],
                status="APPROVED",
                ever_approved=True,
                **fields,
            )

    def sends(self) -> list[dict[str, Any]]:
        return [r for r in self.mock.requests() if str(r.get("path", "")).endswith("/messages")]


@pytest.fixture
def kit(connected_waba: Connected, mock_meta: Any) -> Kit:
    return Kit(connected_waba, mock_meta)


def test_every_component_kind_is_built_to_the_spec_and_sent(
    kit: Kit, schemas: dict[str, Any]
) -> None:
    cases = kinds(kit.handle)
    assert len(cases) >= 13
    for kind, case in cases.items():
        template = kit.approved(case["template"])
        with tenant_scope(kit.c.tenant):
            payload = template_send_payload(template, case["values"], CUSTOMER)
        assert spec_problems(schemas, payload) == [], kind
        result = kit.client.send_message(kit.c.phone_number_id, payload)
        assert result.message_id.startswith("wamid."), kind


def test_the_payload_carries_each_kind_as_meta_documents_it(kit: Kit) -> None:
    cases = kinds(kit.handle)

    def build(kind: str) -> list[dict[str, Any]]:
        tpl = draft(cases[kind]["template"], status="APPROVED", meta_template_id="1")
        return template_send_payload(tpl, cases[kind]["values"], CUSTOMER)["template"]["components"]

    assert build("text header and body") == [
        {"type": "header", "parameters": [{"type": "text", "text": "A-77"}]},
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Bea"}, {"type": "text", "text": "A-77"}],
        },
    ]
    assert build("document header")[0]["parameters"] == [
        {
            "type": "document",
            "document": {"link": "https://example.com/invoice.pdf", "filename": "invoice.pdf"},
        }
    ]
    assert build("location header")[0]["parameters"][0]["location"]["latitude"] == 52.52
    named = build("named variables")
    assert named[0]["parameters"] == [
        {"type": "text", "text": "A-77", "parameter_name": "order_id"}
    ]
    assert [p["parameter_name"] for p in named[1]["parameters"]] == ["first_name", "order_id"]
    buttons = build("URL suffix, phone, quick reply payload")[1:]
    assert buttons == [
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "A-77"}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "2",
            "parameters": [{"type": "payload", "payload": "STOP_ORDERS"}],
        },
    ]
    assert build("copy code")[1]["parameters"] == [
        {"type": "coupon_code", "coupon_code": "SPRING25"}
    ]
    assert build("authentication, copy code") == [
        {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "482913"}],
        },
    ]


# (what is wrong, the values, the field refused, the code)
MISMATCHES: list[tuple[str, str, dict[str, Any], str, str]] = [
    (
        "body value missing",
        "text header and body",
        {"header": "A", "body.1": "Bea"},
        "body.2",
        "template_parameter_missing",
    ),
    (
        "body value empty",
        "text header and body",
        {"header": "A", "body.1": "Bea", "body.2": " "},
        "body.2",
        "template_parameter_missing",
    ),
    (
        "header value missing",
        "text header and body",
        {"body.1": "a", "body.2": "b"},
        "header",
        "template_parameter_missing",
    ),
    (
        "extra body value",
        "text header and body",
        {"header": "A", "body": ["a", "b", "c"]},
        "body.#3",
        "template_parameter_unknown",
    ),
    (
        "unknown key",
        "text header and body",
        {"header": "A", "body.1": "a", "body.2": "b", "footer": "x"},
        "footer",
        "template_parameter_unknown",
    ),
    (
        "body value a list",
        "text header and body",
        {"header": "A", "body.1": ["a"], "body.2": "b"},
        "body.1",
        "template_parameter_type",
    ),
    (
        "body value a boolean",
        "text header and body",
        {"header": "A", "body.1": True, "body.2": "b"},
        "body.1",
        "template_parameter_type",
    ),
    (
        "line break in a value",
        "text header and body",
        {"header": "A", "body.1": "a\nb", "body.2": "b"},
        "body.1",
        "template_parameter_invalid",
    ),
    (
        "five spaces in a value",
        "text header and body",
        {"header": "A", "body.1": "a     b", "body.2": "b"},
        "body.1",
        "template_parameter_invalid",
    ),
    (
        "header too long when filled",
        "text header and body",
        {"header": "x" * 60, "body.1": "a", "body.2": "b"},
        "header",
        "template_parameter_invalid",
    ),
    (
        "body too long when filled",
        "text header and body",
        {"header": "A", "body.1": "x" * 1000, "body.2": "b"},
        "body.1",
        "template_parameter_invalid",
    ),
    (
        "text for an image header",
        "image header",
        {"header": "not a link", "body": ["a", "b"]},
        "header",
        "template_parameter_type",
    ),
    (
        "id and link for an image",
        "image header",
        {"header": {"id": "1", "link": "https://e.com/a.jpg"}, "body": ["a", "b"]},
        "header",
        "template_parameter_type",
    ),
    (
        "ftp link for an image",
        "image header",
        {"header": {"link": "ftp://e.com/a.jpg"}, "body": ["a", "b"]},
        "header",
        "template_parameter_invalid",
    ),
    (
        "file name for a video",
        "video header",
        {"header": {"id": "1", "filename": "a.mp4"}, "body": ["a", "b"]},
        "header",
        "template_parameter_type",
    ),
    (
        "location without longitude",
        "location header",
        {"header": {"latitude": 1.0}, "body": ["a", "b"]},
        "header",
        "template_parameter_type",
    ),
    (
        "latitude out of range",
        "location header",
        {"header": {"latitude": 91, "longitude": 1}, "body": ["a", "b"]},
        "header",
        "template_parameter_type",
    ),
    (
        "named value for a name the template lacks",
        "named variables",
        {"header": "A", "body": {"first_name": "a", "order_id": "b", "city": "c"}},
        "body.city",
        "template_parameter_unknown",
    ),
    (
        "named value missing",
        "named variables",
        {"header": "A", "body.first_name": "a"},
        "body.order_id",
        "template_parameter_missing",
    ),
    (
        "positional key in a named template",
        "named variables",
        {"header": "A", "body.1": "a", "body.2": "b"},
        "body.1",
        "template_parameter_unknown",
    ),
    (
        "bad currency",
        "currency and date",
        {"body.1": "a", "body.2": {"currency": {"code": "EUR"}}},
        "body.2",
        "template_parameter_type",
    ),
    (
        "URL suffix missing",
        "URL suffix, phone, quick reply payload",
        {"body": ["a", "b"]},
        "button.0",
        "template_parameter_missing",
    ),
    (
        "value for the phone button",
        "URL suffix, phone, quick reply payload",
        {"body": ["a", "b"], "button.0": "x", "button.1": "y"},
        "button.1",
        "template_parameter_unknown",
    ),
    (
        "offer code missing",
        "copy code",
        {"body": ["a", "b"]},
        "button.0",
        "template_parameter_missing",
    ),
    (
        "offer code too long",
        "copy code",
        {"body": ["a", "b"], "button.0": "C" * 16},
        "button.0",
        "template_parameter_invalid",
    ),
    (
        "products missing",
        "multi-product",
        {"body": ["a", "b"]},
        "button.0",
        "template_parameter_missing",
    ),
    (
        "products without sections",
        "multi-product",
        {"body": ["a", "b"], "button.0": {"thumbnail_product_retailer_id": "s"}},
        "button.0",
        "template_parameter_type",
    ),
    (
        "one-time password missing",
        "authentication, copy code",
        {},
        "code",
        "template_parameter_missing",
    ),
    (
        "one-time password too long",
        "authentication, copy code",
        {"code": "1" * 16},
        "code",
        "template_parameter_invalid",
    ),
    (
        "body values in an authentication send",
        "authentication, copy code",
        {"code": "1", "body.1": "x"},
        "body.1",
        "template_parameter_unknown",
    ),
]


@pytest.mark.parametrize(
    ("case", "kind", "values", "field", "code"), MISMATCHES, ids=[m[0] for m in MISMATCHES]
)
def test_a_parameter_mismatch_is_refused_before_the_call(
    kit: Kit, case: str, kind: str, values: dict[str, Any], field: str, code: str
) -> None:
    template = kit.approved(kinds(kit.handle)[kind]["template"])
    kit.mock.requests(clear=True)
    with tenant_scope(kit.c.tenant), pytest.raises(Invalid) as refused:
        template_send_payload(template, values, CUSTOMER)
    assert refused.value.field == field, (case, refused.value.details)
    assert refused.value.code == code
    assert field in refused.value.body()["error"]["details"]["fields"]
    assert kit.sends() == []


def test_the_mock_refuses_what_we_refuse(kit: Kit) -> None:
    """Our refusals are Meta's: the same values sent raw get 132000 / 132012 / 132018."""
    from waba_portal.graph.errors import GraphError

    template = kit.approved(kinds(kit.handle)["text header and body"]["template"])
    good = template_send_payload(template, {"header": "A", "body": ["a", "b"]}, CUSTOMER)
    raw = copy.deepcopy(good)
    raw["template"]["components"][1]["parameters"].pop()
    with pytest.raises(GraphError) as short:
        kit.client.send_message(kit.c.phone_number_id, raw)
    assert short.value.code == 132000
    raw = copy.deepcopy(good)
    raw["template"]["components"][0]["parameters"] = [{"type": "image", "image": {"id": "1"}}]
    with pytest.raises(GraphError) as wrong:
        kit.client.send_message(kit.c.phone_number_id, raw)
    assert wrong.value.code == 132012
    raw = copy.deepcopy(good)
    raw["template"]["components"][1]["parameters"][0]["text"] = "a\tb"
    with pytest.raises(GraphError) as tab:
        kit.client.send_message(kit.c.phone_number_id, raw)
    assert tab.value.code == 132018
    # and each refusal reads as its troubleshooting entry
    keys = {send_problem(e.value) for e in (short, wrong, tab)}
    assert keys == {"template_send_parameters"}
    paused = copy.deepcopy(good)
    kit.mock.patch("template", template.meta_template_id, status="PAUSED")
    with pytest.raises(GraphError) as stopped:
        kit.client.send_message(kit.c.phone_number_id, paused)
    assert (stopped.value.code, send_problem(stopped.value)) == (132015, "template_paused")
    assert str(ts.get("template_send_parameters").title)


def test_a_recipient_that_is_no_number_is_refused(kit: Kit) -> None:
    template = kit.approved(kinds(kit.handle)["text header and body"]["template"])
    with pytest.raises(Invalid) as refused:
        template_send_payload(template, {"header": "A", "body": ["a", "b"]}, "call me")
    assert refused.value.field == "to"
    payload = template_send_payload(
        template, {"header": "A", "body": ["a", "b"]}, "+49 151 1234567"
    )
    assert payload["to"] == "491511234567"


@pytest.mark.parametrize("status", ["PAUSED", "DISABLED", "PENDING", "REJECTED"])
def test_a_template_that_cannot_be_sent_is_a_conflict(kit: Kit, status: str) -> None:
    template = kit.approved(kinds(kit.handle)["text header and body"]["template"])
    template.status = status
    with translation.override("en"), pytest.raises(Conflict) as refused:
        template_send_payload(template, {"header": "A", "body": ["a", "b"]}, CUSTOMER)
    assert refused.value.code == "template_not_sendable"
    words = {
        "PAUSED": "paused",
        "DISABLED": "disabled",
        "PENDING": "not approved",
        "REJECTED": "not approved",
    }
    assert words[status] in refused.value.message


# --- Which templates a number may send, and the preview ---------------------------------------


def test_usable_templates_are_the_approved_ones_of_the_numbers_account(
    kit: Kit, world: World
) -> None:
    spec = kinds(kit.handle)["text header and body"]["template"]
    english = kit.approved(spec, name="ready")
    german = kit.approved({**spec}, name="ready_de")
    with tenant_scope(kit.c.tenant):
        Template.objects.filter(pk=german.pk).update(language="de")
        pending = Template.objects.create(
            tenant=kit.c.tenant,
            waba=kit.c.waba,
            name="waiting",
            language="en_US",
            category="UTILITY",
            status="PENDING",
            components=[BODY],
        )
        other_phone = PhoneNumberFactory(waba__tenant=kit.c.tenant)
        phone = kit.c.phone
        assert list(usable_templates(phone)) == [english, german]
        assert list(usable_templates(phone, language="de")) == [german]
        assert pending not in usable_templates(phone)
        assert list(usable_templates(other_phone)) == []
    with tenant_scope(world.other_tenant):
        assert list(usable_templates(phone)) == []


def test_the_preview_fills_in_values_and_shows_what_is_missing(kit: Kit) -> None:
    cases = kinds(kit.handle)
    tpl = draft(cases["URL suffix, phone, quick reply payload"]["template"])
    rendered = template_render(tpl, {"body.1": "Bea", "button.0": "A-77"})
    assert rendered.body == "Hi Bea, your order {{2}} is on its way to you today."
    assert rendered.missing == ("body.2",)
    assert [b.kind for b in rendered.buttons] == ["URL", "PHONE_NUMBER", "QUICK_REPLY"]
    assert rendered.buttons[0].url == "https://example.com/track/A-77"
    assert rendered.buttons[1].phone_number == "+14155550123"

    examples = template_examples(tpl)
    assert examples == {"body.1": "Ann", "body.2": "A-1001", "button.0": "A-1001"}
    full = template_render(tpl, examples)
    assert full.missing == () and "A-1001" in full.body

    image = draft(cases["image header"]["template"])
    assert template_examples(image)["header"] == {"handle": kit.handle}
    assert template_render(image, template_examples(image)).header_format == "IMAGE"

    with translation.override("en"):
        otp = draft(cases["authentication, copy code"]["template"])
        shown = template_render(otp, {"code": "482913"})
    assert (
        shown.body == "482913 is your verification code. For your security, do not share this code."
    )
    assert shown.footer == "This code expires in 10 minutes."
    assert shown.buttons[0].text == "Copy"
    assert [s.key for s in template_slots(otp)] == ["code"]
