"""Pytest plugin: the mock Meta server as a real subprocess, and a per-test control client.

Register with ``pytest_plugins = ["tests.fixtures_mock_meta"]``. No database needed.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from waba_portal.mock_meta.control_client import MockMeta
from waba_portal.mock_meta.server import spawn_subprocess

APP_ID = "100000000000001"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"

# Fast timings for tests; each test can change them with mock_meta.config(...).
TEST_CONFIG = {
    "review_delay": 0.2,
    "name_review_delay": 0.2,
    "status_delays": {"sent": 0.05, "delivered": 0.1, "read": 0.15},
    "webhook_backoff": 0.1,
    "webhook_max_backoff": 1.0,
    "webhook_max_attempts": 4,
    "webhook_timeout": 3.0,
    "batch_window": 0.2,
}


@pytest.fixture(scope="session")
def mock_meta_server() -> Iterator[MockMeta]:
    proc, base_url = spawn_subprocess(
        app_id=APP_ID,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        extra_args=["--config", json.dumps(TEST_CONFIG)],
    )
    client = MockMeta(base_url, app_id=APP_ID, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN)
    try:
        yield client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except Exception:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def mock_meta(mock_meta_server: MockMeta, monkeypatch: pytest.MonkeyPatch) -> Iterator[MockMeta]:
    """The session's mock, reset for this test; slow requests end with the test.

    A request that a ``latency`` fault holds is logged when it ends. When the caller
    gave up on it (a read timeout, a killed worker), it would end, and be logged, in
    the next test on this mock; so the test waits for the ones its faults still hold.
    """
    mock_meta_server.reset()
    slow: list[dict[str, Any]] = []
    add_fault = mock_meta_server.fault

    def fault(*args: Any, **kwargs: Any) -> dict[str, Any]:
        added = add_fault(*args, **kwargs)
        if added.get("latency"):
            slow.append(added)
        return added

    monkeypatch.setattr(mock_meta_server, "fault", fault)
    yield mock_meta_server
    if slow:
        _wait_for_held_requests(mock_meta_server, slow)


def _wait_for_held_requests(mock: MockMeta, slow: list[dict[str, Any]]) -> None:
    listed = {
        f["id"]: f
        for f in requests.get(f"{mock.base_url}/_mock/faults", timeout=5).json()["faults"]
    }

    def taken(added: dict[str, Any]) -> int:
        now = listed.get(added["id"])
        if now is None:  # used up and removed
            return int(added["times"])
        return int(now["hits"]) if added["times"] < 0 else added["times"] - now["times"]

    expected = {f["id"]: taken(f) for f in slow}
    deadline = time.monotonic() + max(float(f["latency"]) for f in slow) + 2
    while time.monotonic() < deadline:
        ended = Counter(r.get("fault") for r in mock.requests())
        if all(ended[fid] >= n for fid, n in expected.items()):
            return
        time.sleep(0.05)
