"""Outbound messages: the checks before a send, rate limits, and the status webhooks after."""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections import deque
from typing import Any

from ..errors import GraphError, invalid_param, require
from ..models import Message, PhoneNumber, Template, Token, Waba
from .auth import AuthMixin
from .base import locked
from .events import EventsMixin
from .templates import VAR_RE
from .users import UsersMixin
from .values import digits

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


class MessagesMixin(AuthMixin, UsersMixin, EventsMixin):
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

    def _window_open(self, phone_id: str, wa_id: str) -> bool:
        last = self.windows.get((phone_id, wa_id))
        return last is not None and self._now() - last < self.config.window_seconds

    @locked
    def send(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_messaging")
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
        wa_id = digits(to)
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
            if not self._window_open(phone.id, wa_id):
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
        if wa_id in [digits(r) for r in self.config.undeliverable_recipients]:
            failure = GraphError(131026, "Message undeliverable.")
        msg = Message(
            id=self._wamid(wa_id),
            phone_number_id=phone.id,
            direction="outbound",
            wa_id=wa_id,
            type=mtype,
            payload={k: v for k, v in params.items() if k != "access_token"},
            timestamp=self._now(),
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
        _check_template_parameters(tpl, payload.get("components"))
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

    @locked
    def _status_webhook(
        self, message_id: str, status: str, category: str, failure: GraphError | None, opaque: Any
    ) -> None:
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
            "timestamp": str(int(self._now())),
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
        waba = self.wabas.get(phone.waba_id)
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": self._metadata(phone),
        }
        if waba is not None:  # the recipient, as on inbound messages (NOTES §10)
            user = self._wa_user(waba.business_id, msg.wa_id)
            value["contacts"] = [self._contact(user, phone, status=status)]
        value["statuses"] = [item]
        self._emit("messages", value, waba=waba, phone=phone)


# --- Template parameters: what Meta checks against the approved template ----------------
# 132000: a component's parameter count differs from the template's variables;
# 132012: a parameter's type or name differs from what the template defines;
# 132018: a text parameter with a line break, a tab or more than 4 spaces in a row;
# 132005: the body with its parameters filled in is over 1,024 characters.

MEDIA_HEADER_PARAM = {"IMAGE": "image", "VIDEO": "video", "GIF": "video", "DOCUMENT": "document"}
BODY_PARAM_TYPES = ("text", "currency", "date_time")
BAD_PARAM_TEXT = re.compile(r"[\n\r\t]| {5,}")


def _count_error(where: str, given: int, expected: int) -> GraphError:
    return GraphError(
        132000,
        f"{where}: number of localizable_params ({given}) does not match the expected "
        f"number of params ({expected})",
    )


def _format_error(details: str) -> GraphError:
    return GraphError(132012, details)


def _text_of(param: dict[str, Any], where: str) -> str:
    ptype = param.get("type")
    if ptype == "text":
        text = param.get("text")
        if not isinstance(text, str):
            raise _format_error(f"{where}: text parameters need a text string")
        if BAD_PARAM_TEXT.search(text):
            raise GraphError(
                132018,
                "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
                message="(#132018) There was an issue with the parameters in your template.",
            )
        return text
    if ptype in ("currency", "date_time"):
        inner = param.get(ptype)
        if not isinstance(inner, dict) or not isinstance(inner.get("fallback_value"), str):
            raise GraphError(131008, f"{where}: {ptype}.fallback_value is required")
        return str(inner["fallback_value"])
    raise _format_error(f"{where}: Format mismatch, expected TEXT, received {str(ptype).upper()}")


def _named_check(params: list[dict[str, Any]], names: list[str], where: str) -> None:
    if any(not isinstance(p.get("parameter_name"), str) for p in params):
        raise _format_error(f"{where}: named parameters need parameter_name")
    given = [str(p["parameter_name"]) for p in params]
    unknown = [n for n in given if n not in names]
    if unknown or sorted(given) != sorted(names):
        raise _format_error(
            f"{where}: parameter_name {unknown[0] if unknown else given} does not match the "
            f"template's parameters {names}"
        )


def _check_template_parameters(tpl: Template, sent: Any) -> None:
    """Refuse what Meta refuses when a template's parameters do not fit it."""
    comps = sent if isinstance(sent, list) else []
    by_kind: dict[str, dict[str, Any]] = {}
    buttons: dict[int, dict[str, Any]] = {}
    for comp in comps:
        if not isinstance(comp, dict):
            raise GraphError(131009, "template.components must be objects")
        kind = str(comp.get("type", "")).lower()
        if kind == "button":
            try:
                index = int(str(comp.get("index")))
            except ValueError:
                raise GraphError(131009, "button component needs an index") from None
            buttons[index] = comp
        elif kind in ("header", "body"):
            by_kind[kind] = comp
        else:
            raise GraphError(131009, f"Unknown template component type {comp.get('type')}")
    named = tpl.parameter_format.upper() == "NAMED"
    defined = {str(c.get("type", "")).upper(): c for c in tpl.components if isinstance(c, dict)}
    auth = tpl.category == "AUTHENTICATION"

    # header
    header = defined.get("HEADER")
    sent_header = by_kind.get("header")
    header_params = list((sent_header or {}).get("parameters") or [])
    fmt = str((header or {}).get("format") or "TEXT").upper() if header else None
    if fmt == "TEXT":
        names = list(dict.fromkeys(VAR_RE.findall(str(header.get("text", "")))))  # type: ignore[union-attr]
        if len(header_params) != len(names):
            raise _count_error("header", len(header_params), len(names))
        for p in header_params:
            _text_of(p, "header")
        if named and names:
            _named_check(header_params, names, "header")
    elif fmt in MEDIA_HEADER_PARAM:
        if len(header_params) != 1:
            raise _count_error("header", len(header_params), 1)
        want = MEDIA_HEADER_PARAM[fmt]
        param = header_params[0]
        if param.get("type") != want:
            raise _format_error(
                f"header: Format mismatch, expected {fmt}, received "
                f"{str(param.get('type')).upper()}"
            )
        media = param.get(want)
        if not isinstance(media, dict) or bool(media.get("id")) == bool(media.get("link")):
            raise GraphError(131008, f"header: {want} needs an id or a link")
    elif fmt == "LOCATION":
        if len(header_params) != 1:
            raise _count_error("header", len(header_params), 1)
        param = header_params[0]
        loc = param.get("location")
        if param.get("type") != "location":
            raise _format_error(
                f"header: Format mismatch, expected LOCATION, received "
                f"{str(param.get('type')).upper()}"
            )
        if not isinstance(loc, dict) or "latitude" not in loc or "longitude" not in loc:
            raise GraphError(131008, "header: location needs latitude and longitude")
    elif header_params:
        raise _count_error("header", len(header_params), 0)

    # body
    body_params = list((by_kind.get("body") or {}).get("parameters") or [])
    names = ["1"] if auth else list(dict.fromkeys(VAR_RE.findall(tpl.body_text())))
    if len(body_params) != len(names):
        raise _count_error("body", len(body_params), len(names))
    values: dict[str, str] = {}
    for i, p in enumerate(body_params):
        if not isinstance(p, dict) or p.get("type") not in BODY_PARAM_TYPES:
            raise _format_error(
                f"body: Format mismatch, expected TEXT, received "
                f"{str(p.get('type') if isinstance(p, dict) else p).upper()}"
            )
        text = _text_of(p, "body")
        key = str(p.get("parameter_name")) if named else None
        values[key or (sorted(names, key=_num)[i] if names else str(i + 1))] = text
    if named and names and not auth:
        _named_check(body_params, names, "body")
    if not auth:
        filled = VAR_RE.sub(lambda m: values.get(m.group(1), m.group(0)), tpl.body_text())
        if len(filled) > 1024:
            raise GraphError(132005, "body: hydrated text is longer than 1024 characters")

    # buttons
    defined_buttons = list((defined.get("BUTTONS") or {}).get("buttons") or [])
    for index in buttons:
        if index < 0 or index >= len(defined_buttons):
            raise GraphError(
                131009, f"button at index {index}: the template has {len(defined_buttons)} buttons"
            )
    for index, button in enumerate(defined_buttons):
        kind = str(button.get("type", "")).upper()
        comp = buttons.get(index)
        params = list((comp or {}).get("parameters") or [])
        sub = str((comp or {}).get("sub_type", "")).lower()
        where = f"button at index {index}"
        if (kind == "URL" and VAR_RE.search(str(button.get("url", "")))) or kind == "OTP":
            if comp is None or len(params) != 1:
                raise _count_error(where, len(params), 1)
            if sub != "url":
                raise _format_error(f"{where}: sub_type must be url, received {sub}")
            _text_of(params[0], where)
        elif kind == "COPY_CODE":
            if comp is None or len(params) != 1:
                raise _count_error(where, len(params), 1)
            code = params[0].get("coupon_code")
            if sub != "copy_code" or params[0].get("type") != "coupon_code" or not code:
                raise _format_error(f"{where}: expected a coupon_code parameter")
            if len(str(code)) > 15:
                raise GraphError(131009, f"{where}: coupon_code is limited to 15 characters")
        elif kind == "MPM":
            if comp is None or len(params) != 1:
                raise _count_error(where, len(params), 1)
            action = params[0].get("action")
            if sub != "mpm" or params[0].get("type") != "action" or not isinstance(action, dict):
                raise _format_error(f"{where}: expected an action parameter")
            sections = action.get("sections")
            if not isinstance(sections, list) or not sections:
                raise GraphError(131008, f"{where}: action.sections is required")
        elif kind == "CATALOG":
            if comp is not None and (
                sub != "catalog" or any(p.get("type") != "action" for p in params)
            ):
                raise _format_error(f"{where}: expected an action parameter")
        elif kind == "QUICK_REPLY":
            if comp is not None and (
                sub != "quick_reply" or any(p.get("type") != "payload" for p in params)
            ):
                raise _format_error(f"{where}: expected a payload parameter")
        elif comp is not None:
            raise _count_error(where, len(params), 0)


def _num(token: str) -> int:
    return int(token) if token.isdigit() else 10**9
