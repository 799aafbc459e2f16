"""Invitations: create, resend, revoke, accept (signed-in or new user), expire.

The token of an invitation's link is known to its e-mail only: the table keeps the
token's SHA-256, and every sending mints a new token, so a resend retires the link of
the e-mail before. The link carries the token after "#" (``/invitations/accept/#...``),
which browsers never send, so no request line and no access log holds it; the page's
script posts it (``accounts.views.invitation_accept``).

Their e-mail is sent by a task after the transaction commits. Invitation e-mails,
created or resent, are limited per inviting account and per workspace per hour
(``INVITATION_EMAILS_PER_ACCOUNT_PER_HOUR``, ``INVITATION_EMAILS_PER_TENANT_PER_HOUR``),
counted in the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from accounts import tasks
from accounts.errors import Invalid, InvitationError, InvitationLimitError, NotAllowed
from accounts.models import (
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    User,
    invitation_token_hash,
    invitation_token_new,
)
from accounts.permissions import require_manager
from accounts.services import throttling
from accounts.services.audit import audit_record
from accounts.tenancy import tenant_scope, unscoped


def invitation_accept_url(*, token: str) -> str:
    """The link of an invitation e-mail: the token rides in the fragment, never sent."""
    return f"{settings.SITE_URL}{reverse('accounts:invitation_accept')}#{token}"


def invitation_send_email(*, invitation_id: int) -> bool:
    """Send (or send again) the e-mail of a pending invitation; False if it is not pending.

    Each sending mints the token of its link and keeps its hash, holding the row's lock
    until the mail has left: of two sendings at once, the later e-mail is the one whose
    link works. A mail server that refuses rolls the new hash back, so the link of the
    e-mail sent before keeps working while the task retries.
    """
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("tenant", "invited_by")
            .filter(pk=invitation_id, status=InvitationStatus.PENDING)
            .first()
        )
        if invitation is None:
            return False
        token = invitation_token_new()
        invitation.token_hash = invitation_token_hash(token)
        invitation.save(update_fields=["token_hash"])
        _send_invitation_email(invitation, token)
    return True


def _enqueue_invitation_email(invitation: Invitation) -> None:
    tasks.invitation_send_email_task.delay_on_commit(invitation.tenant_id, invitation.pk)


def _send_invitation_email(invitation: Invitation, token: str) -> None:
    context = {
        "invitation": invitation,
        "tenant_name": invitation.tenant.name,
        "url": invitation_accept_url(token=token),
        "inviter": invitation.invited_by.get_full_name() if invitation.invited_by else "",
    }
    language = invitation.invited_by.language if invitation.invited_by else ""
    with override(language or settings.LANGUAGE_CODE):
        subject = _("You are invited to %(tenant)s on WABA Portal") % {
            "tenant": invitation.tenant.name
        }
        body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])


# --- How many invitation e-mails an hour -----------------------------------------------

LIMIT_WINDOW_SECONDS = 3600
# The hour is counted in slices: a sending counts while its slice is one of the last
# _SLICES + 1, so for at least an hour and at most a slice longer. No hour then holds
# more sendings than the limit, and a refusal waits at most one slice too long.
LIMIT_SLICE_SECONDS = 300
_SLICES = LIMIT_WINDOW_SECONDS // LIMIT_SLICE_SECONDS
# A slice's counter lives as long as it counts, whenever in its slice it was made.
_SLICE_TTL = LIMIT_WINDOW_SECONDS + 2 * LIMIT_SLICE_SECONDS


@dataclass(frozen=True)
class _HourlyLimit:
    scope: str  # "account" or "tenant"
    key: str  # the counter's name, without its slice
    limit: int  # 0: no limit


def _hourly_limits(actor: Membership) -> list[_HourlyLimit]:
    # A row id comes back when a database is made anew (the tests, a reset demo) while
    # the cache stays: with the row's creation time the name is of this one row only.
    user, tenant = actor.user, actor.tenant
    return [
        _HourlyLimit(
            scope="account",
            key=f"invitation-emails:account:{user.pk}:{user.date_joined.timestamp():.6f}",
            limit=settings.INVITATION_EMAILS_PER_ACCOUNT_PER_HOUR,
        ),
        _HourlyLimit(
            scope="tenant",
            key=f"invitation-emails:tenant:{tenant.pk}:{tenant.created_at.timestamp():.6f}",
            limit=settings.INVITATION_EMAILS_PER_TENANT_PER_HOUR,
        ),
    ]


def _free_at(counts: list[int], first_slice: int, limit: int) -> int:
    """When, in epoch seconds, the sendings in ``counts`` leave room for one more."""
    remaining, free_at = sum(counts), 0
    for offset, count in enumerate(counts):
        if remaining < limit:
            break
        remaining -= count
        free_at = (first_slice + offset + _SLICES + 1) * LIMIT_SLICE_SECONDS
    return free_at


def _limit_refusal(limit: _HourlyLimit, free_at: float) -> InvitationLimitError:
    retry_at = datetime.fromtimestamp(free_at, UTC)
    values = {"limit": limit.limit, **throttling.retry_words(retry_at)}
    if limit.scope == "account":
        message = ngettext(
            "You have sent %(limit)d invitation e-mail in the last hour, the most one person "
            "may send. Try again in %(wait)s (at %(time)s).",
            "You have sent %(limit)d invitation e-mails in the last hour, the most one person "
            "may send. Try again in %(wait)s (at %(time)s).",
            limit.limit,
        )
    else:
        message = ngettext(
            "This workspace has sent %(limit)d invitation e-mail in the last hour, the most "
            "it may send. Try again in %(wait)s (at %(time)s).",
            "This workspace has sent %(limit)d invitation e-mails in the last hour, the most "
            "it may send. Try again in %(wait)s (at %(time)s).",
            limit.limit,
        )
    return InvitationLimitError(
        message % values, retry_at=retry_at, details={"limit": limit.limit, "per": limit.scope}
    )


def _cache_count(name: str) -> None:
    cache.add(name, 0, timeout=_SLICE_TTL)
    try:
        cache.incr(name)
    except ValueError:  # gone between the two calls
        cache.set(name, 1, timeout=_SLICE_TTL)
    # Only Redis keeps a key's expiry through incr(); the file cache of a local run
    # would give it the default five minutes.
    cache.touch(name, timeout=_SLICE_TTL)


def _cache_uncount(name: str) -> None:
    try:
        cache.decr(name)
    except ValueError:  # gone meanwhile: nothing to take back
        return
    cache.touch(name, timeout=_SLICE_TTL)


def _count_invitation_email(actor: Membership) -> None:
    """Count one invitation e-mail of ``actor``, or refuse, saying when to try again.

    The counter is raised first and read after, so two sendings at once never both slip
    under the limit; a refused sending takes its count back.
    """
    now = timezone.now().timestamp()
    current = int(now // LIMIT_SLICE_SECONDS)
    first = current - _SLICES
    counted: list[str] = []
    refusals: list[tuple[int, _HourlyLimit]] = []
    for limit in _hourly_limits(actor):
        if limit.limit <= 0:
            continue
        names = [f"{limit.key}:{s}" for s in range(first, current + 1)]
        _cache_count(names[-1])
        counted.append(names[-1])
        found = cache.get_many(names)
        counts = [int(found.get(name) or 0) for name in names]
        if sum(counts) > limit.limit:
            counts[-1] -= 1  # the refused sending itself
            refusals.append((_free_at(counts, first, limit.limit), limit))
    if not refusals:
        return
    for name in counted:
        _cache_uncount(name)
    free_at, limit = max(refusals, key=lambda refusal: refusal[0])
    raise _limit_refusal(limit, free_at)


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
    _count_invitation_email(actor)  # last: a refusal rolls the new row back
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
    """Send a pending invitation again, with a fresh expiry and a new link."""
    require_manager(actor, message=_("Only owners and admins can manage members."))
    if invitation.status != InvitationStatus.PENDING:
        raise InvitationError(_("Only pending invitations can be resent."))
    _count_invitation_email(actor)
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
