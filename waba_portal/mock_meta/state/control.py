"""Control-API operations: events on demand, raw patches, codes, and the state snapshot."""

from __future__ import annotations

import time
from typing import Any

from ..models import PhoneNumber, Template, Waba, as_dict
from .base import locked
from .messages import MessagesMixin
from .phone_numbers import PhoneNumbersMixin
from .templates import TemplatesMixin
from .values import digits

# The fields ``POST /_mock/emit`` builds a value for (anything else needs a raw ``value``).
EMIT_FIELDS = (
    "account_update",
    "phone_number_quality_update",
    "phone_number_name_update",
    "message_template_status_update",
    "template_category_update",
    "message_template_quality_update",  # templates (T1): state/templates.py
    "business_capability_update",
    "account_review_update",
)


class ControlMixin(MessagesMixin, TemplatesMixin, PhoneNumbersMixin):
    @locked
    def emit(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Apply an account / quality / name / template / capability event and send it."""
        fld = spec.get("field")
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
        if fld == "template_status":  # an older alias
            fld = "message_template_status_update"
        if fld not in EMIT_FIELDS:
            raise ValueError(f"unknown field {fld!r}; pass value={{...}} to send it raw")
        handler = getattr(self, f"_emit_{fld}")
        return dict(handler(spec, waba))

    def _emit_phone_number_quality_update(
        self, spec: dict[str, Any], waba: Waba | None
    ) -> dict[str, Any]:
        fld = "phone_number_quality_update"
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

    def _emit_phone_number_name_update(
        self, spec: dict[str, Any], waba: Waba | None
    ) -> dict[str, Any]:
        phone = self._find_phone(spec)
        decision = str(spec.get("decision") or "APPROVED").upper()
        requested = str(
            spec.get("requested_verified_name") or phone.new_display_name or phone.verified_name
        )
        self._name_decision(phone, decision, requested, spec.get("rejection_reason"))
        return {"field": "phone_number_name_update", "decision": decision}

    def _emit_message_template_status_update(
        self, spec: dict[str, Any], waba: Waba | None
    ) -> dict[str, Any]:
        tpl = self._find_template(spec)
        event = str(spec.get("event") or "APPROVED").upper()
        extra: dict[str, Any] = {k: spec[k] for k in ("other_info", "disable_info") if k in spec}
        self._set_template_status(tpl, event, str(spec.get("reason") or "NONE"), extra)
        return {"field": "message_template_status_update", "status": tpl.status}

    def _emit_template_category_update(
        self, spec: dict[str, Any], waba: Waba | None
    ) -> dict[str, Any]:
        fld = "template_category_update"
        tpl = self._find_template(spec)
        new_cat = str(spec.get("new_category") or "MARKETING").upper()
        value: dict[str, Any] = {
            "message_template_id": int(tpl.id),
            "message_template_name": tpl.name,
            "message_template_language": tpl.language,
        }
        if spec.get("impending"):
            value.update(
                {
                    "correct_category": new_cat,
                    "new_category": tpl.category,
                    "category_update_timestamp": int(self._now() + 86400),
                }
            )
            tpl.correct_category = new_cat
        else:
            value.update({"previous_category": tpl.category, "new_category": new_cat})
            tpl.previous_category, tpl.category = tpl.category, new_cat
            tpl.correct_category = None
        self._emit(fld, value, waba=self.wabas.get(tpl.waba_id))
        return {"field": fld, "value": value}

    def _emit_business_capability_update(
        self, spec: dict[str, Any], waba: Waba | None
    ) -> dict[str, Any]:
        fld = "business_capability_update"
        if waba is None:
            raise ValueError("business_capability_update needs waba_id")
        biz = self.businesses.get(waba.business_id)
        value: dict[str, Any] = {
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

    def _emit_account_review_update(
        self, spec: dict[str, Any], waba: Waba | None
    ) -> dict[str, Any]:
        fld = "account_review_update"
        if waba is None:
            raise ValueError("account_review_update needs waba_id")
        decision = str(spec.get("decision") or "APPROVED").upper()
        if decision in ("APPROVED", "REJECTED", "PENDING"):
            waba.account_review_status = decision
        self._emit(fld, {"decision": decision}, waba=waba)
        return {"field": fld, "decision": decision}

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
                "%B %-d, %Y", time.gmtime(self._now())
            )
            waba.status = "DISABLED" if state == "DISABLE" else "ACTIVE"
            value["ban_info"] = {"waba_ban_state": [state], "waba_ban_date": waba.ban_date}
        elif event == "ACCOUNT_RESTRICTION":
            info = spec.get("restriction_info") or [
                {
                    "restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                    "expiration": int(self._now() + 7 * 86400),
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
            if event == "MM_LITE_TERMS_SIGNED":
                waba.mm_lite_onboarded = True
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
        num = digits(spec.get("phone_number"))
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

    @locked
    def patch(self, kind: str, obj_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Set raw attributes on an object (test set-up for states the API cannot reach)."""
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

    @locked
    def codes(self, phone_id: str | None = None) -> list[dict[str, Any]]:
        items = [c for c in self.codes_log if not phone_id or c["phone_number_id"] == phone_id]
        return list(reversed(items))

    @locked
    def snapshot(self) -> dict[str, Any]:

        def phone_view(p: PhoneNumber) -> dict[str, Any]:
            d = as_dict(p)
            d["display_phone_number"] = p.display_number()
            d["registered"] = p.registered
            d["window_open_for"] = [
                w for (pid, w) in self.windows if pid == p.id and self._window_open(pid, w)
            ]
            return d

        return {
            "now": self._now(),
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
            "users": [as_dict(u) for u in self.wa_users.values()],
        }
