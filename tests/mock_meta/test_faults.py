"""Fault injection: error envelopes, HTTP status, latency, dropped connections."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from waba_portal.mock_meta.control_client import MockMeta, MockMetaError

from .conftest import Graph, error_of


def test_error_fault_applies_n_times(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    mock_meta.fault(
        "GET",
        r"/phone_numbers$",
        code=80007,
        http_status=429,
        times=2,
        message="(#80007) Rate limit issues",
        is_transient=True,
    )
    path = f"{seeded['waba_id']}/phone_numbers"
    for _ in range(2):
        resp = graph.get(path)
        assert resp.status_code == 429
        err = error_of(resp)
        assert err["code"] == 80007 and err["is_transient"] is True
    assert graph.get(path).ok
    assert graph.get(seeded["waba_id"]).ok  # other paths untouched


def test_subcode_and_method_matching(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    mock_meta.fault("POST", "/register", code=133005, subcode=1234, details="pin")
    pid = seeded["phone_number_id"]
    assert graph.get(pid).ok  # GET does not match
    err = error_of(
        graph.post(f"{pid}/register", {"messaging_product": "whatsapp", "pin": "000000"})
    )
    assert (err["code"], err["error_subcode"], err["error_data"]["details"]) == (
        133005,
        1234,
        "pin",
    )


def test_http_status_only_fault(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    mock_meta.fault("*", seeded["waba_id"], http_status=503, code=2)
    resp = graph.get(seeded["waba_id"])
    assert resp.status_code == 503 and error_of(resp)["is_transient"] is True


def test_latency_fault(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    mock_meta.fault("GET", seeded["waba_id"], latency=0.4)
    start = time.monotonic()
    assert graph.get(seeded["waba_id"]).ok
    assert time.monotonic() - start >= 0.4
    with pytest.raises(requests.Timeout):
        mock_meta.fault("GET", seeded["waba_id"], latency=1.0)
        requests.get(
            f"{graph.base}/{seeded['waba_id']}",
            timeout=0.3,
            headers={"Authorization": f"Bearer {graph.token}"},
        )


def test_drop_fault(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    mock_meta.fault("POST", "/messages", drop=True)
    with pytest.raises(requests.ConnectionError):
        graph.post(f"{seeded['phone_number_id']}/messages", {"messaging_product": "whatsapp"})
    logged = mock_meta.requests()
    assert logged[-1]["dropped"] is True
    assert graph.get(seeded["waba_id"]).ok  # the server is still up


def test_invalid_fault_spec(mock_meta: MockMeta) -> None:
    with pytest.raises(MockMetaError):
        mock_meta.fault("GET", "x")  # neither code, status, latency nor drop


def test_a_request_held_over_a_reset_is_neither_done_nor_logged(mock_meta: MockMeta) -> None:
    """A reset starts a new generation: a Graph call a ``latency`` fault held across it
    (a slow request of the previous test) must not act on, or log into, the new world."""
    world = {
        "businesses": [{"id": "910000000000001", "wabas": [{"id": "920000000000001"}]}],
        "tokens": [{"token": "EAAheldOverReset"}],
    }
    mock_meta.seed(**world)
    mock_meta.fault("POST", "920000000000001", latency=1.0)
    answers: list[requests.Response] = []
    held = threading.Thread(
        target=lambda: answers.append(
            requests.post(
                f"{mock_meta.graph_url}/920000000000001",
                json={"name": "Renamed by a slow request"},
                headers={"Authorization": "Bearer EAAheldOverReset"},
                timeout=10,
            )
        )
    )
    held.start()
    time.sleep(0.3)  # the request is held by the fault now
    mock_meta.reset()
    mock_meta.seed(**world)  # the same ids and token as before the reset
    held.join(timeout=10)
    (answer,) = answers
    assert answer.status_code == 503 and error_of(answer)["code"] == 2
    assert mock_meta.requests() == []
    assert mock_meta.state()["wabas"][0]["name"] != "Renamed by a slow request"
