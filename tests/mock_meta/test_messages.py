"""Sending rules: window, registration, templates, throughput, pair rate; media."""

from __future__ import annotations

from typing import Any

import pytest

from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph, error_of

CUSTOMER = "16505551234"


def _text(to: str = CUSTOMER, body: str = "Hello") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
    }


def _template(name: str = "hello_world", params: list[str] | None = None) -> dict[str, Any]:
    tpl: dict[str, Any] = {"name": name, "language": {"code": "en_US"}}
    if params is not None:
        tpl["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
        ]
    return {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template", "template": tpl}


def test_window_rule(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    err = error_of(graph.post(f"{pid}/messages", _text()))
    assert err["code"] == 131047
    # templates may be sent outside the window
    resp = graph.post(f"{pid}/messages", _template())
    assert resp.ok
    msg = resp.json()
    assert msg["contacts"] == [{"input": CUSTOMER, "wa_id": CUSTOMER}]
    assert msg["messages"][0]["id"].startswith("wamid.")
    mock_meta.inbound(phone_number_id=pid, **{"from": CUSTOMER}, text="Hi there")
    resp = graph.post(f"{pid}/messages", _text(to="+" + CUSTOMER))
    assert resp.ok and resp.json()["contacts"][0]["input"] == "+" + CUSTOMER
    mock_meta.advance_clock(24 * 3600 + 1)
    assert error_of(graph.post(f"{pid}/messages", _text()))["code"] == 131047


def test_unregistered_sender(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    assert graph.post(f"{pid}/deregister").ok
    assert error_of(graph.post(f"{pid}/messages", _template()))["code"] == 133010


def test_template_rules(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    resp = graph.post(f"{pid}/messages", _template("no_such_template"))
    assert resp.status_code == 404 and error_of(resp)["code"] == 132001
    graph.post(
        f"{seeded['waba_id']}/message_templates",
        {
            "name": "fresh",
            "language": "en_US",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Fresh one"}],
        },
    )
    assert error_of(graph.post(f"{pid}/messages", _template("fresh")))["code"] == 132001
    err = error_of(graph.post(f"{pid}/messages", _template("order_update", ["Ann"])))
    assert err["code"] == 132000
    assert graph.post(f"{pid}/messages", _template("order_update", ["Ann", "A-1"])).ok


def test_throughput_limit(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    mock_meta.config(throughput=3)
    pid = seeded["phone_number_id"]
    codes = []
    for i in range(5):
        resp = graph.post(f"{pid}/messages", {**_template(), "to": f"1650555000{i}"})
        codes.append(resp.json().get("error", {}).get("code", 200))
    assert codes[:3] == [200, 200, 200]
    assert 130429 in codes[3:]


def test_pair_rate_limit(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    mock_meta.config(pair_burst=2, pair_interval=60)
    pid = seeded["phone_number_id"]
    assert graph.post(f"{pid}/messages", _template()).ok
    assert graph.post(f"{pid}/messages", _template()).ok
    err = error_of(graph.post(f"{pid}/messages", _template()))
    assert err["code"] == 131056
    # another customer is not affected
    assert graph.post(f"{pid}/messages", {**_template(), "to": "16505550001"}).ok


def test_other_message_types(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    mock_meta.inbound(phone_number_id=pid, **{"from": CUSTOMER}, text="hi")
    base = {"messaging_product": "whatsapp", "to": CUSTOMER}
    bodies = [
        {"type": "image", "image": {"link": "https://example.com/a.jpg", "caption": "A"}},
        {
            "type": "document",
            "document": {"link": "https://example.com/a.pdf", "filename": "a.pdf"},
        },
        {"type": "location", "location": {"latitude": 1.0, "longitude": 2.0}},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Ann"}}]},
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Pick"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]},
            },
        },
        {"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "👍"}},
    ]
    for body in bodies:
        resp = graph.post(f"{pid}/messages", {**base, **body})
        assert resp.ok, (body, resp.text)
    err = error_of(
        graph.post(
            f"{pid}/messages",
            {
                **base,
                "type": "interactive",
                "interactive": {"type": "button", "body": {"text": "x"}, "action": {"buttons": []}},
            },
        )
    )
    assert err["code"] == 131009
    assert (
        error_of(graph.post(f"{pid}/messages", {**base, "type": "poll", "poll": {}}))["code"]
        == 131051
    )


def test_mark_as_read(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    inbound = mock_meta.inbound(phone_number_id=pid, **{"from": CUSTOMER}, text="hi")
    resp = graph.post(
        f"{pid}/messages",
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": inbound["message_id"],
            "typing_indicator": {"type": "text"},
        },
    )
    assert resp.json() == {"success": True}
    err = error_of(
        graph.post(
            f"{pid}/messages",
            {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"},
        )
    )
    assert err["code"] == 100


def test_media_upload_get_download(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    content = b"\x89PNG fake image bytes"
    resp = graph.post(
        f"{pid}/media",
        data={"messaging_product": "whatsapp", "type": "image/png"},
        files={"file": ("a.png", content, "image/png")},
    )
    assert resp.ok, resp.text
    media_id = resp.json()["id"]
    info = graph.get(media_id).json()
    assert info["mime_type"] == "image/png" and info["file_size"] == len(content)
    assert info["messaging_product"] == "whatsapp"
    import hashlib

    import requests

    assert info["sha256"] == hashlib.sha256(content).hexdigest()
    dl = requests.get(info["url"], headers={"Authorization": f"Bearer {graph.token}"}, timeout=5)
    assert dl.content == content
    assert requests.get(info["url"], timeout=5).status_code == 401
    # inbound media can be downloaded too
    msg = mock_meta.inbound(
        phone_number_id=pid, **{"from": CUSTOMER}, type="image", image={"caption": "look"}
    )
    media = graph.get(msg["message"]["image"]["id"]).json()
    assert media["mime_type"] == "image/jpeg"
    assert graph.delete(media_id).json() == {"success": True}
    assert error_of(graph.get(media_id))["code"] == 100


# --- Template messages: what Meta refuses when a template's parameters do not fit ----------

TEXT_HEADER = {
    "type": "HEADER",
    "format": "TEXT",
    "text": "Order {{1}}",
    "example": {"header_text": ["A-1"]},
}
TWO_VARS = {
    "type": "BODY",
    "text": "Hi {{1}}, your order {{2}} ships today.",
    "example": {"body_text": [["Ann", "A-1"]]},
}
NAMED = {
    "type": "BODY",
    "text": "Hi {{first_name}}, your order {{order_id}} ships today.",
    "example": {
        "body_text_named_params": [
            {"param_name": "first_name", "example": "Ann"},
            {"param_name": "order_id", "example": "A-1"},
        ]
    },
}
TEMPLATES = [
    {"name": "texts", "components": [TEXT_HEADER, TWO_VARS]},
    {
        "name": "picture",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::h"]}},
            {"type": "BODY", "text": "Your photo is ready."},
        ],
    },
    {"name": "named", "parameter_format": "NAMED", "components": [NAMED]},
    {
        "name": "buttons",
        "category": "MARKETING",
        "components": [
            {"type": "BODY", "text": "Your offer is waiting."},
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Open",
                        "url": "https://example.com/o/{{1}}",
                        "example": ["x"],
                    },
                    {"type": "COPY_CODE", "example": "SAVE10"},
                ],
            },
        ],
    },
    {
        "name": "login",
        "category": "AUTHENTICATION",
        "components": [
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
        ],
    },
    {"name": "resting", "status": "PAUSED", "components": [{"type": "BODY", "text": "x"}]},
    {"name": "gone", "status": "DISABLED", "components": [{"type": "BODY", "text": "x"}]},
    {"name": "waiting", "status": "PENDING", "components": [{"type": "BODY", "text": "x"}]},
]


def _send(name: str, components: list[dict[str, Any]] | None, language: str = "en_US") -> Any:
    tpl: dict[str, Any] = {"name": name, "language": {"code": language, "policy": "deterministic"}}
    if components is not None:
        tpl["components"] = components
    return {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template", "template": tpl}


def _texts(*values: str, name: str | None = None) -> list[dict[str, Any]]:
    out = []
    for i, value in enumerate(values):
        param: dict[str, Any] = {"type": "text", "text": value}
        if name is not None:
            param["parameter_name"] = name.split(",")[i]
        out.append(param)
    return out


def _button(index: int, sub_type: str, *params: dict[str, Any]) -> dict[str, Any]:
    return {"type": "button", "sub_type": sub_type, "index": str(index), "parameters": list(params)}


GOOD_SENDS: dict[str, list[dict[str, Any]]] = {
    "texts": [
        {"type": "header", "parameters": _texts("A-7")},
        {"type": "body", "parameters": _texts("Bea", "A-7")},
    ],
    "picture": [
        {
            "type": "header",
            "parameters": [{"type": "image", "image": {"link": "https://e.com/a.jpg"}}],
        }
    ],
    "named": [{"type": "body", "parameters": _texts("Bea", "A-7", name="first_name,order_id")}],
    "buttons": [
        _button(0, "url", {"type": "text", "text": "x1"}),
        _button(1, "copy_code", {"type": "coupon_code", "coupon_code": "SPRING"}),
    ],
    "login": [
        {"type": "body", "parameters": _texts("123456")},
        _button(0, "url", {"type": "text", "text": "123456"}),
    ],
}

# (what is wrong, template, components, the code Meta answers)
BAD_SENDS: list[tuple[str, str, list[dict[str, Any]] | None, int]] = [
    ("no header parameter", "texts", [{"type": "body", "parameters": _texts("a", "b")}], 132000),
    (
        "one body parameter short",
        "texts",
        [GOOD_SENDS["texts"][0], {"type": "body", "parameters": _texts("a")}],
        132000,
    ),
    (
        "one body parameter extra",
        "texts",
        [GOOD_SENDS["texts"][0], {"type": "body", "parameters": _texts("a", "b", "c")}],
        132000,
    ),
    ("no parameters at all", "texts", None, 132000),
    (
        "header parameter for a template without one",
        "named",
        [{"type": "header", "parameters": _texts("x")}, *GOOD_SENDS["named"]],
        132000,
    ),
    (
        "text for an image header",
        "picture",
        [{"type": "header", "parameters": _texts("x")}],
        132012,
    ),
    (
        "video for an image header",
        "picture",
        [{"type": "header", "parameters": [{"type": "video", "video": {"id": "1"}}]}],
        132012,
    ),
    (
        "image for a body variable",
        "texts",
        [
            GOOD_SENDS["texts"][0],
            {"type": "body", "parameters": [{"type": "image", "image": {"id": "1"}}, *_texts("b")]},
        ],
        132012,
    ),
    (
        "named template without names",
        "named",
        [{"type": "body", "parameters": _texts("a", "b")}],
        132012,
    ),
    (
        "named template with a wrong name",
        "named",
        [{"type": "body", "parameters": _texts("a", "b", name="first_name,city")}],
        132012,
    ),
    ("URL suffix missing", "buttons", [GOOD_SENDS["buttons"][1]], 132000),
    (
        "offer code as text",
        "buttons",
        [GOOD_SENDS["buttons"][0], _button(1, "copy_code", {"type": "text", "text": "x"})],
        132012,
    ),
    ("one-time password missing", "login", [{"type": "body", "parameters": _texts("1")}], 132000),
    (
        "line break in a value",
        "texts",
        [GOOD_SENDS["texts"][0], {"type": "body", "parameters": _texts("a\nb", "c")}],
        132018,
    ),
    (
        "body too long when filled",
        "texts",
        [GOOD_SENDS["texts"][0], {"type": "body", "parameters": _texts("x" * 1020, "c")}],
        132005,
    ),
]


def _template_waba(mock_meta: MockMeta) -> dict[str, Any]:
    return mock_meta.seed(
        businesses=[
            {
                "name": "Templates Ltd",
                "wabas": [
                    {
                        "name": "Templates",
                        "phone_numbers": [{"phone": "+15550007777"}],
                        "templates": TEMPLATES,
                    }
                ],
            }
        ]
    )


@pytest.mark.parametrize("name", sorted(GOOD_SENDS))
def test_a_template_message_that_fits_is_sent(mock_meta: MockMeta, name: str) -> None:
    seeded = _template_waba(mock_meta)
    graph = Graph(mock_meta, seeded["token"])
    resp = graph.post(f"{seeded['phone_number_id']}/messages", _send(name, GOOD_SENDS[name]))
    assert resp.ok, resp.text


@pytest.mark.parametrize(
    ("case", "name", "components", "code"), BAD_SENDS, ids=[b[0] for b in BAD_SENDS]
)
def test_a_template_message_that_does_not_fit_is_refused(
    mock_meta: MockMeta, case: str, name: str, components: Any, code: int
) -> None:
    seeded = _template_waba(mock_meta)
    graph = Graph(mock_meta, seeded["token"])
    resp = graph.post(f"{seeded['phone_number_id']}/messages", _send(name, components))
    assert resp.status_code == 400, (case, resp.text)
    err = error_of(resp)
    assert err["code"] == code, (case, err)
    assert err["error_data"]["details"]


@pytest.mark.parametrize(
    ("name", "language", "code", "status"),
    [
        ("texts", "de", 132001, 404),
        ("no_such", "en_US", 132001, 404),
        ("waiting", "en_US", 132001, 404),
        ("resting", "en_US", 132015, 400),
        ("gone", "en_US", 132016, 400),
    ],
)
def test_a_template_that_cannot_be_sent_is_refused(
    mock_meta: MockMeta, name: str, language: str, code: int, status: int
) -> None:
    seeded = _template_waba(mock_meta)
    graph = Graph(mock_meta, seeded["token"])
    resp = graph.post(
        f"{seeded['phone_number_id']}/messages", _send(name, GOOD_SENDS["texts"], language)
    )
    assert resp.status_code == status
    assert error_of(resp)["code"] == code
    # nothing was sent: no message, no status webhooks
    assert not [m for m in mock_meta.state()["messages"] if m["type"] == "template"]
