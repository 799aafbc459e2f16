"""Signed webhook delivery: a queue, one sender thread, retries with backoff, delivery modes;
and the verification GET a callback override must pass before it is set.

Modes (``POST /_mock/config {"webhook_mode": ...}``):

* ``normal``    – one POST per change, in the order the changes happened;
* ``duplicate`` – every POST is sent twice (same body, same signature);
* ``reorder``   – changes collected for ``batch_window`` seconds are sent newest first;
* ``batch``     – changes collected for ``batch_window`` seconds go out in one POST per URL,
  grouped into entries by entry id (several entries / several changes per entry).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import queue
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import requests

from .config import Config
from .scheduler import Scheduler
from .state import WebhookEvent

log = logging.getLogger(__name__)


def sign(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 header value for ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_callback(url: str, verify_token: str, *, timeout: float) -> str | None:
    """Meta's verification GET to a callback URL (NOTES §5 "Verification GET", §10).

    Sends ``hub.mode=subscribe``, ``hub.verify_token`` and a random ``hub.challenge``;
    the endpoint must answer 200 with the challenge as the whole body. Returns ``None``
    when it did, else why not. Never call it holding the state lock: it waits on the URL.
    """
    challenge = str(secrets.randbelow(9 * 10**9) + 10**9)
    query = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
    try:
        resp = requests.get(
            url,
            params=query,
            timeout=timeout,
            headers={"User-Agent": "facebookplatform/1.0 (+http://developers.facebook.com)"},
        )
    except requests.RequestException as exc:
        return f"the callback URL could not be reached ({type(exc).__name__})"
    if resp.status_code != 200:
        return f"the callback URL answered HTTP {resp.status_code}"
    if resp.text != challenge:
        return (
            f'Response does not match challenge, expected value="{challenge}", '
            f'received="{resp.text[:64]}"'
        )
    return None


def envelope(events: list[WebhookEvent]) -> dict[str, Any]:
    entries: dict[str, dict[str, Any]] = {}
    for ev in events:
        entry = entries.get(ev.entry_id)
        if entry is None:
            entry = {"id": ev.entry_id, "time": int(ev.created_at), "changes": []}
            entries[ev.entry_id] = entry
        entry["changes"].append({"field": ev.field, "value": ev.value})
    return {"object": "whatsapp_business_account", "entry": list(entries.values())}


@dataclass
class Delivery:
    id: int
    url: str
    body: bytes
    fields: list[str]
    attempt: int = 1
    generation: int = 0
    copy_of: int | None = None


class WebhookDispatcher:
    def __init__(self, config: Config, scheduler: Scheduler) -> None:
        self.config = config
        self.scheduler = scheduler
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._buffer: list[WebhookEvent] = []
        self._flush_scheduled = False
        self._generation = 0
        self._inflight = 0
        # The POST on its way to the receiver, if any; ``reset`` waits for it to be
        # answered, so no delivery of a finished test is still being handled after it.
        self._sending = False
        self._resetting = False
        self._sent = threading.Condition(self._lock)
        self.log: deque[dict[str, Any]] = deque(maxlen=config.webhook_log_limit)
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="mock-meta-webhooks", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- intake
    def submit(self, event: WebhookEvent) -> None:
        """Called by the state (under its lock): must not block."""
        if event.url is None:
            self._record(
                None,
                [event.field],
                None,
                None,
                None,
                skipped=event.skip_reason,
                body=envelope([event]),
            )
            return
        mode = self.config.webhook_mode
        if mode in ("batch", "reorder"):
            with self._lock:
                self._buffer.append(event)
                if not self._flush_scheduled:
                    self._flush_scheduled = True
                    gen = self._generation
                    self.scheduler.call_later(self.config.batch_window, lambda: self._flush(gen))
            return
        self._enqueue([event], copies=2 if mode == "duplicate" else 1)

    def _flush(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            events, self._buffer = self._buffer, []
            self._flush_scheduled = False
            mode = self.config.webhook_mode
        if not events:
            return
        if mode == "batch":
            by_url: dict[str, list[WebhookEvent]] = {}
            for ev in events:
                by_url.setdefault(ev.url or "", []).append(ev)
            for group in by_url.values():
                self._enqueue(group)
        else:
            for ev in reversed(events):
                self._enqueue([ev])

    def _enqueue(self, events: list[WebhookEvent], copies: int = 1) -> None:
        body = json.dumps(envelope(events), separators=(",", ":")).encode()
        first: int | None = None
        for _ in range(copies):
            with self._lock:
                d = Delivery(
                    id=next(self._ids),
                    url=str(events[0].url),
                    body=body,
                    fields=[e.field for e in events],
                    generation=self._generation,
                    copy_of=first,
                )
                self._inflight += 1
            first = first or d.id
            self._queue.put(d)

    # ---------------------------------------------------------------- control
    def reset(self) -> None:
        """Drop everything scheduled or queued, once the POST on its way (if any) has
        been answered: the receiver is then not handling one of ours any more.

        Nothing starts while this waits, not even a delivery the receiver's handling of
        the last one caused; the wait is bounded by the delivery timeout.
        """
        with self._lock:
            self._generation += 1
            self._resetting = True
            self._sent.wait_for(
                lambda: not self._sending, timeout=self.config.webhook_timeout + 1.0
            )
            self._resetting = False
            self._buffer = []
            self._flush_scheduled = False
            self.log.clear()
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
            self._inflight = 0

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.log)

    def pending(self) -> int:
        with self._lock:
            return self._inflight + len(self._buffer)

    def stop(self) -> None:
        self._queue.put(None)

    # ---------------------------------------------------------------- sending
    def _record(
        self,
        delivery: Delivery | None,
        fields: list[str],
        url: str | None,
        status: int | None,
        error: str | None,
        *,
        skipped: str | None = None,
        body: dict[str, Any] | None = None,
        signature: str | None = None,
    ) -> None:
        entry = {
            "delivery_id": delivery.id if delivery else None,
            "attempt": delivery.attempt if delivery else 0,
            "duplicate_of": delivery.copy_of if delivery else None,
            "url": url,
            "fields": fields,
            "status": status,
            "ok": status is not None and 200 <= status < 300,
            "error": error,
            "skipped": skipped,
            "signature": signature,
            "body": body if body is not None else (json.loads(delivery.body) if delivery else None),
            "at": time.time(),
        }
        with self._lock:
            self.log.append(entry)

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            self._send(delivery)

    def _send(self, d: Delivery) -> None:
        with self._lock:
            if d.generation != self._generation or self._resetting:
                return
            self._sending = True
        try:
            self._post(d)
        finally:
            with self._lock:
                self._sending = False
                self._sent.notify_all()

    def _post(self, d: Delivery) -> None:
        signature = sign(d.body, self.config.app_secret)
        status: int | None = None
        error: str | None = None
        try:
            resp = self._session.post(
                d.url,
                data=d.body,
                timeout=self.config.webhook_timeout,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": signature,
                    "User-Agent": "facebookexternalua",
                },
            )
            status = resp.status_code
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._record(d, d.fields, d.url, status, error, signature=signature)
        if status is not None and 200 <= status < 300:
            self._done(d)
            return
        if d.attempt >= self.config.webhook_max_attempts:
            self._done(d)
            return
        delay = min(
            self.config.webhook_backoff * (2 ** (d.attempt - 1)), self.config.webhook_max_backoff
        )
        d.attempt += 1
        self.scheduler.call_later(delay, lambda: self._queue.put(d))

    def _done(self, d: Delivery) -> None:
        with self._lock:
            if d.generation == self._generation:
                self._inflight = max(self._inflight - 1, 0)
