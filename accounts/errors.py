"""Errors raised by accounts services, each with a message a person can act on."""

from __future__ import annotations


class AccountsError(Exception):
    """A business rule refused the action. ``message`` says what to do instead."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(AccountsError):
    """The actor's role does not allow this action."""

    code = "permission_denied"


class LastOwnerError(AccountsError):
    code = "last_owner"


class InvitationError(AccountsError):
    code = "invitation_invalid"
