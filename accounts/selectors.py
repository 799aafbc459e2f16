"""Reads of accounts data. Cross-tenant reads are here, and only here, marked unscoped."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import (
    AuditEvent,
    Invitation,
    InvitationStatus,
    Membership,
    Notification,
    Role,
    Team,
    Tenant,
    User,
)
from accounts.tenancy import require_tenant, unscoped
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


def default_tenant_for_user(*, user: User) -> Tenant | None:
    memberships = memberships_of_user(user=user)
    return memberships[0].tenant if memberships else None


def invitation_by_token(*, token: str) -> Invitation | None:
    """An invitation found by its secret token, in whichever active tenant it was issued."""
    with unscoped():
        return (
            Invitation.objects.select_related("tenant", "invited_by")
            .filter(token=token, tenant__is_active=True)
            .first()
        )


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
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
