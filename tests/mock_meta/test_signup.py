"""Embedded Signup: /_mock/signup and the dialog page's JSON steps."""

from __future__ import annotations

import requests

from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph, Receiver, error_of


def test_signup_creates_verified_unregistered_number(
    receiver: Receiver, mock_meta: MockMeta
) -> None:
    result = mock_meta.signup(
        business_name="Bakery", waba_name="Bakery WA", phone="+15550103333", display_name="Bakery"
    )
    info = result["session_info"]
    assert info["type"] == "WA_EMBEDDED_SIGNUP" and info["event"] == "FINISH"
    assert info["version"] == 3
    assert set(info["data"]) == {"phone_number_id", "waba_id", "business_id"}
    assert result["code_message"] == {"type": "WA_EMBEDDED_SIGNUP_CODE", "code": result["code"]}
    token = requests.get(
        f"{mock_meta.graph_url}/oauth/access_token",
        params={
            "client_id": mock_meta.app_id,
            "client_secret": mock_meta.app_secret,
            "code": result["code"],
        },
        timeout=5,
    ).json()["access_token"]
    graph = Graph(mock_meta, token)
    phone = graph.get(
        info["data"]["phone_number_id"], fields="status,code_verification_status,platform_type"
    ).json()
    assert phone["status"] == "PENDING" and phone["code_verification_status"] == "VERIFIED"
    assert phone["platform_type"] == "NOT_APPLICABLE"
    # the portal registers and subscribes
    assert graph.post(
        f"{info['data']['phone_number_id']}/register",
        {"messaging_product": "whatsapp", "pin": "135790"},
    ).ok
    assert graph.post(f"{info['data']['waba_id']}/subscribed_apps").ok
    changes = receiver.wait(lambda ch: len(ch) >= 2)
    events = [c["value"]["event"] for c in changes if c["field"] == "account_update"]
    assert events == ["PARTNER_ADDED", "PARTNER_APP_INSTALLED"]
    payload = receiver.payloads()[0]
    assert payload["entry"][0]["id"] == info["data"]["business_id"]
    assert changes[0]["value"]["waba_info"] == {
        "waba_id": info["data"]["waba_id"],
        "owner_business_id": info["data"]["business_id"],
        "partner_app_id": mock_meta.app_id,
    }
    # the token only reaches the shared WABA
    other = mock_meta.seed()
    assert error_of(graph.get(other["waba_id"]))["code"] == 200


def test_signup_variants(mock_meta: MockMeta) -> None:
    seed = mock_meta.seed()
    only = mock_meta.signup(business_id=seed["business_id"], waba_id=seed["waba_id"])
    assert only["session_info"]["event"] == "FINISH_ONLY_WABA"
    assert only["session_info"]["data"] == {
        "waba_id": seed["waba_id"],
        "business_id": seed["business_id"],
    }
    cancel = mock_meta.signup(cancel=True, current_step="PHONE_NUMBER_VERIFICATION")
    assert cancel["session_info"] == {
        "type": "WA_EMBEDDED_SIGNUP",
        "event": "CANCEL",
        "version": 3,
        "data": {"current_step": "PHONE_NUMBER_VERIFICATION"},
    }
    # a number registered on another WABA
    err = mock_meta.signup(business_name="Other", phone="+15550100001", display_name="Other")
    assert err["session_info"]["event"] == "ERROR"
    assert "already registered" in err["session_info"]["data"]["error_message"]
    assert "code" not in err


def test_dialog_page_and_steps(mock_meta: MockMeta) -> None:
    seed = mock_meta.seed()
    url = mock_meta.dialog_url(origin="http://portal.test:8000")
    page = requests.get(url, timeout=5)
    assert page.ok and page.headers["Content-Type"].startswith("text/html")
    for element in (
        'id="business"',
        'id="waba"',
        'id="phone"',
        'id="display-name"',
        'id="send-code"',
        'id="code"',
        'id="verify"',
        'id="finish"',
        'id="cancel"',
        'id="shown-code"',
        "WA_EMBEDDED_SIGNUP_CODE",
        "http://portal.test:8000",
        seed["business_id"],
    ):
        assert element in page.text
    api = f"{mock_meta.base_url}/dialog/embedded-signup/api"
    bad = requests.post(
        f"{api}/send-code", json={"phone": "5550104444", "display_name": "Shop"}, timeout=5
    )
    assert bad.status_code == 400
    sent = requests.post(
        f"{api}/send-code", json={"phone": "+15550104444", "display_name": "Shop"}, timeout=5
    ).json()
    assert mock_meta.codes()[0]["code"] == sent["code"]
    wrong = "000000" if sent["code"] != "000000" else "111111"
    assert (
        requests.post(
            f"{api}/verify", json={"session": sent["session"], "code": wrong}, timeout=5
        ).status_code
        == 400
    )
    assert (
        requests.post(
            f"{api}/finish",
            json={
                "session": sent["session"],
                "business_id": seed["business_id"],
                "waba_name": "New",
            },
            timeout=5,
        ).status_code
        == 400
    )
    assert requests.post(
        f"{api}/verify", json={"session": sent["session"], "code": sent["code"]}, timeout=5
    ).ok
    done = requests.post(
        f"{api}/finish",
        json={"session": sent["session"], "business_id": seed["business_id"], "waba_name": "New"},
        timeout=5,
    ).json()
    assert done["session_info"]["event"] == "FINISH" and done["code"]
    state = mock_meta.state()
    phone = next(
        p
        for p in state["phone_numbers"]
        if p["id"] == done["session_info"]["data"]["phone_number_id"]
    )
    assert phone["code_verification_status"] == "VERIFIED" and not phone["registered"]
