"""Business actions on tenants, members, teams and invitations.

Every state change takes ``actor=``, runs in one transaction, writes an audit row,
and sends side effects (e-mail) only after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.errors import AccountsError, InvitationError, LastOwnerError, NotAllowed
from accounts.models import (
    AuditEvent,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    Team,
    TeamMember,
    Tenant,
    User,
)
from accounts.tenancy import require_tenant, tenant_scope, unscoped


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row in the current tenant's scope."""
    return AuditEvent.objects.create(
        tenant=require_tenant(),
        actor=actor,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        metadata=metadata or {},
    )


# --- Tenants ------------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def tenant_create(*, owner: User, name: str) -> Tenant:
    """Create a workspace with ``owner`` as its first owner."""
    name = name.strip()
    if not name:
        raise AccountsError(_("Enter a name for the workspace."), field="name")
    tenant = Tenant.objects.create(name=name, slug=_unique_slug(name))
    with tenant_scope(tenant):
        membership = Membership.objects.create(user=owner, role=Role.OWNER)
        audit_record(actor=owner, action="tenant.created", target=tenant)
        audit_record(
            actor=owner, action="member.added", target=membership, metadata={"role": Role.OWNER}
        )
    return tenant


@transaction.atomic
def user_signup(
    *, email: str, password: str, full_name: str, tenant_name: str
) -> tuple[User, Tenant]:
    """Sign up: a new user and a new workspace that the user owns."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise AccountsError(
            _("An account with this e-mail address exists already. Log in instead."),
            field="email",
        )
    user = User.objects.create_user(email=email, password=password, full_name=full_name.strip())
    return user, tenant_create(owner=user, name=tenant_name)


def validate_language(*, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise AccountsError(_("This language is not available."), field="language")


def user_set_language(*, user: User, language: str) -> None:
    validate_language(language=language)
    user.language = language
    user.save(update_fields=["language"])


def user_update_profile(*, user: User, full_name: str, language: str) -> None:
    user.full_name = full_name.strip()
    user.save(update_fields=["full_name"])
    if language:
        user_set_language(user=user, language=language)


# --- Members ------------------------------------------------------------------------


def _require_manager(actor_membership: Membership) -> None:
    if not actor_membership.can_manage:
        raise NotAllowed(_("Only owners and admins can manage members."))


def _owner_count() -> int:
    return Membership.objects.filter(role=Role.OWNER).count()


@transaction.atomic
def membership_change_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    """Change a member's tenant role. The last owner cannot be demoted."""
    _require_manager(actor)
    if role not in Role.values:
        raise AccountsError(_("Choose one of the roles offered."), field="role")
    touches_owner = Role.OWNER in (role, membership.role)
    if touches_owner and actor.role != Role.OWNER:
        raise NotAllowed(_("Only an owner can make someone an owner or change an owner's role."))
    # Lock the tenant's owners so two demotions cannot both pass the check.
    list(Membership.objects.select_for_update().filter(role=Role.OWNER))
    membership.refresh_from_db()
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and _owner_count() <= 1:
        raise LastOwnerError(
            _("This is the workspace's last owner. Make another member an owner first.")
        )
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor.user,
        action="member.role_changed",
        target=membership,
        metadata={"from": old, "to": role, "email": membership.user.email},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Membership, membership: Membership) -> None:
    """Remove a member from the workspace. The last owner cannot be removed."""
    if actor.pk != membership.pk:
        _require_manager(actor)
    if membership.role == Role.OWNER and actor.role != Role.OWNER:
        raise NotAllowed(_("Only an owner can remove an owner."))
    list(Membership.objects.select_for_update().filter(role=Role.OWNER))
    if membership.role == Role.OWNER and _owner_count() <= 1:
        raise LastOwnerError(
            _("This is the workspace's last owner. Make another member an owner first.")
        )
    email = membership.user.email
    audit_record(
        actor=actor.user,
        action="member.removed",
        target=membership,
        metadata={"email": email, "role": membership.role},
    )
    membership.delete()


# --- Invitations ------------------------------------------------------------------


def invitation_send_email(*, invitation_id: int) -> bool:
    """Send (or send again) the e-mail of a pending invitation; False if it is not pending."""
    invitation = (
        Invitation.objects.select_related("tenant", "invited_by")
        .filter(pk=invitation_id, status=InvitationStatus.PENDING)
        .first()
    )
    if invitation is None:
        return False
    _send_invitation_email(invitation)
    return True


def _enqueue_invitation_email(invitation: Invitation) -> None:
    from accounts.tasks import invitation_send_email_task
    from waba_portal.tasks import enqueue_on_commit

    enqueue_on_commit(invitation_send_email_task, invitation.tenant_id, invitation.pk)


