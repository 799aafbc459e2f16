"""GraphClient over real HTTP against a canned stdlib server: transport behaviour,
retries, timeouts, dropped connections, pagination and logging."""

from __future__ import annotations

import json
import logging

import pytest

from waba_portal.graph import (
    GraphAuthError,
    GraphClient,
    GraphConnectionError,
    GraphError,
    GraphInvalidRequestError,
    GraphOutcomeUnknown,
    GraphRateLimitError,
    GraphTransientError,
    PaginationLimitExceeded,
    ReEngagementRequired,
    RetryPolicy,
)

from .conftest import APP_ID, APP_SECRET, TOKEN, CannedServer, Reply, make_client

SEND_OK = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
    "messages": [{"id": "wamid.ABC", "message_status": "accepted"}],
}


def err(code: int, subcode: int | None = None, **extra: object) -> dict:
    body: dict[str, object] = {
        "message": f"(#{code}) error",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AtraceID",
    }
    if subcode:
        body["error_subcode"] = subcode
    body.update(extra)
    return {"error": body}


def test_base_url_version_auth_fields_and_timeouts(canned: CannedServer) -> None:
    client = make_client(canned.url, version="v23.0")
    canned.add(Reply(body={"id": "1", "name": "Acme"}))
    assert client.waba_get("1", fields=["id", "name", "currency"]) == {"id": "1", "name": "Acme"}
    seen = canned.requests[0]
    assert seen.method == "GET"
    assert seen.path == "/v23.0/1"
    assert seen.query == {"fields": ["id,name,currency"]}
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["User-Agent"].startswith("waba-portal-graph")


def test_per_call_token_overrides_client_token(canned: CannedServer, client: GraphClient) -> None:
    canned.add(Reply(body={"id": "2"}))
    client.phone_number_get("2", token="EAAother")
    assert canned.requests[0].headers["Authorization"] == "Bearer EAAother"


def test_from_settings_reads_django_settings(settings: object) -> None:
    settings.GRAPH_API_BASE_URL = "http://127.0.0.1:1"  # type: ignore[attr-defined]
    settings.GRAPH_API_VERSION = "v99.0"  # type: ignore[attr-defined]
    settings.GRAPH_API_CONNECT_TIMEOUT = 1.5  # type: ignore[attr-defined]
    settings.GRAPH_API_READ_TIMEOUT = 7  # type: ignore[attr-defined]
    settings.META_APP_ID = APP_ID  # type: ignore[attr-defined]
    settings.META_APP_SECRET = APP_SECRET  # type: ignore[attr-defined]
    client = GraphClient.from_settings(token="EAAx")
    assert client.graph_url == "http://127.0.0.1:1/v99.0"
    assert (client.connect_timeout, client.read_timeout) == (1.5, 7.0)
    assert client.token == "EAAx"
    assert (client.app_id, client.app_secret) == (APP_ID, APP_SECRET)
    assert APP_SECRET not in repr(client)
    assert "EAAx" not in repr(client)


def test_constructible_without_settings() -> None:
    client = GraphClient(base_url="http://x/", version="v23.0", token="t")
    assert client.url("123/phone_numbers") == "http://x/v23.0/123/phone_numbers"
    assert client.url("https://lookaside/x") == "https://lookaside/x"
    with pytest.raises(ValueError):
        GraphClient(version="23.0")


def test_typed_error_and_no_retry_for_permanent(canned: CannedServer, client: GraphClient) -> None:
    canned.add(Reply(400, err(131047, error_data={"details": "window closed"})))
    with pytest.raises(ReEngagementRequired) as info:
        client.send_text("111", "16505551234", "hi")
    assert info.value.details == "window closed"
    assert info.value.fbtrace_id == "AtraceID"
    assert len(canned.requests) == 1


