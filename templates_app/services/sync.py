"""Reading a WABA's templates from Meta: periodically (beat) and on demand ("Sync now").

Every page of ``GET /{waba}/message_templates`` is read and applied by Meta's id (a
template not known by its id is matched by name and language, else created): templates
made in WhatsApp Manager are imported; Meta's sample templates (``sample_*``) are not.
What Meta says is applied order-safely (``apply``: the read's stamp is its start), so a
webhook that arrived during the read is not undone by it. A template we have that Meta
no longer lists (after a complete read) is marked deleted, with a history row: never
dropped silently. Progress and counts are kept on a :class:`TemplateSync` row, which
the list page shows in place.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant
from senders import troubleshooting as ts
from senders.models import WhatsAppAccount
from senders.services import graph
from templates_app import selectors, tasks
from templates_app import troubleshooting as tts
from templates_app.models import (
    ChangeKind,
    ChangeSource,
    ParameterFormat,
    Submission,
    SyncState,
    Template,
    TemplateStatus,
    TemplateSync,
)
from templates_app.services import apply, notifications
from waba_portal.errors import Conflict
from waba_portal.graph import errors as ge

logger = logging.getLogger(__name__)

RETRYABLE_ERRORS = (ge.GraphTransientError, ge.GraphRateLimitError)
SAMPLE_PREFIX = "sample_"
PAGE_SIZE = 100
# The fields read for each template.
FIELDS = (
    "id,name,language,status,category,components,parameter_format,rejected_reason,"
    "previous_category,quality_score,message_send_ttl_seconds,correct_category"
)
# Progress is written to the sync row every this many templates.
PROGRESS_EVERY = 25
# A queued or running sync younger than this is the one "Sync now" waits for.
SYNC_IN_FLIGHT_SECONDS = 300


def _syncable(waba: WhatsAppAccount) -> bool:
    return waba.is_connected and bool(waba.access_token)


# --- Asking for a sync ------------------------------------------------------------------


def templates_sync_request(
    *, actor: Membership, waba: WhatsAppAccount | None = None
) -> list[TemplateSync]:
    """ "Sync now": read the templates of one WABA (or every connected one) from Meta."""
    require_manager(actor, message=_("Only owners and admins can manage message templates."))
    wabas = [waba] if waba is not None else list(WhatsAppAccount.objects.all())
    wabas = [w for w in wabas if _syncable(w)]
    if not wabas:
        raise Conflict(
            _("No connected WhatsApp Business Account to read templates from; connect one first."),
            code="waba_not_connected",
        )
    syncs = []
    with transaction.atomic():
        for w in wabas:
            running = _in_flight(w)
            if running is not None:
                syncs.append(running)
                continue
            item = TemplateSync.objects.create(waba=w, requested_by=actor.user)
            audit_record(actor=actor.user, action="template.sync_requested", target=w)
            tasks.templates_sync_task.delay_on_commit(require_tenant().pk, w.pk, item.pk)
            syncs.append(item)
    return syncs


def _in_flight(waba: WhatsAppAccount) -> TemplateSync | None:
    since = timezone.now() - timedelta(seconds=SYNC_IN_FLIGHT_SECONDS)
    return (
        TemplateSync.objects.filter(
            waba=waba, state__in=[SyncState.QUEUED, SyncState.RUNNING], created_at__gte=since
        )
        .order_by("-created_at")
        .first()
    )


def templates_sync_fan_out() -> int:
    """Beat: queue a template sync of each connected WABA not synced lately (all tenants)."""
    due = selectors.wabas_due_for_template_sync(
        synced_before=timezone.now() - timedelta(seconds=settings.TEMPLATE_SYNC_INTERVAL_SECONDS),
        limit=settings.SYNC_BATCH_CAP,
    )
    for tenant_pk, waba_pk in due:
        tasks.templates_sync_task.delay_on_commit(tenant_pk, waba_pk, None)
    if due:
        logger.info("template sync fan-out: %d WABAs queued", len(due))
    return len(due)


# --- One read ------------------------------------------------------------------------------


def templates_sync_run(*, waba_pk: int, sync_pk: int | None = None) -> TemplateSync | None:
    """Read every template of the WABA from Meta and apply it.

    Raises a :data:`RETRYABLE_ERRORS` error while Meta is unavailable (the task retries);
    any other error of Meta's is kept on the sync row with its troubleshooting entry.
    """
    waba = WhatsAppAccount.objects.filter(pk=waba_pk).first()
    if waba is None:
        return None
    item = _sync_row(waba, sync_pk)
    if item is None or item.finished:
        return item
    if not _syncable(waba):
        return _finish(item, problem=ts.TOKEN_INVALID, error=_("The account is not connected."))
    started = timezone.now()
    item.state, item.started_at = SyncState.RUNNING, started
    item.read = item.created = item.updated = item.deleted = item.samples_skipped = 0
    item.save()
    client = graph.graph_client(token=str(waba.access_token))
    listed: set[str] = set()
    try:
        for data in client.templates_list(waba.waba_id, fields=FIELDS, limit=PAGE_SIZE):
            item.read += 1
            meta_id = str(data.get("id") or "")
            if meta_id:
                listed.add(meta_id)
            outcome = template_apply_read(waba=waba, data=data, started=started)
            if outcome == "sample":
                item.samples_skipped += 1
            elif outcome == "created":
                item.created += 1
            elif outcome == "updated":
                item.updated += 1
            if item.read % PROGRESS_EVERY == 0:
                item.save(update_fields=["read", "created", "updated", "samples_skipped"])
    except RETRYABLE_ERRORS as exc:
        item.error = str(exc)[:2000]
        item.save(update_fields=["error", "read", "created", "updated", "samples_skipped"])
        raise
    except ge.GraphError as exc:
        logger.warning("template sync of WABA %s failed: %s", waba.waba_id, exc)
        return _finish(item, problem=tts.problem_for_template_error(exc), error=tts.meta_words(exc))
    finally:
        client.close()
    # The read is complete: what Meta no longer lists was deleted there.
    item.deleted = _gone_at_meta(waba, listed, started)
    return _finish(item)


def _sync_row(waba: WhatsAppAccount, sync_pk: int | None) -> TemplateSync | None:
    if sync_pk is not None:
        return TemplateSync.objects.filter(pk=sync_pk).first()
    return _in_flight(waba) or TemplateSync.objects.create(waba=waba)


def _finish(item: TemplateSync, *, problem: str = "", error: str = "") -> TemplateSync:
    item.state = SyncState.FAILED if problem else SyncState.DONE
    item.problem, item.error = problem, error[:2000]
    item.finished_at = timezone.now()
    item.save()
    return item


def templates_sync_give_up(*, waba_pk: int, sync_pk: int | None, message: str) -> None:
    """Meta stayed unavailable through every retry: keep why; the next round tries again."""
    waba = WhatsAppAccount.objects.filter(pk=waba_pk).first()
    if waba is None:
        return
    item = _sync_row(waba, sync_pk)
    if item is not None and not item.finished:
        _finish(item, problem=ts.META_UNAVAILABLE, error=message)


def _quality(data: dict[str, Any]) -> str:
    score = data.get("quality_score")
    if isinstance(score, dict):
        return str(score.get("score") or "")
    return str(score or "")


@transaction.atomic
def template_apply_read(*, waba: WhatsAppAccount, data: dict[str, Any], started: datetime) -> str:
    """One template as Meta listed it: "created", "updated", "unchanged" or "sample"."""
    meta_id = str(data.get("id") or "")
    name, language = str(data.get("name") or ""), str(data.get("language") or "")
    if not meta_id or not name:
        return "unchanged"
    rows = Template.objects.select_for_update().filter(waba=waba, deleted_at__isnull=True)
    template = rows.filter(meta_template_id=meta_id).first()
    if template is None:
        # Ours, submitted but its answer not recorded yet; or one Meta re-created.
        template = rows.filter(name=name, language=language).first()
        if template is not None and template.submission == Submission.DELETING:
            return "unchanged"  # being deleted here: the deletion decides
    if template is None:
        if name.startswith(SAMPLE_PREFIX):
            return "sample"
        return _import(waba, data, started)
    stamp = apply.call_stamp(started)
    changed = False
    if not template.meta_template_id or template.meta_template_id != meta_id:
        template.meta_template_id = meta_id
        if template.submission == Submission.CREATING:
            template.submission = Submission.NONE
        changed = True
    before = template.status
    status_changed = apply.status_apply(
        template=template,
        status=str(data.get("status") or ""),
        source=ChangeSource.SYNC,
        stamp=stamp,
        reason=str(data.get("rejected_reason") or ""),
    )
    changed |= status_changed
    category = str(data.get("category") or "").upper()
    if category and category != template.category and template.submission != Submission.EDITING:
        changed |= apply.category_apply(
            template=template,
            category=category,
            source=ChangeSource.SYNC,
            stamp=stamp,
            previous=str(data.get("previous_category") or ""),
        )
    elif data.get("previous_category") and not template.previous_category:
        template.previous_category = str(data["previous_category"]).upper()
        changed = True
    changed |= apply.quality_apply(
        template=template, score=_quality(data), source=ChangeSource.SYNC, stamp=stamp
    )
    if template.submission not in (Submission.EDITING, Submission.CREATING):
        changed |= _content_apply(template, data)
    if changed:
        template.updated_by = None
    template.last_synced_at = timezone.now()
    template.save()
    if status_changed:
        notifications.template_status_notify(template=template, old=before)
    return "updated" if changed else "unchanged"


def _content_apply(template: Template, data: dict[str, Any]) -> bool:
    """Meta's content of the template (it may have been edited in WhatsApp Manager)."""
    changed = False
    components = data.get("components")
    if isinstance(components, list) and components != template.components:
        template.components = components
        changed = True
    fmt = str(data.get("parameter_format") or "").upper()
    if fmt and fmt != template.parameter_format:
        template.parameter_format = fmt
        changed = True
    ttl = data.get("message_send_ttl_seconds")
    if isinstance(ttl, int) and ttl >= 0 and ttl != template.message_send_ttl_seconds:
        template.message_send_ttl_seconds = ttl
        changed = True
    return changed


