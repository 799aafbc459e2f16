"""Actions of users on a connected WABA: disconnect it, sync it now, connect it again."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant
from senders import tasks
from senders import troubleshooting as ts
from senders.models import (
    ConnectionStatus,
    HistoryKind,
    MetaAssetKind,
    Onboarding,
    OnboardingStatus,
    WhatsAppAccount,
)
from senders.services import assets, graph, phone_numbers, snapshots
from senders.services import onboarding as onboarding_services
from waba_portal import crypto
from waba_portal.errors import Conflict, Invalid


@transaction.atomic
def waba_disconnect(*, actor: Membership, waba: WhatsAppAccount) -> WhatsAppAccount:
    """Disconnect a WABA: stop webhooks, discard the token, release its ids; keep history."""
    require_manager(actor, message=_("Only owners and admins can change WhatsApp settings."))
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
    assets.meta_assets_release(kind=MetaAssetKind.WABA, meta_ids=[waba_id])
    assets.meta_assets_release(
        kind=MetaAssetKind.PHONE_NUMBER, meta_ids=[p.phone_number_id for p in numbers]
    )
    # Onboardings of this account (failed ones too) keep no token or code either.
    Onboarding.objects.filter(waba_id=waba_id).update(access_token=None, code=None)
    snapshots.history_record(
        waba=waba, kind=HistoryKind.CONNECTION, old="connected", new="disconnected", source="user"
    )
    audit_record(
        actor=actor.user, action="waba.disconnected", target=waba, metadata={"waba_id": waba_id}
    )
    phone_numbers.primary_ensure()
    if token:
        # Meta is told after commit; our side is disconnected whatever it answers. The
        # token travels through the broker encrypted, like it is kept in the database.
        tasks.waba_unsubscribe_task.delay_on_commit(
            require_tenant().pk, waba_id, crypto.encrypt(str(token))
        )
    return waba


def waba_unsubscribe(*, waba_id: str, encrypted_token: str) -> None:
    """Unsubscribe our app from the webhooks of WABA ``waba_id`` (Meta's id), after a disconnect."""
    graph.graph_client(token=crypto.decrypt(encrypted_token)).subscribed_apps_unsubscribe(waba_id)


def waba_sync_request(*, actor: Membership, waba: WhatsAppAccount) -> None:
    """Queue a sync of this WABA now ("Sync now")."""
    require_manager(actor, message=_("Only owners and admins can change WhatsApp settings."))
    if not waba.is_connected or not waba.access_token:
        raise Conflict(_("Only a connected account can be synced; connect it again first."))
    audit_record(actor=actor.user, action="waba.sync_requested", target=waba)
    tasks.sync_waba_task.delay_on_commit(require_tenant().pk, waba.pk)


# --- Connecting an account again (REST API: wabas/<id>/reconnect/) --------------------


def waba_reconnect_needed(waba: WhatsAppAccount) -> bool:
    """Whether the account must go through Embedded Signup again to send: it was
    disconnected, its connection never finished, or Meta refused our access to it."""
    return (
        waba.connection_status != ConnectionStatus.CONNECTED
        or not waba.access_token
        or bool(waba.problem)
    )


def waba_reconnect(
    *, actor: Membership, waba: WhatsAppAccount, code: str, session: dict[str, Any]
) -> Onboarding:
    """Connect ``waba`` again with the result of Embedded Signup for that same account.

    The same onboarding as a first connection (``onboarding.onboarding_start``) runs on
    the same records, so history and settings stay. Meta's window lets the person pick
    another account: a session that names one is refused before anything is kept, and a
    session that names none is held to this one (``confirm_waba`` then checks that the
    signup granted it). A failed or cancelled signup is recorded as a failed onboarding,
    as on the page.
    """
    require_manager(actor, message=_("Only owners and admins can connect WhatsApp."))
    if not waba_reconnect_needed(waba):
        raise Conflict(
            _("%(account)s is connected and working: there is nothing to reconnect.")
            % {"account": waba},
            code="waba_connected",
        )
    running = Onboarding.objects.filter(
        waba_id=waba.waba_id, status__in=[OnboardingStatus.QUEUED, OnboardingStatus.RUNNING]
    ).first()
    if running is not None:
        raise Conflict(
            _("A connection of %(account)s is already under way: follow that one.")
            % {"account": waba},
            code="onboarding_running",
            details={"onboarding": running.pk},
        )
    event = str(session.get("event") or "")
    raw = session.get("data")
    data: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    if event in onboarding_services.FINISH_EVENTS:
        chosen = str(data.get("waba_id") or "")
        if chosen and chosen != waba.waba_id:
            raise Invalid(
                _(
                    "WhatsApp Business Account %(chosen)s was chosen in Meta's window; "
                    "choose %(account)s (WABA id %(waba_id)s) to connect it again."
                )
                % {"chosen": chosen, "account": waba, "waba_id": waba.waba_id},
                field="session",
                code=ts.SIGNUP_OTHER_WABA,
                details={"chosen_waba_id": chosen, "waba_id": waba.waba_id},
            )
        data["waba_id"] = waba.waba_id
    return onboarding_services.onboarding_start(
        actor=actor, code=code, session={**session, "data": data}
    )
