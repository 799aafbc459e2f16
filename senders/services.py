"""Keeping a tenant's WABAs and numbers true: snapshots from Meta, history, actions.

Every change of a field users care about (status, quality, display name, limit,
review, verification, restrictions, bans) is written as :class:`AccountHistory`, and
a change for the worse notifies the tenant's owners and admins.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import AccountsError, NotAllowed
from accounts.models import Membership, NotificationLevel, Tenant, User
from accounts.services import audit_record, notify_managers
from accounts.tenancy import require_tenant
from senders import troubleshooting as ts
from senders.models import (
    AccountHistory,
    ConnectionStatus,
    HistoryKind,
    MessagingLimit,
    MetaAsset,
    MetaAssetKind,
    Onboarding,
    PhoneNumber,
    WhatsAppAccount,
)
from senders.selectors import meta_asset_owner
from waba_portal import crypto
from waba_portal.graph.client import GraphClient

WABA_FIELDS = (
    "id,name,currency,timezone_id,country,ownership_type,account_review_status,"
    "business_verification_status,status,health_status,"
    "whatsapp_business_manager_messaging_limit,messaging_limit_tier,owner_business_info"
)
PHONE_FIELDS = (
    "id,display_phone_number,verified_name,status,quality_rating,name_status,"
    "code_verification_status,platform_type,throughput,is_official_business_account,"
    "whatsapp_business_manager_messaging_limit,messaging_limit_tier"
)
TRIAL_DAYS = 30
QUALITY_RANK = {"GREEN": 3, "YELLOW": 2, "RED": 1}
BAD_PHONE_STATUSES = {"FLAGGED", "RESTRICTED", "BANNED", "RATE_LIMITED", "DISCONNECTED"}


def graph_client(*, token: str | None = None) -> GraphClient:
    """The Graph client as configured in settings, with this token."""
    return GraphClient.from_settings(token=token or "")


class AssetTaken(Exception):
    """A WABA or number is held by another tenant."""


def meta_asset_claim(*, kind: str, meta_id: str, waba_id: str = "") -> MetaAsset:
    """Claim a Meta id for the current tenant; raises AssetTaken if another holds it."""
    existing = MetaAsset.objects.filter(kind=kind, meta_id=meta_id).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return MetaAsset.objects.create(kind=kind, meta_id=meta_id, waba_id=waba_id)
    except IntegrityError as exc:
        owner = meta_asset_owner(kind=kind, meta_id=meta_id)
        if owner is not None and owner != require_tenant().pk:
            raise AssetTaken(meta_id) from exc
        return MetaAsset.objects.get(kind=kind, meta_id=meta_id)


# --- History and snapshots ---------------------------------------------------------------


def history_record(
    *,
    waba: WhatsAppAccount,
    kind: str,
    old: Any,
    new: Any,
    source: str,
    phone: PhoneNumber | None = None,
    detail: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AccountHistory:
    return AccountHistory.objects.create(
        waba=waba,
        phone_number=phone,
        kind=kind,
        old_value=str(old or "")[:255],
        new_value=str(new or "")[:255],
        source=source,
        detail=detail or {},
        occurred_at=occurred_at or timezone.now(),
    )


def _limit_from(data: dict[str, Any]) -> str:
    value = data.get("whatsapp_business_manager_messaging_limit") or data.get(
        "messaging_limit_tier"
    )
    if isinstance(value, dict):  # some responses wrap it: {"current_limit": ...}
        value = value.get("current_limit") or value.get("value")
    return str(value or "")


def _health(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    health = data.get("health_status")
    if not isinstance(health, dict):
        return "", {}
    return str(health.get("can_send_message") or ""), health


def waba_apply_snapshot(
    *, waba: WhatsAppAccount, data: dict[str, Any], source: str
) -> list[AccountHistory]:
    """Update a WABA from Meta's answer; record and return the changes that matter."""
    changes: list[AccountHistory] = []
    tracked = [
        (HistoryKind.STATUS, "meta_status", str(data.get("status") or waba.meta_status)),
        (
            HistoryKind.REVIEW,
            "account_review_status",
            str(data.get("account_review_status") or waba.account_review_status),
        ),
        (
            HistoryKind.VERIFICATION,
            "business_verification_status",
            str(
                data.get("business_verification_status") or waba.business_verification_status
            ).lower(),
        ),
        (HistoryKind.LIMIT, "messaging_limit", _limit_from(data) or waba.messaging_limit),
    ]
    for kind, attr, new in tracked:
        old = getattr(waba, attr)
        if new != old:
            if old or source != "onboarding":
                changes.append(
                    history_record(waba=waba, kind=kind, old=old, new=new, source=source)
                )
            setattr(waba, attr, new)
    waba.name = str(data.get("name") or waba.name)
    waba.currency = str(data.get("currency") or waba.currency)
    waba.timezone_id = str(data.get("timezone_id") or waba.timezone_id)
    waba.country = str(data.get("country") or waba.country)
    waba.ownership_type = str(data.get("ownership_type") or waba.ownership_type)
    owner = data.get("owner_business_info")
    if isinstance(owner, dict) and owner.get("id"):
        waba.business_id = str(owner["id"])
    can_send, health = _health(data)
    if health:
        waba.can_send_message, waba.health = can_send, health
    if waba.business_verification_status == "verified":
        waba.unverified_since = None
    elif waba.unverified_since is None:
        waba.unverified_since = timezone.now()
    waba_derive_state(waba)
    waba.save()
    notify_for_changes(waba=waba, changes=changes)
    return changes