def _import(waba: WhatsAppAccount, data: dict[str, Any], started: datetime) -> str:
    """A template made outside the portal (WhatsApp Manager): a new row, in Meta's words."""
    components = data.get("components") if isinstance(data.get("components"), list) else []
    ttl = data.get("message_send_ttl_seconds")
    template = Template(
        tenant=waba.tenant,
        waba=waba,
        meta_template_id=str(data["id"]),
        name=str(data["name"]),
        language=str(data.get("language") or ""),
        category=str(data.get("category") or "").upper(),
        parameter_format=str(data.get("parameter_format") or ParameterFormat.POSITIONAL).upper(),
        components=components,
        message_send_ttl_seconds=ttl if isinstance(ttl, int) and ttl >= 0 else None,
        previous_category=str(data.get("previous_category") or "").upper(),
        correct_category=str(data.get("correct_category") or "").upper(),
        quality_score=_quality(data).upper(),
        last_synced_at=timezone.now(),
    )
    stamp = apply.call_stamp(started)
    template.event_clock = {apply.STATUS: stamp, apply.CATEGORY: stamp, apply.QUALITY: stamp}
    status = str(data.get("status") or TemplateStatus.PENDING).upper()
    template.status = status
    reason = str(data.get("rejected_reason") or "")
    template.rejected_reason = (
        reason if status == TemplateStatus.REJECTED and reason != "NONE" else ""
    )
    template.ever_approved = status in apply.APPROVING
    template.save()
    apply.history_record(
        template=template,
        kind=ChangeKind.IMPORTED,
        source=ChangeSource.SYNC,
        new=status,
        reason=template.rejected_reason,
    )
    return "created"


@transaction.atomic
def _gone_at_meta(waba: WhatsAppAccount, listed: set[str], started: datetime) -> int:
    """Mark deleted the templates Meta no longer lists; returns how many."""
    gone = list(
        Template.objects.select_for_update()
        .filter(waba=waba, deleted_at__isnull=True, created_at__lt=started)
        .exclude(meta_template_id="")
        .exclude(meta_template_id__in=listed)
        .exclude(submission=Submission.CREATING)
    )
    now = timezone.now()
    for template in gone:
        old = template.status
        template.status = TemplateStatus.DELETED
        template.deleted_at = now
        template.submission = Submission.NONE
        template.pending_change = {}
        template.updated_by = None
        template.save()
        apply.history_record(
            template=template,
            kind=ChangeKind.DELETED,
            source=ChangeSource.SYNC,
            old=old,
            new=TemplateStatus.DELETED,
            reason=str(_("Meta no longer lists it: it was deleted at Meta.")),
        )
    return len(gone)
