"""Adding a phone number to a connected WABA from the portal, without Embedded Signup.

:func:`number_add` checks everything it can before Meta is asked, in this order:

1. the fields: the number for its country (``number_rules``) and the display name
   against Meta's basic rules (``display_name_rules``), every field's problems at once;
2. the number is not on an account already: one of this workspace's (the same account:
   "already added"; another one: "registered to another WABA"), or one that another
   workspace holds (its claim, ``MetaAsset``);
3. the account's number cap: what Meta reported (``max_phone_numbers``, from
   ``business_capability_update``), else 2 for an unverified business and 20 for a
   verified one (NOTES §8).

Then it calls ``POST /{waba_id}/phone_numbers`` and, in one transaction, claims the new
Meta id and writes the number (pending), its details (E.164, type, who added it), its
verification row, a history line and the audit row. Meta's refusals are mapped to the
troubleshooting entry that fixes them ("number_other_waba", "waba_number_limit", ...).

One add runs at a time per account (a cache lock), so two clicks cannot both pass the
cap or add the same number twice. Meta's call is not idempotent: when its answer is
lost, the account's numbers are listed to find whether the number arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant
from senders import troubleshooting as ts
from senders.models import (
    BusinessVerificationStatus,
    ConnectionStatus,
    HistoryKind,
    MetaAssetKind,
    NameStatus,
    NumberVerification,
    PhoneNumber,
    PhoneNumberDetails,
    PhoneStatus,
    PlatformType,
    WhatsAppAccount,
)
from senders.selectors import number_held_elsewhere, phones_with_number
from senders.services import assets, graph, number_rules, rules, snapshots
from senders.services.display_name_rules import display_name_problems
from senders.services.number_rules import CheckedNumber
from waba_portal.errors import Conflict, Invalid, ServiceError
from waba_portal.graph import errors as ge

logger = logging.getLogger(__name__)

# Meta's starting caps for a business portfolio, when Meta reported none (NOTES §8).
CAP_UNVERIFIED = 2
CAP_VERIFIED = 20
# How long one add may hold its account's lock (Meta's call plus the writes).
ADD_LOCK_SECONDS = 120


class NumberRefused(Conflict):
    """The number cannot be added here; ``problem`` is the troubleshooting entry."""

    def __init__(self, problem: str, message: str, **extra: Any) -> None:
        details = {
            "problem": problem_details(problem),
            "fields": {"number": [message]},
            **extra,
        }
        super().__init__(message, field="number", code=problem, details=details)
        self.problem = problem


class MetaUnavailable(ServiceError):
    """Meta did not answer (or asked us to slow down): nothing was added, try again."""

    code = ts.META_UNAVAILABLE
    status = 503

    def __init__(self, message: str) -> None:
        super().__init__(message, details={"problem": problem_details(ts.META_UNAVAILABLE)})
        self.problem = ts.META_UNAVAILABLE


def problem_details(key: str) -> dict[str, Any]:
    """A troubleshooting entry as refusals carry it (the API's ``problem`` shape)."""
    problem = ts.get(key)
    return {
        "code": problem.key,
        "title": str(problem.title),
        "explanation": str(problem.explanation),
        "steps": [str(step) for step in ts.api_steps(problem)],
        "url": problem.url(require_tenant().slug),
    }


# --- The cap -----------------------------------------------------------------------------


def number_cap(*, waba: WhatsAppAccount) -> int:
    """How many numbers the account may have: Meta's figure, else the starting caps."""
    if waba.max_phone_numbers:
        return int(waba.max_phone_numbers)
    verified = waba.business_verification_status.lower() == BusinessVerificationStatus.VERIFIED
    return CAP_VERIFIED if verified else CAP_UNVERIFIED


def numbers_in_use(*, waba: WhatsAppAccount) -> int:
    """The account's numbers that count toward its cap (removed ones do not)."""
    return waba.phone_numbers.exclude(connection_status=ConnectionStatus.DISCONNECTED).count()


# --- Checks before Meta -------------------------------------------------------------------


def number_add_check(
    *, waba: WhatsAppAccount, country: str, number: str, display_name: str
) -> CheckedNumber:
    """Every check that needs no Meta call; answers the number as Meta is to get it."""
    if not waba.is_connected:
        raise Conflict(
            _("Numbers can be added only to a connected account. Connect it again first."),
            code="waba_not_connected",
        )
    errors: dict[str, list[str]] = {}
    codes: list[str] = []
    checked: CheckedNumber | None = None
    try:
        checked = number_rules.number_check(region=country, number=number)
    except Invalid as exc:
        errors.setdefault(exc.field or "number", []).append(exc.message)
        codes.append(exc.code)
    name_problems = display_name_problems(display_name, business_name=waba.name)
    if name_problems:
        errors["display_name"] = name_problems
        codes.append("display_name")
    if errors or checked is None:
        first = next(iter(errors.values()))[0]
        code = codes[0] if len(codes) == 1 else "invalid"
        raise Invalid(first, field=next(iter(errors)), code=code, details={"fields": errors})
    _refuse_taken(waba=waba, checked=checked)
    in_use, cap = numbers_in_use(waba=waba), number_cap(waba=waba)
    if in_use >= cap:
        raise NumberRefused(
            ts.WABA_NUMBER_LIMIT,
            _(
                "This account has %(count)d of the %(cap)d phone numbers it may have. Remove "
                "a number you no longer use, or complete business verification so that "
                "Meta raises the limit."
            )
            % {"count": in_use, "cap": cap},
            cap=cap,
            in_use=in_use,
        )
    return checked


def _refuse_taken(*, waba: WhatsAppAccount, checked: CheckedNumber) -> None:
    live = PhoneNumber.objects.exclude(connection_status=ConnectionStatus.DISCONNECTED)
    here = phones_with_number(live, e164=checked.e164).select_related("waba").first()
    if here is not None and here.waba_id == waba.pk:
        raise Conflict(
            _("%(number)s is already on this account: open it from the list of numbers.")
            % {"number": checked.international},
            field="number",
            code="number_already_added",
            details={"phone": here.pk},
        )
    if here is not None:
        raise NumberRefused(
            ts.NUMBER_OTHER_WABA,
            _(
                "%(number)s is on another account of this workspace (%(account)s). Remove it "
                "there first: disable two-step verification for it, or delete it from that "
                "account."
            )
            % {"number": checked.international, "account": here.waba},
        )
    if number_held_elsewhere(e164=checked.e164):
        raise NumberRefused(
            ts.NUMBER_OTHER_WABA,
            _(
                "%(number)s is registered to a WhatsApp Business Account that another "
                "workspace or provider holds. Disable two-step verification for it there, "
                "or delete it from that account, then add it here again."
            )
            % {"number": checked.international},
        )


# --- The add ---------------------------------------------------------------------------


def number_add(
    *,
    actor: Membership,
    waba: WhatsAppAccount,
    country: str,
    number: str,
    display_name: str,
) -> PhoneNumber:
    """Add the number to the account at Meta and here; answers the new (pending) number."""
    require_manager(actor, message=_("Only owners and admins can add phone numbers."))
    display_name = display_name.strip()
    with _add_lock(waba):
        waba.refresh_from_db()
        checked = number_add_check(
            waba=waba, country=country, number=number, display_name=display_name
        )
        data = _meta_add(waba=waba, checked=checked, display_name=display_name)
        return _record(actor=actor, waba=waba, checked=checked, data=data, name=display_name)


@contextmanager
def _add_lock(waba: WhatsAppAccount) -> Iterator[None]:
    key = f"number-add:{waba.tenant_id}:{waba.pk}"
    if not cache.add(key, 1, timeout=ADD_LOCK_SECONDS):
        raise Conflict(
            _("Another number is being added to this account right now. Try again in a minute."),
            code="number_add_running",
        )
    try:
        yield
    finally:
        cache.delete(key)


def _meta_add(
    *, waba: WhatsAppAccount, checked: CheckedNumber, display_name: str
) -> dict[str, Any]:
    """Meta's view of the new number (at least its id), or the refusal that fits."""
    client = graph.graph_client(token=str(waba.access_token or ""))
    try:
        answer = client.phone_number_add(
            waba.waba_id,
            cc=str(checked.country_code),
            phone_number=checked.national_number,
            verified_name=display_name,
        )
    except ge.GraphOutcomeUnknown as exc:
        found = _find_at_meta(waba=waba, checked=checked)
        if found is None:
            raise MetaUnavailable(
                _("Meta did not answer, and the number is not on the account. Try again.")
            ) from exc
        return found
    except ge.GraphError as exc:
        raise _refusal_for(exc) from exc
    phone_number_id = str(answer.get("id") or "")
    if not phone_number_id:
        raise MetaUnavailable(_("Meta answered without the new number's id. Try again."))
    try:
        data = client.phone_number_get(phone_number_id)
    except ge.GraphError:
        # Added; its details arrive with the next sync. What we know meanwhile:
        logger.warning("number %s added but not read back", phone_number_id, exc_info=True)
        data = {}
    return {**data, "id": phone_number_id}


def _find_at_meta(*, waba: WhatsAppAccount, checked: CheckedNumber) -> dict[str, Any] | None:
    client = graph.graph_client(token=str(waba.access_token or ""))
    digits = number_rules.e164_digits(checked.e164)
    try:
        for data in client.phone_numbers_list(waba.waba_id):
            if number_rules.e164_digits(str(data.get("display_phone_number") or "")) == digits:
                return data
    except ge.GraphError:
        logger.warning("could not list the numbers of %s", waba.waba_id, exc_info=True)
    return None


def _refusal_for(exc: ge.GraphError) -> ServiceError:
    """Meta's refusal of the add, as the refusal a person can act on."""
    if isinstance(exc, ge.GraphRateLimitError | ge.GraphTransientError):
        return MetaUnavailable(
            _("Meta did not answer or asked us to slow down. Wait a minute and try again.")
        )
    problem = ts.problem_for_graph_error(exc, step="add_number")
    if problem == ts.NUMBER_OTHER_WABA:
        return NumberRefused(
            problem,
            _(
                "Meta says this number is registered to another WhatsApp Business Account. "
                "Disable two-step verification for it there, or delete it from that "
                "account, then add it here again."
            ),
        )
    if problem == ts.WABA_NUMBER_LIMIT:
        return NumberRefused(
            problem,
            _(
                "Meta says this account has the maximum number of phone numbers. Remove a "
                "number you no longer use, or complete business verification so that Meta "
                "raises the limit."
            ),
        )
    if problem == ts.UNEXPECTED and isinstance(exc, ge.GraphInvalidRequestError):
        reason = exc.user_msg or exc.details or exc.message
        return Invalid(
            _("Meta refused the number: %(reason)s") % {"reason": reason},
            field="number",
            code="meta_refused",
        )
    return NumberRefused(
        problem,
        _("Meta refused to add the number: %(problem)s.") % {"problem": ts.get(problem).title},
    )


@transaction.atomic
def _record(
    *,
    actor: Membership,
    waba: WhatsAppAccount,
    checked: CheckedNumber,
    data: dict[str, Any],
    name: str,
) -> PhoneNumber:
    phone_number_id = str(data["id"])
    try:
        assets.meta_asset_claim(
            kind=MetaAssetKind.PHONE_NUMBER, meta_id=phone_number_id, waba_id=waba.waba_id
        )
    except assets.AssetTaken as exc:
        raise NumberRefused(
            ts.NUMBER_OTHER_WABA,
            _(
                "%(number)s is held by another workspace or provider. Disable two-step "
                "verification for it there, or delete it from that account, then add it "
                "here again."
            )
            % {"number": checked.international},
        ) from exc
    phone = PhoneNumber.objects.filter(phone_number_id=phone_number_id).first()
    was = phone.connection_status if phone is not None else ""
    if phone is None:
        phone = PhoneNumber(phone_number_id=phone_number_id, waba=waba)
    phone.waba = waba
    phone.connection_status = ConnectionStatus.PENDING  # a removed number comes back too
    phone.display_phone_number = str(data.get("display_phone_number") or checked.international)
    phone.verified_name = str(data.get("verified_name") or name)
    phone.meta_status = str(data.get("status") or PhoneStatus.PENDING)
    phone.name_status = str(data.get("name_status") or NameStatus.PENDING_REVIEW)
    phone.code_verification_status = str(data.get("code_verification_status") or "NOT_VERIFIED")
    phone.platform_type = str(data.get("platform_type") or PlatformType.NOT_APPLICABLE)
    phone.quality_rating = str(data.get("quality_rating") or phone.quality_rating)
    phone.problem = phone.problem_detail = ""
    rules.phone_derive_state(phone)
    phone.save()
    PhoneNumberDetails.objects.update_or_create(
        phone_number=phone,
        defaults={
            "e164": checked.e164,
            "region": checked.region,
            "number_type": checked.number_type,
            "added_in_portal": True,
            "added_by": actor.user,
            "removed_at": None,
            "removed_by": None,
        },
    )
    NumberVerification.objects.get_or_create(phone_number=phone)
    snapshots.history_record(
        waba=waba,
        phone=phone,
        kind=HistoryKind.CONNECTION,
        old=was,
        new=phone.connection_status,
        source="user",
        detail={"added": checked.e164, "type": checked.number_type},
    )
    audit_record(
        actor=actor.user,
        action="phone_number.added",
        target=phone,
        metadata={
            "number": checked.international,
            "type": checked.number_type,
            "waba_id": waba.waba_id,
            "display_name": name,
        },
    )
    return phone