def phone_apply_snapshot(
    *, waba: WhatsAppAccount, data: dict[str, Any], source: str
) -> tuple[PhoneNumber, list[AccountHistory]]:
    """Create or update a number from Meta's answer; record the changes that matter."""
    phone_id = str(data["id"])
    phone, created = PhoneNumber.objects.get_or_create(
        phone_number_id=phone_id, defaults={"waba": waba}
    )
    phone.waba = waba
    changes: list[AccountHistory] = []
    throughput = data.get("throughput")
    tracked = [
        (HistoryKind.STATUS, "meta_status", str(data.get("status") or phone.meta_status)),
        (
            HistoryKind.QUALITY,
            "quality_rating",
            str(data.get("quality_rating") or phone.quality_rating),
        ),
        (HistoryKind.NAME, "name_status", str(data.get("name_status") or phone.name_status)),
        (HistoryKind.LIMIT, "messaging_limit", _limit_from(data) or phone.messaging_limit),
    ]
    for kind, attr, new in tracked:
        old = getattr(phone, attr)
        if new != old:
            if not created:
                changes.append(
                    history_record(
                        waba=waba, phone=phone, kind=kind, old=old, new=new, source=source
                    )
                )
            setattr(phone, attr, new)
    phone.display_phone_number = str(data.get("display_phone_number") or phone.display_phone_number)
    phone.verified_name = str(data.get("verified_name") or phone.verified_name)
    phone.code_verification_status = str(
        data.get("code_verification_status") or phone.code_verification_status
    )
    phone.platform_type = str(data.get("platform_type") or phone.platform_type)
    if isinstance(throughput, dict):
        phone.throughput_level = str(throughput.get("level") or "")
    phone.is_official_business_account = bool(
        data.get("is_official_business_account", phone.is_official_business_account)
    )
    phone_derive_state(phone)
    phone.save()
    notify_for_changes(waba=waba, changes=changes)
    return phone, changes


def waba_derive_state(waba: WhatsAppAccount) -> None:
    """Connection status and problem of a WABA from what Meta last said about it."""
    if waba.connection_status in (ConnectionStatus.DISCONNECTED, ConnectionStatus.REGISTERING):
        return
    if waba.problem in (ts.TOKEN_INVALID, ts.DISCONNECTED_BY_META):
        waba.connection_status = ConnectionStatus.ACTION_REQUIRED
        return
    health_codes = {
        int(err.get("error_code") or 0)
        for entity in waba.health.get("entities", [])
        if isinstance(entity, dict)
        for err in entity.get("errors", []) or []
        if isinstance(err, dict)
    }
    status, problem = ConnectionStatus.CONNECTED, ""
    if (
        waba.ban_state == "DISABLE"
        or waba.meta_status.upper() in ("DISABLED", "BANNED")
        or (141014 in health_codes)
    ):
        status, problem = ConnectionStatus.DISABLED, ts.WABA_DISABLED
    elif waba.unverified_since and timezone.now() - waba.unverified_since > timedelta(
        days=TRIAL_DAYS
    ):
        status, problem = ConnectionStatus.ACTION_REQUIRED, ts.UNVERIFIED_TRIAL_ENDED
    elif 141006 in health_codes:
        status, problem = ConnectionStatus.ACTION_REQUIRED, ts.CREDIT_LINE
    elif waba.restrictions:
        status, problem = ConnectionStatus.RESTRICTED, ts.ACCOUNT_RESTRICTED
    elif waba.can_send_message == "BLOCKED":
        status, problem = ConnectionStatus.ACTION_REQUIRED, ts.UNEXPECTED
    waba.connection_status, waba.problem = status, problem


