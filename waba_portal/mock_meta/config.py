"""Run-time configuration of the mock (changed by CLI options and ``POST /_mock/config``)."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

# Template review rules, evaluated in order; the first rule that matches decides. A template
# that matches none is APPROVED. Each rule is a dict:
#   {"match": "name_contains" | "name_regex" | "body_contains" | "body_regex" | "category",
#    "value": str, "decision": "APPROVED" | "REJECTED", "reason": <rejected_reason>}
# Override the list with POST /_mock/config {"review_rules": [...]}.
DEFAULT_REVIEW_RULES: list[dict[str, str]] = [
    {
        "match": "name_contains",
        "value": "reject",
        "decision": "REJECTED",
        "reason": "INVALID_FORMAT",
    },
    {
        "match": "body_regex",
        "value": r"(?i)\b(casino|lottery|jackpot|free money|guaranteed winnings)\b",
        "decision": "REJECTED",
        "reason": "ABUSIVE_CONTENT",
    },
    {
        "match": "body_regex",
        "value": r"(?i)\b(wire transfer|gift cards? as payment|your account will be closed)\b",
        "decision": "REJECTED",
        "reason": "SCAM",
    },
]

# Display-name review rules (same format, matched against the requested name with "name_*").
DEFAULT_NAME_RULES: list[dict[str, str]] = [
    {"match": "name_contains", "value": "reject", "decision": "REJECTED", "reason": "NAME_POLICY"},
]

# Official Business Account review rules (same format): "name_*" rules match the number's
# display name, "body_*" rules the request's website, supporting links and notes. A request
# that matches none is APPROVED. Rejections answer the rule's reason as status_message.
DEFAULT_OBA_RULES: list[dict[str, str]] = [
    {
        "match": "body_contains",
        "value": "reject",
        "decision": "REJECTED",
        "reason": "The business is not notable enough: too few independent news articles.",
    },
]

WEBHOOK_MODES = ("normal", "duplicate", "reorder", "batch")


@dataclass
class Config:
    app_id: str = "100000000000001"
    app_secret: str = "mock-app-secret"  # noqa: S105 - a mock default
    app_name: str = "WABA Portal"
    verify_token: str = "mock-verify-token"  # noqa: S105
    webhook_url: str | None = None
    # Only deliver WABA-scoped webhooks when the app is subscribed to the WABA (as Meta does).
    require_subscription: bool = True
    review_delay: float = 2.0
    review_rules: list[dict[str, str]] = field(
        default_factory=lambda: copy.deepcopy(DEFAULT_REVIEW_RULES)
    )
    name_review_delay: float | None = 2.0  # None: only decided through /_mock/emit
    name_rules: list[dict[str, str]] = field(
        default_factory=lambda: copy.deepcopy(DEFAULT_NAME_RULES)
    )
    oba_review_delay: float | None = 5.0  # None: stays PENDING until /_mock/patch
    oba_rules: list[dict[str, str]] = field(
        default_factory=lambda: copy.deepcopy(DEFAULT_OBA_RULES)
    )
    auto_approve_categories: list[str] = field(default_factory=list)
    throughput: int = 80  # messages per second per number
    pair_burst: int = 45  # messages to one user before the pair rate applies
    pair_interval: float = 6.0  # seconds per refilled pair-rate token
    # Seconds after the send at which each status webhook fires; None skips that status.
    status_delays: dict[str, float | None] = field(
        default_factory=lambda: {"sent": 0.5, "delivered": 1.0, "read": 2.0}
    )
    undeliverable_recipients: list[str] = field(default_factory=list)  # -> failed 131026
    window_seconds: float = 24 * 3600
    code_ttl: float = 600.0
    code_request_limit: int = 5
    code_request_window: float = 3600.0
    verify_attempts_max: int = 5
    register_limit: int = 10
    register_window: float = 72 * 3600
    oauth_code_ttl: float = 300.0
    template_limit: int = 250
    webhook_mode: str = "normal"
    # The solution partner's extended credit line (the id a partner shares with
    # client WABAs) and the currencies it can be shared in.
    credit_line_id: str = "700000000000001"
    credit_line_currencies: list[str] = field(
        default_factory=lambda: ["USD", "EUR", "GBP", "INR", "IDR", "BRL", "MXN"]
    )
    batch_window: float = 0.3  # seconds collected before a batched / reordered flush
    webhook_max_attempts: int = 5
    webhook_backoff: float = 1.0  # first retry delay; doubles each attempt
    webhook_max_backoff: float = 60.0
    webhook_timeout: float = 5.0
    request_log_limit: int = 2000
    webhook_log_limit: int = 2000

    def update(self, values: dict[str, Any]) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(values) - names - {"webhook_retry"}
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        retry = values.get("webhook_retry")
        if isinstance(retry, dict):
            for key, target in (
                ("max_attempts", "webhook_max_attempts"),
                ("backoff", "webhook_backoff"),
                ("max_backoff", "webhook_max_backoff"),
                ("timeout", "webhook_timeout"),
            ):
                if key in retry:
                    setattr(self, target, retry[key])
        for key, value in values.items():
            if key == "webhook_retry":
                continue
            if key == "webhook_mode" and value not in WEBHOOK_MODES:
                raise ValueError(f"webhook_mode must be one of {WEBHOOK_MODES}")
            if key == "status_delays":
                merged = dict(self.status_delays)
                merged.update(value)
                value = merged
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["app_secret"] = "***"  # noqa: S105
        return data
