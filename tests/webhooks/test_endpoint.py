"""The one endpoint: handshake, signatures, limits, storage before anything else."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests.webhooks.conftest import post_signed
from waba_portal.graph.webhooks import sign_payload
from waba_portal.webhooks import samples
from waba_portal.webhooks.models import WebhookDelivery
from waba_portal.webhooks.selectors import signature_failures

pytestmark = pytest.mark.django_db

PAYLOAD = samples.envelope(
    ("111", [samples.change("messages", samples.inbound_text(phone_number_id="211"))])
)


def test_verification_handshake_echoes_the_challenge(client: Client) -> None:
    ok = client.get(
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
def test_verification_handshake_refuses_mismatch(client: Client, params: dict) -> None:
    assert client.get("/webhooks/meta/", params).status_code == 403


def test_valid_delivery_is_stored_raw_and_answered_200(client: Client) -> None:
    body = samples.dumps(PAYLOAD)
    response = post_signed(client, body)
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert bytes(delivery.body) == body
    assert response.json() == {"stored": True, "id": delivery.pk}


def test_redelivery_of_the_same_body_is_counted_not_stored_twice(client: Client) -> None:
    body = samples.dumps(PAYLOAD)
    post_signed(client, body)
    again = post_signed(client, body)
    assert again.status_code == 200
    assert again.json()["stored"] is False
    assert WebhookDelivery.objects.count() == 1
    assert WebhookDelivery.objects.get().duplicates == 1


def _post_raw(client: Client, body: bytes, signature: str | None):  # type: ignore[no-untyped-def]
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
    client: Client, case: str, status: int, reason: str
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
    response = _post_raw(client, sent, signature)
    assert response.status_code == status
    assert response.json()["error"]["code"] == f"signature_{reason}"
    assert WebhookDelivery.objects.count() == 0
    assert signature_failures()[reason] == 1


def test_oversize_body_is_refused_with_413(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
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
    response = post_signed(client, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_malformed_json_with_a_valid_signature_is_400(client: Client, body: bytes) -> None:
    response = post_signed(client, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert WebhookDelivery.objects.count() == 0


def test_other_methods_are_refused(client: Client) -> None:
    assert client.put("/webhooks/meta/", b"{}").status_code == 405


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
