"""Reads of senders data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from accounts.models import MANAGER_ROLES, Membership, TeamMember, Tenant
from accounts.templatetags.portal_dates import when_text
from accounts.tenancy import require_tenant, unscoped
from senders import troubleshooting as ts
from senders.models import (
    UNVERIFIED_TRIAL_DAYS,
    AccountHistory,
    AccountReviewStatus,
    BanState,
    BusinessVerificationStatus,
    ChannelMember,
    ChannelRole,
    ChannelSettings,
    ChannelTeam,
    ConnectionStatus,
    HistoryKind,
    MetaAsset,
    MetaAssetKind,
    NameStatus,
    NumberVerification,
    OfficialBusinessRequest,
    OfficialBusinessStatus,
    Onboarding,
    OnboardingStatus,
    PhoneNumber,
    PhoneNumberDetails,
    QrCode,
    VerificationMethod,
    WhatsAppAccount,
)
from senders.services import number_rules, number_state, rules
from waba_portal import statements
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


def _digits(field: str) -> Any:
    """The field without the signs Meta formats numbers with: "+1 631-555-5555" → digits
    (SQL ``REPLACE``, which PostgreSQL and SQLite both have)."""
    expression: Any = F(field)
    for sign in ("+", " ", "-", "(", ")", "."):
        expression = Func(expression, Value(sign), Value(""), function="REPLACE")
    return expression


def phones_with_number(phones: QuerySet[PhoneNumber], *, e164: str) -> QuerySet[PhoneNumber]:
    """The numbers of ``phones`` that are the E.164 number ``e164``, however Meta wrote it."""
    return phones.annotate(digits=_digits("display_phone_number")).filter(
        Q(details__e164=e164) | Q(digits=number_rules.e164_digits(e164))
    )


def number_held_elsewhere(*, e164: str) -> bool:
    """Whether another workspace holds this number now (its claim on the number's id).

    A read across tenants, as claims are ("is this Meta id claimed elsewhere?"); only
    the answer leaves this function.
    """
    tenant = require_tenant()
    with unscoped():
        ids = list(
            phones_with_number(PhoneNumber.objects.exclude(tenant=tenant), e164=e164).values_list(
                "tenant_id", "phone_number_id"
            )
        )
        if not ids:
            return False
        match = Q(pk__in=[])
        for tenant_id, meta_id in ids:
            match |= Q(tenant_id=tenant_id, meta_id=meta_id)
        return MetaAsset.objects.filter(match, kind=MetaAssetKind.PHONE_NUMBER).exists()


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


# --- Channel access: who may do what on a number's channel (the inbox enforces it) -----
# Sparkcentral's channel roles (DESIGN §2), each including the one before:
# - Viewer: moves conversations to Pending or Resolved, tags them, writes notes; no replies;
# - Contributor: also replies to customers; sees no reports;
# - Supervisor: also sees the channel's reports.
# A member's role on a channel is the first of these that applies:
# 1. owners and admins are supervisors of every channel;
# 2. an agent's own role on the channel (``ChannelMember``), set by a manager;
# 3. "all users" on: every member is a Contributor (:data:`CHANNEL_DEFAULT_ROLE`);
# 4. a team with access (any team when "all teams" is on, else the channel's
#    ``ChannelTeam`` rows): its members are Contributors;
# 5. otherwise no access: None.
# A number whose channel row is not made yet counts with the defaults (all users on).
# Settings are changed by ``senders.services.channels``.

CHANNEL_DEFAULT_ROLE = ChannelRole.CONTRIBUTOR

# Why a member has their role on a channel (``ChannelAccess.source``).
ACCESS_WORKSPACE_ROLE = "workspace_role"
ACCESS_OWN_ROLE = "own_role"
ACCESS_ALL_USERS = "all_users"
ACCESS_ALL_TEAMS = "all_teams"
ACCESS_TEAM = "team"
ACCESS_NONE = "none"


@dataclass(frozen=True)
class ChannelAccess:
    """One member's access to one channel: the role, why, and their own role if any."""

    membership: Membership
    role: ChannelRole | None
    source: str
    own_role: ChannelRole | None = None
    teams: tuple[str, ...] = ()

    @property
    def source_words(self) -> str:
        if self.source == ACCESS_WORKSPACE_ROLE:
            return _("Owners and admins supervise every channel.")
        if self.source == ACCESS_OWN_ROLE:
            return _("Role given on this channel.")
        if self.source == ACCESS_ALL_USERS:
            return _("Every member has access (all users).")
        if self.source == ACCESS_ALL_TEAMS:
            return _("Member of a team; every team has access (all teams).")
        if self.source == ACCESS_TEAM:
            return _("Member of a team with access: %(teams)s.") % {"teams": ", ".join(self.teams)}
        return _("No access: not in a team with access, and not every member has access.")


def _channel_access(
    membership: Membership,
    channel: ChannelSettings,
    *,
    own: str | None,
    team_ids: set[int],
    channel_team_ids: set[int],
    team_names: dict[int, str],
) -> ChannelAccess:
    """The rules above, on facts already read (one place for one member and for a table)."""
    own_role = ChannelRole(own) if own in ChannelRole.values else None
    if membership.role in MANAGER_ROLES:
        return ChannelAccess(membership, ChannelRole.SUPERVISOR, ACCESS_WORKSPACE_ROLE, own_role)
    if own_role is not None:
        return ChannelAccess(membership, own_role, ACCESS_OWN_ROLE, own_role)
    if channel.all_users:
        return ChannelAccess(membership, CHANNEL_DEFAULT_ROLE, ACCESS_ALL_USERS)
    if channel.all_teams and team_ids:
        return ChannelAccess(membership, CHANNEL_DEFAULT_ROLE, ACCESS_ALL_TEAMS)
    via = team_ids & channel_team_ids
    if via:
        names = tuple(sorted(team_names.get(pk, str(pk)) for pk in via))
        return ChannelAccess(membership, CHANNEL_DEFAULT_ROLE, ACCESS_TEAM, teams=names)
    return ChannelAccess(membership, None, ACCESS_NONE)


@dataclass(frozen=True)
class ChannelFacts:
    """What decides every member's role on one channel, read once (three queries): the
    roles given on it, the teams it is open to, and each member's teams."""

    own: dict[int, str]  # membership id -> role given on the channel
    channel_team_ids: set[int]
    teams_of: dict[int, set[int]]  # membership id -> their team ids
    team_names: dict[int, str]


def channel_facts(channel: ChannelSettings) -> ChannelFacts:
    """``channel``'s facts (an unsaved channel, the defaults, has no roles or teams)."""
    own: dict[int, str] = {}
    channel_team_ids: set[int] = set()
    pk = channel.pk
    if pk is not None:  # (each page of the inbox asks: statements compiled once)
        own = dict(
            statements.rows(
                ("channel_members", pk),
                lambda: ChannelMember.objects.filter(channel_id=pk).values_list(
                    "membership_id", "role"
                ),
            )
        )
        channel_team_ids = {
            team_id
            for (team_id,) in statements.rows(
                ("channel_teams", pk),
                lambda: ChannelTeam.objects.filter(channel_id=pk).values_list("team_id"),
            )
        }
    team_names: dict[int, str] = {}
    teams_of: dict[int, set[int]] = {}
    for membership_id, team_id, name in statements.rows(
        ("team_members",),
        lambda: TeamMember.objects.values_list("membership_id", "team_id", "team__name"),
    ):
        teams_of.setdefault(membership_id, set()).add(team_id)
        team_names[team_id] = name
    return ChannelFacts(own, channel_team_ids, teams_of, team_names)


def channel_access_for(
    membership: Membership, channel: ChannelSettings, *, facts: ChannelFacts | None = None
) -> ChannelAccess:
    """``membership``'s role on ``channel`` and why (no access for another tenant's
    member). ``facts``: the channel's, already read (else only this member's are read)."""
    if membership.tenant_id != channel.tenant_id:
        return ChannelAccess(membership, None, ACCESS_NONE)
    if membership.pk is None:  # an API key, acting as an admin (accounts.api_auth)
        return _channel_access(
            membership, channel, own=None, team_ids=set(), channel_team_ids=set(), team_names={}
        )
    if facts is not None:
        return _channel_access(
            membership,
            channel,
            own=facts.own.get(membership.pk),
            team_ids=facts.teams_of.get(membership.pk, set()),
            channel_team_ids=facts.channel_team_ids,
            team_names=facts.team_names,
        )
    own = None
    channel_team_ids: set[int] = set()
    if channel.pk is not None:
        own = (
            ChannelMember.objects.filter(channel=channel, membership=membership)
            .values_list("role", flat=True)
            .first()
        )
        channel_team_ids = set(channel.teams.values_list("team_id", flat=True))
    teams = dict(
        TeamMember.objects.filter(membership=membership).values_list("team_id", "team__name")
    )
    return _channel_access(
        membership,
        channel,
        own=own,
        team_ids=set(teams),
        channel_team_ids=channel_team_ids,
        team_names=teams,
    )


def channel_role_for(membership: Membership, channel: ChannelSettings) -> ChannelRole | None:
    """``membership``'s role on ``channel``; None means no access (see the rules above)."""
    return channel_access_for(membership, channel).role


def can_reply(membership: Membership, channel: ChannelSettings) -> bool:
    """Contributors and supervisors reply; viewers and members without access do not."""
    return channel_role_for(membership, channel) in (
        ChannelRole.CONTRIBUTOR,
        ChannelRole.SUPERVISOR,
    )


def can_see_reports(membership: Membership, channel: ChannelSettings) -> bool:
    """Only supervisors see a channel's reports."""
    return channel_role_for(membership, channel) == ChannelRole.SUPERVISOR


def channels_visible_to(membership: Membership) -> QuerySet[ChannelSettings]:
    """The channels of the member's workspace on which they have any role (rules above)."""
    channels = ChannelSettings.objects.filter(tenant_id=membership.tenant_id)
    if membership.role in MANAGER_ROLES:
        return channels
    team_ids = TeamMember.objects.filter(membership=membership).values("team_id")
    visible = (
        Q(all_users=True)
        | Q(pk__in=ChannelMember.objects.filter(membership=membership).values("channel_id"))
        | Q(pk__in=ChannelTeam.objects.filter(team_id__in=team_ids).values("channel_id"))
        | Q(Exists(team_ids), all_teams=True)  # in a team: in the same query
    )
    return channels.filter(visible)


def channel_for_phone(*, phone: PhoneNumber) -> ChannelSettings:
    """The number's channel, or, while none is saved yet, an unsaved one with the defaults."""
    found = statements.instances(  # every page of the inbox asks: compiled once
        ("channel_for_phone",),
        ChannelSettings,
        lambda pk: ChannelSettings.objects.filter(phone_number_id=pk),
        (phone.pk,),
    )
    if found:
        return found[0]
    return ChannelSettings(tenant_id=phone.tenant_id, phone_number=phone, name=str(phone))


def phone_channel_role(membership: Membership, phone: PhoneNumber) -> ChannelRole | None:
    """``membership``'s role on the number's channel (the defaults if it has none yet)."""
    return channel_role_for(membership, channel_for_phone(phone=phone))


def phones_visible_to(membership: Membership) -> QuerySet[PhoneNumber]:
    """The numbers whose conversations the member may see: their channels, and numbers
    whose channel is not made yet (the defaults give every member access)."""
    phones = PhoneNumber.objects.filter(tenant_id=membership.tenant_id)
    if membership.role in MANAGER_ROLES:
        return phones
    has_channel = ChannelSettings.objects.filter(phone_number=OuterRef("pk"))
    visible = channels_visible_to(membership).values("phone_number_id")
    return phones.filter(Q(pk__in=visible) | ~Exists(has_channel))


def visible_phone_ids(membership: Membership) -> list[int]:
    """The ids of ``phones_visible_to(membership)``, in no order. The statement depends
    only on the member and their role, so it is compiled once per process
    (``waba_portal.statements``): its subqueries cost the ORM 4 ms of Python each time,
    the database 0.5 ms."""
    tenant_id, member_id, role = membership.tenant_id, membership.pk, membership.role

    def build() -> QuerySet[PhoneNumber, tuple[int]]:
        member = Membership(pk=member_id, tenant_id=tenant_id, role=role)
        return phones_visible_to(member).values_list("pk")

    found = statements.rows(("visible_phone_ids", tenant_id, member_id, role), build)
    return [pk for (pk,) in found]


def channel_access_table(
    *,
    channel: ChannelSettings,
    members: Iterable[Membership] | None = None,
    facts: ChannelFacts | None = None,
) -> list[ChannelAccess]:
    """Every member of the workspace with their role on ``channel`` and why, by e-mail
    (or the ``members`` given, in their order: a page of the API's list). ``facts``: the
    channel's, already read."""
    facts = facts or channel_facts(channel)
    if members is None:
        members = (
            Membership.objects.filter(tenant_id=channel.tenant_id)
            .select_related("user")
            .order_by("user__email")
        )
    return [
        _channel_access(
            m,
            channel,
            own=facts.own.get(m.pk),
            team_ids=facts.teams_of.get(m.pk, set()),
            channel_team_ids=facts.channel_team_ids,
            team_names=facts.team_names,
        )
        for m in members
    ]


# --- One number's page: its steps, verification and removal (H2) --------------------------


def number_details(*, phone: PhoneNumber) -> PhoneNumberDetails | None:
    return PhoneNumberDetails.objects.filter(phone_number=phone).first()


def number_verification(*, phone: PhoneNumber) -> NumberVerification | None:
    return NumberVerification.objects.filter(phone_number=phone).first()


@dataclass(frozen=True)
class NumberStep:
    """One step of a number on its way to sending, in words.

    ``state``: ``done``; ``waiting`` (Meta decides, nothing to do); ``todo`` (the user
    acts, here or at Meta; ``problem`` names the catalogue entry with the fix when there
    is one); ``later`` (it needs an earlier step first).
    """

    key: str  # name, verification, registration, payment
    state: str
    title: str
    detail: str
    problem: str = ""


STEP_DONE, STEP_WAITING, STEP_TODO, STEP_LATER = "done", "waiting", "todo", "later"


def _name_step(phone: PhoneNumber) -> NumberStep:
    name = phone.requested_name or phone.verified_name
    status = phone.name_status.upper()
    if status in (NameStatus.APPROVED, NameStatus.AVAILABLE_WITHOUT_REVIEW):
        return NumberStep(
            "name",
            STEP_DONE,
            _("Display name approved"),
            _("Meta shows “%(name)s” to your customers.") % {"name": phone.verified_name},
        )
    if status in rules.REJECTED_NAME_STATUSES:
        reason = phone.name_rejection_reason
        return NumberStep(
            "name",
            STEP_TODO,
            _("Display name rejected"),
            (_("Meta rejected “%(name)s”.") % {"name": name})
            + (" " + _("Reason: %(reason)s") % {"reason": reason} if reason else ""),
            problem=ts.DISPLAY_NAME_REJECTED,
        )
    if status == NameStatus.EXPIRED:
        return NumberStep(
            "name",
            STEP_TODO,
            _("Display name approval expired"),
            _("Ask Meta again for the display name “%(name)s”.") % {"name": name},
        )
    return NumberStep(
        "name",
        STEP_WAITING,
        _("Display name in review"),
        _(
            "Meta reviews “%(name)s”, usually within two days. Nothing to do meanwhile: "
            "you can verify and register the number, and this page shows the decision."
        )
        % {"name": name},
    )


def _verification_step(
    phone: PhoneNumber, verification: NumberVerification | None, now: datetime
) -> NumberStep:
    if number_state.is_verified(phone):
        when = verification.verified_at if verification and verification.verified_at else None
        return NumberStep(
            "verification",
            STEP_DONE,
            _("Number verified"),
            (_("Verified on %(when)s.") % {"when": when_text(when)})
            if when
            else _("Meta confirmed that the number is yours."),
        )
    until = number_state.locked_until(verification, now=now)
    if until is not None:
        return NumberStep(
            "verification",
            STEP_TODO,
            _("Verification locked"),
            number_state.locked_message(until),
            problem=ts.VERIFICATION_LOCKED,
        )
    if verification is not None and number_state.code_valid(verification, now=now):
        assert verification.code_expires_at is not None
        detail = (
            _("A code was sent by SMS. Enter it before %(when)s.")
            if verification.method == VerificationMethod.SMS
            else _("A code was sent by voice call. Enter it before %(when)s.")
        ) % {"when": number_state.try_again_words(verification.code_expires_at)}
        return NumberStep("verification", STEP_TODO, _("Enter the code"), detail)
    return NumberStep(
        "verification",
        STEP_TODO,
        _("Verify the number"),
        _(
            "Ask for a 6-digit code by SMS or voice call, then enter it here. It proves to "
            "Meta that the number is yours."
        ),
        problem=ts.NUMBER_NOT_VERIFIED if phone.problem == ts.NUMBER_NOT_VERIFIED else "",
    )


REGISTRATION_PROBLEMS = frozenset(
    {
        ts.TWO_STEP_VERIFICATION,
        ts.REGISTRATION_LIMIT,
        ts.NUMBER_OTHER_WABA,
        ts.META_UNAVAILABLE,
        ts.UNEXPECTED,
    }
)


def _registration_step(phone: PhoneNumber) -> NumberStep:
    if number_state.is_registered(phone):
        return NumberStep(
            "registration",
            STEP_DONE,
            _("Registered on WhatsApp"),
            (_("Registered on %(when)s.") % {"when": when_text(phone.registered_at)})
            if phone.registered_at
            else _("The number is on WhatsApp's Cloud API."),
        )
    if phone.problem in REGISTRATION_PROBLEMS:
        return NumberStep(
            "registration",
            STEP_TODO,
            _("Registration failed"),
            str(ts.get(phone.problem).title),
            problem=phone.problem,
        )
    if not number_state.is_verified(phone):
        return NumberStep(
            "registration",
            STEP_LATER,
            _("Register the number"),
            _("After the verification: it puts the number on WhatsApp."),
        )
    return NumberStep(
        "registration",
        STEP_TODO,
        _("Register the number"),
        _(
            "Puts the number on WhatsApp's Cloud API. We set its two-step verification PIN; "
            "you can see it once afterwards."
        ),
    )


def _payment_step(phone: PhoneNumber) -> NumberStep:
    waba = phone.waba
    if waba.problem == ts.CREDIT_LINE:
        return NumberStep(
            "payment",
            STEP_TODO,
            str(ts.get(ts.CREDIT_LINE).title),
            str(ts.get(ts.CREDIT_LINE).explanation),
            problem=ts.CREDIT_LINE,
        )
    if rules.HEALTH_CREDIT_LINE in rules.health_error_codes(waba):
        return NumberStep(
            "payment",
            STEP_TODO,
            _("Fix the payment method"),
            _(
                "Meta reports a problem with the account's payment method. Add a valid one in "
                "WhatsApp Manager → Payment settings, then click Sync now on the account."
            ),
        )
    return NumberStep(
        "payment",
        STEP_DONE,
        _("Payment method"),
        _("Meta reports no problem with the account's payment method or credit line."),
    )


def number_steps(
    *, phone: PhoneNumber, verification: NumberVerification | None = None
) -> list[NumberStep]:
    """Name review, verification, registration, payment: each done, or what to do."""
    now = timezone.now()
    return [
        _name_step(phone),
        _verification_step(phone, verification, now),
        _registration_step(phone),
        _payment_step(phone),
    ]


def number_replacements(*, phone: PhoneNumber) -> list[PhoneNumber]:
    """Connected numbers that can be the primary sender instead of ``phone``."""
    removed = PhoneNumberDetails.objects.filter(removed_at__isnull=False).values("phone_number_id")
    return list(
        PhoneNumber.objects.select_related("waba")
        .filter(connection_status=ConnectionStatus.CONNECTED)
        .exclude(pk=phone.pk)
        .exclude(pk__in=removed)
        .order_by("display_phone_number")
    )


# --- Display name, Official Business Account, QR codes (H3) ---------------------------

NAME_IN_REVIEW = "in_review"
NAME_REJECTED = "rejected"
NAME_APPROVED = "approved"  # approved by Meta, shown once the number is registered again
# After Meta approves a new name, the number must be registered again within this time,
# or the name goes back to review (Meta's "Display names" page).
NAME_REGISTER_WITHIN = timedelta(days=14)
_DECLINED = frozenset({NameStatus.DECLINED, NameStatus.REJECTED})


@dataclass(frozen=True)
class NameChange:
    """A display name the number asked for, and how far Meta's review of it got."""

    state: str  # NAME_IN_REVIEW, NAME_REJECTED or NAME_APPROVED
    name: str
    reason: str  # Meta's rejection reason (one of its codes, or its words); "" if none
    requested_at: datetime | None
    decided_at: datetime | None
    # A change of an approved name: the number keeps sending under that name meanwhile.
    is_change: bool
    register_by: datetime | None  # NAME_APPROVED: register again before this


def display_name_change(*, phone: PhoneNumber) -> NameChange | None:
    """The display name under review, rejected, or approved and waiting to be registered.

    Read from the number's history: each request and each decision is a row of kind
    NAME naming the requested name, the last one written deciding (by id: a webhook's row
    carries Meta's time, in whole seconds, which may be before the request's); a number
    that shows the requested name already has no change open.
    """
    requested = phone.requested_name
    if not requested:
        return None
    rows = list(
        AccountHistory.objects.filter(
            phone_number=phone, kind=HistoryKind.NAME, detail__requested_name=requested
        ).order_by("-id")[:20]
    )
    asked = next((r for r in rows if r.new_value == NameStatus.PENDING_REVIEW), None)
    latest = rows[0] if rows else None
    decision = latest.new_value if latest is not None else phone.name_status
    is_change = bool((asked.detail if asked else {}).get("change"))
    requested_at = asked.occurred_at if asked else None
    decided_at = latest.occurred_at if latest is not None and latest is not asked else None
    if decision in _DECLINED:
        reason = str((latest.detail if latest else {}).get("reason") or phone.name_rejection_reason)
        return NameChange(
            NAME_REJECTED, requested, reason, requested_at, decided_at, is_change, None
        )
    if decision == NameStatus.APPROVED:
        if phone.verified_name == requested:
            return None  # live: nothing is open
        register_by = decided_at + NAME_REGISTER_WITHIN if decided_at else None
        return NameChange(
            NAME_APPROVED, requested, "", requested_at, decided_at, is_change, register_by
        )
    return NameChange(NAME_IN_REVIEW, requested, "", requested_at, None, is_change, None)


def display_name_requests_since(*, phone: PhoneNumber, since: datetime) -> list[datetime]:
    """When display names were asked for in the portal since ``since``, oldest first."""
    return list(
        AccountHistory.objects.filter(
            phone_number=phone,
            kind=HistoryKind.NAME,
            source="user",
            new_value=NameStatus.PENDING_REVIEW,
            occurred_at__gte=since,
        )
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
    )


def oba_latest(*, phone: PhoneNumber) -> OfficialBusinessRequest | None:
    """The number's last request for the Official Business Account badge."""
    return phone.oba_requests.order_by("-submitted_at", "-id").first()


def oba_requests_pending(*, limit: int) -> list[tuple[int, int]]:
    """(tenant id, request id) of badge requests Meta has not decided, oldest first,
    across tenants: what the periodic check reads from Meta."""
    with unscoped():
        return list(
            OfficialBusinessRequest.objects.filter(
                status=OfficialBusinessStatus.PENDING, tenant__is_active=True
            )
            .order_by("submitted_at", "id")
            .values_list("tenant_id", "id")[:limit]
        )


def qr_codes_of(*, phone: PhoneNumber) -> QuerySet[QrCode]:
    return phone.qr_codes.order_by("-created_at", "-id")


def qr_code_access(*, phone: PhoneNumber, qr_pk: int) -> QrCode:
    """One QR code of this number; another number's or tenant's answers NotFound."""
    return get_or_not_found(
        QrCode.objects.select_related("phone_number"), pk=qr_pk, phone_number=phone
    )
