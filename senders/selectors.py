"""Reads of senders data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from accounts.models import Tenant
from accounts.tenancy import unscoped
from senders import troubleshooting as ts
from senders.models import (
    UNVERIFIED_TRIAL_DAYS,
    AccountHistory,
    AccountReviewStatus,
    BanState,
    BusinessVerificationStatus,
    ConnectionStatus,
    MetaAsset,
    MetaAssetKind,
    Onboarding,
    OnboardingStatus,
    PhoneNumber,
    WhatsAppAccount,
)
from senders.services import rules
from waba_portal.errors import get_or_not_found


def tenants_for_meta_ids(
    *, waba_ids: Iterable[str] = (), phone_number_ids: Iterable[str] = ()
) -> tuple[dict[str, Tenant], dict[str, Tenant]]:
    """Which tenant holds each of these WABA ids and phone number ids (one query).

    Used to route webhooks, which arrive for every tenant at one URL. Ids that no
    tenant holds are absent from the result.
    """
    wabas, phones = set(waba_ids), set(phone_number_ids)
    if not wabas and not phones:
        return {}, {}
    match = Q(pk__in=[])
    if wabas:
        match |= Q(kind=MetaAssetKind.WABA, meta_id__in=wabas)
    if phones:
        match |= Q(kind=MetaAssetKind.PHONE_NUMBER, meta_id__in=phones)
    by_waba: dict[str, Tenant] = {}
    by_phone: dict[str, Tenant] = {}
    with unscoped():
        for asset in MetaAsset.objects.select_related("tenant").filter(
            match, tenant__is_active=True
        ):
            target = by_waba if asset.kind == MetaAssetKind.WABA else by_phone
            target[asset.meta_id] = asset.tenant
    return by_waba, by_phone


def meta_asset_owner(*, kind: str, meta_id: str) -> int | None:
    """The id of the tenant holding this Meta id, or None: for conflict messages only."""
    with unscoped():
        return (
            MetaAsset.objects.filter(kind=kind, meta_id=meta_id)
            .values_list("tenant_id", flat=True)
            .first()
        )


# --- Access: one object of the current tenant, or NotFound ------------------------------
# A missing id and another tenant's id answer the same NotFound (a 404 page, a 404
# JSON answer): the scoped manager finds nothing of another tenant.


def waba_access(*, waba_pk: int) -> WhatsAppAccount:
    return get_or_not_found(WhatsAppAccount.objects.all(), pk=waba_pk)


def phone_access(*, phone_pk: int) -> PhoneNumber:
    return get_or_not_found(PhoneNumber.objects.select_related("waba"), pk=phone_pk)


def onboarding_access(*, onboarding_pk: int) -> Onboarding:
    return get_or_not_found(Onboarding.objects.all(), pk=onboarding_pk)


# --- Reads for the pages -------------------------------------------------------------


def waba_list() -> QuerySet[WhatsAppAccount]:
    return WhatsAppAccount.objects.exclude(
        connection_status=ConnectionStatus.REGISTERING
    ).prefetch_related("phone_numbers")


def phone_list() -> QuerySet[PhoneNumber]:
    return PhoneNumber.objects.select_related("waba")


def onboardings_open() -> QuerySet[Onboarding]:
    """Onboardings still queued or running: the connections in progress."""
    return Onboarding.objects.filter(
        status__in=[OnboardingStatus.QUEUED, OnboardingStatus.RUNNING]
    ).order_by("-created_at")[:10]


def onboardings_failed(*, limit: int = 10) -> QuerySet[Onboarding]:
    """Failed attempts not dismissed, newest first: the history of the WhatsApp page."""
    return Onboarding.objects.filter(
        status=OnboardingStatus.FAILED, dismissed_at__isnull=True
    ).order_by("-created_at")[:limit]


def waba_history(*, waba: WhatsAppAccount, limit: int = 100) -> QuerySet[AccountHistory]:
    """The account's timeline, without rows that changed nothing (``connected → connected``)."""
    return waba.history.exclude(old_value=F("new_value")).select_related("phone_number")[:limit]


@dataclass(frozen=True)
class Trial:
    """The 30-day window an unverified business has before its connection breaks."""

    ends_at: datetime
    days_left: int
    ended: bool


def waba_trial(*, waba: WhatsAppAccount) -> Trial | None:
    if (
        waba.unverified_since is None
        or waba.business_verification_status == BusinessVerificationStatus.VERIFIED
    ):
        return None
    ends_at = waba.unverified_since + timedelta(days=UNVERIFIED_TRIAL_DAYS)
    left = ends_at - timezone.now()
    return Trial(
        ends_at=ends_at,
        days_left=max(left.days + (1 if left.seconds else 0), 0),
        ended=left.total_seconds() <= 0,
    )


