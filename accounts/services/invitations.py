"""Invitations: create, resend, revoke, accept (signed-in or new user), expire.

Their e-mail is sent by a task after the transaction commits.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts import tasks
from accounts.errors import Invalid, InvitationError, NotAllowed
from accounts.models import (
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    User,
)
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import tenant_scope, unscoped


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
    tasks.invitation_send_email_task.delay_on_commit(invitation.tenant_id, invitation.pk)


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
    require_manager(actor, message=_("Only owners and admins can manage members."))
    email = User.objects.normalize_email(email).strip().lower()
    if role not in Role.values:
        raise Invalid(_("Choose one of the roles offered."), field="role")
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise NotAllowed(_("Only an owner can invite another owner."))
    if Membership.objects.filter(user__email__iexact=email).exists():
        raise Invalid(_("%(email)s is a member already.") % {"email": email}, field="email")
    if Invitation.objects.filter(email__iexact=email, status=InvitationStatus.PENDING).exists():
        raise Invalid(
            _("%(email)s has a pending invitation. Resend or revoke it below.") % {"email": email},
            field="email",
        )
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(email=email, role=role, invited_by=actor.user)
    except IntegrityError as exc:  # a concurrent invite of the same address won the race
        raise Invalid(
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
    require_manager(actor, message=_("Only owners and admins can manage members."))
    if invitation.status != InvitationStatus.PENDING:
        raise InvitationError(_("Only pending invitations can be resent."))
    invitation.expires_at = Invitation._meta.get_field("expires_at").get_default()
    invitation.save(update_fields=["expires_at"])
    audit_record(actor=actor.user, action="invitation.resent", target=invitation)
    _enqueue_invitation_email(invitation)
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation: Invitation) -> None:
    require_manager(actor, message=_("Only owners and admins can manage members."))
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
