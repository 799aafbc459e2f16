"""The template webhooks, applied as they arrive: status, category and quality.

Fields: ``message_template_status_update``, ``template_category_update`` and
``message_template_quality_update``; the handlers in :mod:`templates_app.events` hand
each field's events of one tenant to one function here. Meta delivers at least once
and out of order, and staff may replay a delivery, so each is idempotent and
order-tolerant (``apply``: an older event loses; nothing is recorded or notified twice).

A template is found by Meta's id, else by name and language (a submission whose answer
is not recorded yet). An event about a template we do not know (made in WhatsApp
Manager) queues a read of the WABA's templates, which imports it; an event about a WABA
the tenant has no account for is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db.models import F
from django.utils import timezone

from accounts.tenancy import require_tenant
from senders.models import WhatsAppAccount
from templates_app import tasks
from templates_app.models import ChangeSource, Submission, Template, TemplateStatus
from templates_app.services import apply, notifications
from waba_portal.graph import webhooks as wh

logger = logging.getLogger(__name__)

SOURCE = ChangeSource.WEBHOOK
TemplateEvent = wh.TemplateStatusUpdate | wh.TemplateCategoryUpdate | wh.TemplateQualityUpdate
E = TypeVar("E", wh.TemplateStatusUpdate, wh.TemplateCategoryUpdate, wh.TemplateQualityUpdate)


def _stamp(event: wh.WebhookEvent) -> float | None:
    return event.timestamp.timestamp() if event.timestamp else None


def _each_template(events: Sequence[E], apply_one: Callable[[Template, E], None]) -> None:
    """``apply_one(template, event)`` for each event whose template is known, oldest first;
    a read of the WABA's templates for the events whose template is not."""
    ids = sorted({e.waba_id for e in events if e.waba_id})
    wabas = {w.waba_id: w for w in WhatsAppAccount.objects.filter(waba_id__in=ids)}
    unknown: set[int] = set()
    ordered = sorted(events, key=lambda e: e.timestamp or timezone.now())
    for event in ordered:
        waba = wabas.get(event.waba_id)
        if waba is None:
            logger.info(
                "%s for WABA %s ignored: tenant %s has no account for it",
                type(event).__name__,
                event.waba_id,
                require_tenant().slug,
            )
            continue
        template = _find(waba, event)
        if template is None:
            unknown.add(waba.pk)
            continue
        apply_one(template, event)
    for waba_pk in sorted(unknown):
        tasks.templates_sync_task.delay_on_commit(require_tenant().pk, waba_pk, None)


def _find(waba: WhatsAppAccount, event: TemplateEvent) -> Template | None:
    rows = Template.objects.select_for_update().filter(waba=waba)
    if event.template_id:
        found = (
            rows.filter(meta_template_id=event.template_id)
            .order_by(F("deleted_at").asc(nulls_first=True))  # the live row first
            .first()
        )
        if found is not None:
            return found
    if event.template_name and event.template_language:
        return (
            rows.filter(
                name=event.template_name,
                language=event.template_language,
                deleted_at__isnull=True,
            )
            .filter(meta_template_id__in=["", event.template_id or ""])
            .first()
        )
    return None


def _adopt_id(template: Template, event: TemplateEvent) -> None:
    """A submission whose answer is not recorded yet: the event names its id."""
    if not template.meta_template_id and event.template_id:
        template.meta_template_id = event.template_id
        if template.submission == Submission.CREATING:
            template.submission = Submission.NONE


# --- message_template_status_update -----------------------------------------------------


def template_status_updates_apply(*, events: Sequence[wh.TemplateStatusUpdate]) -> None:
    _each_template(events, template_status_apply)


def template_status_apply(template: Template, event: wh.TemplateStatusUpdate) -> None:
    if template.is_deleted and event.event != TemplateStatus.DELETED:
        return  # a late event about a template deleted since
    _adopt_id(template, event)
    detail = {
        key: value
        for key, value in (
            ("rejection_info", event.rejection_info),
            ("other_info", event.other_info),
            ("disable_info", event.disable_info),
        )
        if value
    }
    before = template.status
    changed = apply.status_apply(
        template=template,
        status=event.event or "",
        source=SOURCE,
        stamp=_stamp(event),
        reason=event.reason or "",
        detail=detail,
        occurred_at=event.timestamp,
    )
    if changed:
        template.updated_by = None
    template.save()
    if changed:
        notifications.template_status_notify(template=template, old=before)


# --- template_category_update -----------------------------------------------------------


def template_category_updates_apply(*, events: Sequence[wh.TemplateCategoryUpdate]) -> None:
    _each_template(events, template_category_apply)


def template_category_apply(template: Template, event: wh.TemplateCategoryUpdate) -> None:
    if template.is_deleted:
        return
    _adopt_id(template, event)
    old = template.category
    if event.correct_category and not event.previous_category:
        # Announced: Meta will move it at category_update_timestamp.
        changed = apply.impending_category_apply(
            template=template,
            correct_category=event.correct_category,
            change_at=event.category_update_timestamp,
            source=SOURCE,
            stamp=_stamp(event),
            occurred_at=event.timestamp,
        )
        new, impending = event.correct_category, True
    else:
        changed = apply.category_apply(
            template=template,
            category=event.new_category or "",
            previous=event.previous_category or "",
            source=SOURCE,
            stamp=_stamp(event),
            occurred_at=event.timestamp,
        )
        new, impending = template.category, False
    if changed:
        template.updated_by = None
    template.save()
    if changed:
        notifications.template_recategorised_notify(
            template=template, old=old, new=new.upper(), impending=impending
        )


# --- message_template_quality_update ----------------------------------------------------


def template_quality_updates_apply(*, events: Sequence[wh.TemplateQualityUpdate]) -> None:
    _each_template(events, template_quality_apply)


def template_quality_apply(template: Template, event: wh.TemplateQualityUpdate) -> None:
    if template.is_deleted:
        return
    _adopt_id(template, event)
    changed = apply.quality_apply(
        template=template,
        score=event.new_quality_score or "",
        source=SOURCE,
        stamp=_stamp(event),
        occurred_at=event.timestamp,
    )
    if changed:
        template.updated_by = None
    template.save()
