"""redact(): nothing secret survives into logs or exception text."""

from __future__ import annotations

from waba_portal.graph.redact import REDACTED, redact, redact_headers


def test_query_parameters() -> None:
    url = (
        "/v23.0/oauth/access_token?client_id=1&client_secret=s3cr3t&code=AQBxyz"
        "&access_token=EAAB123&input_token=EAAC456&limit=5"
    )
    out = redact(url)
    for secret in ("s3cr3t", "AQBxyz", "EAAB123", "EAAC456"):
        assert secret not in out
    assert "client_id=1" in out and "limit=5" in out
    assert out.count(REDACTED) == 4


def test_json_text_and_headers() -> None:
    text = '{"messaging_product": "whatsapp", "pin": "123456", "code":"654321", "x": "ok"}'
    out = redact(text)
    assert "123456" not in out and "654321" not in out and '"x": "ok"' in out
    assert redact("Authorization: Bearer EAAtoken.abc") == f"Authorization: Bearer {REDACTED}"
    assert "EAAtoken" not in redact("OAuth EAAtoken")
    assert redact("app token 100000000000001|abcdefghijklmnop") == (
        f"app token 100000000000001|{REDACTED}"
    )
    headers = redact_headers({"Authorization": "Bearer x", "Accept": "application/json"})
    assert headers == {"Authorization": REDACTED, "Accept": "application/json"}


def test_mappings_and_lists() -> None:
    data = {
        "pin": "123456",
        "access_token": "EAAsecret",
        "nested": [{"code": "123456"}, {"verify_token": "vt"}],
        "error": {"code": 131047, "message": "ok"},
        "name": "keep",
    }
    out = redact(data)
    assert out["pin"] == REDACTED
    assert out["access_token"] == REDACTED
    assert out["nested"] == [{"code": REDACTED}, {"verify_token": REDACTED}]
    assert out["error"] == {"code": 131047, "message": "ok"}  # error codes are not secret
    assert out["name"] == "keep"
    assert data["pin"] == "123456"  # input untouched


def test_literal_secrets() -> None:
    out = redact("token EAAsomething-long echoed back", secrets=["EAAsomething-long", "", "ab"])
    assert "EAAsomething-long" not in out
    assert redact(b"pin=1234") == f"pin={REDACTED}"
    assert redact(42) == 42
