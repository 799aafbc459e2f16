"""The one endpoint: handshake, signatures, limits, storage before anything else.

Meta's POSTs are answered in front of Django (``waba_portal.webhooks.intake``); the
Django view answers the same way for the test client and ASGI. Every POST test runs
through both entrances: ``view`` (Django's test client) and ``wsgi`` (the production
WSGI application, as gunicorn calls it).
"""

from __future__ import annotations

import pytest
from django.core import signals
from django.core.cache import cache
from django.test import Client

from tests.fixtures_webhooks import WsgiClient, post_signed
from waba_portal.graph.webhooks import sign_payload
from waba_portal.webhooks import samples
from waba_portal.webhooks.models import WebhookDelivery
from waba_portal.webhooks.selectors import signature_failures

pytestmark = pytest.mark.django_db

PAYLOAD = samples.envelope(
    ("111", [samples.change("messages", samples.inbound_text(phone_number_id="211"))])
)


@pytest.fixture(params=["view", "wsgi"])
def endpoint(request: pytest.FixtureRequest, client: Client) -> Client | WsgiClient:
    return client if request.param == "view" else WsgiClient()


def test_verification_handshake_echoes_the_challenge(endpoint: Client) -> None:
    ok = endpoint.get(
        "/webhooks/meta/",
        {
            "hub.mode": "subscribe",
            "hub.verify_token": "test-verify-token",
            "hub.challenge": "1158201444",
        },
    )
    assert ok.status_code == 200
    assert ok.content == b"1158201444"
    assert ok["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1"},
        {"hub.verify_token": "test-verify-token"},
    ],
)
def test_verification_handshake_refuses_mismatch(endpoint: Client, params: dict) -> None:
    assert endpoint.get("/webhooks/meta/", params).status_code == 403


def test_valid_delivery_is_stored_raw_and_answered_200(endpoint: Client) -> None:
    body = samples.dumps(PAYLOAD)
    response = post_signed(endpoint, body)
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert bytes(delivery.body) == body
    assert response.json() == {"stored": True, "id": delivery.pk}


def test_redelivery_of_the_same_body_is_counted_not_stored_twice(endpoint: Client) -> None:
    body = samples.dumps(PAYLOAD)
    post_signed(endpoint, body)
    again = post_signed(endpoint, body)
    assert again.status_code == 200
    assert again.json()["stored"] is False
    assert WebhookDelivery.objects.count() == 1
    assert WebhookDelivery.objects.get().duplicates == 1


def _post_raw(client: Client | WsgiClient, body: bytes, signature: str | None):  # type: ignore[no-untyped-def]
    headers = {} if signature is None else {"X-Hub-Signature-256": signature}
    return client.post("/webhooks/meta/", body, content_type="application/json", headers=headers)


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("missing", 401, "missing"),
        ("wrong_secret", 403, "mismatch"),
        ("tampered", 403, "mismatch"),
        ("wrong_prefix", 403, "bad_prefix"),
        ("non_hex", 403, "malformed"),
        ("short", 403, "malformed"),
    ],
)
def test_bad_signatures_are_refused_counted_and_not_stored(
    endpoint: Client, case: str, status: int, reason: str
) -> None:
    cache.clear()
    body = samples.dumps(PAYLOAD)
    good = sign_payload(body, "test-app-secret")
    signature, sent = {
        "missing": (None, body),
        "wrong_secret": (sign_payload(body, "another-secret"), body),
        "tampered": (good, body.replace(b"Hello", b"Hallo")),
        "wrong_prefix": ("sha1=" + good[7:], body),
        "non_hex": ("sha256=" + "z" * 64, body),
        "short": ("sha256=abcd", body),
    }[case]
    response = _post_raw(endpoint, sent, signature)
    assert response.status_code == status
    assert response.json()["error"]["code"] == f"signature_{reason}"
    assert WebhookDelivery.objects.count() == 0
    assert signature_failures()[reason] == 1