def _send_invitation_email(invitation: Invitation) -> None:
    url = settings.SITE_URL + reverse("accounts:invitation_accept", args=[invitation.token])
    context = {
        "invitation": invitation,
        "tenant_name": invitation.tenant.name,
        "url": url,
        "inviter": invitation.invited_by.get_full_name() if invitation.invited_by else "",
    }
    language = invitation.invited_by.language if invitation.invited_by else ""
    with override(language or settings.LANGUAGE_CODE):
        subject = _("You are invited to %(tenant)s on WABA Portal") % {
            "tenant": invitation.tenant.name
        }
        body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])


@transaction.atomic
def invitation_create(*, actor: Membership, email: str, role: str) -> Invitation:
    """Invite someone by e-mail; the e-mail goes out after commit."""
    _require_manager(actor)
    email = User.objects.normalize_email(email).strip().lower()
    if role not in Role.values:
        raise AccountsError(_("Choose one of the roles offered."), field="role")
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise NotAllowed(_("Only an owner can invite another owner."))
    if Membership.objects.filter(user__email__iexact=email).exists():
        raise AccountsError(_("%(email)s is a member already.") % {"email": email}, field="email")
    if Invitation.objects.filter(email__iexact=email, status=InvitationStatus.PENDING).exists():
        raise AccountsError(
            _("%(email)s has a pending invitation. Resend or revoke it below.") % {"email": email},
            field="email",
        )
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(email=email, role=role, invited_by=actor.user)
    except IntegrityError as exc:  # a concurrent invite of the same address won the race
        raise AccountsError(
            _("%(email)s has a pending invitation. Resend or revoke it below.") % {"email": email},
            field="email",
        ) from exc
    audit_record(
        actor=actor.user,
        action="invitation.created",
        target=invitation,
        metadata={"email": email, "role": role},
    )
    _enqueue_invitation_email(invitation)
    return invitation


@transaction.atomic
def invitation_resend(*, actor: Membership, invitation: Invitation) -> Invitation:
    """Send a pending invitation again, with a fresh expiry."""
    _require_manager(actor)
    if invitation.status != InvitationStatus.PENDING:
        raise InvitationError(_("Only pending invitations can be resent."))
    invitation.expires_at = Invitation._meta.get_field("expires_at").get_default()
    invitation.save(update_fields=["expires_at"])
    audit_record(actor=actor.user, action="invitation.resent", target=invitation)
    _enqueue_invitation_email(invitation)
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation: Invitation) -> None:
    _require_manager(actor)
    if invitation.status != InvitationStatus.PENDING:
        raise InvitationError(_("This invitation is not pending any more."))
    invitation.status = InvitationStatus.REVOKED
    invitation.save(update_fields=["status"])
    audit_record(
        actor=actor.user,
        action="invitation.revoked",
        target=invitation,
        metadata={"email": invitation.email},
    )


def invitation_problem(*, invitation: Invitation) -> str:
    """Why an invitation cannot be used, in words that say what to do; "" if it can."""
    if invitation.status == InvitationStatus.ACCEPTED:
        return _("This invitation has been used already. Log in to continue.")
    if invitation.status == InvitationStatus.REVOKED:
        return _("This invitation was revoked. Ask an admin of the workspace for a new one.")
    if invitation.status == InvitationStatus.EXPIRED or invitation.expires_at <= timezone.now():
        return _("This invitation has expired. Ask an admin of the workspace for a new one.")
    return ""


def _lock_usable_invitation(invitation: Invitation) -> Invitation:
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    problem = invitation_problem(invitation=locked)
    if problem:
        raise InvitationError(problem)
    return locked


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """An existing, signed-in user accepts: the invitation is used up, a membership made."""
    with tenant_scope(invitation.tenant):
        locked = _lock_usable_invitation(invitation)
        if locked.email.lower() != user.email.lower():
            raise InvitationError(
                _("This invitation was sent to %(email)s. Log in with that address to accept it.")
                % {"email": locked.email}
            )
        membership, created = Membership.objects.get_or_create(
            user=user, defaults={"role": locked.role}
        )
        locked.status = InvitationStatus.ACCEPTED
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["status", "accepted_at", "accepted_by"])
        audit_record(
            actor=user,
            action="invitation.accepted",
            target=locked,
            metadata={"email": user.email, "role": membership.role, "new_member": created},
        )
        return membership


@transaction.atomic
def invitation_accept_new_user(
    *, invitation: Invitation, full_name: str, password: str
) -> Membership:
    """Someone without an account accepts: the account is created with the invited address."""
    with unscoped():
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise InvitationError(
                _("An account with this e-mail address exists already. Log in to accept.")
            )
    user = User.objects.create_user(
        email=invitation.email, password=password, full_name=full_name.strip()
    )
    return invitation_accept(invitation=invitation, user=user)


