"""A closed-loop HTTP load generator: several processes, a few threads each, loopback only.

Each thread owns one connection and sends its next request as soon as the previous
answer is in (keep-alive when the server allows it; gunicorn's sync workers close
after every response, then the thread reconnects and the connect is part of the
latency, as it is for any client of that server). Requests are pre-formatted bytes
on a raw socket, signed with HMAC-SHA256 in the sender, so that a request costs the
generator a few microseconds of CPU and the server, not the generator, is measured.
The generator's own CPU time is reported so that this can be checked.

Two modes:

- ``templates``: for ``duration`` seconds, bodies made unique per request by
  replacing :data:`bench.payloads.MARKER`;
- ``bodies``: a fixed list, sent once each, roughly in order (process ``p`` of ``P``
  takes ``bodies[p::P]``; its threads take them in order). The result lists the
  bodies that were not answered 2xx (``failed``, their indices), as Meta would
  deliver those again.

With ``rate``, requests leave at that many per second in all (each thread keeps its
share of the pace) instead of as fast as the answers come: the fault benchmark spreads
a load over its faults this way. Every run is bounded in time (``duration`` or
``timeout``) and in request count.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import multiprocessing as mp
import os
import queue
import resource
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.payloads import MARKER

MAX_REQUESTS_PER_THREAD = 500_000
_run_numbers = itertools.count(1)
SOCKET_TIMEOUT = 30.0


@dataclass
class LoadSpec:
    host: str
    port: int
    path: str
    secret: str
    processes: int = 2
    threads: int = 4
    duration: float | None = None  # templates mode
    templates: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)  # bodies mode
    timeout: float = 600.0  # hard bound of a bodies run
    extra_headers: dict[str, str] = field(default_factory=dict)
    tag: str = ""  # templates mode: makes this run's bodies unlike any other run's
    rate: float | None = None  # requests per second in all; None: closed loop, no pause


@dataclass
class LoadResult:
    ok: int = 0
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0
    cpu_seconds: float = 0.0
    connects: int = 0
    first_error: str = ""
    failed: list[int] = field(default_factory=list)  # bodies mode: not answered 2xx

    @property
    def elapsed(self) -> float:
        return max(self.end - self.start, 1e-9)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]

    def merge(self, other: LoadResult) -> None:
        self.ok += other.ok
        self.errors += other.errors
        self.statuses.update(other.statuses)
        self.latencies += other.latencies
        self.cpu_seconds += other.cpu_seconds
        self.connects += other.connects
        self.first_error = self.first_error or other.first_error
        self.failed += other.failed
        self.start = min(self.start, other.start) if self.start else other.start
        self.end = max(self.end, other.end)


class _Disconnected(ConnectionError):
    """The server closed the connection before answering (a stale keep-alive)."""


def _read_response(sock: socket.socket) -> tuple[int, bool]:
    """Read one response; returns (status, connection stays open)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            if buf:
                raise ConnectionError("connection closed mid-response")
            raise _Disconnected("connection closed before the response")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    keep = lines[0].startswith(b"HTTP/1.1")
    length: int | None = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            keep = value.strip().lower() == b"keep-alive" or (
                keep and value.strip().lower() != b"close"
            )
        elif name == b"transfer-encoding":
            raise ConnectionError("chunked responses are not supported")
    if length is None:  # the body ends with the connection
        while sock.recv(65536):
            pass
        return status, False
    need = length - len(rest)
    while need > 0:
        chunk = sock.recv(min(need, 65536))
        if not chunk:
            raise ConnectionError("connection closed mid-body")
        need -= len(chunk)
    return status, keep