# Problems of registering a number, or of its name, that Meta's CONNECTED settles.
_SOLVED_WHEN_CONNECTED = frozenset(
    {"", ts.DISPLAY_NAME_REJECTED, ts.TWO_STEP_VERIFICATION, ts.REGISTRATION_LIMIT}
)


def phone_derive_state(phone: PhoneNumber) -> None:
    if phone.connection_status == ConnectionStatus.DISCONNECTED:
        return
    if phone.name_status == "DECLINED":
        phone.connection_status, phone.problem = (
            ConnectionStatus.ACTION_REQUIRED,
            ts.DISPLAY_NAME_REJECTED,
        )
    elif phone.problem == ts.ANOTHER_PROVIDER:
        # Connected at Meta maybe, but its webhooks go to the workspace holding it.
        phone.connection_status = ConnectionStatus.ACTION_REQUIRED
    elif phone.meta_status == "CONNECTED":
        phone.connection_status = ConnectionStatus.CONNECTED
        if phone.problem in _SOLVED_WHEN_CONNECTED:
            phone.problem = ""
    elif phone.meta_status in BAD_PHONE_STATUSES:
        phone.connection_status = ConnectionStatus.RESTRICTED
    elif phone.problem:
        phone.connection_status = ConnectionStatus.ACTION_REQUIRED
    else:
        phone.connection_status = ConnectionStatus.PENDING


def is_change_for_the_worse(change: AccountHistory) -> bool:
    old, new = change.old_value, change.new_value
    if change.kind == HistoryKind.QUALITY:
        return QUALITY_RANK.get(new, 0) < QUALITY_RANK.get(old, 0) and new in QUALITY_RANK
    if change.kind == HistoryKind.LIMIT:
        return MessagingLimit.rank(new) < MessagingLimit.rank(old) and old != ""
    if change.kind == HistoryKind.STATUS:
        return new.upper() in BAD_PHONE_STATUSES | {"DISABLED", "BANNED"}
    if change.kind in (HistoryKind.RESTRICTION, HistoryKind.BAN, HistoryKind.VIOLATION):
        return new not in ("", "REINSTATE", "lifted")
    if change.kind == HistoryKind.NAME:
        return new in ("DECLINED", "REJECTED")
    if change.kind == HistoryKind.REVIEW:
        return new.upper() in ("REJECTED", "RESTRICTED")
    return False


def notify_for_changes(*, waba: WhatsAppAccount, changes: list[AccountHistory]) -> None:
    """Tell owners and admins about changes for the worse: downgrades, flags, bans."""
    worse = [c for c in changes if is_change_for_the_worse(c)]
    if not worse:
        return
    tenant = require_tenant()
    url = reverse("senders:waba_detail", kwargs={"tenant_slug": tenant.slug, "waba_id": waba.pk})
    for change in worse:

        def title(change: AccountHistory = change) -> str:
            return _("%(what)s of %(subject)s changed: %(old)s → %(new)s") % {
                "what": HistoryKind(change.kind).label,
                "subject": change.phone_number or waba,
                "old": change.old_value or "—",
                "new": change.new_value or "—",
            }

        def body() -> str:
            return str(ts.get(waba.problem).title) if waba.problem else ""

        notify_managers(title=title, body=body, url=url, level=NotificationLevel.WARNING)


def account_event_is_new(
    obj: WhatsAppAccount | PhoneNumber, aspect: str, when: datetime | None
) -> bool:
    """Order tolerance for webhooks: apply an event only if it is not older than the last one."""
    if when is None:
        return True
    stamp = when.timestamp()
    last = obj.event_clock.get(aspect)
    if last is not None and stamp < float(last):
        return False
    obj.event_clock[aspect] = stamp
    return True


# --- Actions by users ------------------------------------------------------------------


def _require_manager(actor: Membership) -> None:
    if not actor.can_manage:
        raise NotAllowed(_("Only owners and admins can change WhatsApp settings."))


