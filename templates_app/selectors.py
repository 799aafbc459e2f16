"""Reads of message templates: the list with its filters, one template, the rules' counts.

For the validator (templates_app/validation.py, T2): ``recently_deleted(waba, name,
language)`` answers when a template of that name and language was deleted within the
last 30 days (the name cannot be used again in that language before then), or None;
``template_names_count(waba)`` and ``name_language_taken(...)`` answer the other rules
that need the database. All of them read inside the current tenant's scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone

from accounts.tenancy import unscoped
from senders.models import ConnectionStatus, PhoneNumber, WhatsAppAccount
from templates_app.models import (
    APPROVED_EDITS_PER_30_DAYS,
    APPROVED_EDITS_PER_DAY,
    NAME_REUSE_DAYS,
    ChangeKind,
    SyncState,
    Template,
    TemplateStatusChange,
)
from waba_portal.errors import get_or_not_found


def recently_deleted(waba: WhatsAppAccount, name: str, language: str) -> datetime | None:
    """When ``name`` in ``language`` was deleted from ``waba`` within the last 30 days.

    Only a template Meta had approved keeps its name from reuse. None when the name and
    language may be used.
    """
    since = timezone.now() - timedelta(days=NAME_REUSE_DAYS)
    deleted = (
        Template.objects.filter(
            waba=waba,
            name=name,
            language=language,
            ever_approved=True,
            deleted_at__gte=since,
        )
        .order_by("-deleted_at")
        .values_list("deleted_at", flat=True)
        .first()
    )
    return deleted


def reusable_at(waba: WhatsAppAccount, name: str, language: str) -> datetime | None:
    """When ``name`` in ``language`` may be used again, if a deletion blocks it now."""
    deleted = recently_deleted(waba, name, language)
    return deleted + timedelta(days=NAME_REUSE_DAYS) if deleted else None


def live_templates() -> QuerySet[Template]:
    """The tenant's templates that are not deleted."""
    return Template.objects.filter(deleted_at__isnull=True)


def template_names_count(waba: WhatsAppAccount) -> int:
    """How many template names the WABA holds (each name counts once, whatever its languages)."""
    return live_templates().filter(waba=waba).values("name").distinct().count()


def name_exists(waba: WhatsAppAccount, name: str) -> bool:
    return live_templates().filter(waba=waba, name=name).exists()


def name_language_taken(
    waba: WhatsAppAccount, name: str, language: str, *, exclude_pk: int | None = None
) -> bool:
    """Whether the WABA already has a template of this name in this language."""
    rows = live_templates().filter(waba=waba, name=name, language=language)
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    return rows.exists()


# --- Access: one template of the current tenant, or NotFound -----------------------------


def template_access(*, template_pk: int, include_deleted: bool = True) -> Template:
    rows = Template.objects.select_related("waba", "updated_by", "created_by")
    if not include_deleted:
        rows = rows.filter(deleted_at__isnull=True)
    return get_or_not_found(rows, pk=template_pk)


def template_languages(*, template: Template) -> QuerySet[Template]:
    """The other languages of the template's name in its WABA (itself included)."""
    return live_templates().filter(waba_id=template.waba_id, name=template.name)


def template_history(*, template: Template, limit: int = 100) -> QuerySet[TemplateStatusChange]:
    return template.changes.select_related("actor")[:limit]


# --- Edits Meta allows --------------------------------------------------------------------


@dataclass(frozen=True)
class EditAllowance:
    """How many edits Meta still allows an approved template, and when the next one is."""

    last_day: int
    last_30_days: int
    next_at: datetime | None

    @property
    def allowed(self) -> bool:
        return self.next_at is None


def approved_edit_allowance(*, template: Template, now: datetime | None = None) -> EditAllowance:
    """Meta lets an approved template be edited once in 24 hours and 10 times in 30 days."""
    now = now or timezone.now()
    edits = sorted(
        TemplateStatusChange.objects.filter(
            template=template,
            kind=ChangeKind.EDITED,
            counts_as_approved_edit=True,
            occurred_at__gte=now - timedelta(days=30),
        ).values_list("occurred_at", flat=True)
    )
    day = [e for e in edits if e >= now - timedelta(days=1)]
    next_at: datetime | None = None
    if len(day) >= APPROVED_EDITS_PER_DAY:
        next_at = day[-APPROVED_EDITS_PER_DAY] + timedelta(days=1)
    if len(edits) >= APPROVED_EDITS_PER_30_DAYS:
        month_next = edits[-APPROVED_EDITS_PER_30_DAYS] + timedelta(days=30)
        next_at = max(next_at, month_next) if next_at else month_next
    return EditAllowance(last_day=len(day), last_30_days=len(edits), next_at=next_at)


# --- The list page and the API's list ------------------------------------------------------


@dataclass(frozen=True)
class TemplateFilters:
    """What the list is narrowed to; every field optional. ``phone`` narrows to its WABA."""

    waba: WhatsAppAccount | None = None
    phone: PhoneNumber | None = None
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    search: str = ""
    include_deleted: bool = False


def template_list(*, filters: TemplateFilters | None = None) -> QuerySet[Template]:
    """The tenant's templates, filtered; search matches the name and the body text."""
    f = filters or TemplateFilters()
    rows = Template.objects.select_related("waba", "updated_by")
    if not f.include_deleted:
        rows = rows.filter(deleted_at__isnull=True)
    if f.waba is not None:
        rows = rows.filter(waba=f.waba)
    if f.phone is not None:
        rows = rows.filter(waba_id=f.phone.waba_id)
    if f.statuses:
        rows = rows.filter(status__in=f.statuses)
    if f.categories:
        rows = rows.filter(category__in=f.categories)
    if f.languages:
        rows = rows.filter(language__in=f.languages)
    needle = f.search.strip()
    if needle:
        rows = rows.filter(Q(name__icontains=needle) | Q(body_text__icontains=needle))
    return rows.order_by("waba__name", "name", "language")


def template_languages_in_use() -> list[str]:
    """The languages the tenant's templates are in, for the list's filter."""
    return sorted(set(live_templates().values_list("language", flat=True)))


def wabas_due_for_template_sync(*, synced_before: datetime, limit: int) -> list[tuple[int, int]]:
    """``(tenant pk, WABA pk)`` of connected WABAs whose templates were not read since
    ``synced_before`` (never read first). Across tenants: the fan-out starts here."""
    with unscoped():
        rows = (
            WhatsAppAccount.objects.filter(tenant__is_active=True)
            .exclude(
                connection_status__in=[ConnectionStatus.DISCONNECTED, ConnectionStatus.REGISTERING]
            )
            .exclude(access_token__isnull=True)
            .exclude(access_token="")
            .annotate(
                last=Max(
                    "template_syncs__started_at",
                    filter=Q(template_syncs__state=SyncState.DONE),
                )
            )
            .filter(Q(last__isnull=True) | Q(last__lt=synced_before))
            .order_by(F("last").asc(nulls_first=True), "pk")
            .values_list("tenant_id", "pk")[:limit]
        )
        return [(tenant_pk, pk) for tenant_pk, pk in rows]
