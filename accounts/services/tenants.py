"""Workspaces and their people: creating a workspace, sign-up, a user's profile and language."""

from __future__ import annotations

from zoneinfo import available_timezones

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.errors import Conflict, Invalid, RateLimited
from accounts.models import (
    Membership,
    Role,
    Tenant,
    User,
)
from accounts.services import throttling
from accounts.services.audit import audit_record
from accounts.tenancy import tenant_scope

# Two requests can find the same slug free and both insert it: the unique rule refuses
# the later, which then takes the next free slug, this many times at most.
_SLUG_TRIES = 5


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _tenant_insert(name: str) -> Tenant:
    """A new workspace under a slug of its own, even against a concurrent creation."""
    for _try in range(_SLUG_TRIES):
        slug = _unique_slug(name)
        try:
            with transaction.atomic():
                return Tenant.objects.create(name=name, slug=slug)
        except IntegrityError:
            if not Tenant.objects.filter(slug=slug).exists():
                raise  # not the slug's rule
    raise Conflict(
        _("Workspaces with this name are being created right now. Try again in a moment."),
        field="name",
    )


def _email_taken() -> Invalid:
    return Invalid(
        _("An account with this e-mail address exists already. Log in instead."),
        field="email",
    )


@transaction.atomic
def tenant_create(*, owner: User, name: str) -> Tenant:
    """Create a workspace with ``owner`` as its first owner."""
    name = name.strip()
    if not name:
        raise Invalid(_("Enter a name for the workspace."), field="name")
    tenant = _tenant_insert(name)
    with tenant_scope(tenant):
        membership = Membership.objects.create(user=owner, role=Role.OWNER)
        audit_record(actor=owner, action="tenant.created", target=tenant)
        audit_record(
            actor=owner, action="member.added", target=membership, metadata={"role": Role.OWNER}
        )
    return tenant


@transaction.atomic
def user_signup(
    *, email: str, password: str, full_name: str, tenant_name: str, client_ip: str
) -> tuple[User, Tenant]:
    """Sign up: a new user and a new workspace that the user owns.

    Each try counts against the client's address (``SIGNUP_LIMIT_PER_IP`` an hour).
    """
    retry_at = throttling.limit_hit(limit=throttling.signups_per_client(), key=client_ip)
    if retry_at is not None:
        raise RateLimited(
            _(
                "Too many sign-ups from your network in the last hour. "
                "Try again in %(wait)s (at %(time)s)."
            )
            % throttling.retry_words(retry_at),
            retry_at=retry_at,
        )
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise _email_taken()
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, full_name=full_name.strip()
            )
    except IntegrityError as exc:  # the same address signed up between check and insert
        if not User.objects.filter(email__iexact=email).exists():
            raise
        raise _email_taken() from exc
    return user, tenant_create(owner=user, name=tenant_name)


def validate_language(*, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise Invalid(_("This language is not available."), field="language")


def user_set_language(*, user: User, language: str) -> None:
    validate_language(language=language)
    user.language = language
    user.save(update_fields=["language"])


def user_update_profile(
    *, user: User, full_name: str, language: str, time_zone: str | None = None
) -> None:
    user.full_name = full_name.strip()
    fields = ["full_name"]
    if time_zone is not None:  # an IANA name; "" means the portal's default (settings)
        if time_zone and time_zone not in available_timezones():
            raise Invalid(_("Choose one of the time zones offered."), field="time_zone")
        user.time_zone = time_zone
        fields.append("time_zone")
    user.save(update_fields=fields)
    if language:
        user_set_language(user=user, language=language)
