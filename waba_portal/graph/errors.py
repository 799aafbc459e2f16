"""Typed errors for every failure of a Graph API call.

Meta answers errors with one envelope (NOTES.md §6)::

    {"error": {"message", "type", "code", "error_subcode", "error_user_title",
               "error_user_msg", "is_transient", "error_data": {...} | "...", "fbtrace_id"}}

:func:`error_from_response` turns such an envelope (or a non-JSON body, or a bare HTTP
status) into one exception of the hierarchy below, so callers decide by family::

    GraphError
    ├── GraphAuthError            190 (+ subcodes 458/459/460/463/464/467), 0, 102, 104
    ├── GraphPermissionError      3, 10, 200-299, 368, 131005, 131031, 131042, 130497
    │   └── AccountRestrictedError    368, 131031, 130497 (integrity)
    ├── GraphRateLimitError       4, 17, 32, 613, 80004-80008, 130429, 131048, 131056, 133016 …
    │   └── RegistrationLimitError    133016 (10 register/deregister calls per 72 h)
    ├── GraphTransientError       1, 2, 131000, 131016, 131057, 133004, is_transient, HTTP 5xx
    │   └── GraphConnectionError      connect/read failures (``request_sent`` says which)
    ├── GraphOutcomeUnknown       a non-idempotent call whose request may have reached Meta
    └── GraphInvalidRequestError  100, 131008, 131009, 131021, 131026, 131051-131053, 132xxx …
        ├── GraphNotFoundError        803, HTTP 404 without a better code
        ├── ReEngagementRequired      131047 (24 h customer service window closed)
        ├── TemplateUnavailable       132001, 132015, 132016
        ├── TemplateLimitReached      subcode 2388019
        ├── PinMismatchError          133005
        ├── PhoneNotRegisteredError   133010, 131045, subcode 2207051
        └── VerificationError         136024 (request_code), 136025 (verify_code)
            ├── CodeRequestError
            └── CodeVerifyError

**GraphOutcomeUnknown is deliberately not a GraphTransientError.** A caller that
retries "anything transient" must not re-send a message whose first request may have
been accepted by Meta. Code that sees it has to reconcile first (status webhooks,
``biz_opaque_callback_data``, listing the resource) and only then decide to re-send.
For idempotent calls the client raises GraphConnectionError instead, which is
transient and retried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .redact import redact

__all__ = [
    "AccountRestrictedError",
    "CodeInfo",
    "CodeRequestError",
    "CodeVerifyError",
    "GraphAuthError",
    "GraphConnectionError",
    "GraphError",
    "GraphInvalidRequestError",
    "GraphNotFoundError",
    "GraphOutcomeUnknown",
    "GraphPermissionError",
    "GraphRateLimitError",
    "GraphTransientError",
    "PaginationLimitExceeded",
    "PhoneNotRegisteredError",
    "PinMismatchError",
    "ReEngagementRequired",
    "RegistrationLimitError",
    "TemplateLimitReached",
    "TemplateUnavailable",
    "VerificationError",
    "classify",
    "code_catalogue",
    "describe",
    "error_from_envelope",
    "error_from_response",
    "parse_retry_after",
    "subcode_catalogue",
]

AUTH = "auth"
PERMISSION = "permission"
RATE_LIMIT = "rate_limit"
TRANSIENT = "transient"
OUTCOME_UNKNOWN = "outcome_unknown"
INVALID_REQUEST = "invalid_request"
UNKNOWN = "unknown"


class GraphError(Exception):
    """Base of every error raised by the Graph client.

    Attributes mirror Meta's envelope; ``http_status`` is the HTTP status (``None`` when
    no response arrived). ``method``/``path`` name the call (query string redacted).
    """

    family: ClassVar[str] = UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        type: str | None = None,
        is_transient: bool | None = None,
        details: str | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
        raw: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.type = type
        self.is_transient = is_transient
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.user_title = user_title
        self.user_msg = user_msg
        self.method = method
        self.path = path
        self.retry_after = retry_after
        self.raw = raw

    @property
    def title(self) -> str | None:
        """Short title from the code catalogue (subcode first), if known."""
        info = describe(self.code, self.subcode)
        return info.title if info else None

    def __str__(self) -> str:
        parts = [self.message]
        if self.details and self.details not in self.message:
            parts.append(f"({self.details})")
        meta = []
        if self.code is not None:
            meta.append(f"code={self.code}")
        if self.subcode is not None:
            meta.append(f"subcode={self.subcode}")
        if self.http_status is not None:
            meta.append(f"http={self.http_status}")
        if self.fbtrace_id:
            meta.append(f"fbtrace_id={self.fbtrace_id}")
        if meta:
            parts.append("[" + " ".join(meta) + "]")
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, code={self.code!r}, "
            f"subcode={self.subcode!r}, http_status={self.http_status!r}, "
            f"fbtrace_id={self.fbtrace_id!r})"
        )


class GraphAuthError(GraphError):
    """The access token is missing, invalid, expired or revoked: reconnect the account."""

    family = AUTH


class GraphPermissionError(GraphError):
    """The token is valid but lacks a permission or access to the asset."""

    family = PERMISSION


class AccountRestrictedError(GraphPermissionError):
    """Integrity enforcement: account locked, blocked or restricted by Meta."""


class GraphRateLimitError(GraphError):
    """A rate or volume limit was hit.

    ``retry_after`` (seconds) is always filled in by the client: from ``Retry-After``,
    ``x-business-use-case-usage`` or a per-code default.
    """

    family = RATE_LIMIT


class RegistrationLimitError(GraphRateLimitError):
    """133016: more than 10 register/deregister calls in 72 h; blocked for 72 h."""


class GraphTransientError(GraphError):
    """A temporary failure on Meta's side or on the way there; safe to retry if idempotent."""

    family = TRANSIENT