def test_get_retries_transient_twice_then_succeeds(
    canned: CannedServer, client: GraphClient, caplog: pytest.LogCaptureFixture
) -> None:
    canned.add(
        Reply(500, err(2, is_transient=True)),
        Reply(503, b"<html>Service Unavailable</html>"),
        Reply(body={"id": "1", "name": "Acme"}),
    )
    with caplog.at_level(logging.INFO, logger="waba_portal.graph"):
        assert client.waba_get("1")["name"] == "Acme"
    assert len(canned.requests) == 3
    attempts = [r.graph_attempt for r in caplog.records if r.name == "waba_portal.graph"]  # type: ignore[attr-defined]
    assert attempts == [1, 2, 3]


def test_get_gives_up_after_max_attempts(canned: CannedServer, client: GraphClient) -> None:
    canned.add(*[Reply(500, err(131000)) for _ in range(5)])
    with pytest.raises(GraphTransientError):
        client.waba_get("1")
    assert len(canned.requests) == 3


def test_get_retries_rate_limit_with_header_hint(canned: CannedServer) -> None:
    slept: list[float] = []
    client = make_client(canned.url, sleep=slept.append)
    buc = {"1": [{"type": "whatsapp_business_management", "estimated_time_to_regain_access": 0}]}
    canned.add(
        Reply(429, err(80007), headers={"Retry-After": "2"}),
        Reply(400, err(130429), headers={"x-business-use-case-usage": json.dumps(buc)}),
        Reply(body={"id": "1"}),
    )
    client.waba_get("1")
    assert slept[0] >= 2.0
    assert 0 <= slept[1] <= 1.0 and slept[1] >= 1.0 - 1e-9  # 130429 default hint: 1 s
    assert len(canned.requests) == 3


def test_long_rate_limit_is_raised_not_slept(canned: CannedServer, client: GraphClient) -> None:
    buc = {"1": [{"type": "whatsapp_business_management", "estimated_time_to_regain_access": 30}]}
    canned.add(Reply(400, err(80007), headers={"x-business-use-case-usage": json.dumps(buc)}))
    with pytest.raises(GraphRateLimitError) as info:
        client.waba_get("1")
    assert info.value.retry_after == 1800.0
    assert len(canned.requests) == 1


def test_send_is_not_retried_on_5xx(canned: CannedServer, client: GraphClient) -> None:
    canned.add(Reply(500, err(131000)), Reply(body=SEND_OK))
    with pytest.raises(GraphTransientError):
        client.send_text("111", "16505551234", "hi")
    assert len(canned.requests) == 1


def test_send_dropped_connection_is_outcome_unknown(
    canned: CannedServer, client: GraphClient
) -> None:
    canned.add(Reply(drop=True), Reply(body=SEND_OK))
    with pytest.raises(GraphOutcomeUnknown) as info:
        client.send_text("111", "16505551234", "hi")
    assert info.value.timeout is False
    assert len(canned.requests) == 1


def test_send_read_timeout_is_outcome_unknown(canned: CannedServer) -> None:
    client = make_client(canned.url, read_timeout=0.3)
    canned.add(Reply(body=SEND_OK, delay=1.0), Reply(body=SEND_OK))
    with pytest.raises(GraphOutcomeUnknown) as info:
        client.send_text("111", "16505551234", "hi")
    assert info.value.timeout is True
    assert len(canned.requests) == 1


def test_get_read_timeout_and_drop_are_retried(canned: CannedServer) -> None:
    client = make_client(canned.url, read_timeout=0.3)
    canned.add(Reply(delay=1.0), Reply(drop=True), Reply(body={"id": "1"}))
    assert client.waba_get("1") == {"id": "1"}
    assert len(canned.requests) == 3


def test_get_read_timeout_exhausted_is_transient(canned: CannedServer) -> None:
    client = make_client(canned.url, read_timeout=0.2, retry_policy=RetryPolicy(max_attempts=1))
    canned.add(Reply(delay=0.6))
    with pytest.raises(GraphConnectionError) as info:
        client.waba_get("1")
    assert info.value.request_sent is True and info.value.timeout is True


