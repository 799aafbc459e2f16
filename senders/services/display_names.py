"""Changing a number's display name: the request, Meta's decision, and what comes next.

The request (:func:`display_name_request`) is checked against Meta's rules first
(:mod:`senders.services.display_name_rules`: refusals, and warnings the person confirms),
then sent to Meta (``POST /{phone-number-id}`` with ``new_display_name``). Meta reviews
it and decides by the ``phone_number_name_update`` webhook, or the decision shows in
the next read of the number (a sync, a refresh): both land in
:func:`name_decision_apply`, so a decision is applied, recorded and notified once,
whichever arrives first.

A number whose name Meta approved keeps sending under it while a new one is reviewed
(Meta reports the change as ``new_display_name`` / ``new_name_status``): a rejection
leaves the number as it was, with Meta's reason and the fix; an approval must be
followed by registering the number again within 14 days, and the page offers that
(:func:`display_name_register_again`). A number with no approved name yet has its name
under review replaced: ``name_status`` is PENDING_REVIEW, a rejection is the
``display_name_rejected`` problem, an approval makes the name the number's own.

Every request and decision is a history row of kind NAME naming the requested name
(``detail.requested_name``), which is what ``selectors.display_name_change`` reads.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership, NotificationLevel
from accounts.permissions import require_manager
from accounts.services import audit
from accounts.services.notifications import notification_kind_register, notify_managers_of
from accounts.tenancy import require_tenant
from senders import selectors, tasks
from senders import troubleshooting as ts
from senders.models import (
    AccountHistory,
    ConnectionStatus,
    HistoryKind,
    NameStatus,
    PhoneNumber,
    PhoneNumberDetails,
    PhoneStatus,
    PlatformType,
    WhatsAppAccount,
)
from senders.services import display_name_rules, graph, integration_events, meta_refusals, rules
from waba_portal.errors import Conflict, Invalid
from waba_portal.graph import errors as ge

logger = logging.getLogger(__name__)

APPROVED_NAME_STATUSES = frozenset({NameStatus.APPROVED, NameStatus.AVAILABLE_WITHOUT_REVIEW})
DECLINED_NAME_STATUSES = frozenset({NameStatus.DECLINED, NameStatus.REJECTED})
# Meta takes 10 display-name changes per number in 30 days (its "Display names" page).
CHANGES_PER_WINDOW = 10
CHANGE_WINDOW = timedelta(days=30)

# Meta's rejection reasons (phone_number_name_update ``rejection_reason``), in words that
# say what to change. Anything else Meta sends is shown as it wrote it.
REJECTION_REASONS = {
    "NAME_EMPLOYEE_ISSUE": gettext_lazy(
        "The name includes a person's name or an employee's identifier. Use the name of the "
        "business, product or department instead."
    ),
    "NAME_INDIVIDUAL_ISSUE": gettext_lazy(
        "The name includes a person's name or an employee's identifier. Use the name of the "
        "business, product or department instead."
    ),
    "NAME_ENDCLIENT_NOTRELATED": gettext_lazy(
        "The name includes another business's name that Meta could not relate to yours. "
        "Use your own business's name, or show the relation on both businesses' websites."
    ),
    "NAME_FORMAT_UNACCEPTABLE": gettext_lazy(
        "The format is not acceptable: check the capitals, punctuation, emoji and symbols, "
        "and write the name as your brand does."
    ),
    "NAME_NOT_CONSISTENT": gettext_lazy(
        "The name is not consistent with your branding elsewhere. Use the name exactly as "
        "your website and marketing write it."
    ),
    "NAME_POLICY": gettext_lazy(
        "The name breaks Meta's display name rules. Read them and choose a name that "
        "matches your business."
    ),
    "UNKNOWN": gettext_lazy(
        "Meta gave no reason. Ask Meta's support why before you send the same name again."
    ),
}

KIND_CHANGE_APPROVED = "phone_number.name_change_approved"
KIND_CHANGE_REJECTED = "phone_number.name_change_rejected"
# What the number needs after an approval (the notification's ``next`` parameter).
NEXT_REGISTER = "register"
NEXT_NOTHING = "nothing"
NEXT_SETUP = "setup"

AUDIT_LABELS = {
    "phone_number.display_name_requested": gettext_lazy(
        "%(actor)s asked Meta to change the display name of %(target)s to %(name)s"
    ),
    "phone_number.display_name_register_again": gettext_lazy(
        "%(actor)s registered %(target)s again to show its new display name %(name)s"
    ),
}
audit.audit_labels_register(AUDIT_LABELS)


def rejection_reason_words(reason: str) -> str:
    """Meta's rejection reason in words that say what to change ("" for none)."""
    if not reason:
        return ""
    words = REJECTION_REASONS.get(reason.strip().upper())
    return str(words) if words is not None else reason


