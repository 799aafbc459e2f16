"""Callback overrides (NOTES §10, DOC …/whatsapp/webhooks/override): the verification GET,
and which webhooks follow an override.

Setting ``override_callback_uri`` (on the WABA's ``subscribed_apps`` or a number's
``webhook_configuration``) needs ``verify_token``; Meta sends the URL the verification GET
(``hub.mode=subscribe``, ``hub.verify_token``, ``hub.challenge``) and refuses the override
unless the challenge comes back. Routing: the number's override, then the WABA's, then the
app's callback URL, for the fields that follow overrides; template and account-level
webhooks always go to the app's callback URL.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph, Receiver, error_of

CUSTOMER = "16505551234"


@pytest.fixture
def waba_hook(mock_meta: MockMeta) -> Iterator[Receiver]:
    rec = Receiver(mock_meta.app_secret, verify_token="waba-token")
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture
def phone_hook(mock_meta: MockMeta) -> Iterator[Receiver]:
    rec = Receiver(mock_meta.app_secret, verify_token="phone-token")
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


def _subscribe(graph: Graph, waba: str, url: str, token: str | None) -> Any:
    body = {"override_callback_uri": url}
    if token is not None:
        body["verify_token"] = token
    return graph.post(f"{waba}/subscribed_apps", body)


def _override_of(graph: Graph, waba: str) -> str | None:
    data = graph.get(f"{waba}/subscribed_apps").json()["data"]
    return data[0].get("override_callback_uri") if data else None


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_waba_override_is_verified_with_its_token(
    graph: Graph, seeded: dict[str, Any], waba_hook: Receiver
) -> None:
    waba = seeded["waba_id"]
    resp = _subscribe(graph, waba, waba_hook.url, "waba-token")
    assert resp.status_code == 200, resp.text
    (check,) = waba_hook.verifications
    assert check["hub.mode"] == "subscribe"
    assert check["hub.verify_token"] == "waba-token"
    assert check["hub.challenge"].isdigit()
    assert _override_of(graph, waba) == waba_hook.url


def test_waba_override_refused_unless_the_challenge_comes_back(
    graph: Graph, seeded: dict[str, Any], waba_hook: Receiver
) -> None:
    waba = seeded["waba_id"]
    err = error_of(_subscribe(graph, waba, waba_hook.url, "not-its-token"))
    assert err["code"] == 100 and "verification" in err["message"].lower()
    assert [v["hub.verify_token"] for v in waba_hook.verifications] == ["not-its-token"]
    unreachable = f"http://127.0.0.1:{_closed_port()}/hook"
    assert error_of(_subscribe(graph, waba, unreachable, "waba-token"))["code"] == 100
    assert _override_of(graph, waba) is None  # the seeded subscription, unchanged


def test_override_needs_a_verify_token_and_a_short_url(
    graph: Graph, seeded: dict[str, Any], waba_hook: Receiver
) -> None:
    waba, pid = seeded["waba_id"], seeded["phone_number_id"]
    assert error_of(_subscribe(graph, waba, waba_hook.url, None))["code"] == 100
    too_long = waba_hook.url + "?" + "x" * 200
    assert error_of(_subscribe(graph, waba, too_long, "waba-token"))["code"] == 100
    no_token = {"webhook_configuration": {"override_callback_uri": waba_hook.url}}
    assert error_of(graph.post(pid, no_token))["code"] == 100
    assert waba_hook.verifications == []  # refused before any GET


def test_phone_override_is_verified_too(
    graph: Graph, seeded: dict[str, Any], phone_hook: Receiver
) -> None:
    pid = seeded["phone_number_id"]
    wrong = {
        "webhook_configuration": {
            "override_callback_uri": phone_hook.url,
            "verify_token": "not-its-token",
        }
    }
    assert error_of(graph.post(pid, wrong))["code"] == 100
    conf = graph.get(pid, fields="webhook_configuration").json()["webhook_configuration"]
    assert "phone_number" not in conf
    right = {
        "webhook_configuration": {
            "override_callback_uri": phone_hook.url,
            "verify_token": "phone-token",
        }
    }
    assert graph.post(pid, right).json() == {"success": True}
    assert [v["hub.verify_token"] for v in phone_hook.verifications] == [
        "not-its-token",
        "phone-token",
    ]
    conf = graph.get(pid, fields="webhook_configuration").json()["webhook_configuration"]
    assert conf["phone_number"] == phone_hook.url


def test_routing_follows_overrides_only_for_message_fields(
    receiver: Receiver,
    graph: Graph,
    mock_meta: MockMeta,
    seeded: dict[str, Any],
    waba_hook: Receiver,
    phone_hook: Receiver,
) -> None:
    waba, pid = seeded["waba_id"], seeded["phone_number_id"]
    tid = seeded["businesses"][0]["wabas"][0]["templates"][0]["id"]

    def account_and_template_events() -> None:
        mock_meta.emit(field="message_template_status_update", template_id=tid, event="PAUSED")
        mock_meta.emit(field="template_category_update", template_id=tid, new_category="MARKETING")
        mock_meta.emit(field="account_update", waba_id=waba, event="ACCOUNT_VIOLATION")
        mock_meta.emit(field="account_review_update", waba_id=waba, decision="APPROVED")

    # The WABA's override: messages go there; template and account webhooks do not.
    assert _subscribe(graph, waba, waba_hook.url, "waba-token").ok
    mock_meta.inbound(phone_number_id=pid, text="to the WABA's URL", **{"from": CUSTOMER})
    account_and_template_events()
    waba_hook.wait(lambda ch: len(ch) == 1)
    app = receiver.wait(lambda ch: len(ch) == 4)
    assert [c["field"] for c in waba_hook.changes()] == ["messages"]
    assert [c["field"] for c in app] == [
        "message_template_status_update",
        "template_category_update",
        "account_update",
        "account_review_update",
    ]

    # The number's override comes first; statuses follow it too.
    right = {
        "webhook_configuration": {
            "override_callback_uri": phone_hook.url,
            "verify_token": "phone-token",
        }
    }
    assert graph.post(pid, right).ok
    mock_meta.inbound(phone_number_id=pid, text="to the number's URL", **{"from": CUSTOMER})
    send = {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "text",
        "text": {"body": "Hello"},
    }
    assert graph.post(f"{pid}/messages", send).ok
    account_and_template_events()
    phone_changes = phone_hook.wait(lambda ch: len(ch) == 4)  # the message, three statuses
    assert all(c["field"] == "messages" for c in phone_changes)
    assert len(receiver.wait(lambda ch: len(ch) == 8)) == 8
    assert len(waba_hook.changes()) == 1