def test_connection_refused_is_retried_even_for_sends(
    refused_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(refused_url)
    with (
        caplog.at_level(logging.INFO, logger="waba_portal.graph"),
        pytest.raises(GraphConnectionError) as info,
    ):
        client.send_text("111", "16505551234", "hi")
    assert info.value.request_sent is False
    assert isinstance(info.value, GraphTransientError)
    assert len([r for r in caplog.records if r.name == "waba_portal.graph"]) == 3


def test_mark_read_is_idempotent_and_retried(canned: CannedServer, client: GraphClient) -> None:
    canned.add(Reply(drop=True), Reply(body={"success": True}))
    assert client.mark_read("111", "wamid.X", typing_indicator=True) == {"success": True}
    assert canned.requests[1].json() == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.X",
        "typing_indicator": {"type": "text"},
    }


def test_success_false_and_error_in_200(canned: CannedServer, client: GraphClient) -> None:
    canned.add(Reply(body={"success": False}), Reply(200, err(190, 463)))
    with pytest.raises(GraphInvalidRequestError):
        client.subscribed_apps_subscribe("1")
    with pytest.raises(GraphAuthError):
        client.waba_get("1")


def test_pagination_follows_after_cursor(canned: CannedServer, client: GraphClient) -> None:
    def page(ids: list[int], after: str | None) -> Reply:
        paging: dict[str, object] = {"cursors": {"before": "b", "after": after or "last"}}
        if after:
            paging["next"] = f"https://graph.facebook.com/v23.0/1/phone_numbers?after={after}"
        return Reply(body={"data": [{"id": str(i)} for i in ids], "paging": paging})

    canned.add(page([1, 2], "c1"), page([3, 4], "c2"), page([5], None))
    ids = [n["id"] for n in client.phone_numbers_list("1", fields=["id"], limit=2)]
    assert ids == ["1", "2", "3", "4", "5"]
    assert [r.query.get("after") for r in canned.requests] == [None, ["c1"], ["c2"]]
    assert all(r.query["limit"] == ["2"] and r.query["fields"] == ["id"] for r in canned.requests)


def test_pagination_is_bounded(canned: CannedServer) -> None:
    client = make_client(canned.url, max_pages=3)
    for i in range(5):
        canned.add(
            Reply(
                body={
                    "data": [{"id": str(i)}],
                    "paging": {"cursors": {"after": f"c{i}"}, "next": "http://x/next"},
                }
            )
        )
    with pytest.raises(PaginationLimitExceeded):
        list(client.templates_list("1"))
    assert len(canned.requests) == 3


def test_pagination_stops_on_repeated_cursor(canned: CannedServer, client: GraphClient) -> None:
    same = {"data": [{"id": "1"}], "paging": {"cursors": {"after": "c"}, "next": "http://x/n"}}
    canned.add(Reply(body=same), Reply(body=same), Reply(body=same))
    assert len(list(client.templates_list("1"))) == 2


def test_paging_to_another_host_is_refused_without_showing_its_token(
    canned: CannedServer, client: GraphClient
) -> None:
    canned.add(
        Reply(
            body={
                "data": [{"id": "1"}],
                "paging": {"next": "https://elsewhere.example/next?access_token=EAAleak"},
            }
        )
    )
    with pytest.raises(GraphError) as refused:
        list(client.templates_list("1"))
    assert "elsewhere.example" in str(refused.value)
    assert "EAAleak" not in str(refused.value)


