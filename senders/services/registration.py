"""A number on its way to sending, and off it again: verification, registration, PIN, removal.

- **Verification** proves the business owns the number: Meta sends a 6-digit code by SMS
  or voice call (``request_code``), the code comes back (``verify_code``). A code is
  valid for 10 minutes. Wrong codes are counted in :class:`NumberVerification`: three
  lock the number for four hours, each wrong code after a lockout locks it for a day
  (edna), and a success resets the count. The lock is ours, enforced before Meta is
  asked, so a number never reaches Meta's own blocking for failed attempts.
- **Registration** puts the verified number on the Cloud API with a two-step
  verification PIN we generate (``secrets``) and keep encrypted. The PIN is shown once
  on request; after that it can only be changed (``POST /{phone_number_id}`` with a new
  ``pin``).
- **Removal** deregisters the number at Meta, releases our claim on its Meta id and
  keeps its history; the primary sender is handed to the number the user chose.

Every action on one number runs under a row lock taken before Meta is asked and held
until its answer is recorded (the verification's row for codes, the number's row for
the rest): two clicks at once are answered one after the other, and the second sees
what the first did. Meta's refusals raise :class:`NumberProblem`, whose code is the
troubleshooting key that says what to do. Nothing here logs or returns a PIN, except
:func:`number_pin_reveal`.
"""

from __future__ import annotations

import itertools
import re
import secrets
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.utils.translation import ngettext

from accounts.models import Membership
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant
from senders import selectors
from senders import troubleshooting as ts
from senders.models import (
    ConnectionStatus,
    HistoryKind,
    MetaAssetKind,
    NumberVerification,
    PhoneNumber,
    PhoneNumberDetails,
    PhoneStatus,
    VerificationMethod,
)
from senders.services import assets, graph, phone_numbers, rules, snapshots
from senders.services.number_state import (
    CODE_DIGITS,
    CODE_LANGUAGE_CODES,
    CODE_VALID_FOR,
    FAILURES_BEFORE_LOCK,
    FIRST_LOCK,
    NEXT_LOCK,
    VERIFIED,
    attempts_left,
    code_valid,
    is_registered,
    is_removed,
    is_verified,
    locked_message,
    pin_known,
    try_again_words,
)
from waba_portal.errors import Conflict, Invalid
from waba_portal.graph import errors as ge

PIN_DIGITS = 6

_CODE_RE = re.compile(rf"^[0-9]{{{CODE_DIGITS}}}$")
_MANAGE = _l("Only owners and admins can change WhatsApp settings.")


