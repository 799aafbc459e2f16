"""Envelope → typed exception mapping, the code catalogue and retry hints."""

from __future__ import annotations

import json
import re

import pytest

from tests.contract_files import NOTES_PATH
from waba_portal.graph import errors as E
from waba_portal.graph.errors import (
    GraphAuthError,
    GraphError,
    GraphInvalidRequestError,
    GraphOutcomeUnknown,
    GraphPermissionError,
    GraphRateLimitError,
    GraphTransientError,
    code_catalogue,
    error_from_envelope,
    error_from_response,
    parse_retry_after,
    subcode_catalogue,
)

from .conftest import TOKEN


def envelope(code: int | None, subcode: int | None = None, **extra: object) -> dict:
    err: dict[str, object] = {
        "message": f"(#{code}) something",
        "type": "OAuthException",
        "fbtrace_id": "AXsgTRACE",
    }
    if code is not None:
        err["code"] = code
    if subcode is not None:
        err["error_subcode"] = subcode
    err.update(extra)
    return {"error": err}


@pytest.mark.parametrize(
    ("code", "subcode", "expected"),
    [
        (190, None, GraphAuthError),
        (190, 463, GraphAuthError),
        (190, 467, GraphAuthError),
        (190, 458, GraphAuthError),
        (0, None, GraphAuthError),
        (102, None, GraphAuthError),
        (104, None, GraphAuthError),
        (10, None, GraphPermissionError),
        (200, None, GraphPermissionError),
        (200, 1349174, GraphPermissionError),
        (294, None, GraphPermissionError),
        (299, None, GraphPermissionError),
        (368, None, E.AccountRestrictedError),
        (4, None, GraphRateLimitError),
        (4, 2446079, GraphRateLimitError),
        (17, None, GraphRateLimitError),
        (32, None, GraphRateLimitError),
        (613, None, GraphRateLimitError),
        (80007, None, GraphRateLimitError),
        (130429, None, GraphRateLimitError),
        (131056, None, GraphRateLimitError),
        (133016, None, E.RegistrationLimitError),
        (1, None, GraphTransientError),
        (2, None, GraphTransientError),
        (131000, None, GraphTransientError),
        (131016, None, GraphTransientError),
        (133004, None, GraphTransientError),
        (100, None, GraphInvalidRequestError),
        (131008, None, GraphInvalidRequestError),
        (131009, None, GraphInvalidRequestError),
        (131021, None, GraphInvalidRequestError),
        (131026, None, GraphInvalidRequestError),
        (131051, None, GraphInvalidRequestError),
        (131052, None, GraphInvalidRequestError),
        (131053, None, GraphInvalidRequestError),
        (803, None, E.GraphNotFoundError),
        (100, 33, E.GraphNotFoundError),
        (131047, None, E.ReEngagementRequired),
        (132001, None, E.TemplateUnavailable),
        (132015, None, E.TemplateUnavailable),
        (133005, None, E.PinMismatchError),
        (133010, None, E.PhoneNotRegisteredError),
        (100, 2207051, E.PhoneNotRegisteredError),
        (136024, None, E.CodeRequestError),
        (136025, None, E.CodeVerifyError),
        (100, 2388019, E.TemplateLimitReached),
        (200002, 2388019, E.TemplateLimitReached),
        (200002, 2388109, GraphInvalidRequestError),
    ],
)
def test_envelope_maps_to_family(code: int, subcode: int | None, expected: type) -> None:
    exc = error_from_envelope(envelope(code, subcode), http_status=400)
    assert type(exc) is expected
    assert exc.code == code
    assert exc.subcode == subcode
    assert exc.fbtrace_id == "AXsgTRACE"
    assert exc.http_status == 400


def test_domain_errors_belong_to_their_family() -> None:
    assert issubclass(E.ReEngagementRequired, GraphInvalidRequestError)
    assert issubclass(E.VerificationError, GraphInvalidRequestError)
    assert issubclass(E.CodeVerifyError, E.VerificationError)
    assert issubclass(E.RegistrationLimitError, GraphRateLimitError)
    assert issubclass(E.GraphConnectionError, GraphTransientError)
    # outcome unknown must never be caught by "retry anything transient"
    assert not issubclass(GraphOutcomeUnknown, GraphTransientError)
    assert GraphOutcomeUnknown.family == "outcome_unknown"


