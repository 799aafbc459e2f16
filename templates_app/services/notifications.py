"""What owners and admins are told about templates, each in their own language.

Meta rejecting, pausing or disabling a template (with Meta's reason and the
troubleshooting entry's fix), and Meta moving a template to another category. Each
notification is stored as a kind and its parameters and read in the reader's language;
every one links to the template's page.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import NotificationLevel
from accounts.services.audit import audit_labels_register
from accounts.services.notifications import notification_kind_register, notify_managers_of
from accounts.tenancy import require_tenant
from senders import troubleshooting as ts
from templates_app import troubleshooting as tts
from templates_app.models import (
    RejectionReason,
    Template,
    TemplateCategory,
    TemplateStatus,
)
from waba_portal.choices import choice_label

KIND_STATUS = "template.status"
KIND_RECATEGORISED = "template.recategorised"
# The statuses owners and admins are told about.
NOTIFIED_STATUSES = frozenset(
    {TemplateStatus.REJECTED, TemplateStatus.PAUSED, TemplateStatus.DISABLED}
)


def template_url(template: Template) -> str:
    return reverse(
        "templates_app:detail",
        kwargs={"tenant_slug": require_tenant().slug, "template_pk": template.pk},
    )


def reason_words(reason: str) -> str:
    """Meta's rejection reason in words (a free-text reason as Meta wrote it)."""
    return choice_label(RejectionReason, reason) if reason else ""


def _status_title(p: dict[str, Any]) -> str:
    names = {"template": p["template"]}
    status = p["status"]
    if status == TemplateStatus.REJECTED:
        reason = reason_words(str(p.get("reason") or ""))
        if reason:
            return _("Meta rejected the template %(template)s: %(reason)s") % {
                **names,
                "reason": reason,
            }
        return _("Meta rejected the template %(template)s") % names
    if status == TemplateStatus.PAUSED:
        return _("Meta paused the template %(template)s") % names
    if status == TemplateStatus.DISABLED:
        return _("Meta disabled the template %(template)s") % names
    return _("The template %(template)s is now %(status)s") % {
        **names,
        "status": choice_label(TemplateStatus, status).lower(),
    }


def _status_body(p: dict[str, Any]) -> str:
    parts: list[str] = []
    if p.get("meta_words"):
        parts.append(_("Meta says: %(words)s") % {"words": p["meta_words"]})
    problem = str(p.get("problem") or "")
    if problem:
        entry = ts.get(problem)
        parts.extend([str(entry.explanation), *(str(step) for step in entry.steps)])
    return " ".join(parts)


def _recategorised_title(p: dict[str, Any]) -> str:
    words = {
        "template": p["template"],
        "old": choice_label(TemplateCategory, str(p["old"])),
        "new": choice_label(TemplateCategory, str(p["new"])),
    }
    if p.get("impending"):
        return _("Meta will move the template %(template)s from %(old)s to %(new)s") % words
    return _("Meta moved the template %(template)s from %(old)s to %(new)s") % words


def _recategorised_body(p: dict[str, Any]) -> str:
    return _(
        "Meta decides the category from the content, and prices messages by it. Edit the "
        "text if it should stay in the category you chose."
    )


notification_kind_register(KIND_STATUS, title=_status_title, body=_status_body)
notification_kind_register(KIND_RECATEGORISED, title=_recategorised_title, body=_recategorised_body)

audit_labels_register(
    {
        "template.submitted": gettext_lazy("%(actor)s submitted the template %(target)s to Meta"),
        "template.resubmitted": gettext_lazy("%(actor)s submitted the template %(target)s again"),
        "template.edited": gettext_lazy("%(actor)s edited the template %(target)s"),
        "template.deleted": gettext_lazy("%(actor)s deleted the template %(target)s"),
        "template.deleted_all_languages": gettext_lazy(
            "%(actor)s deleted the template %(target)s in every language (%(languages)s)"
        ),
        "template.sync_requested": gettext_lazy(
            "%(actor)s asked Meta for the templates of %(target)s"
        ),
    }
)


def _meta_words(template: Template) -> str:
    detail = template.status_detail or {}
    parts: list[str] = []
    for key in ("rejection_info", "other_info"):
        info = detail.get(key)
        if isinstance(info, dict):
            parts.extend(
                str(info[k]) for k in ("reason", "recommendation", "description") if info.get(k)
            )
    if (
        not parts
        and template.rejected_reason
        and template.rejected_reason not in RejectionReason.values
    ):
        parts.append(template.rejected_reason)  # a free-text reason
    return " ".join(parts)[:500]


def template_status_notify(*, template: Template, old: str) -> None:
    """Tell owners and admins that Meta rejected, paused or disabled the template."""
    if template.status == old or template.status not in NOTIFIED_STATUSES:
        return
    notify_managers_of(
        kind=KIND_STATUS,
        params={
            "template": str(template),
            "status": template.status,
            "reason": template.rejected_reason,
            "problem": tts.problem_for_status(template.status, template.rejected_reason),
            "meta_words": _meta_words(template),
        },
        url=template_url(template),
        level=NotificationLevel.WARNING,
    )


def template_recategorised_notify(
    *, template: Template, old: str, new: str, impending: bool = False
) -> None:
    notify_managers_of(
        kind=KIND_RECATEGORISED,
        params={"template": str(template), "old": old, "new": new, "impending": impending},
        url=template_url(template),
        level=NotificationLevel.INFO,
    )