def _next_words(next_step: str) -> str:
    if next_step == NEXT_REGISTER:
        return _(
            "Register the number again within 14 days (Register again on its Display name "
            "page) so that customers see the new name; until then it sends under the old one."
        )
    if next_step == NEXT_SETUP:
        return _(
            "The name is the number's now. Finish verifying and registering the number on "
            "its page to send messages."
        )
    return _("Nothing more: customers see the new name.")


def _rejected_body(p: dict[str, Any]) -> str:
    parts = []
    if p.get("reason"):
        parts.append(
            _("Meta's reason: %(reason)s") % {"reason": rejection_reason_words(p["reason"])}
        )
    if p.get("current"):
        parts.append(_("The number keeps sending as “%(current)s”.") % {"current": p["current"]})
    parts += [str(step) for step in ts.get(ts.DISPLAY_NAME_REJECTED).steps[:2]]
    return " ".join(parts)


notification_kind_register(
    KIND_CHANGE_APPROVED,
    title=lambda p: (
        _("Display name “%(name)s” of %(number)s approved")
        % {"name": p["name"], "number": p["number"]}
    ),
    body=lambda p: _next_words(str(p.get("next") or NEXT_NOTHING)),
)
notification_kind_register(
    KIND_CHANGE_REJECTED,
    title=lambda p: (
        _("Display name “%(name)s” of %(number)s rejected")
        % {"name": p["name"], "number": p["number"]}
    ),
    body=_rejected_body,
)


# --- Asking for a new name --------------------------------------------------------------


def is_registered(phone: PhoneNumber) -> bool:
    """Registered on Cloud API: an approved new name shows only after registering again."""
    return (
        phone.platform_type == PlatformType.CLOUD_API or phone.meta_status == PhoneStatus.CONNECTED
    )


