"""WABA node, fields, pagination, subscriptions, settings, profile, uploads, OBA, QR codes."""

from __future__ import annotations

from typing import Any

import requests

from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph, Receiver, error_of


def test_waba_fields_and_update(graph: Graph, seeded: dict[str, Any]) -> None:
    waba = seeded["waba_id"]
    assert graph.get(waba).json() == {"id": waba, "name": "Acme Support"}
    fields = (
        "name,currency,timezone_id,message_template_namespace,account_review_status,"
        "business_verification_status,health_status,ownership_type,status,"
        "whatsapp_business_manager_messaging_limit,messaging_limit_tier"
    )
    data = graph.get(waba, fields=fields).json()
    assert data["business_verification_status"] == "verified"
    assert data["whatsapp_business_manager_messaging_limit"] == "TIER_2K"
    assert data["messaging_limit_tier"] == "TIER_1K"
    assert data["health_status"]["can_send_message"] == "AVAILABLE"
    assert {e["entity_type"] for e in data["health_status"]["entities"]} == {
        "WABA",
        "BUSINESS",
        "APP",
    }
    err = error_of(graph.get(waba, fields="name,bogus"))
    assert err["code"] == 100 and "bogus" in err["message"]
    assert graph.post(waba, {"name": "Renamed"}).json() == {"success": True}
    assert graph.get(waba).json()["name"] == "Renamed"


def test_response_headers(graph: Graph, seeded: dict[str, Any]) -> None:
    resp = graph.get(seeded["waba_id"])
    for header in (
        "x-fb-trace-id",
        "x-fb-request-id",
        "x-app-usage",
        "x-business-use-case-usage",
        "facebook-api-version",
    ):
        assert header in resp.headers
    assert seeded["waba_id"] in resp.headers["x-business-use-case-usage"]
    assert resp.headers["facebook-api-version"] == "v23.0"
    other = requests.get(
        graph.base.replace("v23.0", "v24.0") + "/" + seeded["waba_id"],
        headers={"Authorization": f"Bearer {graph.token}"},
        timeout=5,
    )
    assert other.ok and other.headers["facebook-api-version"] == "v24.0"


def test_phone_numbers_pagination(mock_meta: MockMeta) -> None:
    numbers = [{"phone": f"+1555020{i:04d}", "status": "CONNECTED"} for i in range(5)]
    seed = mock_meta.seed(
        businesses=[{"name": "B", "wabas": [{"name": "W", "phone_numbers": numbers}]}]
    )
    graph = Graph(mock_meta, seed["token"])
    waba = seed["waba_id"]
    page = graph.get(f"{waba}/phone_numbers", limit=2).json()
    seen = [p["id"] for p in page["data"]]
    assert len(seen) == 2 and "previous" not in page["paging"]
    while "next" in page["paging"]:
        page = requests.get(
            page["paging"]["next"], headers={"Authorization": f"Bearer {seed['token']}"}, timeout=5
        ).json()
        seen += [p["id"] for p in page["data"]]
    assert len(seen) == 5 == len(set(seen))
    back = graph.get(
        f"{waba}/phone_numbers", limit=2, before=page["paging"]["cursors"]["before"]
    ).json()
    assert [p["id"] for p in back["data"]] == seen[2:4]
    only = graph.get(f"{waba}/phone_numbers", fields="display_phone_number").json()
    assert set(only["data"][0]) == {"id", "display_phone_number"}
    assert error_of(graph.get(f"{waba}/phone_numbers", after="bad"))["code"] == 100


def test_subscribed_apps(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any], receiver: Receiver
) -> None:
    waba = seeded["waba_id"]
    data = graph.get(f"{waba}/subscribed_apps").json()["data"]
    assert data[0]["whatsapp_business_api_data"]["id"] == mock_meta.app_id
    assert graph.delete(f"{waba}/subscribed_apps").json() == {"success": True}
    assert graph.get(f"{waba}/subscribed_apps").json() == {"data": []}
    assert graph.post(f"{waba}/subscribed_apps").json() == {"success": True}
    resp = graph.post(
        f"{waba}/subscribed_apps",
        {"override_callback_uri": receiver.url, "verify_token": receiver.verify_token},
    )
    assert resp.json()["success"] is True
    data = graph.get(f"{waba}/subscribed_apps").json()["data"]
    assert data[0]["override_callback_uri"] == receiver.url
    err = error_of(
        graph.post(
            f"{waba}/subscribed_apps", {"override_callback_uri": "nope", "verify_token": "t"}
        )
    )
    assert err["code"] == 100


