"""Sending rules: window, registration, templates, throughput, pair rate; media."""

from __future__ import annotations

from typing import Any

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