def display_name_request(
    *, actor: Membership, phone: PhoneNumber, name: str, confirm_warnings: bool = False
) -> PhoneNumber:
    """Ask Meta to review ``name`` as the number's display name.

    Refused before Meta is asked for what Meta surely refuses (``Invalid`` on ``name``
    with every problem), for what it usually refuses unless ``confirm_warnings``
    (``Invalid`` with code ``display_name_warnings`` and the warnings in
    ``details.warnings``), when the name is the number's already, the same name is in
    review, or Meta's 10 changes in 30 days are used up (``Conflict``).
    """
    require_manager(actor, message=_("Only owners and admins can change the display name."))
    waba = phone.waba
    name = (name or "").strip()
    problems = display_name_rules.display_name_problems(name, business_name=waba.name)
    if problems:
        raise Invalid(
            " ".join(problems),
            field="name",
            code="display_name_invalid",
            details={"fields": {"name": problems}},
        )
    if not waba.is_connected or not waba.access_token:
        raise Conflict(_("Connect the account again before you change the names of its numbers."))
    if phone.connection_status == ConnectionStatus.DISCONNECTED:
        raise Conflict(_("This number is no longer in the account; its name cannot be changed."))
    if name == phone.verified_name and phone.name_status in APPROVED_NAME_STATUSES:
        raise Conflict(
            _("“%(name)s” is the number's display name already.") % {"name": name},
            field="name",
        )
    change = selectors.display_name_change(phone=phone)
    if change is not None and change.state == selectors.NAME_IN_REVIEW and change.name == name:
        raise Conflict(
            _("Meta is reviewing “%(name)s” already; its decision will show here.")
            % {"name": name},
            field="name",
        )
    now = timezone.now()
    recent = selectors.display_name_requests_since(phone=phone, since=now - CHANGE_WINDOW)
    if len(recent) >= CHANGES_PER_WINDOW:
        again = recent[len(recent) - CHANGES_PER_WINDOW] + CHANGE_WINDOW
        raise Conflict(
            _(
                "Meta takes %(count)d display name changes in 30 days, and this number used "
                "them. The next change is possible on %(date)s."
            )
            % {"count": CHANGES_PER_WINDOW, "date": timezone.localtime(again).date().isoformat()},
            code="display_name_change_limit",
            field="name",
        )
    warnings = display_name_rules.display_name_warnings(name, business_name=waba.name)
    if warnings and not confirm_warnings:
        raise Invalid(
            _(
                "Meta usually refuses such a name. Change it, or send it anyway if your brand "
                "is written this way."
            ),
            field="name",
            code="display_name_warnings",
            details={"fields": {"name": warnings}, "warnings": warnings},
        )
    client = graph.graph_client(token=str(waba.access_token))
    try:
        client.phone_number_update(phone.phone_number_id, new_display_name=name)
    except ge.GraphError as exc:
        raise meta_refusals.refusal_for(exc, field="name") from exc
    finally:
        client.close()
    return _request_record(actor=actor, phone_pk=phone.pk, name=name, warnings=warnings)


@transaction.atomic
def _request_record(
    *, actor: Membership, phone_pk: int, name: str, warnings: list[str]
) -> PhoneNumber:
    phone = PhoneNumber.objects.select_for_update().select_related("waba").get(pk=phone_pk)
    now = timezone.now()
    old_status, current = phone.name_status, phone.verified_name
    is_change = old_status in APPROVED_NAME_STATUSES
    phone.requested_name, phone.name_rejection_reason = name, ""
    if not is_change:
        # No approved name to keep: the name under review is replaced.
        phone.verified_name, phone.name_status = name, NameStatus.PENDING_REVIEW
        if phone.problem == ts.DISPLAY_NAME_REJECTED:
            phone.problem, phone.problem_detail = "", ""
            phone.connection_status = ConnectionStatus.PENDING  # derived again below
            rules.phone_derive_state(phone)
    # A read of Meta that started before this request says nothing about it. Meta stamps
    # its webhooks in whole seconds: its decision, even within this second, is newer.
    rules.clock_advance(phone, "name", float(math.floor(now.timestamp())))
    phone.save()
    details, _created = PhoneNumberDetails.objects.get_or_create(phone_number=phone)
    details.name_requested_at = now
    details.save(update_fields=["name_requested_at"])
    _history(
        phone=phone,
        old=old_status or NameStatus.NONE,
        new=NameStatus.PENDING_REVIEW,
        source="user",
        detail={"requested_name": name, "change": is_change, "current_name": current},
        occurred_at=now,
    )
    audit.audit_record(
        actor=actor.user,
        action="phone_number.display_name_requested",
        target=phone,
        metadata={"name": name, "previous": current, "warnings_confirmed": bool(warnings)},
    )
    return phone


