"""Putting a number on the Cloud API: verification codes, register and deregister."""

from __future__ import annotations

import re
import secrets
from typing import Any

from ..errors import GraphError, invalid_param, require
from ..models import PhoneNumber, Token, VerificationCode
from .auth import AuthMixin
from .base import locked

PIN_RE = re.compile(r"^[0-9]{6}$")

# What the number receives, by the code's language (Meta's ``language``; English else).
SMS_TEXTS = {
    "en": "Your WhatsApp Business verification code is {code}. It expires in 10 minutes.",
    "de": "Dein WhatsApp Business-Bestätigungscode lautet {code}. Er läuft in 10 Minuten ab.",
    "ru": "Ваш код подтверждения WhatsApp Business: {code}. Он действует 10 минут.",
    "es": "Tu código de verificación de WhatsApp Business es {code}. Caduca en 10 minutos.",
    "fr": "Votre code de vérification WhatsApp Business est {code}. Il expire dans 10 minutes.",
}
VOICE_TEXTS = {
    "en": "Your WhatsApp Business verification code is: {digits}. Again: {digits}.",
    "de": "Ihr WhatsApp Business-Bestätigungscode lautet: {digits}. Noch einmal: {digits}.",
    "ru": "Ваш код подтверждения WhatsApp Business: {digits}. Повторяю: {digits}.",
}


def code_message(code: str, method: str, language: str) -> str:
    """The SMS text, or what the voice call says, for ``code`` in ``language``."""
    lang = (language or "en")[:2]
    if method.upper() == "VOICE":
        return VOICE_TEXTS.get(lang, VOICE_TEXTS["en"]).format(digits=" ".join(code))
    return SMS_TEXTS.get(lang, SMS_TEXTS["en"]).format(code=f"{code[:3]}-{code[3:]}")


class RegistrationMixin(AuthMixin):
    @locked
    def request_code(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
        method = str(require(params, "code_method")).upper()
        language = str(require(params, "language"))
        if method not in ("SMS", "VOICE"):
            raise invalid_param("code_method must be SMS or VOICE")
        if not re.match(r"^[a-z]{2}(_[A-Z]{2})?$", language):
            raise invalid_param("language must look like en_US")
        now = self._now()
        window = self.config.code_request_window
        phone.code_requests = [t for t in phone.code_requests if t > now - window]
        if len(phone.code_requests) >= self.config.code_request_limit:
            raise GraphError(
                136024,
                "Too many verification code requests for this number. "
                "Please wait before requesting a new code.",
            )
        phone.code_requests.append(now)
        code = f"{secrets.randbelow(10**6):06d}"
        phone.code = self._new_code(phone, code, method, language)
        return {"success": True}

    def _new_code(
        self, phone: PhoneNumber, code: str, method: str, language: str
    ) -> VerificationCode:
        vc = VerificationCode(code=code, issued_at=self._now(), method=method, language=language)
        self.codes_log.append(
            {
                "phone_number_id": phone.id,
                "display_phone_number": phone.display_number(),
                "code": code,
                "method": method,
                "language": language,
                "text": code_message(code, method, language),
                "issued_at": vc.issued_at,
                "expires_at": vc.issued_at + self.config.code_ttl,
                "used": False,
            }
        )
        self.codes_log = self.codes_log[-500:]
        return vc

    @locked
    def handset(self, phone_id: str | None = None) -> list[dict[str, Any]]:
        """What the numbers "received": every code Meta sent by SMS or call, newest first,
        each with its text and whether it can still be entered (``valid``)."""
        now = self._now()
        items = []
        for entry in reversed(self.codes_log):
            if phone_id and entry.get("phone_number_id") != phone_id:
                continue
            phone = self.phones.get(str(entry.get("phone_number_id") or ""))
            if phone is None:  # a code of the signup dialog: valid until it expires
                current = not entry.get("used")
            else:
                current = phone.code is not None and (
                    phone.code.code == entry["code"] and phone.code.issued_at == entry["issued_at"]
                )
            items.append(
                {
                    **entry,
                    "text": entry.get("text")
                    or code_message(entry["code"], str(entry.get("method") or "SMS"), ""),
                    "valid": current and entry["expires_at"] > now,
                }
            )
        return items

    @locked
    def verify_code(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
        code = str(require(params, "code")).strip()
        if not re.match(r"^[0-9]{6}$", code):
            raise invalid_param("Param code must be a 6-digit number")
        self._check_code(phone, code)
        return {"success": True, "id": phone.id}

    def _check_code(self, phone: PhoneNumber, code: str) -> None:
        vc = phone.code
        if vc is None:
            raise GraphError(
                136025, "No verification code was requested for this number. Request a new code."
            )
        if vc.issued_at + self.config.code_ttl < self._now():
            phone.code = None
            raise GraphError(136025, "The verification code has expired. Request a new code.")
        if code != vc.code:
            vc.attempts += 1
            if vc.attempts >= self.config.verify_attempts_max:
                phone.code = None
                raise GraphError(136025, "Too many incorrect attempts. Request a new code.")
            raise GraphError(136025, "Code Mismatch: the code you entered is not correct.")
        for entry in self.codes_log:
            if entry.get("phone_number_id") == phone.id and entry["code"] == vc.code:
                entry["used"] = True
        phone.code = None
        phone.code_verification_status = "VERIFIED"

    def _count_register_call(self, phone: PhoneNumber) -> None:
        now = self._now()
        if phone.register_blocked_until and phone.register_blocked_until > now:
            raise GraphError(
                133016,
                "Too many register/deregister calls for this number in "
                "the last 72 hours. Try again later.",
            )
        phone.register_calls = [
            t for t in phone.register_calls if t > now - self.config.register_window
        ]
        phone.register_calls.append(now)
        if len(phone.register_calls) > self.config.register_limit:
            phone.register_blocked_until = now + self.config.register_window
            raise GraphError(
                133016,
                "Too many register/deregister calls for this number in "
                "the last 72 hours. Try again later.",
            )

    @locked
    def register(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
        product = require(params, "messaging_product")
        if product != "whatsapp":
            raise invalid_param("messaging_product must be whatsapp")
        pin = str(require(params, "pin"))
        if not PIN_RE.match(pin):
            raise invalid_param("pin must be a 6-digit number")
        self._count_register_call(phone)
        waba = self.wabas[phone.waba_id]
        if waba.ban_state == "DISABLE":
            raise GraphError(131031, "The WhatsApp Business Account is disabled.")
        if phone.code_verification_status != "VERIFIED":
            raise GraphError(
                133006,
                "The phone number must be verified before "
                "registering. Request and verify a code first.",
            )
        if phone.pin is not None and phone.pin != pin:
            raise GraphError(
                133005,
                "The two-step verification PIN does not match the PIN set for this number.",
            )
        phone.pin = pin
        if phone.pin_set_by is None:
            phone.pin_set_by = "us"
        phone.status = "CONNECTED"
        phone.platform_type = "CLOUD_API"
        phone.last_onboarded_time = self._now()
        if phone.new_name_status == "APPROVED" and phone.new_display_name:
            phone.verified_name = phone.new_display_name
            phone.name_status = "APPROVED"
            phone.new_display_name, phone.new_name_status = None, None
        return {"success": True}

    @locked
    def deregister(self, tok: Token, phone_id: str) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
        if not phone.registered:
            raise GraphError(100, subcode=2207051)
        self._count_register_call(phone)
        phone.status = "DISCONNECTED"
        phone.platform_type = "NOT_APPLICABLE"
        return {"success": True}