def test_log_line_fields_and_redaction(
    canned: CannedServer, client: GraphClient, caplog: pytest.LogCaptureFixture
) -> None:
    canned.add(
        Reply(
            body={"access_token": "EAAbusiness", "token_type": "bearer"},
            headers={"x-fb-trace-id": "TRACE1"},
        ),
        Reply(body={"success": True}),
        Reply(400, err(133005, message=f"PIN 123456 wrong for {TOKEN}")),
        Reply(body={"data": {"app_id": APP_ID, "is_valid": False}}),
    )
    with caplog.at_level(logging.DEBUG, logger="waba_portal.graph"):
        client.exchange_code("AQCodeSecret987")
        client.verify_code("222", "654321")
        with pytest.raises(Exception) as info:
            client.register("222", "123456")
        client.debug_token("EAAinputToken")
    text = caplog.text + str(info.value) + repr(info.value)
    for secret in (TOKEN, APP_SECRET, "AQCodeSecret987", "654321", "123456", "EAAinputToken"):
        assert secret not in text, secret
    records = [r for r in caplog.records if r.name == "waba_portal.graph"]
    assert len(records) == 4
    first = records[0]
    assert first.graph_method == "GET"  # type: ignore[attr-defined]
    assert first.graph_path.startswith("/v23.0/oauth/access_token?")  # type: ignore[attr-defined]
    assert f"client_id={APP_ID}" in first.getMessage()
    assert first.graph_status == 200  # type: ignore[attr-defined]
    assert first.graph_fbtrace_id == "TRACE1"  # type: ignore[attr-defined]
    assert isinstance(first.graph_duration_ms, int)  # type: ignore[attr-defined]
    assert records[2].levelno == logging.WARNING
    assert "AtraceID" in records[2].getMessage()
    # the exchange sent the secrets to Meta, just never logged them
    assert canned.requests[0].query["client_secret"] == [APP_SECRET]
    assert "Authorization" not in canned.requests[0].headers
    # debug_token without a client token would use the app token
    assert canned.requests[3].headers["Authorization"] == f"Bearer {TOKEN}"


def test_debug_token_with_app_token(canned: CannedServer) -> None:
    client = make_client(canned.url, token=None)
    canned.add(
        Reply(
            body={
                "data": {
                    "app_id": APP_ID,
                    "type": "SYSTEM_USER",
                    "is_valid": True,
                    "expires_at": 0,
                    "scopes": ["whatsapp_business_management"],
                    "granular_scopes": [
                        {"scope": "whatsapp_business_management", "target_ids": ["111", "222"]},
                        {"scope": "whatsapp_business_messaging", "target_ids": ["111"]},
                    ],
                }
            }
        )
    )
    info = client.debug_token("EAAinput")
    assert info.is_valid and info.expires_at is None
    assert info.waba_ids == ["111", "222"]
    assert canned.requests[0].headers["Authorization"] == f"Bearer {APP_ID}|{APP_SECRET}"
    assert canned.requests[0].query["input_token"] == ["EAAinput"]


def test_resumable_upload_and_profile_picture(canned: CannedServer, client: GraphClient) -> None:
    canned.add(
        Reply(body={"id": "upload:MTphdHRhY2htZW50?sig=ARZ"}),
        Reply(body={"h": "4::aGFuZGxl"}),
        Reply(body={"success": True}),
    )
    handle = client.upload_profile_picture("222", b"\xff\xd8jpegbytes", "image/jpeg")
    assert handle == "4::aGFuZGxl"
    create, upload, update = canned.requests
    assert create.path == f"/v23.0/{APP_ID}/uploads"
    assert create.query["file_length"] == ["11"] and create.query["file_type"] == ["image/jpeg"]
    assert upload.path == "/v23.0/upload:MTphdHRhY2htZW50"
    assert upload.query == {"sig": ["ARZ"]}
    assert upload.headers["Authorization"] == f"OAuth {TOKEN}"
    assert upload.headers["file_offset"] == "0"
    assert upload.body == b"\xff\xd8jpegbytes"
    assert update.json() == {"messaging_product": "whatsapp", "profile_picture_handle": handle}


def test_query_string_post_params(canned: CannedServer, client: GraphClient) -> None:
    canned.add(Reply(body={"success": True}))
    client.post("222/request_code", query_body={"code_method": "SMS", "language": "en_US"})
    seen = canned.requests[0]
    assert seen.query == {"code_method": ["SMS"], "language": ["en_US"]}
    assert seen.body == b""


