"""Message templates: validation, listing, creation, review by rules, edits and deletion."""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any

from ..errors import GraphError, invalid_param, not_found, require
from ..models import Template, Token
from .auth import AuthMixin
from .base import locked
from .events import EventsMixin
from .query import paginate, select_fields
from .serialisation import SerialisationMixin

TEMPLATE_CATEGORIES = ("AUTHENTICATION", "MARKETING", "UTILITY")
VAR_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")
# Meta pauses a template of low quality for 3 hours, then for 6 hours; the third pause
# disables it. After a pause it is APPROVED again, with an APPROVED webhook (NOTES §3).
PAUSE_SECONDS = (3 * 3600, 6 * 3600)
PAUSE_TITLES = ("FIRST_PAUSE", "SECOND_PAUSE")
# Meta edits an approved template at most once in 24 hours and 10 times in 30 days.
APPROVED_EDITS = ((86400, 1), (30 * 86400, 10))
EDITABLE = ("APPROVED", "REJECTED", "PAUSED")


def rule_matches(rule: dict[str, Any], name: str, body: str, category: str) -> bool:
    """Whether one review rule from the config (templates or display names) applies."""
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


class TemplatesMixin(SerialisationMixin, AuthMixin, EventsMixin):
    def _validate_components(self, components: Any, category: str) -> list[dict[str, Any]]:
        if isinstance(components, str):
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

    @locked
    def templates_list(
        self, tok: Token, waba_id: str, params: dict[str, Any], url: str
    ) -> dict[str, Any]:
        waba = self._waba_for(tok, waba_id)
        self._templates_tick()
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
                self._template_full(t), params.get("fields"), default, "WhatsAppMessageTemplate"
            )
            for t in items
        ]
        result = paginate(selected, params, url)
        if params.get("summary"):
            result["summary"] = self._templates_summary(waba.id, items, params["summary"])
        return result

    SUMMARY_FIELDS = (
        "total_count",
        "message_template_count",
        "message_template_limit",
        "are_translations_complete",
    )

    def _templates_summary(
        self, waba_id: str, items: list[Template], wanted: Any
    ) -> dict[str, Any]:
        """The edge's ``summary``: the fields asked for (``summary=total_count,...``), or
        ``total_count`` for ``summary=true``, as Graph edges answer."""
        raw = ",".join(wanted) if isinstance(wanted, list) else str(wanted)
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if names in (["true"], ["1"]) or wanted is True:
            names = ["total_count"]
        unknown = [n for n in names if n not in self.SUMMARY_FIELDS]
        if unknown:
            raise GraphError(
                100,
                f"Tried accessing nonexisting field ({unknown[0]}) in the summary",
                message=f"(#100) Tried accessing nonexisting summary field ({unknown[0]})",
            )
        mine = [t for t in self.templates.values() if t.waba_id == waba_id]
        languages = {t.language for t in mine}
        by_name: dict[str, set[str]] = {}
        for t in mine:
            by_name.setdefault(t.name, set()).add(t.language)
        values: dict[str, Any] = {
            "total_count": len(items),
            "message_template_count": len(by_name),
            "message_template_limit": self.config.template_limit,
            # Every template exists in every language the WABA writes templates in.
            "are_translations_complete": all(langs == languages for langs in by_name.values()),
        }
        return {n: values[n] for n in names}

    @locked
    def template_create(self, tok: Token, waba_id: str, params: dict[str, Any]) -> dict[str, Any]:
        waba = self._waba_for(tok, waba_id, "whatsapp_business_management")
        self._templates_tick()
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
        cutoff = self._now() - 30 * 86400
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
        library = params.get("library_template_name")
        tpl = Template(
            id=self._new_id(),
            waba_id=waba.id,
            name=name,
            language=language,
            category=category,
            components=components,
            parameter_format=fmt,
            message_send_ttl_seconds=int(ttl) if ttl is not None else None,
            library_template_name=str(library) if library else None,
            created_at=self._now(),
        )
        self._set_template_options(tpl, params)
        self.templates[tpl.id] = tpl
        if category in self.config.auto_approve_categories:
            tpl.status = "APPROVED"
            tpl.was_approved = True
        else:
            self._schedule_review(tpl)
        return {"id": tpl.id, "status": tpl.status, "category": tpl.category}

    def _decide_template(self, tpl: Template) -> tuple[str, str]:
        for rule in self.config.review_rules:
            if rule_matches(rule, tpl.name, tpl.body_text(), tpl.category):
                return str(rule.get("decision", "REJECTED")).upper(), str(
                    rule.get("reason", "NONE")
                )
        return "APPROVED", "NONE"

    def _schedule_review(self, tpl: Template) -> None:
        tpl.review_seq += 1
        seq = tpl.review_seq
        self.scheduler.call_later(self.config.review_delay, lambda: self._review(tpl.id, seq))

    @locked
    def _review(self, template_id: str, seq: int) -> None:
        tpl = self.templates.get(template_id)
        if tpl is None or tpl.review_seq != seq or tpl.status != "PENDING":
            return
        decision, reason = self._decide_template(tpl)
        self._set_template_status(tpl, decision, reason)

    def _set_template_status(
        self, tpl: Template, event: str, reason: str = "NONE", extra: dict[str, Any] | None = None
    ) -> None:
        extra = dict(extra or {})
        if event == "PAUSED":
            event = self._pause(tpl, extra)
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
        if tpl.status != "PAUSED":
            tpl.paused_until = None
        if tpl.status == "APPROVED":
            tpl.was_approved = True
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
            value["disable_info"] = {"disable_date": int(self._now())}
        value.update(extra)
        self._emit("message_template_status_update", value, waba=self.wabas.get(tpl.waba_id))

    def _pause(self, tpl: Template, extra: dict[str, Any]) -> str:
        """One more pause for low quality: 3 h, then 6 h, then the template is disabled."""
        if tpl.pause_count >= len(PAUSE_SECONDS):
            tpl.pause_count += 1
            return "DISABLED"
        seconds = PAUSE_SECONDS[tpl.pause_count]
        tpl.paused_until = self._now() + seconds
        until = time.strftime("%b %-d, %Y at %-I:%M %p UTC", time.gmtime(tpl.paused_until))
        extra.setdefault(
            "other_info",
            {
                "title": PAUSE_TITLES[tpl.pause_count],
                "description": f"Your WhatsApp message template has been paused for "
                f"{seconds // 3600} hours until {until} due to low quality.",
            },
        )
        tpl.pause_count += 1
        return "PAUSED"

    def _templates_tick(self) -> None:
        """Pauses that are over (on the mock's clock): APPROVED again, with its webhook."""
        now = self._now()
        for tpl in list(self.templates.values()):
            if tpl.status == "PAUSED" and tpl.paused_until is not None and tpl.paused_until <= now:
                self._set_template_status(tpl, "APPROVED")

    @locked
    def templates_tick(self) -> None:
        """Run what is due on the mock's clock (called when the clock is moved)."""
        self._templates_tick()

    def _emit_message_template_quality_update(
        self, spec: dict[str, Any], waba: Any
    ) -> dict[str, Any]:
        """``POST /_mock/emit {"field": "message_template_quality_update", "template_id",
        "new_quality_score"}``: the template's quality score changes, and Meta says so."""
        fld = "message_template_quality_update"
        tpl = self._template_of_spec(spec)
        new = str(spec.get("new_quality_score") or spec.get("quality_score") or "RED").upper()
        if new not in ("GREEN", "YELLOW", "RED", "UNKNOWN"):
            raise ValueError("new_quality_score must be GREEN, YELLOW, RED or UNKNOWN")
        value = {
            "previous_quality_score": tpl.quality_score,
            "new_quality_score": new,
            "message_template_id": int(tpl.id),
            "message_template_name": tpl.name,
            "message_template_language": tpl.language,
        }
        tpl.quality_score, tpl.quality_date = new, self._now()
        self._emit(fld, value, waba=self.wabas.get(tpl.waba_id))
        return {"field": fld, "value": value}

    def _template_of_spec(self, spec: dict[str, Any]) -> Template:
        """The template a control call names: ``template_id``, or ``name`` (+ ``language``)."""
        tid = str(spec.get("template_id") or "")
        if tid in self.templates:
            return self.templates[tid]
        for tpl in self.templates.values():
            if tpl.name == spec.get("name") and spec.get("language") in (None, tpl.language):
                return tpl
        raise ValueError("unknown template (give template_id or name+language)")

    @locked
    def template_get(self, tok: Token, template_id: str, fields: str | None) -> dict[str, Any]:
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
        return select_fields(self._template_full(tpl), fields, default, "WhatsAppMessageTemplate")

    @locked
    def template_edit(self, tok: Token, template_id: str, params: dict[str, Any]) -> dict[str, Any]:
        tpl = self.templates.get(template_id)
        if tpl is None:
            raise not_found(template_id)
        self._check_waba_access(tok, tpl.waba_id, "whatsapp_business_management")
        self._templates_tick()
        if tpl.status not in EDITABLE:
            raise invalid_param(f"A template in status {tpl.status} cannot be edited")
        category = str(params.get("category") or tpl.category).upper()
        if category not in TEMPLATE_CATEGORIES:
            raise invalid_param("category must be AUTHENTICATION, MARKETING or UTILITY")
        for fixed in ("name", "language"):
            if fixed in params and str(params[fixed]) != getattr(tpl, fixed):
                raise invalid_param(f"The {fixed} of a template cannot be edited")
        fmt = params.get("parameter_format")
        if fmt and str(fmt).upper() != tpl.parameter_format:
            raise invalid_param("The parameter_format of a template cannot be edited")
        was_approved_now = tpl.status == "APPROVED"
        if was_approved_now:
            if category != tpl.category:
                raise GraphError(
                    100,
                    "The category of an approved message template cannot be edited",
                    user_title="Category can't be edited",
                    user_msg="You can't change the category of an approved template.",
                )
            now = self._now()
            for window, allowed in APPROVED_EDITS:
                recent = [t for t in tpl.approved_edits if t > now - window]
                if len(recent) >= allowed:
                    # The live subcode is not documented (NOTES §3): code 100 as Meta's
                    # other edit refusals, with the limit in words.
                    raise GraphError(
                        100,
                        f"An approved message template can be edited {allowed} time(s) "
                        f"in {window // 86400} day(s)",
                        user_title="Edit limit reached",
                        user_msg="This template was edited too often; try again later.",
                    )
        if "components" in params:
            tpl.components = self._validate_components(params["components"], category)
        if category != tpl.category:
            tpl.previous_category, tpl.category = tpl.category, category
        if "message_send_ttl_seconds" in params:
            tpl.message_send_ttl_seconds = int(params["message_send_ttl_seconds"])
        self._set_template_options(tpl, params)
        if was_approved_now:
            tpl.approved_edits.append(self._now())
        tpl.status = "PENDING"
        tpl.paused_until = None
        tpl.rejected_reason = "NONE"
        self._schedule_review(tpl)
        # The live API names the template it edited (NOTES §10, PYWA 4.5 UpdatedTemplate).
        return {"success": True, "id": tpl.id, "name": tpl.name, "category": tpl.category}

    def _set_template_options(self, tpl: Template, params: dict[str, Any]) -> None:
        """The options a create or an edit may carry beside the content."""
        if "cta_url_link_tracking_opted_out" in params:
            opted_out = params["cta_url_link_tracking_opted_out"]
            if not isinstance(opted_out, bool):
                raise invalid_param("cta_url_link_tracking_opted_out must be a boolean")
            tpl.cta_url_link_tracking_opted_out = opted_out
        if "degrees_of_freedom_spec" in params:
            spec = params["degrees_of_freedom_spec"]
            if not isinstance(spec, dict):
                raise invalid_param("degrees_of_freedom_spec must be an object")
            tpl.degrees_of_freedom_spec = spec

    @locked
    def template_delete(self, tok: Token, waba_id: str, params: dict[str, Any]) -> dict[str, Any]:
        waba = self._waba_for(tok, waba_id, "whatsapp_business_management")
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
            if tpl.was_approved or tpl.status == "APPROVED":
                self.deleted_templates.append((waba.id, tpl.name, tpl.language, self._now()))
        return {"success": True}
