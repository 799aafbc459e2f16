"""Who acts in this request or task when it is not a member: an API key.

``TenantMiddleware`` sets it for a request authenticated by a key; the audit log
(``accounts.services.audit``) writes it into every row made meanwhile, so the log says
"API key CRM sync (wbp_live_Ab12Cd34) …" where a member's name would stand.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_acting_key: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "acting_api_key", default=None
)


def acting_key() -> dict[str, Any] | None:
    """``{"id", "name", "prefix"}`` of the API key acting now, else None."""
    return _acting_key.get()


def set_acting_key(value: dict[str, Any] | None) -> contextvars.Token[dict[str, Any] | None]:
    return _acting_key.set(value)


def reset_acting_key(token: contextvars.Token[dict[str, Any] | None]) -> None:
    _acting_key.reset(token)


@contextmanager
def acting_as_key(value: dict[str, Any] | None) -> Iterator[None]:
    token = _acting_key.set(value)
    try:
        yield
    finally:
        _acting_key.reset(token)
