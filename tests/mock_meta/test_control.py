"""The /_mock/ control API itself."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from waba_portal.mock_meta.control_client import MockMeta, MockMetaError

from .conftest import Graph


def test_reset_clears_everything(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    mock_meta.config(throughput=1)
    mock_meta.fault("GET", "x", code=1)
    graph.get(seeded["waba_id"])
    mock_meta.reset()
    state = mock_meta.state()
    assert state["wabas"] == [] and state["tokens"] == []
    assert state["config"]["throughput"] == 80
    assert mock_meta.requests() == []
    assert requests.get(f"{mock_meta.base_url}/_mock/faults", timeout=5).json() == {"faults": []}


def test_requests_log_redacts_tokens(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    graph.post(
        f"{seeded['phone_number_id']}/register", {"messaging_product": "whatsapp", "pin": "000000"}
    )
    requests.get(
        f"{graph.base}/{seeded['waba_id']}",
        params={"access_token": seeded["token"], "fields": "name"},
        timeout=5,
    )
    log = mock_meta.requests(clear=True)
    assert log[0]["method"] == "POST" and log[0]["body"] == {
        "messaging_product": "whatsapp",
        "pin": "000000",
    }
    assert log[0]["headers"]["Authorization"] == "Bearer ***"
    assert log[1]["query"] == {"access_token": "***", "fields": "name"}
    assert seeded["token"] not in str(log)
    assert mock_meta.requests() == []


def test_seed_shapes_and_state(mock_meta: MockMeta) -> None:
    seed = mock_meta.seed(
        businesses=[
            {
                "name": "B",
                "verification_status": "PENDING",
                "messaging_limit": "TIER_250",
                "wabas": [
                    {
                        "name": "W",
                        "account_review_status": "PENDING",
                        "phone_numbers": [
                            {
                                "phone": "+447700900123",
                                "status": "PENDING",
                                "registered": False,
                                "quality_rating": "UNKNOWN",
                                "name_status": "PENDING_REVIEW",
                            }
                        ],
                        "templates": [
                            {"name": "t1", "status": "REJECTED", "rejected_reason": "SCAM"}
                        ],
                    }
                ],
            }
        ]
    )
    graph = Graph(mock_meta, seed["token"])
    waba = graph.get(
        seed["waba_id"], fields="business_verification_status,account_review_status"
    ).json()
    assert waba["business_verification_status"] == "pending"
    phone = graph.get(
        seed["phone_number_id"], fields="display_phone_number,status,country_code,quality_rating"
    ).json()
    assert phone["country_code"] == "GB" and phone["status"] == "PENDING"
    state = mock_meta.state()
    assert state["templates"][0]["rejected_reason"] == "SCAM"


def test_config_validation(mock_meta: MockMeta) -> None:
    with pytest.raises(MockMetaError):
        mock_meta.config(nonsense=1)
    with pytest.raises(MockMetaError):
        mock_meta.config(webhook_mode="chaos")
    assert mock_meta.config(review_delay=0.5)["review_delay"] == 0.5


def test_inbound_and_emit_errors(mock_meta: MockMeta) -> None:
    with pytest.raises(MockMetaError):
        mock_meta.inbound(phone_number_id="1", text="x")
    with pytest.raises(MockMetaError):
        mock_meta.emit(field="nope", waba_id="1")


def test_raw_emit(receiver: Any, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    mock_meta.emit(
        field="security",
        waba_id=seeded["waba_id"],
        value={"display_phone_number": "15550100001", "event": "PIN_CHANGED"},
    )
    changes = receiver.wait(lambda ch: len(ch) == 1)
    assert changes[0] == {
        "field": "security",
        "value": {"display_phone_number": "15550100001", "event": "PIN_CHANGED"},
    }


def test_html_state_page_and_form(mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    page = requests.get(f"{mock_meta.base_url}/_mock/", timeout=5)
    assert page.ok and "Acme Support" in page.text and 'id="inbound-form"' in page.text
    resp = requests.post(
        f"{mock_meta.base_url}/_mock/ui/inbound",
        data={
            "phone_number_id": seeded["phone_number_id"],
            "from": "16505550000",
            "name": "Demo",
            "text": "from the form",
        },
        timeout=5,
    )
    assert resp.ok
    msgs = mock_meta.state()["messages"]
    assert msgs[-1]["payload"]["text"]["body"] == "from the form"
