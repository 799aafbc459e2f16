"""Helpers for the mock Meta tests: a tiny webhook receiver and Graph calls with a token.

The ``mock_meta`` fixture itself is the suite's (``tests/fixtures_mock_meta.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from waba_portal.mock_meta.control_client import MockMeta


class Receiver:
    """Records webhook POSTs; answers with the queued statuses, then 200.

    It answers Meta's verification GET as a callback URL must (NOTES §5): the challenge
    when the token is its ``verify_token``, else 403; each GET is kept in ``verifications``.
    """

    def __init__(self, secret: str, verify_token: str = "vt") -> None:
        self.secret = secret
        self.verify_token = verify_token
        self.received: list[dict[str, Any]] = []
        self.verifications: list[dict[str, str]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        # When ``hold`` is set, a POST signals ``entered`` and is answered only once
        # ``release`` is set: a delivery the receiver is still handling.
        self.hold = False
        self.entered = threading.Event()
        self.release = threading.Event()
        self.answered = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                with receiver.lock:
                    receiver.verifications.append(query)
                ok = (
                    query.get("hub.mode") == "subscribe"
                    and query.get("hub.verify_token") == receiver.verify_token
                )
                body = query.get("hub.challenge", "").encode() if ok else b"forbidden"
                self.send_response(200 if ok else 403)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append(
                        {
                            "raw": raw,
                            "headers": dict(self.headers),
                            "status": status,
                            "path": self.path,
                        }
                    )
                if receiver.hold:
                    receiver.entered.set()
                    receiver.release.wait(timeout=10)
                    receiver.answered.set()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/meta"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def valid(self, item: dict[str, Any]) -> bool:
        expected = (
            "sha256=" + hmac.new(self.secret.encode(), item["raw"], hashlib.sha256).hexdigest()
        )
        return hmac.compare_digest(expected, item["headers"].get("X-Hub-Signature-256", ""))

    def payloads(self, ok_only: bool = True) -> list[dict[str, Any]]:
        with self.lock:
            items = list(self.received)
        return [json.loads(i["raw"]) for i in items if not ok_only or i["status"] == 200]

    def changes(self) -> list[dict[str, Any]]:
        return [c for p in self.payloads() for e in p["entry"] for c in e["changes"]]

    def wait(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            changes = self.changes()
            if predicate(changes):
                return changes
            time.sleep(0.02)
        raise AssertionError(f"webhook condition not met; got {self.changes()}")


@pytest.fixture
def receiver(mock_meta: MockMeta) -> Iterator[Receiver]:
    rec = Receiver(mock_meta.app_secret)
    mock_meta.set_webhook_url(rec.url)
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


class Graph:
    """Tiny helper for Graph calls with a token."""

    def __init__(self, mock: MockMeta, token: str | None) -> None:
        self.base = mock.graph_url
        self.token = token

    def _h(self, token: str | None) -> dict[str, str]:
        tok = self.token if token is None else token
        return {"Authorization": f"Bearer {tok}"} if tok else {}

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        return requests.get(
            f"{self.base}/{path}", params=params, headers=self._h(token), timeout=10
        )

    def post(
        self, path: str, json: Any = None, token: str | None = None, **kw: Any
    ) -> requests.Response:
        return requests.post(
            f"{self.base}/{path}", json=json, headers=self._h(token), timeout=10, **kw
        )

    def delete(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        return requests.delete(
            f"{self.base}/{path}", params=params, headers=self._h(token), timeout=10
        )


@pytest.fixture
def seeded(mock_meta: MockMeta) -> dict[str, Any]:
    return mock_meta.seed()


@pytest.fixture
def graph(mock_meta: MockMeta, seeded: dict[str, Any]) -> Graph:
    return Graph(mock_meta, seeded["token"])


def error_of(resp: requests.Response) -> dict[str, Any]:
    body = resp.json()
    assert "error" in body, body
    err = body["error"]
    assert err["error_data"]["messaging_product"] == "whatsapp"
    assert err["fbtrace_id"]
    return dict(err)
