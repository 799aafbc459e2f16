"""Signed webhook deliveries to a real HTTP receiver, retries and delivery modes."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from waba_portal.mock_meta.control_client import MockMeta, MockMetaError
from waba_portal.mock_meta.state import bsuid

from .conftest import Graph, Receiver

CUSTOMER = "16505551234"


def _statuses(changes: list[dict[str, Any]]) -> list[str]:
    return [
        s["status"]
        for c in changes
        if c["field"] == "messages"
        for s in c["value"].get("statuses", [])
    ]


def _send_template(graph: Graph, pid: str, to: str = CUSTOMER) -> str:
    resp = graph.post(
        f"{pid}/messages",
        {
            "messaging_product": "whatsapp",
            "to": to,
            "type": "template",
            "biz_opaque_callback_data": "t-1",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        },
    )
    assert resp.ok, resp.text
    return str(resp.json()["messages"][0]["id"])


def test_status_sequence_signed(receiver: Receiver, graph: Graph, seeded: dict[str, Any]) -> None:
    wamid = _send_template(graph, seeded["phone_number_id"])
    changes = receiver.wait(lambda ch: len(_statuses(ch)) >= 3)
    assert _statuses(changes) == ["sent", "delivered", "read"]
    assert all(receiver.valid(item) for item in receiver.received)
    payload = receiver.payloads()[0]
    assert payload["object"] == "whatsapp_business_account"
    assert payload["entry"][0]["id"] == seeded["waba_id"]
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status["id"] == wamid and status["recipient_id"] == CUSTOMER
    assert status["biz_opaque_callback_data"] == "t-1"
    assert status["pricing"]["category"] == "utility"
    meta = payload["entry"][0]["changes"][0]["value"]["metadata"]
    assert meta == {
        "display_phone_number": "15550100001",
        "phone_number_id": seeded["phone_number_id"],
    }


def test_failed_status(
    receiver: Receiver, graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    mock_meta.config(undeliverable_recipients=["16505550666"])
    _send_template(graph, seeded["phone_number_id"], to="16505550666")
    changes = receiver.wait(lambda ch: "failed" in _statuses(ch))
    failed = next(s for c in changes for s in c["value"].get("statuses", []))
    assert failed["errors"][0]["code"] == 131026


def test_inbound_message_webhook(
    receiver: Receiver, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    kinds = [
        {"type": "text", "text": "hello"},
        {"type": "image", "image": {"caption": "pic"}},
        {"type": "document", "document": {"filename": "a.pdf"}},
        {"type": "audio", "audio": {"voice": True}},
        {"type": "video"},
        {"type": "location"},
        {"type": "contacts"},
        {
            "type": "interactive",
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": "r1", "title": "Row", "description": "d"},
            },
        },
        {"type": "button", "button": {"payload": "STOP", "text": "Stop"}},
        {"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "❤"}},
        {"type": "order"},
        {"type": "unsupported"},
    ]
    for kind in kinds:
        mock_meta.inbound(phone_number_id=pid, name="Sheena", **{"from": CUSTOMER}, **kind)
    changes = receiver.wait(lambda ch: len(ch) >= len(kinds))
    msgs = [c["value"]["messages"][0] for c in changes]
    assert [m["type"] for m in msgs] == [k["type"] for k in kinds]
    assert changes[0]["value"]["contacts"] == [
        {
            "profile": {"name": "Sheena"},
            "wa_id": CUSTOMER,
            "user_id": bsuid(seeded["business_id"], CUSTOMER),
        }
    ]
    assert msgs[0]["text"] == {"body": "hello"}
    assert msgs[1]["image"]["caption"] == "pic" and msgs[1]["image"]["id"].isdigit()
    assert msgs[-1]["errors"][0]["code"] == 131051


def test_retries_on_non_200(
    receiver: Receiver, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    receiver.statuses = [500, 503]
    mock_meta.inbound(
        phone_number_id=seeded["phone_number_id"], **{"from": CUSTOMER}, text="retry me"
    )
    receiver.wait(lambda ch: len(ch) == 1)
    assert [r["status"] for r in receiver.received] == [500, 503, 200]
    log = mock_meta.webhooks()
    assert [(e["attempt"], e["status"]) for e in log] == [(1, 500), (2, 503), (3, 200)]
    assert len({e["delivery_id"] for e in log}) == 1


def test_a_reset_returns_once_the_delivery_on_its_way_is_answered(
    receiver: Receiver, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    """A test's teardown resets the mock and then empties its database: the receiver must
    not still be handling one of the mock's POSTs by then."""
    receiver.hold = True
    mock_meta.inbound(phone_number_id=seeded["phone_number_id"], **{"from": CUSTOMER}, text="x")
    assert receiver.entered.wait(timeout=5)
    answered_at_return: list[bool] = []

    def reset() -> None:
        mock_meta.reset(keep_config=True)
        answered_at_return.append(receiver.answered.is_set())

    resetting = threading.Thread(target=reset)
    resetting.start()
    resetting.join(timeout=0.3)
    assert resetting.is_alive(), "the reset did not wait for the POST to be answered"
    receiver.release.set()
    resetting.join(timeout=5)
    assert answered_at_return == [True]
    assert mock_meta.webhooks() == []