@dataclass(frozen=True)
class RequiredAction:
    title: str
    detail: str
    solution: str
    # What Meta wrote, in English, when our words replace it.
    meta_text: str = ""


# Meta's health-status error codes we have words for: (title, detail, solution).
HEALTH_ERRORS: dict[int, tuple[Promise, Promise, Promise]] = {
    133010: (
        _l("Register the phone number"),
        _l("The phone number is not registered with WhatsApp, so it cannot send."),
        _l("Resubmit the number in the phone numbers table."),
    ),
    141006: (
        _l("Fix the payment method"),
        _l("Meta reports a problem with the account's payment method."),
        _l("Add a valid payment method in WhatsApp Manager → Payment settings."),
    ),
    141010: (
        _l("Verify your business"),
        _l("Unverified businesses may message a limited number of customers for 30 days."),
        _l("Start business verification in Meta Business Suite → Security centre."),
    ),
    141014: (
        _l("Account disabled by Meta"),
        _l("Meta found a policy violation."),
        _l("Request a review (appeal) in WhatsApp Manager → Account quality."),
    ),
}
ENTITY_WORDS: dict[str, Promise] = {
    "WABA": _l("WhatsApp Business Account"),
    "BUSINESS": _l("Business portfolio"),
    "PHONE_NUMBER": _l("Phone number"),
    "APP": _l("App"),
    "MESSAGE_TEMPLATE": _l("Message template"),
}
RESTRICTION_WORDS: dict[str, Promise] = {
    "RESTRICTED_ADD_PHONE_NUMBER_ACTION": _l("No new phone numbers may be added"),
    "RESTRICTED_BIZ_INITIATED_MESSAGING": _l("No business-initiated messages"),
    "RESTRICTED_CUSTOMER_INITIATED_MESSAGING": _l("No replies to customers"),
}


def _health_actions(waba: WhatsAppAccount) -> list[RequiredAction]:
    """One action per health error code, however many entities report it."""
    actions: dict[str, RequiredAction] = {}
    for entity in waba.health.get("entities", []) or []:
        if not isinstance(entity, dict):
            continue
        for err in entity.get("errors", []) or []:
            if not isinstance(err, dict):
                continue
            meta_text = str(err.get("error_description") or "")
            code = (
                int(err.get("error_code") or 0) if str(err.get("error_code") or "").isdigit() else 0
            )
            if code in HEALTH_ERRORS:
                title, detail, solution = (str(t) for t in HEALTH_ERRORS[code])
            else:
                what = ENTITY_WORDS.get(str(entity.get("entity_type") or "").upper())
                title = _("Meta reports a problem: %(what)s") % {
                    "what": str(what) if what else _("the account")
                }
                detail = _("Meta error %(code)s.") % {"code": code} if code else ""
                solution = str(err.get("possible_solution") or "")
            actions.setdefault(
                title,
                RequiredAction(title=title, detail=detail, solution=solution, meta_text=meta_text),
            )
    return list(actions.values())


def waba_required_actions(*, waba: WhatsAppAccount) -> list[RequiredAction]:
    """What Meta says must be done: health errors, review, verification, restrictions, bans.

    One entry per action, in words: the same problem reported by several sources (a
    health error, the verification status, the ban state) is listed once.
    """
    actions: list[RequiredAction] = _health_actions(waba)
    review = waba.account_review_status.upper()
    if review in (
        AccountReviewStatus.PENDING,
        AccountReviewStatus.REJECTED,
        AccountReviewStatus.RESTRICTED,
    ):
        actions.append(
            RequiredAction(
                title=_("Account review: %(status)s")
                % {"status": str(AccountReviewStatus(review).label).lower()},
                detail=_("Meta reviews every new WhatsApp Business Account before it can send."),
                solution=_(
                    "Wait for the review, or request another in WhatsApp Manager if it was "
                    "rejected."
                ),
            )
        )
    verification = waba.business_verification_status
    if verification and verification != BusinessVerificationStatus.VERIFIED:
        actions.append(
            RequiredAction(
                title=_("Verify your business"),
                detail=_(
                    "Unverified businesses may message a limited number of customers for 30 days."
                ),
                solution=_("Start business verification in Meta Business Suite → Security centre."),
            )
        )
    for restriction in waba.restrictions or []:
        if isinstance(restriction, dict):
            kind = str(restriction.get("restriction_type") or "")
            actions.append(
                RequiredAction(
                    title=str(RESTRICTION_WORDS.get(kind) or _("Restriction")),
                    detail=_("Until %(date)s") % {"date": restriction.get("expiration") or "—"},
                    solution=str(restriction.get("remediation") or ""),
                )
            )
    if waba.ban_state in (BanState.DISABLE, BanState.SCHEDULE_FOR_DISABLE):
        actions.append(
            RequiredAction(
                title=_("Account disabled by Meta")
                if waba.ban_state == BanState.DISABLE
                else _("Account scheduled to be disabled"),
                detail=_("Meta found a policy violation."),
                solution=_("Request a review (appeal) in WhatsApp Manager → Account quality."),
            )
        )
    merged: dict[str, RequiredAction] = {}
    for action in actions:
        first = merged.get(action.title)
        if first is None:
            merged[action.title] = action
        elif action.meta_text and not first.meta_text:
            merged[action.title] = RequiredAction(
                title=first.title,
                detail=first.detail,
                solution=first.solution,
                meta_text=action.meta_text,
            )
    return list(merged.values())


