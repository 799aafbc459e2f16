"""Plain dataclasses for the mock's in-memory world (no behaviour beyond serialisation)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Business:
    id: str
    name: str
    verification_status: str = "verified"  # lower case, as the live API returns it
    messaging_limit: str = "TIER_2K"
    max_phone_numbers: int = 20
    created_at: float = 0.0


@dataclass
class Subscription:
    app_id: str
    app_name: str
    override_callback_uri: str | None = None
    verify_token: str | None = None


@dataclass
class Waba:
    id: str
    business_id: str
    name: str
    currency: str = "USD"
    timezone_id: str = "1"
    country: str = "US"
    message_template_namespace: str = ""
    account_review_status: str = "APPROVED"
    ownership_type: str = "CLIENT_OWNED"
    status: str = "ACTIVE"
    ban_state: str | None = None  # DISABLE | REINSTATE | SCHEDULE_FOR_DISABLE
    ban_date: str | None = None
    restrictions: list[dict[str, Any]] = field(default_factory=list)
    violation: str | None = None
    payment_method: bool = True
    mm_lite_onboarded: bool = False  # MM_LITE_TERMS_SIGNED was sent
    disable_marketing_messages_on_cloud_api: bool = False
    credit_allocation_id: str | None = None
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    partner_app_ids: list[str] = field(default_factory=list)
    created_at: float = 0.0


@dataclass
class VerificationCode:
    code: str
    issued_at: float
    method: str
    language: str
    attempts: int = 0


@dataclass
class PhoneNumber:
    id: str
    waba_id: str
    cc: str
    national_number: str
    verified_name: str
    status: str = "PENDING"
    code_verification_status: str = "NOT_VERIFIED"
    platform_type: str = "NOT_APPLICABLE"
    name_status: str = "PENDING_REVIEW"
    new_name_status: str | None = None
    new_display_name: str | None = None
    name_changes: list[float] = field(default_factory=list)  # when names were asked for
    quality_rating: str = "UNKNOWN"
    account_mode: str = "LIVE"
    throughput_level: str = "STANDARD"
    is_official_business_account: bool = False
    oba_status: str = "NOT_STARTED"
    oba_status_message: str = "No Official Business Account application submitted"
    oba_application: dict[str, Any] = field(default_factory=dict)
    search_visibility: str = "VISIBLE"
    pin: str | None = None
    pin_set_by: str | None = None  # "us" | "other"
    webhook_override: dict[str, str] | None = None
    last_onboarded_time: float | None = None
    created_at: float = 0.0
    code: VerificationCode | None = None
    code_requests: list[float] = field(default_factory=list)
    register_calls: list[float] = field(default_factory=list)
    register_blocked_until: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    conversational_automation: dict[str, Any] = field(
        default_factory=lambda: {"enable_welcome_message": False, "prompts": [], "commands": []}
    )

    @property
    def e164_digits(self) -> str:
        return f"{self.cc}{self.national_number}"

    @property
    def registered(self) -> bool:
        return self.platform_type == "CLOUD_API" and self.status == "CONNECTED"

    def display_number(self) -> str:
        """As Meta shows it: libphonenumber's international format ("+49 30 123456")."""
        n = self.national_number
        if self.cc == "1" and len(n) == 10:
            return f"+1 {n[:3]}-{n[3:6]}-{n[6:]}"
        try:
            import phonenumbers

            parsed = phonenumbers.parse(f"+{self.cc}{n}")
            if phonenumbers.is_valid_number(parsed):
                return str(
                    phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
                )
        except Exception:  # noqa: S110 - a number libphonenumber cannot read: groups below
            pass
        groups = [n[i : i + 3] for i in range(0, len(n), 3)] if n else []
        return f"+{self.cc} " + " ".join(groups)


@dataclass
class Template:
    id: str
    waba_id: str
    name: str
    language: str
    category: str
    components: list[dict[str, Any]]
    status: str = "PENDING"
    parameter_format: str = "POSITIONAL"
    rejected_reason: str = "NONE"
    previous_category: str | None = None
    quality_score: str = "UNKNOWN"
    message_send_ttl_seconds: int | None = None
    correct_category: str | None = None  # set while a category change is impending
    library_template_name: str | None = None  # created from the template library
    cta_url_link_tracking_opted_out: bool = False
    degrees_of_freedom_spec: dict[str, Any] | None = None
    created_at: float = 0.0
    review_seq: int = 0
    # -- templates (T1): the pause ladder, edits of the approved template, approval
    was_approved: bool = False  # a deleted template keeps its name for 30 days if so
    pause_count: int = 0  # the 1st pause lasts 3 h, the 2nd 6 h, the 3rd disables
    paused_until: float | None = None
    approved_edits: list[float] = field(default_factory=list)  # times of edits while APPROVED
    quality_date: float = 0.0

    def body_text(self) -> str:
        for comp in self.components:
            if str(comp.get("type", "")).upper() == "BODY":
                return str(comp.get("text", ""))
        return ""


@dataclass
class Token:
    token: str
    kind: str  # USER | SYSTEM_USER | BISU | APP
    app_id: str
    user_id: str
    scopes: list[str]
    waba_ids: list[str] | None  # None means every WABA
    business_ids: list[str] = field(default_factory=list)
    expires_at: float | None = None
    revoked: bool = False
    revoke_subcode: int = 460
    issued_at: float = 0.0


@dataclass
class OAuthCode:
    code: str
    token: str
    issued_at: float
    used: bool = False


@dataclass
class Media:
    id: str
    owner_phone_id: str | None
    mime_type: str
    data: bytes
    sha256: str
    filename: str | None = None
    created_at: float = 0.0


@dataclass
class Message:
    id: str
    phone_number_id: str
    direction: str  # outbound | inbound
    wa_id: str
    type: str
    payload: dict[str, Any]
    status: str = "accepted"
    timestamp: float = 0.0
    error: dict[str, Any] | None = None


@dataclass
class WaUser:
    """A WhatsApp user as one business portfolio sees them (see ``state.users``)."""

    business_id: str
    wa_id: str  # the user's number; the mock always knows it, webhooks may not show it
    user_id: str  # the business-scoped user id (BSUID)
    name: str | None = None  # the profile name, once the user has written
    username: str | None = None
    hide_wa_id: bool = False  # a user with a username who keeps the number from businesses
    parent_user_id: str | None = None


@dataclass
class QrCode:
    code: str
    phone_number_id: str
    prefilled_message: str
    image_format: str | None = None
    creation_time: int = 0


@dataclass
class UploadSession:
    id: str
    file_name: str
    file_length: int
    file_type: str
    data: bytes = b""
    handle: str | None = None


def as_dict(obj: Any) -> dict[str, Any]:
    data = dataclasses.asdict(obj)
    data.pop("data", None)  # raw bytes of media / uploads
    return data