def display_name_register_again(*, actor: Membership, phone: PhoneNumber) -> None:
    """Register the number again so that its newly approved name shows (a task does it;
    the managers are told what it did, as after a Resubmit)."""
    require_manager(actor, message=_("Only owners and admins can register a number."))
    change = selectors.display_name_change(phone=phone)
    if change is None or change.state != selectors.NAME_APPROVED:
        raise Conflict(_("No approved display name is waiting for this number to be registered."))
    if not phone.waba.is_connected or not phone.waba.access_token:
        raise Conflict(_("Connect the account again before you register its numbers."))
    audit.audit_record(
        actor=actor.user,
        action="phone_number.display_name_register_again",
        target=phone,
        metadata={"name": change.name},
    )
    tasks.phone_number_register_task.delay_on_commit(require_tenant().pk, phone.pk)


# --- Meta's decision: from the webhook or a read ------------------------------------------


def name_request_matches(phone: PhoneNumber, requested: str | None) -> bool:
    """Whether a decision about ``requested`` is about the name this number asked for."""
    return bool(phone.requested_name) and (requested or "").strip() == phone.requested_name


def name_decision_apply(
    *,
    waba: WhatsAppAccount,
    phone: PhoneNumber,
    decision: str,
    reason: str = "",
    source: str,
    occurred_at: datetime | None = None,
    live: bool = False,
    raw: dict[str, Any] | None = None,
) -> AccountHistory | None:
    """Apply Meta's APPROVED or REJECTED for the name the number asked for (held locked
    by the caller), record it and tell the managers; a decision already applied changes
    nothing. ``live``: Meta shows the new name already (no registering needed)."""
    decision = (decision or "").upper()
    new = {"APPROVED": NameStatus.APPROVED, "REJECTED": NameStatus.DECLINED}.get(decision)
    requested = phone.requested_name
    if new is None or not requested:
        if phone.pk:
            phone.save(update_fields=["event_clock"])
        return None  # PENDING, DEFERRED: still in review
    change = selectors.display_name_change(phone=phone)
    already = (change is None and new == NameStatus.APPROVED) or (
        change is not None
        and (
            (change.state == selectors.NAME_APPROVED and new == NameStatus.APPROVED)
            or (change.state == selectors.NAME_REJECTED and new == NameStatus.DECLINED)
        )
    )
    if already:
        phone.save(update_fields=["event_clock"])
        return None
    is_change = phone.name_status in APPROVED_NAME_STATUSES and phone.verified_name != requested
    current = phone.verified_name
    next_step = ""
    if new == NameStatus.APPROVED:
        if is_change and is_registered(phone) and not live:
            next_step = NEXT_REGISTER  # Meta shows it once the number is registered again
        else:
            phone.verified_name, phone.name_status = requested, NameStatus.APPROVED
            phone.requested_name, phone.name_rejection_reason = "", ""
            if phone.problem == ts.DISPLAY_NAME_REJECTED:
                phone.problem, phone.problem_detail = "", ""
                phone.connection_status = ConnectionStatus.PENDING  # derived again below
            next_step = NEXT_NOTHING if is_registered(phone) else NEXT_SETUP
    else:
        phone.name_rejection_reason = reason or ""
        if not is_change:
            phone.name_status = NameStatus.DECLINED
            phone.problem = ts.DISPLAY_NAME_REJECTED
            phone.problem_detail = rejection_reason_words(reason)
    rules.phone_derive_state(phone)
    phone.save()
    if change is not None and change.requested_at and occurred_at is not None:
        # Meta's time is in whole seconds: a decision is never shown before its request.
        occurred_at = max(occurred_at, change.requested_at)
    row = _history(
        phone=phone,
        old=NameStatus.PENDING_REVIEW,
        new=new,
        source=source,
        detail={
            "requested_name": requested,
            "reason": reason or "",
            "change": is_change,
            "next": next_step,
            **({"event": raw} if raw else {}),
        },
        occurred_at=occurred_at,
    )
    _decision_notify(
        waba=waba,
        phone=phone,
        name=requested,
        approved=new == NameStatus.APPROVED,
        reason=reason or "",
        current=current if is_change else "",
        next_step=next_step,
    )
    return row


