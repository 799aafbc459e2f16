"""Settings → Event webhooks: managers subscribe (the secret shown once), test, redeliver,
rotate and delete in place; agents and other workspaces are refused."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AuditEvent
from accounts.tenancy import tenant_scope
from tests.api.support import receiving_endpoint, session_client
from tests.factories import World, event_delivery_for, event_subscription_for
from waba_portal.events.models import EventDelivery, EventSubscription

pytestmark = pytest.mark.django_db

PAGE = "/t/acme/settings/event-webhooks/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def local_targets(settings: Any) -> None:
    settings.EVENT_WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.EVENT_WEBHOOK_REQUIRE_HTTPS = False


def test_subscribing_shows_the_secret_once(world: World) -> None:
    owner = session_client(world.admin)
    response = owner.post(
        PAGE,
        {
            "url": "http://127.0.0.1:9/hooks",
            "events": ["message.received", "message.status"],
            "description": "CRM",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    with tenant_scope(world.tenant):
        subscription = EventSubscription.objects.get()
    assert response["Location"] == f"{PAGE}{subscription.pk}/"
    detail = owner.get(response["Location"]).content.decode()
    assert str(subscription.secret) in detail and "shown this once" in detail
    again = owner.get(response["Location"]).content.decode()
    assert str(subscription.secret) not in again
    listing = owner.get(PAGE).content.decode()
    assert "http://127.0.0.1:9/hooks" in listing and str(subscription.secret) not in listing
    assert subscription.events == ["message.received", "message.status"]
    with tenant_scope(world.tenant):
        assert AuditEvent.objects.filter(action="event_subscription.created").count() == 1


def test_a_bad_address_or_no_event_is_said_beside_its_field(world: World, settings: Any) -> None:
    settings.EVENT_WEBHOOK_ALLOW_PRIVATE_URLS = False
    owner = session_client(world.owner)
    refused = owner.post(PAGE, {"url": "https://10.0.0.8/hooks", "events": ["message.received"]})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'aria-invalid="true"' in html and "internal address" in html
    none = owner.post(PAGE, {"url": "https://93.184.215.14/hooks"})
    assert none.status_code == 400 and "Choose at least one event" in none.content.decode()
    with tenant_scope(world.tenant):
        assert not EventSubscription.objects.exists()


def test_send_a_test_event_and_redeliver_in_place(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    owner = session_client(world.owner)
    with receiving_endpoint() as endpoint:
        subscription = event_subscription_for(world.tenant, url=endpoint.url)
        base = f"{PAGE}{subscription.pk}/"
        with django_capture_on_commit_callbacks(execute=True):
            fragment = owner.post(f"{base}test/", **HTMX)
        assert fragment.status_code == 200
        html = fragment.content.decode()
        assert html.startswith('<section id="deliveries"') and "webhook.test" in html
        # Sent after the request's commit: the fragment polls until it is through.
        assert "Waiting to be sent" in html and 'hx-trigger="every 3s"' in html
        assert len(endpoint.received) == 1
        polled = owner.get(f"{base}deliveries/").content.decode()
        assert "Delivered" in polled and "hx-trigger" not in polled
        with tenant_scope(world.tenant):
            delivered = EventDelivery.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            again = owner.post(f"{base}deliveries/{delivered.pk}/redeliver/", **HTMX)
        assert again.status_code == 200 and len(endpoint.received) == 2
    with tenant_scope(world.tenant):
        assert EventDelivery.objects.count() == 2
    page = owner.get(base).content.decode()
    assert page.count("webhook.test") == 2 and "Attempts" in page


def test_the_log_refreshes_itself_while_a_delivery_is_open(world: World) -> None:
    subscription = event_subscription_for(world.tenant)
    event_delivery_for(subscription, status="retrying")
    html = session_client(world.owner).get(f"{PAGE}{subscription.pk}/deliveries/").content.decode()
    assert 'hx-trigger="every 3s"' in html and "Failed, will retry" in html
    done = event_subscription_for(world.tenant)
    event_delivery_for(done)
    quiet = session_client(world.owner).get(f"{PAGE}{done.pk}/deliveries/").content.decode()
    assert "hx-trigger" not in quiet


def test_rotating_the_secret_shows_the_new_one_in_place(world: World) -> None:
    subscription = event_subscription_for(world.tenant)
    old = str(subscription.secret)
    fragment = (
        session_client(world.owner)
        .post(f"{PAGE}{subscription.pk}/rotate-secret/", **HTMX)
        .content.decode()
    )
    subscription.refresh_from_db()
    assert str(subscription.secret) in fragment and old not in fragment
    assert fragment.startswith('<section id="signing-secret"')


def test_editing_switching_on_and_deleting(world: World) -> None:
    subscription = event_subscription_for(
        world.tenant, enabled=False, disabled_reason="The endpoint answered 503."
    )
    owner = session_client(world.owner)
    base = f"{PAGE}{subscription.pk}/"
    assert "answered 503" in owner.get(base).content.decode()
    saved = owner.post(
        base,
        {"url": "http://127.0.0.1:9/new", "events": ["template.status_changed"], "enabled": "on"},
    )
    assert saved.status_code == 302
    subscription.refresh_from_db()
    assert subscription.enabled and subscription.disabled_reason == ""
    assert subscription.url == "http://127.0.0.1:9/new"
    assert subscription.events == ["template.status_changed"]
    assert owner.post(f"{base}delete/").status_code == 302
    with tenant_scope(world.tenant):
        assert not EventSubscription.objects.exists()
        actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert {"event_subscription.changed", "event_subscription.deleted"} <= set(actions)


def test_agents_and_other_workspaces_are_refused(world: World) -> None:
    subscription = event_subscription_for(world.tenant)
    agent = session_client(world.agent)
    for path in (PAGE, f"{PAGE}{subscription.pk}/", "/t/acme/settings/api-keys/"):
        assert agent.get(path).status_code == 403, path
    assert agent.post(f"{PAGE}{subscription.pk}/test/").status_code == 403
    stranger = session_client(world.other_owner)
    assert stranger.get(f"{PAGE}{subscription.pk}/").status_code == 404
    theirs = event_subscription_for(world.other_tenant)
    owner = session_client(world.owner)
    assert owner.get(f"{PAGE}{theirs.pk}/").status_code == 404
    assert owner.post(f"{PAGE}{theirs.pk}/delete/").status_code == 404
    nav = owner.get("/t/acme/").content.decode()
    assert "/t/acme/settings/api-keys/" in nav and PAGE in nav
    assert PAGE not in agent.get("/t/acme/").content.decode()
