"""Nodes as the Graph API shows them: the full field sets ``?fields=`` selects from."""

from __future__ import annotations

import time
from typing import Any

from ..models import PhoneNumber, Template, Waba
from .base import StateBase
from .values import b64, country_of

LIMIT_TO_LEGACY = {"TIER_2K": "TIER_1K"}  # messaging_limit_tier has no TIER_2K (NOTES §8)


class SerialisationMixin(StateBase):
    def _health(self, *, waba: Waba, phone: PhoneNumber | None = None) -> dict[str, Any]:
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

    def _waba_full(self, waba: Waba) -> dict[str, Any]:
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
            "health_status": self._health(waba=waba),
            "owner_business_info": {"id": waba.business_id, "name": biz.name if biz else ""},
            "on_behalf_of_business_info": {"id": waba.business_id, "name": biz.name if biz else ""},
            "whatsapp_business_manager_messaging_limit": limit,
            "messaging_limit_tier": LIMIT_TO_LEGACY.get(limit, limit),
            "is_enabled_for_insights": True,
            "marketing_messages_lite_api_status": "INELIGIBLE",
            "marketing_messages_onboarding_status": self._mm_onboarding_status(waba),
            "disable_marketing_messages_on_cloud_api": waba.disable_marketing_messages_on_cloud_api,
            "purchase_order_number": None,
            "subscribed_apps": {"data": self._subscriptions_list(waba)},
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

    def _phone_full(self, phone: PhoneNumber) -> dict[str, Any]:
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
            "health_status": self._health(waba=waba, phone=phone),
            "last_onboarded_time": (
                time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(phone.last_onboarded_time))
                if phone.last_onboarded_time
                else None
            ),
            # An object with the number's id (NOTES §10, PYWA 4.5 ConversationalAutomation).
            "conversational_automation": {"id": phone.id, **phone.conversational_automation},
            "eligibility_for_api_business_global_search": "NON_ELIGIBLE_UNDEFINED_COUNTRY",
            "certificate": b64(f"cert:{phone.id}:{phone.verified_name}".encode()),
            # The certificate for an approved new display name, until it is registered.
            "new_certificate": (
                b64(f"cert:{phone.id}:{phone.new_display_name}".encode())
                if phone.new_display_name and phone.new_name_status == "APPROVED"
                else None
            ),
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

    def _template_full(self, t: Template) -> dict[str, Any]:
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
            "quality_score": {
                "score": t.quality_score,
                "date": int(t.quality_date or t.created_at),
            },
            "message_send_ttl_seconds": t.message_send_ttl_seconds,
            "sub_category": None,
            "correct_category": t.correct_category,
            "library_template_name": t.library_template_name,
            "cta_url_link_tracking_opted_out": t.cta_url_link_tracking_opted_out,
            "degrees_of_freedom_spec": t.degrees_of_freedom_spec,
        }

    def _mm_onboarding_status(self, waba: Waba) -> str:
        """Where the WABA stands with Marketing Messages (MM Lite) onboarding."""
        if waba.mm_lite_onboarded:
            return "ONBOARDED"
        if waba.status != "ACTIVE" or waba.ban_state == "DISABLE" or waba.restrictions:
            return "INELIGIBLE_INACTIVE_OR_RESTRICTED"
        if not waba.payment_method:
            return "PENDING_VALID_PAYMENT_METHOD"
        return "ELIGIBLE"

    def _subscriptions_list(self, waba: Waba) -> list[dict[str, Any]]:
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
