"""The audit log: one row per state change, written inside the change's transaction."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.acting import acting_key
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
    """Write one audit row in the current tenant's scope.

    Made while an API key acts (``accounts.acting``), the row names the key in its
    metadata (``api_key``): the log then reads "API key <name> …".
    """
    key = acting_key()
    if actor is None and key is not None:
        metadata = {**(metadata or {}), "api_key": key}
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
    "api_key.created": gettext_lazy("%(actor)s created the API key %(name)s (%(prefix)s…)"),
    "api_key.revoked": gettext_lazy("%(actor)s revoked the API key %(name)s (%(prefix)s…)"),
    "event_subscription.created": gettext_lazy("%(actor)s subscribed %(url)s to events"),
    "event_subscription.changed": gettext_lazy("%(actor)s changed the event webhook %(url)s"),
    "event_subscription.secret_rotated": gettext_lazy(
        "%(actor)s made a new signing secret for the event webhook %(url)s"
    ),
    "event_subscription.deleted": gettext_lazy("%(actor)s deleted the event webhook %(url)s"),
    "event_subscription.disabled": gettext_lazy(
        "The event webhook %(url)s was switched off: its deliveries failed for a day"
    ),
}

# Metadata that is not shown as a value (an API key names the actor; scopes are a dict).
_NOT_VALUES = frozenset({"api_key", "scopes"})

# Metadata values that are codes, shown by their label.
_ROLE_KEYS = frozenset({"role", "from", "to"})


class _Params(dict[str, Any]):
    """Named parameters for a label; a name the row lacks reads as a dash, never an error."""

    def __missing__(self, key: str) -> str:
        return "—"


# Codes in other apps' metadata, by action prefix and key: {("conversation.", "to"): Queue}.
AUDIT_VALUE_WORDS: dict[tuple[str, str], Any] = {}


def _value_words(key: str, value: Any, action: str) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    for (prefix, code_key), choices in AUDIT_VALUE_WORDS.items():
        if key == code_key and action.startswith(prefix) and value in choices.values:
            return str(choices(value).label)
    if key in _ROLE_KEYS and not action.startswith("team.") and value in Role.values:
        return str(Role(value).label)
    return "—" if value in (None, "") else str(value)


def audit_labels_register(
    labels: dict[str, Any], *, values: dict[tuple[str, str], Any] | None = None
) -> None:
    """Add the sentences of an app's own actions (apps above accounts call this when
    they load), and the ``TextChoices`` that say its metadata codes in words, keyed by
    (action prefix, metadata key). An action described twice is a mistake."""
    taken = sorted(set(labels) & set(AUDIT_LABELS))
    if taken:
        raise ValueError(f"audit actions described twice: {', '.join(taken)}")
    AUDIT_LABELS.update(labels)
    AUDIT_VALUE_WORDS.update(values or {})


def audit_describe(event: AuditEvent) -> str:
    """The row as a sentence in the active language; an unknown action in readable words."""
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    key = metadata.get("api_key")
    if event.actor:
        actor = event.actor.get_full_name()
    elif isinstance(key, dict) and key.get("name"):
        actor = _("API key %(name)s") % {"name": key["name"]}
    else:
        actor = str(_("The system"))
    params = _Params(
        {
            str(k): _value_words(str(k), v, event.action)
            for k, v in metadata.items()
            if k not in _NOT_VALUES
        },
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
