"""Event webhooks for integrators: the outbox, Standard Webhooks signatures checked by the
``standardwebhooks`` package, bounded retries in the log, switching off, SSRF refusals."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import AuditEvent, Notification
from accounts.tenancy import tenant_scope
from tests.api.support import error_of, key_client, post_json, receiving_endpoint
from tests.factories import World, api_key_for
from waba_portal import events
from waba_portal.events.models import (
    DeliveryStatus,
    Event,
    EventDelivery,
    EventDeliveryAttempt,
    EventSubscription,
)
from waba_portal.events.services import delivery as delivery_services
from waba_portal.events.services import subscriptions
from waba_portal.events.tasks import deliveries_sweep_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_targets(settings: Any) -> None:
    settings.EVENT_WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.EVENT_WEBHOOK_REQUIRE_HTTPS = False


def subscribe(world: World, url: str, events_: list[str] | None = None) -> tuple[Any, str]:
    with tenant_scope(world.tenant):
        return subscriptions.subscription_create(
            actor=world.owner, url=url, events=events_ or ["number.status_changed"]
        )


def emit(world: World, django_capture_on_commit_callbacks: Any, **data: Any) -> Any:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        return events.emit(world.tenant, "number.status_changed", data or {"phone_number": 7})


def verified(secret: str, received: Any) -> Any:
    return Webhook(secret).verify(received.body, received.headers)


def the_delivery(world: World) -> EventDelivery:
    with tenant_scope(world.tenant):
        return EventDelivery.objects.select_related("subscription").get()


def sweep_after(seconds: float) -> None:
    """Let ``seconds`` pass, then run the beat task that sends what is due."""
    with time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False):
        deliveries_sweep_task.delay().get()


# --- Delivered, signed, verified ---------------------------------------------------------


@pytest.mark.usefixtures("local_targets")
def test_an_event_arrives_signed_and_standardwebhooks_verifies_it(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with receiving_endpoint() as endpoint:
        _subscription, secret = subscribe(world, endpoint.url)
        at = timezone.now()
        event = emit(
            world,
            django_capture_on_commit_callbacks,
            phone_number={"id": 7, "phone_number_id": "106540352242922"},
            old_status="pending",
            new_status="connected",
            at=at,
        )
        (received,) = endpoint.received
    payload = verified(secret, received)
    assert payload == {
        "id": event.public_id,
        "type": "number.status_changed",
        "timestamp": event.created_at.isoformat(),
        "data": {
            "phone_number": {"id": 7, "phone_number_id": "106540352242922"},
            "old_status": "pending",
            "new_status": "connected",
            "at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
    }
    assert received.headers["webhook-id"] == event.public_id
    assert received.headers["content-type"] == "application/json"
    assert abs(int(received.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(received.body, received.headers)
    delivery = the_delivery(world)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.next_attempt_at is None
    with tenant_scope(world.tenant):
        (attempt,) = EventDeliveryAttempt.objects.all()
    assert attempt.succeeded and attempt.response_body == '{"ok": true}'


@pytest.mark.usefixtures("local_targets")
def test_only_subscriptions_that_asked_and_are_on_get_the_event(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with receiving_endpoint() as endpoint:
        subscribe(world, endpoint.url, ["message.received"])
        off, _secret = subscribe(world, endpoint.url)
        with tenant_scope(world.tenant):
            subscriptions.subscription_update(actor=world.owner, subscription=off, enabled=False)
        assert emit(world, django_capture_on_commit_callbacks) is None
        assert endpoint.received == []
    with tenant_scope(world.tenant):
        assert not Event.objects.exists()
    with pytest.raises(ValueError, match="unknown event type"):
        events.emit(world.tenant, "number.exploded", {})


@pytest.mark.usefixtures("local_targets")
def test_the_event_is_written_with_the_callers_rows_or_not_at_all(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with receiving_endpoint() as endpoint:
        subscribe(world, endpoint.url)
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            events.emit(world.tenant, "number.status_changed", {"phone_number": 1})
            raise RuntimeError("the caller's change failed")
        assert endpoint.received == []
    with tenant_scope(world.tenant):
        assert not Event.objects.exists() and not EventDelivery.objects.exists()


# --- Retries -----------------------------------------------------------------------------


@pytest.mark.usefixtures("local_targets")
def test_failures_retry_with_backoff_until_a_2xx(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with receiving_endpoint(500, 500) as endpoint:
        _subscription, secret = subscribe(world, endpoint.url)
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            emit(world, django_capture_on_commit_callbacks)
        delivery = the_delivery(world)
        assert delivery.status == DeliveryStatus.RETRYING
        assert delivery.last_error == "The endpoint answered 500."
        assert delivery.next_attempt_at == start + timedelta(seconds=5)
        sweep_after(4)  # not due yet
        assert len(endpoint.received) == 1
        with time_machine.travel(start + timedelta(seconds=5), tick=False):
            deliveries_sweep_task.delay().get()
        assert the_delivery(world).next_attempt_at == start + timedelta(seconds=5 + 25)
        with time_machine.travel(start + timedelta(seconds=30), tick=False):
            deliveries_sweep_task.delay().get()
            for received in endpoint.received:
                verified(secret, received)
        assert {r.headers["webhook-id"] for r in endpoint.received} == {
            the_delivery(world).event.public_id
        }
    delivery = the_delivery(world)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 3)
    with tenant_scope(world.tenant):
        log = list(EventDeliveryAttempt.objects.order_by("number"))
    assert [(a.number, a.status_code, a.succeeded) for a in log] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]


@pytest.mark.usefixtures("local_targets")
def test_retries_are_bounded_and_a_failing_subscription_is_switched_off(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with receiving_endpoint() as endpoint:
        endpoint.default_status = 503
        endpoint.answer = b"down for maintenance"
        subscription, _secret = subscribe(world, endpoint.url)
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            emit(world, django_capture_on_commit_callbacks)
        waits = []  # between one try and the next
        for _ in range(20):
            delivery = the_delivery(world)
            if delivery.next_attempt_at is None:
                break
            waits.append((delivery.next_attempt_at - start).total_seconds())
            start = delivery.next_attempt_at
            with time_machine.travel(start, tick=False):
                deliveries_sweep_task.delay().get()
        assert len(endpoint.received) == 9  # the first try and 8 retries
    assert waits == [5.0, 25.0, 125.0, 625.0, 3125.0, 15625.0, 36000.0, 36000.0]
    assert sum(waits) / 3600 == pytest.approx(25.4, abs=0.1)  # about a day
    delivery = the_delivery(world)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 9)
    with tenant_scope(world.tenant):
        assert EventDeliveryAttempt.objects.count() == 9
        assert (
            EventDeliveryAttempt.objects.filter(response_body="down for maintenance").count() == 9
        )
        subscription.refresh_from_db()
        assert subscription.enabled is False
        assert subscription.disabled_reason == "The endpoint answered 503."
        assert AuditEvent.objects.filter(action="event_subscription.disabled").count() == 1
        told = Notification.objects.filter(kind="events.subscription_disabled")
        assert {n.user for n in told} == {world.owner.user, world.admin.user}
        assert told.first().url.endswith(f"/settings/event-webhooks/{subscription.pk}/")  # type: ignore[union-attr]


@pytest.mark.usefixtures("local_targets")
def test_the_receivers_retry_after_is_honoured(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with receiving_endpoint(429) as endpoint:
        endpoint.extra_headers = {"Retry-After": "120"}
        subscribe(world, endpoint.url)
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            emit(world, django_capture_on_commit_callbacks)
    assert the_delivery(world).next_attempt_at == start + timedelta(seconds=120)


@pytest.mark.usefixtures("local_targets")
def test_a_slow_endpoint_times_out_and_is_retried(
    world: World, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EVENT_DELIVERY_TIMEOUT_SECONDS = 0.3
    with receiving_endpoint() as endpoint:
        endpoint.delay_seconds = 1.0
        subscribe(world, endpoint.url)
        emit(world, django_capture_on_commit_callbacks)
    delivery = the_delivery(world)
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.last_error == "No answer within 0.3 seconds."
    assert delivery.last_status_code is None


@pytest.mark.usefixtures("local_targets")
def test_a_redirect_is_not_followed(world: World, django_capture_on_commit_callbacks: Any) -> None:
    with receiving_endpoint(302) as endpoint:
        endpoint.extra_headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
        subscribe(world, endpoint.url)
        emit(world, django_capture_on_commit_callbacks)
        assert len(endpoint.received) == 1
    assert the_delivery(world).last_error == "The endpoint answered 302."


# --- The API: test event, redelivery, rotation --------------------------------------------


@pytest.mark.usefixtures("local_targets")
def test_send_a_test_event_and_redeliver_through_the_api(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    _key, key = api_key_for(world.tenant, scopes={"events": "write"})
    client = key_client(key)
    with receiving_endpoint() as endpoint:
        with django_capture_on_commit_callbacks(execute=True):
            created = post_json(
                client,
                "/api/v1/t/acme/event-subscriptions/",
                {"url": endpoint.url, "events": ["message.received"], "description": "CRM"},
            )
        assert created.status_code == 201, created.content
        secret = created.json()["secret"]
        sub = created.json()["id"]
        assert "secret" not in client.get(f"/api/v1/t/acme/event-subscriptions/{sub}/").json()
        with django_capture_on_commit_callbacks(execute=True):
            tested = post_json(client, f"/api/v1/t/acme/event-subscriptions/{sub}/test/")
        assert tested.status_code == 202 and tested.json()["event"]["type"] == "webhook.test"
        payload = verified(secret, endpoint.received[0])
        assert payload["type"] == "webhook.test" and payload["data"]["subscription"] == sub
        first = tested.json()["id"]
        detail = client.get(f"/api/v1/t/acme/event-subscriptions/{sub}/deliveries/{first}/").json()
        assert detail["status"] == "succeeded"
        assert [a["status_code"] for a in detail["attempt_log"]] == [200]
        with django_capture_on_commit_callbacks(execute=True):
            again = post_json(
                client, f"/api/v1/t/acme/event-subscriptions/{sub}/deliveries/{first}/redeliver/"
            )
        assert again.status_code == 202 and again.json()["id"] != first
        assert len(endpoint.received) == 2
        assert (
            endpoint.received[1].headers["webhook-id"] == endpoint.received[0].headers["webhook-id"]
        )
    log = client.get(f"/api/v1/t/acme/event-subscriptions/{sub}/deliveries/").json()
    assert [d["status"] for d in log["results"]] == ["succeeded", "succeeded"]


@pytest.mark.usefixtures("local_targets")
def test_an_open_delivery_is_not_redelivered(world: World) -> None:
    _key, key = api_key_for(world.tenant, scopes={"events": "write"})
    subscription, _secret = subscribe(world, "http://127.0.0.1:9/")
    with tenant_scope(world.tenant):
        event = Event.objects.create(type="number.status_changed", data={})
        open_one = EventDelivery.objects.create(
            event=event, subscription=subscription, status=DeliveryStatus.RETRYING
        )
    refused = post_json(
        key_client(key),
        f"/api/v1/t/acme/event-subscriptions/{subscription.pk}/deliveries/{open_one.pk}/redeliver/",
    )
    assert refused.status_code == 409 and error_of(refused)["code"] == "conflict"


@pytest.mark.usefixtures("local_targets")
def test_after_a_rotation_both_secrets_verify_for_a_day(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    _key, key = api_key_for(world.tenant, scopes={"events": "write"})
    client = key_client(key)
    with receiving_endpoint() as endpoint:
        subscription, old = subscribe(world, endpoint.url)
        rotated = post_json(
            client, f"/api/v1/t/acme/event-subscriptions/{subscription.pk}/rotate-secret/"
        )
        assert rotated.status_code == 200
        new = rotated.json()["secret"]
        assert new != old and new.startswith("whsec_")
        emit(world, django_capture_on_commit_callbacks)
        received = endpoint.received[0]
        assert len(received.headers["webhook-signature"].split(" ")) == 2
        verified(new, received)
        verified(old, received)
        with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
            emit(world, django_capture_on_commit_callbacks)
            later = endpoint.received[1]
            verified(new, later)
            with pytest.raises(WebhookVerificationError):
                verified(old, later)
    with tenant_scope(world.tenant):
        assert AuditEvent.objects.filter(action="event_subscription.secret_rotated").count() == 1


# --- Where deliveries may go --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://[::1]/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://0.0.0.0/hooks",
        "https://100.64.0.1/hooks",
    ],
)
def test_private_and_loopback_targets_are_refused_at_save(world: World, url: str) -> None:
    _key, key = api_key_for(world.tenant, scopes={"events": "write"})
    refused = post_json(
        key_client(key),
        "/api/v1/t/acme/event-subscriptions/",
        {"url": url, "events": ["message.received"]},
    )
    assert refused.status_code == 400, refused.content
    message = error_of(refused)["details"]["fields"]["url"][0]
    assert "internal address" in message
    with tenant_scope(world.tenant):
        assert not EventSubscription.objects.exists()


def test_plain_http_and_odd_addresses_are_refused_in_production(world: World) -> None:
    with tenant_scope(world.tenant):
        for url, words in [
            ("http://93.184.215.14/hooks", "https://"),
            ("ftp://93.184.215.14/hooks", "full web address"),
            ("https://user:pw@93.184.215.14/hooks", "user name and password"),
            ("hooks", "full web address"),
        ]:
            with pytest.raises(subscriptions.Invalid) as refused:
                subscriptions.subscription_create(
                    actor=world.owner, url=url, events=["message.received"]
                )
            assert words in refused.value.message, url
        subscription, secret = subscriptions.subscription_create(
            actor=world.owner, url="https://93.184.215.14/hooks", events=["message.received"]
        )
    assert subscription.pk and secret.startswith("whsec_")


def test_a_target_that_turned_private_is_refused_at_send(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EVENT_WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.EVENT_WEBHOOK_REQUIRE_HTTPS = False
    with receiving_endpoint() as endpoint:
        subscribe(world, endpoint.url)
        settings.EVENT_WEBHOOK_ALLOW_PRIVATE_URLS = False  # as in production
        emit(world, django_capture_on_commit_callbacks)
        assert endpoint.received == []
    delivery = the_delivery(world)
    assert delivery.status == DeliveryStatus.RETRYING
    assert "internal address (127.0.0.1)" in delivery.last_error


def test_the_delivery_body_is_the_events_json(world: World) -> None:
    with tenant_scope(world.tenant):
        event = Event.objects.create(type="message.received", data={"text": "Grüße"})
    body = json.loads(delivery_services.event_body(event))
    assert body == {
        "id": event.public_id,
        "type": "message.received",
        "timestamp": event.created_at.isoformat(),
        "data": {"text": "Grüße"},
    }
