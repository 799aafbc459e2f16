"""Phone-number state machine (NOTES §2, §9.3) over real HTTP."""

from __future__ import annotations

from typing import Any

from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph, error_of


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