def test_retries_are_bounded(
    receiver: Receiver, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    mock_meta.config(webhook_retry={"max_attempts": 2, "backoff": 0.05})
    receiver.statuses = [500] * 10
    mock_meta.inbound(phone_number_id=seeded["phone_number_id"], **{"from": CUSTOMER}, text="x")
    log = mock_meta.webhooks(wait=3)
    assert [e["attempt"] for e in log] == [1, 2]
    assert not any(e["ok"] for e in log)


def test_duplicate_mode(receiver: Receiver, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    mock_meta.config(webhook_mode="duplicate")
    mock_meta.inbound(phone_number_id=seeded["phone_number_id"], **{"from": CUSTOMER}, text="x")
    receiver.wait(lambda ch: len(ch) == 2)
    assert receiver.received[0]["raw"] == receiver.received[1]["raw"]
    assert all(receiver.valid(r) for r in receiver.received)


def test_reorder_mode(receiver: Receiver, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    mock_meta.config(webhook_mode="reorder")
    for text in ("first", "second", "third"):
        mock_meta.inbound(
            phone_number_id=seeded["phone_number_id"], **{"from": CUSTOMER}, text=text
        )
    changes = receiver.wait(lambda ch: len(ch) == 3)
    assert [c["value"]["messages"][0]["text"]["body"] for c in changes] == [
        "third",
        "second",
        "first",
    ]


def test_batch_mode(receiver: Receiver, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    mock_meta.config(webhook_mode="batch")
    for text in ("a", "b"):
        mock_meta.inbound(
            phone_number_id=seeded["phone_number_id"], **{"from": CUSTOMER}, text=text
        )
    mock_meta.emit(field="account_review_update", waba_id=seeded["waba_id"], decision="APPROVED")
    receiver.wait(lambda ch: len(ch) == 3)
    assert len(receiver.received) == 1
    payload = receiver.payloads()[0]
    assert len(payload["entry"]) == 1 and len(payload["entry"][0]["changes"]) == 3
    assert receiver.valid(receiver.received[0])


def test_template_decision_webhook(
    receiver: Receiver, graph: Graph, seeded: dict[str, Any]
) -> None:
    resp = graph.post(
        f"{seeded['waba_id']}/message_templates",
        {
            "name": "reject_this",
            "language": "en_US",
            "category": "MARKETING",
            "components": [{"type": "BODY", "text": "Hello there"}],
        },
    )
    tid = resp.json()["id"]
    changes = receiver.wait(
        lambda ch: any(c["field"] == "message_template_status_update" for c in ch)
    )
    value = changes[0]["value"]
    assert value["event"] == "REJECTED" and value["message_template_id"] == int(tid)
    assert value["reason"] == "INVALID_FORMAT" and value["message_template_language"] == "en_US"


def test_emitted_events(receiver: Receiver, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    waba, pid = seeded["waba_id"], seeded["phone_number_id"]
    tid = seeded["businesses"][0]["wabas"][0]["templates"][0]["id"]
    mock_meta.emit(field="account_update", waba_id=waba, event="ACCOUNT_RESTRICTION")
    mock_meta.emit(
        field="account_update", waba_id=waba, event="ACCOUNT_VIOLATION", violation_type="SPAM"
    )
    mock_meta.emit(
        field="phone_number_quality_update",
        phone_number_id=pid,
        event="UPGRADE",
        current_limit="TIER_10K",
    )
    mock_meta.emit(
        field="phone_number_name_update",
        phone_number_id=pid,
        decision="REJECTED",
        requested_verified_name="Bad Name",
        rejection_reason="NAME_POLICY",
    )
    mock_meta.emit(
        field="business_capability_update",
        waba_id=waba,
        max_daily_conversations_per_business="TIER_100K",
    )
    mock_meta.emit(field="account_review_update", waba_id=waba, decision="REJECTED")
    mock_meta.emit(field="template_category_update", template_id=tid, new_category="MARKETING")
    mock_meta.emit(field="message_template_status_update", template_id=tid, event="PAUSED")
    mock_meta.emit(
        field="account_update",
        waba_id=waba,
        event="DISABLED_UPDATE",
        ban_state="SCHEDULE_FOR_DISABLE",
    )
    changes = receiver.wait(lambda ch: len(ch) == 9)
    fields = [c["field"] for c in changes]
    assert fields == [
        "account_update",
        "account_update",
        "phone_number_quality_update",
        "phone_number_name_update",
        "business_capability_update",
        "account_review_update",
        "template_category_update",
        "message_template_status_update",
        "account_update",
    ]
    assert changes[0]["value"]["restriction_info"][0]["restriction_type"]
    assert changes[2]["value"]["current_limit"] == "TIER_10K"
    assert changes[3]["value"]["decision"] == "REJECTED"
    assert changes[6]["value"]["new_category"] == "MARKETING"
    assert changes[8]["value"]["ban_info"]["waba_ban_state"] == ["SCHEDULE_FOR_DISABLE"]
    state = mock_meta.state()
    assert state["wabas"][0]["account_review_status"] == "REJECTED"
    assert state["businesses"][0]["messaging_limit"] == "TIER_100K"
    assert state["templates"][0]["status"] == "PAUSED"
    assert state["phone_numbers"][0]["name_status"] == "DECLINED"


def test_override_callback_and_unsubscribed(
    receiver: Receiver, graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    other = Receiver(mock_meta.app_secret)
    try:
        graph.post(
            f"{seeded['waba_id']}/subscribed_apps",
            {"override_callback_uri": other.url, "verify_token": "vt"},
        )
        mock_meta.inbound(
            phone_number_id=seeded["phone_number_id"], **{"from": CUSTOMER}, text="to override"
        )
        other.wait(lambda ch: len(ch) == 1)
        assert receiver.changes() == []
        graph.delete(f"{seeded['waba_id']}/subscribed_apps")
        mock_meta.inbound(
            phone_number_id=seeded["phone_number_id"], **{"from": CUSTOMER}, text="nobody"
        )
        log = mock_meta.webhooks()
        assert log[-1]["skipped"] == "app not subscribed to WABA"
    finally:
        other.server.shutdown()
        other.server.server_close()


def test_business_scoped_user_ids(
    receiver: Receiver, graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    """NOTES §10: contacts carry the BSUID; usernames; a number kept private; statuses name
    their recipient; a changed number brings a new user_id."""
    pid, business = seeded["phone_number_id"], seeded["business_id"]
    other = mock_meta.seed(
        businesses=[{"name": "Other", "wabas": [{"phone_numbers": [{"phone": "+15550109999"}]}]}]
    )
    mock_meta.inbound(phone_number_id=pid, text="a", username="sheena", **{"from": CUSTOMER})
    mock_meta.inbound(phone_number_id=other["phone_number_id"], text="b", **{"from": CUSTOMER})
    mock_meta.inbound(
        phone_number_id=pid,
        text="c",
        username="private",
        hide_wa_id=True,
        parent_user_id=True,
        **{"from": "16505552000"},
    )
    first, elsewhere, private = (c["value"] for c in receiver.wait(lambda ch: len(ch) == 3))
    me = first["contacts"][0]
    assert me == {
        "profile": {"name": "Customer", "username": "sheena"},
        "wa_id": CUSTOMER,
        "user_id": bsuid(business, CUSTOMER),
    }
    assert re.fullmatch(r"US\.[0-9]{20}", me["user_id"])
    assert elsewhere["contacts"][0]["user_id"] != me["user_id"]  # scoped to the business
    hidden = private["contacts"][0]
    assert "wa_id" not in hidden and "from" not in private["messages"][0]
    assert hidden["parent_user_id"].startswith("US.ENT.")
    with pytest.raises(MockMetaError):  # only a user with a username hides the number
        mock_meta.inbound(phone_number_id=pid, text="x", hide_wa_id=True, **{"from": "1650555"})

    _send_template(graph, pid)
    changes = receiver.wait(lambda ch: len(_statuses(ch)) >= 3)
    for change in changes[3:]:
        (status,) = change["value"]["statuses"]
        (contact,) = change["value"]["contacts"]
        assert contact["user_id"] == me["user_id"] and contact["wa_id"] == CUSTOMER
        # The username comes with delivered and read statuses, not with sent.
        assert ("username" in contact.get("profile", {})) == (status["status"] != "sent")

    # The identity key check adds identity_key_hash; a changed number, a new user_id.
    assert graph.post(f"{pid}/settings", {"user_identity_change": {"enabled": True}}).ok
    mock_meta.inbound(phone_number_id=pid, text="d", **{"from": CUSTOMER})
    mock_meta.inbound(
        phone_number_id=pid, type="system", new_wa_id="16505559999", **{"from": CUSTOMER}
    )
    keyed, changed = (c["value"] for c in receiver.wait(lambda ch: len(ch) == 8)[6:])
    assert keyed["contacts"][0]["identity_key_hash"]
    assert "contacts" not in changed
    assert changed["messages"][0]["system"] == {
        "body": f"User Customer changed from {CUSTOMER} to 16505559999",
        "wa_id": "16505559999",
        "type": "user_changed_number",
        "user_id": bsuid(business, "16505559999"),
    }
