"""The audit log's sentences for what members do in the inbox (registered at start)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from accounts.services.audit import audit_labels_register
from inbox.models import ConsentSource, ConsentState, Queue

audit_labels_register(
    {
        "conversation.assigned": gettext_lazy(
            "%(actor)s assigned the conversation with %(contact)s (%(assignee)s, team %(team)s)"
        ),
        "conversation.moved": gettext_lazy(
            "%(actor)s moved the conversation with %(contact)s from %(from)s to %(to)s"
        ),
        "conversation.tagged": gettext_lazy(
            "%(actor)s tagged the conversation with %(contact)s “%(tag)s”"
        ),
        "conversation.untagged": gettext_lazy(
            "%(actor)s took the tag “%(tag)s” off the conversation with %(contact)s"
        ),
        "conversation.started": gettext_lazy(
            "%(actor)s started a conversation with %(contact)s from %(channel)s"
        ),
        "conversation.auto_resolved": gettext_lazy(
            "%(count)s conversations in %(queue)s were resolved after their channel's days"
        ),
        "contact.created": gettext_lazy("%(actor)s added the contact %(target)s"),
        "contact.changed": gettext_lazy("%(actor)s changed the contact %(target)s"),
        "contact.deleted": gettext_lazy("%(actor)s deleted the contact %(target)s"),
        "contact.consent_recorded": gettext_lazy(
            "%(actor)s recorded the consent of %(target)s: %(state)s (%(source)s)"
        ),
        "inbox.keywords_changed": gettext_lazy(
            "%(actor)s changed the consent keywords (in: %(opt_in)s; out: %(opt_out)s)"
        ),
    },
    values={
        ("conversation.", "from"): Queue,
        ("conversation.", "to"): Queue,
        ("conversation.", "queue"): Queue,
        ("contact.", "state"): ConsentState,
        ("contact.", "source"): ConsentSource,
    },
)
