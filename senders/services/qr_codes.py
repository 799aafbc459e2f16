"""QR codes and message links of a number: made, edited and deleted at Meta, drawn here.

Meta keeps the codes (``/{phone-number-id}/message_qrdls``): each has a 14-character
code, a prefilled message of at most 140 characters that the customer's chat starts
with, and a ``https://wa.me/message/<code>`` link. Every change is made at Meta first
and kept here (:class:`~senders.models.QrCode`) only once Meta took it; a code Meta
no longer has is removed here too. :func:`qr_codes_sync` reads Meta's list, for codes
made or deleted in WhatsApp Manager.

The image is drawn by the server from the link with segno (:func:`qr_image`), as SVG
and PNG, never fetched from Meta's image host or any other: Meta's ``qr_image_url`` is
not asked for.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from typing import Any

import segno
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership
from accounts.permissions import require_manager
from accounts.services import audit
from senders.models import ConnectionStatus, PhoneNumber, QrCode
from senders.services import graph, meta_refusals
from waba_portal.errors import Conflict, Invalid
from waba_portal.graph import errors as ge

logger = logging.getLogger(__name__)

PREFILLED_MESSAGE_MAX = 140  # Meta's limit (CreateQrCodeRequest.prefilled_message)
CODE_RE = re.compile(r"^[A-Z2-7]{14}$")
DEEP_LINK_PREFIX = "https://wa.me/"
# Codes read from Meta in one sync at most (25 a page).
SYNC_MAX = 1000
# PNG images: pixels per QR module, and the quiet zone (modules) around the code.
PNG_SCALE = 10
BORDER = 4

AUDIT_LABELS = {
    "qr_code.created": gettext_lazy("%(actor)s made the QR code %(code)s for %(number)s"),
    "qr_code.updated": gettext_lazy(
        "%(actor)s changed the message of the QR code %(code)s of %(number)s"
    ),
    "qr_code.deleted": gettext_lazy("%(actor)s deleted the QR code %(code)s of %(number)s"),
    "qr_code.synced": gettext_lazy(
        "%(actor)s read the QR codes of %(target)s from Meta (%(added)s new, %(removed)s gone)"
    ),
}
audit.audit_labels_register(AUDIT_LABELS)


def prefilled_message_check(text: Any) -> str:
    """The message as Meta takes it (trimmed), or ``Invalid`` on ``prefilled_message``."""
    message = text.strip() if isinstance(text, str) else ""
    if not message:
        raise Invalid(
            _(
                "Enter the message the customer's chat starts with, such as “Hello, I'd "
                "like to order”."
            ),
            field="prefilled_message",
        )
    if len(message) > PREFILLED_MESSAGE_MAX:
        raise Invalid(
            _(
                "Shorten the message to at most %(max)d characters (it has %(length)d): Meta "
                "takes no longer prefilled messages."
            )
            % {"max": PREFILLED_MESSAGE_MAX, "length": len(message)},
            field="prefilled_message",
        )
    if any(ord(ch) < 32 and ch not in "\n" for ch in message):
        raise Invalid(_("Remove the tabs and control characters."), field="prefilled_message")
    return message


def _client_for(phone: PhoneNumber) -> Any:
    waba = phone.waba
    if not waba.is_connected or not waba.access_token:
        raise Conflict(_("Connect the account again before you change its QR codes."))
    if phone.connection_status == ConnectionStatus.DISCONNECTED:
        raise Conflict(_("This number is no longer in the account; its QR codes cannot change."))
    return graph.graph_client(token=str(waba.access_token))


def _code_and_link(answer: dict[str, Any]) -> tuple[str, str]:
    code = str(answer.get("code") or "")
    link = str(answer.get("deep_link_url") or "")
    if not CODE_RE.match(code) or not link.startswith(DEEP_LINK_PREFIX):
        raise Conflict(
            _("Meta's answer had no usable QR code. Try again; if it happens again, contact us.")
        )
    return code, link


def _audit(actor: Membership, action: str, qr: QrCode) -> None:
    audit.audit_record(
        actor=actor.user,
        action=action,
        target=qr,
        metadata={"code": qr.code, "number": str(qr.phone_number)},
    )


def qr_code_create(*, actor: Membership, phone: PhoneNumber, prefilled_message: Any) -> QrCode:
    """Make a QR code and message link at Meta and keep it here."""
    require_manager(actor, message=_("Only owners and admins can make QR codes."))
    message = prefilled_message_check(prefilled_message)
    client = _client_for(phone)
    try:
        answer = client.qr_code_create(phone.phone_number_id, message, generate_qr_image=None)
    except ge.GraphError as exc:
        raise meta_refusals.refusal_for(exc, field="prefilled_message") from exc
    finally:
        client.close()
    code, link = _code_and_link(answer)
    with transaction.atomic():
        qr, _created = QrCode.objects.update_or_create(
            code=code,
            defaults={
                "phone_number": phone,
                "prefilled_message": str(answer.get("prefilled_message") or message),
                "deep_link_url": link,
                "created_by": actor.user,
            },
        )
        _audit(actor, "qr_code.created", qr)
    return qr


def qr_code_update(*, actor: Membership, qr: QrCode, prefilled_message: Any) -> QrCode:
    """Change the prefilled message of a code (its link and image stay the same)."""
    require_manager(actor, message=_("Only owners and admins can change QR codes."))
    message = prefilled_message_check(prefilled_message)
    if message == qr.prefilled_message:
        return qr
    phone = qr.phone_number
    client = _client_for(phone)
    try:
        answer = client.qr_code_update(phone.phone_number_id, qr.code, message)
    except ge.GraphNotFoundError as exc:
        _gone(qr)
        raise Conflict(
            _(
                "Meta no longer has this QR code (it was deleted in WhatsApp Manager), so it "
                "is removed here too. Make a new one."
            ),
            code="qr_code_gone",
        ) from exc
    except ge.GraphError as exc:
        raise meta_refusals.refusal_for(exc, field="prefilled_message") from exc
    finally:
        client.close()
    with transaction.atomic():
        qr = QrCode.objects.select_for_update().select_related("phone_number").get(pk=qr.pk)
        qr.prefilled_message = str(answer.get("prefilled_message") or message)
        link = str(answer.get("deep_link_url") or "")
        if link.startswith(DEEP_LINK_PREFIX):
            qr.deep_link_url = link
        qr.save(update_fields=["prefilled_message", "deep_link_url", "updated_at"])
        _audit(actor, "qr_code.updated", qr)
    return qr


def qr_code_delete(*, actor: Membership, qr: QrCode) -> None:
    """Delete the code at Meta (its link stops working) and here."""
    require_manager(actor, message=_("Only owners and admins can delete QR codes."))
    phone = qr.phone_number
    client = _client_for(phone)
    try:
        client.qr_code_delete(phone.phone_number_id, qr.code)
    except ge.GraphNotFoundError:
        logger.info("QR code %s was gone at Meta already", qr.code)
    except ge.GraphError as exc:
        raise meta_refusals.refusal_for(exc) from exc
    finally:
        client.close()
    with transaction.atomic():
        _audit(actor, "qr_code.deleted", qr)
        QrCode.objects.filter(pk=qr.pk).delete()


def _gone(qr: QrCode) -> None:
    QrCode.objects.filter(pk=qr.pk).delete()


@dataclass(frozen=True)
class SyncResult:
    added: int
    updated: int
    removed: int


def qr_codes_sync(*, actor: Membership, phone: PhoneNumber) -> SyncResult:
    """Make our list of the number's codes what Meta has (codes made or deleted in
    WhatsApp Manager)."""
    require_manager(actor, message=_("Only owners and admins can read QR codes from Meta."))
    client = _client_for(phone)
    items: list[dict[str, Any]] = []
    try:
        for item in client.qr_codes_list(phone.phone_number_id):
            items.append(item)
            if len(items) >= SYNC_MAX:
                break
    except ge.GraphError as exc:
        raise meta_refusals.refusal_for(exc) from exc
    finally:
        client.close()
    at_meta: dict[str, tuple[str, str]] = {}
    for item in items:
        try:
            code, link = _code_and_link(item)
        except Conflict:
            continue
        at_meta[code] = (str(item.get("prefilled_message") or ""), link)
    added = updated = 0
    with transaction.atomic():
        ours = {q.code: q for q in QrCode.objects.select_for_update().filter(phone_number=phone)}
        for code, (message, link) in at_meta.items():
            qr = ours.get(code)
            if qr is None:
                QrCode.objects.create(
                    phone_number=phone,
                    code=code,
                    prefilled_message=message[:PREFILLED_MESSAGE_MAX],
                    deep_link_url=link,
                )
                added += 1
            elif (qr.prefilled_message, qr.deep_link_url) != (message, link):
                qr.prefilled_message, qr.deep_link_url = message[:PREFILLED_MESSAGE_MAX], link
                qr.save(update_fields=["prefilled_message", "deep_link_url", "updated_at"])
                updated += 1
        gone = [q.pk for code, q in ours.items() if code not in at_meta]
        QrCode.objects.filter(pk__in=gone).delete()
        result = SyncResult(added=added, updated=updated, removed=len(gone))
        audit.audit_record(
            actor=actor.user,
            action="qr_code.synced",
            target=phone,
            metadata={"added": added, "updated": updated, "removed": len(gone)},
        )
    return result


# --- The image --------------------------------------------------------------------------

IMAGE_FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


def qr_image(qr: QrCode, *, image_format: str) -> bytes:
    """The code's image, drawn from its link: ``svg`` (scales to any size) or ``png``."""
    symbol = segno.make(qr.deep_link_url, error="m", micro=False)
    out = io.BytesIO()
    if image_format == "svg":
        symbol.save(
            out,
            kind="svg",
            scale=PNG_SCALE,
            border=BORDER,
            xmldecl=True,
            svgclass=None,
            lineclass=None,
        )
    elif image_format == "png":
        symbol.save(out, kind="png", scale=PNG_SCALE, border=BORDER)
    else:
        raise Invalid(_("Choose the image format SVG or PNG."), field="format")
    return out.getvalue()


def qr_image_filename(qr: QrCode, *, image_format: str) -> str:
    digits = "".join(ch for ch in qr.phone_number.display_phone_number if ch.isdigit())
    return f"whatsapp-qr-{digits or 'number'}-{qr.code}.{image_format}"