@transaction.atomic
def phone_number_set_primary(*, actor: Membership, phone: PhoneNumber) -> PhoneNumber:
    """Make this number the sender of all outbound messages unless another is chosen."""
    _require_manager(actor)
    if phone.connection_status != ConnectionStatus.CONNECTED:
        raise AccountsError(_("Only a connected number can be the primary sender."))
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
    history_record(
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
    history_record(
        waba=candidate.waba,
        phone=candidate,
        kind=HistoryKind.PRIMARY,
        old="",
        new=candidate,
        source="onboarding",
    )
    return candidate


@transaction.atomic
def waba_disconnect(*, actor: Membership, waba: WhatsAppAccount) -> WhatsAppAccount:
    """Disconnect a WABA: stop webhooks, discard the token, release its ids; keep history."""
    _require_manager(actor)
    token = waba.access_token
    waba_id = waba.waba_id
    waba.access_token = None
    waba.subscribed = False
    waba.connection_status = ConnectionStatus.DISCONNECTED
    waba.problem = ""
    waba.disconnected_at = timezone.now()
    waba.save()
    numbers = list(waba.phone_numbers.all())
    for phone in numbers:
        phone.connection_status = ConnectionStatus.DISCONNECTED
        phone.is_primary = False
        phone.save(update_fields=["connection_status", "is_primary"])
    MetaAsset.objects.filter(kind=MetaAssetKind.WABA, meta_id=waba_id).delete()
    MetaAsset.objects.filter(
        kind=MetaAssetKind.PHONE_NUMBER, meta_id__in=[p.phone_number_id for p in numbers]
    ).delete()
    # Onboardings of this account (failed ones too) keep no token or code either.
    Onboarding.objects.filter(waba_id=waba_id).update(access_token=None, code=None)
    history_record(
        waba=waba, kind=HistoryKind.CONNECTION, old="connected", new="disconnected", source="user"
    )
    audit_record(
        actor=actor.user, action="waba.disconnected", target=waba, metadata={"waba_id": waba_id}
    )
    primary_ensure()
    if token:
        from senders.tasks import waba_unsubscribe_task
        from waba_portal.tasks import enqueue_on_commit

        # Meta is told after commit; our side is disconnected whatever it answers. The
        # token travels through the broker encrypted, like it is kept in the database.
        enqueue_on_commit(
            waba_unsubscribe_task, require_tenant().pk, waba_id, crypto.encrypt(str(token))
        )
    return waba


def waba_unsubscribe(*, waba_id: str, encrypted_token: str) -> None:
    """Unsubscribe our app from a WABA's webhooks (after a disconnect)."""
    graph_client(token=crypto.decrypt(encrypted_token)).subscribed_apps_unsubscribe(waba_id)


def waba_sync_request(*, actor: Membership, waba: WhatsAppAccount) -> None:
    """Queue a sync of this WABA now ("Sync now")."""
    _require_manager(actor)
    if not waba.is_connected or not waba.access_token:
        raise AccountsError(_("Only a connected account can be synced; connect it again first."))
    from senders.tasks import sync_waba_task
    from waba_portal.tasks import enqueue_on_commit

    audit_record(actor=actor.user, action="waba.sync_requested", target=waba)
    enqueue_on_commit(sync_waba_task, require_tenant().pk, waba.pk)


def phone_number_resubmit(*, actor: Membership, phone: PhoneNumber) -> None:
    """Register a pending number again, after its follow-up steps were done at Meta."""
    _require_manager(actor)
    if not phone.waba.is_connected or not phone.waba.access_token:
        raise AccountsError(_("Connect the account again before resubmitting its numbers."))
    if phone.connection_status == ConnectionStatus.CONNECTED and not phone.problem:
        raise AccountsError(_("This number is connected already."))
    from senders.tasks import phone_number_register_task
    from waba_portal.tasks import enqueue_on_commit

    audit_record(actor=actor.user, action="phone_number.resubmitted", target=phone)
    enqueue_on_commit(phone_number_register_task, require_tenant().pk, phone.pk)


def phone_number_register(*, phone_pk: int) -> PhoneNumber:
    """Register a number on Cloud API with its PIN, then read it back from Meta.

    A transient error is raised for the task to retry; any other error is kept on
    the number as its problem, with the troubleshooting entry that fixes it.
    """
    from waba_portal.graph import errors as ge

    phone = PhoneNumber.objects.select_related("waba").get(pk=phone_pk)
    client = graph_client(token=str(phone.waba.access_token or ""))
    pin = phone_pin_ensure(phone)
    try:
        client.register(phone.phone_number_id, pin)
        data = client.phone_number_get(phone.phone_number_id, fields=PHONE_FIELDS)
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
        phone, _changes = phone_apply_snapshot(waba=phone.waba, data=data, source="user")
        phone.problem, phone.problem_detail = "", ""
        phone.registered_at = timezone.now()
    phone_derive_state(phone)
    phone.save()
    return phone


def phone_number_register_give_up(*, phone_pk: int, message: str) -> None:
    """A resubmit whose retries ran out: the number shows "Meta did not answer" and its
    fix, rather than the "was resubmitted" the user was told and nothing after it."""
    phone = PhoneNumber.objects.filter(pk=phone_pk).first()
    if phone is None:
        return
    phone.problem, phone.problem_detail = ts.META_UNAVAILABLE, message[:2000]
    phone_derive_state(phone)
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