@dataclass(frozen=True)
class StaleOnboarding:
    tenant_pk: int
    onboarding_pk: int
    created_at: datetime


def stale_onboardings(*, older_than_seconds: int) -> list[StaleOnboarding]:
    """Onboardings queued or running with no progress lately, in every tenant."""
    since = timezone.now() - timedelta(seconds=older_than_seconds)
    with unscoped():
        rows = Onboarding.objects.filter(
            status__in=[OnboardingStatus.QUEUED, OnboardingStatus.RUNNING],
            updated_at__lte=since,
            tenant__is_active=True,
        ).values_list("tenant_id", "id", "created_at")[:500]
        return [StaleOnboarding(*row) for row in rows]


def wabas_due_for_sync(*, synced_before: datetime, limit: int) -> list[tuple[int, int]]:
    """``(tenant pk, WABA pk)`` of connected WABAs not synced since ``synced_before``.

    Across all tenants (the periodic sync fans out from here), stalest first: never
    synced, then the oldest ``last_synced_at``; at most ``limit`` of them. A WABA needs
    a token to be read, and a disconnected or still registering one is not ours to sync.
    """
    with unscoped():
        due = (
            WhatsAppAccount.objects.filter(tenant__is_active=True)
            .exclude(
                connection_status__in=[ConnectionStatus.DISCONNECTED, ConnectionStatus.REGISTERING]
            )
            .exclude(access_token__isnull=True)
            .exclude(access_token="")
            .filter(Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=synced_before))
            .order_by(F("last_synced_at").asc(nulls_first=True), "pk")
            .values_list("tenant_id", "pk")[:limit]
        )
        return [(tenant_pk, pk) for tenant_pk, pk in due]


# --- Who can send ----------------------------------------------------------------------


@dataclass(frozen=True)
class SendBlocked:
    """Why a number cannot send messages: a key of ``troubleshooting.SEND_BLOCKS`` and its words."""

    code: str
    message: str


def phone_send_blocked(*, phone: PhoneNumber) -> SendBlocked | None:
    """Why this number cannot send now, or None if it can (``phone.waba`` is read)."""
    code = rules.phone_send_block(phone)
    return SendBlocked(code=code, message=ts.send_block_message(code)) if code else None


def phones_able_to_send(*, exclude: PhoneNumber | None = None) -> list[PhoneNumber]:
    """The tenant's numbers that can send now: what a primary that cannot send can switch to."""
    connected = PhoneNumber.objects.select_related("waba").filter(
        connection_status=ConnectionStatus.CONNECTED
    )
    return [
        p
        for p in connected.order_by("display_phone_number")
        if not rules.phone_send_block(p) and (exclude is None or p.pk != exclude.pk)
    ]


@dataclass(frozen=True)
class PrimaryBlocked:
    """The primary sender cannot send: why, and the numbers it could switch to."""

    phone: PhoneNumber
    code: str
    message: str
    alternatives: list[PhoneNumber]


def primary_sender_blocked(*, waba: WhatsAppAccount | None = None) -> PrimaryBlocked | None:
    """The tenant's primary sender, if it cannot send (only if it is ``waba``'s, if given)."""
    primary = PhoneNumber.objects.select_related("waba").filter(is_primary=True).first()
    if primary is None or (waba is not None and primary.waba_id != waba.pk):
        return None
    blocked = phone_send_blocked(phone=primary)
    if blocked is None:
        return None
    return PrimaryBlocked(
        phone=primary,
        code=blocked.code,
        message=blocked.message,
        alternatives=phones_able_to_send(exclude=primary),
    )


def phones_resubmittable(*, phones: Iterable[PhoneNumber]) -> set[int]:
    """The pks of these numbers that Resubmit can help (``rules.phone_resubmit_can_help``)."""
    return {p.pk for p in phones if rules.phone_resubmit_can_help(p)}
