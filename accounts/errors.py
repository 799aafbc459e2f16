"""Refusals of accounts services: members of the one family in ``waba_portal.errors``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from waba_portal.errors import Conflict, Invalid, NotAllowed, NotFound, ServiceError

__all__ = [
    "Conflict",
    "IdempotencyKeyInUse",
    "IdempotencyKeyInvalid",
    "IdempotencyKeyReused",
    "Invalid",
    "InvitationError",
    "InvitationLimitError",
    "LastOwnerError",
    "NotAllowed",
    "NotFound",
    "RateLimited",
    "ServiceError",
]


class LastOwnerError(Conflict):
    """The change would leave the workspace without an owner."""

    code = "last_owner"


class InvitationError(Invalid):
    """The invitation cannot be used (expired, revoked, accepted, another address)."""

    code = "invitation_invalid"


class RateLimited(Conflict):
    """Too many tries in a short time; the message and ``retry_at`` say when to try again."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_at: datetime, **kwargs: Any) -> None:
        details = {"retry_at": retry_at.isoformat(), **(kwargs.pop("details", None) or {})}
        super().__init__(message, details=details, **kwargs)
        self.retry_at = retry_at


class InvitationLimitError(RateLimited):
    """Too many invitation e-mails in the last hour, by one account or one workspace."""

    code = "invitation_limit"


class IdempotencyKeyInvalid(Invalid):
    """The ``Idempotency-Key`` header is empty or longer than 255 characters."""

    code = "idempotency_key_invalid"


class IdempotencyKeyInUse(Conflict):
    """A request with the same ``Idempotency-Key`` is still running."""

    code = "idempotency_key_in_use"


class IdempotencyKeyReused(ServiceError):
    """The ``Idempotency-Key`` was used before for another request (another body or path)."""

    code = "idempotency_key_reused"
    status = 422
