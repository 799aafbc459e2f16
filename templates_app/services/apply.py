"""What Meta says about one template, applied to its row, with a history row per change.

Webhooks (``events``), reads (``sync``) and Meta's answers to our own calls
(``lifecycle``) all apply through here, so they agree on order:

- each aspect (``status``, ``category``, ``quality``) has its own clock on the row
  (:attr:`Template.event_clock`): information older than the last applied for the same
  aspect changes nothing. A webhook's stamp is its event time (whole seconds); a read's
  or a call's stamp is when it started, less :data:`READ_MARGIN_SECONDS`, so that an
  event Meta stamped in the same second still counts as newer;
- at the same stamp, ``PENDING`` does not replace a decision (a review answers a
  submission, never the other way round);
- a change is recorded (and notified, by the caller) only if it changes something, so
  an event delivered twice writes one history row.

The caller locks the row (``select_for_update``) and saves it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import User
from templates_app.models import (
    ChangeKind,
    Template,
    TemplateStatus,
    TemplateStatusChange,
)
from waba_portal import events

# Meta stamps events in whole seconds: a read or a call that started in the same second
# as an event is taken as older than it.
READ_MARGIN_SECONDS = 1.0
STATUS, CATEGORY, QUALITY = "status", "category", "quality"
# Statuses that mean Meta approved the template at some point.
APPROVING = frozenset({TemplateStatus.APPROVED, TemplateStatus.REINSTATED})


def call_stamp(started: datetime | None = None) -> float:
    """The stamp of what a read or a call that started at ``started`` (now) learnt."""
    return (started or timezone.now()).timestamp() - READ_MARGIN_SECONDS


def clock_advance(template: Template, aspect: str, stamp: float | None) -> bool:
    """Whether information about ``aspect`` as of ``stamp`` is not older than what the row
    has; moves the row's clock if so. ``None`` (no time known) always applies."""
    if stamp is None:
        return True
    last: Any = template.event_clock.get(aspect)
    if isinstance(last, int | float) and stamp < float(last):
        return False
    template.event_clock[aspect] = stamp
    return True


def history_record(
    *,
    template: Template,
    kind: str,
    source: str,
    old: str = "",
    new: str = "",
    reason: str = "",
    actor: User | None = None,
    detail: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    counts_as_approved_edit: bool = False,
) -> TemplateStatusChange:
    return TemplateStatusChange.objects.create(
        tenant_id=template.tenant_id,
        template=template,
        kind=kind,
        old_value=(old or "")[:64],
        new_value=(new or "")[:64],
        reason=(reason or "")[:255],
        source=source,
        actor=actor,
        detail=detail or {},
        occurred_at=occurred_at or timezone.now(),
        counts_as_approved_edit=counts_as_approved_edit,
    )


def status_apply(
    *,
    template: Template,
    status: str,
    source: str,
    stamp: float | None,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> bool:
    """Meta's ``status`` (and its reason and words) for the template; True if it changed."""
    status = (status or "").strip().upper()
    if not status:
        return False
    last: Any = template.event_clock.get(STATUS)
    if (
        stamp is not None
        and isinstance(last, int | float)
        and stamp == float(last)
        and status == TemplateStatus.PENDING
        and template.status not in ("", TemplateStatus.PENDING)
    ):
        return False
    if not clock_advance(template, STATUS, stamp):
        return False
    reason = (reason or "").strip()
    kept_reason = reason if status == TemplateStatus.REJECTED and reason.upper() != "NONE" else ""
    old = template.status
    changed = status != old or kept_reason != template.rejected_reason
    template.status = status
    template.rejected_reason = kept_reason
    if detail is not None or changed:
        template.status_detail = dict(detail or {})
    if status in APPROVING:
        template.ever_approved = True
    if status == TemplateStatus.DELETED and template.deleted_at is None:
        template.deleted_at = occurred_at or timezone.now()
    if changed:
        history_record(
            template=template,
            kind=ChangeKind.STATUS,
            source=source,
            old=old,
            new=status,
            reason=kept_reason or ("" if reason.upper() == "NONE" else reason),
            detail=detail,
            occurred_at=occurred_at,
        )
        if status != old:
            _status_emit(template, old=old, reason=kept_reason, occurred_at=occurred_at)
    return changed


def _status_emit(
    template: Template, *, old: str, reason: str, occurred_at: datetime | None
) -> None:
    """Tell integrators' event webhooks (``template.status_changed``)."""
    waba = template.waba
    events.emit(
        template.tenant,
        "template.status_changed",
        {
            "template": {
                "id": template.pk,
                "name": template.name,
                "language": template.language,
                "meta_id": template.meta_template_id,
            },
            "waba": {"id": waba.pk, "waba_id": waba.waba_id},
            "old": old,
            "new": template.status,
            "reason": reason,
            "occurred_at": (occurred_at or timezone.now()).isoformat(),
        },
    )


def category_apply(
    *,
    template: Template,
    category: str,
    source: str,
    stamp: float | None,
    previous: str = "",
    occurred_at: datetime | None = None,
) -> bool:
    """Meta put the template in ``category`` (a recategorisation); True if it changed."""
    category = (category or "").strip().upper()
    if not category or not clock_advance(template, CATEGORY, stamp):
        return False
    if category == template.category:
        if template.correct_category == category:
            template.correct_category, template.category_change_at = "", None
        return False
    old = template.category
    template.previous_category = (previous or old).upper()
    template.category = category
    template.correct_category, template.category_change_at = "", None
    history_record(
        template=template,
        kind=ChangeKind.CATEGORY,
        source=source,
        old=old,
        new=category,
        occurred_at=occurred_at,
    )
    return True


def impending_category_apply(
    *,
    template: Template,
    correct_category: str,
    change_at: datetime | None,
    source: str,
    stamp: float | None,
    occurred_at: datetime | None = None,
) -> bool:
    """Meta announced it will move the template to ``correct_category`` at ``change_at``."""
    correct_category = (correct_category or "").strip().upper()
    if not correct_category or correct_category == template.category:
        return False
    if not clock_advance(template, CATEGORY, stamp):
        return False
    if (template.correct_category, template.category_change_at) == (correct_category, change_at):
        return False
    template.correct_category, template.category_change_at = correct_category, change_at
    history_record(
        template=template,
        kind=ChangeKind.CATEGORY,
        source=source,
        old=template.category,
        new=correct_category,
        detail={"impending": True, "at": change_at.isoformat() if change_at else None},
        occurred_at=occurred_at,
    )
    return True


def quality_apply(
    *,
    template: Template,
    score: str,
    source: str,
    stamp: float | None,
    occurred_at: datetime | None = None,
) -> bool:
    score = (score or "").strip().upper()
    if not score or not clock_advance(template, QUALITY, stamp):
        return False
    if score == template.quality_score:
        return False
    old = template.quality_score
    template.quality_score = score
    history_record(
        template=template,
        kind=ChangeKind.QUALITY,
        source=source,
        old=old,
        new=score,
        occurred_at=occurred_at,
    )
    return True
