"""The outcome of Embedded Signup: business, WABA and number created, a code to exchange."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from ..errors import GraphError
from ..models import Business, Waba
from .base import locked
from .control import ControlMixin
from .values import split_e164


# Control brings what signup shares with it: account events, and phone numbers beneath them.
class SignupMixin(ControlMixin):
    @locked
    def signup(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Embedded Signup outcome: creates state, issues an OAuth code, queues webhooks."""
        if spec.get("cancel"):
            return {
                "session_info": {
                    "type": "WA_EMBEDDED_SIGNUP",
                    "event": "CANCEL",
                    "version": 3,
                    "data": {"current_step": str(spec.get("current_step") or "PHONE_NUMBER_SETUP")},
                }
            }
        try:
            biz = self._signup_business(spec)
            waba = self._signup_waba(biz, spec)
            phone = None
            phone_raw = spec.get("phone") or spec.get("phone_number")
            if phone_raw:
                cc, national = split_e164(str(phone_raw), spec.get("cc"))
                if not re.match(r"^[1-9][0-9]{6,14}$", cc + national):
                    raise GraphError(100, "The phone number is not valid.")
                name = str(spec.get("display_name") or spec.get("verified_name") or biz.name)
                if not 2 <= len(name) <= 75:
                    raise GraphError(100, "The display name must be 2-75 characters.")
                phone = self._create_phone(waba, cc, national, name)
                if not phone.registered:
                    phone.code_verification_status = "VERIFIED"
                    phone.name_status = (
                        "PENDING_REVIEW" if spec.get("name_review", False) else "APPROVED"
                    )
        except GraphError as err:
            return {
                "session_info": {
                    "type": "WA_EMBEDDED_SIGNUP",
                    "event": "ERROR",
                    "version": 3,
                    "data": {
                        "error_message": err.details,
                        "error_id": str(err.code),
                        "session_id": secrets.token_hex(8),
                        "timestamp": int(self._now()),
                    },
                }
            }
        if self.config.app_id not in waba.partner_app_ids:
            waba.partner_app_ids.append(self.config.app_id)
        waba_ids = [waba.id]
        tok = self._issue_token(kind="BISU", waba_ids=waba_ids, business_ids=[biz.id])
        code = self._issue_oauth_code(tok.token)
        data: dict[str, str] = {"waba_id": waba.id, "business_id": biz.id}
        event = "FINISH_ONLY_WABA"
        if phone is not None:
            data["phone_number_id"] = phone.id
            event = "FINISH"
        for ev in ("PARTNER_ADDED", "PARTNER_APP_INSTALLED"):
            self._emit_account_update({"event": ev}, waba)
        return {
            "session_info": {
                "type": "WA_EMBEDDED_SIGNUP",
                "event": event,
                "version": 3,
                "data": data,
            },
            "code": code,
            "code_message": {"type": "WA_EMBEDDED_SIGNUP_CODE", "code": code},
            "business_id": biz.id,
            "waba_id": waba.id,
            "phone_number_id": phone.id if phone else None,
            "access_token": tok.token,
        }

    def _signup_business(self, spec: dict[str, Any]) -> Business:
        bid = spec.get("business_id")
        if bid:
            biz = self.businesses.get(str(bid))
            if biz is None:
                raise GraphError(100, f"Business {bid} does not exist.")
            return biz
        biz = Business(
            id=self._new_id(),
            name=str(spec.get("business_name") or "New Business"),
            verification_status=str(spec.get("verification_status") or "not_verified"),
            messaging_limit="TIER_250",
            max_phone_numbers=2,
            created_at=self._now(),
        )
        self.businesses[biz.id] = biz
        return biz

    def _signup_waba(self, biz: Business, spec: dict[str, Any]) -> Waba:
        wid = spec.get("waba_id")
        if wid:
            waba = self.wabas.get(str(wid))
            if waba is None or waba.business_id != biz.id:
                raise GraphError(
                    100, f"WhatsApp Business Account {wid} does not belong to this business."
                )
            return waba
        waba = Waba(
            id=self._new_id(),
            business_id=biz.id,
            name=str(spec.get("waba_name") or biz.name),
            currency=str(spec.get("currency") or "USD"),
            timezone_id=str(spec.get("timezone_id") or "1"),
            message_template_namespace=str(uuid.uuid4()).replace("-", "_"),
            account_review_status="PENDING" if spec.get("review_pending") else "APPROVED",
            created_at=self._now(),
        )
        self.wabas[waba.id] = waba
        return waba