def test_all_fields_are_carried() -> None:
    body = envelope(
        131047,
        None,
        message="(#131047) Re-engagement message",
        error_user_title="Window closed",
        error_user_msg="Send a template",
        is_transient=False,
        error_data={"messaging_product": "whatsapp", "details": "More than 24 hours"},
    )
    exc = error_from_envelope(body, http_status=400, method="POST", path="/v23.0/1/messages")
    assert isinstance(exc, E.ReEngagementRequired)
    assert exc.message == "(#131047) Re-engagement message"
    assert exc.type == "OAuthException"
    assert exc.details == "More than 24 hours"
    assert exc.user_title == "Window closed"
    assert exc.user_msg == "Send a template"
    assert exc.is_transient is False
    assert exc.title == "Re-engagement message required"
    assert "code=131047" in str(exc) and "fbtrace_id=AXsgTRACE" in str(exc)
    assert "POST /v23.0/1/messages" in str(exc)
    assert "ReEngagementRequired" in repr(exc)


def test_error_data_as_string_and_numeric_strings() -> None:
    exc = error_from_envelope(envelope("100", "2388019", error_data="Template limit"))  # type: ignore[arg-type]
    assert isinstance(exc, E.TemplateLimitReached)
    assert exc.details == "Template limit"
    assert exc.code == 100


def test_is_transient_flag_for_unknown_code() -> None:
    exc = error_from_envelope(envelope(999999, is_transient=True), http_status=400)
    assert type(exc) is GraphTransientError
    assert exc.is_transient is True


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, GraphAuthError),
        (403, GraphPermissionError),
        (404, E.GraphNotFoundError),
        (429, GraphRateLimitError),
        (400, GraphInvalidRequestError),
        (500, GraphTransientError),
        (503, GraphTransientError),
    ],
)
def test_unknown_code_falls_back_to_http_status(status: int, expected: type) -> None:
    assert type(error_from_envelope(envelope(987654), http_status=status)) is expected


def test_html_502_from_a_proxy() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    exc = error_from_response(502, html, {"Content-Type": "text/html"})
    assert type(exc) is GraphTransientError
    assert exc.http_status == 502
    assert exc.code is None
    assert "502" in str(exc)


def test_non_envelope_json_and_empty_body() -> None:
    assert type(error_from_response(400, b'{"oops": 1}')) is GraphInvalidRequestError
    assert type(error_from_response(503, b"")) is GraphTransientError
    assert type(error_from_response(429, b"busy")) is GraphRateLimitError


def test_retry_after_from_headers_and_defaults() -> None:
    buc = {
        "123": [
            {"type": "whatsapp_business_management", "estimated_time_to_regain_access": 2},
            {"type": "x", "estimated_time_to_regain_access": 0},
        ]
    }
    assert parse_retry_after({"x-business-use-case-usage": json.dumps(buc)}, 80007) == 120.0
    assert parse_retry_after({"Retry-After": "7"}, 4) == 7.0
    assert parse_retry_after({"x-business-use-case-usage": "not json"}, 131056) == 6.0
    assert parse_retry_after(None, 133016) == 72 * 3600.0
    assert parse_retry_after({}, None) > 0
    exc = error_from_envelope(
        envelope(80007),
        http_status=400,
        headers={"X-Business-Use-Case-Usage": json.dumps(buc)},
    )
    assert isinstance(exc, GraphRateLimitError)
    assert exc.retry_after == 120.0
    assert error_from_envelope(envelope(4), http_status=429).retry_after == 60.0
    assert error_from_envelope(envelope(100)).retry_after is None


def test_secrets_scrubbed_from_messages() -> None:
    body = envelope(190, 467, message=f"Malformed access token {TOKEN}")
    exc = error_from_envelope(body, http_status=401, secrets=(TOKEN,))
    assert TOKEN not in str(exc)
    assert TOKEN not in repr(exc)
    assert TOKEN not in json.dumps(exc.raw)


def _notes_section_6() -> str:
    text = NOTES_PATH.read_text()
    start = text.index("## 6. Errors")
    end = text.index("## 7.", start)
    return text[start:end]


def test_catalogue_covers_every_code_in_notes() -> None:
    section = _notes_section_6()
    synthetic = {1349174, 1349175, 1349176, 2446079, 2446080, 2388103}
    codes: set[int] = set()
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        first_cell = line.split("|")[1]
        if "–" in first_cell or "-" in first_cell:  # "200–299" range row
            continue
        codes.update(int(c) for c in re.findall(r"\b\d+\b", first_cell))
    # the 190 subcodes listed as bullets
    codes.update({458, 459, 460, 463, 464, 467, 2207051})
    codes -= synthetic
    assert len(codes) > 60
    missing = sorted(c for c in codes if c not in code_catalogue and c not in subcode_catalogue)
    assert missing == []


def test_catalogue_rows_are_well_formed() -> None:
    families = {"auth", "permission", "rate_limit", "transient", "invalid_request"}
    for table in (code_catalogue, subcode_catalogue):
        for code, info in table.items():
            assert info.family in families, code
            assert info.title and len(info.title) < 80
            assert issubclass(info.exc, GraphError)
    assert E.describe(250) is not None and E.describe(250).family == "permission"  # type: ignore[union-attr]
    assert E.describe(424242) is None
