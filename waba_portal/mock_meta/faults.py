"""Fault injection and the request log (both shared by the Graph app and the control API)."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

REDACTED = "***"


@dataclass
class Fault:
    method: str  # "*" or an HTTP method
    path: str  # regular expression searched in the request path
    times: int = 1  # remaining matches; -1 means forever
    code: int | None = None
    subcode: int | None = None
    http_status: int | None = None
    message: str | None = None
    details: str | None = None
    error_type: str | None = None
    is_transient: bool | None = None
    latency: float | None = None
    drop: bool = False
    id: int = 0
    hits: int = 0
    _regex: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        if self._regex is None:
            self._regex = re.compile(self.path)
        return self._regex.search(path) is not None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = 0

    def add(self, spec: dict[str, Any]) -> Fault:
        allowed = {
            "method",
            "path",
            "times",
            "code",
            "subcode",
            "http_status",
            "message",
            "details",
            "error_type",
            "is_transient",
            "latency",
            "drop",
        }
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        if "path" not in spec:
            raise ValueError("a fault needs a path regex")
        fault = Fault(**{"method": "*", **spec})
        fault.method = fault.method.upper() if fault.method != "*" else "*"
        re.compile(fault.path)
        if (
            fault.code is None
            and not fault.drop
            and fault.latency is None
            and fault.http_status is None
        ):
            raise ValueError("a fault needs code, http_status, latency or drop")
        with self._lock:
            self._ids += 1
            fault.id = self._ids
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.times > 0:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]


class RequestLog:
    """The Graph calls received, in the order they ended.

    ``reset()`` starts a new generation: a request that began before it (one a
    ``latency`` fault still holds when a test ends) is not logged when it ends, so it
    cannot land in the log of whatever runs after the reset.
    """

    def __init__(self, limit: int = 2000) -> None:
        self._lock = threading.Lock()
        self._items: deque[dict[str, Any]] = deque(maxlen=limit)
        self._seq = 0
        self._generation = 0

    @property
    def generation(self) -> int:
        """The current generation; a request takes it when it begins."""
        with self._lock:
            return self._generation

    def add(self, entry: dict[str, Any], *, generation: int | None = None) -> dict[str, Any] | None:
        """Log ``entry``; ``None`` (and nothing logged) when its request began in a
        generation before the current one."""
        with self._lock:
            if generation is not None and generation != self._generation:
                return None
            self._seq += 1
            entry["seq"] = self._seq
            entry.setdefault("at", time.time())
            self._items.append(entry)
        return entry

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(i) for i in self._items]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def reset(self) -> None:
        """Clear the log and start a new generation."""
        with self._lock:
            self._items.clear()
            self._generation += 1


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, value in headers.items():
        if key.lower() == "authorization":
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[key] = f"{scheme} {REDACTED}".strip()
        else:
            out[key] = value
    return out


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (REDACTED if k in ("access_token", "client_secret", "input_token") else v)
        for k, v in params.items()
    }
