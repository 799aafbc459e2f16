"""The mock's world and its rules: businesses, WABAs, numbers, templates, tokens, messages.

No HTTP here. Every public method takes the state lock; methods raise
:class:`~waba_portal.mock_meta.errors.GraphError` for Graph failures. Webhooks are handed to
``deliver`` (the dispatcher) and delayed work to ``scheduler``.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import itertools
import os
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from .config import Config
from .errors import GraphError, invalid_param, not_found, require
from .models import (
    Business,
    Media,
    Message,
    OAuthCode,
    PhoneNumber,
    QrCode,
    Subscription,
    Template,
    Token,
    UploadSession,
    Waba,
    as_dict,
)
from .scheduler import Scheduler

SCOPES_ALL = ["whatsapp_business_management", "whatsapp_business_messaging", "business_management"]
TEMPLATE_CATEGORIES = ("AUTHENTICATION", "MARKETING", "UTILITY")
VERTICALS = [
    "UNDEFINED",
    "OTHER",
    "AUTO",
    "BEAUTY",
    "APPAREL",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GROCERY",
    "GOVT",
    "HOTEL",
    "HEALTH",
    "NONPROFIT",
    "PROF_SERVICES",
    "RETAIL",
    "TRAVEL",
    "RESTAURANT",
    "ALCOHOL",
    "ONLINE_GAMBLING",
    "PHYSICAL_GAMBLING",
    "OTC_DRUGS",
    "NOT_A_BIZ",
]
OUTBOUND_TYPES = [
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "template",
    "interactive",
    "reaction",
]
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
INBOUND_TYPES = (
    *MEDIA_TYPES,
    "text",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "unsupported",
)
DEFAULT_MIME = {
    "image": "image/jpeg",
    "audio": "audio/ogg",
    "video": "video/mp4",
    "document": "application/pdf",
    "sticker": "image/webp",
}
VAR_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")
PIN_RE = re.compile(r"^[0-9]{6}$")
LIMIT_TO_LEGACY = {"TIER_2K": "TIER_1K"}  # messaging_limit_tier has no TIER_2K (NOTES §8)


@dataclass
class WebhookEvent:
    """One change to deliver: becomes entry[{id, time, changes:[{field, value}]}]."""

    field: str
    value: dict[str, Any]
    entry_id: str
    url: str | None
    skip_reason: str | None = None
    with_time: bool = True
    created_at: float = dc_field(default_factory=time.time)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _digits(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


def split_e164(phone: str, cc: str | None = None) -> tuple[str, str]:
    """Return (country calling code, national number) for '+15550100001' or ('1','5550100001')."""
    digits = _digits(phone)
    if cc:
        cc = _digits(cc)
        if digits.startswith(cc) and len(digits) > 10:
            return cc, digits[len(cc) :]
        return cc, digits
    try:
        import phonenumbers

        parsed = phonenumbers.parse("+" + digits)
        return str(parsed.country_code), str(parsed.national_number)
    except Exception:
        return digits[:1], digits[1:]


def country_of(cc: str, national: str) -> str:
    try:
        import phonenumbers

        region = phonenumbers.region_code_for_number(phonenumbers.parse(f"+{cc}{national}"))
        if not region or region == "ZZ":
            region = phonenumbers.region_code_for_country_code(int(cc))
        if region and region != "ZZ":
            return str(region)
    except Exception:  # noqa: S110 - an unparsable number falls back to US
        pass
    return "US"


def parse_fields(raw: str | None) -> list[str] | None:
    """'a,b{c,d},e' -> ['a', 'b', 'e'] (nested selections are ignored)."""
    if not raw:
        return None
    out: list[str] = []
    depth = 0
    current = ""
    for ch in str(raw):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            if current.strip():
                out.append(current.strip())
            current = ""
        elif depth == 0:
            current += ch
    if current.strip():
        out.append(current.strip())
    return [f.split(".")[0] for f in out]


def select_fields(
    full: dict[str, Any], raw_fields: str | None, default: list[str], node_type: str
) -> dict[str, Any]:
    wanted = parse_fields(raw_fields) or default
    out: dict[str, Any] = {}
    for name in wanted:
        if name not in full:
            raise GraphError(
                100,
                f"Tried accessing nonexisting field ({name}) on node type ({node_type})",
                message=(
                    f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
                ),
            )
        if full[name] is not None:
            out[name] = full[name]
    if "id" in full and "id" not in out and full.get("id") is not None:
        out["id"] = full["id"]
    return out


def paginate(
    items: list[dict[str, Any]], params: dict[str, Any], url: str, key: str = "id"
) -> dict[str, Any]:
    """Cursor pagination: cursors are base64 of the item key."""
    try:
        limit = max(1, min(int(params.get("limit") or 25), 100))
    except (TypeError, ValueError) as exc:
        raise invalid_param("limit must be an integer") from exc
    keys = [str(i.get(key)) for i in items]

    def decode(cursor: str) -> str:
        try:
            return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except Exception as exc:
            raise invalid_param("Invalid cursor") from exc

    start, end = 0, min(limit, len(items))
    if params.get("after"):
        pos = keys.index(decode(params["after"])) if decode(params["after"]) in keys else -1
        if pos < 0:
            raise invalid_param("Invalid cursor")
        start, end = pos + 1, min(pos + 1 + limit, len(items))
    elif params.get("before"):
        pos = keys.index(decode(params["before"])) if decode(params["before"]) in keys else -1
        if pos < 0:
            raise invalid_param("Invalid cursor")
        start, end = max(0, pos - limit), pos
    page = items[start:end]
    result: dict[str, Any] = {"data": page}
    if page:

        def enc(k: str) -> str:
            return base64.urlsafe_b64encode(k.encode()).decode().rstrip("=")

        before, after = enc(keys[start]), enc(keys[end - 1])
        paging: dict[str, Any] = {"cursors": {"before": before, "after": after}}
        base_q = {
            k: v
            for k, v in params.items()
            if k in ("fields", "limit", "status", "category", "language", "name", "content")
        }
        base_q["limit"] = str(limit)
        from urllib.parse import urlencode

        if end < len(items):
            paging["next"] = url + "?" + urlencode({**base_q, "after": after})
        if start > 0:
            paging["previous"] = url + "?" + urlencode({**base_q, "before": before})
        result["paging"] = paging
    return result


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


class State:
    """The whole mock world. Thread-safe through one re-entrant lock."""

    # Node ids are unique for the process lifetime (not reset), so stale ids never alias.
    _ids = itertools.count(int(time.time()) % 100000 * 10**9 + 110000000000000)

    def __init__(
        self,
        config: Config,
        scheduler: Scheduler,
        deliver: Callable[[WebhookEvent], None],
    ) -> None:
        self.lock = threading.RLock()
        self.config = config
        self._initial_config = copy.deepcopy(config)
        self.scheduler = scheduler
        self.deliver = deliver
        self.clock_offset = 0.0
        self._clear()

    # ------------------------------------------------------------------ basics
    def _clear(self) -> None:
        self.businesses: dict[str, Business] = {}
        self.wabas: dict[str, Waba] = {}
        self.phones: dict[str, PhoneNumber] = {}
        self.templates: dict[str, Template] = {}
        self.deleted_templates: list[tuple[str, str, str, float]] = []  # waba, name, lang, at
        self.tokens: dict[str, Token] = {}
        self.oauth_codes: dict[str, OAuthCode] = {}
        self.media: dict[str, Media] = {}
        self.messages: dict[str, Message] = {}
        self.message_order: deque[str] = deque(maxlen=5000)
        self.qr_codes: dict[str, QrCode] = {}
        self.uploads: dict[str, UploadSession] = {}
        self.upload_handles: dict[str, UploadSession] = {}
        self.windows: dict[tuple[str, str], float] = {}  # (phone id, wa_id) -> last inbound
        self.send_times: dict[str, deque[float]] = {}
        self.pair_buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.codes_log: list[dict[str, Any]] = []
        self.signup_sessions: dict[str, dict[str, Any]] = {}

    def reset(self, keep_config: bool = False) -> None:
        with self.lock:
            self._clear()
            self.clock_offset = 0.0
            if not keep_config:
                self.config.__dict__.update(copy.deepcopy(self._initial_config).__dict__)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def new_id(self) -> str:
        return str(next(self._ids))

    def _wamid(self, wa_id: str) -> str:
        raw = (
            b"\x1c\x18\x0c"
            + wa_id.encode()
            + b"\x15\x02\x00\x11\x18\x12"
            + secrets.token_hex(9).upper().encode()
            + b"\x00"
        )
        return "wamid." + _b64(raw)

    # ------------------------------------------------------------------ auth
    def issue_token(
        self,
        *,
        kind: str = "SYSTEM_USER",
        waba_ids: list[str] | None = None,
        business_ids: list[str] | None = None,
        scopes: list[str] | None = None,
        expires_in: float | None = None,
        token: str | None = None,
        revoked: bool = False,
    ) -> Token:
        with self.lock:
            value = token or "EAA" + secrets.token_urlsafe(48).replace("-", "A").replace("_", "B")
            tok = Token(
                token=value,
                kind=kind,
                app_id=self.config.app_id,
                user_id=self.new_id(),
                scopes=list(scopes or SCOPES_ALL),
                waba_ids=None if waba_ids is None else list(waba_ids),
                business_ids=list(business_ids or []),
                expires_at=None if expires_in is None else self.now() + float(expires_in),
                revoked=revoked,
                issued_at=self.now(),
            )
            self.tokens[value] = tok
            return tok

    def authenticate(self, raw: str | None) -> Token:
        with self.lock:
            if not raw:
                raise GraphError(104, "An access token is required to request this resource.")
            app_pair = f"{self.config.app_id}|{self.config.app_secret}"
            if raw == app_pair:
                return Token(raw, "APP", self.config.app_id, "", [], [], [])
            tok = self.tokens.get(raw)
            if tok is None:
                raise GraphError(190)
            if tok.revoked:
                raise GraphError(
                    190,
                    subcode=tok.revoke_subcode,
                    message="Error validating access token: The session has been invalidated "
                    "because the user changed their password or Facebook has changed the "
                    "session for security reasons.",
                )
            if tok.expires_at is not None and tok.expires_at <= self.now():
                when = time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(tok.expires_at))
                raise GraphError(
                    190,
                    subcode=463,
                    message=f"Error validating access token: Session has expired on {when}.",
                )
            return tok

    def _check_waba_access(self, tok: Token, waba_id: str, scope: str | None = None) -> None:
        if tok.kind == "APP":
            raise GraphError(200, "An app access token cannot access WhatsApp Business Accounts")
        if tok.waba_ids is not None and waba_id not in tok.waba_ids:
            raise GraphError(
                200,
                "The access token does not have permission to access this "
                "WhatsApp Business Account",
                message="(#200) Permissions error",
            )
        if scope and scope not in tok.scopes:
            raise GraphError(
                200, f"Missing permission {scope}", message=f"(#200) Requires {scope} permission"
            )

    def node_kind(self, node_id: str) -> str | None:
        with self.lock:
            for kind, table in (
                ("waba", self.wabas),
                ("phone", self.phones),
                ("template", self.templates),
                ("media", self.media),
                ("business", self.businesses),
            ):
                if node_id in table:
                    return kind
            if node_id == self.config.app_id:
                return "app"
            if node_id == self.config.credit_line_id:
                return "credit_line"
            return None

    def credit_line_attach(self, tok: Token, params: dict[str, Any]) -> dict[str, Any]:
        """Share the partner's credit line with a client WABA (solution partners only).

        ``POST /{credit_line_id}/whatsapp_credit_sharing_and_attach?waba_id&waba_currency``
        answers ``{"allocation_config_id", "waba_id"}``; a currency the line cannot be
        shared in is refused with code 100, as Meta does for unsupported currencies.
        """
        waba_id = str(require(params, "waba_id"))
        currency = str(require(params, "waba_currency")).upper()
        with self.lock:
            waba = self.waba_for(tok, waba_id)
            if currency not in self.config.credit_line_currencies:
                raise GraphError(
                    100,
                    f"Credit line cannot be shared in currency {currency}.",
                    message="(#100) Invalid parameter",
                )
            if waba.credit_allocation_id is None:
                waba.credit_allocation_id = self.new_id()
                waba.payment_method = True
            return {"allocation_config_id": waba.credit_allocation_id, "waba_id": waba.id}

    def waba_for(self, tok: Token, waba_id: str, scope: str | None = None) -> Waba:
        waba = self.wabas.get(waba_id)
        if waba is None:
            raise not_found(waba_id)
        self._check_waba_access(tok, waba_id, scope)
        return waba

    def phone_for(self, tok: Token, phone_id: str, scope: str | None = None) -> PhoneNumber:
        phone = self.phones.get(phone_id)
        if phone is None:
            raise not_found(phone_id)
        self._check_waba_access(tok, phone.waba_id, scope)
        return phone

    def waba_of_node(self, node_id: str) -> str | None:
        with self.lock:
            if node_id in self.wabas:
                return node_id
            if node_id in self.phones:
                return self.phones[node_id].waba_id
            if node_id in self.templates:
                return self.templates[node_id].waba_id
            return None

    # ------------------------------------------------------------------ oauth
    def exchange_code(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            client_id = str(require(params, "client_id"))
            if client_id != self.config.app_id:
                raise GraphError(
                    101,
                    "Error validating application. Invalid application ID.",
                    message="Error validating application. Invalid application ID.",
                )
            secret = str(require(params, "client_secret"))
            if not secrets.compare_digest(secret, self.config.app_secret):
                raise GraphError(
                    1,
                    "Error validating client secret.",
                    message="Error validating client secret.",
                    is_transient=False,
                )
            if params.get("grant_type") == "client_credentials":
                tok = self.issue_token(kind="APP", waba_ids=[], scopes=[])
                return {"access_token": tok.token, "token_type": "bearer"}
            code = str(require(params, "code"))
            entry = self.oauth_codes.get(code)
            if entry is None:
                raise GraphError(100, subcode=36008, message="Invalid verification code format.")
            if entry.used:
                raise GraphError(
                    100, subcode=36009, message="This authorization code has been used."
                )
            if entry.issued_at + self.config.oauth_code_ttl < self.now():
                raise GraphError(100, subcode=36007, message="This authorization code has expired.")
            entry.used = True
            return {"access_token": entry.token, "token_type": "bearer"}

    def issue_oauth_code(self, token: str) -> str:
        with self.lock:
            code = "AQ" + secrets.token_urlsafe(40)
            self.oauth_codes[code] = OAuthCode(code, token, self.now())
            return code

    def debug_token(self, input_token: str) -> dict[str, Any]:
        with self.lock:
            tok = self.tokens.get(input_token)
            if tok is None:
                return {
                    "data": {
                        "error": {"code": 190, "message": "Invalid OAuth access token."},
                        "is_valid": False,
                        "scopes": [],
                    }
                }
            valid = not tok.revoked and (tok.expires_at is None or tok.expires_at > self.now())
            waba_targets = list(self.wabas) if tok.waba_ids is None else list(tok.waba_ids)
            business_targets = tok.business_ids or sorted(
                {self.wabas[w].business_id for w in waba_targets if w in self.wabas}
            )
            granular = []
            for scope in tok.scopes:
                targets = business_targets if scope == "business_management" else waba_targets
                granular.append({"scope": scope, "target_ids": targets})
            data: dict[str, Any] = {
                "app_id": tok.app_id,
                "type": "APP"
                if tok.kind == "APP"
                else ("SYSTEM_USER" if tok.kind != "USER" else "USER"),
                "application": self.config.app_name,
                "data_access_expires_at": 0,
                "expires_at": int(tok.expires_at or 0),
                "is_valid": valid,
                "issued_at": int(tok.issued_at),
                "scopes": tok.scopes,
                "granular_scopes": granular,
                "user_id": tok.user_id,
            }
            if not valid:
                data["error"] = {
                    "code": 190,
                    "subcode": 463 if not tok.revoked else tok.revoke_subcode,
                    "message": "Error validating access token",
                }
            return {"data": data}

    # ------------------------------------------------------------------ webhooks
    def _callback_url(
        self, waba: Waba | None, *, app_level: bool = False
    ) -> tuple[str | None, str | None]:
        if waba is not None and not app_level:
            sub = waba.subscriptions.get(self.config.app_id)
            if sub is None and self.config.require_subscription:
                return None, "app not subscribed to WABA"
            if sub is not None and sub.override_callback_uri:
                return sub.override_callback_uri, None
        if not self.config.webhook_url:
            return None, "no webhook url configured"
        return self.config.webhook_url, None

    def _emit(
        self,
        field_name: str,
        value: dict[str, Any],
        *,
        waba: Waba | None,
        entry_id: str | None = None,
        app_level: bool = False,
        phone: PhoneNumber | None = None,
    ) -> None:
        url, skip = self._callback_url(waba, app_level=app_level)
        if phone is not None and phone.webhook_override and not app_level and skip is None:
            url = phone.webhook_override.get("override_callback_uri") or url
        event = WebhookEvent(
            field=field_name,
            value=value,
            entry_id=entry_id or (waba.id if waba else self.config.app_id),
            url=url,
            skip_reason=skip,
        )
        self.deliver(event)

    def _metadata(self, phone: PhoneNumber) -> dict[str, str]:
        return {"display_phone_number": phone.e164_digits, "phone_number_id": phone.id}

    # ------------------------------------------------------------------ serialisation
    def health(self, *, waba: Waba, phone: PhoneNumber | None = None) -> dict[str, Any]:
        biz = self.businesses.get(waba.business_id)
        entities: list[dict[str, Any]] = []
        if phone is not None:
            ent: dict[str, Any] = {
                "entity_type": "PHONE_NUMBER",
                "id": phone.id,
                "can_send_message": "AVAILABLE",
            }
            if not phone.registered:
                ent["can_send_message"] = "BLOCKED"
                ent["errors"] = [
                    {
                        "error_code": 133010,
                        "error_description": "The phone number is not registered.",
                        "possible_solution": "Register the phone number.",
                    }
                ]
            elif phone.quality_rating == "RED":
                ent["can_send_message"] = "LIMITED"
                ent["additional_info"] = ["Phone number quality is low."]
            entities.append(ent)
        w: dict[str, Any] = {"entity_type": "WABA", "id": waba.id, "can_send_message": "AVAILABLE"}
        if waba.ban_state == "DISABLE" or waba.status == "DISABLED":
            w["can_send_message"] = "BLOCKED"
            w["errors"] = [
                {
                    "error_code": 141014,
                    "error_description": "The WhatsApp Business Account is banned.",
                    "possible_solution": "Request a review of the decision.",
                }
            ]
        elif not waba.payment_method:
            w["can_send_message"] = "LIMITED"
            w["errors"] = [
                {
                    "error_code": 141006,
                    "error_description": "There is an error with the payment method.",
                    "possible_solution": "Add a valid payment method.",
                }
            ]
        entities.append(w)
        b: dict[str, Any] = {
            "entity_type": "BUSINESS",
            "id": waba.business_id,
            "can_send_message": "AVAILABLE",
        }
        if biz is not None and biz.verification_status != "verified":
            b["can_send_message"] = "LIMITED"
            b["errors"] = [
                {
                    "error_code": 141010,
                    "error_description": "The business has not passed business verification.",
                    "possible_solution": "Complete business verification.",
                }
            ]
        entities.append(b)
        entities.append(
            {"entity_type": "APP", "id": self.config.app_id, "can_send_message": "AVAILABLE"}
        )
        rank = {"AVAILABLE": 0, "LIMITED": 1, "BLOCKED": 2}
        overall = max((e["can_send_message"] for e in entities), key=lambda s: rank[s])
        return {"can_send_message": overall, "entities": entities}

    def waba_full(self, waba: Waba) -> dict[str, Any]:
        biz = self.businesses.get(waba.business_id)
        limit = biz.messaging_limit if biz else "TIER_250"
        return {
            "id": waba.id,
            "name": waba.name,
            "currency": waba.currency,
            "timezone_id": waba.timezone_id,
            "country": waba.country,
            "message_template_namespace": waba.message_template_namespace,
            "account_review_status": waba.account_review_status,
            "business_verification_status": biz.verification_status if biz else "not_verified",
            "ownership_type": waba.ownership_type,
            "primary_business_location": waba.country,
            "status": waba.status,
            "ban_state": waba.ban_state,
            "health_status": self.health(waba=waba),
            "owner_business_info": {"id": waba.business_id, "name": biz.name if biz else ""},
            "on_behalf_of_business_info": {"id": waba.business_id, "name": biz.name if biz else ""},
            "whatsapp_business_manager_messaging_limit": limit,
            "messaging_limit_tier": LIMIT_TO_LEGACY.get(limit, limit),
            "is_enabled_for_insights": True,
            "marketing_messages_lite_api_status": "INELIGIBLE",
            "purchase_order_number": None,
            "subscribed_apps": {"data": self.subscriptions_list(waba)},
            "phone_numbers": {
                "data": [
                    {
                        "id": p.id,
                        "display_phone_number": p.display_number(),
                        "verified_name": p.verified_name,
                    }
                    for p in self.phones.values()
                    if p.waba_id == waba.id
                ]
            },
            "message_templates": {
                "data": [
                    {"id": t.id, "name": t.name, "status": t.status}
                    for t in self.templates.values()
                    if t.waba_id == waba.id
                ]
            },
        }

    def phone_full(self, phone: PhoneNumber) -> dict[str, Any]:
        waba = self.wabas[phone.waba_id]
        biz = self.businesses.get(waba.business_id)
        limit = biz.messaging_limit if biz else "TIER_250"
        return {
            "id": phone.id,
            "display_phone_number": phone.display_number(),
            "verified_name": phone.verified_name,
            "status": phone.status,
            "quality_rating": phone.quality_rating,
            "quality_score": {"score": phone.quality_rating},
            "code_verification_status": phone.code_verification_status,
            "name_status": phone.name_status,
            "new_name_status": phone.new_name_status,
            "new_display_name": phone.new_display_name,
            "platform_type": phone.platform_type,
            "host_platform": phone.platform_type,
            "account_mode": phone.account_mode,
            "throughput": {"level": phone.throughput_level},
            "is_official_business_account": phone.is_official_business_account,
            "is_pin_enabled": phone.pin is not None,
            "is_preverified_number": False,
            "is_on_biz_app": False,
            "search_visibility": phone.search_visibility,
            "country_code": country_of(phone.cc, phone.national_number),
            "country_dial_code": phone.cc,
            "messaging_limit_tier": LIMIT_TO_LEGACY.get(limit, limit),
            "whatsapp_business_manager_messaging_limit": limit,
            "webhook_configuration": self._phone_webhook_config(phone, waba),
            "health_status": self.health(waba=waba, phone=phone),
            "last_onboarded_time": (
                time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(phone.last_onboarded_time))
                if phone.last_onboarded_time
                else None
            ),
            "conversational_automation": {"enable_welcome_message": False},
            "eligibility_for_api_business_global_search": "NON_ELIGIBLE_UNDEFINED_COUNTRY",
            "certificate": _b64(f"cert:{phone.id}:{phone.verified_name}".encode()),
            "unified_cert_status": None,
        }

    def _phone_webhook_config(self, phone: PhoneNumber, waba: Waba) -> dict[str, str]:
        conf: dict[str, str] = {}
        if self.config.webhook_url:
            conf["application"] = self.config.webhook_url
        sub = waba.subscriptions.get(self.config.app_id)
        if sub and sub.override_callback_uri:
            conf["whatsapp_business_account"] = sub.override_callback_uri
        if phone.webhook_override:
            conf["phone_number"] = phone.webhook_override.get("override_callback_uri", "")
        return conf

    def template_full(self, t: Template) -> dict[str, Any]:
        return {
            "id": t.id,
            "name": t.name,
            "language": t.language,
            "status": t.status,
            "category": t.category,
            "components": t.components,
            "parameter_format": t.parameter_format,
            "rejected_reason": t.rejected_reason,
            "previous_category": t.previous_category,
            "quality_score": {"score": t.quality_score, "date": int(t.created_at)},
            "message_send_ttl_seconds": t.message_send_ttl_seconds,
            "sub_category": None,
        }

    def subscriptions_list(self, waba: Waba) -> list[dict[str, Any]]:
        out = []
        for sub in waba.subscriptions.values():
            item: dict[str, Any] = {
                "whatsapp_business_api_data": {
                    "id": sub.app_id,
                    "name": sub.app_name,
                    "link": f"https://www.facebook.com/games/?app_id={sub.app_id}",
                }
            }
            if sub.override_callback_uri:
                item["override_callback_uri"] = sub.override_callback_uri
            out.append(item)
        return out

    # ------------------------------------------------------------------ WABA
    def waba_get(self, tok: Token, waba_id: str, fields: str | None) -> dict[str, Any]:
        with self.lock:
            waba = self.waba_for(tok, waba_id)
            return select_fields(
                self.waba_full(waba), fields, ["id", "name"], "WhatsAppBusinessAccount"
            )

    def waba_update(self, tok: Token, waba_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            waba = self.waba_for(tok, waba_id, "whatsapp_business_management")
            if "name" in params:
                name = str(params["name"])
                if not 1 <= len(name) <= 100:
                    raise invalid_param("name must be 1-100 characters")
                waba.name = name
            if "timezone_id" in params:
                waba.timezone_id = str(params["timezone_id"])
            return {"success": True}

    def subscribed_apps_get(self, tok: Token, waba_id: str) -> dict[str, Any]:
        with self.lock:
            waba = self.waba_for(tok, waba_id)
            return {"data": self.subscriptions_list(waba)}

    def subscribe(self, tok: Token, waba_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            waba = self.waba_for(tok, waba_id, "whatsapp_business_management")
            uri = params.get("override_callback_uri")
            verify = params.get("verify_token")
            if uri is not None:
                uri = str(uri)
                if not re.match(r"^https?://", uri):
                    raise GraphError(
                        100, "Webhook callback URL is not reachable or invalid", http_status=422
                    )
                if not verify:
                    raise invalid_param("verify_token is required with override_callback_uri")
            waba.subscriptions[self.config.app_id] = Subscription(
                app_id=self.config.app_id,
                app_name=self.config.app_name,
                override_callback_uri=uri,
                verify_token=str(verify) if verify else None,
            )
            result: dict[str, Any] = {"success": True}
            if uri:
                result["data"] = self.subscriptions_list(waba)
            return result

    def unsubscribe(self, tok: Token, waba_id: str) -> dict[str, Any]:
        with self.lock:
            waba = self.waba_for(tok, waba_id, "whatsapp_business_management")
            waba.subscriptions.pop(self.config.app_id, None)
            return {"success": True}

    # ------------------------------------------------------------------ numbers
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

    def phones_list(
        self, tok: Token, waba_id: str, params: dict[str, Any], url: str
    ) -> dict[str, Any]:
        with self.lock:
            waba = self.waba_for(tok, waba_id)
            phones = [p for p in self.phones.values() if p.waba_id == waba.id]
            sort = params.get("sort") or "creation_time.asc"
            phones.sort(
                key=lambda p: (p.created_at, int(p.id)), reverse=str(sort).endswith(".desc")
            )
            items = [self.phone_full(p) for p in phones]
            filtering = params.get("filtering")
            if filtering:
                if isinstance(filtering, str):
                    import json

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

    def phone_add(self, tok: Token, waba_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            waba = self.waba_for(tok, waba_id, "whatsapp_business_management")
            number = str(require(params, "phone_number"))
            cc = params.get("cc") or params.get("country_code")
            name = str(require(params, "verified_name"))
            if not cc and not str(number).startswith("+"):
                require(params, "cc")
            if not 2 <= len(name) <= 75:
                raise invalid_param("verified_name must be 2-75 characters")
            digits = _digits(number)
            if not re.match(r"^[1-9][0-9]{6,14}$", digits):
                raise invalid_param("phone_number is not a valid phone number")
            cc_s, national = split_e164(number, str(cc) if cc else None)
            phone = self._create_phone(waba, cc_s, national, name)
            return {"id": phone.id}

    def _create_phone(self, waba: Waba, cc: str, national: str, name: str) -> PhoneNumber:
        for other in self.phones.values():
            if other.e164_digits == cc + national:
                if other.waba_id == waba.id:
                    return other
                raise GraphError(
                    100,
                    "This phone number is already registered to another WhatsApp Business Account.",
                    http_status=409,
                )
        phone = PhoneNumber(
            id=self.new_id(),
            waba_id=waba.id,
            cc=cc,
            national_number=national,
            verified_name=name,
            created_at=self.now(),
        )
        self.phones[phone.id] = phone
        return phone

    def phone_get(self, tok: Token, phone_id: str, fields: str | None) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id)
            return select_fields(
                self.phone_full(phone),
                fields,
                self.PHONE_DEFAULT_FIELDS,
                "WhatsAppBusinessPhoneNumber",
            )

    def phone_update(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_management")
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
                new_name = str(params["new_display_name"])
                if not 2 <= len(new_name) <= 75:
                    raise invalid_param("new_display_name must be 2-75 characters")
                phone.new_display_name = new_name
                phone.new_name_status = "PENDING_REVIEW"
                self._schedule_name_review(phone)
            if "search_visibility" in params:
                if params["search_visibility"] not in ("VISIBLE", "HIDDEN"):
                    raise invalid_param("search_visibility must be VISIBLE or HIDDEN")
                phone.search_visibility = str(params["search_visibility"])
            if "webhook_configuration" in params:
                conf = params["webhook_configuration"]
                if not isinstance(conf, dict) or "override_callback_uri" not in conf:
                    raise invalid_param("webhook_configuration.override_callback_uri is required")
                phone.webhook_override = {k: str(v) for k, v in conf.items()}
            return {"success": True}

    def request_code(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_management")
            method = str(require(params, "code_method")).upper()
            language = str(require(params, "language"))
            if method not in ("SMS", "VOICE"):
                raise invalid_param("code_method must be SMS or VOICE")
            if not re.match(r"^[a-z]{2}(_[A-Z]{2})?$", language):
                raise invalid_param("language must look like en_US")
            now = self.now()
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

    def _new_code(self, phone: PhoneNumber, code: str, method: str, language: str) -> Any:
        from .models import VerificationCode

        vc = VerificationCode(code=code, issued_at=self.now(), method=method, language=language)
        self.codes_log.append(
            {
                "phone_number_id": phone.id,
                "display_phone_number": phone.display_number(),
                "code": code,
                "method": method,
                "issued_at": vc.issued_at,
                "expires_at": vc.issued_at + self.config.code_ttl,
            }
        )
        self.codes_log = self.codes_log[-500:]
        return vc

    def verify_code(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_management")
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
        if vc.issued_at + self.config.code_ttl < self.now():
            phone.code = None
            raise GraphError(136025, "The verification code has expired. Request a new code.")
        if code != vc.code:
            vc.attempts += 1
            if vc.attempts >= self.config.verify_attempts_max:
                phone.code = None
                raise GraphError(136025, "Too many incorrect attempts. Request a new code.")
            raise GraphError(136025, "Code Mismatch: the code you entered is not correct.")
        phone.code = None
        phone.code_verification_status = "VERIFIED"

    def _count_register_call(self, phone: PhoneNumber) -> None:
        now = self.now()
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

    def register(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_management")
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
            phone.last_onboarded_time = self.now()
            if phone.new_name_status == "APPROVED" and phone.new_display_name:
                phone.verified_name = phone.new_display_name
                phone.name_status = "APPROVED"
                phone.new_display_name, phone.new_name_status = None, None
            return {"success": True}

    def deregister(self, tok: Token, phone_id: str) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_management")
            if not phone.registered:
                raise GraphError(100, subcode=2207051)
            self._count_register_call(phone)
            phone.status = "DISCONNECTED"
            phone.platform_type = "NOT_APPLICABLE"
            return {"success": True}

    def settings_get(self, tok: Token, phone_id: str) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id)
            out: dict[str, Any] = {
                "calling": {
                    "status": "disabled",
                    "call_icon_visibility": "visible",
                    "callback_permission_status": "disabled",
                    "ip_addresses": {"default": []},
                },
                "storage_configuration": {"status": "default"},
                "payload_encryption": {"status": "disabled"},
                "user_identity_change": {"enabled": False},
            }
            for key, value in phone.settings.items():
                out[key] = value
            return out

    def settings_update(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_management")
            features = [
                k
                for k in (
                    "calling",
                    "user_identity_change",
                    "payload_encryption",
                    "storage_configuration",
                )
                if k in params
            ]
            if len(features) != 1:
                raise invalid_param("Exactly one setting may be updated per request")
            key = features[0]
            value = params[key]
            if not isinstance(value, dict):
                raise invalid_param(f"{key} must be an object")
            if key == "storage_configuration":
                value = {
                    "status": "in_country_storage_enabled"
                    if _as_bool(value.get("enabled"))
                    else "default",
                    "data_localization_region": value.get("region"),
                }
            elif key == "calling":
                value = {"status": "disabled", "ip_addresses": {"default": []}, **value}
                value["status"] = str(value["status"]).lower()
            phone.settings[key] = value
            return {"success": True}

    PROFILE_FIELDS = [
        "about",
        "address",
        "description",
        "email",
        "profile_picture_url",
        "websites",
        "vertical",
        "messaging_product",
    ]

    def profile_get(self, tok: Token, phone_id: str, fields: str | None) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id)
            prof = {
                "messaging_product": "whatsapp",
                "about": "",
                "address": "",
                "description": "",
                "email": "",
                "profile_picture_url": "",
                "websites": [],
                "vertical": "UNDEFINED",
            }
            prof.update(phone.profile)
            wanted = parse_fields(fields)
            if wanted:
                unknown = [f for f in wanted if f not in prof]
                if unknown:
                    raise invalid_param(f"Tried accessing nonexisting field ({unknown[0]})")
                prof = {k: v for k, v in prof.items() if k in wanted or k == "messaging_product"}
            return {"data": [prof]}

    def profile_update(
        self, tok: Token, phone_id: str, params: dict[str, Any], base_url: str
    ) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_management")
            if require(params, "messaging_product") != "whatsapp":
                raise invalid_param("messaging_product must be whatsapp")
            limits = {
                "about": (1, 139),
                "address": (0, 256),
                "description": (0, 512),
                "email": (0, 128),
            }
            for key, (lo, hi) in limits.items():
                if key in params:
                    val = str(params[key])
                    if not lo <= len(val) <= hi:
                        raise invalid_param(f"{key} must be {lo}-{hi} characters")
                    phone.profile[key] = val
            if "websites" in params:
                sites = params["websites"]
                if isinstance(sites, str):
                    sites = [sites]
                if (
                    not isinstance(sites, list)
                    or len(sites) > 2
                    or any(len(str(s)) > 256 for s in sites)
                ):
                    raise invalid_param("websites accepts at most 2 URLs of 256 characters")
                phone.profile["websites"] = [str(s) for s in sites]
            if "vertical" in params:
                if params["vertical"] not in VERTICALS:
                    raise invalid_param("vertical is not a valid value")
                phone.profile["vertical"] = params["vertical"]
            if params.get("profile_picture_handle"):
                session = self.upload_handles.get(str(params["profile_picture_handle"]))
                if session is None:
                    raise invalid_param("profile_picture_handle is not a valid upload handle")
                media = self._store_media(None, session.file_type, session.data, session.file_name)
                phone.profile["profile_picture_url"] = f"{base_url}/pps/{media.id}"
            return {"success": True}

    def oba_get(self, tok: Token, phone_id: str) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id)
            return {
                "id": phone.id,
                "oba_status": phone.oba_status,
                "status_message": phone.oba_status_message,
            }

    def oba_post(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_management")
            action = str(params.get("action") or "SUBMIT_APPLICATION")
            if action == "WITHDRAW_APPLICATION":
                phone.oba_status, phone.oba_status_message = "CANCELLED", "Application withdrawn"
            else:
                phone.oba_status = "PENDING"
                phone.oba_status_message = (
                    "Your Official Business Account application is under review"
                )
            return {
                "success": True,
                "message": f"Official Business Account {action.lower()} accepted",
                "updated_status": {
                    "id": phone.id,
                    "oba_status": phone.oba_status,
                    "status_message": phone.oba_status_message,
                },
                "tracking_id": "oba_req_" + secrets.token_hex(8),
            }

    # ------------------------------------------------------------------ QR codes
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

    def qr_list(
        self, tok: Token, phone_id: str, params: dict[str, Any], url: str
    ) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id)
            items = [
                self._qr_dict(q) for q in self.qr_codes.values() if q.phone_number_id == phone.id
            ]
            if params.get("code"):
                items = [i for i in items if i["code"] == params["code"]]
            return paginate(items, params, url, key="code")

    def qr_get(self, tok: Token, phone_id: str, code: str) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id)
            qr = self.qr_codes.get(code)
            if qr is None or qr.phone_number_id != phone.id:
                raise not_found(code)
            return self._qr_dict(qr)

    def qr_upsert(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_management")
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

    def qr_delete(self, tok: Token, phone_id: str, code: str) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_management")
            qr = self.qr_codes.get(code)
            if qr is None or qr.phone_number_id != phone.id:
                raise not_found(code)
            del self.qr_codes[code]
            return {"success": True}

    # ------------------------------------------------------------------ templates
    def _validate_components(self, components: Any, category: str) -> list[dict[str, Any]]:
        if isinstance(components, str):
            import json

            try:
                components = json.loads(components)
            except ValueError as exc:
                raise invalid_param("components must be a JSON array") from exc
        if not isinstance(components, list) or not components:
            raise invalid_param("components is required and must be a non-empty array")
        by_type: dict[str, dict[str, Any]] = {}
        for comp in components:
            if not isinstance(comp, dict) or "type" not in comp:
                raise invalid_param("each component needs a type")
            ctype = str(comp["type"]).upper()
            if ctype not in (
                "HEADER",
                "BODY",
                "FOOTER",
                "BUTTONS",
                "CAROUSEL",
                "LIMITED_TIME_OFFER",
            ):
                raise invalid_param(f"Unknown component type {comp['type']}")
            by_type[ctype] = comp
        body = by_type.get("BODY")
        if body is None:
            raise invalid_param("A BODY component is required")
        text = str(body.get("text", ""))
        if category != "AUTHENTICATION":
            if not text:
                raise invalid_param("BODY text is required")
            if len(text) > 1024:
                raise GraphError(100, "Body text is limited to 1024 characters", subcode=2388040)
            stripped = text.strip()
            if VAR_RE.match(stripped) or re.search(r"\{\{\s*[A-Za-z0-9_]+\s*\}\}$", stripped):
                raise GraphError(100, subcode=2388299)
        header = by_type.get("HEADER")
        if header is not None:
            fmt = str(header.get("format", "TEXT")).upper()
            if fmt not in ("TEXT", "IMAGE", "VIDEO", "GIF", "DOCUMENT", "LOCATION", "PRODUCT"):
                raise invalid_param(f"Unknown header format {fmt}")
            if fmt == "TEXT":
                htext = str(header.get("text", ""))
                if len(htext) > 60:
                    raise GraphError(
                        100, "Header text is limited to 60 characters", subcode=2388040
                    )
                if len(VAR_RE.findall(htext)) > 1:
                    raise invalid_param("Header text may contain at most one parameter")
        footer = by_type.get("FOOTER")
        if footer is not None and len(str(footer.get("text", ""))) > 60:
            raise GraphError(100, "Footer text is limited to 60 characters", subcode=2388040)
        buttons_comp = by_type.get("BUTTONS")
        if buttons_comp is not None:
            buttons = buttons_comp.get("buttons") or []
            if not isinstance(buttons, list) or not buttons or len(buttons) > 10:
                raise invalid_param("BUTTONS needs 1-10 buttons")
            kinds = [str(b.get("type", "")).upper() for b in buttons]
            if kinds.count("URL") > 2 or kinds.count("PHONE_NUMBER") > 1:
                raise invalid_param("At most 2 URL buttons and 1 PHONE_NUMBER button")
            if category == "AUTHENTICATION" and kinds != ["OTP"]:
                raise invalid_param("Authentication templates take exactly one OTP button")
            quick = [k == "QUICK_REPLY" for k in kinds]
            switches = sum(1 for a, b in itertools.pairwise(quick) if a != b)
            if switches > 1:
                raise invalid_param("Quick reply buttons must be grouped together")
        return components

    def templates_list(
        self, tok: Token, waba_id: str, params: dict[str, Any], url: str
    ) -> dict[str, Any]:
        with self.lock:
            waba = self.waba_for(tok, waba_id)
            items = [t for t in self.templates.values() if t.waba_id == waba.id]
            items.sort(key=lambda t: (t.created_at, int(t.id)), reverse=True)
            if params.get("name"):
                needle = str(params["name"]).lower()
                items = [t for t in items if needle in t.name.lower()]
            for key in ("status", "category", "language"):
                if params.get(key):
                    allowed = {
                        v.strip().upper() if key != "language" else v.strip()
                        for v in str(params[key]).split(",")
                    }
                    items = [
                        t
                        for t in items
                        if (getattr(t, key).upper() if key != "language" else t.language) in allowed
                    ]
            if params.get("content"):
                needle = str(params["content"]).lower()
                items = [t for t in items if needle in t.body_text().lower()]
            if params.get("name_or_content"):
                needle = str(params["name_or_content"]).lower()
                items = [
                    t for t in items if needle in t.name.lower() or needle in t.body_text().lower()
                ]
            default = [
                "id",
                "name",
                "language",
                "status",
                "category",
                "components",
                "parameter_format",
                "rejected_reason",
                "previous_category",
            ]
            selected = [
                select_fields(
                    self.template_full(t), params.get("fields"), default, "WhatsAppMessageTemplate"
                )
                for t in items
            ]
            result = paginate(selected, params, url)
            if params.get("summary"):
                names = {t.name for t in self.templates.values() if t.waba_id == waba.id}
                result["summary"] = {
                    "total_count": len(items),
                    "message_template_count": len(names),
                    "message_template_limit": self.config.template_limit,
                }
            return result

    def template_create(self, tok: Token, waba_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            waba = self.waba_for(tok, waba_id, "whatsapp_business_management")
            name = str(require(params, "name"))
            language = str(require(params, "language"))
            category = str(require(params, "category")).upper()
            if not TEMPLATE_NAME_RE.match(name):
                raise invalid_param(
                    "Template name may contain only lower-case letters, "
                    "digits and underscores (max 512)"
                )
            if category not in TEMPLATE_CATEGORIES:
                raise invalid_param("category must be AUTHENTICATION, MARKETING or UTILITY")
            components = self._validate_components(params.get("components"), category)
            mine = [t for t in self.templates.values() if t.waba_id == waba.id]
            if any(t.name == name and t.language == language for t in mine):
                raise GraphError(
                    100,
                    subcode=2388024,
                    user_title="Message template already exists",
                    user_msg=f"There is already {language} content for this template. "
                    "Edit the existing content or use another name.",
                )
            cutoff = self.now() - 30 * 86400
            if any(
                w == waba.id and n == name and lang == language and at > cutoff
                for w, n, lang, at in self.deleted_templates
            ):
                raise GraphError(100, subcode=2388023)
            names = {t.name for t in mine}
            if name not in names and len(names) >= self.config.template_limit:
                raise GraphError(
                    100,
                    subcode=2388019,
                    user_title="Message template limit exceeded",
                    user_msg=f"You have reached the limit of {self.config.template_limit} "
                    "message templates for this WhatsApp Business Account.",
                )
            fmt = str(params.get("parameter_format") or "POSITIONAL").upper()
            ttl = params.get("message_send_ttl_seconds")
            tpl = Template(
                id=self.new_id(),
                waba_id=waba.id,
                name=name,
                language=language,
                category=category,
                components=components,
                parameter_format=fmt,
                message_send_ttl_seconds=int(ttl) if ttl is not None else None,
                created_at=self.now(),
            )
            self.templates[tpl.id] = tpl
            if category in self.config.auto_approve_categories:
                tpl.status = "APPROVED"
            else:
                self._schedule_review(tpl)
            return {"id": tpl.id, "status": tpl.status, "category": tpl.category}

    def _rule_matches(self, rule: dict[str, Any], name: str, body: str, category: str) -> bool:
        kind, value = rule.get("match"), str(rule.get("value", ""))
        if kind == "name_contains":
            return value.lower() in name.lower()
        if kind == "name_regex":
            return re.search(value, name) is not None
        if kind == "body_contains":
            return value.lower() in body.lower()
        if kind == "body_regex":
            return re.search(value, body) is not None
        if kind == "category":
            return category.upper() == value.upper()
        return False

    def decide_template(self, tpl: Template) -> tuple[str, str]:
        for rule in self.config.review_rules:
            if self._rule_matches(rule, tpl.name, tpl.body_text(), tpl.category):
                return str(rule.get("decision", "REJECTED")).upper(), str(
                    rule.get("reason", "NONE")
                )
        return "APPROVED", "NONE"

    def _schedule_review(self, tpl: Template) -> None:
        tpl.review_seq += 1
        seq = tpl.review_seq
        self.scheduler.call_later(self.config.review_delay, lambda: self._review(tpl.id, seq))

    def _review(self, template_id: str, seq: int) -> None:
        with self.lock:
            tpl = self.templates.get(template_id)
            if tpl is None or tpl.review_seq != seq or tpl.status != "PENDING":
                return
            decision, reason = self.decide_template(tpl)
            self.set_template_status(tpl, decision, reason)

    def set_template_status(
        self, tpl: Template, event: str, reason: str = "NONE", extra: dict[str, Any] | None = None
    ) -> None:
        if event in (
            "APPROVED",
            "REJECTED",
            "PAUSED",
            "DISABLED",
            "PENDING",
            "FLAGGED",
            "IN_APPEAL",
            "REINSTATED",
            "PENDING_DELETION",
            "DELETED",
            "LIMIT_EXCEEDED",
            "ARCHIVED",
            "LOCKED",
        ):
            tpl.status = "APPROVED" if event in ("REINSTATED",) else event
        tpl.rejected_reason = reason if event == "REJECTED" else "NONE"
        value: dict[str, Any] = {
            "event": event,
            "message_template_id": int(tpl.id),
            "message_template_name": tpl.name,
            "message_template_language": tpl.language,
            "reason": reason,
            "message_template_category": tpl.category,
        }
        if event == "REJECTED" and reason == "INVALID_FORMAT":
            value["rejection_info"] = {
                "reason": "The template format is invalid.",
                "recommendation": "Review the template guidelines.",
            }
        if event == "DISABLED":
            value["disable_info"] = {"disable_date": int(self.now())}
        value.update(extra or {})
        self._emit("message_template_status_update", value, waba=self.wabas.get(tpl.waba_id))

    def template_get(self, tok: Token, template_id: str, fields: str | None) -> dict[str, Any]:
        with self.lock:
            tpl = self.templates.get(template_id)
            if tpl is None:
                raise not_found(template_id)
            self._check_waba_access(tok, tpl.waba_id)
            default = [
                "id",
                "name",
                "language",
                "status",
                "category",
                "components",
                "parameter_format",
                "rejected_reason",
            ]
            return select_fields(
                self.template_full(tpl), fields, default, "WhatsAppMessageTemplate"
            )

    def template_edit(self, tok: Token, template_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            tpl = self.templates.get(template_id)
            if tpl is None:
                raise not_found(template_id)
            self._check_waba_access(tok, tpl.waba_id, "whatsapp_business_management")
            if tpl.status not in ("APPROVED", "REJECTED", "PAUSED"):
                raise invalid_param(f"A template in status {tpl.status} cannot be edited")
            category = str(params.get("category") or tpl.category).upper()
            if category not in TEMPLATE_CATEGORIES:
                raise invalid_param("category must be AUTHENTICATION, MARKETING or UTILITY")
            if "components" in params:
                tpl.components = self._validate_components(params["components"], category)
            if category != tpl.category:
                tpl.previous_category, tpl.category = tpl.category, category
            if "message_send_ttl_seconds" in params:
                tpl.message_send_ttl_seconds = int(params["message_send_ttl_seconds"])
            tpl.status = "PENDING"
            tpl.rejected_reason = "NONE"
            self._schedule_review(tpl)
            return {"success": True}

    def template_delete(self, tok: Token, waba_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            waba = self.waba_for(tok, waba_id, "whatsapp_business_management")
            name = str(require(params, "name"))
            hsm_id = params.get("hsm_id")
            victims = [
                t
                for t in self.templates.values()
                if t.waba_id == waba.id and t.name == name and (not hsm_id or t.id == str(hsm_id))
            ]
            if not victims:
                raise GraphError(100, f'Message template "{name}" not found', subcode=2593002)
            for tpl in victims:
                del self.templates[tpl.id]
                if tpl.status == "APPROVED":
                    self.deleted_templates.append((waba.id, tpl.name, tpl.language, self.now()))
            return {"success": True}

    # ------------------------------------------------------------------ media
    def _store_media(
        self, owner: str | None, mime: str, data: bytes, filename: str | None = None
    ) -> Media:
        media = Media(
            id=self.new_id(),
            owner_phone_id=owner,
            mime_type=mime,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            filename=filename,
            created_at=self.now(),
        )
        self.media[media.id] = media
        return media

    def media_upload(
        self, tok: Token, phone_id: str, params: dict[str, Any], file: tuple[str, str, bytes] | None
    ) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_messaging")
            if require(params, "messaging_product") != "whatsapp":
                raise invalid_param("messaging_product must be whatsapp")
            if file is None:
                raise invalid_param("The parameter file is required.")
            filename, mime, data = file
            mime = str(params.get("type") or mime or "application/octet-stream")
            if not data:
                raise GraphError(131053, "The uploaded file is empty.")
            media = self._store_media(phone.id, mime, data, filename)
            return {"id": media.id}

    def media_get(self, tok: Token, media_id: str, base_url: str) -> dict[str, Any]:
        with self.lock:
            media = self._media_for(tok, media_id)
            return {
                "messaging_product": "whatsapp",
                "url": f"{base_url}/whatsapp_business/attachments/?mid={media.id}"
                f"&hash={media.sha256[:16]}",
                "mime_type": media.mime_type,
                "sha256": media.sha256,
                "file_size": len(media.data),
                "id": media.id,
            }

    def _media_for(self, tok: Token, media_id: str) -> Media:
        media = self.media.get(media_id)
        if media is None:
            raise not_found(media_id)
        if media.owner_phone_id and media.owner_phone_id in self.phones:
            self._check_waba_access(tok, self.phones[media.owner_phone_id].waba_id)
        return media

    def media_delete(self, tok: Token, media_id: str) -> dict[str, Any]:
        with self.lock:
            media = self._media_for(tok, media_id)
            del self.media[media.id]
            return {"success": True}

    def media_download(self, tok: Token, media_id: str) -> Media:
        with self.lock:
            return self._media_for(tok, media_id)

    def media_public(self, media_id: str) -> Media | None:
        with self.lock:
            return self.media.get(media_id)

    def upload_start(self, tok: Token, app_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if app_id != self.config.app_id:
                raise not_found(app_id)
            length = int(require(params, "file_length"))
            ftype = str(require(params, "file_type"))
            if ftype not in (
                "image/jpeg",
                "image/jpg",
                "image/png",
                "video/mp4",
                "application/pdf",
            ):
                raise invalid_param("file_type is not supported")
            session = UploadSession(
                id=self.new_id(),
                file_name=str(params.get("file_name") or "upload"),
                file_length=length,
                file_type=ftype,
            )
            self.uploads[session.id] = session
            return {"id": f"upload:{session.id}"}

    def upload_data(self, tok: Token, session_id: str, data: bytes, offset: int) -> dict[str, Any]:
        with self.lock:
            session = self.uploads.get(session_id)
            if session is None:
                raise not_found(f"upload:{session_id}")
            if offset != len(session.data):
                raise invalid_param(f"file_offset must be {len(session.data)}")
            session.data += data
            if len(session.data) >= session.file_length:
                session.handle = (
                    "4::"
                    + _b64(f"{session.file_type}:{session.id}".encode())
                    + ":"
                    + secrets.token_urlsafe(24)
                )
                self.upload_handles[session.handle] = session
                return {"h": session.handle}
            return {"id": f"upload:{session.id}", "file_offset": len(session.data)}

    def upload_status(self, tok: Token, session_id: str) -> dict[str, Any]:
        with self.lock:
            session = self.uploads.get(session_id)
            if session is None:
                raise not_found(f"upload:{session_id}")
            return {"id": f"upload:{session.id}", "file_offset": len(session.data)}

    # ------------------------------------------------------------------ business
    def business_get(self, tok: Token, business_id: str, fields: str | None) -> dict[str, Any]:
        with self.lock:
            biz = self.businesses.get(business_id)
            if biz is None:
                raise not_found(business_id)
            if (
                tok.waba_ids is not None
                and not any(
                    self.wabas[w].business_id == biz.id for w in tok.waba_ids if w in self.wabas
                )
                and biz.id not in tok.business_ids
            ):
                raise GraphError(200, "No permission for this business")
            full = {
                "id": biz.id,
                "name": biz.name,
                "verification_status": biz.verification_status,
                "created_time": time.strftime(
                    "%Y-%m-%dT%H:%M:%S+0000", time.gmtime(biz.created_at)
                ),
            }
            return select_fields(full, fields, ["id", "name"], "Business")

    def business_wabas(
        self, tok: Token, business_id: str, params: dict[str, Any], url: str
    ) -> dict[str, Any]:
        with self.lock:
            self.business_get(tok, business_id, None)
            items = [
                self.waba_full(w)
                for w in self.wabas.values()
                if w.business_id == business_id and (tok.waba_ids is None or w.id in tok.waba_ids)
            ]
            selected = [
                select_fields(i, params.get("fields"), ["id", "name"], "WhatsAppBusinessAccount")
                for i in items
            ]
            return paginate(selected, params, url)

    # ------------------------------------------------------------------ messages
    def _check_rate(self, phone: PhoneNumber, wa_id: str) -> None:
        now = time.monotonic()
        times = self.send_times.setdefault(phone.id, deque())
        while times and times[0] <= now - 1.0:
            times.popleft()
        limit = self.config.throughput if phone.throughput_level == "STANDARD" else 1000
        if len(times) >= limit:
            raise GraphError(
                130429,
                f"Cloud API message throughput of {limit} messages per "
                "second has been reached for this phone number.",
            )
        key = (phone.id, wa_id)
        burst = float(self.config.pair_burst)
        tokens, last = self.pair_buckets.get(key, (burst, now))
        interval = max(self.config.pair_interval, 1e-6)
        tokens = min(burst, tokens + (now - last) / interval)
        if tokens < 1:
            self.pair_buckets[key] = (tokens, now)
            raise GraphError(
                131056,
                "Too many messages sent from this phone number to the "
                "same phone number in a short period of time.",
            )
        self.pair_buckets[key] = (tokens - 1, now)
        times.append(now)

    def window_open(self, phone_id: str, wa_id: str) -> bool:
        last = self.windows.get((phone_id, wa_id))
        return last is not None and self.now() - last < self.config.window_seconds

    def send(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            phone = self.phone_for(tok, phone_id, "whatsapp_business_messaging")
            product = require(params, "messaging_product")
            if product != "whatsapp":
                raise invalid_param("messaging_product must be whatsapp")
            if params.get("status") is not None:
                return self._mark_read(phone, params)
            waba = self.wabas[phone.waba_id]
            if waba.ban_state == "DISABLE" or waba.status == "DISABLED":
                raise GraphError(131031, "The WhatsApp Business Account has been disabled.")
            if not phone.registered:
                raise GraphError(
                    133010,
                    "The sender phone number is not registered on the WhatsApp Business Platform.",
                )
            to = str(require(params, "to"))
            wa_id = _digits(to)
            if not wa_id:
                raise GraphError(131009, "The parameter to is not a valid phone number.")
            if wa_id == phone.e164_digits:
                raise GraphError(131021)
            mtype = str(params.get("type") or "text")
            if mtype not in OUTBOUND_TYPES:
                raise GraphError(131051, f"Message type {mtype} is not supported.")
            payload = params.get(mtype)
            if not isinstance(payload, dict) and mtype != "contacts":
                raise GraphError(
                    131008,
                    f"The parameter {mtype} is required.",
                    message=f"(#131008) Required parameter is missing: {mtype}",
                )
            category = "service"
            failure: GraphError | None = None
            if mtype == "template":
                tpl = self._template_for_send(waba, payload or {})
                category = tpl.category.lower()
            else:
                self._validate_outbound(mtype, payload, params)
                if not self.window_open(phone.id, wa_id):
                    raise GraphError(
                        131047,
                        "Message failed to send because more than 24 hours have passed since "
                        "the customer last replied to this number.",
                    )
                if (
                    mtype in MEDIA_TYPES
                    and isinstance(payload, dict)
                    and payload.get("id")
                    and str(payload["id"]) not in self.media
                ):
                    failure = GraphError(131053, "The media id could not be found.")
            self._check_rate(phone, wa_id)
            if wa_id in [_digits(r) for r in self.config.undeliverable_recipients]:
                failure = GraphError(131026, "Message undeliverable.")
            msg = Message(
                id=self._wamid(wa_id),
                phone_number_id=phone.id,
                direction="outbound",
                wa_id=wa_id,
                type=mtype,
                payload={k: v for k, v in params.items() if k != "access_token"},
                timestamp=self.now(),
            )
            self.messages[msg.id] = msg
            self.message_order.append(msg.id)
            self._schedule_statuses(
                msg, phone, category, failure, params.get("biz_opaque_callback_data")
            )
            return {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": wa_id}],
                "messages": [{"id": msg.id, "message_status": "accepted"}],
            }

    def _validate_outbound(self, mtype: str, payload: Any, params: dict[str, Any]) -> None:
        if mtype == "text":
            body = payload.get("body")
            if not body:
                raise GraphError(131008, "The parameter text['body'] is required.")
            if len(str(body)) > 4096:
                raise GraphError(131009, "text.body is limited to 4096 characters")
        elif mtype in MEDIA_TYPES:
            if not payload.get("id") and not payload.get("link"):
                raise GraphError(131008, f"{mtype} needs an id or a link")
        elif mtype == "location":
            if "latitude" not in payload or "longitude" not in payload:
                raise GraphError(131008, "location needs latitude and longitude")
        elif mtype == "contacts":
            if not isinstance(payload, list) or not payload:
                raise GraphError(131008, "contacts must be a non-empty array")
        elif mtype == "reaction":
            if not payload.get("message_id"):
                raise GraphError(131008, "reaction needs message_id")
        elif mtype == "interactive":
            itype = payload.get("type")
            action = payload.get("action") or {}
            if itype not in (
                "button",
                "list",
                "cta_url",
                "product",
                "product_list",
                "flow",
                "location_request_message",
                "address_message",
            ):
                raise GraphError(131009, "interactive.type is not valid")
            if not payload.get("body") and itype in ("button", "list"):
                raise GraphError(131008, "interactive.body is required")
            if itype == "button":
                buttons = action.get("buttons") or []
                if not 1 <= len(buttons) <= 3:
                    raise GraphError(131009, "interactive buttons: 1-3 reply buttons")
                for b in buttons:
                    reply = b.get("reply") or {}
                    if len(str(reply.get("title", ""))) > 20 or len(str(reply.get("id", ""))) > 256:
                        raise GraphError(131009, "button title ≤ 20 chars, id ≤ 256 chars")
            if itype == "list":
                sections = action.get("sections") or []
                if not 1 <= len(sections) <= 10 or len(str(action.get("button", ""))) > 20:
                    raise GraphError(131009, "list: 1-10 sections, button text ≤ 20 chars")

    def _template_for_send(self, waba: Waba, payload: dict[str, Any]) -> Template:
        name = payload.get("name")
        lang = payload.get("language") or {}
        code = lang.get("code") if isinstance(lang, dict) else lang
        if not name or not code:
            raise GraphError(131008, "template.name and template.language.code are required")
        match = [
            t
            for t in self.templates.values()
            if t.waba_id == waba.id and t.name == name and t.language == code
        ]
        if not match:
            raise GraphError(132001, f"template name ({name}) does not exist in {code}")
        tpl = match[0]
        if tpl.status == "PAUSED":
            raise GraphError(132015, f"Template {name} is paused.")
        if tpl.status == "DISABLED":
            raise GraphError(132016, f"Template {name} is disabled.")
        if tpl.status != "APPROVED":
            raise GraphError(
                132001, f"template name ({name}) does not exist in {code} (status {tpl.status})"
            )
        expected = len(set(VAR_RE.findall(tpl.body_text())))
        given = 0
        for comp in payload.get("components") or []:
            if str(comp.get("type", "")).lower() == "body":
                given = len(comp.get("parameters") or [])
        if expected and given != expected:
            raise GraphError(
                132000,
                f"body: number of localizable_params ({given}) does not "
                f"match the expected number of params ({expected})",
            )
        return tpl

    def _mark_read(self, phone: PhoneNumber, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("status") != "read":
            raise invalid_param("status must be read")
        mid = str(require(params, "message_id"))
        msg = self.messages.get(mid)
        if msg is None or msg.phone_number_id != phone.id or msg.direction != "inbound":
            raise invalid_param("Invalid message_id")
        msg.status = "read"
        return {"success": True}

    def _schedule_statuses(
        self,
        msg: Message,
        phone: PhoneNumber,
        category: str,
        failure: GraphError | None,
        opaque: Any,
    ) -> None:
        delays = self.config.status_delays
        steps: list[tuple[str, float]] = []
        if failure is not None:
            steps.append(("failed", float(delays.get("sent") or 0.0)))
        else:
            for status in ("sent", "delivered", "read"):
                d = delays.get(status)
                if d is not None:
                    steps.append((status, float(d)))
        for status, delay in steps:
            self.scheduler.call_later(
                delay,
                functools.partial(self._status_webhook, msg.id, status, category, failure, opaque),
            )

    def _status_webhook(
        self, message_id: str, status: str, category: str, failure: GraphError | None, opaque: Any
    ) -> None:
        with self.lock:
            msg = self.messages.get(message_id)
            if msg is None:
                return
            phone = self.phones.get(msg.phone_number_id)
            if phone is None:
                return
            msg.status = status
            item: dict[str, Any] = {
                "id": msg.id,
                "status": status,
                "timestamp": str(int(self.now())),
                "recipient_id": msg.wa_id,
            }
            if opaque:
                item["biz_opaque_callback_data"] = opaque
            if status in ("sent", "delivered", "read"):
                item["pricing"] = {
                    "billable": category != "service",
                    "pricing_model": "PMP",
                    "category": category,
                    "type": "regular" if category != "service" else "free_customer_service",
                }
            if status in ("sent", "delivered"):
                item["conversation"] = {
                    "id": hashlib.md5(  # noqa: S324 - not security
                        f"{phone.id}:{msg.wa_id}".encode()
                    ).hexdigest(),
                    "origin": {"type": category},
                }
            if failure is not None:
                item["errors"] = [failure.webhook_error()]
                msg.error = item["errors"][0]
            value = {
                "messaging_product": "whatsapp",
                "metadata": self._metadata(phone),
                "statuses": [item],
            }
            self._emit("messages", value, waba=self.wabas.get(phone.waba_id), phone=phone)

    # ------------------------------------------------------------------ inbound (control)
    def inbound(self, spec: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            phone_id = spec.get("phone_number_id") or spec.get("to")
            phone = self.phones.get(str(phone_id)) if phone_id else None
            if phone is None and spec.get("to"):
                phone = next(
                    (p for p in self.phones.values() if p.e164_digits == _digits(spec["to"])), None
                )
            if phone is None:
                raise ValueError("inbound needs an existing phone_number_id (or to=<number>)")
            wa_id = _digits(spec.get("from") or spec.get("wa_id") or "16505551234")
            name = spec.get("name") or spec.get("profile_name") or "Customer"
            mtype = str(spec.get("type") or ("text" if "text" in spec or "body" in spec else ""))
            if mtype not in INBOUND_TYPES:
                raise ValueError(f"type must be one of {INBOUND_TYPES}")
            ts = float(spec.get("timestamp") or self.now())
            mid = spec.get("message_id") or self._wamid(wa_id)
            message: dict[str, Any] = {
                "from": wa_id,
                "id": mid,
                "timestamp": str(int(ts)),
                "type": mtype,
            }
            body = spec.get(mtype, spec.get("body"))
            if mtype == "text":
                message["text"] = body if isinstance(body, dict) else {"body": str(body or "")}
            elif mtype in MEDIA_TYPES:
                given = body if isinstance(body, dict) else {}
                content = given.pop("content", None)
                mime = given.get("mime_type") or DEFAULT_MIME[mtype]
                data = (
                    base64.b64decode(content)
                    if content
                    else (f"mock {mtype} from {wa_id} ".encode() + os.urandom(16))
                )
                media = self._store_media(phone.id, mime, data, given.get("filename"))
                obj: dict[str, Any] = {"id": media.id, "mime_type": mime, "sha256": media.sha256}
                if mtype == "audio":
                    obj["voice"] = bool(given.get("voice", False))
                if mtype == "sticker":
                    obj["animated"] = bool(given.get("animated", False))
                if mtype == "document":
                    obj["filename"] = given.get("filename") or "document.pdf"
                if given.get("caption") and mtype in ("image", "video", "document"):
                    obj["caption"] = given["caption"]
                message[mtype] = obj
            elif mtype == "location":
                message["location"] = body or {
                    "latitude": 52.52,
                    "longitude": 13.405,
                    "name": "Brandenburg Gate",
                    "address": "Berlin",
                }
            elif mtype == "contacts":
                message["contacts"] = body or [
                    {
                        "name": {"formatted_name": "Jane Doe", "first_name": "Jane"},
                        "phones": [
                            {"phone": "+16505550000", "wa_id": "16505550000", "type": "MOBILE"}
                        ],
                    }
                ]
            elif mtype == "interactive":
                inter = body or {
                    "type": "button_reply",
                    "button_reply": {"id": "btn-1", "title": "Yes"},
                }
                message["interactive"] = inter
            elif mtype == "button":
                message["button"] = body or {"payload": "Yes", "text": "Yes"}
            elif mtype == "reaction":
                message["reaction"] = body or {
                    "message_id": spec.get("reply_to", ""),
                    "emoji": "\U0001f44d",
                }
            elif mtype == "order":
                message["order"] = body or {
                    "catalog_id": "1",
                    "text": "",
                    "product_items": [
                        {
                            "product_retailer_id": "sku-1",
                            "quantity": 1,
                            "item_price": 9.99,
                            "currency": "USD",
                        }
                    ],
                }
            elif mtype == "system":
                message["system"] = body or {
                    "body": "User changed number",
                    "wa_id": wa_id,
                    "type": "user_changed_number",
                }
            elif mtype == "unsupported":
                message["errors"] = [
                    {
                        "code": 131051,
                        "title": "Message type unknown",
                        "message": "Message type unknown",
                        "error_data": {"details": "Message type is currently not supported."},
                        "href": "https://developers.facebook.com/docs/"
                        "whatsapp/cloud-api/support/error-codes/",
                    }
                ]
            if spec.get("context"):
                message["context"] = spec["context"]
            elif spec.get("reply_to") and mtype != "reaction":
                message["context"] = {"from": phone.e164_digits, "id": spec["reply_to"]}
            if spec.get("referral"):
                message["referral"] = spec["referral"]
            value: dict[str, Any] = {
                "messaging_product": "whatsapp",
                "metadata": self._metadata(phone),
            }
            if mtype != "system":
                value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}]
            value["messages"] = [message]
            self.windows[(phone.id, wa_id)] = max(ts, self.windows.get((phone.id, wa_id), 0))
            self.messages[mid] = Message(
                id=mid,
                phone_number_id=phone.id,
                direction="inbound",
                wa_id=wa_id,
                type=mtype,
                payload=message,
                status="received",
                timestamp=ts,
            )
            self.message_order.append(mid)
            self._emit("messages", value, waba=self.wabas.get(phone.waba_id), phone=phone)
            return {
                "message_id": mid,
                "wa_id": wa_id,
                "phone_number_id": phone.id,
                "waba_id": phone.waba_id,
                "message": message,
            }

    # ------------------------------------------------------------------ name review
    def _schedule_name_review(self, phone: PhoneNumber) -> None:
        delay = self.config.name_review_delay
        if delay is None:
            return
        requested = phone.new_display_name

        def run() -> None:
            with self.lock:
                current = self.phones.get(phone.id)
                if (
                    current is None
                    or current.new_display_name != requested
                    or current.new_name_status != "PENDING_REVIEW"
                ):
                    return
                decision, reason = "APPROVED", None
                for rule in self.config.name_rules:
                    if self._rule_matches(rule, requested or "", "", ""):
                        decision = str(rule.get("decision", "REJECTED")).upper()
                        reason = str(rule.get("reason", "")) or None
                        break
                self.name_decision(current, decision, requested or "", reason)

        self.scheduler.call_later(delay, run)

    def name_decision(
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

    # ------------------------------------------------------------------ emit (control)
    def emit(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Apply an account / quality / name / template / capability event and send it."""
        with self.lock:
            fld = spec.get("field")
            value: dict[str, Any]
            if not fld:
                raise ValueError("emit needs a field")
            waba = self._find_waba(spec)
            if ("value" in spec and fld not in ("account_update",)) or spec.get("raw"):
                if waba is None and not spec.get("entry_id"):
                    raise ValueError("raw emit needs waba_id or entry_id")
                self._emit(
                    fld,
                    dict(spec.get("value") or {}),
                    waba=waba,
                    entry_id=spec.get("entry_id"),
                    app_level=bool(spec.get("app_level")),
                )
                return {"field": fld, "raw": True}
            if fld == "account_update":
                return self._emit_account_update(spec, waba)
            if fld == "phone_number_quality_update":
                phone = self._find_phone(spec)
                waba = self.wabas[phone.waba_id]
                biz = self.businesses.get(waba.business_id)
                event = str(spec.get("event") or "FLAGGED")
                old = biz.messaging_limit if biz else "TIER_250"
                new = str(spec.get("current_limit") or spec.get("new_limit") or old)
                if biz:
                    biz.messaging_limit = new
                if spec.get("quality_rating"):
                    phone.quality_rating = str(spec["quality_rating"])
                elif event == "FLAGGED":
                    phone.quality_rating = "RED"
                elif event == "UNFLAGGED":
                    phone.quality_rating = "GREEN"
                if event == "THROUGHPUT_UPGRADE":
                    phone.throughput_level = "HIGH"
                    new = "TIER_UNLIMITED"
                value = {
                    "display_phone_number": phone.e164_digits,
                    "event": event,
                    "old_limit": old,
                    "current_limit": new,
                    "max_daily_conversations_per_business": new,
                }
                self._emit(fld, value, waba=waba, phone=phone)
                return {"field": fld, "value": value}
            if fld == "phone_number_name_update":
                phone = self._find_phone(spec)
                decision = str(spec.get("decision") or "APPROVED").upper()
                requested = str(
                    spec.get("requested_verified_name")
                    or phone.new_display_name
                    or phone.verified_name
                )
                self.name_decision(phone, decision, requested, spec.get("rejection_reason"))
                return {"field": fld, "decision": decision}
            if fld in ("message_template_status_update", "template_status"):
                tpl = self._find_template(spec)
                event = str(spec.get("event") or "APPROVED").upper()
                extra: dict[str, Any] = {
                    k: spec[k] for k in ("other_info", "disable_info") if k in spec
                }
                self.set_template_status(tpl, event, str(spec.get("reason") or "NONE"), extra)
                return {"field": "message_template_status_update", "status": tpl.status}
            if fld == "template_category_update":
                tpl = self._find_template(spec)
                new_cat = str(spec.get("new_category") or "MARKETING").upper()
                value = {
                    "message_template_id": int(tpl.id),
                    "message_template_name": tpl.name,
                    "message_template_language": tpl.language,
                }
                if spec.get("impending"):
                    value.update(
                        {
                            "correct_category": new_cat,
                            "new_category": tpl.category,
                            "category_update_timestamp": int(self.now() + 86400),
                        }
                    )
                else:
                    value.update({"previous_category": tpl.category, "new_category": new_cat})
                    tpl.previous_category, tpl.category = tpl.category, new_cat
                self._emit(fld, value, waba=self.wabas.get(tpl.waba_id))
                return {"field": fld, "value": value}
            if fld == "business_capability_update":
                if waba is None:
                    raise ValueError("business_capability_update needs waba_id")
                biz = self.businesses.get(waba.business_id)
                value = {
                    k: spec[k]
                    for k in (
                        "max_daily_conversation_per_phone",
                        "max_phone_numbers_per_business",
                        "max_phone_numbers_per_waba",
                        "max_daily_conversations_per_business",
                    )
                    if k in spec
                }
                if not value:
                    value = {
                        "max_daily_conversations_per_business": "TIER_10K",
                        "max_phone_numbers_per_business": 20,
                    }
                if biz and value.get("max_daily_conversations_per_business"):
                    biz.messaging_limit = str(value["max_daily_conversations_per_business"])
                if biz and value.get("max_phone_numbers_per_business"):
                    biz.max_phone_numbers = int(value["max_phone_numbers_per_business"])
                self._emit(fld, value, waba=waba)
                return {"field": fld, "value": value}
            if fld == "account_review_update":
                if waba is None:
                    raise ValueError("account_review_update needs waba_id")
                decision = str(spec.get("decision") or "APPROVED").upper()
                if decision in ("APPROVED", "REJECTED", "PENDING"):
                    waba.account_review_status = decision
                self._emit(fld, {"decision": decision}, waba=waba)
                return {"field": fld, "decision": decision}
            raise ValueError(f"unknown field {fld!r}; pass value={{...}} to send it raw")

    def _emit_account_update(self, spec: dict[str, Any], waba: Waba | None) -> dict[str, Any]:
        event = str(spec.get("event") or "").upper()
        if not event:
            raise ValueError("account_update needs an event")
        value: dict[str, Any] = {"event": event}
        if spec.get("phone_number_id") or spec.get("phone_number"):
            phone = self._find_phone(spec)
            value["phone_number"] = phone.e164_digits
            waba = waba or self.wabas[phone.waba_id]
        if waba is None:
            raise ValueError("account_update needs waba_id")
        app_level = event.startswith("PARTNER_")
        entry_id = waba.id
        if event == "DISABLED_UPDATE":
            state = str(spec.get("ban_state") or "DISABLE").upper()
            waba.ban_state = state
            waba.ban_date = spec.get("ban_date") or time.strftime(
                "%B %-d, %Y", time.gmtime(self.now())
            )
            waba.status = "DISABLED" if state == "DISABLE" else "ACTIVE"
            value["ban_info"] = {"waba_ban_state": [state], "waba_ban_date": waba.ban_date}
        elif event == "ACCOUNT_RESTRICTION":
            info = spec.get("restriction_info") or [
                {
                    "restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                    "expiration": int(self.now() + 7 * 86400),
                }
            ]
            waba.restrictions = list(info)
            value["restriction_info"] = info
        elif event == "ACCOUNT_VIOLATION":
            vtype = str(spec.get("violation_type") or "SCAM")
            waba.violation = vtype
            value["violation_info"] = {"violation_type": vtype}
        elif app_level or event in ("AD_ACCOUNT_LINKED", "MM_LITE_TERMS_SIGNED"):
            entry_id = waba.business_id
            value["waba_info"] = {
                "waba_id": waba.id,
                "owner_business_id": waba.business_id,
                "partner_app_id": self.config.app_id,
            }
            if event == "PARTNER_REMOVED" and self.config.app_id in waba.partner_app_ids:
                waba.partner_app_ids.remove(self.config.app_id)
        elif event == "ACCOUNT_OFFBOARDED" or event == "PARTNER_APP_UNINSTALLED":
            waba.subscriptions.pop(self.config.app_id, None)
        for key in ("disconnection_info", "violation_info", "ban_info", "waba_info"):
            if key in spec:
                value[key] = spec[key]
        self._emit("account_update", value, waba=waba, entry_id=entry_id, app_level=app_level)
        return {"field": "account_update", "value": value}

    def _find_waba(self, spec: dict[str, Any]) -> Waba | None:
        wid = spec.get("waba_id")
        if wid:
            waba = self.wabas.get(str(wid))
            if waba is None:
                raise ValueError(f"unknown waba_id {wid}")
            return waba
        if spec.get("phone_number_id") and str(spec["phone_number_id"]) in self.phones:
            return self.wabas[self.phones[str(spec["phone_number_id"])].waba_id]
        if spec.get("template_id") and str(spec["template_id"]) in self.templates:
            return self.wabas[self.templates[str(spec["template_id"])].waba_id]
        return None

    def _find_phone(self, spec: dict[str, Any]) -> PhoneNumber:
        pid = spec.get("phone_number_id")
        if pid and str(pid) in self.phones:
            return self.phones[str(pid)]
        num = _digits(spec.get("phone_number"))
        for phone in self.phones.values():
            if num and phone.e164_digits == num:
                return phone
        raise ValueError("unknown phone_number_id")

    def _find_template(self, spec: dict[str, Any]) -> Template:
        tid = spec.get("template_id")
        if tid and str(tid) in self.templates:
            return self.templates[str(tid)]
        for tpl in self.templates.values():
            if tpl.name == spec.get("name") and (
                not spec.get("language") or tpl.language == spec.get("language")
            ):
                return tpl
        raise ValueError("unknown template (give template_id or name+language)")

    # ------------------------------------------------------------------ seeding
    def seed(self, spec: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if not spec:
                spec = demo_seed_spec()
            result: dict[str, Any] = {"businesses": [], "tokens": []}
            seeded_wabas: list[str] = []
            name_to_waba: dict[str, str] = {}
            for bspec in spec.get("businesses", []):
                biz = Business(
                    id=str(bspec.get("id") or self.new_id()),
                    name=str(bspec.get("name") or "Mock Business"),
                    verification_status=str(
                        bspec.get("verification_status") or bspec.get("verification") or "verified"
                    ).lower(),
                    messaging_limit=str(bspec.get("messaging_limit") or "TIER_2K"),
                    max_phone_numbers=int(bspec.get("max_phone_numbers") or 20),
                    created_at=self.now(),
                )
                self.businesses[biz.id] = biz
                bres: dict[str, Any] = {"id": biz.id, "name": biz.name, "wabas": []}
                for wspec in bspec.get("wabas", []):
                    waba = self._seed_waba(biz, wspec)
                    seeded_wabas.append(waba.id)
                    name_to_waba[waba.name] = waba.id
                    bres["wabas"].append(self._seed_waba_children(waba, wspec))
                result["businesses"].append(bres)
            token_specs = spec.get("tokens")
            if token_specs is None:
                token_specs = [{}]
            for tspec in token_specs:
                refs = tspec.get("wabas", seeded_wabas)
                if refs == "all" or refs == "*":
                    waba_ids = None
                else:
                    waba_ids = [name_to_waba.get(str(r), str(r)) for r in refs]
                tok = self.issue_token(
                    kind=str(tspec.get("type") or tspec.get("kind") or "SYSTEM_USER").upper(),
                    waba_ids=waba_ids,
                    business_ids=tspec.get("business_ids"),
                    scopes=tspec.get("scopes"),
                    expires_in=(-1 if tspec.get("expired") else tspec.get("expires_in")),
                    token=tspec.get("token"),
                    revoked=bool(tspec.get("revoked")),
                )
                if tspec.get("revoke_subcode"):
                    tok.revoke_subcode = int(tspec["revoke_subcode"])
                result["tokens"].append(
                    {
                        "token": tok.token,
                        "waba_ids": tok.waba_ids,
                        "kind": tok.kind,
                        "expires_at": tok.expires_at,
                        "revoked": tok.revoked,
                    }
                )
            if result["tokens"]:
                result["token"] = result["tokens"][0]["token"]
            if result["businesses"]:
                first = result["businesses"][0]
                result["business_id"] = first["id"]
                if first["wabas"]:
                    result["waba_id"] = first["wabas"][0]["id"]
                    if first["wabas"][0]["phone_numbers"]:
                        result["phone_number_id"] = first["wabas"][0]["phone_numbers"][0]["id"]
            return result

    def _seed_waba(self, biz: Business, wspec: dict[str, Any]) -> Waba:
        waba = Waba(
            id=str(wspec.get("id") or self.new_id()),
            business_id=biz.id,
            name=str(wspec.get("name") or f"{biz.name} WABA"),
            currency=str(wspec.get("currency") or "USD"),
            timezone_id=str(wspec.get("timezone_id") or "1"),
            country=str(wspec.get("country") or "US"),
            message_template_namespace=str(uuid.uuid4()).replace("-", "_"),
            account_review_status=str(wspec.get("account_review_status") or "APPROVED"),
            ownership_type=str(wspec.get("ownership_type") or "CLIENT_OWNED"),
            status=str(wspec.get("status") or "ACTIVE"),
            ban_state=wspec.get("ban_state"),
            payment_method=bool(wspec.get("payment_method", True)),
            created_at=self.now(),
        )
        if waba.ban_state == "DISABLE":
            waba.status = "DISABLED"
        if wspec.get("subscribed", True):
            waba.subscriptions[self.config.app_id] = Subscription(
                self.config.app_id,
                self.config.app_name,
                wspec.get("override_callback_uri"),
                wspec.get("verify_token"),
            )
        waba.partner_app_ids.append(self.config.app_id)
        self.wabas[waba.id] = waba
        return waba

    def _seed_waba_children(self, waba: Waba, wspec: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": waba.id,
            "name": waba.name,
            "phone_numbers": [],
            "templates": [],
        }
        for pspec in wspec.get("phone_numbers", []):
            raw = str(
                pspec.get("phone")
                or pspec.get("phone_number")
                or f"+1555{secrets.randbelow(10**7):07d}"
            )
            cc, national = split_e164(raw, pspec.get("cc"))
            registered = bool(
                pspec.get("registered", pspec.get("status", "CONNECTED") == "CONNECTED")
            )
            phone = PhoneNumber(
                id=str(pspec.get("id") or self.new_id()),
                waba_id=waba.id,
                cc=cc,
                national_number=national,
                verified_name=str(
                    pspec.get("verified_name") or pspec.get("display_name") or waba.name
                ),
                status=str(pspec.get("status") or ("CONNECTED" if registered else "PENDING")),
                code_verification_status=str(
                    pspec.get("code_verification_status")
                    or ("VERIFIED" if pspec.get("verified", registered) else "NOT_VERIFIED")
                ),
                platform_type=str(
                    pspec.get("platform_type") or ("CLOUD_API" if registered else "NOT_APPLICABLE")
                ),
                name_status=str(pspec.get("name_status") or "APPROVED"),
                quality_rating=str(pspec.get("quality_rating") or "GREEN"),
                throughput_level=str(pspec.get("throughput") or "STANDARD"),
                pin=pspec.get("pin"),
                pin_set_by=str(pspec.get("pin_set_by") or "us") if pspec.get("pin") else None,
                is_official_business_account=bool(pspec.get("is_official_business_account")),
                created_at=self.now(),
                last_onboarded_time=self.now() if registered else None,
            )
            if registered and phone.status == "CONNECTED" and phone.pin is None:
                phone.pin, phone.pin_set_by = "000000", "us"
            if pspec.get("profile"):
                phone.profile.update(pspec["profile"])
            self.phones[phone.id] = phone
            out["phone_numbers"].append(
                {
                    "id": phone.id,
                    "display_phone_number": phone.display_number(),
                    "phone": "+" + phone.e164_digits,
                    "status": phone.status,
                }
            )
        for tspec in wspec.get("templates", []):
            comps = tspec.get("components") or [
                {"type": "BODY", "text": tspec.get("body") or "Hello, this is a message."}
            ]
            tpl = Template(
                id=str(tspec.get("id") or self.new_id()),
                waba_id=waba.id,
                name=str(tspec["name"]),
                language=str(tspec.get("language") or "en_US"),
                category=str(tspec.get("category") or "UTILITY").upper(),
                components=comps,
                status=str(tspec.get("status") or "APPROVED").upper(),
                rejected_reason=str(tspec.get("rejected_reason") or "NONE"),
                parameter_format=str(tspec.get("parameter_format") or "POSITIONAL"),
                created_at=self.now(),
            )
            self.templates[tpl.id] = tpl
            out["templates"].append(
                {"id": tpl.id, "name": tpl.name, "language": tpl.language, "status": tpl.status}
            )
        for i in range(int(wspec.get("filler_templates", 0))):
            tpl = Template(
                id=self.new_id(),
                waba_id=waba.id,
                name=f"filler_{i:04d}",
                language="en_US",
                category="UTILITY",
                components=[{"type": "BODY", "text": f"Filler {i}"}],
                status="APPROVED",
                created_at=self.now(),
            )
            self.templates[tpl.id] = tpl
        return out

    def patch(self, kind: str, obj_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Set raw attributes on an object (test set-up for states the API cannot reach)."""
        with self.lock:
            tables: dict[str, dict[str, Any]] = {
                "business": self.businesses,
                "waba": self.wabas,
                "phone_number": self.phones,
                "phone": self.phones,
                "template": self.templates,
                "token": self.tokens,
            }
            table = tables.get(kind, {})
            obj = table.get(obj_id)
            if obj is None:
                raise ValueError(f"unknown {kind} {obj_id}")
            for key, value in values.items():
                if not hasattr(obj, key):
                    raise ValueError(f"{kind} has no attribute {key}")
                setattr(obj, key, value)
            return as_dict(obj)

    # ------------------------------------------------------------------ signup
    def signup(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Embedded Signup outcome: creates state, issues an OAuth code, queues webhooks."""
        with self.lock:
            if spec.get("cancel"):
                return {
                    "session_info": {
                        "type": "WA_EMBEDDED_SIGNUP",
                        "event": "CANCEL",
                        "version": 3,
                        "data": {
                            "current_step": str(spec.get("current_step") or "PHONE_NUMBER_SETUP")
                        },
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
                            "timestamp": int(self.now()),
                        },
                    }
                }
            if self.config.app_id not in waba.partner_app_ids:
                waba.partner_app_ids.append(self.config.app_id)
            waba_ids = [waba.id]
            tok = self.issue_token(kind="BISU", waba_ids=waba_ids, business_ids=[biz.id])
            code = self.issue_oauth_code(tok.token)
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
            id=self.new_id(),
            name=str(spec.get("business_name") or "New Business"),
            verification_status=str(spec.get("verification_status") or "not_verified"),
            messaging_limit="TIER_250",
            max_phone_numbers=2,
            created_at=self.now(),
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
            id=self.new_id(),
            business_id=biz.id,
            name=str(spec.get("waba_name") or biz.name),
            currency=str(spec.get("currency") or "USD"),
            timezone_id=str(spec.get("timezone_id") or "1"),
            message_template_namespace=str(uuid.uuid4()).replace("-", "_"),
            account_review_status="PENDING" if spec.get("review_pending") else "APPROVED",
            created_at=self.now(),
        )
        self.wabas[waba.id] = waba
        return waba

    # ------------------------------------------------------------------ exposure
    def codes(self, phone_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            items = [c for c in self.codes_log if not phone_id or c["phone_number_id"] == phone_id]
            return list(reversed(items))

    def snapshot(self) -> dict[str, Any]:
        with self.lock:

            def phone_view(p: PhoneNumber) -> dict[str, Any]:
                d = as_dict(p)
                d["display_phone_number"] = p.display_number()
                d["registered"] = p.registered
                d["window_open_for"] = [
                    w for (pid, w) in self.windows if pid == p.id and self.window_open(pid, w)
                ]
                return d

            return {
                "now": self.now(),
                "clock_offset": self.clock_offset,
                "config": self.config.to_dict(),
                "businesses": [as_dict(b) for b in self.businesses.values()],
                "wabas": [as_dict(w) for w in self.wabas.values()],
                "phone_numbers": [phone_view(p) for p in self.phones.values()],
                "templates": [as_dict(t) for t in self.templates.values()],
                "tokens": [as_dict(t) for t in self.tokens.values()],
                "media": [as_dict(m) | {"file_size": len(m.data)} for m in self.media.values()],
                "messages": [
                    as_dict(self.messages[m]) for m in self.message_order if m in self.messages
                ],
                "qr_codes": [as_dict(q) for q in self.qr_codes.values()],
                "codes": list(self.codes_log),
                "windows": [
                    {"phone_number_id": p, "wa_id": w, "last_inbound": t}
                    for (p, w), t in self.windows.items()
                ],
            }


def demo_seed_spec() -> dict[str, Any]:
    return {
        "businesses": [
            {
                "name": "Acme Demo Ltd",
                "verification_status": "verified",
                "messaging_limit": "TIER_2K",
                "wabas": [
                    {
                        "name": "Acme Support",
                        "phone_numbers": [
                            {
                                "phone": "+15550100001",
                                "verified_name": "Acme Support",
                                "status": "CONNECTED",
                            }
                        ],
                        "templates": [
                            {
                                "name": "hello_world",
                                "language": "en_US",
                                "category": "UTILITY",
                                "components": [
                                    {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
                                    {
                                        "type": "BODY",
                                        "text": "Welcome and congratulations!! "
                                        "This message demonstrates your ability to send a "
                                        "WhatsApp message notification.",
                                    },
                                    {
                                        "type": "FOOTER",
                                        "text": "WhatsApp Business Platform sample message",
                                    },
                                ],
                            },
                            {
                                "name": "order_update",
                                "language": "en_US",
                                "category": "UTILITY",
                                "components": [
                                    {
                                        "type": "BODY",
                                        "text": "Hi {{1}}, your order {{2}} has shipped.",
                                    }
                                ],
                            },
                        ],
                    }
                ],
            }
        ],
    }
