"""Graph API error catalogue used by the mock (NOTES.md §6, §2, §7).

Each entry maps a Graph ``code`` (and optionally a subcode) to the HTTP status, the error
``type`` and a default message / details. Rows marked "unverified" are plausible values that
no source in NOTES.md confirms; they are kept here so a single table can be corrected later.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

OAUTH = "OAuthException"
GRAPH_METHOD = "GraphMethodException"


@dataclass(frozen=True)
class ErrorSpec:
    http_status: int
    message: str
    type: str = OAUTH
    is_transient: bool | None = None


# code -> defaults. The message is the "(#code) title" form Meta uses.
CATALOGUE: dict[int, ErrorSpec] = {
    0: ErrorSpec(401, "AuthException"),
    1: ErrorSpec(400, "An unknown error occurred", is_transient=True),
    2: ErrorSpec(503, "Service temporarily unavailable", is_transient=True),
    3: ErrorSpec(500, "(#3) Application does not have the capability to make this API call."),
    4: ErrorSpec(429, "(#4) Application request limit reached", is_transient=True),
    10: ErrorSpec(403, "(#10) Application does not have permission for this action"),
    17: ErrorSpec(429, "(#17) User request limit reached", is_transient=True),
    33: ErrorSpec(400, "(#33) This business phone number has been deleted."),
    100: ErrorSpec(400, "(#100) Invalid parameter"),
    101: ErrorSpec(400, "Error validating application. Invalid application ID."),  # unverified
    104: ErrorSpec(401, "An access token is required to request this resource."),
    190: ErrorSpec(401, "Invalid OAuth access token - Cannot parse access token"),
    200: ErrorSpec(403, "(#200) Permissions error"),
    368: ErrorSpec(403, "(#368) Temporarily blocked for policies violations"),
    80007: ErrorSpec(429, "(#80007) Rate limit issues", is_transient=True),
    130429: ErrorSpec(400, "(#130429) Rate limit hit", is_transient=True),
    130472: ErrorSpec(400, "(#130472) User's number is part of an experiment"),
    131000: ErrorSpec(500, "(#131000) Something went wrong", is_transient=True),
    131005: ErrorSpec(403, "(#131005) Access denied"),
    131008: ErrorSpec(400, "(#131008) Required parameter is missing"),
    131009: ErrorSpec(400, "(#131009) Parameter value is not valid"),
    131016: ErrorSpec(500, "(#131016) Service unavailable", is_transient=True),
    131021: ErrorSpec(400, "(#131021) Recipient cannot be sender"),
    131026: ErrorSpec(400, "(#131026) Message undeliverable"),
    131031: ErrorSpec(403, "(#131031) Business Account locked"),
    131042: ErrorSpec(400, "(#131042) Business eligibility payment issue"),
    131045: ErrorSpec(500, "(#131045) Incorrect certificate"),
    131047: ErrorSpec(400, "(#131047) Re-engagement message"),
    131048: ErrorSpec(400, "(#131048) Spam rate limit hit", is_transient=True),
    131051: ErrorSpec(400, "(#131051) Unsupported message type"),
    131052: ErrorSpec(400, "(#131052) Media download error"),
    131053: ErrorSpec(400, "(#131053) Media upload error"),
    131056: ErrorSpec(
        400, "(#131056) (Business Account, Consumer Account) pair rate limit hit", is_transient=True
    ),
    131057: ErrorSpec(500, "(#131057) Account in maintenance mode", is_transient=True),
    132000: ErrorSpec(400, "(#132000) Number of parameters does not match the expected number"),
    132001: ErrorSpec(404, "(#132001) Template name does not exist in the translation"),
    132005: ErrorSpec(400, "(#132005) Translated text too long"),
    132007: ErrorSpec(400, "(#132007) Template format character policy violated"),
    132012: ErrorSpec(
        400, "(#132012) Parameter format does not match format in the created template"
    ),
    132015: ErrorSpec(400, "(#132015) Template is paused"),
    132016: ErrorSpec(400, "(#132016) Template is disabled"),
    133000: ErrorSpec(500, "(#133000) Incomplete deregistration"),
    133004: ErrorSpec(503, "(#133004) Server temporarily unavailable", is_transient=True),
    133005: ErrorSpec(400, "(#133005) Two step verification PIN Mismatch"),
    133006: ErrorSpec(400, "(#133006) Phone number re-verification needed"),
    133008: ErrorSpec(400, "(#133008) Too many two step verification PIN guesses"),
    133009: ErrorSpec(400, "(#133009) Two step verification PIN guessed too fast"),
    133010: ErrorSpec(400, "(#133010) Account not registered"),
    133015: ErrorSpec(400, "(#133015) Please wait a few minutes before attempting to register"),
    133016: ErrorSpec(400, "(#133016) Account register deregister rate limit exceeded"),
    135000: ErrorSpec(400, "(#135000) Generic user error"),
    136024: ErrorSpec(400, "(#136024) Request code error"),
    136025: ErrorSpec(400, "(#136025) Verify code error"),
}

# Well-known subcodes and their default details (used when the caller gives none).
SUBCODE_DETAILS: dict[tuple[int, int], str] = {
    (100, 33): "Object does not exist, cannot be loaded due to missing permissions, "
    "or does not support this operation",
    (100, 2207051): "Phone number not registered on the WhatsApp Business Platform",
    (100, 2388019): "Message template limit exceeded (250 per WhatsApp Business Account)",
    (
        100,
        2388024,
    ): "A message template with this name already exists in this language",  # unverified
    (100, 2388023): "Message template is being deleted; the name cannot be reused for 30 days",
    (100, 2388299): "Template body cannot start or end with a variable",
    (100, 36007): "This authorization code has expired.",  # unverified
    (100, 36008): "Invalid verification code format.",  # unverified
    (100, 36009): "This authorization code has been used.",  # unverified
    (190, 458): "Error validating access token: The user has not authorized application.",
    (190, 460): "Error validating access token: The session has been invalidated.",
    (190, 463): "Error validating access token: Session has expired.",
    (190, 467): "Error validating access token: Invalid access token.",
}


def new_trace_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")[:22]


class GraphError(Exception):
    """A Graph API failure; rendered as the ``{"error": {...}}`` envelope."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        subcode: int | None = None,
        message: str | None = None,
        http_status: int | None = None,
        error_type: str | None = None,
        is_transient: bool | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
    ) -> None:
        spec = CATALOGUE.get(code, ErrorSpec(400, f"(#{code}) Error"))
        self.code = code
        self.subcode = subcode
        self.message = message or spec.message
        self.http_status = http_status or spec.http_status
        self.error_type = error_type or spec.type
        self.is_transient = spec.is_transient if is_transient is None else is_transient
        default_details = SUBCODE_DETAILS.get((code, subcode or 0), self.message)
        self.details = details if details is not None else default_details
        self.user_title = user_title
        self.user_msg = user_msg
        super().__init__(f"{code}/{subcode}: {self.details}")

    def to_dict(self, trace_id: str | None = None) -> dict[str, Any]:
        err: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
        }
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.is_transient is not None:
            err["is_transient"] = self.is_transient
        if self.user_title:
            err["error_user_title"] = self.user_title
        if self.user_msg:
            err["error_user_msg"] = self.user_msg
        err["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        err["fbtrace_id"] = trace_id or new_trace_id()
        return {"error": err}

    def webhook_error(self) -> dict[str, Any]:
        """The shape used inside webhook payloads (statuses[].errors[])."""
        title = self.message.split(") ", 1)[-1]
        return {
            "code": self.code,
            "title": title,
            "message": title,
            "error_data": {"details": self.details},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }


def not_found(node_id: str) -> GraphError:
    """Meta's answer for an id that does not exist or is not visible."""
    return GraphError(
        100,
        subcode=33,
        message=(
            f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation."
        ),
        error_type=GRAPH_METHOD,
    )


def invalid_param(details: str, *, subcode: int | None = None) -> GraphError:
    return GraphError(100, details, subcode=subcode)


def require(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise GraphError(
            100,
            f"The parameter {name} is required.",
            message=f"(#100) The parameter {name} is required.",
        )
    return value
