"""QR codes and short links that open a chat with a number (``/message_qrdls``)."""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import invalid_param, not_found, require
from ..models import QrCode, Token
from .auth import AuthMixin
from .base import locked
from .query import paginate


class QrCodesMixin(AuthMixin):
    def _qr_dict(self, qr: QrCode) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": qr.code,
            "prefilled_message": qr.prefilled_message,
            "deep_link_url": f"https://wa.me/message/{qr.code}",
        }
        if qr.image_format:
            out["qr_image_url"] = (
                f"https://scontent.example.invalid/qr/{qr.code}.{qr.image_format.lower()}"
            )
        return out

    @locked
    def qr_list(
        self, tok: Token, phone_id: str, params: dict[str, Any], url: str
    ) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id)
        items = [self._qr_dict(q) for q in self.qr_codes.values() if q.phone_number_id == phone.id]
        if params.get("code"):
            items = [i for i in items if i["code"] == params["code"]]
        return paginate(items, params, url, key="code")

    @locked
    def qr_get(self, tok: Token, phone_id: str, code: str) -> dict[str, Any]:
        """One code, in the list's ``data`` wrapper (SPEC getIndividualQrCode, NOTES §10)."""
        phone = self._phone_for(tok, phone_id)
        qr = self.qr_codes.get(code)
        if qr is None or qr.phone_number_id != phone.id:
            raise not_found(code)
        return {"data": [self._qr_dict(qr)]}

    @locked
    def qr_upsert(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
        message = str(require(params, "prefilled_message"))
        if len(message) > 140:
            raise invalid_param("prefilled_message must be at most 140 characters")
        fmt = params.get("generate_qr_image")
        if fmt and str(fmt).upper() not in ("SVG", "PNG"):
            raise invalid_param("generate_qr_image must be SVG or PNG")
        code = params.get("code")
        if code:
            qr = self.qr_codes.get(str(code))
            if qr is None or qr.phone_number_id != phone.id:
                raise not_found(str(code))
            qr.prefilled_message = message
            qr.image_format = str(fmt).upper() if fmt else qr.image_format
        else:
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
            new_code = "".join(secrets.choice(alphabet) for _ in range(14))
            qr = QrCode(new_code, phone.id, message, str(fmt).upper() if fmt else None)
            self.qr_codes[new_code] = qr
        return self._qr_dict(qr)

    @locked
    def qr_delete(self, tok: Token, phone_id: str, code: str) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
        qr = self.qr_codes.get(code)
        if qr is None or qr.phone_number_id != phone.id:
            raise not_found(code)
        del self.qr_codes[code]
        return {"success": True}