def test_media_upload_download(canned: CannedServer, client: GraphClient) -> None:
    canned.add(
        Reply(body={"id": "9001"}),
        Reply(body={"url": f"{canned.url}/media/9001", "mime_type": "image/png", "id": "9001"}),
        Reply(body=b"\x89PNGdata", headers={"Content-Type": "image/png"}),
    )
    assert client.media_upload("111", b"\x89PNGdata", "image/png", filename="a.png") == "9001"
    assert b'name="messaging_product"' in canned.requests[0].body
    assert canned.requests[0].headers["Content-Type"].startswith("multipart/form-data")
    meta = client.media_get("9001", phone_number_id="111")
    assert client.media_download(meta["url"]) == b"\x89PNGdata"
    assert canned.requests[2].headers["Authorization"] == f"Bearer {TOKEN}"


def test_business_profile_flat_and_wrapped(canned: CannedServer, client: GraphClient) -> None:
    canned.add(
        Reply(body={"data": [{"about": "Hi", "messaging_product": "whatsapp"}]}),
        Reply(body={"data": [{"business_profile": {"about": "Wrapped"}, "id": "1"}]}),
    )
    assert client.business_profile_get("1")["about"] == "Hi"
    assert client.business_profile_get("1") == {"id": "1", "about": "Wrapped"}
    assert "profile_picture_url" in canned.requests[0].query["fields"][0]


def test_send_helpers_shapes(canned: CannedServer, client: GraphClient) -> None:
    canned.add(*[Reply(body=SEND_OK) for _ in range(4)])
    result = client.send_text("111", "16505551234", "hi", reply_to="wamid.R", preview_url=True)
    assert result.message_id == "wamid.ABC" and result.wa_id == "16505551234"
    assert result.message_status == "accepted"
    client.send_media("111", "1650", "document", link="https://x/y.pdf", filename="y.pdf")
    client.send_template("111", "1650", "hello_world", "en_US")
    client.send_interactive(
        "111",
        "1650",
        {"type": "button", "body": {"text": "?"}, "action": {"buttons": []}},
    )
    bodies = [r.json() for r in canned.requests]
    assert bodies[0]["text"] == {"body": "hi", "preview_url": True}
    assert bodies[0]["context"] == {"message_id": "wamid.R"}
    assert bodies[1]["document"] == {"link": "https://x/y.pdf", "filename": "y.pdf"}
    assert bodies[2]["template"] == {
        "name": "hello_world",
        "language": {"code": "en_US", "policy": "deterministic"},
    }
    assert bodies[3]["type"] == "interactive"
    assert all(b["messaging_product"] == "whatsapp" for b in bodies)
    with pytest.raises(ValueError):
        client.send_media("111", "1650", "image", media_id="1", link="https://x")
    with pytest.raises(ValueError):
        client.send_message("111", {"text": {"body": "no recipient"}})


def test_meta_field_lists_are_the_clients_defaults(
    canned: CannedServer, client: GraphClient
) -> None:
    WABA_FIELDS, PHONE_FIELDS = GraphClient.WABA_FIELDS, GraphClient.PHONE_FIELDS
    canned.add(*[Reply(body={"id": "1", "data": []}) for _ in range(4)])
    client.waba_get("1")
    client.phone_number_get("2")
    list(client.phone_numbers_list("1"))  # pages lazily
    client.waba_get("1", fields=())  # Meta's own default set: no fields parameter at all
    queries = [r.query for r in canned.requests]
    assert queries[0]["fields"] == [",".join(WABA_FIELDS)]
    assert queries[1]["fields"] == [",".join(PHONE_FIELDS)]
    assert queries[2]["fields"] == [",".join(PHONE_FIELDS)]
    assert "fields" not in queries[3]