def invitations_expire() -> int:
    """Mark pending invitations past their expiry as expired, in every tenant."""
    now = timezone.now()
    with unscoped():
        expired = list(
            Invitation.objects.filter(
                status=InvitationStatus.PENDING, expires_at__lte=now
            ).select_related("tenant")
        )
    for invitation in expired:
        with tenant_scope(invitation.tenant), transaction.atomic():
            updated = Invitation.objects.filter(
                pk=invitation.pk, status=InvitationStatus.PENDING
            ).update(status=InvitationStatus.EXPIRED)
            if updated:
                audit_record(
                    actor=None,
                    action="invitation.expired",
                    target=invitation,
                    metadata={"email": invitation.email},
                )
    return len(expired)


# --- Teams ----------------------------------------------------------------------------


def _require_team_manager(actor: Membership) -> None:
    if not actor.can_manage:
        raise NotAllowed(_("Only owners and admins can manage teams."))


@transaction.atomic
def team_create(*, actor: Membership, name: str) -> Team:
    _require_team_manager(actor)
    name = name.strip()
    if not name:
        raise AccountsError(_("Enter a team name."), field="name")
    if Team.objects.filter(name__iexact=name).exists():
        raise AccountsError(_("A team with this name exists already."), field="name")
    team = Team.objects.create(name=name)
    audit_record(actor=actor.user, action="team.created", target=team)
    return team


@transaction.atomic
def team_rename(*, actor: Membership, team: Team, name: str) -> Team:
    _require_team_manager(actor)
    name = name.strip()
    if not name:
        raise AccountsError(_("Enter a team name."), field="name")
    if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
        raise AccountsError(_("A team with this name exists already."), field="name")
    old = team.name
    team.name = name
    team.save(update_fields=["name"])
    audit_record(actor=actor.user, action="team.renamed", target=team, metadata={"from": old})
    return team


@transaction.atomic
def team_delete(*, actor: Membership, team: Team) -> None:
    _require_team_manager(actor)
    audit_record(actor=actor.user, action="team.deleted", target=team)
    team.delete()


@transaction.atomic
def team_member_add(*, actor: Membership, team: Team, membership: Membership) -> None:
    _require_team_manager(actor)
    _, created = TeamMember.objects.get_or_create(team=team, membership=membership)
    if created:
        audit_record(
            actor=actor.user,
            action="team.member_added",
            target=team,
            metadata={"email": membership.user.email},
        )


@transaction.atomic
def team_member_remove(*, actor: Membership, team: Team, membership: Membership) -> None:
    _require_team_manager(actor)
    deleted, _rows = TeamMember.objects.filter(team=team, membership=membership).delete()
    if deleted:
        audit_record(
            actor=actor.user,
            action="team.member_removed",
            target=team,
            metadata={"email": membership.user.email},
        )


# --- Notifications ------------------------------------------------------------------


Text = str | Callable[[], str]


def _in_language(text: Text, language: str) -> str:
    if not callable(text):
        return text
    with override(language or settings.LANGUAGE_CODE):
        return str(text())


def notify_managers(
    *, title: Text, body: Text = "", url: str = "", level: str = "info", email: bool = True
) -> list[int]:
    """Tell the current tenant's owners and admins: in the app, and by e-mail after commit.

    ``title`` and ``body`` may be callables that build the text with gettext: each
    manager then gets it in the language of their account.
    """
    from accounts.models import MANAGER_ROLES, Notification

    managers = Membership.objects.filter(role__in=MANAGER_ROLES).select_related("user")
    created = Notification.objects.bulk_create(
        [
            Notification(
                tenant=require_tenant(),
                user=m.user,
                title=_in_language(title, m.user.language)[:255],
                body=_in_language(body, m.user.language),
                url=url,
                level=level,
            )
            for m in managers
        ]
    )
    ids = [n.pk for n in created if n.pk is not None]
    if email and ids:
        from accounts.tasks import notification_send_emails_task
        from waba_portal.tasks import enqueue_on_commit

        enqueue_on_commit(notification_send_emails_task, require_tenant().pk, ids)
    return ids


def notification_send_emails(*, notification_ids: list[int]) -> int:
    from accounts.models import Notification

    sent = 0
    pending = Notification.objects.filter(pk__in=notification_ids, emailed_at__isnull=True)
    for n in pending.select_related("user"):
        link = settings.SITE_URL + n.url if n.url.startswith("/") else n.url
        send_mail(n.title, f"{n.body}\n\n{link}".strip(), None, [n.user.email])
        # Recorded at once: if a later e-mail fails, the task's retry skips this one.
        Notification.objects.filter(pk=n.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def notifications_mark_read(*, user: User, notification_ids: list[int] | None = None) -> int:
    from accounts.models import Notification

    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())
