"""Reads of accounts data. Cross-tenant reads are here, and only here, marked unscoped."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import (
    API_KEY_PREFIX,
    API_KEY_PREFIX_CHARS,
    ApiKey,
    AuditEvent,
    Invitation,
    InvitationStatus,
    Membership,
    Notification,
    Role,
    Team,
    Tenant,
    User,
    invitation_token_hash,
)
from accounts.tenancy import require_tenant, unscoped
from waba_portal import statements
from waba_portal.choices import choice_label
from waba_portal.errors import get_or_not_found


def membership_for_user(*, user: User, tenant_slug: str) -> Membership | None:
    """The user's membership of the tenant with this slug, or None (missing or foreign)."""
    with unscoped():
        return (
            Membership.objects.select_related("tenant", "user")
            .filter(user=user, tenant__slug=tenant_slug, tenant__is_active=True)
            .first()
        )


def memberships_of_user(*, user: User) -> list[Membership]:
    """Every tenant the user belongs to, for the tenant switcher."""
    with unscoped():
        return list(
            Membership.objects.select_related("tenant")
            .filter(user=user, tenant__is_active=True)
            .order_by("tenant__name")
        )


@dataclass(frozen=True, slots=True)
class WorkspaceLink:
    """A workspace of the user as the navigation's switcher names it."""

    tenant_id: int
    slug: str
    name: str
    role: str

    def get_role_display(self) -> str:
        return choice_label(Role, self.role)


def workspace_links(*, user: User) -> list[WorkspaceLink]:
    """``memberships_of_user`` as the switcher on every page shows it (one statement,
    ``waba_portal.statements``)."""
    with unscoped():
        found = statements.rows(
            ("workspace_links",),
            lambda user_pk: (
                Membership.objects.filter(user_id=user_pk, tenant__is_active=True)
                .order_by("tenant__name")
                .values_list("tenant_id", "tenant__slug", "tenant__name", "role")
            ),
            (user.pk,),
        )
    return [WorkspaceLink(*row) for row in found]


def default_tenant_for_user(*, user: User) -> Tenant | None:
    memberships = memberships_of_user(user=user)
    return memberships[0].tenant if memberships else None


def invitation_by_token(*, token: str) -> Invitation | None:
    """An invitation found by the token of its link, in whichever active tenant it was issued."""
    return invitation_by_token_hash(token_hash=invitation_token_hash(token))


def invitation_by_token_hash(*, token_hash: str) -> Invitation | None:
    """An invitation found by the hash the table keeps of its token (see the model)."""
    with unscoped():
        return (
            Invitation.objects.select_related("tenant", "invited_by")
            .filter(token_hash=token_hash, tenant__is_active=True)
            .first()
        )


def active_user(*, user_pk: int | str) -> User | None:
    """The active user with this id (a sign-in waiting for its second step), else None."""
    try:
        return User.objects.filter(pk=user_pk, is_active=True).first()
    except (TypeError, ValueError):
        return None


def user_exists(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def member_list() -> QuerySet[Membership]:
    tenant = require_tenant()
    return tenant.memberships.select_related("user").order_by("user__email")


def membership_access(*, membership_pk: object) -> Membership:
    """A membership of the current tenant, else NotFound (missing, foreign or malformed)."""
    return get_or_not_found(member_list(), pk=membership_pk)


def team_access(*, team_pk: object) -> Team:
    """A team of the current tenant, else NotFound."""
    return get_or_not_found(team_list(), pk=team_pk)


def invitation_access(*, invitation_pk: object) -> Invitation:
    """A pending invitation of the current tenant, else NotFound."""
    return get_or_not_found(pending_invitations(), pk=invitation_pk)


def owner_count() -> int:
    return Membership.objects.filter(role=Role.OWNER).count()


def pending_invitations() -> QuerySet[Invitation]:
    return Invitation.objects.filter(status=InvitationStatus.PENDING).select_related("invited_by")


def team_list() -> QuerySet[Team]:
    return Team.objects.prefetch_related("members__user")


def audit_events(*, action_prefix: str = "") -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor")
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    return events


def notifications_for(*, user: User, limit: int = 50) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user)[:limit]


def unread_notification_count(*, user: User) -> int:
    """The user's unread notifications in the workspace (every page's navigation asks:
    one statement, ``waba_portal.statements``)."""
    found = statements.rows(
        ("unread_notification_count",),
        lambda user_pk: (
            Notification.objects.filter(user_id=user_pk, read_at__isnull=True)
            .order_by()
            .values("user_id")
            .annotate(n=Count("pk"))
            .values_list("n")
        ),
        (user.pk,),
    )
    return int(found[0][0]) if found else 0


# --- Two-factor sign-in ------------------------------------------------------------------


def two_factor_device(*, user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator app, or None when two-factor sign-in is off."""
    if not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def two_factor_enabled(*, user: User) -> bool:
    return two_factor_device(user=user) is not None


def recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def tenants_requiring_two_factor(*, user: User) -> list[Tenant]:
    """The user's workspaces whose owners made two-factor sign-in required."""
    return [m.tenant for m in memberships_of_user(user=user) if m.tenant.two_factor_required]


def members_with_two_factor() -> list[tuple[Membership, bool]]:
    """Every member of the current tenant, and whether each has two-factor sign-in on."""
    members = list(member_list())
    enabled = set(
        TOTPDevice.objects.filter(
            user_id__in=[m.user_id for m in members], confirmed=True
        ).values_list("user_id", flat=True)
    )
    return [(m, m.user_id in enabled) for m in members]


# --- API keys ----------------------------------------------------------------------------


def api_key_list() -> QuerySet[ApiKey]:
    """The current workspace's keys, revoked ones included (the page shows them struck)."""
    return ApiKey.objects.select_related("created_by", "revoked_by")


def api_key_access(*, api_key_pk: object) -> ApiKey:
    """A key of the current workspace, else NotFound."""
    return get_or_not_found(api_key_list(), pk=api_key_pk)


def api_key_by_secret(*, secret: str, secret_hash: str) -> ApiKey | None:
    """The usable key whose SHA-256 is ``secret_hash``, in whichever active workspace.

    Found by its prefix (indexed), then the hashes compared in constant time; a key that
    is revoked or expired, or of a switched-off workspace, is None like an unknown one.
    """
    prefix_length = len(API_KEY_PREFIX) + API_KEY_PREFIX_CHARS
    if not secret.startswith(API_KEY_PREFIX) or len(secret) <= prefix_length:
        return None
    with unscoped():
        candidates = list(
            ApiKey.objects.select_related("tenant").filter(
                prefix=secret[:prefix_length], tenant__is_active=True
            )
        )
    for key in candidates:
        if hmac.compare_digest(key.key_hash, secret_hash) and key.is_usable:
            return key
    return None
