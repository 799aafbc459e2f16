"""Template filters of the templates pages: Meta's values in words, and badge colours."""

from __future__ import annotations

from typing import Any

from django import template

from senders import troubleshooting as ts
from templates_app.models import (
    ChangeKind,
    ChangeSource,
    QualityScore,
    RejectionReason,
    Submission,
    TemplateCategory,
    TemplateStatus,
    status_label,
)
from waba_portal.choices import choice_label

register = template.Library()

_SUCCESS = {TemplateStatus.APPROVED, TemplateStatus.REINSTATED, TemplateStatus.UNARCHIVED}
_DANGER = {TemplateStatus.REJECTED, TemplateStatus.DISABLED}
_WARNING = {
    TemplateStatus.PAUSED,
    TemplateStatus.FLAGGED,
    TemplateStatus.LIMIT_EXCEEDED,
    TemplateStatus.LOCKED,
}
_SECONDARY = {TemplateStatus.DELETED, TemplateStatus.PENDING_DELETION, TemplateStatus.ARCHIVED}


@register.filter
def status_colour(template: Any) -> str:
    """The Bootstrap colour of a template's status badge."""
    if template.submission == Submission.FAILED and not template.status:
        return "danger"
    status = template.status
    if status in _SUCCESS:
        return "success"
    if status in _DANGER:
        return "danger"
    if status in _WARNING:
        return "warning"
    if status in _SECONDARY:
        return "secondary"
    return "info"


@register.filter
def template_status(value: str) -> str:
    return status_label(value) if value else ""


@register.filter
def category_words(value: str) -> str:
    return choice_label(TemplateCategory, value) if value else ""


@register.filter
def quality_words(value: str) -> str:
    return choice_label(QualityScore, value or QualityScore.UNKNOWN)


@register.filter
def quality_colour(value: str) -> str:
    return {"GREEN": "success", "YELLOW": "warning", "RED": "danger"}.get(value or "", "secondary")


@register.filter
def reason_words(value: str) -> str:
    return choice_label(RejectionReason, value) if value else ""


@register.filter
def change_kind(value: str) -> str:
    return choice_label(ChangeKind, value)


@register.filter
def change_source(value: str) -> str:
    return choice_label(ChangeSource, value)


@register.filter
def change_value(value: str, kind: str) -> str:
    """A history value in words: a status, a category or a quality score."""
    if not value:
        return "—"
    if kind == ChangeKind.QUALITY:
        return choice_label(QualityScore, value)
    if kind in (ChangeKind.CATEGORY, ChangeKind.CREATED, ChangeKind.EDITED):
        return choice_label(TemplateCategory, value)
    if kind in (ChangeKind.STATUS, ChangeKind.DELETED, ChangeKind.IMPORTED):
        return choice_label(TemplateStatus, value)
    if kind == ChangeKind.REFUSED:
        return str(ts.get(value).title)
    return value


@register.filter
def language_name(code: str) -> str:
    """A template language by its own name ("Deutsch", "English (US)"), not Meta's code."""
    from templates_app.validation import TEMPLATE_LANGUAGES

    return TEMPLATE_LANGUAGES.get(code or "", code or "—")
