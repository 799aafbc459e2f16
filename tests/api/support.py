"""Helpers of the REST API tests: clients with a key or a session, a receiving endpoint."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.test import Client

from accounts.models import Membership


def key_client(secret: str) -> Client:
    """A client that sends ``Authorization: Bearer <secret>`` and no session."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def session_client(member: Membership, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(member.user)
    return client


def post_json(client: Client, path: str, body: Any = None, **headers: str) -> Any:
    return client.post(
        path,
        json.dumps(body if body is not None else {}),
        content_type="application/json",
        **headers,
    )


def error_of(response: Any) -> dict[str, Any]:
    """The one error body's inner object, after checking its shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"]), body
    assert body["error"]["message"], body
    return body["error"]  # type: ignore[no-any-return]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Endpoint:
    """A local HTTP server that records what it is sent and answers ``statuses`` in turn."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    answer: bytes = b'{"ok": true}'
    extra_headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@contextmanager
def receiving_endpoint(*statuses: int) -> Iterator[Endpoint]:
    endpoint = Endpoint(url="", statuses=list(statuses))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            endpoint.received.append(
                Received(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
            )
            code = endpoint.statuses.pop(0) if endpoint.statuses else endpoint.default_status
            if endpoint.delay_seconds:
                time.sleep(endpoint.delay_seconds)  # an endpoint slower than our time-out
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            for name, value in endpoint.extra_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(endpoint.answer)))
            self.end_headers()
            self.wfile.write(endpoint.answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/waba"
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
