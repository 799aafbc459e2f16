"""POST /api/v1/t/<slug>/phone-numbers/: adding a number through the REST API, with the
add page's checks and the one error body (senders/api/numbers.py)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from senders.models import ConnectionStatus, PhoneNumber, PhoneNumberDetails, WhatsAppAccount
from tests.factories import World
from tests.fixtures_senders import Connected, ConnectWaba

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/t/acme/phone-numbers/"


def api(m: Membership) -> APIClient:
    c = APIClient()
    c.force_authenticate(m.user)
    c.force_login(m.user)
    return c


def body(connected: Connected, **fields: Any) -> dict[str, Any]:
    return {
        "waba": connected.waba.pk,
        "country": "GB",
        "number": "07400 123456",
        "display_name": "Acme London",
        **fields,
    }


def error(response: Any) -> dict[str, Any]:
    payload = response.json()
    assert set(payload) == {"error"}, payload
    assert set(payload["error"]) == {"code", "message", "details"}, payload
    return dict(payload["error"])


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_managers_add_a_number(world: World, connected_waba: Connected, role: str) -> None:
    response = api(world.by_role(role)).post(URL, body(connected_waba), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["e164"], data["international"], data["region"], data["number_type"]) == (
        "+447400123456",
        "+44 7400 123456",
        "GB",
        "mobile",
    )
    assert (data["waba"], data["connection_status"], data["name_status"]) == (
        connected_waba.waba.pk,
        "pending",
        "PENDING_REVIEW",
    )
    assert data["display_phone_number"] == "+44 7400 123456"
    assert data["notes"] == [] and data["can_send"] is False
    with tenant_scope(world.tenant):
        phone = PhoneNumber.objects.get(pk=data["id"])
        assert phone.details.get().e164 == "+447400123456"
    # Every member still reads the list at the same URL.
    listed = api(world.agent).get(URL)
    assert listed.status_code == 200
    assert data["id"] in {n["id"] for n in listed.json()["results"]}


def test_a_voip_number_comes_with_its_note(world: World, connected_waba: Connected) -> None:
    response = api(world.owner).post(
        URL, body(connected_waba, number="056 1234 5678"), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["number_type"] == "voip"
    (note,) = response.json()["notes"]
    assert "receives SMS or voice calls" in note


def test_agents_are_refused(world: World, connected_waba: Connected, mock_meta: Any) -> None:
    response = api(world.agent).post(URL, body(connected_waba), format="json")
    assert response.status_code == 403
    assert error(response)["code"] == "permission_denied"
    with tenant_scope(world.tenant):
        assert PhoneNumber.objects.count() == 1


def test_another_workspace_s_waba_is_not_found(
    world: World, connected_waba: Connected, other_connected_waba: Connected
) -> None:
    response = api(world.owner).post(URL, body(other_connected_waba), format="json")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"
    for waba in ("abc", 2**70, 0, None):
        response = api(world.owner).post(URL, body(connected_waba, waba=waba), format="json")
        assert response.status_code == 400, waba
        assert "waba" in error(response)["details"]["fields"]


def test_field_errors_are_in_details(world: World, connected_waba: Connected) -> None:
    response = api(world.owner).post(
        URL,
        body(connected_waba, country="US", number="33669", display_name="www.acme.com"),
        format="json",
    )
    assert response.status_code == 400
    err = error(response)
    assert err["code"] == "invalid"
    fields = err["details"]["fields"]
    assert "short code" in fields["number"][0]
    assert any("web or e-mail address" in p for p in fields["display_name"])


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"country": "DE", "number": "0900 1234567"}, "number_premium_rate", "number"),
        ({"country": "DE", "number": "01805 12345"}, "number_shared_cost", "number"),
        ({"country": "DE", "number": "0700 12345678"}, "number_personal_number", "number"),
        ({"country": "DE", "number": "0164 12345"}, "number_pager", "number"),
        ({"country": "DE", "number": "030 1"}, "number_invalid", "number"),
        ({"country": "XX"}, "country", "country"),
        ({"number": "+44 20 7946 0958", "country": "DE"}, "number_other_country", "number"),
    ],
)
def test_each_refusal_has_its_code(
    world: World, connected_waba: Connected, fields: dict[str, str], code: str, field: str
) -> None:
    response = api(world.owner).post(URL, body(connected_waba, **fields), format="json")
    assert response.status_code == 400, response.content
    err = error(response)
    assert err["code"] == code
    assert err["details"]["fields"][field] == [err["message"]]


def test_the_cap_answers_409_with_the_troubleshooting_entry(
    world: World, connect_waba: ConnectWaba, mock_meta: Any
) -> None:
    connected = connect_waba(world.tenant, numbers=2, verification="not_verified")
    response = api(world.owner).post(URL, body(connected), format="json")
    assert response.status_code == 409
    err = error(response)
    assert err["code"] == "waba_number_limit"
    assert (err["details"]["cap"], err["details"]["in_use"]) == (2, 2)
    problem = err["details"]["problem"]
    assert problem["code"] == "waba_number_limit"
    assert problem["url"] == "/t/acme/settings/whatsapp/troubleshooting/#waba_number_limit"
    assert err["details"]["fields"]["number"] == [err["message"]]


def test_meta_s_cap_and_another_waba_answer_409_with_their_entries(
    world: World, connect_waba: ConnectWaba, mock_meta: Any
) -> None:
    connected = connect_waba(world.tenant)
    mock_meta.seed(
        businesses=[{"name": "Other", "wabas": [{"phone_numbers": [{"phone": "+447400123456"}]}]}],
        tokens=[],
    )
    response = api(world.owner).post(URL, body(connected), format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "number_other_waba"
    steps = " ".join(error(response)["details"]["problem"]["steps"])
    assert "Disable two-step verification" in steps and "Delete the number" in steps

    mock_meta.patch("business", connected.business_id, max_phone_numbers=1)
    response = api(world.owner).post(URL, body(connected, number="07400 123457"), format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "waba_number_limit"
    with tenant_scope(world.tenant):
        assert PhoneNumber.objects.count() == 1
        assert not PhoneNumberDetails.objects.exists()


def test_meta_unavailable_answers_503(
    world: World, connected_waba: Connected, mock_meta: Any
) -> None:
    mock_meta.fault("POST", r"/phone_numbers$", code=2, times=5)
    response = api(world.owner).post(URL, body(connected_waba), format="json")
    assert response.status_code == 503
    assert error(response)["details"]["problem"]["code"] == "meta_unavailable"


def test_a_disconnected_account_takes_no_numbers(world: World, connected_waba: Connected) -> None:
    with tenant_scope(world.tenant):
        WhatsAppAccount.objects.filter(pk=connected_waba.waba.pk).update(
            connection_status=ConnectionStatus.DISCONNECTED
        )
    response = api(world.owner).post(URL, body(connected_waba), format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "waba_not_connected"


def test_the_same_number_twice_answers_409(world: World, connected_waba: Connected) -> None:
    c = api(world.owner)
    first = c.post(URL, body(connected_waba), format="json")
    assert first.status_code == 201
    again = c.post(URL, body(connected_waba, number="+447400123456"), format="json")
    assert again.status_code == 409
    err = error(again)
    assert err["code"] == "number_already_added"
    assert err["details"]["phone"] == first.json()["id"]
    assert err["details"]["fields"]["number"] == [err["message"]]
