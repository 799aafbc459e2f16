"""Pytest plugin: the mock Meta server as a real subprocess, and a per-test control client.

Register with ``pytest_plugins = ["tests.fixtures_mock_meta"]``. No database needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

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
def mock_meta(mock_meta_server: MockMeta) -> Iterator[MockMeta]:
    """The session's mock, reset for this test, and reset again when it ends.

    A Graph call that a ``latency`` fault of an earlier test still holds (its caller gave
    up: a read timeout, a killed worker) began before the reset: when it ends the mock
    neither carries it out nor logs it, so it cannot land in this test. The reset at the
    end stops the webhooks this test scheduled (delivered/read statuses, reviews) before
    the test's database is flushed: one landing in the flush deadlocks it.
    """
    mock_meta_server.reset()
    yield mock_meta_server
    mock_meta_server.reset()
