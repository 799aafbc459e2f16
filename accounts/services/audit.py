"""The audit log: one row per state change, written inside the change's transaction."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import (
    AuditEvent,
    Role,
    User,
)
from accounts.tenancy import require_tenant


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row in the current tenant's scope."""
    return AuditEvent.objects.create(
        tenant=require_tenant(),
        actor=actor,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        metadata=metadata or {},
    )


# --- Reading the log: each action in words, in the reader's language ---------------------
# The row keeps what happened (action and metadata); the sentence is built when it is read,
# so each reader sees it in their own language. %(actor)s and %(target)s are always given;
# the other names are the metadata's keys.
AUDIT_LABELS: dict[str, Any] = {
    "tenant.created": gettext_lazy("%(actor)s created the workspace %(target)s"),
    "tenant.two_factor_required": gettext_lazy(
        "%(actor)s required two-factor sign-in for everyone"
    ),
    "tenant.two_factor_optional": gettext_lazy("%(actor)s made two-factor sign-in optional"),
    "member.added": gettext_lazy("%(actor)s joined as %(role)s"),
    "member.role_changed": gettext_lazy(
        "%(actor)s changed the role of %(email)s from %(from)s to %(to)s"
    ),
    "member.removed": gettext_lazy("%(actor)s removed %(email)s (%(role)s)"),
    "member.two_factor_enabled": gettext_lazy("%(actor)s turned on two-factor sign-in"),
    "member.two_factor_disabled": gettext_lazy("%(actor)s turned off two-factor sign-in"),
    "member.recovery_codes_regenerated": gettext_lazy("%(actor)s made new recovery codes"),
    "member.recovery_code_used": gettext_lazy(
        "%(actor)s signed in with a recovery code (%(left)s left)"
    ),
    "team.created": gettext_lazy("%(actor)s created the team %(target)s"),
    "team.renamed": gettext_lazy("%(actor)s renamed the team %(from)s to %(target)s"),
    "team.deleted": gettext_lazy("%(actor)s deleted the team %(target)s"),
    "team.member_added": gettext_lazy("%(actor)s added %(email)s to the team %(target)s"),
    "team.member_removed": gettext_lazy("%(actor)s removed %(email)s from the team %(target)s"),
    "invitation.created": gettext_lazy("%(actor)s invited %(email)s as %(role)s"),
    "invitation.resent": gettext_lazy("%(actor)s sent the invitation to %(target)s again"),
    "invitation.revoked": gettext_lazy("%(actor)s revoked the invitation of %(email)s"),
    "invitation.accepted": gettext_lazy("%(email)s accepted the invitation as %(role)s"),
    "invitation.expired": gettext_lazy("The invitation of %(email)s expired"),
    "onboarding.signup_failed": gettext_lazy(
        "%(actor)s tried to connect WhatsApp; it did not finish"
    ),
    "onboarding.started": gettext_lazy("%(actor)s started connecting WhatsApp"),
    "onboarding.retried": gettext_lazy("%(actor)s retried connecting WhatsApp"),
    "onboarding.failed": gettext_lazy("Connecting WhatsApp stopped at the step %(step)s"),
    "waba.connected": gettext_lazy("%(actor)s connected the WhatsApp Business Account %(target)s"),
    "waba.disconnected": gettext_lazy(
        "%(actor)s disconnected the WhatsApp Business Account %(target)s"
    ),
    "waba.sync_requested": gettext_lazy("%(actor)s asked Meta for the latest state of %(target)s"),
    "phone_number.primary_set": gettext_lazy("%(actor)s made %(target)s the primary number"),
    "phone_number.resubmitted": gettext_lazy("%(actor)s resubmitted %(target)s"),
}

# Metadata values that are codes, shown by their label.
_ROLE_KEYS = frozenset({"role", "from", "to"})


class _Params(dict[str, Any]):
    """Named parameters for a label; a name the row lacks reads as a dash, never an error."""

    def __missing__(self, key: str) -> str:
        return "—"


def _value_words(key: str, value: Any, action: str) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if key in _ROLE_KEYS and not action.startswith("team.") and value in Role.values:
        return str(Role(value).label)
    return "—" if value in (None, "") else str(value)


def audit_describe(event: AuditEvent) -> str:
    """The row as a sentence in the active language; an unknown action in readable words."""
    actor = event.actor.get_full_name() if event.actor else str(_("The system"))
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    params = _Params(
        {str(k): _value_words(str(k), v, event.action) for k, v in metadata.items()},
        actor=actor,
        target=event.target_repr or "—",
    )
    label = AUDIT_LABELS.get(event.action)
    if label is not None:
        return str(label) % params
    # Unknown: "waba.sync_requested" -> "Waba: sync requested", never the raw dict.
    words = event.action.replace("_", " ").replace(".", ": ", 1)
    sentence = _("%(actor)s: %(action)s") % {"actor": actor, "action": words}
    if event.target_repr:
        sentence = f"{sentence} ({event.target_repr})"
    return sentence
