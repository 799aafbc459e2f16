"""Idempotency-Key on POSTs that create or send (Stripe's semantics), per workspace and
credential, kept 24 hours in PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from accounts.models import IdempotencyKey
from accounts.services import idempotency
from accounts.tasks import idempotency_keys_expire
from accounts.tenancy import tenant_scope, unscoped
from tests.api.support import error_of, key_client, post_json, session_client
from tests.factories import World, api_key_for
from waba_portal.events.models import EventSubscription
from waba_portal.events.services import subscriptions

LIST = "/api/v1/t/acme/event-subscriptions/"
BODY = {"url": "http://127.0.0.1:9/hooks", "events": ["message.received"]}


@pytest.fixture(autouse=True)
def local_targets(settings: Any) -> None:
    settings.EVENT_WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.EVENT_WEBHOOK_REQUIRE_HTTPS = False


def subscription_count(world: World) -> int:
    with tenant_scope(world.tenant):
        return EventSubscription.objects.count()


@pytest.mark.django_db
def test_the_same_key_and_body_answer_the_first_response_again(world: World) -> None:
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    first = post_json(client, LIST, BODY, HTTP_IDEMPOTENCY_KEY="create-1")
    assert first.status_code == 201, first.content
    assert not first.has_header("Idempotent-Replayed")
    # The same body with other spacing and key order is the same request.
    again = client.post(
        LIST,
        json.dumps({"events": ["message.received"], "url": BODY["url"]}, indent=2),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="create-1",
    )
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert subscription_count(world) == 1
    # The secret is shown by the replay too, but kept encrypted in the table.
    assert again.json()["secret"].startswith("whsec_")
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM accounts_idempotencykey")
        (stored,) = cursor.fetchone()
    assert first.json()["secret"] not in stored and "whsec_" not in stored


@pytest.mark.django_db
def test_the_same_key_with_another_body_answers_422(world: World) -> None:
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    assert post_json(client, LIST, BODY, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    other = post_json(client, LIST, {**BODY, "description": "other"}, HTTP_IDEMPOTENCY_KEY="k")
    assert other.status_code == 422
    assert error_of(other)["code"] == "idempotency_key_reused"
    # Another endpoint with the same key is another request too.
    with tenant_scope(world.tenant):
        subscription = EventSubscription.objects.get()
    elsewhere = post_json(client, f"{LIST}{subscription.pk}/test/", BODY, HTTP_IDEMPOTENCY_KEY="k")
    assert elsewhere.status_code == 422
    assert subscription_count(world) == 1


@pytest.mark.django_db
def test_a_key_longer_than_255_characters_or_empty_is_refused(world: World) -> None:
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    too_long = post_json(client, LIST, BODY, HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert too_long.status_code == 400
    error = error_of(too_long)
    assert error["code"] == "idempotency_key_invalid" and "255" in error["message"]
    assert error_of(post_json(client, LIST, BODY, HTTP_IDEMPOTENCY_KEY=" "))["code"] == (
        "idempotency_key_invalid"
    )
    assert subscription_count(world) == 0
    assert post_json(client, LIST, BODY, HTTP_IDEMPOTENCY_KEY="y" * 255).status_code == 201


@pytest.mark.django_db
def test_keys_are_per_credential_and_per_workspace(world: World) -> None:
    _a, first = api_key_for(world.tenant, name="A")
    _b, second = api_key_for(world.tenant, name="B")
    assert post_json(key_client(first), LIST, BODY, HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    other_key = post_json(key_client(second), LIST, BODY, HTTP_IDEMPOTENCY_KEY="same")
    assert other_key.status_code == 201 and not other_key.has_header("Idempotent-Replayed")
    session = post_json(session_client(world.owner), LIST, BODY, HTTP_IDEMPOTENCY_KEY="same")
    assert session.status_code == 201 and not session.has_header("Idempotent-Replayed")
    assert subscription_count(world) == 3
    _g, theirs = api_key_for(world.other_tenant)
    globex = post_json(
        key_client(theirs),
        "/api/v1/t/globex/event-subscriptions/",
        BODY,
        HTTP_IDEMPOTENCY_KEY="same",
    )
    assert globex.status_code == 201 and not globex.has_header("Idempotent-Replayed")


@pytest.mark.django_db
def test_a_refusal_is_kept_and_answered_again(world: World) -> None:
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    bad = {"url": "ftp://example.test/", "events": ["message.received"]}
    first = post_json(client, LIST, bad, HTTP_IDEMPOTENCY_KEY="bad-1")
    assert first.status_code == 400 and error_of(first)["details"]["fields"]["url"]
    again = post_json(client, LIST, bad, HTTP_IDEMPOTENCY_KEY="bad-1")
    assert again.status_code == 400 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


@pytest.mark.django_db
def test_a_server_error_is_not_kept_so_a_retry_runs_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _key, secret = api_key_for(world.tenant)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", raise_request_exception=False)
    real = subscriptions.subscription_create

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(subscriptions, "subscription_create", broken)
    assert post_json(client, LIST, BODY, HTTP_IDEMPOTENCY_KEY="retry-me").status_code == 500
    with unscoped():
        assert not IdempotencyKey.objects.exists()
    monkeypatch.setattr(subscriptions, "subscription_create", real)
    assert post_json(client, LIST, BODY, HTTP_IDEMPOTENCY_KEY="retry-me").status_code == 201


@pytest.mark.django_db
def test_a_kept_answer_lasts_24_hours_and_is_then_deleted(world: World) -> None:
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    assert post_json(client, LIST, BODY, HTTP_IDEMPOTENCY_KEY="day").status_code == 201
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        assert post_json(client, LIST, BODY, HTTP_IDEMPOTENCY_KEY="day")["Idempotent-Replayed"]
        assert idempotency_keys_expire.delay().get() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        assert idempotency_keys_expire.delay().get() == 1
        with unscoped():
            assert not IdempotencyKey.objects.exists()
        fresh = post_json(client, LIST, {**BODY, "description": "new"}, HTTP_IDEMPOTENCY_KEY="day")
        assert fresh.status_code == 201 and not fresh.has_header("Idempotent-Replayed")
    assert subscription_count(world) == 2


@pytest.mark.django_db
def test_an_expired_key_not_yet_cleaned_up_runs_anew(world: World) -> None:
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    assert post_json(client, LIST, BODY, HTTP_IDEMPOTENCY_KEY="stale").status_code == 201
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        other = post_json(client, LIST, {**BODY, "description": "x"}, HTTP_IDEMPOTENCY_KEY="stale")
    assert other.status_code == 201 and not other.has_header("Idempotent-Replayed")


@pytest.mark.django_db(transaction=True)
def test_a_second_request_while_the_first_runs_answers_409(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _key, secret = api_key_for(world.tenant)
    real = subscriptions.subscription_create
    entered, release = threading.Event(), threading.Event()

    def slow(**kwargs: Any) -> Any:
        entered.set()
        assert release.wait(20), "the test never let the first request finish"
        return real(**kwargs)

    monkeypatch.setattr(subscriptions, "subscription_create", slow)
    answers: dict[str, Any] = {}

    def first_request() -> None:
        try:
            answers["first"] = post_json(
                key_client(secret), LIST, BODY, HTTP_IDEMPOTENCY_KEY="race"
            )
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert entered.wait(20), "the first request did not start"
        second = post_json(key_client(secret), LIST, BODY, HTTP_IDEMPOTENCY_KEY="race")
        assert second.status_code == 409, second.content
        assert error_of(second)["code"] == "idempotency_key_in_use"
    finally:
        release.set()
        thread.join(30)
    assert answers["first"].status_code == 201
    third = post_json(key_client(secret), LIST, BODY, HTTP_IDEMPOTENCY_KEY="race")
    assert third.status_code == 201 and third["Idempotent-Replayed"] == "true"
    assert third.json()["id"] == answers["first"].json()["id"]
    assert subscription_count(world) == 1


@pytest.mark.django_db
def test_a_request_that_died_holding_a_key_lets_it_go_after_the_lock(world: World) -> None:
    with tenant_scope(world.tenant):
        held = idempotency.idempotency_begin(
            credential="user:1", key="dead", method="POST", path="/x/", fingerprint="f"
        )
        assert isinstance(held, IdempotencyKey)
        with pytest.raises(idempotency.IdempotencyKeyInUse):
            idempotency.idempotency_begin(
                credential="user:1", key="dead", method="POST", path="/x/", fingerprint="f"
            )
        with time_machine.travel(timezone.now() + timedelta(minutes=6)):
            again = idempotency.idempotency_begin(
                credential="user:1", key="dead", method="POST", path="/x/", fingerprint="f"
            )
        assert isinstance(again, IdempotencyKey) and again.pk == held.pk


@pytest.mark.django_db
def test_starting_an_onboarding_takes_an_idempotency_key(world: World) -> None:
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    first = post_json(client, "/api/v1/t/acme/onboardings/", {}, HTTP_IDEMPOTENCY_KEY="onb-1")
    assert first.status_code == 400
    again = post_json(client, "/api/v1/t/acme/onboardings/", {}, HTTP_IDEMPOTENCY_KEY="onb-1")
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    other = post_json(
        client, "/api/v1/t/acme/onboardings/", {"code": "x"}, HTTP_IDEMPOTENCY_KEY="onb-1"
    )
    assert other.status_code == 422
