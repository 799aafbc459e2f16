"""Tokens, OAuth code exchange and debug_token."""

from __future__ import annotations

from typing import Any

import requests

from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph, error_of


def test_token_errors(mock_meta: MockMeta) -> None:
    seed = mock_meta.seed(
        businesses=[{"name": "B", "wabas": [{"name": "W1"}, {"name": "W2"}]}],
        tokens=[{"wabas": "all"}, {"expired": True}, {"revoked": True}, {"wabas": ["W1"]}],
    )
    good, expired, revoked, narrow = (t["token"] for t in seed["tokens"])
    w1, w2 = (w["id"] for w in seed["businesses"][0]["wabas"])
    graph = Graph(mock_meta, None)
    resp = graph.get(w1)
    assert resp.status_code == 401 and error_of(resp)["code"] == 104
    resp = graph.get(w1, token="garbage")
    assert resp.status_code == 401 and error_of(resp)["code"] == 190
    err = error_of(graph.get(w1, token=expired))
    assert (err["code"], err["error_subcode"]) == (190, 463)
    err = error_of(graph.get(w1, token=revoked))
    assert (err["code"], err["error_subcode"]) == (190, 460)
    assert graph.get(w1, token=narrow).ok
    resp = graph.get(w2, token=narrow)
    assert resp.status_code == 403 and error_of(resp)["code"] == 200
    # access_token query parameter works like the header
    assert requests.get(f"{mock_meta.graph_url}/{w2}", params={"access_token": good}, timeout=5).ok


def test_unknown_node_and_path(graph: Graph) -> None:
    resp = graph.get("999999999999")
    err = error_of(resp)
    assert (err["code"], err["error_subcode"], err["type"]) == (100, 33, "GraphMethodException")
    assert resp.status_code == 400


def test_code_exchange_single_use(mock_meta: MockMeta) -> None:
    result = mock_meta.signup(
        business_name="Shop", phone="+15550102222", display_name="Shop Support"
    )
    url = f"{mock_meta.graph_url}/oauth/access_token"
    params = {
        "client_id": mock_meta.app_id,
        "client_secret": mock_meta.app_secret,
        "code": result["code"],
    }
    first = requests.get(url, params=params, timeout=5)
    assert first.ok and first.json()["token_type"] == "bearer"
    token = first.json()["access_token"]
    again = requests.get(url, params=params, timeout=5)
    assert error_of(again)["error_subcode"] == 36009
    wrong_secret = requests.get(url, params={**params, "client_secret": "x"}, timeout=5)
    assert error_of(wrong_secret)["code"] == 1
    graph = Graph(mock_meta, token)
    assert graph.get(result["waba_id"]).ok
    assert graph.get(result["phone_number_id"]).ok


def test_code_expires(mock_meta: MockMeta) -> None:
    result = mock_meta.signup(business_name="Shop", phone="+15550102223", display_name="Shop")
    mock_meta.advance_clock(301)
    resp = requests.get(
        f"{mock_meta.graph_url}/oauth/access_token",
        params={
            "client_id": mock_meta.app_id,
            "client_secret": mock_meta.app_secret,
            "code": result["code"],
        },
        timeout=5,
    )
    assert error_of(resp)["error_subcode"] == 36007


def test_app_token_and_debug_token(mock_meta: MockMeta, seeded: dict[str, Any]) -> None:
    url = f"{mock_meta.graph_url}/oauth/access_token"
    app = requests.get(
        url,
        params={
            "client_id": mock_meta.app_id,
            "client_secret": mock_meta.app_secret,
            "grant_type": "client_credentials",
        },
        timeout=5,
    ).json()
    assert app["token_type"] == "bearer"
    dbg = requests.get(
        f"{mock_meta.graph_url}/debug_token",
        params={"input_token": seeded["token"]},
        headers={"Authorization": f"Bearer {app['access_token']}"},
        timeout=5,
    ).json()["data"]
    assert dbg["is_valid"] is True and dbg["app_id"] == mock_meta.app_id
    scopes = {g["scope"]: g["target_ids"] for g in dbg["granular_scopes"]}
    assert scopes["whatsapp_business_management"] == [seeded["waba_id"]]
    assert scopes["whatsapp_business_messaging"] == [seeded["waba_id"]]
    # APP_ID|APP_SECRET also authenticates debug_token
    pair = f"{mock_meta.app_id}|{mock_meta.app_secret}"
    bad = requests.get(
        f"{mock_meta.graph_url}/debug_token",
        params={"input_token": "nope", "access_token": pair},
        timeout=5,
    ).json()
    assert bad["data"]["is_valid"] is False
    # an app token cannot read a WABA
    resp = Graph(mock_meta, app["access_token"]).get(seeded["waba_id"])
    assert error_of(resp)["code"] == 200
