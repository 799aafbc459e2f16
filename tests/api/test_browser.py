"""In Chromium: the API docs under the strict CSP, and the API keys and event webhook
pages used as a person would, at 1280 and 390 px (screenshots in /tmp/shots/a1/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.support import receiving_endpoint
from tests.browser.test_accessibility import check_pages, sign_in
from tests.browser.test_csp import Watch, watch  # noqa: F401 - the fixture
from tests.factories import World, api_key_for, event_delivery_for, event_subscription_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/a1")


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_sideways_scroll(page: Any) -> int:
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def test_the_api_docs_work_under_the_content_security_policy(
    live_server: Any,
    page: Any,
    watch: Watch,  # noqa: F811
) -> None:
    page.goto(live_server.url + "/api/docs/")
    page.locator(".swagger-ui .info .title").filter(has_text="WABA Portal API").wait_for()
    page.locator("#operations-events-event_subscriptions_create").wait_for()
    page.click("#operations-events-event_subscriptions_create .opblock-summary")
    page.get_by_text("Idempotency-Key", exact=True).first.wait_for()
    assert page.locator(".swagger-ui .auth-wrapper .authorize").count() == 1
    shoot(page, "api-docs-1280")
    watch.assert_clean("/api/docs/")


def test_an_owner_makes_and_revokes_a_key_on_a_desktop_and_a_phone(
    live_server: Any,
    page: Any,
    watch: Watch,  # noqa: F811
    world: World,
) -> None:
    sign_in(page, live_server, world.owner.user)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + "/t/acme/settings/api-keys/")
        page.fill("#id_name", f"CRM sync {width}")
        page.select_option("#id_scope_senders", "read")
        page.select_option("#id_scope_inbox", "write")
        page.select_option("#id_expires", "90")
        page.click("#api-key-form button[type=submit]")
        key = page.locator("#new-api-key-value").input_value()
        assert key.startswith("wbp_live_")
        assert no_sideways_scroll(page) == 0, width
        shoot(page, f"api-keys-created-{width}")
        page.reload()
        assert page.locator("#new-api-key-value").count() == 0
        assert key[:17] in page.content() and key not in page.content()
    # No scope: the form comes back (400, which Chromium logs) saying what to fix.
    watch.not_ours.add(live_server.url + "/t/acme/settings/api-keys/")
    page.set_viewport_size({"width": 390, "height": 900})
    page.fill("#id_name", "No scopes")
    page.click("#api-key-form button[type=submit]")
    assert page.locator("#api-key-form .alert-danger").inner_text().strip()
    shoot(page, "api-keys-error-390")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#api-key-list li").first.locator("button", has_text="Revoke").click()
    page.wait_for_load_state("load")
    assert page.locator("#api-key-list .badge", has_text="Revoked").count() == 1
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "api-keys-list-1280")
    watch.assert_clean("API keys")


def test_an_owner_subscribes_tests_and_rotates_on_a_desktop_and_a_phone(
    live_server: Any,
    page: Any,
    watch: Watch,  # noqa: F811
    world: World,
    settings: Any,
) -> None:
    settings.EVENT_WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.EVENT_WEBHOOK_REQUIRE_HTTPS = False
    sign_in(page, live_server, world.owner.user)
    with receiving_endpoint() as endpoint:
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(live_server.url + "/t/acme/settings/event-webhooks/")
            shoot(page, f"event-webhooks-list-{width}")
            page.fill("#id_url", endpoint.url)
            page.check("input[value='message.received']")
            page.check("input[value='number.status_changed']")
            page.fill("#id_description", f"CRM at {width}")
            page.click("#subscription-form button[type=submit]")
            secret = page.locator("[data-secret-value]").input_value()
            assert secret.startswith("whsec_")
            page.click("#send-test-event")
            page.locator("#delivery-log .badge", has_text="Delivered").wait_for()
            page.locator("#delivery-log summary").first.click()
            assert no_sideways_scroll(page) == 0, width
            shoot(page, f"event-webhook-detail-{width}")
            page.once("dialog", lambda dialog: dialog.accept())
            page.click("#rotate-secret")
            page.locator("#signing-secret", has_text="with the old secret too").wait_for()
            assert page.locator("[data-secret-value]").input_value() not in (secret, "")
            shoot(page, f"event-webhook-rotated-{width}")
        assert len(endpoint.received) == 2
    page.goto(live_server.url + "/t/acme/settings/event-webhooks/")
    assert page.locator("#subscription-list a").count() == 2
    shoot(page, "event-webhooks-list-filled-390")
    watch.assert_clean("event webhooks")


def test_the_pages_pass_axe_and_fit_a_phone(live_server: Any, page: Any, world: World) -> None:
    subscription = event_subscription_for(
        world.tenant, enabled=False, disabled_reason="The endpoint answered 503."
    )
    event_delivery_for(subscription)
    event_delivery_for(subscription, status="failed", last_error="The endpoint answered 503.")
    api_key_for(world.tenant, scopes={"senders": "read", "events": "write"})
    sign_in(page, live_server, world.owner.user)
    found = check_pages(
        page,
        live_server,
        [
            "/t/acme/settings/api-keys/",
            "/t/acme/settings/event-webhooks/",
            f"/t/acme/settings/event-webhooks/{subscription.pk}/",
        ],
    )
    assert found == []