class NumberProblem(Conflict):
    """Meta refused a step of the number (or we did, in its place): ``problem`` is the
    troubleshooting key whose entry says what to do, ``detail`` what Meta said."""

    def __init__(
        self,
        problem: str,
        *,
        detail: str = "",
        message: str | None = None,
        status: int = 409,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        entry = ts.get(problem)
        self.problem = entry.key
        self.detail = detail[:500]
        super().__init__(
            message or f"{entry.title}: {entry.explanation}",
            code=entry.key,
            field=field,
            details={
                "problem": {
                    "code": entry.key,
                    "title": str(entry.title),
                    "explanation": str(entry.explanation),
                    "steps": [str(s) for s in ts.api_steps(entry)],
                    "url": entry.url(require_tenant().slug),
                },
                **({"meta_detail": self.detail} if self.detail else {}),
                **(extra or {}),
            },
        )
        self.status = status


def details_of(phone: PhoneNumber) -> PhoneNumberDetails | None:
    return PhoneNumberDetails.objects.filter(phone_number=phone).first()


# --- Preconditions ------------------------------------------------------------------------


def _require_workable(phone: PhoneNumber) -> PhoneNumberDetails | None:
    """The number is ours to act on at Meta: not removed, its account connected."""
    details = details_of(phone)
    if is_removed(details):
        raise Conflict(_("This number was removed. Add it again to use it."), code="number_removed")
    if not phone.waba.is_connected or not phone.waba.access_token:
        raise Conflict(
            _("Connect the account again before you change its numbers."),
            code="account_not_connected",
        )
    return details


def _client(phone: PhoneNumber) -> Any:
    return graph.graph_client(token=str(phone.waba.access_token or ""))


def problem_for(error: ge.GraphError, *, step: str) -> str:
    """The troubleshooting key for Meta's answer to a step of this module."""
    if isinstance(error, ge.CodeRequestError):
        return ts.VERIFICATION_CODE_REQUEST
    if isinstance(error, ge.CodeVerifyError):
        return ts.VERIFICATION_CODE_WRONG
    if error.code == 133006:
        return ts.NUMBER_NOT_VERIFIED
    if error.code in (133008, 133009):
        return ts.TWO_STEP_VERIFICATION
    if step == "pin" and isinstance(error, ge.GraphInvalidRequestError) and error.code == 100:
        return ts.TWO_STEP_VERIFICATION  # Meta refused the PIN itself
    if isinstance(error, ge.GraphOutcomeUnknown):
        return ts.META_UNAVAILABLE
    return ts.problem_for_graph_error(error, step="register_number" if step else "")


def meta_words(error: ge.GraphError) -> str:
    """What Meta said, for people: its message and details, without our call's trace."""
    text = error.message or ""
    if error.details and error.details not in text:
        text = f"{text} ({error.details})" if text else error.details
    return text


def _history(phone: PhoneNumber, kind: str, old: str, new: str, **detail: Any) -> None:
    snapshots.history_record(
        waba=phone.waba, phone=phone, kind=kind, old=old, new=new, source="user", detail=detail
    )


# --- Verification -------------------------------------------------------------------------


def _verification_locked(phone: PhoneNumber, *, create: bool) -> NumberVerification | None:
    rows = NumberVerification.objects.select_for_update()
    if create:
        verification, _created = rows.get_or_create(phone_number=phone)
        return verification
    return rows.filter(phone_number=phone).first()


def _refuse_while_locked(verification: NumberVerification, now: datetime) -> None:
    if verification.locked_until and verification.locked_until > now:
        raise NumberProblem(
            ts.VERIFICATION_LOCKED,
            message=locked_message(verification.locked_until),
            extra={"locked_until": verification.locked_until.isoformat()},
        )


def _refuse_when_done(phone: PhoneNumber) -> None:
    if is_registered(phone):
        raise Conflict(
            _("This number is verified and registered already."), code="already_registered"
        )


def _refuse_when_verified(phone: PhoneNumber) -> None:
    _refuse_when_done(phone)
    if is_verified(phone):
        raise Conflict(
            _("This number is verified already: register it next."), code="already_verified"
        )


def verification_code_request(
    *, actor: Membership, phone: PhoneNumber, method: str, language: str
) -> NumberVerification:
    """Ask Meta to send the number a 6-digit code by ``method`` (SMS or VOICE) in
    ``language``; the code is valid for 10 minutes. Refused while the number is locked."""
    require_manager(actor, message=str(_MANAGE))
    method = (method or "").strip().upper()
    if method not in VerificationMethod.values:
        raise Invalid(_("Choose how the code is sent: SMS or voice call."), field="method")
    language = (language or "").strip()
    if language not in CODE_LANGUAGE_CODES:
        raise Invalid(_("Choose the language of the code message."), field="language")
    _require_workable(phone)
    _refuse_when_verified(phone)
    error: ge.GraphError | None = None
    with transaction.atomic():
        verification = _verification_locked(phone, create=True)
        assert verification is not None
        now = timezone.now()
        _refuse_while_locked(verification, now)
        client = _client(phone)
        try:
            client.request_code(phone.phone_number_id, code_method=method, language=language)
        except ge.GraphError as exc:
            error = exc
        finally:
            client.close()
        if error is None:
            verification.method, verification.language = method, language
            verification.code_requested_at = now
            verification.code_expires_at = now + CODE_VALID_FOR
            verification.verified_at = None
            verification.save()
            _history(phone, HistoryKind.VERIFICATION_CODE, "", f"requested_{method.lower()}")
            audit_record(
                actor=actor.user,
                action="phone_number.code_requested",
                target=phone,
                metadata={"method": method, "language": language},
            )
    if error is not None:
        raise NumberProblem(problem_for(error, step="request_code"), detail=meta_words(error))
    return verification


def _count_failure(verification: NumberVerification, now: datetime) -> None:
    """A wrong code: the third locks the number for 4 hours, each after a lockout a day."""
    if verification.lockouts:
        verification.lockouts += 1
        verification.locked_until = now + NEXT_LOCK
        verification.failed_attempts = 0
    else:
        verification.failed_attempts += 1
        if verification.failed_attempts >= FAILURES_BEFORE_LOCK:
            verification.lockouts = 1
            verification.locked_until = now + FIRST_LOCK
            verification.failed_attempts = 0
    verification.save()


def _failure_message(verification: NumberVerification) -> str:
    if verification.locked_until and verification.locked_until > timezone.now():
        return _("The code was not accepted. %(locked)s") % {
            "locked": locked_message(verification.locked_until)
        }
    left = attempts_left(verification) or 0
    return ngettext(
        "The code was not accepted: %(left)d wrong code left before verification is locked "
        "for 4 hours.",
        "The code was not accepted: %(left)d wrong codes left before verification is locked "
        "for 4 hours.",
        left,
    ) % {"left": left}


def verification_code_verify(
    *, actor: Membership, phone: PhoneNumber, code: str
) -> NumberVerification:
    """Send Meta the code the number received. A wrong code is counted (and may lock the
    number); the right one marks it verified and resets the count."""
    require_manager(actor, message=str(_MANAGE))
    code = re.sub(r"[\s-]", "", code or "")
    if not _CODE_RE.match(code):
        raise Invalid(_("Enter the 6 digits of the code you received."), field="code")
    _require_workable(phone)
    error: ge.GraphError | None = None
    wrong: NumberVerification | None = None
    with transaction.atomic():
        verification = _verification_locked(phone, create=False)
        now = timezone.now()
        phone = PhoneNumber.objects.select_related("waba").get(pk=phone.pk)  # as of the lock
        _refuse_when_verified(phone)
        if verification is None or verification.code_requested_at is None:
            raise Invalid(
                _("Ask for a code first: by SMS or voice call."), field="code", code="no_code"
            )
        _refuse_while_locked(verification, now)
        if not code_valid(verification, now=now):
            raise Invalid(
                _("The code expired: codes are valid for 10 minutes. Ask for a new one."),
                field="code",
                code="code_expired",
            )
        client = _client(phone)
        try:
            client.verify_code(phone.phone_number_id, code)
        except ge.CodeVerifyError as exc:
            error = exc
            _count_failure(verification, now)
            wrong = verification
            audit_record(
                actor=actor.user,
                action="phone_number.code_rejected",
                target=phone,
                metadata={"locked": bool(verification.locked_until)},
            )
        except ge.GraphError as exc:
            error = exc
        finally:
            client.close()
        if error is None:
            verification.verified_at = now
            verification.failed_attempts = verification.lockouts = 0
            verification.locked_until = verification.code_expires_at = None
            verification.save()
            phone = PhoneNumber.objects.select_for_update().select_related("waba").get(pk=phone.pk)
            phone.code_verification_status = VERIFIED
            if phone.problem == ts.NUMBER_NOT_VERIFIED:
                phone.problem, phone.problem_detail = "", ""
            rules.phone_derive_state(phone)
            phone.save()
            _history(phone, HistoryKind.VERIFICATION_CODE, "", "verified")
            audit_record(actor=actor.user, action="phone_number.verified", target=phone)
    if wrong is not None and error is not None:
        extra: dict[str, Any] = {"attempts_left": attempts_left(wrong)}
        if wrong.locked_until:
            extra["locked_until"] = wrong.locked_until.isoformat()
        raise NumberProblem(
            ts.VERIFICATION_CODE_WRONG,
            detail=meta_words(error),
            message=_failure_message(wrong),
            status=400,
            field="code",
            extra=extra,
        )
    if error is not None:
        raise NumberProblem(problem_for(error, step="verify_code"), detail=meta_words(error))
    return verification


# --- Registration and the two-step verification PIN ---------------------------------------


def _details_locked(phone: PhoneNumber) -> PhoneNumberDetails:
    details, _created = PhoneNumberDetails.objects.select_for_update().get_or_create(
        phone_number=phone
    )
    return details


def new_pin(*, avoid: str = "") -> str:
    """A random 6-digit PIN, never one digit six times nor a run like 123456."""
    while True:
        pin = f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"
        steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
        if pin != avoid and not (len(steps) == 1 and steps <= {0, 1, 9}):
            return pin


def number_register(*, actor: Membership, phone: PhoneNumber) -> PhoneNumber:
    """Register the verified number on the Cloud API with a PIN we generate, then read it
    back from Meta. A refusal is kept on the number (its problem) and raised."""
    require_manager(actor, message=str(_MANAGE))
    _require_workable(phone)
    _refuse_when_done(phone)
    if not is_verified(phone):
        raise NumberProblem(ts.NUMBER_NOT_VERIFIED)
    # Committed before Meta is asked: after a timeout Meta may have the PIN already, and
    # the next attempt must send the same one.
    pin = phone_numbers.phone_pin_ensure(phone)
    problem, detail = "", ""
    with transaction.atomic():
        phone = PhoneNumber.objects.select_for_update().select_related("waba").get(pk=phone.pk)
        _refuse_when_done(phone)
        client = _client(phone)
        data: dict[str, Any] | None = None
        stamp = snapshots.read_stamp(phone.event_clock)
        try:
            client.register(phone.phone_number_id, pin)
        except ge.GraphError as exc:
            problem, detail = problem_for(exc, step="register"), meta_words(exc)
        else:
            stamp = snapshots.read_stamp(phone.event_clock)
            try:
                data = client.phone_number_get(phone.phone_number_id)
            except ge.GraphError:
                data = None  # registered all the same; the next sync reads the rest
        finally:
            client.close()
        before = phone.connection_status
        if problem:
            phone.problem, phone.problem_detail = problem, detail[:2000]
            if problem == ts.NUMBER_NOT_VERIFIED:
                phone.code_verification_status = "EXPIRED"
                NumberVerification.objects.filter(phone_number=phone).update(verified_at=None)
            rules.phone_derive_state(phone)
            phone.save()
        else:
            if data is not None:
                phone, _changes = snapshots.phone_apply_snapshot(
                    waba=phone.waba,
                    data={**data, "id": phone.phone_number_id},
                    source="user",
                    stamp=stamp,
                )
            else:
                phone.meta_status, phone.platform_type = PhoneStatus.CONNECTED, "CLOUD_API"
            phone.problem, phone.problem_detail = "", ""
            phone.registered_at = timezone.now()
            rules.phone_derive_state(phone)
            phone.save()
            details = _details_locked(phone)
            details.pin_set_at = timezone.now()
            details.save(update_fields=["pin_set_at"])
            _history(phone, HistoryKind.REGISTRATION, before, "registered")
            audit_record(actor=actor.user, action="phone_number.registered", target=phone)
            phone_numbers.primary_ensure(actor=actor.user)
    if problem:
        raise NumberProblem(problem, detail=detail)
    return phone


def number_pin_reveal(*, actor: Membership, phone: PhoneNumber) -> str:
    """The number's two-step verification PIN, once; after that only a change shows one."""
    require_manager(actor, message=str(_MANAGE))
    with transaction.atomic():
        details = _details_locked(phone)
        phone = PhoneNumber.objects.get(pk=phone.pk)
        if is_removed(details):
            raise Conflict(_("This number was removed."), code="number_removed")
        if not pin_known(phone, details):
            raise Conflict(
                _("The number has no PIN set by us yet: register it first."), code="no_pin"
            )
        if details.pin_revealed_at is not None:
            raise Conflict(
                _(
                    "The PIN was shown once already, on %(when)s. Change the PIN to get a new "
                    "one shown."
                )
                % {"when": try_again_words(details.pin_revealed_at)},
                code="pin_shown_already",
            )
        details.pin_revealed_at = timezone.now()
        if details.pin_set_at is None:
            details.pin_set_at = phone.registered_at
        details.save(update_fields=["pin_revealed_at", "pin_set_at"])
        audit_record(actor=actor.user, action="phone_number.pin_revealed", target=phone)
        return str(phone.pin)


def number_pin_change(*, actor: Membership, phone: PhoneNumber) -> PhoneNumber:
    """Set a new two-step verification PIN at Meta; it can be shown once afterwards."""
    require_manager(actor, message=str(_MANAGE))
    _require_workable(phone)
    if not is_registered(phone):
        raise Conflict(
            _("Register the number first: Meta keeps a PIN only for a registered number."),
            code="not_registered",
        )
    error: ge.GraphError | None = None
    with transaction.atomic():
        phone = PhoneNumber.objects.select_for_update().select_related("waba").get(pk=phone.pk)
        pin = new_pin(avoid=str(phone.pin or ""))
        client = _client(phone)
        try:
            client.phone_number_update(phone.phone_number_id, pin=pin)
        except ge.GraphError as exc:
            error = exc
        finally:
            client.close()
        if error is None:
            phone.pin = pin
            phone.save(update_fields=["pin"])
            details = _details_locked(phone)
            details.pin_set_at, details.pin_revealed_at = timezone.now(), None
            details.save(update_fields=["pin_set_at", "pin_revealed_at"])
            _history(phone, HistoryKind.REGISTRATION, "", "pin_changed")
            audit_record(actor=actor.user, action="phone_number.pin_changed", target=phone)
    if error is not None:
        problem = problem_for(error, step="pin")
        message = None
        if problem == ts.META_UNAVAILABLE:
            message = _(
                "Meta did not answer, so the PIN may or may not have changed. Change it again."
            )
        raise NumberProblem(problem, detail=meta_words(error), message=message)
    return phone


# --- Removal ------------------------------------------------------------------------------


def number_remove(
    *, actor: Membership, phone: PhoneNumber, new_primary: PhoneNumber | None = None
) -> PhoneNumber:
    """Deregister the number at Meta and stop using it here; its history stays.

    The primary sender's removal needs ``new_primary`` when another connected number
    could send; without one, no number sends afterwards (the page warned).
    """
    require_manager(actor, message=str(_MANAGE))
    details = details_of(phone)
    if is_removed(details):
        raise Conflict(_("This number was removed already."), code="number_removed")
    candidates = selectors.number_replacements(phone=phone)
    is_primary = phone.is_primary or phone.primary_chosen
    if is_primary and new_primary is None and candidates:
        raise Invalid(
            _("This number is the primary sender: choose the number that sends instead."),
            field="new_primary",
            code="new_primary_required",
        )
    if not is_primary:
        new_primary = None
    if new_primary is not None and new_primary.pk not in {p.pk for p in candidates}:
        raise Invalid(
            _("Choose a connected number other than the one you remove."),
            field="new_primary",
        )
    reachable = phone.waba.is_connected and bool(phone.waba.access_token)
    problem, detail, deregistered = "", "", False
    with transaction.atomic():
        if is_primary:
            phone_numbers.primary_lock()
        phone = PhoneNumber.objects.select_for_update().select_related("waba").get(pk=phone.pk)
        details = _details_locked(phone)
        if details.removed_at is not None:
            raise Conflict(_("This number was removed already."), code="number_removed")
        if reachable:
            client = _client(phone)
            try:
                client.deregister(phone.phone_number_id)
                deregistered = True
            except ge.PhoneNotRegisteredError:
                deregistered = False  # nothing to undo at Meta
            except ge.GraphError as exc:
                problem, detail = problem_for(exc, step="deregister"), meta_words(exc)
            finally:
                client.close()
        if problem:
            raise NumberProblem(problem, detail=detail)
        if new_primary is not None:
            phone_numbers.phone_number_set_primary(actor=actor, phone=new_primary)
            phone.refresh_from_db(fields=["is_primary", "primary_chosen"])
        before = phone.connection_status
        phone.connection_status = ConnectionStatus.DISCONNECTED
        phone.is_primary = phone.primary_chosen = False
        phone.problem, phone.problem_detail = "", ""
        if deregistered or not is_registered(phone):
            phone.meta_status, phone.platform_type = PhoneStatus.DISCONNECTED, "NOT_APPLICABLE"
        phone.save()
        details.removed_at, details.removed_by = timezone.now(), actor.user
        details.save(update_fields=["removed_at", "removed_by"])
        assets.meta_assets_release(
            kind=MetaAssetKind.PHONE_NUMBER, meta_ids=[phone.phone_number_id]
        )
        _history(
            phone,
            HistoryKind.CONNECTION,
            before,
            ConnectionStatus.DISCONNECTED,
            reason="removed",
        )
        audit_record(
            actor=actor.user,
            action="phone_number.removed",
            target=phone,
            metadata={
                "was_primary": is_primary,
                "new_primary": str(new_primary or ""),
                "deregistered": deregistered,
            },
        )
        if is_primary and new_primary is None:
            phone_numbers.primary_ensure(actor=actor.user)
    return phone
