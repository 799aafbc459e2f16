"""GraphClient against the mock Meta server over real HTTP (no patching).

Needs the ``mock_meta`` fixture from ``tests.fixtures_mock_meta``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from waba_portal.graph import (
    GraphAuthError,
    GraphClient,
    GraphError,
    GraphInvalidRequestError,
    GraphNotFoundError,
    GraphOutcomeUnknown,
    GraphPermissionError,
    GraphRateLimitError,
    GraphTransientError,
    PinMismatchError,
    ReEngagementRequired,
    RetryPolicy,
    TemplateUnavailable,
)
from waba_portal.graph import errors as E

FAST = RetryPolicy(max_attempts=3, backoff_base=0.001, backoff_cap=0.005)
CUSTOMER = "16505551234"


def graph_client(mock_meta: Any, token: str | None = None, **kw: Any) -> GraphClient:
    options: dict[str, Any] = {
        "base_url": mock_meta.base_url,
        "token": token,
        "app_id": mock_meta.app_id,
        "app_secret": mock_meta.app_secret,
        "retry_policy": FAST,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
    }
    options.update(kw)
    return GraphClient(**options)


@pytest.fixture
def seeded(mock_meta: Any) -> dict[str, Any]:
    return mock_meta.seed(
        businesses=[
            {
                "name": "Graph Test Ltd",
                "wabas": [
                    {
                        "name": "Graph Test WABA",
                        "phone_numbers": [{"phone": "+15550001111", "display_name": "Graph Test"}],
                        "templates": [{"name": "order_update", "language": "en_US"}],
                    }
                ],
            }
        ]
    )


@pytest.fixture
def gc(mock_meta: Any, seeded: dict[str, Any]) -> Iterator[GraphClient]:
    client = graph_client(mock_meta, seeded["token"])
    yield client
    client.close()


def calls(mock_meta: Any, method: str, fragment: str) -> list[dict[str, Any]]:
    return [r for r in mock_meta.requests() if r["method"] == method and fragment in r["path"]]


# ---------------------------------------------------------------- end to end


def test_onboarding_to_first_message(mock_meta: Any, caplog: pytest.LogCaptureFixture) -> None:
    signup = mock_meta.signup(phone="+15557654321", display_name="Acme Shop")
    waba_id, phone_id = signup["waba_id"], signup["phone_number_id"]
    app = graph_client(mock_meta)  # no token: app credentials only

    with caplog.at_level(logging.INFO, logger="waba_portal.graph"):
        exchanged = app.exchange_code(signup["code"])
        token = exchanged["access_token"]
        assert exchanged["token_type"].lower() == "bearer"

        info = app.debug_token(token)
        assert info.is_valid
        assert waba_id in info.waba_ids

        gc = graph_client(mock_meta, token)
        waba = gc.waba_get(waba_id, fields=["id", "name", "currency", "timezone_id"])
        assert waba["id"] == waba_id

        assert gc.subscribed_apps_subscribe(waba_id)["success"] is True
        apps = gc.subscribed_apps_list(waba_id)
        assert apps and "whatsapp_business_api_data" in apps[0]

        numbers = list(gc.phone_numbers_list(waba_id, fields=["id", "status"]))
        assert [n["id"] for n in numbers] == [phone_id]

        gc.request_code(phone_id, code_method="SMS", language="en_US")
        code = mock_meta.last_code(phone_id)
        assert code
        gc.verify_code(phone_id, code)
        gc.register(phone_id, "246810")
        phone = gc.phone_number_get(phone_id, fields=["id", "status", "code_verification_status"])
        assert phone["status"] == "CONNECTED"

        gc.business_profile_update(
            phone_id, about="We sell things", websites=["https://acme.example"]
        )
        handle = gc.upload_profile_picture(phone_id, b"\xff\xd8\xff" + b"0" * 500, "image/jpeg")
        assert handle
        profile = gc.business_profile_get(phone_id)
        assert profile["about"] == "We sell things"

        created = gc.template_create(
            waba_id,
            name="welcome_back",
            language="en_US",
            category="UTILITY",
            components=[
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, welcome back.",
                    "example": {"body_text": [["Ann"]]},
                }
            ],
        )
        assert created["id"]
        names = {t["name"] for t in gc.templates_list(waba_id, fields=["name", "status"])}
        assert "welcome_back" in names

        with pytest.raises(ReEngagementRequired):
            gc.send_text(phone_id, CUSTOMER, "hello?")
        inbound = mock_meta.inbound(phone_number_id=phone_id, **{"from": CUSTOMER}, text="Hi!")
        sent = gc.send_text(phone_id, CUSTOMER, "Hello from the portal")
        assert sent.message_id.startswith("wamid.")
        assert gc.mark_read(phone_id, inbound.get("message_id") or sent.message_id)["success"]

    text = caplog.text
    for secret in (token, signup["code"], mock_meta.app_secret, code, "246810"):
        assert secret not in text, "secret leaked into logs"
    # the mock saw the PIN and code, the log did not
    assert calls(mock_meta, "POST", f"/{phone_id}/register")


def test_template_and_send_errors(mock_meta: Any, seeded: dict[str, Any], gc: GraphClient) -> None:
    phone_id = seeded["phone_number_id"]
    mock_meta.inbound(phone_number_id=phone_id, **{"from": CUSTOMER}, text="hi")
    assert gc.send_template(phone_id, CUSTOMER, "order_update", "en_US").message_id
    with pytest.raises(TemplateUnavailable):
        gc.send_template(phone_id, CUSTOMER, "no_such_template", "en_US")
    with pytest.raises(PinMismatchError):
        gc.register(phone_id, "999999")


def test_unknown_node_and_bad_token(mock_meta: Any, seeded: dict[str, Any]) -> None:
    good = graph_client(mock_meta, seeded["token"])
    with pytest.raises((GraphNotFoundError, GraphInvalidRequestError, GraphPermissionError)):
        good.waba_get("999999999999")
    bad = graph_client(mock_meta, "EAAnot-a-real-token")
    with pytest.raises(GraphAuthError) as info:
        bad.waba_get(seeded["waba_id"])
    assert info.value.code == 190
    assert "EAAnot-a-real-token" not in str(info.value)


# ---------------------------------------------------------------- faults → families


@pytest.mark.parametrize(
    ("code", "subcode", "http_status", "expected"),
    [
        (190, 463, 401, GraphAuthError),
        (200, None, 403, GraphPermissionError),
        (10, None, 403, GraphPermissionError),
        (100, None, 400, GraphInvalidRequestError),
        (100, 2388019, 400, E.TemplateLimitReached),
        (131047, None, 400, ReEngagementRequired),
        (132001, None, 404, TemplateUnavailable),
        (133010, None, 400, E.PhoneNotRegisteredError),
        (136025, None, 400, E.CodeVerifyError),
        (131056, None, 400, GraphRateLimitError),
        (80007, None, 400, GraphRateLimitError),
        (131000, None, 500, GraphTransientError),
        (None, None, 502, GraphTransientError),
    ],
)
def test_fault_families_on_a_send(
    mock_meta: Any,
    seeded: dict[str, Any],
    gc: GraphClient,
    code: int | None,
    subcode: int | None,
    http_status: int,
    expected: type[GraphError],
) -> None:
    phone_id = seeded["phone_number_id"]
    mock_meta.fault("POST", r"/messages$", code=code, subcode=subcode, http_status=http_status)
    with pytest.raises(expected) as info:
        gc.send_text(phone_id, CUSTOMER, "x")
    assert info.value.http_status == http_status
    if code is not None:
        assert info.value.code == code
        assert info.value.fbtrace_id
    assert len(calls(mock_meta, "POST", "/messages")) == 1  # sends are never retried


def test_transient_get_retried_to_success(
    mock_meta: Any, seeded: dict[str, Any], gc: GraphClient
) -> None:
    waba_id = seeded["waba_id"]
    mock_meta.fault("GET", rf"/{waba_id}$", code=2, http_status=503, is_transient=True, times=2)
    assert gc.waba_get(waba_id)["id"] == waba_id
    assert len(calls(mock_meta, "GET", f"/{waba_id}")) == 3


def test_rate_limited_get_retried(mock_meta: Any, seeded: dict[str, Any], gc: GraphClient) -> None:
    waba_id = seeded["waba_id"]
    mock_meta.fault("GET", rf"/{waba_id}/phone_numbers", code=130429, http_status=400, times=1)
    assert list(gc.phone_numbers_list(waba_id))
    assert len(calls(mock_meta, "GET", "/phone_numbers")) == 2


def test_send_with_dropped_connection_is_not_retried(
    mock_meta: Any, seeded: dict[str, Any], gc: GraphClient
) -> None:
    phone_id = seeded["phone_number_id"]
    mock_meta.inbound(phone_number_id=phone_id, **{"from": CUSTOMER}, text="hi")
    mock_meta.requests(clear=True)
    mock_meta.fault("POST", r"/messages$", drop=True)
    with pytest.raises(GraphOutcomeUnknown):
        gc.send_text(phone_id, CUSTOMER, "maybe")
    assert len(calls(mock_meta, "POST", "/messages")) == 1


def test_send_read_timeout_outcome_unknown_and_get_timeout_retried(
    mock_meta: Any, seeded: dict[str, Any]
) -> None:
    phone_id, waba_id = seeded["phone_number_id"], seeded["waba_id"]
    gc = graph_client(mock_meta, seeded["token"], read_timeout=0.3)
    mock_meta.inbound(phone_number_id=phone_id, **{"from": CUSTOMER}, text="hi")
    mock_meta.fault("POST", r"/messages$", latency=1.0)
    with pytest.raises(GraphOutcomeUnknown) as info:
        gc.send_text(phone_id, CUSTOMER, "slow")
    assert info.value.timeout
    assert len(calls(mock_meta, "POST", "/messages")) <= 1  # logged when the mock finishes
    mock_meta.fault("GET", rf"/{waba_id}$", latency=1.0)
    assert gc.waba_get(waba_id)["id"] == waba_id


# ---------------------------------------------------------------- pagination


def test_pagination_over_many_numbers_and_templates(mock_meta: Any) -> None:
    phones = [{"phone": f"+1555100{i:04d}", "display_name": f"Number {i}"} for i in range(23)]
    seeded = mock_meta.seed(
        businesses=[
            {
                "name": "Big Ltd",
                "max_phone_numbers": 100,
                "wabas": [{"name": "Big", "phone_numbers": phones, "filler_templates": 57}],
            }
        ]
    )
    gc = graph_client(mock_meta, seeded["token"])
    waba_id = seeded["waba_id"]
    numbers = list(gc.phone_numbers_list(waba_id, fields=["id"], limit=5))
    assert len(numbers) == 23 and len({n["id"] for n in numbers}) == 23
    assert len(calls(mock_meta, "GET", "/phone_numbers")) == 5
    templates = list(gc.templates_list(waba_id, fields=["name"], limit=10))
    assert len({t["name"] for t in templates}) == 57


# ---------------------------------------------------------------- other operations


def test_qr_codes_oba_health_media(mock_meta: Any, seeded: dict[str, Any], gc: GraphClient) -> None:
    phone_id, waba_id = seeded["phone_number_id"], seeded["waba_id"]
    qr = gc.qr_code_create(phone_id, "Hello shop")
    code = qr.get("code") or qr.get("id")
    assert code
    assert any((q.get("code") or q.get("id")) == code for q in gc.qr_codes_list(phone_id))
    gc.qr_code_delete(phone_id, code)
    assert not any((q.get("code") or q.get("id")) == code for q in gc.qr_codes_list(phone_id))

    oba = gc.official_business_account_get(phone_id)
    assert "oba_status" in oba or "official_business_account" in oba
    gc.official_business_account_request(
        phone_id,
        application_data={"business_name": "Graph Test", "website_url": "https://x.example"},
    )

    health = gc.health_status(waba_id)
    assert health.get("can_send_message")

    media_id = gc.media_upload(phone_id, b"\x89PNG\r\n\x1a\nfake", "image/png", filename="a.png")
    meta = gc.media_get(media_id, phone_number_id=phone_id)
    assert meta["id"] == media_id
    assert gc.media_download(meta["url"]) == b"\x89PNG\r\n\x1a\nfake"

    tpl = next(iter(gc.templates_list(waba_id, name="order_update")))
    gc.template_delete(waba_id, "order_update", hsm_id=tpl["id"])
    assert not [t for t in gc.templates_list(waba_id) if t["name"] == "order_update"]

    gc.waba_update(waba_id, name="Renamed WABA")
    assert gc.waba_get(waba_id, fields="name")["name"] == "Renamed WABA"
    gc.subscribed_apps_unsubscribe(waba_id)
    assert gc.subscribed_apps_list(waba_id) == []


def test_media_download_never_sends_the_token_to_a_foreign_host(mock_meta) -> None:  # type: ignore[no-untyped-def]
    from waba_portal.graph.client import GraphClient

    client = GraphClient(token="secret-token", base_url=mock_meta.base_url, version="v23.0")
    for url in (
        "https://evil.example/steal",
        "ftp://lookaside.fbsbx.com/x",
        "http://lookaside.fbsbx.com/x",  # Meta's host, but the token would travel in clear
        "/relative",
    ):
        try:
            client.media_download(url)
        except ValueError:
            continue
        raise AssertionError(f"token would have gone to {url}")
    assert not any("evil" in r["path"] for r in mock_meta.requests())
