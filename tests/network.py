"""No internet for tests: a socket may only reach this machine.

``install()`` replaces ``socket.socket.connect``/``connect_ex`` and
``socket.getaddrinfo`` so that an address or host name that is not loopback is
refused with :class:`InternetBlocked` before any packet leaves, DNS included. Unix
sockets and 127.0.0.0/8, ::1 and ``localhost`` stay open: PostgreSQL, Redis, the mock
Meta server, live servers and the Celery worker all live there.

:class:`InternetBlocked` is deliberately not an ``OSError``: HTTP libraries turn an
``OSError`` into "connection failed", which the code under test may answer politely
and a test would pass. Each refusal is also recorded in :data:`attempts`, which the
suite's autouse fixture (``tests/fixtures_network.py``) checks after every test, so an
attempt that some ``except Exception`` swallowed still fails the test.

Processes started by tests that load ``tests.settings`` (the Celery worker) install
the guard there when ``TEST_BLOCK_INTERNET=1``. Chromium is kept local by its own
flags (``tests/fixtures_browser.py``).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# This machine's own name too: Django's mail headers look it up (socket.getfqdn).
_LOOPBACK_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "ip6-localhost", socket.gethostname().lower()}
)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
_lock = threading.Lock()

attempts: list[str] = []


class InternetBlocked(RuntimeError):
    """A test tried to reach a host that is not this machine."""


def is_local(host: Any) -> bool:
    """Whether ``host`` (a name or an address) can only mean this machine."""
    if host is None:  # getaddrinfo(None, port): the wildcard / loopback address
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip("[]").lower()
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _refuse(target: str) -> None:
    with _lock:
        attempts.append(target)
    raise InternetBlocked(
        f"tests must not reach the internet: refused {target}. Point the code at the "
        "mock Meta server (the `mock_meta` fixture) or another local server."
    )


def _check(sock: socket.socket, address: Any) -> None:
    inet = sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple)
    if inet and not is_local(address[0]):
        _refuse(f"{address[0]}:{address[1]}")


def _connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _is_address(host: Any) -> bool:
    try:
        ipaddress.ip_address(str(host).strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    if not is_local(host):
        _refuse(f"{host}:{port}" + ("" if _is_address(host) else " (name lookup)"))
    return _real_getaddrinfo(host, port, *args, **kwargs)


def install() -> None:
    """Refuse non-local connections and lookups in this process from now on."""
    socket.socket.connect = _connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _getaddrinfo


def uninstall() -> None:
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _real_getaddrinfo


def installed() -> bool:
    return socket.getaddrinfo is _getaddrinfo and socket.socket.connect is _connect


@contextmanager
def expect_refusals() -> Iterator[list[str]]:
    """For tests of the guard itself: refusals inside the block are theirs, not a leak."""
    with _lock:
        before = len(attempts)
    seen: list[str] = []
    try:
        yield seen
    finally:
        with _lock:
            seen.extend(attempts[before:])
            del attempts[before:]