def test_settings(graph: Graph, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    data = graph.get(f"{pid}/settings").json()
    assert "calling" in data and data["storage_configuration"]["status"] == "default"
    assert graph.post(
        f"{pid}/settings", {"storage_configuration": {"enabled": True, "region": "DE"}}
    ).json() == {"success": True}
    data = graph.get(f"{pid}/settings").json()
    assert data["storage_configuration"]["data_localization_region"] == "DE"
    err = error_of(graph.post(f"{pid}/settings", {"calling": {}, "storage_configuration": {}}))
    assert err["code"] == 100


def test_business_profile_and_upload(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    content = b"\xff\xd8 fake jpeg" * 10
    start = graph.post(
        f"{mock_meta.app_id}/uploads?file_name=logo.jpg&file_length="
        f"{len(content)}&file_type=image/jpeg"
    )
    session = start.json()["id"]
    assert session.startswith("upload:")
    up = requests.post(
        f"{graph.base}/{session}",
        data=content,
        timeout=5,
        headers={"Authorization": f"OAuth {graph.token}", "file_offset": "0"},
    )
    handle = up.json()["h"]
    resp = graph.post(
        f"{pid}/whatsapp_business_profile",
        {
            "messaging_product": "whatsapp",
            "about": "We sell things",
            "email": "a@b.example",
            "websites": ["https://a.example"],
            "vertical": "RETAIL",
            "profile_picture_handle": handle,
        },
    )
    assert resp.json() == {"success": True}
    prof = graph.get(f"{pid}/whatsapp_business_profile").json()["data"][0]
    assert prof["about"] == "We sell things" and prof["vertical"] == "RETAIL"
    assert requests.get(prof["profile_picture_url"], timeout=5).content == content
    sel = graph.get(f"{pid}/whatsapp_business_profile", fields="about,email").json()["data"][0]
    assert set(sel) == {"about", "email", "messaging_product"}
    assert (
        error_of(
            graph.post(
                f"{pid}/whatsapp_business_profile",
                {"messaging_product": "whatsapp", "about": "x" * 140},
            )
        )["code"]
        == 100
    )
    assert (
        error_of(
            graph.post(
                f"{pid}/whatsapp_business_profile",
                {"messaging_product": "whatsapp", "vertical": "SPACE"},
            )
        )["code"]
        == 100
    )


def test_oba_and_qr_codes(graph: Graph, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    assert graph.get(f"{pid}/official_business_account").json()["oba_status"] == "NOT_STARTED"
    assert (
        graph.post(
            f"{pid}/official_business_account",
            {
                "business_website_url": "https://a.example",
                "primary_country_of_operation": "US",
                "primary_language": "en",
            },
        ).json()["success"]
        is True
    )
    assert graph.get(f"{pid}/official_business_account").json()["oba_status"] == "PENDING"
    qr = graph.post(
        f"{pid}/message_qrdls", {"prefilled_message": "Hi!", "generate_qr_image": "SVG"}
    ).json()
    assert qr["deep_link_url"].endswith(qr["code"]) and qr["qr_image_url"].endswith(".svg")
    assert graph.get(f"{pid}/message_qrdls").json()["data"][0]["code"] == qr["code"]
    one = graph.get(f"{pid}/message_qrdls/{qr['code']}").json()["data"]
    assert [q["prefilled_message"] for q in one] == ["Hi!"]
    upd = graph.post(f"{pid}/message_qrdls/{qr['code']}", {"prefilled_message": "Hello"})
    assert upd.json()["prefilled_message"] == "Hello"
    assert graph.delete(f"{pid}/message_qrdls/{qr['code']}").json() == {"success": True}
    assert graph.get(f"{pid}/message_qrdls").json() == {"data": []}


def test_business_node(graph: Graph, seeded: dict[str, Any]) -> None:
    biz = seeded["business_id"]
    assert graph.get(biz).json()["name"] == "Acme Demo Ltd"
    wabas = graph.get(f"{biz}/owned_whatsapp_business_accounts").json()["data"]
    assert [w["id"] for w in wabas] == [seeded["waba_id"]]


def test_health_status_reflects_state(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    mock_meta.emit(
        field="account_update",
        waba_id=seeded["waba_id"],
        event="DISABLED_UPDATE",
        ban_state="DISABLE",
    )
    health = graph.get(pid, fields="health_status").json()["health_status"]
    assert health["can_send_message"] == "BLOCKED"
    waba = graph.get(seeded["waba_id"], fields="status,ban_state").json()
    assert waba["status"] == "DISABLED"
    err = error_of(
        graph.post(
            f"{pid}/messages",
            {
                "messaging_product": "whatsapp",
                "to": "1650",
                "type": "template",
                "template": {"name": "hello_world", "language": {"code": "en_US"}},
            },
        )
    )
    assert err["code"] == 131031
