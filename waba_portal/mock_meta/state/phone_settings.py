"""What a registered number shows and allows: settings, business profile, OBA status."""

from __future__ import annotations

import re
import secrets
from typing import Any

from ..errors import GraphError, invalid_param, require
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
# Read answers may say UNDEFINED or NOT_A_BIZ; an update takes only the spec's list.
WRITABLE_VERTICALS = [v for v in VERTICALS if v not in ("UNDEFINED", "NOT_A_BIZ")]
# (shortest, longest) of each text field of the profile (NOTES §2; description as PYWA).
PROFILE_LIMITS = {
    "about": (1, 139),
    "address": (0, 256),
    "description": (0, 512),
    "email": (0, 128),
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
WEBSITE = re.compile(r"^https?://[^\s/?#.]+(\.[^\s/?#.]+)*(:[0-9]{1,5})?([/?#]\S*)?$", re.I)
PICTURE_TYPES = ("image/jpeg", "image/jpg", "image/png")
PICTURE_MAGIC = (b"\xff\xd8", b"\x89PNG\r\n\x1a\n")


def _param_error(name: str, problem: str) -> GraphError:
    """Meta's answer to a profile value it refuses: code 100, the parameter named."""
    return GraphError(100, f"Param {name} {problem}", message=f"(#100) Param {name} {problem}")


def _websites(value: Any) -> list[str]:
    sites = [value] if isinstance(value, str) else value
    if not isinstance(sites, list) or len(sites) > 2:
        raise _param_error("websites", "must be an array of at most 2 URLs")
    for index, site in enumerate(sites):
        if not isinstance(site, str) or len(site) > 256 or not WEBSITE.match(site):
            raise _param_error(
                f"websites[{index}]", "must be a valid URL of at most 256 characters"
            )
    return list(sites)


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
        """``POST /{phone}/whatsapp_business_profile``: every value is checked before any
        is kept, so a refused update changes nothing (NOTES §2 for the limits)."""
        phone = self._phone_for(tok, phone_id, "whatsapp_business_management")
        if require(params, "messaging_product") != "whatsapp":
            raise invalid_param("messaging_product must be whatsapp")
        changes: dict[str, Any] = {}
        for key, (lo, hi) in PROFILE_LIMITS.items():
            if key not in params:
                continue
            value = params[key]
            if not isinstance(value, str):
                raise _param_error(key, "must be a string")
            if len(value) > hi:
                raise _param_error(key, f"must be at most {hi} characters long")
            if len(value) < lo:
                raise _param_error(key, f"must be at least {lo} character long")
            changes[key] = value
        if changes.get("email") and not EMAIL.match(changes["email"]):
            raise _param_error("email", "must be a valid email address")
        if "websites" in params:
            changes["websites"] = _websites(params["websites"])
        if "vertical" in params:
            if params["vertical"] not in WRITABLE_VERTICALS:
                raise _param_error(
                    "vertical", "must be one of {" + ", ".join(WRITABLE_VERTICALS) + "}"
                )
            changes["vertical"] = params["vertical"]
        if params.get("profile_picture_handle"):
            session = self.upload_handles.get(str(params["profile_picture_handle"]))
            if session is None or session.handle is None:
                raise _param_error(
                    "profile_picture_handle",
                    "is not the handle of a finished upload session",
                )
            if session.file_type not in PICTURE_TYPES or not session.data.startswith(PICTURE_MAGIC):
                raise _param_error("profile_picture_handle", "must point to a JPEG or PNG image")
            media = self._store_media(None, session.file_type, session.data, session.file_name)
            changes["profile_picture_url"] = f"{base_url}/pps/{media.id}"
        phone.profile.update(changes)
        return {"success": True}

    # --- Official Business Account (the green badge) ------------------------------------
    # POST takes Meta's documented fields (business_website_url, primary_country_of_
    # operation, primary_language, supporting_links, parent_business_or_brand,
    # additional_supporting_information) and the spec's {action, application_data} alike
    # (NOTES §2: the spec's body looks synthetic). A request is reviewed after
    # ``oba_review_delay`` by ``oba_rules``; the decision shows in the GET (Meta sends no
    # webhook for it).

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
        action = str(params.get("action") or "SUBMIT_APPLICATION").upper()
        if action not in OBA_ACTIONS:
            raise invalid_param(f"action must be one of {', '.join(OBA_ACTIONS)}")
        if action == "WITHDRAW_APPLICATION":
            if phone.oba_status != "PENDING":
                raise invalid_param("There is no Official Business Account application to withdraw")
            phone.oba_status, phone.oba_status_message = "CANCELLED", "Application withdrawn"
        else:
            if phone.oba_status == "PENDING":
                raise invalid_param(
                    "An Official Business Account application is already under review"
                )
            if phone.is_official_business_account or phone.oba_status == "APPROVED":
                raise invalid_param("This phone number is already an Official Business Account")
            phone.oba_application = _oba_application(params)
            phone.oba_status = "PENDING"
            phone.oba_status_message = "Your Official Business Account application is under review"
            self._schedule_oba_review(phone.id, phone.oba_application)
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

    def _schedule_oba_review(self, phone_id: str, application: dict[str, Any]) -> None:
        delay = self.config.oba_review_delay
        if delay is None:
            return
        self.scheduler.call_later(delay, lambda: self._review_oba(phone_id, application))

    @locked
    def _review_oba(self, phone_id: str, application: dict[str, Any]) -> None:
        """Decide a pending application by the config's rules (scheduler thread)."""
        from .templates import rule_matches

        phone = self.phones.get(phone_id)
        if phone is None or phone.oba_status != "PENDING" or phone.oba_application != application:
            return  # withdrawn, or another application replaced it meanwhile
        text = " ".join(
            str(v) for v in (*_flatten(application), phone.verified_name) if v is not None
        )
        decision, reason = "APPROVED", ""
        for rule in self.config.oba_rules:
            if rule_matches(rule, phone.verified_name, text, ""):
                decision = str(rule.get("decision", "REJECTED")).upper()
                reason = str(rule.get("reason", ""))
                break
        if decision == "APPROVED":
            phone.oba_status = "APPROVED"
            phone.oba_status_message = "Your Official Business Account has been approved"
            phone.is_official_business_account = True
        else:
            phone.oba_status = "REJECTED"
            phone.oba_status_message = reason or (
                "Your Official Business Account application was rejected. Please review the "
                "requirements and reapply."
            )


OBA_ACTIONS = ("SUBMIT_APPLICATION", "WITHDRAW_APPLICATION", "RESUBMIT_APPLICATION")
OBA_LINKS_MAX = 5
_URL_RE = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+[^\s]*$", re.IGNORECASE)


def _oba_application(params: dict[str, Any]) -> dict[str, Any]:
    """The application as Meta takes it; Meta's documented fields are checked when given."""
    documented = (
        "business_website_url",
        "primary_country_of_operation",
        "primary_language",
        "supporting_links",
        "parent_business_or_brand",
        "additional_supporting_information",
    )
    if not any(key in params for key in documented):
        data = params.get("application_data")
        return dict(data) if isinstance(data, dict) else {}
    website = str(require(params, "business_website_url"))
    if not _URL_RE.match(website) or len(website) > 256:
        raise invalid_param("business_website_url must be an http(s) URL of at most 256 characters")
    country = str(require(params, "primary_country_of_operation"))
    language = str(require(params, "primary_language"))
    links = params.get("supporting_links") or []
    if isinstance(links, str):
        links = [links]
    if not isinstance(links, list) or len(links) > OBA_LINKS_MAX:
        raise invalid_param(f"supporting_links takes at most {OBA_LINKS_MAX} URLs")
    if any(not _URL_RE.match(str(link)) for link in links):
        raise invalid_param("supporting_links must be http(s) URLs")
    return {
        "business_website_url": website,
        "primary_country_of_operation": country,
        "primary_language": language,
        "supporting_links": [str(link) for link in links],
        "parent_business_or_brand": str(params.get("parent_business_or_brand") or ""),
        "additional_supporting_information": str(
            params.get("additional_supporting_information") or ""
        ),
    }


def _flatten(data: Any) -> list[Any]:
    if isinstance(data, dict):
        return [v for value in data.values() for v in _flatten(value)]
    if isinstance(data, list):
        return [v for value in data for v in _flatten(value)]
    return [data]
