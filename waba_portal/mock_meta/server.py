"""Wiring of the mock: one WSGI app (Graph + control + signup) and a threaded server."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .config import Config
from .control import ControlApp
from .faults import FaultInjector, RequestLog
from .graph_app import GraphApp
from .scheduler import Scheduler
from .signup import SignupApp
from .state import State
from .webhooks import WebhookDispatcher

log = logging.getLogger(__name__)


class MockMetaApp:
    """The whole mock as one WSGI callable."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.scheduler = Scheduler()
        self.dispatcher = WebhookDispatcher(config, self.scheduler)
        self.faults = FaultInjector()
        self.requests_log = RequestLog(config.request_log_limit)
        self.state = State(config, self.scheduler, self.dispatcher.submit)
        self.graph = GraphApp(self.state, self.faults, self.requests_log)
        self.control = ControlApp(
            self.state, self.dispatcher, self.scheduler, self.faults, self.requests_log
        )
        self.signup = SignupApp(self.state)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_mock"):
            return self.control(environ, start_response)
        if path.startswith("/dialog/"):
            return self.signup(environ, start_response)
        if path in ("", "/"):
            response = Response('<a href="/_mock/">Mock Meta server</a>', mimetype="text/html")
            return response(environ, start_response)
        if path == "/favicon.ico":  # browsers ask on every page of the mock: nothing to show
            return Response(status=204)(environ, start_response)
        return self.graph(environ, start_response)

    def shutdown(self) -> None:
        self.scheduler.stop()
        self.dispatcher.stop()


class _QuietHandler(WSGIRequestHandler):
    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        # Meta's resumable upload takes its offset in a ``file_offset`` header; werkzeug
        # drops header names with an underscore, so this one is passed on by name.
        offset = self.headers.get("file_offset")
        if offset is not None:
            environ["HTTP_FILE_OFFSET"] = offset
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if os.environ.get("MOCK_META_ACCESS_LOG"):
            super().log_request(code, size)


class MockMetaServer:
    """Run the mock in-process on a background thread::

    server = MockMetaServer(Config(app_secret="s")).start()
    ...server.base_url...
    server.stop()
    """

    def __init__(
        self, config: Config | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or Config()
        self.app = MockMetaApp(self.config)
        self.server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.host = host
        self.port = int(self.server.server_port)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MockMetaServer:
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="mock-meta-http", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.app.shutdown()


def spawn_subprocess(
    *,
    app_id: str,
    app_secret: str,
    verify_token: str,
    webhook_url: str | None = None,
    host: str = "127.0.0.1",
    extra_args: list[str] | None = None,
    timeout: float = 20.0,
) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m waba_portal.mock_meta`` on a free port; return (process, base_url)."""
    cmd = [
        sys.executable,
        "-m",
        "waba_portal.mock_meta",
        "--host",
        host,
        "--port",
        "0",
        "--app-id",
        app_id,
        "--app-secret",
        app_secret,
        "--verify-token",
        verify_token,
    ]
    if webhook_url:
        cmd += ["--webhook-url", webhook_url]
    cmd += extra_args or []
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.Popen(  # noqa: S603
        cmd, stdout=subprocess.PIPE, stderr=None, text=True, bufsize=1, cwd=root, env=env
    )
    deadline = time.monotonic() + timeout
    base_url = None
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise RuntimeError(f"mock-meta exited with {proc.returncode}")
            continue
        if line.startswith("mock-meta listening on "):
            base_url = line.split("listening on ", 1)[1].strip()
            break
    if base_url is None:
        proc.kill()
        raise RuntimeError("mock-meta did not report its port in time")
    # Keep draining stdout so the child never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout or []], daemon=True).start()
    wait_ready(base_url, timeout=max(1.0, deadline - time.monotonic()))
    return proc, base_url


def wait_ready(base_url: str, timeout: float = 10.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{base_url}/_mock/health", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"mock-meta at {base_url} is not ready")
        time.sleep(0.05)


__all__ = ["MockMetaApp", "MockMetaServer", "Request", "spawn_subprocess", "wait_ready"]
