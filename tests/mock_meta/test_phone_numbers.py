"""Phone-number state machine (NOTES §2, §9.3) over real HTTP."""

from __future__ import annotations

import time
from typing import Any

from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph, Receiver, error_of
from .test_contract import validate


def _add_number(graph: Graph, waba_id: str, number: str = "5550199000") -> str:
    resp = graph.post(
        f"{waba_id}/phone_numbers",
        {"cc": "1", "phone_number": number, "verified_name": "Acme Sales"},
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["id"])


def _verify(graph: Graph, mock_meta: MockMeta, phone_id: str) -> None:
    assert graph.post(
        f"{phone_id}/request_code", {"code_method": "SMS", "language": "en_US"}
    ).json() == {"success": True}
    code = mock_meta.last_code(phone_id)
    assert code and len(code) == 6
    resp = graph.post(f"{phone_id}/verify_code", {"code": code})
    assert resp.json() == {"success": True, "id": phone_id}


def test_full_lifecycle(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    mock_meta.config(name_review_delay=None)  # the name stays in review (see below)
    phone_id = _add_number(graph, seeded["waba_id"])
    info = graph.get(
        phone_id, fields="status,code_verification_status,platform_type,name_status"
    ).json()
    assert info == {
        "id": phone_id,
        "status": "PENDING",
        "code_verification_status": "NOT_VERIFIED",
        "platform_type": "NOT_APPLICABLE",
        "name_status": "PENDING_REVIEW",
    }
    # register before verification
    err = error_of(
        graph.post(f"{phone_id}/register", {"messaging_product": "whatsapp", "pin": "123456"})
    )
    assert err["code"] == 133006
    _verify(graph, mock_meta, phone_id)
    assert (
        graph.get(phone_id, fields="code_verification_status").json()["code_verification_status"]
        == "VERIFIED"
    )
    resp = graph.post(f"{phone_id}/register", {"messaging_product": "whatsapp", "pin": "123456"})
    assert resp.json() == {"success": True}
    info = graph.get(phone_id, fields="status,platform_type,is_pin_enabled").json()
    assert info["status"] == "CONNECTED" and info["platform_type"] == "CLOUD_API"
    assert info["is_pin_enabled"] is True
    # a different PIN later -> 133005
    resp = graph.post(f"{phone_id}/register", {"messaging_product": "whatsapp", "pin": "654321"})
    assert resp.status_code == 400 and error_of(resp)["code"] == 133005
    # deregister, then again -> 100 / 2207051
    assert graph.post(f"{phone_id}/deregister").json() == {"success": True}
    assert graph.get(phone_id, fields="status").json()["status"] == "DISCONNECTED"
    err = error_of(graph.post(f"{phone_id}/deregister"))
    assert (err["code"], err["error_subcode"]) == (100, 2207051)


def test_request_code_validation_and_limit(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    phone_id = _add_number(graph, seeded["waba_id"])
    err = error_of(
        graph.post(f"{phone_id}/request_code", {"code_method": "FAX", "language": "en_US"})
    )
    assert err["code"] == 100
    err = error_of(graph.post(f"{phone_id}/request_code", {"code_method": "SMS"}))
    assert err["code"] == 100 and "language" in err["error_data"]["details"]
    mock_meta.config(code_request_limit=2)
    for _ in range(2):
        assert graph.post(f"{phone_id}/request_code", {"code_method": "VOICE", "language": "en"}).ok
    err = error_of(
        graph.post(f"{phone_id}/request_code", {"code_method": "SMS", "language": "en_US"})
    )
    assert err["code"] == 136024
    # the window slides: an hour later it works again
    mock_meta.advance_clock(3601)
    assert graph.post(f"{phone_id}/request_code", {"code_method": "SMS", "language": "en_US"}).ok


def test_verify_code_errors(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    phone_id = _add_number(graph, seeded["waba_id"])
    err = error_of(graph.post(f"{phone_id}/verify_code", {"code": "123456"}))
    assert err["code"] == 136025 and "requested" in err["error_data"]["details"]
    assert error_of(graph.post(f"{phone_id}/verify_code", {"code": "12"}))["code"] == 100
    graph.post(f"{phone_id}/request_code", {"code_method": "SMS", "language": "en_US"})
    code = mock_meta.last_code(phone_id)
    wrong = "000000" if code != "000000" else "111111"
    err = error_of(graph.post(f"{phone_id}/verify_code", {"code": wrong}))
    assert err["code"] == 136025 and "not correct" in err["error_data"]["details"]
    mock_meta.advance_clock(601)  # codes live 10 minutes
    err = error_of(graph.post(f"{phone_id}/verify_code", {"code": code}))
    assert err["code"] == 136025 and "expired" in err["error_data"]["details"]
    # single use: a fresh code works once
    graph.post(f"{phone_id}/request_code", {"code_method": "SMS", "language": "en_US"})
    code = mock_meta.last_code(phone_id)
    assert graph.post(f"{phone_id}/verify_code", {"code": code}).ok
    assert error_of(graph.post(f"{phone_id}/verify_code", {"code": code}))["code"] == 136025


def test_query_string_parameters_are_accepted(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    phone_id = _add_number(graph, seeded["waba_id"])
    resp = graph.post(f"{phone_id}/request_code?code_method=SMS&language=en_US")
    assert resp.json() == {"success": True}
    code = mock_meta.last_code(phone_id)
    resp = graph.post(f"{phone_id}/verify_code", data={"code": code})  # form body
    assert resp.json()["success"] is True


def test_pin_set_elsewhere_blocks_registration(mock_meta: MockMeta) -> None:
    seed = mock_meta.seed(
        businesses=[
            {
                "name": "B",
                "wabas": [
                    {
                        "name": "W",
                        "phone_numbers": [
                            {
                                "phone": "+4915112345678",
                                "status": "PENDING",
                                "registered": False,
                                "verified": True,
                                "pin": "111111",
                                "pin_set_by": "other",
                            }
                        ],
                    }
                ],
            }
        ]
    )
    graph = Graph(mock_meta, seed["token"])
    phone_id = seed["phone_number_id"]
    err = error_of(
        graph.post(f"{phone_id}/register", {"messaging_product": "whatsapp", "pin": "222222"})
    )
    assert err["code"] == 133005
    # the previous provider disables two-step verification -> registration goes through
    mock_meta.patch("phone_number", phone_id, pin=None, pin_set_by=None)
    assert graph.post(f"{phone_id}/register", {"messaging_product": "whatsapp", "pin": "222222"}).ok


def test_register_rate_limit(graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    phone_id = seeded["phone_number_id"]
    body = {"messaging_product": "whatsapp", "pin": "000000"}
    for _ in range(10):
        assert graph.post(f"{phone_id}/register", body).ok
    err = error_of(graph.post(f"{phone_id}/register", body))
    assert err["code"] == 133016
    mock_meta.advance_clock(72 * 3600 + 1)
    assert graph.post(f"{phone_id}/register", body).ok


def test_register_validation(graph: Graph, seeded: dict[str, Any]) -> None:
    phone_id = seeded["phone_number_id"]
    assert error_of(graph.post(f"{phone_id}/register", {"pin": "000000"}))["code"] == 100
    assert (
        error_of(
            graph.post(f"{phone_id}/register", {"messaging_product": "whatsapp", "pin": "12ab"})
        )["code"]
        == 100
    )


def test_add_number_errors(graph: Graph, seeded: dict[str, Any]) -> None:
    waba = seeded["waba_id"]
    assert error_of(graph.post(f"{waba}/phone_numbers", {"cc": "1"}))["code"] == 100
    assert (
        error_of(
            graph.post(
                f"{waba}/phone_numbers", {"cc": "1", "phone_number": "12", "verified_name": "Acme"}
            )
        )["code"]
        == 100
    )
    # phone_number with the country code and "country_code" instead of cc (PYWA form)
    resp = graph.post(
        f"{waba}/phone_numbers",
        {"country_code": "49", "phone_number": "4915112345000", "verified_name": "Acme DE"},
    )
    assert resp.ok
    info = graph.get(
        resp.json()["id"], fields="display_phone_number,country_code,country_dial_code"
    ).json()
    assert info["country_dial_code"] == "49" and info["country_code"] == "DE"


def test_update_pin_and_display_name(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    phone_id = seeded["phone_number_id"]
    assert graph.post(phone_id, {"pin": "246810"}).json() == {"success": True}
    err = error_of(
        graph.post(f"{phone_id}/register", {"messaging_product": "whatsapp", "pin": "000000"})
    )
    assert err["code"] == 133005
    assert graph.post(phone_id, {"new_display_name": "Acme Helpdesk"}).json() == {"success": True}
    info = graph.get(phone_id, fields="new_display_name,new_name_status").json()
    assert info["new_name_status"] == "PENDING_REVIEW"
    mock_meta.emit(
        field="phone_number_name_update",
        phone_number_id=phone_id,
        decision="APPROVED",
        requested_verified_name="Acme Helpdesk",
    )
    info = graph.get(phone_id, fields="new_name_status,name_status").json()
    assert info["new_name_status"] == "APPROVED"
    # re-registration applies the approved name
    assert graph.post(f"{phone_id}/register", {"messaging_product": "whatsapp", "pin": "246810"}).ok
    assert graph.get(phone_id, fields="verified_name").json()["verified_name"] == "Acme Helpdesk"


def test_pin_needs_registered_number(graph: Graph, seeded: dict[str, Any]) -> None:
    phone_id = _add_number(graph, seeded["waba_id"])
    assert error_of(graph.post(phone_id, {"pin": "123456"}))["code"] == 133010


# --- Adding numbers: the cap, another WABA, the new number's state (numbers: add) ----------

ADD_PATH = "/{Version}/{WABA-ID}/phone_numbers"


def _business(mock_meta: MockMeta, *, cap: int, numbers: int, wabas: int = 1) -> dict[str, Any]:
    return mock_meta.seed(
        businesses=[
            {
                "name": "Capped Co",
                "max_phone_numbers": cap,
                "wabas": [
                    {"name": f"Capped {w}", "phone_numbers": [{} for _ in range(numbers)]}
                    for w in range(wabas)
                ],
            }
        ]
    )


def _add(graph: Graph, waba_id: str, number: str, name: str = "Acme Sales") -> Any:
    return graph.post(
        f"{waba_id}/phone_numbers", {"cc": "44", "phone_number": number, "verified_name": name}
    )


def test_adding_past_the_business_cap_answers_meta_s_limit_error(mock_meta: MockMeta) -> None:
    seed = _business(mock_meta, cap=2, numbers=1)
    graph = Graph(mock_meta, seed["token"])
    assert _add(graph, seed["waba_id"], "7400123456").ok
    resp = _add(graph, seed["waba_id"], "7400123457")
    assert resp.status_code == 403
    err = error_of(resp)
    assert (err["code"], err["error_subcode"], err["type"]) == (200, 1349175, "OAuthException")
    assert err["message"] == "Phone number limit exceeded for this WhatsApp Business Account"
    assert err["error_user_title"] == "Limit Exceeded"
    assert "limit" in err["error_data"]["details"] and "2 of its 2" in err["error_data"]["details"]
    validate(ADD_PATH, "post", resp.json(), status="403")
    # The number already on the WABA is answered again: it takes no second place.
    assert _add(graph, seed["waba_id"], "7400123456").ok


def test_the_cap_counts_every_waba_of_the_business_but_not_deleted_numbers(
    mock_meta: MockMeta,
) -> None:
    seed = _business(mock_meta, cap=2, numbers=1, wabas=2)
    graph = Graph(mock_meta, seed["token"])
    first, second = (w["id"] for w in seed["businesses"][0]["wabas"])
    assert error_of(_add(graph, first, "7400123456"))["error_subcode"] == 1349175
    deleted = seed["businesses"][0]["wabas"][1]["phone_numbers"][0]["id"]
    mock_meta.patch("phone_number", deleted, status="DELETED")
    assert _add(graph, second, "7400123456").ok
    # Meta raises the cap (business_capability_update): room again.
    mock_meta.patch("business", seed["business_id"], max_phone_numbers=3)
    assert _add(graph, first, "7400123457").ok


def test_a_number_on_another_waba_answers_already_registered(mock_meta: MockMeta) -> None:
    elsewhere = mock_meta.seed(
        businesses=[{"wabas": [{"phone_numbers": [{"phone": "+447400123456"}]}]}]
    )
    mine = mock_meta.seed()
    resp = _add(Graph(mock_meta, mine["token"]), mine["waba_id"], "7400123456")
    assert resp.status_code == 409
    err = error_of(resp)
    assert (err["code"], err["type"]) == (100, "GraphMethodException")
    assert "already registered" in err["message"]
    assert "another WhatsApp Business Account" in err["error_data"]["details"]
    validate(ADD_PATH, "post", resp.json(), status="409")
    assert elsewhere["phone_number_id"] not in {
        p["id"] for p in mock_meta.state()["phone_numbers"] if p["waba_id"] == mine["waba_id"]
    }


def test_signup_adding_past_the_cap_ends_with_the_limit_in_its_error(mock_meta: MockMeta) -> None:
    seed = _business(mock_meta, cap=1, numbers=1)
    result = mock_meta.signup(
        business_id=seed["business_id"], waba_id=seed["waba_id"], phone="+447400123456"
    )
    assert result["session_info"]["event"] == "ERROR"
    assert "limit" in result["session_info"]["data"]["error_message"]


def test_a_new_number_starts_pending_and_its_name_is_reviewed(
    mock_meta: MockMeta, receiver: Receiver
) -> None:
    mock_meta.config(name_review_delay=0.1)
    seed = mock_meta.seed()
    graph = Graph(mock_meta, seed["token"])
    approved = _add(graph, seed["waba_id"], "7400123456", name="Acme London").json()["id"]
    rejected = _add(graph, seed["waba_id"], "7400123457", name="Please reject me").json()["id"]
    fields = "status,code_verification_status,platform_type,name_status,display_phone_number"
    first = graph.get(approved, fields=fields).json()
    assert (first["status"], first["code_verification_status"], first["platform_type"]) == (
        "PENDING",
        "NOT_VERIFIED",
        "NOT_APPLICABLE",
    )
    assert first["display_phone_number"] == "+44 7400 123456"  # international format
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        states = [
            graph.get(p, fields="name_status").json()["name_status"] for p in (approved, rejected)
        ]
        if "PENDING_REVIEW" not in states:
            break
        time.sleep(0.05)
    assert states == ["APPROVED", "DECLINED"]
    changes = receiver.wait(
        lambda ch: len([c for c in ch if c["field"] == "phone_number_name_update"]) >= 2
    )
    decisions = {
        c["value"]["requested_verified_name"]: c["value"]["decision"]
        for c in changes
        if c["field"] == "phone_number_name_update"
    }
    assert decisions == {"Acme London": "APPROVED", "Please reject me": "REJECTED"}


def test_the_national_number_is_read_as_given_when_valid(mock_meta: MockMeta) -> None:
    seed = mock_meta.seed()
    graph = Graph(mock_meta, seed["token"])

    def shown(cc: str, number: str) -> str:
        resp = graph.post(
            f"{seed['waba_id']}/phone_numbers",
            {"cc": cc, "phone_number": number, "verified_name": "Acme"},
        )
        return str(
            graph.get(resp.json()["id"], fields="display_phone_number").json()[
                "display_phone_number"
            ]
        )

    assert shown("49", "4921123456") == "+49 4921 123456"  # Emden, not +49 21123456
    assert shown("1", "16315551000") == "+1 631-555-1000"  # the spec's example, code included
