"""Business actions of accounts, one module per topic.

Every state change takes ``actor=``, runs in one transaction, writes an audit row
(``audit.audit_record``), and sends side effects (e-mail) only after the transaction
commits. Callers name the topic: ``services.invitations.invitation_create(...)``.
"""

from accounts.services import (
    api_keys,
    audit,
    idempotency,
    invitations,
    members,
    notifications,
    teams,
    tenants,
    throttling,
    two_factor,
)

__all__ = [
    "api_keys",
    "audit",
    "idempotency",
    "invitations",
    "members",
    "notifications",
    "teams",
    "tenants",
    "throttling",
    "two_factor",
]
