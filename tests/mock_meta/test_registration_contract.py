"""The mock's verification and registration answer like Meta (spec + NOTES §2, §6, §7).

Refusals of request_code (136024), verify_code (136025: wrong, expired after 10
minutes), register (133005 PIN mismatch when two-step verification is on, 133006 not
verified, 133016 over 10 in 72 hours) and the PIN change are validated against the
spec's error schema of their operation; the handset page shows a tester the codes.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph, error_of
from .test_contract import validate

REQUEST = "/{Version}/{Phone-Number-ID}/request_code"
VERIFY = "/{Version}/{Phone-Number-ID}/verify_code"
REGISTER = "/{Version}/{Phone-Number-ID}/register"
NODE = "/{Version}/{Phone-Number-ID}"
DEREGISTER = "/{Version}/{Phone-Number-ID}/deregister"


def new_number(graph: Graph, seeded: dict[str, Any], digits: str = "5550190000") -> str:
    response = graph.post(
        f"{seeded['waba_id']}/phone_numbers",
        {"cc": "1", "phone_number": digits, "verified_name": "Acme Support"},
    )
    return str(response.json()["id"])


def ask(graph: Graph, phone_id: str, method: str = "SMS", language: str = "en_US") -> Any:
    return graph.post(f"{phone_id}/request_code", {"code_method": method, "language": language})


def refusal(response: requests.Response, path: str, status: str = "400") -> dict[str, Any]:
    assert str(response.status_code) == status, response.text
    validate(path, "post", response.json(), status=status)
    return error_of(response)


def test_too_many_code_requests_is_136024_as_the_spec_has_it(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    phone_id = new_number(graph, seeded)
    mock_meta.config(code_request_limit=2)
    assert ask(graph, phone_id).ok and ask(graph, phone_id, "VOICE").ok
    err = refusal(ask(graph, phone_id), REQUEST)
    assert err["code"] == 136024


def test_a_wrong_code_then_an_expired_one_are_136025(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    phone_id = new_number(graph, seeded)
    ask(graph, phone_id)
    code = str(mock_meta.last_code(phone_id))
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    err = refusal(graph.post(f"{phone_id}/verify_code", {"code": wrong}), VERIFY)
    assert err["code"] == 136025 and "not correct" in err["error_data"]["details"]
    mock_meta.advance_clock(601)  # a code is valid for 10 minutes
    err = refusal(graph.post(f"{phone_id}/verify_code", {"code": code}), VERIFY)
    assert err["code"] == 136025 and "expired" in err["error_data"]["details"]


def test_register_refusals_are_metas_codes_and_match_the_spec(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    phone_id = new_number(graph, seeded)
    body = {"messaging_product": "whatsapp", "pin": "482915"}
    assert refusal(graph.post(f"{phone_id}/register", body), REGISTER)["code"] == 133006
    ask(graph, phone_id)
    assert graph.post(f"{phone_id}/verify_code", {"code": mock_meta.last_code(phone_id)}).ok
    # Two-step verification is on with another PIN (the previous provider's).
    mock_meta.patch("phone", phone_id, pin="111222", pin_set_by="other")
    assert refusal(graph.post(f"{phone_id}/register", body), REGISTER)["code"] == 133005
    assert graph.post(f"{phone_id}/register", {**body, "pin": "111222"}).ok
    mock_meta.config(register_limit=1)
    assert refusal(graph.post(f"{phone_id}/register", body), REGISTER)["code"] == 133016


def test_changing_the_pin_needs_a_registered_number_and_six_digits(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    phone_id = new_number(graph, seeded)
    err = error_of(graph.post(phone_id, {"pin": "482915"}))
    assert err["code"] == 133010
    registered = seeded["phone_number_id"]
    assert error_of(graph.post(registered, {"pin": "12ab56"}))["code"] == 100
    response = graph.post(registered, {"pin": "482915"})
    assert response.json() == {"success": True}
    validate(NODE, "post", response.json())
    # The new PIN is the one registration must use from now on.
    body = {"messaging_product": "whatsapp", "pin": "000000"}
    assert error_of(graph.post(f"{registered}/register", body))["code"] == 133005
    assert graph.post(f"{registered}/register", {**body, "pin": "482915"}).ok


def test_deregister_twice_is_not_registered_as_the_spec_has_it(
    graph: Graph, seeded: dict[str, Any]
) -> None:
    phone_id = seeded["phone_number_id"]
    assert graph.post(f"{phone_id}/deregister").json() == {"success": True}
    err = refusal(graph.post(f"{phone_id}/deregister"), DEREGISTER)
    assert (err["code"], err["error_subcode"]) == (100, 2207051)


# --- The handset: where a tester "receives" the code ---------------------------------------


def test_the_handset_shows_each_code_by_sms_or_call_in_its_language(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    phone_id = new_number(graph, seeded)
    ask(graph, phone_id, "SMS", "de_DE")
    first = str(mock_meta.last_code(phone_id))
    ask(graph, phone_id, "VOICE", "en_US")
    second = str(mock_meta.last_code(phone_id))

    page = requests.get(
        f"{mock_meta.base_url}/_mock/handset/", params={"phone_number_id": phone_id}, timeout=10
    )

    html = page.text
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert html.index(f'data-code="{second}"') < html.index(f'data-code="{first}"')  # newest first
    assert f"Bestätigungscode lautet {first[:3]}-{first[3:]}" in html
    assert "Voice call" in html and " ".join(second) in html
    assert f'data-code="{second}" data-valid="true"' in html
    assert f'data-code="{first}" data-valid="false"' in html  # replaced by the newer code


def test_the_handset_says_when_a_code_was_used_or_expired(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    used_id, expired_id = new_number(graph, seeded), new_number(graph, seeded, "5550190001")
    ask(graph, used_id)
    graph.post(f"{used_id}/verify_code", {"code": mock_meta.last_code(used_id)})
    ask(graph, expired_id)
    mock_meta.advance_clock(601)
    html = requests.get(f"{mock_meta.base_url}/_mock/handset/", timeout=10).text
    used = html.split(f'data-code="{mock_meta.last_code(used_id)}"')[1].split("</li>")[0]
    expired = html.split(f'data-code="{mock_meta.last_code(expired_id)}"')[1].split("</li>")[0]
    assert "· used" in used and "no longer valid" in expired


@pytest.mark.parametrize("path", ["/_mock/", "/_mock/handset/"])
def test_the_state_page_links_the_handset(mock_meta: MockMeta, path: str) -> None:
    html = requests.get(f"{mock_meta.base_url}{path}", timeout=10).text
    assert 'href="/_mock/handset/"' in html or 'action="/_mock/handset/"' in html
