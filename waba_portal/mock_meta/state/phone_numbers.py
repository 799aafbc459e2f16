"""Phone numbers of a WABA: listing, adding, reading, updating, and display name review."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import phonenumbers

from ..errors import GRAPH_METHOD, GraphError, invalid_param, require
from ..models import PhoneNumber, Token, Waba
from .auth import AuthMixin
from .base import locked
from .events import EventsMixin, override_params
from .query import paginate, select_fields
from .registration import PIN_RE
from .serialisation import SerialisationMixin
from .templates import rule_matches
from .values import digits, split_e164


class PhoneNumbersMixin(SerialisationMixin, AuthMixin, EventsMixin):
    PHONE_DEFAULT_FIELDS = ["id", "display_phone_number", "verified_name", "quality_rating"]

    PHONE_LIST_DEFAULT_FIELDS = [
        "id",
        "display_phone_number",
        "verified_name",
        "status",
        "quality_rating",
        "code_verification_status",
        "platform_type",
        "throughput",
        "webhook_configuration",
    ]

    @locked
    def phones_list(
        self, tok: Token, waba_id: str, params: dict[str, Any], url: str
    ) -> dict[str, Any]:
        waba = self._waba_for(tok, waba_id)
        phones = [p for p in self.phones.values() if p.waba_id == waba.id]
        sort = params.get("sort") or "creation_time.asc"
        phones.sort(key=lambda p: (p.created_at, int(p.id)), reverse=str(sort).endswith(".desc"))
        items = [self._phone_full(p) for p in phones]
        filtering = params.get("filtering")
        if filtering:
            if isinstance(filtering, str):
                try:
                    filtering = json.loads(filtering)
                except ValueError as exc:
                    raise invalid_param("filtering must be a JSON array") from exc
            for flt in filtering:
                fname, op, val = (
                    flt.get("field"),
                    flt.get("operator", "EQUAL"),
                    flt.get("value"),
                )
                if fname not in (
                    "account_mode",
                    "messaging_limit_tier",
                    "is_official_business_account",
                ):
                    raise invalid_param(f"Cannot filter on {fname}")
                if op == "EQUAL":
                    items = [i for i in items if str(i.get(fname)).lower() == str(val).lower()]
                elif op == "IN":
                    vals = [str(v).lower() for v in (val or [])]
                    items = [i for i in items if str(i.get(fname)).lower() in vals]
        selected = [
            select_fields(
                i,
                params.get("fields"),
                self.PHONE_LIST_DEFAULT_FIELDS,
                "WhatsAppBusinessPhoneNumber",
            )
            for i in items
        ]
        return paginate(selected, params, url)

    @locked
    def phone_add(self, tok: Token, waba_id: str, params: dict[str, Any]) -> dict[str, Any]:
        waba = self._waba_for(tok, waba_id, "whatsapp_business_management")
        number = str(require(params, "phone_number"))
        cc = params.get("cc") or params.get("country_code")
        name = str(require(params, "verified_name"))
        if not cc and not str(number).startswith("+"):
            require(params, "cc")
        if not 2 <= len(name) <= 75:
            raise invalid_param("verified_name must be 2-75 characters")
        if not re.match(r"^[1-9][0-9]{6,14}$", digits(number)):
            raise invalid_param("phone_number is not a valid phone number")
        cc_s, national = _split(number, str(cc) if cc else None)
        known = self._phone_with(cc_s + national)
        phone = self._create_phone(waba, cc_s, national, name)
        if known is None:
            self._schedule_initial_name_review(phone)
        return {"id": phone.id}

    def _phone_with(self, e164_digits: str) -> PhoneNumber | None:
        return next((p for p in self.phones.values() if p.e164_digits == e164_digits), None)

    def _create_phone(self, waba: Waba, cc: str, national: str, name: str) -> PhoneNumber:
        """A new number on the WABA (PENDING, NOT_VERIFIED, name in review), the one it
        has already, or Meta's refusals: on another WABA (409), over the cap (403)."""
        other = self._phone_with(cc + national)
        if other is not None:
            if other.waba_id == waba.id:
                return other
            raise GraphError(
                100,
                "This phone number is already registered to another WhatsApp Business Account.",
                message="Phone number is already registered with WhatsApp Business",
                http_status=409,
                error_type=GRAPH_METHOD,
            )
        self._check_number_cap(waba)
        phone = PhoneNumber(
            id=self._new_id(),
            waba_id=waba.id,
            cc=cc,
            national_number=national,
            verified_name=name,
            created_at=self._now(),
        )
        self.phones[phone.id] = phone
        return phone

    def _check_number_cap(self, waba: Waba) -> None:
        """A business portfolio holds at most ``max_phone_numbers`` numbers over its WABAs
        (2 to start, up to 20 once verified; NOTES §8): the spec's 403 (200 / 1349175)."""
        business = self.businesses.get(waba.business_id)
        if business is None:
            return
        wabas = {w.id for w in self.wabas.values() if w.business_id == business.id}
        held = sum(1 for p in self.phones.values() if p.waba_id in wabas and p.status != "DELETED")
        if held >= business.max_phone_numbers:
            raise GraphError(
                200,
                f"Phone number limit exceeded: the business has {held} of its "
                f"{business.max_phone_numbers} phone numbers.",
                subcode=1349175,
                message="Phone number limit exceeded for this WhatsApp Business Account",
                http_status=403,
                user_title="Limit Exceeded",
                user_msg="You have reached the maximum number of phone numbers for this account",
            )

    def _schedule_initial_name_review(self, phone: PhoneNumber) -> None:
        """The display name of an added number is reviewed as a name change is: decided
        by the name rules after ``name_review_delay`` (never, when it is None)."""
        delay = self.config.name_review_delay
        if delay is None:
            return
        review = functools.partial(self._review_initial_name, phone.id, phone.verified_name)
        self.scheduler.call_later(delay, review)

    @locked
    def _review_initial_name(self, phone_id: str, requested: str) -> None:
        current = self.phones.get(phone_id)
        if (
            current is None
            or current.name_status != "PENDING_REVIEW"
            or current.verified_name != requested
            or current.new_display_name
        ):
            return
        decision, reason = "APPROVED", None
        for rule in self.config.name_rules:
            if rule_matches(rule, requested, "", ""):
                decision = str(rule.get("decision", "REJECTED")).upper()
                reason = str(rule.get("reason", "")) or None
                break
        self._name_decision(current, decision, requested, reason)

    @locked
    def phone_get(self, tok: Token, phone_id: str, fields: str | None) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id)
        return select_fields(
            self._phone_full(phone),
            fields,
            self.PHONE_DEFAULT_FIELDS,
            "WhatsAppBusinessPhoneNumber",
        )

    @locked
    def phone_update(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
        api_data = params.get("whatsapp_business_api_data")
        pin = params.get("pin")
        if pin is None and isinstance(api_data, dict):
            pin = api_data.get("pin")
        if pin is not None:
            if not PIN_RE.match(str(pin)):
                raise invalid_param("pin must be 6 digits")
            if not phone.registered:
                raise GraphError(133010, "The phone number is not registered.")
            phone.pin, phone.pin_set_by = str(pin), "us"
        if "new_display_name" in params:
            self._name_change_request(phone, str(params["new_display_name"]))
        if "search_visibility" in params:
            if params["search_visibility"] not in ("VISIBLE", "HIDDEN"):
                raise invalid_param("search_visibility must be VISIBLE or HIDDEN")
            phone.search_visibility = str(params["search_visibility"])
        if "webhook_configuration" in params:
            override = self._phone_override_params(params)
            phone.webhook_override = (
                {"override_callback_uri": override[0], "verify_token": override[1]}
                if override
                else None
            )
        return {"success": True}

    @locked
    def phone_override(
        self, tok: Token, phone_id: str, params: dict[str, Any]
    ) -> tuple[str, str] | None:
        """Check an update's ``webhook_configuration``: the override it asks for."""
        self._phone_for(tok, phone_id, "whatsapp_business_management")
        if "webhook_configuration" not in params:
            return None
        return self._phone_override_params(params)

    def _phone_override_params(self, params: dict[str, Any]) -> tuple[str, str] | None:
        conf = params["webhook_configuration"]
        if not isinstance(conf, dict) or "override_callback_uri" not in conf:
            raise invalid_param("webhook_configuration.override_callback_uri is required")
        return override_params(conf.get("override_callback_uri"), conf.get("verify_token"))

    # --- Display names: a change asked for, and Meta's review of it ---------------------
    # A number whose name Meta approved keeps it while a new one is reviewed: the request
    # shows as ``new_display_name`` / ``new_name_status``, and once approved it becomes the
    # name when the number is registered again (DOC:D26, within 14 days). A number with no
    # approved name yet (new, in review, declined) has its name under review replaced:
    # ``verified_name`` is the new name, ``name_status`` PENDING_REVIEW.
    # Meta allows 10 changes in 30 days (DOC:D26); the 11th is refused.
    NAME_CHANGES_PER_WINDOW = 10
    NAME_CHANGE_WINDOW = 30 * 24 * 3600

    def _name_change_request(self, phone: PhoneNumber, new_name: str) -> None:
        if not 2 <= len(new_name) <= 75:
            raise invalid_param("new_display_name must be 2-75 characters")
        now = self._now()
        recent = [t for t in phone.name_changes if now - t < self.NAME_CHANGE_WINDOW]
        if len(recent) >= self.NAME_CHANGES_PER_WINDOW:
            raise GraphError(
                100,
                "The display name can be changed 10 times in 30 days. Try again later.",
                user_title="Display name change limit reached",
            )
        phone.name_changes = [*recent, now]
        if phone.name_status in ("APPROVED", "AVAILABLE_WITHOUT_REVIEW"):
            phone.new_display_name = new_name
            phone.new_name_status = "PENDING_REVIEW"
        else:
            phone.verified_name = new_name
            phone.name_status = "PENDING_REVIEW"
            phone.new_display_name, phone.new_name_status = None, None
        self._schedule_name_review(phone, new_name)

    def _schedule_name_review(self, phone: PhoneNumber, requested: str | None = None) -> None:
        delay = self.config.name_review_delay
        if delay is None:
            return
        review = functools.partial(self._review_name, phone.id, requested or phone.new_display_name)
        self.scheduler.call_later(delay, review)

    @locked
    def _review_name(self, phone_id: str, requested: str | None) -> None:
        """Decide a requested display name by the config's name rules (scheduler thread)."""
        current = self.phones.get(phone_id)
        if current is None:
            return
        changing = (
            current.new_display_name == requested and current.new_name_status == "PENDING_REVIEW"
        )
        replacing = (
            current.new_display_name is None
            and current.verified_name == requested
            and current.name_status == "PENDING_REVIEW"
        )
        if not (changing or replacing):
            return  # decided already, or another name was asked for meanwhile
        decision, reason = "APPROVED", None
        for rule in self.config.name_rules:
            if rule_matches(rule, requested or "", "", ""):
                decision = str(rule.get("decision", "REJECTED")).upper()
                reason = str(rule.get("reason", "")) or None
                break
        self._name_decision(current, decision, requested or "", reason)

    def _name_decision(
        self, phone: PhoneNumber, decision: str, requested: str, reason: str | None
    ) -> None:
        if decision == "APPROVED":
            if phone.new_display_name and phone.registered is False:
                phone.verified_name = requested
            phone.new_name_status = "APPROVED" if phone.new_display_name else None
            if not phone.new_display_name:
                phone.verified_name = requested or phone.verified_name
            phone.name_status = "APPROVED"
        elif decision == "REJECTED":
            if phone.new_display_name:
                phone.new_name_status = "DECLINED"
            else:
                phone.name_status = "DECLINED"
        elif decision in ("PENDING", "DEFERRED"):
            phone.new_name_status = "PENDING_REVIEW"
        value = {
            "display_phone_number": phone.e164_digits,
            "decision": decision,
            "requested_verified_name": requested,
            "rejection_reason": reason,
        }
        self._emit(
            "phone_number_name_update", value, waba=self.wabas.get(phone.waba_id), phone=phone
        )


def is_valid_e164(e164_digits: str) -> bool:
    """Whether the digits (country code first) are a valid number by libphonenumber."""
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse("+" + e164_digits)))
    except phonenumbers.NumberParseException:
        return False


def _split(number: str, cc: str | None) -> tuple[str, str]:
    """``phone_number`` is the national number with ``cc`` (Meta's docs), or the whole
    number with the country code (the spec's example, PYWA). Read as given when that is
    a valid number ("4921123456" with cc 49 is Emden's 04921...), else without the code."""
    if cc:
        whole, code = digits(number), digits(cc)
        if whole.startswith(code) and len(whole) > len(code) + 6:
            stripped = whole[len(code) :]
            if is_valid_e164(code + whole):
                return code, whole
            if is_valid_e164(code + stripped):
                return code, stripped
    return split_e164(number, cc)
