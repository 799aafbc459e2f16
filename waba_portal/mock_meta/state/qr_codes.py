"""QR codes and short links that open a chat with a number (``/message_qrdls``).

As the spec has them (``listAllQrCodes``, ``createQrCode``, ``getIndividualQrCode``,
``deleteIndividualQrCode``): a code is 14 characters of ``[A-Z2-7]``, the prefilled
message at most 140 characters, the list newest first with cursor paging (at most 25 a
page), one code in the list's ``data`` wrapper (NOTES §10), an unknown code 803 "QR code
not found" (HTTP 404), a malformed one code 100. ``fields`` may ask for
``qr_image_url.format(SVG|PNG)`` and ``creation_time``; an unknown field is code 100.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from ..errors import GRAPH_METHOD, GraphError, invalid_param, require
from ..models import QrCode, Token
from .auth import AuthMixin
from .base import locked
from .query import paginate

CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
CODE_RE = re.compile(r"^[A-Z2-7]{14}$")
PREFILLED_MAX = 140
PAGE_MAX = 25
QR_FIELDS = ("code", "prefilled_message", "deep_link_url", "creation_time", "qr_image_url")
_IMAGE_FIELD = re.compile(r"^qr_image_url\.format\((?P<format>[A-Za-z]+)\)$")


def qr_not_found() -> GraphError:
    return GraphError(
        803,
        "QR code not found",
        message="QR code not found",
        http_status=404,
        error_type=GRAPH_METHOD,
        user_title="QR Code Not Found",
        user_msg="The QR code you're trying to access doesn't exist or has been deleted",
    )


def _check_code(code: str) -> str:
    if not CODE_RE.match(code):
        raise invalid_param("Invalid QR code ID format. Expected 14-character alphanumeric string")
    return code


def _image_format(value: Any) -> str | None:
    if value in (None, ""):
        return None
    fmt = str(value).upper()
    if fmt not in ("SVG", "PNG"):
        raise invalid_param("generate_qr_image must be SVG or PNG")
    return fmt


def _wanted(raw: Any) -> tuple[set[str], str | None]:
    """The fields asked for (the defaults always come) and the image format, if any."""
    wanted = {"code", "prefilled_message", "deep_link_url"}
    fmt: str | None = None
    for name in [f.strip() for f in str(raw or "").split(",") if f.strip()]:
        image = _IMAGE_FIELD.match(name)
        if image:
            fmt = _image_format(image["format"])
            wanted.add("qr_image_url")
        elif name in QR_FIELDS and name != "qr_image_url":
            wanted.add(name)
        else:
            raise invalid_param(
                "Invalid fields parameter. Check field names and format specifications"
            )
    return wanted, fmt


class QrCodesMixin(AuthMixin):
    def _qr_dict(
        self, qr: QrCode, wanted: set[str] | None = None, image_format: str | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": qr.code,
            "prefilled_message": qr.prefilled_message,
            "deep_link_url": f"https://wa.me/message/{qr.code}",
        }
        if wanted and "creation_time" in wanted:
            out["creation_time"] = qr.creation_time
        fmt = image_format or (qr.image_format if wanted is None else None)
        if fmt:
            out["qr_image_url"] = f"https://scontent.example.invalid/qr/{qr.code}.{fmt.lower()}"
        return out

    def _qr_of(self, phone_id: str, code: str) -> QrCode:
        qr = self.qr_codes.get(_check_code(code))
        if qr is None or qr.phone_number_id != phone_id:
            raise qr_not_found()
        return qr

    @locked
    def qr_list(
        self, tok: Token, phone_id: str, params: dict[str, Any], url: str
    ) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id)
        wanted, fmt = _wanted(params.get("fields"))
        mine = [q for q in self.qr_codes.values() if q.phone_number_id == phone.id]
        if params.get("code"):
            _check_code(str(params["code"]))
            mine = [q for q in mine if q.code == params["code"]]
        # Newest first; of codes made in the same second, the one made last first.
        mine = sorted(reversed(mine), key=lambda q: q.creation_time, reverse=True)
        try:
            limit = int(params.get("limit") or PAGE_MAX)
        except (TypeError, ValueError) as exc:
            raise invalid_param("limit must be an integer") from exc
        if not 1 <= limit <= PAGE_MAX:
            raise invalid_param(f"limit must be between 1 and {PAGE_MAX}")
        items = [self._qr_dict(q, wanted, fmt) for q in mine]
        return paginate(items, {**params, "limit": limit}, url, key="code")

    @locked
    def qr_get(
        self, tok: Token, phone_id: str, code: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One code, in the list's ``data`` wrapper (SPEC getIndividualQrCode, NOTES §10)."""
        phone = self._phone_for(tok, phone_id)
        wanted, fmt = _wanted((params or {}).get("fields"))
        return {"data": [self._qr_dict(self._qr_of(phone.id, code), wanted, fmt)]}

    @locked
    def qr_upsert(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
        message = str(require(params, "prefilled_message"))
        if len(message) > PREFILLED_MAX:
            raise invalid_param(
                f"Invalid prefilled_message length. Maximum {PREFILLED_MAX} characters allowed"
            )
        fmt = _image_format(params.get("generate_qr_image"))
        code = params.get("code")
        if code:
            qr = self._qr_of(phone.id, str(code))
            qr.prefilled_message = message
            qr.image_format = fmt or qr.image_format
        else:
            new_code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(14))
            qr = QrCode(new_code, phone.id, message, fmt, creation_time=int(self._now()))
            self.qr_codes[new_code] = qr
        return self._qr_dict(qr, None)

    @locked
    def qr_delete(self, tok: Token, phone_id: str, code: str) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
        qr = self._qr_of(phone.id, code)
        del self.qr_codes[qr.code]
        return {"success": True}
