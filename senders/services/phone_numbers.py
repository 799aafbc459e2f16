"""A tenant's numbers: the primary sender, resubmitting a number, registering it.

The primary sender is the tenant's choice (``PhoneNumber.primary_chosen``), kept by the
number's Meta id across a disconnect: while the chosen number cannot be the sender
(disconnected, not yet back), another connected number stands in, and the chosen one
is the sender again when it is connected again (:func:`primary_ensure`). A chosen
number that is connected but cannot send (a rejected name, a flag) stays the sender;
the account's page and the API say why and offer to switch.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Tenant, User
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant
from senders import tasks
from senders import troubleshooting as ts
from senders.models import ConnectionStatus, HistoryKind, PhoneNumber, PhoneNumberDetails
from senders.services import graph, notifications, rules, snapshots
from waba_portal.errors import Conflict
from waba_portal.graph import errors as ge


@transaction.atomic
def phone_number_set_primary(*, actor: Membership, phone: PhoneNumber) -> PhoneNumber:
    """Make this number the sender of all outbound messages unless another is chosen."""
    require_manager(actor, message=_("Only owners and admins can change WhatsApp settings."))
    if phone.connection_status != ConnectionStatus.CONNECTED:
        raise Conflict(_("Only a connected number can be the primary sender."))
    _primary_lock()
    phone.refresh_from_db(fields=["is_primary", "primary_chosen"])
    if phone.is_primary and phone.primary_chosen:
        return phone
    # A number standing in for a chosen one that is away becomes the choice itself.
    previous = PhoneNumber.objects.filter(is_primary=True).exclude(pk=phone.pk).first()
    if previous is not None:
        previous.is_primary = False
        previous.save(update_fields=["is_primary"])
    PhoneNumber.objects.filter(primary_chosen=True).exclude(pk=phone.pk).update(
        primary_chosen=False
    )
    sends_already = phone.is_primary
    phone.is_primary = phone.primary_chosen = True
    phone.save(update_fields=["is_primary", "primary_chosen"])
    if not sends_already:
        snapshots.history_record(
            waba=phone.waba,
            phone=phone,
            kind=HistoryKind.PRIMARY,
            old=previous or "",
            new=phone,
            source="user",
        )
    audit_record(
        actor=actor.user,
        action="phone_number.primary_set",
        target=phone,
        metadata={"previous": str(previous or "")},
    )
    return phone


def _primary_lock() -> None:
    """Changes of the primary sender run one at a time per tenant: two at once would
    each see the other's old state and break the one-primary constraint (a 500)."""
    list(Tenant.objects.select_for_update().filter(pk=require_tenant().pk).values("pk"))


def primary_lock() -> None:
    """Take the primary sender's lock first, before any number's row, in an action that
    changes the primary and locks numbers itself (removing the primary): the same order
    as :func:`phone_number_set_primary`, so the two cannot deadlock."""
    _primary_lock()


def _primary_needs_change() -> bool:
    """Whether :func:`primary_ensure` has anything to do (a cheap read before its lock)."""
    chosen = PhoneNumber.objects.filter(primary_chosen=True).first()
    if chosen is not None and chosen.connection_status == ConnectionStatus.CONNECTED:
        return not chosen.is_primary
    return not PhoneNumber.objects.filter(is_primary=True).exists()


@transaction.atomic
def primary_ensure(*, actor: User | None = None) -> PhoneNumber | None:
    """Make the tenant's chosen number the sender when it is connected; otherwise, if no
    number sends, let its first connected number stand in. Returns the new sender.

    A tenant that never chose takes its first sender as its choice; a stand-in is not
    a choice, so the chosen number takes over again when it is back.
    """
    if not _primary_needs_change():
        return None
    _primary_lock()
    chosen = PhoneNumber.objects.filter(primary_chosen=True).first()
    current = PhoneNumber.objects.filter(is_primary=True).first()
    candidate: PhoneNumber | None
    if chosen is not None and chosen.connection_status == ConnectionStatus.CONNECTED:
        candidate = None if chosen.is_primary else chosen
    elif current is None:
        candidate = (
            PhoneNumber.objects.filter(connection_status=ConnectionStatus.CONNECTED)
            .order_by("created_at")
            .first()
        )
    else:
        candidate = None  # the stand-in keeps sending until the chosen number is back
    if candidate is None:
        return None
    if current is not None:
        current.is_primary = False
        current.save(update_fields=["is_primary"])
    candidate.is_primary = True
    candidate.primary_chosen = candidate.primary_chosen or chosen is None
    candidate.save(update_fields=["is_primary", "primary_chosen"])
    snapshots.history_record(
        waba=candidate.waba,
        phone=candidate,
        kind=HistoryKind.PRIMARY,
        old=current or "",
        new=candidate,
        source="onboarding" if current is None and chosen is None else "sync",
    )
    return candidate


