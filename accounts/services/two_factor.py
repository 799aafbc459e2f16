"""Two-factor sign-in: an authenticator app (TOTP) with recovery codes, and a workspace's rule.

The devices are django-otp's. A user has at most one confirmed ``TOTPDevice`` (an
unconfirmed one while setting up) and one ``StaticDevice`` holding ten recovery codes,
each of which works once. Setting up ends with a code from the app; turning it off and
making new recovery codes need the password or a code again.

Wrong codes and wrong passwords typed here count against the user in one window
(``throttling.two_factor_failures``: ``TWO_FACTOR_FAILURE_LIMIT`` per
``TWO_FACTOR_FAILURE_WINDOW_SECONDS``); once it is full every code is refused, the right
one too, until the window ends. django-otp's own per-device back-off is off in settings,
so this one limit decides and its message can say when to try again.

A user's changes are audited in each of the user's workspaces (their owners see who
turned it on or off); an owner's switch (``tenant_set_two_factor_required``) in the
workspace it changes.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import selectors
from accounts.errors import Conflict, Invalid, RateLimited
from accounts.models import Membership, Role, Tenant, User
from accounts.permissions import require_role
from accounts.services import throttling
from accounts.services.audit import audit_record
from accounts.tenancy import tenant_scope

RECOVERY_CODE_COUNT = 10
APP_DEVICE_NAME = "authenticator app"
RECOVERY_DEVICE_NAME = "recovery codes"


def _normalized(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def recovery_code_display(token: str) -> str:
    """A recovery code as shown: two groups of four ("k4x7-q2ab"); typed either way."""
    return f"{token[:4]}-{token[4:]}"


def _failure_key(user: User) -> str:
    return f"user:{user.pk}:{user.date_joined.timestamp()}"


def _refuse_while_throttled(user: User) -> None:
    retry_at = throttling.limit_reached(
        limit=throttling.two_factor_failures(), key=_failure_key(user)
    )
    if retry_at is not None:
        raise RateLimited(
            _("Too many wrong codes or passwords. Try again in %(wait)s (at %(time)s).")
            % throttling.retry_words(retry_at),
            field="code",
            retry_at=retry_at,
        )


def _count_failure(user: User) -> None:
    throttling.limit_count(limit=throttling.two_factor_failures(), key=_failure_key(user))


def _audit_everywhere(user: User, action: str, metadata: dict[str, Any] | None = None) -> None:
    """One audit row in each of the user's workspaces."""
    for membership in selectors.memberships_of_user(user=user):
        with tenant_scope(membership.tenant):
            audit_record(actor=user, action=action, target=membership, metadata=metadata)


def _new_recovery_codes(user: User) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": RECOVERY_DEVICE_NAME, "confirmed": True}
    )
    device.token_set.all().delete()
    tokens: set[str] = set()
    while len(tokens) < RECOVERY_CODE_COUNT:
        tokens.add(StaticToken.random_token())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=t) for t in sorted(tokens))
    return [recovery_code_display(t) for t in sorted(tokens)]


def _matching_device(user: User, code: str) -> models.Model | None:
    """The device that accepts ``code`` (consuming a recovery code), else None."""
    code = _normalized(code)
    if not code:
        return None
    with transaction.atomic():
        if code.isdigit():
            app = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
            return app if app is not None and app.verify_token(code) else None
        recovery = (
            StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        )
        return recovery if recovery is not None and recovery.verify_token(code) else None


# --- Setting up -------------------------------------------------------------------------


def two_factor_setup_start(*, user: User) -> TOTPDevice:
    """The app device being set up: the pending one (same secret on reload), else a new one."""
    if selectors.two_factor_enabled(user=user):
        raise Conflict(
            _("Two-factor sign-in is on already. Turn it off first to move to another app."),
            code="two_factor_enabled",
        )
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def two_factor_setup_confirm(*, user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Turn two-factor sign-in on with the first code from the app; the new recovery codes.

    The codes are returned once, to be shown once: only their use can be checked later.
    """
    _refuse_while_throttled(user)
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("-id")
        .first()
    )
    if device is None:
        raise Conflict(
            _("Nothing is being set up. Open the two-factor page again to start."),
            code="two_factor_not_started",
        )
    if not _normalized(code).isdigit() or not device.verify_token(_normalized(code)):
        _count_failure(user)
        raise Invalid(
            _("This code does not match. Enter the 6-digit code your app shows now."),
            field="code",
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = _new_recovery_codes(user)
    _audit_everywhere(user, "member.two_factor_enabled")
    return device, codes


# --- Signing in and confirming who you are ------------------------------------------------


def two_factor_verify(*, user: User, code: str) -> models.Model:
    """The device that accepts ``code``: the app's current code, or a recovery code (used up)."""
    _refuse_while_throttled(user)
    device = _matching_device(user, code)
    if device is None:
        _count_failure(user)
        raise Invalid(
            _(
                "This code does not match. Enter the code your app shows now, "
                "or one of your recovery codes."
            ),
            field="code",
        )
    throttling.limit_clear(limit=throttling.two_factor_failures(), key=_failure_key(user))
    if isinstance(device, StaticDevice):
        _audit_everywhere(
            user, "member.recovery_code_used", {"left": selectors.recovery_codes_left(user=user)}
        )
    return device


def _confirm_identity(user: User, *, password: str, code: str) -> None:
    if password:
        _refuse_while_throttled(user)
        if not user.check_password(password):
            _count_failure(user)
            raise Invalid(_("This password is not right."), field="password")
    elif code:
        two_factor_verify(user=user, code=code)
    else:
        raise Invalid(_("Enter your password or a code from your app."), field="password")


@transaction.atomic
def two_factor_disable(*, user: User, password: str = "", code: str = "") -> None:
    """Turn two-factor sign-in off (app and recovery codes), after the password or a code."""
    if not selectors.two_factor_enabled(user=user):
        return
    _confirm_identity(user, password=password, code=code)
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    _audit_everywhere(user, "member.two_factor_disabled")


@transaction.atomic
def two_factor_recovery_codes_regenerate(
    *, user: User, password: str = "", code: str = ""
) -> list[str]:
    """Ten new recovery codes in place of the old ones, after the password or a code."""
    if not selectors.two_factor_enabled(user=user):
        raise Conflict(_("Turn on two-factor sign-in first."), code="two_factor_disabled")
    _confirm_identity(user, password=password, code=code)
    codes = _new_recovery_codes(user)
    _audit_everywhere(user, "member.recovery_codes_regenerated")
    return codes


# --- The workspace's rule -----------------------------------------------------------------


@transaction.atomic
def tenant_set_two_factor_required(*, actor: Membership, required: bool) -> Tenant:
    """An owner makes two-factor sign-in required for every member, or optional again."""
    require_role(actor, {Role.OWNER}, message=_("Only owners can change how members sign in."))
    tenant = Tenant.objects.select_for_update().get(pk=actor.tenant_id)
    if tenant.two_factor_required == required:
        return tenant
    if required and not selectors.two_factor_enabled(user=actor.user):
        raise Invalid(
            _(
                "Turn on two-factor sign-in for your own account first, "
                "or you would be asked to at once."
            ),
            field="required",
        )
    tenant.two_factor_required = required
    tenant.save(update_fields=["two_factor_required"])
    audit_record(
        actor=actor.user,
        action="tenant.two_factor_required" if required else "tenant.two_factor_optional",
        target=tenant,
        metadata={"required": required},
    )
    return tenant
