"""Sending a template: which ones a number may send, a preview, and Meta's send payload.

The one sending-side service the inbox, the API and automation use:

- :func:`usable_templates` — the approved templates of a number's WABA (in a language);
- :func:`template_slots` — the values a send needs, one :class:`Slot` per value (the
  header's variable or media or location, each body variable, each button's suffix,
  offer code or payload, the one-time password), for forms and API documentation;
- :func:`template_render` — the message with the values filled in, for a preview (a
  missing value shows as its variable, never an error);
- :func:`template_send_payload` — Meta's ``/messages`` body for every component kind,
  refusing a missing, an extra or a wrongly typed value with a field-level
  :class:`~waba_portal.errors.Invalid` before Meta would answer 132000 (count mismatch),
  132012 (format mismatch), 132018 (a line break, a tab or 5 spaces in a value) or
  132005 (the filled-in text too long).

Values are given as a mapping by slot key: ``"header"``, ``"body.1"`` /
``"body.order_id"``, ``"button.<index>"`` (the button's position in the template, from
0) and ``"code"`` (an authentication template's one-time password). Nested forms are
accepted too: ``{"body": ["Ann", "A-1"]}``, ``{"body": {"order_id": "A-1"}}`` and
``{"buttons": {"1": "A-1"}}``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from senders import troubleshooting as ts
from senders.models import PhoneNumber
from templates_app import troubleshooting as tts
from templates_app import validation as v
from templates_app.models import SENDABLE_STATUSES, Template, TemplateStatus
from templates_app.selectors import live_templates
from waba_portal.errors import Conflict, Invalid
from waba_portal.graph import errors as graph_errors

# Meta's limits on what a send carries (NOTES §3-§4).
OTP_CODE_MAX = 15
COUPON_CODE_MAX = 15
MPM_SECTIONS_MAX = 10
MPM_ITEMS_MAX = 30
MPM_SECTION_TITLE_MAX = 24
LANGUAGE_POLICY = "deterministic"
MEDIA_KINDS = {"IMAGE": "image", "VIDEO": "video", "GIF": "video", "DOCUMENT": "document"}
# 132018: "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
BAD_PARAMETER_TEXT = re.compile(r"[\n\r\t]| {5,}")


class TemplateLike(Protocol):
    """What sending reads of a template: a saved one, or the editor's draft."""

    @property
    def name(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def parameter_format(self) -> str: ...
    @property
    def components(self) -> Any: ...


# Meta's refusals of a template message, and the troubleshooting entry for each.
SEND_PROBLEMS = {
    132000: tts.TEMPLATE_SEND_PARAMETERS,
    132005: tts.TEMPLATE_SEND_PARAMETERS,
    132012: tts.TEMPLATE_SEND_PARAMETERS,
    132018: tts.TEMPLATE_SEND_PARAMETERS,
    132001: tts.TEMPLATE_SEND_UNAVAILABLE,
    132015: tts.TEMPLATE_PAUSED,
    132016: tts.TEMPLATE_DISABLED,
}


def send_problem(error: graph_errors.GraphError) -> str:
    """The troubleshooting key for Meta's refusal of a template message (what
    :func:`template_send_payload` could not see: the template changed at Meta)."""
    if error.code in SEND_PROBLEMS:
        return SEND_PROBLEMS[error.code]
    return ts.problem_for_graph_error(error)


# --- Which templates ---------------------------------------------------------------------


def usable_templates(phone_number: PhoneNumber, language: str | None = None) -> QuerySet[Template]:
    """The templates the number may send now: approved at Meta, in its WABA, not deleted."""
    rows = live_templates().filter(waba_id=phone_number.waba_id, status__in=SENDABLE_STATUSES)
    rows = rows.exclude(meta_template_id="")
    if language:
        rows = rows.filter(language=language)
    return rows.order_by("name", "language")


# --- The values a send needs --------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One value a send of the template needs (or may carry)."""

    key: str  # "header", "body.1", "body.order_id", "button.2", "code"
    kind: str  # text | image | video | document | location | url_suffix | coupon_code |
    # payload | catalog | mpm | otp_code
    label: str
    required: bool = True
    variable: str = ""  # "1" or "order_id" for text variables
    button_index: int | None = None
    example: Any = None


def _fmt(template: TemplateLike) -> str:
    return str(template.parameter_format or v.POSITIONAL).upper()


def _is_auth(template: TemplateLike) -> bool:
    return str(template.category).upper() == v.AUTHENTICATION


def _body_tokens(template: TemplateLike) -> list[str]:
    body = v.component(template.components, v.BODY) or {}
    return v.variable_order(v.variables(str(body.get("text") or "")), _fmt(template))


def _header_tokens(template: TemplateLike) -> list[str]:
    header = v.component(template.components, v.HEADER) or {}
    if str(header.get("format") or "TEXT").upper() != "TEXT":
        return []
    return v.variables(str(header.get("text") or ""))


def component_examples(
    comp: dict[str, Any] | None, tokens: list[str], fmt: str, *, nested: bool
) -> dict[str, Any]:
    example = (comp or {}).get("example")
    if not isinstance(example, dict):
        return {}
    prefix = "body_text" if nested else "header_text"
    if fmt == v.NAMED:
        items = example.get(f"{prefix}_named_params")
        if isinstance(items, list):
            return {
                str(i.get("param_name")): i.get("example") for i in items if isinstance(i, dict)
            }
        return {}
    values = example.get(prefix)
    if nested:
        values = values[0] if isinstance(values, list) and values else None
    if not isinstance(values, list):
        return {}
    return dict(zip(tokens, values, strict=False))


def template_slots(template: TemplateLike) -> list[Slot]:
    """Every value a send of ``template`` takes, in the order of the message."""
    fmt = _fmt(template)
    if _is_auth(template):
        return [Slot("code", "otp_code", _("One-time password"), example="123456")]
    slots: list[Slot] = []
    header = v.component(template.components, v.HEADER)
    hformat = v.header_format(template.components)
    if hformat == "TEXT":
        tokens = _header_tokens(template)
        examples = component_examples(header, tokens, fmt, nested=False)
        for token in tokens[:1]:
            slots.append(
                Slot(
                    "header",
                    "text",
                    _("Header %(variable)s") % {"variable": v.shown(token)},
                    variable=token,
                    example=examples.get(token),
                )
            )
    elif hformat in MEDIA_KINDS:
        kind = MEDIA_KINDS[hformat]
        labels = {
            "IMAGE": _("Header image"),
            "VIDEO": _("Header video"),
            "GIF": _("Header GIF"),
            "DOCUMENT": _("Header document"),
        }
        slots.append(Slot("header", kind, labels[hformat]))
    elif hformat == "LOCATION":
        slots.append(Slot("header", "location", _("Header location")))
    body = v.component(template.components, v.BODY)
    tokens = _body_tokens(template)
    examples = component_examples(body, tokens, fmt, nested=True)
    for token in tokens:
        slots.append(
            Slot(
                f"body.{token}",
                "text",
                _("Body %(variable)s") % {"variable": v.shown(token)},
                variable=token,
                example=examples.get(token),
            )
        )
    for index, button in enumerate(v.buttons_of(template.components)):
        kind = str(button.get("type", "")).upper()
        n = index + 1
        if kind == v.URL and v.placeholders(str(button.get("url") or "")):
            example = button.get("example")
            slots.append(
                Slot(
                    f"button.{index}",
                    "url_suffix",
                    _("Button %(n)s: end of the web address") % {"n": n},
                    button_index=index,
                    example=example[0] if isinstance(example, list) and example else example,
                )
            )
        elif kind == v.COPY_CODE:
            example = button.get("example")
            slots.append(
                Slot(
                    f"button.{index}",
                    "coupon_code",
                    _("Button %(n)s: offer code") % {"n": n},
                    button_index=index,
                    example=example[0] if isinstance(example, list) and example else example,
                )
            )
        elif kind == v.QUICK_REPLY:
            slots.append(
                Slot(
                    f"button.{index}",
                    "payload",
                    _("Button %(n)s: reply payload") % {"n": n},
                    required=False,
                    button_index=index,
                )
            )
        elif kind == v.CATALOG:
            slots.append(
                Slot(
                    f"button.{index}",
                    "catalog",
                    _("Button %(n)s: product shown on the catalog (retailer id)") % {"n": n},
                    required=False,
                    button_index=index,
                )
            )
        elif kind == v.MPM:
            slots.append(
                Slot(
                    f"button.{index}",
                    "mpm",
                    _("Button %(n)s: products to show") % {"n": n},
                    button_index=index,
                )
            )
    return slots


def template_examples(template: TemplateLike) -> dict[str, Any]:
    """The template's own examples by slot key: what a preview fills in."""
    values: dict[str, Any] = {}
    for slot in template_slots(template):
        if slot.example not in (None, ""):
            values[slot.key] = slot.example
    header = v.component(template.components, v.HEADER) or {}
    example = header.get("example")
    if v.header_format(template.components) in MEDIA_KINDS and isinstance(example, dict):
        handles = example.get("header_handle")
        if isinstance(handles, list) and handles:
            values["header"] = {"handle": handles[0]}
    return values


def _normalise(template: TemplateLike, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Flat ``{slot key: value}`` from the flat or the nested form."""
    flat: dict[str, Any] = {}
    body_keys = [f"body.{t}" for t in _body_tokens(template)] if not _is_auth(template) else []
    for key, value in (parameters or {}).items():
        key = str(key)
        if key == "body" and isinstance(value, list):
            for index, item in enumerate(value):
                slot = body_keys[index] if index < len(body_keys) else f"body.#{index + 1}"
                flat[slot] = item
        elif key == "body" and isinstance(value, Mapping) and not _typed_value(value):
            for name, item in value.items():
                flat[f"body.{name}"] = item
        elif key == "buttons" and isinstance(value, Mapping):
            for index, item in value.items():
                flat[f"button.{index}"] = item
        else:
            flat[key] = value
    return flat


def _put(text: str, value: str) -> str:
    """``text`` with each of its variables replaced by ``value``."""
    return v.PLACEHOLDER.sub(lambda _m: value, text)


def _typed_value(value: Mapping[str, Any]) -> bool:
    return bool({"currency", "date_time"} & set(value))


# --- Rendering (preview) -----------------------------------------------------------------


@dataclass(frozen=True)
class RenderedButton:
    kind: str  # QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, CATALOG, MPM
    text: str
    url: str = ""
    phone_number: str = ""
    code: str = ""


@dataclass(frozen=True)
class Rendered:
    """A template as the customer would read it, values filled in."""

    header_format: str | None  # None, TEXT, IMAGE, VIDEO, GIF, DOCUMENT, LOCATION
    header_text: str = ""
    header_media: dict[str, Any] = field(default_factory=dict)
    header_location: dict[str, Any] = field(default_factory=dict)
    body: str = ""
    footer: str = ""
    buttons: tuple[RenderedButton, ...] = ()
    # Slot keys that had no value: the preview shows their variable instead.
    missing: tuple[str, ...] = ()


def _display(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        for key in ("currency", "date_time"):
            inner = value.get(key)
            if isinstance(inner, Mapping) and inner.get("fallback_value"):
                return str(inner["fallback_value"])
        return None
    return str(value)


def _fill(text: str, prefix: str, values: Mapping[str, Any], missing: list[str]) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group(1)
        key = prefix if prefix == "header" else f"{prefix}.{token}"
        shown = _display(values.get(key))
        if shown is None:
            missing.append(key)
            return match.group(0)
        return shown

    return v.PLACEHOLDER.sub(one, text)


def auth_body_text(template: TemplateLike, code: str) -> str:
    """Meta's fixed text of an authentication template (Meta writes it in the template's
    language; the preview shows it in the reader's)."""
    body = v.component(template.components, v.BODY) or {}
    text = _("%(code)s is your verification code.") % {"code": code}
    if body.get("add_security_recommendation"):
        text += " " + _("For your security, do not share this code.")
    return text


def template_render(
    template: TemplateLike, parameters: Mapping[str, Any] | None = None
) -> Rendered:
    """The message with ``parameters`` filled in; a missing value keeps its variable."""
    values = _normalise(template, parameters)
    missing: list[str] = []
    comps = template.components
    if _is_auth(template):
        code = _display(values.get("code"))
        if code is None:
            missing.append("code")
        footer_comp = v.component(comps, v.FOOTER) or {}
        minutes = footer_comp.get("code_expiration_minutes")
        footer = (
            _("This code expires in %(minutes)s minutes.") % {"minutes": minutes}
            if isinstance(minutes, int) and not isinstance(minutes, bool)
            else ""
        )
        buttons = []
        for button in v.buttons_of(comps):
            otp_type = str(button.get("otp_type", "")).upper()
            default = _("Autofill") if otp_type in ("ONE_TAP", "ZERO_TAP") else _("Copy code")
            buttons.append(
                RenderedButton(v.OTP, str(button.get("text") or default), code=code or "")
            )
        return Rendered(
            header_format=None,
            body=auth_body_text(template, code or "{{1}}"),
            footer=footer,
            buttons=tuple(buttons),
            missing=tuple(missing),
        )
    header = v.component(comps, v.HEADER) or {}
    hformat = v.header_format(comps)
    header_text, media, location = "", {}, {}
    if hformat == "TEXT":
        header_text = _fill(str(header.get("text") or ""), "header", values, missing)
    elif hformat in MEDIA_KINDS:
        value = values.get("header")
        if isinstance(value, Mapping):
            media = dict(value)
        elif isinstance(value, str) and value:
            media = {"link": value}
        else:
            missing.append("header")
    elif hformat == "LOCATION":
        value = values.get("header")
        if isinstance(value, Mapping):
            location = dict(value)
        else:
            missing.append("header")
    body = _fill(str((v.component(comps, v.BODY) or {}).get("text") or ""), "body", values, missing)
    footer = str((v.component(comps, v.FOOTER) or {}).get("text") or "")
    buttons = []
    for index, button in enumerate(v.buttons_of(comps)):
        kind = str(button.get("type", "")).upper()
        text = str(button.get("text") or "")
        if kind == v.URL:
            url = str(button.get("url") or "")
            if v.placeholders(url):
                suffix = _display(values.get(f"button.{index}"))
                if suffix is None:
                    missing.append(f"button.{index}")
                else:
                    url = _put(url, suffix)
            buttons.append(RenderedButton(kind, text, url=url))
        elif kind == v.PHONE_NUMBER:
            buttons.append(
                RenderedButton(kind, text, phone_number=str(button.get("phone_number") or ""))
            )
        elif kind == v.COPY_CODE:
            code = _display(values.get(f"button.{index}"))
            if code is None:
                missing.append(f"button.{index}")
            buttons.append(RenderedButton(kind, _("Copy offer code"), code=code or ""))
        else:
            buttons.append(RenderedButton(kind, text))
    return Rendered(
        header_format=hformat,
        header_text=header_text,
        header_media=media,
        header_location=location,
        body=body,
        footer=footer,
        buttons=tuple(buttons),
        missing=tuple(dict.fromkeys(missing)),
    )


# --- The send payload --------------------------------------------------------------------


class _Refusals:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.code = ""

    def add(self, key: str, message: str, code: str) -> None:
        self.fields.setdefault(key, []).append(message)
        self.code = self.code or code

    def raise_any(self) -> None:
        if not self.fields:
            return
        first_key = next(iter(self.fields))
        raise Invalid(
            self.fields[first_key][0],
            field=first_key,
            code=self.code,
            details={"fields": self.fields},
        )


MISSING, EXTRA, WRONG_TYPE, BAD_VALUE = (
    "template_parameter_missing",
    "template_parameter_unknown",
    "template_parameter_type",
    "template_parameter_invalid",
)


def _text_value(
    refusals: _Refusals, slot: Slot, value: Any, *, limit: int | None = None
) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        refusals.add(
            slot.key,
            _("%(label)s must be text.") % {"label": slot.label},
            WRONG_TYPE,
        )
        return None
    if isinstance(value, float) and not math.isfinite(value):
        refusals.add(slot.key, _("%(label)s must be text.") % {"label": slot.label}, WRONG_TYPE)
        return None
    text = str(value)
    if not text.strip():
        refusals.add(slot.key, _("Enter a value for %(label)s.") % {"label": slot.label}, MISSING)
        return None
    if BAD_PARAMETER_TEXT.search(text):
        refusals.add(
            slot.key,
            _(
                "%(label)s may not contain line breaks, tabs or more than four spaces in a "
                "row: WhatsApp refuses such values."
            )
            % {"label": slot.label},
            BAD_VALUE,
        )
        return None
    if limit is not None and len(text) > limit:
        refusals.add(
            slot.key,
            _("%(label)s may be at most %(limit)s characters long.")
            % {"label": slot.label, "limit": limit},
            BAD_VALUE,
        )
        return None
    return text


def _body_parameter(
    refusals: _Refusals, slot: Slot, value: Any, fmt: str
) -> tuple[dict[str, Any] | None, str]:
    """Meta's parameter for a body variable, and its text as filled in."""
    if isinstance(value, Mapping) and _typed_value(value):
        if "currency" in value:
            cur = value["currency"]
            ok = (
                isinstance(cur, Mapping)
                and isinstance(cur.get("fallback_value"), str)
                and cur["fallback_value"].strip()
                and isinstance(cur.get("code"), str)
                and re.fullmatch(r"[A-Z]{3}", cur["code"])
                and isinstance(cur.get("amount_1000"), int)
                and not isinstance(cur.get("amount_1000"), bool)
            )
            if not ok:
                refusals.add(
                    slot.key,
                    _(
                        "%(label)s: a currency needs fallback_value (text), code (such as "
                        "EUR) and amount_1000 (the amount times 1000, a whole number)."
                    )
                    % {"label": slot.label},
                    WRONG_TYPE,
                )
                return None, ""
            param: dict[str, Any] = {
                "type": "currency",
                "currency": {
                    "fallback_value": cur["fallback_value"],
                    "code": cur["code"],
                    "amount_1000": cur["amount_1000"],
                },
            }
            shown = str(cur["fallback_value"])
        else:
            dt = value["date_time"]
            if not (
                isinstance(dt, Mapping)
                and isinstance(dt.get("fallback_value"), str)
                and dt["fallback_value"].strip()
            ):
                refusals.add(
                    slot.key,
                    _("%(label)s: a date needs fallback_value, the date as text.")
                    % {"label": slot.label},
                    WRONG_TYPE,
                )
                return None, ""
            param = {"type": "date_time", "date_time": {"fallback_value": dt["fallback_value"]}}
            shown = str(dt["fallback_value"])
    else:
        text = _text_value(refusals, slot, value)
        if text is None:
            return None, ""
        param = {"type": "text", "text": text}
        shown = text
    if fmt == v.NAMED:
        param["parameter_name"] = slot.variable
    return param, shown


def _media_parameter(refusals: _Refusals, slot: Slot, value: Any) -> dict[str, Any] | None:
    media: dict[str, Any]
    if isinstance(value, str) and urlsplit(value.strip()).scheme in ("http", "https"):
        media = {"link": value.strip()}
    elif isinstance(value, Mapping):
        media = dict(value)
    else:
        refusals.add(
            slot.key,
            _("%(label)s: give the media's id or its https:// link.") % {"label": slot.label},
            WRONG_TYPE,
        )
        return None
    allowed = {"id", "link"} | ({"filename"} if slot.kind == "document" else set())
    unknown = set(media) - allowed
    has_id = isinstance(media.get("id"), str) and bool(media["id"].strip())
    has_link = isinstance(media.get("link"), str) and bool(media["link"].strip())
    if unknown or has_id == has_link:
        refusals.add(
            slot.key,
            _("%(label)s: give either the media's id or its link, not both and nothing else.")
            % {"label": slot.label},
            WRONG_TYPE,
        )
        return None
    if has_link:
        parts = urlsplit(media["link"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            refusals.add(
                slot.key,
                _("%(label)s: the link must be a web address starting with https://.")
                % {"label": slot.label},
                BAD_VALUE,
            )
            return None
    if "filename" in media and not isinstance(media["filename"], str):
        refusals.add(
            slot.key,
            _("%(label)s: the file name must be text.") % {"label": slot.label},
            WRONG_TYPE,
        )
        return None
    return {"type": slot.kind, slot.kind: media}


def _location_parameter(refusals: _Refusals, slot: Slot, value: Any) -> dict[str, Any] | None:
    def number(x: Any, bound: float) -> bool:
        return (
            isinstance(x, (int, float))
            and not isinstance(x, bool)
            and math.isfinite(x)
            and -bound <= x <= bound
        )

    if (
        not isinstance(value, Mapping)
        or not number(value.get("latitude"), 90)
        or not number(value.get("longitude"), 180)
        or set(value) - {"latitude", "longitude", "name", "address"}
        or any(k in value and not isinstance(value[k], str) for k in ("name", "address"))
    ):
        refusals.add(
            slot.key,
            _(
                "%(label)s: give latitude (−90 to 90) and longitude (−180 to 180) as numbers, "
                "and optionally a name and an address."
            )
            % {"label": slot.label},
            WRONG_TYPE,
        )
        return None
    location = {"latitude": value["latitude"], "longitude": value["longitude"]}
    for key in ("name", "address"):
        if value.get(key):
            location[key] = value[key]
    return {"type": "location", "location": location}


def _mpm_action(refusals: _Refusals, slot: Slot, value: Any) -> dict[str, Any] | None:
    def bad() -> None:
        refusals.add(
            slot.key,
            _(
                "%(label)s: give thumbnail_product_retailer_id and 1 to %(sections)s sections, "
                "each with a title (at most %(title)s characters) and product_items "
                "(product_retailer_id), %(items)s products in all at most."
            )
            % {
                "label": slot.label,
                "sections": MPM_SECTIONS_MAX,
                "title": MPM_SECTION_TITLE_MAX,
                "items": MPM_ITEMS_MAX,
            },
            WRONG_TYPE,
        )

    if not isinstance(value, Mapping):
        bad()
        return None
    thumb = value.get("thumbnail_product_retailer_id")
    sections = value.get("sections")
    if (
        not isinstance(thumb, str)
        or not thumb.strip()
        or not isinstance(sections, list)
        or not 1 <= len(sections) <= MPM_SECTIONS_MAX
    ):
        bad()
        return None
    clean: list[dict[str, Any]] = []
    total = 0
    for section in sections:
        items = section.get("product_items") if isinstance(section, Mapping) else None
        title = section.get("title") if isinstance(section, Mapping) else None
        if (
            not isinstance(items, list)
            or not items
            or not all(
                isinstance(i, Mapping) and isinstance(i.get("product_retailer_id"), str)
                for i in items
            )
            or (
                title is not None
                and (not isinstance(title, str) or len(title) > MPM_SECTION_TITLE_MAX)
            )
            or (len(sections) > 1 and not title)
        ):
            bad()
            return None
        total += len(items)
        entry: dict[str, Any] = {
            "product_items": [{"product_retailer_id": i["product_retailer_id"]} for i in items]
        }
        if title:
            entry["title"] = title
        clean.append(entry)
    if total > MPM_ITEMS_MAX:
        bad()
        return None
    return {"thumbnail_product_retailer_id": thumb, "sections": clean}


def _check_recipient(to: Any) -> str:
    raw = str(to or "").strip()
    digits = re.sub(r"[\s().-]", "", raw)
    if not re.fullmatch(r"\+?[1-9][0-9]{6,14}", digits):
        raise Invalid(
            _(
                "“%(to)s” is not a WhatsApp number: write it with the country code, such as "
                "+4915112345678."
            )
            % {"to": raw},
            field="to",
            code="template_recipient_invalid",
        )
    return digits.lstrip("+")


def _check_sendable(template: TemplateLike) -> None:
    if not isinstance(template, Template):
        return
    if template.deleted_at is not None:
        raise Conflict(
            _("The template “%(name)s” was deleted; choose another one.") % {"name": template.name},
            code="template_not_sendable",
        )
    if template.status in SENDABLE_STATUSES and template.meta_template_id:
        return
    if template.status == TemplateStatus.PAUSED:
        message = _(
            "Meta paused the template “%(name)s” because customers reported or blocked it; it "
            "can be sent again when the pause ends. Send another template meanwhile."
        )
    elif template.status == TemplateStatus.DISABLED:
        message = _(
            "Meta disabled the template “%(name)s” after repeated low quality; it cannot be "
            "sent any more. Create a new template with better content."
        )
    else:
        message = _(
            "The template “%(name)s” cannot be sent yet: Meta has not approved it (%(status)s)."
        )
    raise Conflict(
        message % {"name": template.name, "status": template.status_label},
        code="template_not_sendable",
    )


def template_send_payload(
    template: TemplateLike, parameters: Mapping[str, Any] | None, to: str
) -> dict[str, Any]:
    """Meta's ``/messages`` body sending ``template`` to ``to`` with ``parameters``.

    Refuses (``Invalid``, ``field`` = the slot key, every problem in
    ``details["fields"]``) a missing, an extra or a wrongly typed value, as Meta would
    with 132000 / 132012 / 132018 / 132005; a template that cannot be sent (paused,
    disabled, not approved) is a ``Conflict``.
    """
    _check_sendable(template)
    recipient = _check_recipient(to)
    values = _normalise(template, parameters)
    refusals = _Refusals()
    slots = template_slots(template)
    known = {s.key for s in slots}
    for key in values:
        if key not in known:
            refusals.add(
                key,
                _("The template has no value “%(key)s”; it takes %(keys)s.")
                % {
                    "key": key,
                    "keys": ", ".join(s.key for s in slots) or _("no values"),
                },
                EXTRA,
            )
    for slot in slots:
        if slot.required and (slot.key not in values or values[slot.key] in (None, "")):
            refusals.add(
                slot.key, _("Enter a value for %(label)s.") % {"label": slot.label}, MISSING
            )
    refusals.raise_any()
    components = (
        _auth_components(refusals, slots, values)
        if _is_auth(template)
        else _components(template, refusals, slots, values)
    )
    refusals.raise_any()
    body: dict[str, Any] = {
        "name": template.name,
        "language": {"code": template.language, "policy": LANGUAGE_POLICY},
    }
    if components:
        body["components"] = components
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient,
        "type": "template",
        "template": body,
    }


def _auth_components(
    refusals: _Refusals, slots: list[Slot], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    code = _text_value(refusals, slots[0], values.get("code"), limit=OTP_CODE_MAX)
    if code is None:
        return []
    return [
        {"type": "body", "parameters": [{"type": "text", "text": code}]},
        # Copy-code, one-tap and zero-tap buttons all take the code as a url button's text.
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": code}],
        },
    ]


def _components(
    template: TemplateLike, refusals: _Refusals, slots: list[Slot], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    fmt = _fmt(template)
    comps = template.components
    by_key = {s.key: s for s in slots}
    out: list[dict[str, Any]] = []
    header_slot = by_key.get("header")
    if header_slot is not None:
        value = values.get("header")
        param: dict[str, Any] | None
        if header_slot.kind == "text":
            text = _text_value(refusals, header_slot, value)
            param = None
            if text is not None:
                param = {"type": "text", "text": text}
                if fmt == v.NAMED:
                    param["parameter_name"] = header_slot.variable
                header_text = str((v.component(comps, v.HEADER) or {}).get("text") or "")
                filled = _put(header_text, text)
                if len(filled) > v.HEADER_TEXT_MAX:
                    refusals.add(
                        "header",
                        _(
                            "With this value the header is %(count)s characters long; "
                            "WhatsApp allows %(limit)s. Shorten the value."
                        )
                        % {"count": len(filled), "limit": v.HEADER_TEXT_MAX},
                        BAD_VALUE,
                    )
        elif header_slot.kind == "location":
            param = _location_parameter(refusals, header_slot, value)
        else:
            param = _media_parameter(refusals, header_slot, value)
        if param is not None:
            out.append({"type": "header", "parameters": [param]})
    body_slots = [s for s in slots if s.key.startswith("body.")]
    if body_slots:
        params: list[dict[str, Any]] = []
        filled_values: dict[str, str] = {}
        for slot in body_slots:
            param, shown = _body_parameter(refusals, slot, values.get(slot.key), fmt)
            if param is not None:
                params.append(param)
                filled_values[slot.variable] = shown
        if len(params) == len(body_slots):
            text = str((v.component(comps, v.BODY) or {}).get("text") or "")
            filled = v.PLACEHOLDER.sub(lambda m: filled_values.get(m.group(1), m.group(0)), text)
            if len(filled) > v.BODY_MAX:
                refusals.add(
                    body_slots[0].key,
                    _(
                        "With these values the message is %(count)s characters long; "
                        "WhatsApp allows %(limit)s. Shorten the values."
                    )
                    % {"count": len(filled), "limit": v.BODY_MAX},
                    BAD_VALUE,
                )
            out.append({"type": "body", "parameters": params})
    buttons = v.buttons_of(comps)
    for slot in slots:
        if slot.button_index is None:
            continue
        button = _button_parameter(refusals, slot, values.get(slot.key), buttons)
        if button is not None:
            sub_type, parameter = button
            out.append(
                {
                    "type": "button",
                    "sub_type": sub_type,
                    "index": str(slot.button_index),
                    "parameters": [parameter],
                }
            )
    return out


def _button_parameter(
    refusals: _Refusals, slot: Slot, value: Any, buttons: list[dict[str, Any]]
) -> tuple[str, dict[str, Any]] | None:
    """The button's ``sub_type`` and its one parameter for ``value``; None when the value
    was refused (the refusal is noted) or the button needs none (a quick reply left out)."""
    if slot.kind == "url_suffix":
        suffix = _text_value(refusals, slot, value)
        if suffix is None:
            return None
        base = str(buttons[slot.button_index or 0].get("url") or "")
        if len(_put(base, suffix)) > v.URL_MAX:
            refusals.add(
                slot.key,
                _("%(label)s makes the web address longer than %(limit)s characters.")
                % {"label": slot.label, "limit": v.URL_MAX},
                BAD_VALUE,
            )
            return None
        return "url", {"type": "text", "text": suffix}
    if slot.kind == "coupon_code":
        code = _text_value(refusals, slot, value, limit=COUPON_CODE_MAX)
        return None if code is None else ("copy_code", {"type": "coupon_code", "coupon_code": code})
    if slot.kind == "payload":
        if value in (None, ""):
            return None
        payload = _text_value(refusals, slot, value)
        return None if payload is None else ("quick_reply", {"type": "payload", "payload": payload})
    if slot.kind == "catalog":
        action: dict[str, Any] = {}
        if value not in (None, ""):
            thumb = _text_value(refusals, slot, value)
            if thumb is None:
                return None
            action["thumbnail_product_retailer_id"] = thumb
        return "catalog", {"type": "action", "action": action}
    if slot.kind == "mpm":
        mpm = _mpm_action(refusals, slot, value)
        return None if mpm is None else ("mpm", {"type": "action", "action": mpm})
    return None
