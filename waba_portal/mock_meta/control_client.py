"""A small client for the mock's control API (used by the pytest fixture, demo and benchmarks)."""

from __future__ import annotations

import time
from typing import Any

import requests


class MockMetaError(RuntimeError):
    pass


class MockMeta:
    """Talks to a running mock Meta server over HTTP."""

    def __init__(
        self,
        base_url: str,
        *,
        app_id: str,
        app_secret: str,
        verify_token: str,
        version: str = "v23.0",
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.graph_url = f"{self.base_url}/{version}"
        self.app_id = app_id
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.timeout = timeout
        self.session = requests.Session()

    # ------------------------------------------------------------------ plumbing
    def _call(
        self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        resp = self.session.request(
            method, f"{self.base_url}/_mock/{path}", json=json, params=params, timeout=self.timeout
        )
        if resp.status_code >= 400:
            raise MockMetaError(f"{method} /_mock/{path} -> {resp.status_code}: {resp.text}")
        return resp.json()

    # ------------------------------------------------------------------ control API
    def health(self) -> bool:
        return bool(self._call("GET", "health").get("ok"))

    def reset(self, *, keep_config: bool = False) -> None:
        self._call("POST", "reset", {"keep_config": keep_config})

    def seed(self, **spec: Any) -> dict[str, Any]:
        """Seed objects; with no arguments a demo business / WABA / number / templates."""
        return dict(self._call("POST", "seed", spec))

    def inbound(self, **kw: Any) -> dict[str, Any]:
        """Simulate a customer message: phone_number_id, from, name, type, <type payload>."""
        return dict(self._call("POST", "inbound", kw))

    def emit(self, **kw: Any) -> dict[str, Any]:
        """Emit an event webhook: field, and waba_id / phone_number_id / template_id, ..."""
        return dict(self._call("POST", "emit", kw))

    def fault(
        self,
        method: str,
        path: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        http_status: int | None = None,
        message: str | None = None,
        times: int = 1,
        latency: float | None = None,
        drop: bool = False,
        is_transient: bool | None = None,
        details: str | None = None,
    ) -> dict[str, Any]:
        """Make the next ``times`` calls matching ``method`` ("*" for any) and the ``path``
        regex fail / slow down / drop the connection."""
        spec: dict[str, Any] = {"method": method, "path": path, "times": times, "drop": drop}
        for key, value in (
            ("code", code),
            ("subcode", subcode),
            ("http_status", http_status),
            ("message", message),
            ("latency", latency),
            ("is_transient", is_transient),
            ("details", details),
        ):
            if value is not None:
                spec[key] = value
        return dict(self._call("POST", "faults", spec)["fault"])

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def requests(self, clear: bool = False) -> list[dict[str, Any]]:
        items = list(self._call("GET", "requests")["requests"])
        if clear:
            self._call("DELETE", "requests")
        return items

    def webhooks(self, *, wait: float = 0.0) -> list[dict[str, Any]]:
        """Delivery attempts; ``wait`` seconds waits for pending deliveries first."""
        return list(
            self._call("GET", "webhooks", params={"wait": wait} if wait else None)["webhooks"]
        )

    def clear_webhooks(self) -> None:
        self._call("DELETE", "webhooks")

    def state(self) -> dict[str, Any]:
        return dict(self._call("GET", "state"))

    def config(self, **kw: Any) -> dict[str, Any]:
        return dict(self._call("POST", "config", kw)["config"])

    def signup(self, **kw: Any) -> dict[str, Any]:
        """Non-interactive Embedded Signup; returns session_info, code and the new ids."""
        return dict(self._call("POST", "signup", kw))

    def set_webhook_url(self, url: str | None) -> None:
        self.config(webhook_url=url)

    def codes(self, phone_number_id: str | None = None) -> list[dict[str, Any]]:
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        return list(self._call("GET", "codes", params=params)["codes"])

    def last_code(self, phone_number_id: str | None = None) -> str | None:
        codes = self.codes(phone_number_id)
        return str(codes[0]["code"]) if codes else None

    def advance_clock(self, seconds: float) -> float:
        return float(self._call("POST", "clock", {"advance": seconds})["now"])

    def patch(self, kind: str, obj_id: str, **values: Any) -> dict[str, Any]:
        return dict(
            self._call("POST", "patch", {"kind": kind, "id": obj_id, "set": values})["object"]
        )

    def wait_for_webhook(self, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
        """Poll the delivery log until an entry satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            for entry in self.webhooks():
                if predicate(entry):
                    return entry
            if time.monotonic() > deadline:
                raise MockMetaError("no matching webhook delivery")
            time.sleep(0.05)

    def dialog_url(
        self, *, origin: str, config_id: str = "200000000000002", extras: str | None = None
    ) -> str:
        from urllib.parse import urlencode

        q = {"app_id": self.app_id, "config_id": config_id, "origin": origin}
        if extras:
            q["extras"] = extras
        return f"{self.base_url}/dialog/embedded-signup?{urlencode(q)}"
