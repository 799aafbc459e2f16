"""What every part of the state shares: the lock, the tables, node ids and the clock.

A method takes the state lock by being decorated with :func:`locked`; a public method that is
not is refused when its class is created, so the rule cannot be forgotten. Inside the package a
public method only ever calls private helpers, which run under the lock their caller already
holds; where one operation is wanted both from outside and by another operation, the work is a
private helper and the public name is ``locked(helper)`` (``now``, ``issue_token``). The lock
is still re-entrant because the HTTP apps beside the state (``signup.py``, ``control.py``) hold
it around a few steps of their own and call ``now()`` inside.

Webhooks leave through ``deliver`` and delayed work through ``scheduler``; both are called with
the lock held, so neither may block or call back into the state on the caller's thread.
"""

from __future__ import annotations

import copy
import functools
import inspect
import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Concatenate, ParamSpec, TypeVar

from ..config import Config
from ..models import (
    Business,
    Media,
    Message,
    OAuthCode,
    PhoneNumber,
    QrCode,
    Template,
    Token,
    UploadSession,
    Waba,
    WaUser,
)
from ..scheduler import Scheduler
from .values import b64

_S = TypeVar("_S", bound="StateBase")
_P = ParamSpec("_P")
_R = TypeVar("_R")

_locked_methods: set[Callable[..., Any]] = set()


def locked(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """Run ``method`` holding the state lock."""

    @functools.wraps(method)
    def under_lock(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self.lock:
            return method(self, *args, **kwargs)

    _locked_methods.add(under_lock)
    return under_lock


@dataclass
class WebhookEvent:
    """One change to deliver: becomes entry[{id, time, changes:[{field, value}]}]."""

    field: str
    value: dict[str, Any]
    entry_id: str
    url: str | None
    skip_reason: str | None = None
    with_time: bool = True
    created_at: float = dc_field(default_factory=time.time)


class StateBase:
    """The tables and the machinery under them; the domain mixins add the rules."""

    # Node ids are unique for the process lifetime (not reset), so stale ids never alias.
    _ids = itertools.count(int(time.time()) % 100000 * 10**9 + 110000000000000)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in vars(cls).items():
            public = inspect.isfunction(value) and not name.startswith("_")
            if public and value not in _locked_methods:
                raise TypeError(
                    f"{cls.__name__}.{name} is public but does not take the state lock: "
                    "decorate it with @locked or make it private"
                )

    def __init__(
        self,
        config: Config,
        scheduler: Scheduler,
        deliver: Callable[[WebhookEvent], None],
    ) -> None:
        self.lock = threading.RLock()
        self.config = config
        self._initial_config = copy.deepcopy(config)
        self.scheduler = scheduler
        self.deliver = deliver
        self.clock_offset = 0.0
        self._clear()

    def _clear(self) -> None:
        self.businesses: dict[str, Business] = {}
        self.wabas: dict[str, Waba] = {}
        self.phones: dict[str, PhoneNumber] = {}
        self.templates: dict[str, Template] = {}
        self.deleted_templates: list[tuple[str, str, str, float]] = []  # waba, name, lang, at
        self.tokens: dict[str, Token] = {}
        self.oauth_codes: dict[str, OAuthCode] = {}
        self.media: dict[str, Media] = {}
        self.messages: dict[str, Message] = {}
        self.message_order: deque[str] = deque(maxlen=5000)
        self.qr_codes: dict[str, QrCode] = {}
        self.uploads: dict[str, UploadSession] = {}
        self.upload_handles: dict[str, UploadSession] = {}
        self.windows: dict[tuple[str, str], float] = {}  # (phone id, wa_id) -> last inbound
        self.wa_users: dict[tuple[str, str], WaUser] = {}  # (business id, wa_id) -> user
        self.send_times: dict[str, deque[float]] = {}
        self.pair_buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.codes_log: list[dict[str, Any]] = []
        self.signup_sessions: dict[str, dict[str, Any]] = {}

    @locked
    def reset(self, keep_config: bool = False) -> None:
        self._clear()
        self.clock_offset = 0.0
        if not keep_config:
            self.config.__dict__.update(copy.deepcopy(self._initial_config).__dict__)

    # ------------------------------------------------------------------ clock and ids
    def _now(self) -> float:
        """The mock's wall clock: real time moved by the control API's clock offset."""
        return time.time() + self.clock_offset

    now = locked(_now)

    def _new_id(self) -> str:
        return str(next(self._ids))

    def _wamid(self, wa_id: str) -> str:
        raw = (
            b"\x1c\x18\x0c"
            + wa_id.encode()
            + b"\x15\x02\x00\x11\x18\x12"
            + secrets.token_hex(9).upper().encode()
            + b"\x00"
        )
        return "wamid." + b64(raw)
