"""Actions of users on a connected WABA: disconnect it, sync it now."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant
from senders import tasks
from senders.models import ConnectionStatus, HistoryKind, MetaAssetKind, Onboarding, WhatsAppAccount
from senders.services import assets, graph, phone_numbers, snapshots
from waba_portal import crypto
from waba_portal.errors import Conflict


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
