"""Refusals of accounts services: members of the one family in ``waba_portal.errors``."""

from __future__ import annotations

from waba_portal.errors import Conflict, Invalid, NotAllowed, NotFound, ServiceError

__all__ = [
    "Conflict",
    "Invalid",
    "InvitationError",
    "LastOwnerError",
    "NotAllowed",
    "NotFound",
    "ServiceError",
]


class LastOwnerError(Conflict):
    """The change would leave the workspace without an owner."""

    code = "last_owner"


class InvitationError(Invalid):
    """The invitation cannot be used (expired, revoked, accepted, another address)."""

    code = "invitation_invalid"