def _sender(
    spec: LoadSpec,
    next_body: Callable[[], tuple[int, bytes] | None],
    start_at: float,
    deadline: float,
    out: LoadResult,
    lock: threading.Lock,
) -> None:
    key = spec.secret.encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in spec.extra_headers.items())
    head = (
        f"POST {spec.path} HTTP/1.1\r\nHost: {spec.host}:{spec.port}\r\n"
        f"Content-Type: application/json\r\n{extra}"
    ).encode()
    local = LoadResult()
    sock: socket.socket | None = None
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    pace = spec.processes * spec.threads / spec.rate if spec.rate else 0.0
    next_at = time.monotonic()
    try:
        for _ in range(MAX_REQUESTS_PER_THREAD):
            if pace:
                wait = next_at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                next_at = max(next_at + pace, time.monotonic() - pace)  # no bursts to catch up
            if time.time() >= deadline:
                break
            item = next_body()
            if item is None:
                break
            index, body = item
            signature = hmac.new(key, body, hashlib.sha256).hexdigest()
            request = b"%sX-Hub-Signature-256: sha256=%s\r\nContent-Length: %d\r\n\r\n%s" % (
                head,
                signature.encode(),
                len(body),
                body,
            )
            t0 = time.perf_counter()
            for attempt in (1, 2):
                reused = sock is not None
                try:
                    if sock is None:
                        sock = socket.create_connection((spec.host, spec.port), SOCKET_TIMEOUT)
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        local.connects += 1
                    sock.sendall(request)
                    status, keep = _read_response(sock)
                except OSError as exc:
                    if sock is not None:
                        sock.close()
                        sock = None
                    if attempt == 1 and reused and isinstance(exc, _Disconnected | BrokenPipeError):
                        continue  # a keep-alive the server had closed: send again
                    local.errors += 1
                    local.first_error = local.first_error or f"{type(exc).__name__}: {exc}"
                    if index >= 0:
                        local.failed.append(index)
                    break
                latency = time.perf_counter() - t0
                local.statuses[status] += 1
                if 200 <= status < 300:
                    local.ok += 1
                    local.latencies.append(latency)
                else:
                    local.errors += 1
                    local.first_error = local.first_error or f"HTTP {status}"
                    if index >= 0:
                        local.failed.append(index)
                if not keep:
                    sock.close()
                    sock = None
                break
    finally:
        if sock is not None:
            sock.close()
    local.start, local.end = start_at, time.time()
    with lock:
        out.merge(local)


def _child(spec: LoadSpec, index: int, start_at: float, results: mp.Queue[dict[str, Any]]) -> None:
    out = LoadResult()
    lock = threading.Lock()
    if spec.bodies:
        numbered = list(enumerate(spec.bodies))[index :: spec.processes]
        pending = deque(numbered)
        deadline = start_at + spec.timeout

        def next_body() -> tuple[int, bytes] | None:
            try:
                return pending.popleft()
            except IndexError:
                return None

    else:
        templates = spec.templates
        counter = iter(range(10**12))
        deadline = start_at + (spec.duration or 1.0)
        marker = MARKER.encode()
        prefix = b"%s%03d" % (spec.tag.encode(), index)

        def next_body() -> tuple[int, bytes] | None:
            n = next(counter)  # the GIL makes next() on a range iterator atomic
            token = b"%s%010d" % (prefix, n)
            return -1, templates[n % len(templates)].replace(marker, token)

    threads = [
        threading.Thread(target=_sender, args=(spec, next_body, start_at, deadline, out, lock))
        for _ in range(spec.threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if spec.bodies:  # not sent before the deadline: not answered either
        out.failed += [i for i, _ in pending]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.cpu_seconds = usage.ru_utime + usage.ru_stime
    results.put(
        {
            "ok": out.ok,
            "errors": out.errors,
            "statuses": dict(out.statuses),
            "latencies": out.latencies,
            "start": out.start,
            "end": out.end,
            "cpu_seconds": out.cpu_seconds,
            "connects": out.connects,
            "first_error": out.first_error,
            "failed": out.failed,
        }
    )


def run(spec: LoadSpec, *, start_delay: float = 0.3) -> LoadResult:
    """Run the load in ``spec.processes`` fresh processes; returns the merged result."""
    spec.tag = spec.tag or f"{os.getpid():07d}{next(_run_numbers):04d}"
    ctx = mp.get_context("spawn")
    results: mp.Queue[dict[str, Any]] = ctx.Queue()
    processes = max(1, min(spec.processes, len(spec.bodies) or spec.processes))
    spec.processes = processes
    start_at = time.time() + start_delay + 0.2 * processes  # spawn takes a moment
    children = [
        ctx.Process(target=_child, args=(spec, i, start_at, results), daemon=True)
        for i in range(processes)
    ]
    for child in children:
        child.start()
    bound = spec.timeout if spec.bodies else (spec.duration or 1.0)
    limit = start_at + bound + 60
    merged = LoadResult()
    try:
        for _ in children:
            remaining = max(1.0, limit - time.time())
            try:
                data = results.get(timeout=remaining)
            except queue.Empty as exc:
                raise RuntimeError("the load generator did not finish in time") from exc
            part = LoadResult(
                ok=data["ok"],
                errors=data["errors"],
                statuses=Counter(data["statuses"]),
                latencies=data["latencies"],
                start=data["start"],
                end=data["end"],
                cpu_seconds=data["cpu_seconds"],
                connects=data["connects"],
                first_error=data["first_error"],
                failed=data["failed"],
            )
            merged.merge(part)
    finally:
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.terminate()
                child.join(timeout=5)
    return merged
