"""A tenant's numbers: the primary sender, resubmitting a number, registering it."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Tenant, User
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant
from senders import tasks
from senders import troubleshooting as ts
from senders.models import ConnectionStatus, HistoryKind, PhoneNumber
from senders.services import graph, rules, snapshots
from waba_portal.errors import Conflict
from waba_portal.graph import errors as ge


@transaction.atomic
def phone_number_set_primary(*, actor: Membership, phone: PhoneNumber) -> PhoneNumber:
    """Make this number the sender of all outbound messages unless another is chosen."""
    require_manager(actor, message=_("Only owners and admins can change WhatsApp settings."))
    if phone.connection_status != ConnectionStatus.CONNECTED:
        raise Conflict(_("Only a connected number can be the primary sender."))
    _primary_lock()
    phone.refresh_from_db(fields=["is_primary"])
    if phone.is_primary:
        return phone
    previous = PhoneNumber.objects.filter(is_primary=True).first()
    if previous is not None:
        previous.is_primary = False
        previous.save(update_fields=["is_primary"])
    phone.is_primary = True
    phone.save(update_fields=["is_primary"])
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


@transaction.atomic
def primary_ensure(*, actor: User | None = None) -> PhoneNumber | None:
    """If the tenant has no primary sender, make its first connected number the primary."""
    _primary_lock()
    if PhoneNumber.objects.filter(is_primary=True).exists():
        return None
    candidate = (
        PhoneNumber.objects.filter(connection_status=ConnectionStatus.CONNECTED)
        .order_by("created_at")
        .first()
    )
    if candidate is None:
        return None
    candidate.is_primary = True
    candidate.save(update_fields=["is_primary"])
    snapshots.history_record(
        waba=candidate.waba,
        phone=candidate,
        kind=HistoryKind.PRIMARY,
        old="",
        new=candidate,
        source="onboarding",
    )
    return candidate


def phone_number_resubmit(*, actor: Membership, phone: PhoneNumber) -> None:
    """Register a pending number again, after its follow-up steps were done at Meta."""
    require_manager(actor, message=_("Only owners and admins can change WhatsApp settings."))
    if not phone.waba.is_connected or not phone.waba.access_token:
        raise Conflict(_("Connect the account again before resubmitting its numbers."))
    if phone.connection_status == ConnectionStatus.CONNECTED and not phone.problem:
        raise Conflict(_("This number is connected already."))
    audit_record(actor=actor.user, action="phone_number.resubmitted", target=phone)
    tasks.phone_number_register_task.delay_on_commit(require_tenant().pk, phone.pk)


def phone_number_register(*, phone_pk: int) -> PhoneNumber:
    """Register a number on Cloud API with its PIN, then read it back from Meta.

    A transient error is raised for the task to retry; any other error is kept on
    the number as its problem, with the troubleshooting entry that fixes it.
    """
    phone = PhoneNumber.objects.select_related("waba").get(pk=phone_pk)
    client = graph.graph_client(token=str(phone.waba.access_token or ""))
    pin = phone_pin_ensure(phone)
    try:
        client.register(phone.phone_number_id, pin)
        data = client.phone_number_get(phone.phone_number_id)
    except (ge.GraphTransientError, ge.GraphOutcomeUnknown):
        raise
    except ge.GraphRateLimitError as exc:
        if not isinstance(exc, ge.RegistrationLimitError):
            raise
        phone.problem, phone.problem_detail = ts.REGISTRATION_LIMIT, str(exc)[:2000]
    except ge.GraphError as exc:
        phone.problem = ts.problem_for_graph_error(exc, step="register_number")
        phone.problem_detail = str(exc)[:2000]
    else:
        phone, _changes = snapshots.phone_apply_snapshot(waba=phone.waba, data=data, source="user")
        phone.problem, phone.problem_detail = "", ""
        phone.registered_at = timezone.now()
    rules.phone_derive_state(phone)
    phone.save()
    return phone


def phone_number_register_give_up(*, phone_pk: int, message: str) -> None:
    """A resubmit whose retries ran out: the number shows "Meta did not answer" and its
    fix, rather than the "was resubmitted" the user was told and nothing after it."""
    phone = PhoneNumber.objects.filter(pk=phone_pk).first()
    if phone is None:
        return
    phone.problem, phone.problem_detail = ts.META_UNAVAILABLE, message[:2000]
    rules.phone_derive_state(phone)
    phone.save(update_fields=["problem", "problem_detail", "connection_status"])


def phone_pin_ensure(phone: PhoneNumber) -> str:
    """The number's registration PIN, generated and saved the first time it is needed.

    Registering is not idempotent: after a timeout Meta may have set the PIN already,
    so a retry must send the same one. Call this outside the transaction of the
    register call, so that the PIN is committed before the call is made.
    """
    if not phone.pin:
        phone.pin = f"{secrets.randbelow(10**6):06d}"
        phone.save(update_fields=["pin"])
    return str(phone.pin)
