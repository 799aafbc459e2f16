"""Fixtures for the Graph client tests.

``canned`` is a tiny stdlib HTTP server on a thread that answers from a queue of canned
replies (real HTTP, so timeouts, dropped connections and HTML error pages behave as
they do in production). It records every request it receives.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.contract_files import SPEC_PATH
from waba_portal.graph import GraphClient, RetryPolicy

TOKEN = "EAAtestTOKEN0123456789secret"
APP_ID = "100000000000001"
APP_SECRET = "test-app-secret-abcdef"

FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base=0.001, backoff_cap=0.005)


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: {"success": True})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # read the request, then close the socket without answering


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class CannedServer:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                with server.lock:
                    server.requests.append(
                        Seen(
                            self.command,
                            parts.path,
                            parse_qs(parts.query, keep_blank_values=True),
                            dict(self.headers.items()),
                            body,
                        )
                    )
                    reply = server.replies.popleft() if server.replies else None
                if reply is None:
                    reply = Reply(500, {"error": {"message": "no canned reply", "code": 1}})
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(reply.body, bytes):
                    payload = reply.body
                    ctype = "text/html; charset=utf-8"
                else:
                    payload = json.dumps(reply.body).encode()
                    ctype = "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.headers.get("Content-Type", ctype))
                    for key, value in reply.headers.items():
                        if key != "Content-Type":
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            do_GET = do_POST = do_DELETE = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def add(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def canned() -> Iterator[CannedServer]:
    server = CannedServer()
    yield server
    server.close()


def make_client(base_url: str, **kw: Any) -> GraphClient:
    options: dict[str, Any] = {
        "base_url": base_url,
        "token": TOKEN,
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "retry_policy": FAST_RETRY,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
    }
    options.update(kw)
    return GraphClient(**options)


@pytest.fixture
def client(canned: CannedServer) -> Iterator[GraphClient]:
    c = make_client(canned.url)
    yield c
    c.close()


@pytest.fixture
def refused_url() -> str:
    """A localhost URL where nothing listens (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


_SPEC_CACHE: dict[str, Any] = {}


def load_spec() -> dict[str, Any]:
    if "spec" not in _SPEC_CACHE:
        with SPEC_PATH.open("rb") as fh:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            _SPEC_CACHE["spec"] = yaml.load(fh, Loader=loader)  # noqa: S506 - safe loader
    return _SPEC_CACHE["spec"]


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return load_spec()