def name_review_read_apply(
    *, waba: WhatsAppAccount, phone: PhoneNumber, data: dict[str, Any], stamp: float, source: str
) -> None:
    """What a read of the number from Meta says about the name it asked for.

    Called by ``snapshots.phone_apply_snapshot`` before it applies the read, when the
    read is not older than what was last learnt about the name (``stamp``): a decision
    Meta shows is applied here (recorded and notified once); a number that shows the
    approved name now has nothing open; a change asked for elsewhere (in WhatsApp
    Manager) is taken up as in review.
    """
    last = phone.event_clock.get("name")
    if isinstance(last, int | float) and stamp < float(last):
        return
    requested = phone.requested_name
    meta_name = str(data.get("verified_name") or "")
    new_name = str(data.get("new_display_name") or "")
    new_status = str(data.get("new_name_status") or "").upper()
    if not requested:
        if new_name and new_status == NameStatus.PENDING_REVIEW and new_name != meta_name:
            phone.requested_name = new_name
            _history(
                phone=phone,
                old=phone.name_status,
                new=NameStatus.PENDING_REVIEW,
                source=source,
                detail={"requested_name": new_name, "change": True, "current_name": meta_name},
            )
        return
    verdict = _meta_verdict(data, requested)
    change = selectors.display_name_change(phone=phone)
    if change is None:
        return
    if change.state == selectors.NAME_IN_REVIEW and verdict in ("APPROVED", "REJECTED"):
        name_decision_apply(
            waba=waba,
            phone=phone,
            decision=verdict,
            source=source,
            live=meta_name == requested,
        )
    elif change.state == selectors.NAME_APPROVED and meta_name == requested:
        # Registered again: the new name is the number's.
        phone.verified_name, phone.requested_name = requested, ""


def _meta_verdict(data: dict[str, Any], requested: str) -> str:
    """Meta's decision on ``requested`` in a read: APPROVED, REJECTED, or "" (none yet)."""
    if str(data.get("new_display_name") or "") == requested:
        status = str(data.get("new_name_status") or "").upper()
    elif str(data.get("verified_name") or "") == requested:
        status = str(data.get("name_status") or "").upper()
    else:
        return ""
    if status in APPROVED_NAME_STATUSES:
        return "APPROVED"
    if status in DECLINED_NAME_STATUSES:
        return "REJECTED"
    return ""


def _decision_notify(
    *,
    waba: WhatsAppAccount,
    phone: PhoneNumber,
    name: str,
    approved: bool,
    reason: str,
    current: str,
    next_step: str,
) -> None:
    url = reverse(
        "senders:number_name",
        kwargs={"tenant_slug": require_tenant().slug, "phone_pk": phone.pk},
    )
    if approved:
        notify_managers_of(
            kind=KIND_CHANGE_APPROVED,
            params={"name": name, "number": str(phone), "next": next_step},
            url=url,
            level=NotificationLevel.INFO,
        )
    else:
        notify_managers_of(
            kind=KIND_CHANGE_REJECTED,
            params={"name": name, "number": str(phone), "reason": reason, "current": current},
            url=url,
            level=NotificationLevel.WARNING,
        )


def _history(
    *,
    phone: PhoneNumber,
    old: str,
    new: str,
    source: str,
    detail: dict[str, Any],
    occurred_at: datetime | None = None,
) -> AccountHistory:
    """A NAME row of the number's timeline (a request or a decision always changes it)."""
    row = AccountHistory.objects.create(
        waba_id=phone.waba_id,
        phone_number=phone,
        kind=HistoryKind.NAME,
        old_value=str(old or "")[:255],
        new_value=str(new or "")[:255],
        source=source,
        detail=detail,
        occurred_at=occurred_at or timezone.now(),
    )
    integration_events.history_emit(row)  # a decision is number.name_decided
    return row
