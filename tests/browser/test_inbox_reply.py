"""Replying in the browser: the agent answers a customer's message and sees the reply in
the thread with its tick, which moves on as Meta reports it, without a reload; once the
window is over the composer offers the number's approved templates only.

Screenshots at 1280 and 390 px go to /tmp/shots/i2/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.tenancy import tenant_scope
from inbox.models import Conversation, Direction, Message, MessageStatus
from tests.browser.shots import shoot
from tests.browser.test_accessibility import sign_in
from tests.factories import World
from tests.fixtures_senders import ConnectWaba
from tests.inbox.test_outbound import approved_template

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/i2")


def test_an_agent_replies_and_sees_the_tick_without_a_reload(
    live_server, page, world: World, mock_meta, connect_waba: ConnectWaba, settings: Any
) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    channel = connect_waba(world.tenant, name="Acme Support")
    mock_meta.set_webhook_url(live_server.url + "/webhooks/meta/")
    mock_meta.inbound(
        phone_number_id=channel.phone_number_id,
        name="Erika Muster",
        type="text",
        text={"body": "Hallo! Wo ist mein Paket?"},
        **{"from": "4915112345678"},
    )
    sign_in(page, live_server, world.agent.user)
    page.goto(live_server.url + "/t/acme/inbox/")
    page.locator(".conversation-name", has_text="Erika Muster").wait_for(timeout=20_000)
    page.locator(".conversation-name", has_text="Erika Muster").click()
    page.locator("#reply-form").wait_for()
    page.evaluate("window.__notReloaded = true")

    page.fill("#reply-text", "Es kommt morgen 📦 <b>sicher</b>")
    page.click("#reply-send")
    mine = page.locator(".bubble-out", has_text="Es kommt morgen 📦 <b>sicher</b>")
    mine.wait_for(timeout=20_000)
    # Sent, then delivered (and read) as Meta's status webhooks come in.
    mine.locator(".tick-delivered, .tick-read").wait_for(timeout=20_000)
    assert page.input_value("#reply-text") == ""
    assert page.evaluate("window.__notReloaded") is True
    assert "Assigned to" in page.inner_text("#thread-assignee")  # auto-assigned
    with tenant_scope(world.tenant):
        sent = Message.objects.get(direction=Direction.OUTBOUND)
        assert sent.wamid.startswith("wamid.") and sent.status != MessageStatus.FAILED
        assert sent.author_id == world.agent.pk
    shoot(page, SHOTS, "reply-sent")

    # The window lapses: at the next poll the composer offers the approved templates only.
    approved_template(channel, mock_meta)
    mock_meta.advance_clock(25 * 3600)
    with tenant_scope(world.tenant):
        Conversation.objects.update(
            last_inbound_at=timezone.now() - timedelta(hours=25), changed_at=timezone.now()
        )
    page.locator("#composer", has_text="Window closed").wait_for(timeout=20_000)
    assert page.locator("#reply-form").count() == 0
    page.select_option("#template-choice", label="order_ready (Deutsch)")
    page.locator("#template-fields input").first.wait_for()
    inputs = page.locator("#template-fields input")
    inputs.nth(0).fill("Erika")
    inputs.nth(1).fill("A-7")
    page.locator("#template-preview", has_text="Hallo Erika, Ihre Bestellung A-7").wait_for()
    shoot(page, SHOTS, "reply-template")
    page.click("#template-send")
    page.locator(".bubble-out", has_text="Ihre Bestellung A-7 ist bereit.").wait_for(timeout=20_000)
    for _ in range(50):  # emptied once the answer came (no eval under the CSP)
        if page.input_value("#template-choice") == "":
            break
        page.wait_for_timeout(100)
    assert page.input_value("#template-choice") == ""
    assert page.locator("#template-fields input").count() == 0
    assert page.evaluate("window.__notReloaded") is True
    with tenant_scope(world.tenant):
        template_message = Message.objects.get(direction=Direction.OUTBOUND, type="template")
    assert template_message.wamid.startswith("wamid.")
    page.goto("about:blank")  # no poll of the inbox may land in the flush after the test