def phone_number_resubmit(*, actor: Membership, phone: PhoneNumber) -> None:
    """Register a number again, after its follow-up steps were done at Meta.

    Refused where registering cannot help (``rules.phone_resubmit_can_help``: a quality
    flag, a number held elsewhere), with the reason. What it did is read back from Meta
    and told to the managers when the task has run (:func:`phone_number_register`).
    """
    require_manager(actor, message=_("Only owners and admins can change WhatsApp settings."))
    if not phone.waba.is_connected or not phone.waba.access_token:
        raise Conflict(_("Connect the account again before resubmitting its numbers."))
    if phone.connection_status == ConnectionStatus.CONNECTED and not phone.problem:
        raise Conflict(_("This number is connected already."))
    if not rules.phone_resubmit_can_help(phone):
        if phone.problem:
            reason = str(ts.get(phone.problem).title)
        elif rules.phone_needs_verification(phone):
            reason = str(ts.get(ts.NUMBER_NOT_VERIFIED).title)
        else:
            reason = ts.send_block_message(rules.phone_send_block(phone))
        raise Conflict(_("Resubmitting cannot fix this: %(reason)s") % {"reason": reason})
    audit_record(actor=actor.user, action="phone_number.resubmitted", target=phone)
    tasks.phone_number_register_task.delay_on_commit(require_tenant().pk, phone.pk)


def phone_number_register(*, phone_pk: int) -> PhoneNumber:
    """Resubmit: register a number on Cloud API with its PIN, and say what that did.

    The number is read from Meta first, and only the steps not yet done are run: while
    Meta still reports its display name as rejected, or the number as not verified
    (a code only its owner can receive), registering cannot help (and Meta allows 10
    registrations in 72 hours), so it is not registered. Otherwise it is registered
    and read back. Either way the read is applied, and the managers are told what
    changed or what still blocks the number (``notifications.phone_resubmit_notify``).

    A transient error is raised for the task to retry; any other error is kept on
    the number as its problem, with the troubleshooting entry that fixes it.
    """
    phone = PhoneNumber.objects.select_related("waba").get(pk=phone_pk)
    before = phone.connection_status
    pin = phone_pin_ensure(phone)
    client = graph.graph_client(token=str(phone.waba.access_token or ""))
    data: dict[str, Any] | None = None
    stamp = snapshots.read_stamp(phone.event_clock)
    registered, problem, detail = False, "", ""
    try:
        data = client.phone_number_get(phone.phone_number_id)
        verification = str(data.get("code_verification_status") or "").upper()
        if verification in rules.UNVERIFIED_CODE_STATUSES:
            problem = ts.NUMBER_NOT_VERIFIED
        elif str(data.get("name_status") or "").upper() not in rules.REJECTED_NAME_STATUSES:
            client.register(phone.phone_number_id, pin)
            registered = True
            stamp = snapshots.read_stamp(phone.event_clock)
            data = client.phone_number_get(phone.phone_number_id)
    except (ge.GraphTransientError, ge.GraphOutcomeUnknown):
        raise
    except ge.GraphRateLimitError as exc:
        if not isinstance(exc, ge.RegistrationLimitError):
            raise
        problem, detail = ts.REGISTRATION_LIMIT, str(exc)
    except ge.GraphError as exc:
        problem, detail = ts.problem_for_graph_error(exc, step="register_number"), str(exc)
    finally:
        client.close()
    with transaction.atomic():
        phone = PhoneNumber.objects.select_for_update().select_related("waba").get(pk=phone_pk)
        if data is not None:
            phone, _changes = snapshots.phone_apply_snapshot(
                waba=phone.waba,
                data={**data, "id": phone.phone_number_id},
                source="user",
                stamp=stamp,
            )
        if problem:
            phone.problem, phone.problem_detail = problem, detail[:2000]
        elif registered:
            phone.problem, phone.problem_detail = "", ""
            phone.registered_at = timezone.now()
            PhoneNumberDetails.objects.update_or_create(
                phone_number=phone, defaults={"pin_set_at": phone.registered_at}
            )
        rules.phone_derive_state(phone)
        phone.save()
        primary_ensure()
        notifications.phone_resubmit_notify(phone=phone, before=before, registered=registered)
    return phone


def phone_number_register_give_up(*, phone_pk: int, message: str) -> None:
    """A resubmit whose retries ran out: the number shows "Meta did not answer" and its
    fix, and the managers are told so, rather than nothing after "resubmitting"."""
    phone = PhoneNumber.objects.select_related("waba").filter(pk=phone_pk).first()
    if phone is None:
        return
    before = phone.connection_status
    phone.problem, phone.problem_detail = ts.META_UNAVAILABLE, message[:2000]
    rules.phone_derive_state(phone)
    phone.save(update_fields=["problem", "problem_detail", "connection_status"])
    notifications.phone_resubmit_notify(phone=phone, before=before, registered=False)


def phone_pin_ensure(phone: PhoneNumber) -> str:
    """The number's registration PIN, generated and saved the first time it is needed.

    Registering is not idempotent: after a timeout Meta may have set the PIN already,
    so a retry must send the same one. Call this outside the transaction of the
    register call, so that the PIN is committed before the call is made. Two callers at
    once get the same PIN (the number's row is locked while it is made).
    """
    if phone.pin:
        return str(phone.pin)
    with transaction.atomic():
        locked = PhoneNumber.objects.select_for_update().get(pk=phone.pk)
        if not locked.pin:
            locked.pin = f"{secrets.randbelow(10**6):06d}"
            locked.save(update_fields=["pin"])
    phone.pin = locked.pin
    return str(phone.pin)
