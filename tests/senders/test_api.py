"""The senders REST API: tenant scoping, problems with their troubleshooting links, no secrets."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from accounts.models import Membership
from senders import troubleshooting as ts
from tests.factories import World

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def graph_at_mock(settings, mock_meta):  # type: ignore[no-untyped-def]
    settings.GRAPH_API_BASE_URL = mock_meta.base_url


def api(m: Membership) -> APIClient:
    c = APIClient()
    c.force_authenticate(m.user)
    c.force_login(m.user)
    return c


def test_connect_through_the_api_and_read_the_result(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915122223333", display_name="API Co")
    c = api(world.owner)
    created = c.post(
        "/api/v1/t/acme/onboardings/",
        {"code": signup["code"], "session": signup["session_info"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "succeeded"
    assert [s["status"] for s in body["steps"]].count("failed") == 0
    page = c.get("/api/v1/t/acme/wabas/").json()
    assert set(page) == {"next", "previous", "results"} and page["next"] is None
    wabas = page["results"]
    assert len(wabas) == 1
    (number,) = wabas[0]["phone_numbers"]
    assert (number["connection_status"], number["is_primary"], number["problem"]) == (
        "connected",
        True,
        None,
    )
    raw = json.dumps(wabas)
    assert "access_token" not in raw and '"pin"' not in raw
    detail = c.get(f"/api/v1/t/acme/wabas/{wabas[0]['id']}/").json()
    assert detail["waba_id"] == signup["waba_id"]
    assert (
        c.get("/api/v1/t/acme/phone-numbers/").json()["results"][0]["phone_number_id"]
        == number["phone_number_id"]
    )


def test_failed_onboarding_links_its_troubleshooting_entry(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    c = api(world.owner)
    body = c.post(
        "/api/v1/t/acme/onboardings/",
        {
            "session": {
                "type": "WA_EMBEDDED_SIGNUP",
                "event": "ERROR",
                "data": {
                    "error_message": (
                        "You don't have permission to create a WhatsApp Business Account"
                    )
                },
            }
        },
        format="json",
    ).json()
    assert body["status"] == "failed"
    assert body["problem"]["code"] == ts.NO_RIGHT_CREATE_WABA
    assert (
        body["problem"]["url"] == "/t/acme/settings/whatsapp/troubleshooting/#no_right_create_waba"
    )
    assert body["problem"]["steps"]
    again = c.get(f"/api/v1/t/acme/onboardings/{body['id']}/").json()
    assert again["problem"]["code"] == ts.NO_RIGHT_CREATE_WABA


def test_api_errors_have_a_code_and_a_message(world: World) -> None:
    c = api(world.owner)
    bad = c.post("/api/v1/t/acme/onboardings/", {"session": {"event": "NOPE"}}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid"
    agent = api(world.agent).post(
        "/api/v1/t/acme/onboardings/", {"session": {"event": "CANCEL"}}, format="json"
    )
    assert agent.status_code == 403
    assert agent.json()["error"]["code"] == "permission_denied"
    anonymous = APIClient().get("/api/v1/t/acme/wabas/")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"


def test_other_tenants_ids_answer_404(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915122224444")
    created = (
        api(world.owner)
        .post(
            "/api/v1/t/acme/onboardings/",
            {"code": signup["code"], "session": signup["session_info"]},
            format="json",
        )
        .json()
    )
    other = api(world.other_owner)
    for path in (
        "/api/v1/t/acme/wabas/",
        f"/api/v1/t/globex/wabas/{created['waba']}/",
        f"/api/v1/t/globex/onboardings/{created['id']}/",
        "/api/v1/t/nope/wabas/",
    ):
        response = other.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert other.get("/api/v1/t/globex/wabas/").json()["results"] == []
    assert other.get("/api/v1/t/globex/phone-numbers/").json()["results"] == []
    assert other.get("/api/v1/t/globex/onboardings/").json()["results"] == []
