"""The suite is offline: Graph points at a closed local port, and only loopback connects."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings

from tests import network

ROOT = Path(__file__).resolve().parents[2]


def test_graph_and_the_signup_dialog_point_at_a_local_port_where_nothing_listens() -> None:
    for url in (settings.GRAPH_API_BASE_URL, settings.EMBEDDED_SIGNUP_URL):
        parts = urlsplit(url)
        assert network.is_local(parts.hostname), url
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((parts.hostname, parts.port), timeout=2).close()


def test_an_address_outside_this_machine_is_refused_before_anything_is_sent() -> None:
    with network.expect_refusals() as refused, socket.socket() as sock:
        with pytest.raises(network.InternetBlocked, match=r"192\.0\.2\.10:443"):
            sock.connect(("192.0.2.10", 443))  # TEST-NET-1: never routed
        with pytest.raises(network.InternetBlocked):
            sock.connect_ex(("2001:db8::1", 443, 0, 0))
    assert refused == ["192.0.2.10:443", "2001:db8::1:443"]


def test_a_name_lookup_is_refused_and_is_no_mere_connection_error_for_requests() -> None:
    # requests turns an OSError into ConnectionError, which code under test may answer
    # politely; the refusal goes through it instead.
    with network.expect_refusals() as refused, pytest.raises(network.InternetBlocked):
        requests.get("https://graph.facebook.com/v23.0/me", timeout=2)
    assert refused == ["graph.facebook.com:443 (name lookup)"]


def test_this_machine_stays_reachable() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        for host in ("127.0.0.1", "localhost"):
            socket.create_connection((host, port), timeout=2).close()
    assert network.installed()


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("LOCALHOST", True),
        ("0.0.0.0", True),  # noqa: S104 - connecting to it reaches this machine
        ("10.0.0.1", False),
        ("192.168.1.1", False),
        ("::ffff:8.8.8.8", False),
        ("graph.facebook.com", False),
        ("localhost.example.com", False),
    ],
)
def test_what_counts_as_this_machine(host: str, local: bool) -> None:
    assert network.is_local(host) is local


def test_an_attempt_the_code_swallowed_still_fails_its_test(tmp_path: Path) -> None:
    (tmp_path / "test_leak.py").write_text(
        textwrap.dedent(
            """
            import socket

            def test_swallows_the_refusal():
                try:
                    socket.create_connection(("192.0.2.20", 80), timeout=1)
                except Exception:
                    pass  # "Meta is down, try later": the kind of answer that hides a leak

            def test_stays_local():
                socket.socket().close()
            """
        )
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:django",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.fixtures_network",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_leak.py"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "2 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "ERROR at teardown of test_swallows_the_refusal" in result.stdout
    assert "tried to reach the internet: 192.0.2.20:80." in result.stdout