class GraphConnectionError(GraphTransientError):
    """No (complete) HTTP response arrived.

    ``request_sent`` is ``False`` when the connection could not even be opened (refused,
    DNS, connect timeout), ``True`` when the request may have reached Meta (read timeout,
    connection dropped mid-way). ``timeout`` says whether a timeout was the cause.
    """

    def __init__(self, message: str, *, request_sent: bool, timeout: bool, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.request_sent = request_sent
        self.timeout = timeout


class GraphOutcomeUnknown(GraphError):
    """A non-idempotent call (e.g. a message send) may or may not have taken effect.

    Raised on a read timeout or dropped connection after the request was sent. Not a
    GraphTransientError on purpose: do not retry without reconciling first.
    """

    family = OUTCOME_UNKNOWN

    def __init__(self, message: str, *, timeout: bool, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.timeout = timeout


class GraphInvalidRequestError(GraphError):
    """The request is wrong or cannot succeed as it is; do not retry unchanged."""

    family = INVALID_REQUEST


class GraphNotFoundError(GraphInvalidRequestError):
    """The node does not exist or is not visible to this token (803, HTTP 404)."""


class ReEngagementRequired(GraphInvalidRequestError):
    """131047: over 24 h since the user's last message; only templates can be sent."""


class TemplateUnavailable(GraphInvalidRequestError):
    """132001/132015/132016: template missing in that language, not approved, paused or
    disabled."""


class TemplateLimitReached(GraphInvalidRequestError):
    """Subcode 2388019: the WABA already has the maximum number of templates (250)."""


class PinMismatchError(GraphInvalidRequestError):
    """133005: the two-step verification PIN does not match the one set on the number."""


class PhoneNotRegisteredError(GraphInvalidRequestError):
    """133010 / 131045 / subcode 2207051: the number is not registered on Cloud API."""


class VerificationError(GraphInvalidRequestError):
    """A phone ownership verification step failed."""


class CodeRequestError(VerificationError):
    """136024: request_code failed (e.g. too many requests, number cannot receive codes)."""


class CodeVerifyError(VerificationError):
    """136025: verify_code failed (wrong or expired code)."""


@dataclass(frozen=True)
class CodeInfo:
    """One row of the troubleshooting catalogue."""

    exc: type[GraphError]
    title: str
    http_status: int | None = None

    @property
    def family(self) -> str:
        return self.exc.family


def _row(exc: type[GraphError], title: str, http_status: int | None = None) -> CodeInfo:
    return CodeInfo(exc, title, http_status)


_A, _P, _R, _T, _I = (
    GraphAuthError,
    GraphPermissionError,
    GraphRateLimitError,
    GraphTransientError,
    GraphInvalidRequestError,
)

#: Every top-level ``code`` NOTES.md §6 lists (plus the spec's 803/102/32/613), with the
#: family it belongs to and a short title. Codes 200-299 are covered by a range rule
#: in :func:`classify`; 200 itself is listed.
code_catalogue: Mapping[int, CodeInfo] = {
    # Auth and permissions
    0: _row(_A, "Authentication exception", 401),
    102: _row(_A, "Session key invalid or no longer valid", 401),
    104: _row(_A, "Access token required", 401),
    190: _row(_A, "Access token expired or invalid", 401),
    3: _row(_P, "Capability missing", 500),
    10: _row(_P, "Permission denied", 403),
    200: _row(_P, "Permission error", 403),
    # Rate limits
    4: _row(_R, "Application request limit reached", 400),
    17: _row(_R, "User request limit reached", 400),
    32: _row(_R, "Page request limit reached", 400),
    613: _row(_R, "Calls within one hour exceeded rate limit", 400),
    80004: _row(_R, "Too many calls (business use case)", 400),
    80005: _row(_R, "Too many calls (business use case)", 400),
    80006: _row(_R, "Too many calls (business use case)", 400),
    80007: _row(_R, "WhatsApp Business Account rate limit reached", 400),
    80008: _row(_R, "WhatsApp Business Management API rate limit reached", 400),
    130429: _row(_R, "Cloud API throughput reached", 400),
    131048: _row(_R, "Spam rate limit hit", 400),
    131056: _row(_R, "Business-consumer pair rate limit hit", 400),
    133016: _row(RegistrationLimitError, "Register/deregister rate limit exceeded", 400),
    133008: _row(_R, "Too many two-step verification PIN guesses", 400),
    133009: _row(_R, "Two-step verification PIN guessed too fast", 400),
    133015: _row(_R, "Wait about 5 minutes after deleting the number", 400),
    # Integrity
    368: _row(AccountRestrictedError, "Temporarily blocked for policy violations", 403),
    131031: _row(AccountRestrictedError, "Business account locked", 403),
    130497: _row(AccountRestrictedError, "Business restricted from messaging this country", 403),
    # General
    1: _row(_T, "Unknown API error", 400),
    2: _row(_T, "Temporary service unavailability", 503),
    33: _row(_I, "Business phone number deleted", 400),
    100: _row(_I, "Invalid parameter", 400),
    803: _row(GraphNotFoundError, "Object not found", 404),
    131000: _row(_T, "Something went wrong", 500),
    131005: _row(_P, "Access denied", 403),
    131008: _row(_I, "Required parameter missing", 400),
    131009: _row(_I, "Parameter value not valid", 400),
    131016: _row(_T, "Service unavailable", 500),
    131021: _row(_I, "Recipient cannot be sender", 400),
    135000: _row(_I, "Generic user error", 400),
    # Sending
    131026: _row(_I, "Message undeliverable", 400),
    131030: _row(_I, "Recipient not in allowed list", 400),
    131042: _row(_P, "Business eligibility / payment issue", 400),
    131045: _row(PhoneNotRegisteredError, "Incorrect certificate: number not registered", 500),
    131047: _row(ReEngagementRequired, "Re-engagement message required", 400),
    131049: _row(_I, "Not delivered to maintain ecosystem health (marketing limit)", 400),
    131050: _row(_I, "User stopped marketing messages", 400),
    131051: _row(_I, "Unsupported message type", 400),
    131052: _row(_I, "Media download error", 400),
    131053: _row(_I, "Media upload error", 400),
    131057: _row(_T, "Account in maintenance mode", 500),
    130472: _row(_I, "User's number is part of an experiment", 400),
    # Templates
    132000: _row(_I, "Template parameter count mismatch", 400),
    132001: _row(TemplateUnavailable, "Template does not exist or is not approved", 404),
    132005: _row(_I, "Template hydrated text too long", 400),
    132007: _row(_I, "Template format character policy violated", 400),
    132012: _row(_I, "Template parameter format mismatch", 400),
    132015: _row(TemplateUnavailable, "Template is paused", 400),
    132016: _row(TemplateUnavailable, "Template is disabled", 400),
    132068: _row(_I, "Flow is blocked", 400),
    132069: _row(_I, "Flow is throttled", 400),
    # Registration
    133000: _row(_I, "Incomplete deregistration", 500),
    133004: _row(_T, "Server temporarily unavailable", 503),
    133005: _row(PinMismatchError, "Two-step verification PIN mismatch", 400),
    133006: _row(_I, "Phone number needs to be verified before registering", 400),
    133010: _row(PhoneNotRegisteredError, "Phone number not registered", 400),
    136024: _row(CodeRequestError, "Verification code request failed", 400),
    136025: _row(CodeVerifyError, "Verification code could not be verified", 400),
}

#: Subcodes that decide the family regardless of the top-level code.
subcode_catalogue: Mapping[int, CodeInfo] = {
    # code 190 subcodes
    458: _row(_A, "App not installed"),
    459: _row(_A, "User checkpointed"),
    460: _row(_A, "Password changed"),
    463: _row(_A, "Access token expired"),
    464: _row(_A, "Unconfirmed user"),
    467: _row(_A, "Invalid access token"),
    # Business Management API (usually with code 100 or 200002)
    2388019: _row(TemplateLimitReached, "Template limit reached"),
    2388012: _row(_I, "Target WABA already has this number"),
    2388091: _row(_I, "Phone ownership verification not available for this use case"),
    2388093: _row(_I, "Phone ownership verification not available for this use case"),
    2388299: _row(_I, "Template body cannot start or end with a variable"),
    2388040: _row(_I, "Template character limit exceeded"),
    2388039: _row(_I, "Template format invalid"),
    2388047: _row(_I, "Template format invalid"),
    2388072: _row(_I, "Template format invalid"),
    2388073: _row(_I, "Template format invalid"),
    2388293: _row(_I, "Template format invalid"),
    2388109: _row(_I, "This message template cannot be created"),
    2207051: _row(PhoneNotRegisteredError, "Phone number not registered on the platform"),
}

#: Subcodes that only refine a 190 (they never change the auth family).
_AUTH_SUBCODES = frozenset({458, 459, 460, 463, 464, 467})

#: Default waits (seconds) when Meta gives no usable hint.
_DEFAULT_RETRY_AFTER: Mapping[int, float] = {
    4: 60.0,
    17: 60.0,
    32: 60.0,
    613: 60.0,
    80004: 60.0,
    80005: 60.0,
    80006: 60.0,
    80007: 60.0,
    80008: 60.0,
    130429: 1.0,
    131048: 60.0,
    131056: 6.0,
    133008: 300.0,
    133009: 60.0,
    133015: 300.0,
    133016: 72 * 3600.0,
}
_FALLBACK_RETRY_AFTER = 30.0


#: (code, subcode) pairs with a meaning of their own.
_PAIR_CATALOGUE: Mapping[tuple[int, int], CodeInfo] = {
    (100, 33): _row(GraphNotFoundError, "Object does not exist or lacks permission", 400),
}


def describe(code: int | None, subcode: int | None = None) -> CodeInfo | None:
    """The catalogue row for a code/subcode pair: a known subcode wins over the code."""
    if code is not None and subcode is not None and (code, subcode) in _PAIR_CATALOGUE:
        return _PAIR_CATALOGUE[(code, subcode)]
    if subcode is not None and subcode in subcode_catalogue and subcode not in _AUTH_SUBCODES:
        return subcode_catalogue[subcode]
    if code is not None and code in code_catalogue:
        return code_catalogue[code]
    if subcode is not None and subcode in subcode_catalogue:
        return subcode_catalogue[subcode]
    if code is not None and 200 <= code <= 299:
        return code_catalogue[200]
    return None


def classify(
    code: int | None,
    subcode: int | None = None,
    *,
    is_transient: bool | None = None,
    http_status: int | None = None,
) -> type[GraphError]:
    """Pick the exception class: known subcode, known code, code range, ``is_transient``,
    then the HTTP status; ``GraphError`` itself when nothing applies."""
    info = describe(code, subcode)
    if info is not None:
        return info.exc
    if is_transient:
        return GraphTransientError
    if http_status is not None:
        if http_status == 401:
            return GraphAuthError
        if http_status == 403:
            return GraphPermissionError
        if http_status == 404:
            return GraphNotFoundError
        if http_status == 429:
            return GraphRateLimitError
        if http_status >= 500:
            return GraphTransientError
        if 400 <= http_status < 500:
            return GraphInvalidRequestError
    return GraphError


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    lname = name.lower()
    for key, value in headers.items():
        if key.lower() == lname:
            return value
    return None


def parse_retry_after(headers: Mapping[str, str] | None, code: int | None = None) -> float:
    """Seconds to wait before retrying a throttled call.

    Order: ``Retry-After`` (seconds), the largest ``estimated_time_to_regain_access``
    (minutes) in ``x-business-use-case-usage``, then a per-code default.
    """
    retry_after = _header(headers, "Retry-After")
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            seconds = -1.0
        if seconds >= 0:
            return seconds
    buc = _header(headers, "x-business-use-case-usage")
    if buc:
        try:
            usage = json.loads(buc)
        except ValueError:
            usage = None
        minutes: list[float] = []
        if isinstance(usage, dict):
            for rows in usage.values():
                for row in rows if isinstance(rows, list) else []:
                    if isinstance(row, dict):
                        value = row.get("estimated_time_to_regain_access")
                        if isinstance(value, int | float) and not isinstance(value, bool):
                            minutes.append(float(value))
        if minutes and max(minutes) > 0:
            return max(minutes) * 60.0
    if code is not None and code in _DEFAULT_RETRY_AFTER:
        return _DEFAULT_RETRY_AFTER[code]
    return _FALLBACK_RETRY_AFTER


def error_from_envelope(
    body: Any,
    *,
    http_status: int | None = None,
    headers: Mapping[str, str] | None = None,
    method: str | None = None,
    path: str | None = None,
    secrets: tuple[str, ...] = (),
) -> GraphError:
    """Build the typed error for a decoded JSON body (envelope or not)."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return _status_error(
            f"Graph API HTTP {http_status} without an error envelope",
            http_status=http_status,
            headers=headers,
            method=method,
            path=path,
            raw=redact(body, secrets=secrets),
        )
    code = _as_int(err.get("code"))
    subcode = _as_int(err.get("error_subcode"))
    is_transient_raw = err.get("is_transient")
    is_transient = is_transient_raw if isinstance(is_transient_raw, bool) else None
    error_data = err.get("error_data")
    details: str | None
    if isinstance(error_data, dict):
        raw_details = error_data.get("details")
        details = raw_details if isinstance(raw_details, str) else None
    elif isinstance(error_data, str):
        details = error_data or None
    else:
        details = None
    message = err.get("message")
    if not isinstance(message, str) or not message:
        message = f"Graph API error (code {code})"
    exc_cls = classify(code, subcode, is_transient=is_transient, http_status=http_status)
    retry_after = (
        parse_retry_after(headers, code) if issubclass(exc_cls, GraphRateLimitError) else None
    )

    def _s(value: Any) -> str | None:
        return redact(value, secrets=secrets) if isinstance(value, str) else None

    return exc_cls(
        redact(message, secrets=secrets),
        code=code,
        subcode=subcode,
        type=_s(err.get("type")),
        is_transient=is_transient,
        details=_s(details),
        fbtrace_id=_s(err.get("fbtrace_id")),
        http_status=http_status,
        user_title=_s(err.get("error_user_title")),
        user_msg=_s(err.get("error_user_msg")),
        method=method,
        path=path,
        retry_after=retry_after,
        raw=redact(body, secrets=secrets),
    )


def _status_error(
    message: str,
    *,
    http_status: int | None,
    headers: Mapping[str, str] | None,
    method: str | None,
    path: str | None,
    raw: Any,
) -> GraphError:
    exc_cls = classify(None, None, http_status=http_status)
    if exc_cls is GraphError and http_status is not None and not 200 <= http_status < 300:
        exc_cls = GraphTransientError if http_status >= 500 else GraphInvalidRequestError
    retry_after = parse_retry_after(headers) if issubclass(exc_cls, GraphRateLimitError) else None
    return exc_cls(
        message,
        http_status=http_status,
        method=method,
        path=path,
        retry_after=retry_after,
        raw=raw,
        fbtrace_id=_header(headers, "x-fb-trace-id"),
    )


def error_from_response(
    http_status: int,
    content: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    method: str | None = None,
    path: str | None = None,
    secrets: tuple[str, ...] = (),
) -> GraphError:
    """Typed error for an HTTP response body: a Graph envelope, other JSON, or non-JSON
    (e.g. an HTML 502 page from a proxy)."""
    try:
        body = json.loads(content.decode("utf-8")) if content else None
    except (UnicodeDecodeError, ValueError):
        snippet = content[:200].decode("utf-8", "replace").strip()
        return _status_error(
            f"Graph API HTTP {http_status} with a non-JSON body",
            http_status=http_status,
            headers=headers,
            method=method,
            path=path,
            raw=redact(snippet, secrets=secrets),
        )
    return error_from_envelope(
        body,
        http_status=http_status,
        headers=headers,
        method=method,
        path=path,
        secrets=secrets,
    )


class PaginationLimitExceeded(GraphError):
    """A paged listing had more pages than the client's bound; nothing was truncated
    silently."""
