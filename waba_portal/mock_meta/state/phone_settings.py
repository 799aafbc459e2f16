"""What a registered number shows and allows: settings, business profile, OBA status."""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import invalid_param, require
from ..models import Token
from .base import locked
from .media import MediaMixin
from .query import parse_fields
from .values import as_bool

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


class PhoneSettingsMixin(MediaMixin):
    @locked
    def settings_get(self, tok: Token, phone_id: str) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id)
        out: dict[str, Any] = {
            "calling": {
                "status": "disabled",
                "call_icon_visibility": "visible",
                "callback_permission_status": "disabled",
                "ip_addresses": {"default": []},
            },
            "storage_configuration": {"status": "default"},
            "payload_encryption": {"status": "disabled"},
            # The answer's shape, not the POST body's {enabled} (NOTES §10, PYWA 4.5).
            "user_identity_change": {"enable_identity_key_check": False},
        }
        for key, value in phone.settings.items():
            out[key] = value
        return out

    @locked
    def settings_update(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
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
                if as_bool(value.get("enabled"))
                else "default",
                "data_localization_region": value.get("region"),
            }
        elif key == "user_identity_change":
            enabled = value.get("enabled")
            if not isinstance(enabled, bool):
                raise invalid_param("user_identity_change.enabled must be a boolean")
            value = {"enable_identity_key_check": enabled}
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

    @locked
    def profile_get(self, tok: Token, phone_id: str, fields: str | None) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id)
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

    @locked
    def profile_update(
        self, tok: Token, phone_id: str, params: dict[str, Any], base_url: str
    ) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
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

    @locked
    def oba_get(self, tok: Token, phone_id: str) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id)
        return {
            "id": phone.id,
            "oba_status": phone.oba_status,
            "status_message": phone.oba_status_message,
        }

    @locked
    def oba_post(self, tok: Token, phone_id: str, params: dict[str, Any]) -> dict[str, Any]:
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
        action = str(params.get("action") or "SUBMIT_APPLICATION")
        if action == "WITHDRAW_APPLICATION":
            phone.oba_status, phone.oba_status_message = "CANCELLED", "Application withdrawn"
        else:
            phone.oba_status = "PENDING"
            phone.oba_status_message = "Your Official Business Account application is under review"
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
