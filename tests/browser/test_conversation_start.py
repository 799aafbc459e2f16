"""Writing first in the browser: an agent opens "New conversation", gives a customer's
number (the primary sender chosen for them), lands in the new thread whose composer
offers only the approved templates, and sends one; the tick arrives without a reload.

Screenshots at 1280 and 390 px go to /tmp/shots/i2-start/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.tenancy import tenant_scope
from inbox.models import Conversation, Direction, Message, Queue
from tests.browser.shots import shoot
from tests.browser.test_accessibility import sign_in
from tests.factories import World
from tests.fixtures_senders import ConnectWaba
from tests.inbox.test_outbound import approved_template

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/i2-start")


def test_an_agent_writes_first_with_a_template_from_the_primary_sender(
    live_server, page, world: World, mock_meta, connect_waba: ConnectWaba
) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    channel = connect_waba(world.tenant, name="Acme Support")
    mock_meta.set_webhook_url(live_server.url + "/webhooks/meta/")
    approved_template(channel, mock_meta)
    sign_in(page, live_server, world.agent.user)
    page.goto(live_server.url + "/t/acme/inbox/")
    page.click("#inbox-tab-new")
    page.locator("#start-form").wait_for()
    assert "(primary sender)" in page.inner_text("#id_channel")
    page.fill("#id_to", "12")
    page.click("#start-submit")
    page.locator("#id_to-error").wait_for()
    shoot(page, SHOTS, "start-refused")
    page.fill("#id_to", "+49 151 12345678")
    shoot(page, SHOTS, "start")
    page.click("#start-submit")

    page.locator("#composer", has_text="The customer has not written yet").wait_for()
    assert page.locator("#reply-form").count() == 0
    page.evaluate("window.__notReloaded = true")
    page.select_option("#template-choice", label="order_ready (Deutsch)")
    page.locator("#template-fields input").first.wait_for()
    inputs = page.locator("#template-fields input")
    inputs.nth(0).fill("Erika")
    inputs.nth(1).fill("A-7")
    page.locator("#template-preview", has_text="Hallo Erika, Ihre Bestellung A-7").wait_for()
    page.click("#template-send")
    mine = page.locator(".bubble-out", has_text="Ihre Bestellung A-7 ist bereit.")
    mine.wait_for(timeout=20_000)
    mine.locator(".tick-delivered, .tick-read").wait_for(timeout=20_000)
    assert page.evaluate("window.__notReloaded") is True
    with tenant_scope(world.tenant):
        row = Conversation.objects.select_related("contact").get()
        sent = Message.objects.get(direction=Direction.OUTBOUND)
    assert row.channel_id == channel.phone.pk and row.queue == Queue.PENDING
    assert row.assignee_id == world.agent.pk and row.contact.phone == "+4915112345678"
    assert sent.type == "template" and sent.wamid.startswith("wamid.")
    shoot(page, SHOTS, "start-sent")
    page.goto("about:blank")  # no poll of the inbox may land in the flush after the test
