"""The inbox in the browser: a customer's message simulated on the mock Meta server comes
through the webhook pipeline and shows in the list, then in the open thread, without a
reload; the agent assigns it and moves it to Pending in place.

The page is never reloaded after the first load of each page, which the test checks with
a marker it leaves on ``window``. Screenshots at 1280 and 390 px go to /tmp/shots/i1/.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest

from accounts.tenancy import tenant_scope
from inbox.models import Conversation, Message, Queue
from tests.browser.shots import shoot
from tests.browser.test_accessibility import sign_in
from tests.factories import World
from tests.fixtures_senders import ConnectWaba

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/i1")


def _png() -> str:
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (180, 120, 60)).save(picture, format="PNG")
    return base64.b64encode(picture.getvalue()).decode()


PNG = _png()


def test_a_customers_message_arrives_live_and_the_agent_takes_it(
    live_server,
    page,
    world: World,
    mock_meta,
    connect_waba: ConnectWaba,
    settings: Any,
    tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    settings.MEDIA_ROOT = tmp_path
    channel = connect_waba(world.tenant, name="Acme Support")
    mock_meta.set_webhook_url(live_server.url + "/webhooks/meta/")
    sign_in(page, live_server, world.agent.user)
    page.goto(live_server.url + "/t/acme/inbox/")
    page.locator("#inbox-empty").wait_for()
    assert "Only messages received after a number was connected appear" in page.inner_text(
        "#inbox-empty"
    )
    shoot(page, SHOTS, "inbox-empty")
    page.evaluate("window.__notReloaded = true")

    mock_meta.inbound(
        phone_number_id=channel.phone_number_id,
        name="Erika <b>Muster</b>",
        type="text",
        text={"body": "Hallo! Wo ist mein Paket? <script>alert(1)</script>"},
        **{"from": "4915112345678"},
    )
    item = page.locator(".conversation-name", has_text="Erika <b>Muster</b>")
    item.wait_for(timeout=20_000)  # the list's poll (every 2 s) brings it
    assert page.evaluate("window.__notReloaded") is True
    assert "1 unread" in page.inner_text("#conversation-list")
    shoot(page, SHOTS, "inbox-list")

    item.click()
    page.locator("#thread-heading", has_text="Erika <b>Muster</b>").wait_for()
    assert "Wo ist mein Paket? <script>alert(1)</script>" in page.inner_text("#thread-messages")
    assert "Window open: 23 h" in page.inner_text("#composer")
    page.evaluate("window.__notReloaded = true")

    # A second message shows in the open thread at the next poll.
    mock_meta.inbound(
        phone_number_id=channel.phone_number_id,
        type="text",
        text={"body": "Die Nummer ist A-1001."},
        **{"from": "4915112345678"},
    )
    page.locator("#thread-messages", has_text="Die Nummer ist A-1001.").wait_for(timeout=20_000)

    # Assign it to me and move it to Pending, in place.
    page.select_option("#assign-member", str(world.agent.pk))
    page.click("#assign-submit")
    page.locator("#side-status", has_text="Assigned to").wait_for()
    page.locator("#thread-assignee", has_text=world.agent.user.get_full_name()).wait_for()
    page.click("#move-pending")
    page.locator("#side-status", has_text="Moved to Pending.").wait_for()
    page.locator("#thread-queue", has_text="Pending").wait_for()
    page.fill("#id_body", "Paket ist unterwegs, Nummer geprüft.")
    page.click("#note-submit")
    page.locator(".thread-note", has_text="Paket ist unterwegs").wait_for()
    assert page.evaluate("window.__notReloaded") is True
    with tenant_scope(world.tenant):
        (conversation,) = Conversation.objects.all()
    assert (conversation.queue, conversation.assignee_id) == (Queue.PENDING, world.agent.pk)

    # A photo (fetched from the mock in the background), a location and a reaction.
    first = page.locator(".bubble-in").first.get_attribute("id")
    with tenant_scope(world.tenant):
        first_wamid = Message.objects.get(pk=int(str(first)[2:])).wamid
    customer = {"phone_number_id": channel.phone_number_id, "from": "4915112345678"}
    mock_meta.inbound(
        **customer,
        type="image",
        image={"content": PNG, "mime_type": "image/png", "caption": "Das Paket"},
    )
    mock_meta.inbound(**customer, type="location")
    mock_meta.inbound(
        **customer, type="reaction", reaction={"message_id": first_wamid, "emoji": "👍"}
    )
    page.locator("#thread-messages img.bubble-image").wait_for(timeout=20_000)
    page.locator(f"#{first} .bubble-reactions", has_text="👍").wait_for(timeout=20_000)
    assert "Brandenburg Gate" in page.inner_text("#thread-messages")
    assert page.evaluate("document.querySelector('img.bubble-image').naturalWidth") == 40
    # The customer wrote while it was Pending: it is back in New, everywhere.
    page.locator("#thread-queue", has_text="New").wait_for()
    page.wait_for_timeout(2500)  # the list's next poll
    assert "New" in page.inner_text("#conversation-list")
    assert "1 unread" not in page.inner_text("#conversation-list")  # read in the open thread
    assert page.evaluate("window.__notReloaded") is True
    shoot(page, SHOTS, "inbox-thread")

    # The contact's pages.
    page.click("#contact-open")
    page.locator("#contact-title").wait_for()
    shoot(page, SHOTS, "contact")
    page.goto(live_server.url + "/t/acme/inbox/contacts/")
    shoot(page, SHOTS, "contacts")
    page.goto(live_server.url + "/t/acme/inbox/settings/")
    shoot(page, SHOTS, "keywords")