def test_oversize_body_is_refused_with_413(endpoint: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_MAX_BODY_BYTES = 1024
    body = samples.dumps(
        samples.envelope(
            (
                "111",
                [
                    samples.change(
                        "messages", samples.inbound_text(phone_number_id="1", text="x" * 2000)
                    )
                ],
            )
        )
    )
    response = post_signed(endpoint, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_malformed_json_with_a_valid_signature_is_400(endpoint: Client, body: bytes) -> None:
    response = post_signed(endpoint, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert WebhookDelivery.objects.count() == 0


def test_other_methods_are_refused(endpoint: Client) -> None:
    assert endpoint.put("/webhooks/meta/", b"{}").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_a_dead_database_connection_is_replaced_and_nothing_is_lost(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """The intake skips the per-request health check, so it must survive a stale link."""
    from django.db import OperationalError, connection

    from waba_portal.webhooks.services import delivery_store

    connection.ensure_connection()
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    delivery_id, created = delivery_store(body=samples.dumps(PAYLOAD))
    assert created and WebhookDelivery.objects.filter(pk=delivery_id).exists()
    assert "connection was stale" in caplog.text


# --- The entrance in front of Django ------------------------------------------------------


def test_the_wsgi_entrance_answers_without_django_and_sends_request_signals() -> None:
    """POSTs skip the middleware chain (no session cookie, no Vary: Cookie) yet keep
    the request signals that recycle database connections."""
    seen: list[str] = []

    def started(**kwargs: object) -> None:
        seen.append("started")

    def finished(**kwargs: object) -> None:
        seen.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        response = post_signed(WsgiClient(), samples.dumps(PAYLOAD))
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert response.status_code == 200
    assert seen == ["started", "finished"]
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Vary" not in response.headers and "Set-Cookie" not in response.headers
    assert WebhookDelivery.objects.count() == 1


def test_requests_django_would_redirect_or_refuse_are_left_to_django(settings) -> None:  # type: ignore[no-untyped-def]
    body = samples.dumps(PAYLOAD)
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    plain = post_signed(WsgiClient(fresh=True), body)
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/webhooks/meta/"
    assert WebhookDelivery.objects.count() == 0

    # The proxy's header decides, as in Django: plain HTTP to the proxy is not secure.
    proxied_plain = WsgiClient(scheme="https", fresh=True)
    assert post_signed(proxied_plain, body, **{"X-Forwarded-Proto": "http"}).status_code == 301
    assert WebhookDelivery.objects.count() == 0

    behind_proxy = post_signed(WsgiClient(fresh=True), body, **{"X-Forwarded-Proto": "https"})
    assert behind_proxy.status_code == 200
    assert WebhookDelivery.objects.count() == 1

    settings.SECURE_SSL_REDIRECT = False
    unknown_host = post_signed(WsgiClient(host="evil.example"), samples.dumps(PAYLOAD | {"x": 1}))
    assert unknown_host.status_code == 400  # Django's DisallowedHost
    assert WebhookDelivery.objects.count() == 1


def test_a_body_shorter_than_its_content_length_is_not_waited_for() -> None:
    """On servers that do not end the input stream, reads stop at Content-Length."""
    import io

    from waba_portal.webhooks.intake import _reader

    stream = io.BytesIO(b'{"a": 1}EXTRA BYTES OF THE NEXT REQUEST')
    read = _reader({"wsgi.input": stream, "CONTENT_LENGTH": "8"})
    assert read(1_000_000) == b'{"a": 1}'
    assert read(10) == b""
    assert _reader({"wsgi.input": io.BytesIO(b"x"), "CONTENT_LENGTH": ""})(10) == b""


@pytest.mark.django_db(transaction=True)
def test_a_database_failure_answers_500_and_stores_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Meta retries anything but a 200: the answer must not claim the delivery was kept."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")
    try:
        response = post_signed(WsgiClient(), samples.dumps(PAYLOAD))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET default_transaction_read_only = off")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "webhook intake failed" in caplog.text
    assert "read-only" in caplog.text
    assert WebhookDelivery.objects.count() == 0


# --- Faults and headers -------------------------------------------------------------------


@pytest.mark.parametrize(("signature", "status"), [(None, 401), ("sha256=" + "0" * 64, 403)])
def test_a_refused_signature_is_answered_the_same_with_the_counters_unreachable(
    endpoint: Client,
    settings,
    caplog: pytest.LogCaptureFixture,
    signature: str | None,
    status: int,  # type: ignore[no-untyped-def]
) -> None:
    """The refusal counters live in Redis; counting must never change the answer."""
    from waba_portal.webhooks.services import signature_failure_count

    signature_failure_count(reason="missing")  # counted: no outage going on
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    body = samples.dumps(PAYLOAD)
    answers = [_post_raw(endpoint, body, signature) for _ in range(3)]
    assert [a.status_code for a in answers] == [status] * 3
    assert answers[0].json()["error"]["code"].startswith("signature_")
    assert WebhookDelivery.objects.count() == 0
    said = [r for r in caplog.records if "could not count a refused" in r.getMessage()]
    assert len(said) == 1  # once per outage, not once per POST


# What a Django page's answer carries that is about the answer, not the browser's policy
# (and that the intake's JSON answer has its own value of, or none).
NOT_POLICY_HEADERS = {"content-type", "content-length", "vary", "content-language", "set-cookie"}


@pytest.mark.parametrize("secure", [False, True], ids=["http", "https with HSTS"])
def test_the_intake_answers_with_the_security_headers_of_every_django_answer(
    settings,
    secure: bool,  # type: ignore[no-untyped-def]
) -> None:
    """Answered in front of Django, the webhook POST still carries what Django's
    security middleware gives every page: compared with a Django view's answer."""
    if secure:
        settings.SECURE_HSTS_SECONDS = 3600
        settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
        settings.SECURE_HSTS_PRELOAD = False
    client = WsgiClient(scheme="https" if secure else "http", fresh=True)
    webhook = post_signed(client, samples.dumps(PAYLOAD))
    page = client.get("/healthz")
    assert webhook.status_code == page.status_code == 200

    def policy(headers: dict[str, str]) -> dict[str, str]:
        return {k.lower(): v for k, v in headers.items() if k.lower() not in NOT_POLICY_HEADERS}

    assert policy(webhook.headers) == policy(page.headers)  # a new header middleware too
    got = policy(webhook.headers)
    assert got["x-content-type-options"] == "nosniff"
    assert got["x-frame-options"] == "DENY"
    assert got["referrer-policy"] == settings.SECURE_REFERRER_POLICY
    assert got["cross-origin-opener-policy"] == settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
    if secure:
        assert got["strict-transport-security"] == "max-age=3600; includeSubDomains"
    else:
        assert "strict-transport-security" not in got


def test_a_database_outage_answers_500_and_says_so_once_not_per_post(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL down: every POST is answered 500 (Meta delivers it again); the log gets
    one line when it starts and one when it ends, not a traceback per POST."""
    from django.db import OperationalError

    from waba_portal.webhooks.services import storage

    real_insert = storage._insert_delivery

    def unreachable(body: bytes, digest: str) -> None:
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')

    client = WsgiClient()
    assert post_signed(client, samples.dumps(PAYLOAD)).status_code == 200
    monkeypatch.setattr(storage, "_insert_delivery", unreachable)
    bodies = [samples.dumps(PAYLOAD | {"n": n}) for n in range(4)]
    assert [post_signed(client, b).status_code for b in bodies] == [500] * 4
    monkeypatch.setattr(storage, "_insert_delivery", real_insert)
    assert post_signed(client, bodies[0]).status_code == 200  # Meta's redelivery
    said = [r.getMessage() for r in caplog.records if r.name == "waba_portal.webhooks.intake"]
    assert len(said) == 2
    assert "the database is unreachable" in said[0] and "reachable again" in said[1]
    assert WebhookDelivery.objects.count() == 2
