"""Sending a file in the browser: the agent attaches a photo in the composer, sees its
name and kind, sends it with a caption, and sees it in the thread as our bubble with its
preview, the tick moving on as Meta reports it, without a reload.

Screenshots at 1280 and 390 px go to /tmp/shots/i2-media/.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from accounts.tenancy import tenant_scope
from inbox.models import Direction, Media, Message, MessageStatus
from tests.browser.shots import shoot
from tests.browser.test_accessibility import sign_in
from tests.factories import World
from tests.fixtures_senders import ConnectWaba

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/i2-media")


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (20, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def test_an_agent_sends_a_photo_and_sees_it_with_its_tick_without_a_reload(
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
    mock_meta.inbound(
        phone_number_id=channel.phone_number_id,
        name="Erika Muster",
        type="text",
        text={"body": "Können Sie mir ein Foto schicken?"},
        **{"from": "4915112345678"},
    )
    sign_in(page, live_server, world.agent.user)
    page.goto(live_server.url + "/t/acme/inbox/")
    page.locator(".conversation-name", has_text="Erika Muster").wait_for(timeout=20_000)
    page.locator(".conversation-name", has_text="Erika Muster").click()
    page.locator("#media-form").wait_for()
    page.evaluate("window.__notReloaded = true")

    data = photo()
    page.set_input_files(
        "#media-file", files=[{"name": "paket.jpg", "mimeType": "image/jpeg", "buffer": data}]
    )
    page.locator("#media-chosen", has_text="paket.jpg").wait_for()
    assert "Image" in page.inner_text("#media-chosen")
    page.fill("#media-caption", "Ihr Paket 📦 <b>heute</b>")
    shoot(page, SHOTS, "media-chosen")
    page.click("#media-send")

    mine = page.locator(".bubble-out", has_text="Ihr Paket 📦 <b>heute</b>")
    mine.wait_for(timeout=20_000)
    mine.locator("img.bubble-image").wait_for()
    mine.locator(".tick-delivered, .tick-read").wait_for(timeout=20_000)
    assert page.evaluate("window.__notReloaded") is True
    assert page.input_value("#media-caption") == ""
    assert page.evaluate("document.getElementById('media-file').files.length") == 0
    # The preview is the stored file, served by the tenant-checked view.
    loaded = mine.locator("img.bubble-image").evaluate("img => img.complete && img.naturalWidth")
    assert loaded == 320
    with tenant_scope(world.tenant):
        sent = Message.objects.get(direction=Direction.OUTBOUND)
        media = Media.objects.get(message=sent)
        assert sent.type == "image" and sent.status != MessageStatus.FAILED
        assert sent.wamid.startswith("wamid.") and sent.author_id == world.agent.pk
        assert media.media_id in {m["id"] for m in mock_meta.state()["media"]}
        assert media.file.read() == data
    shoot(page, SHOTS, "media-sent")
    page.goto("about:blank")  # no poll of the inbox may land in the flush after the test


# The thread again, as a poll brings it when it changed: without `since` it is rendered.
SWAP_THREAD = """() => {
  window.__form = document.getElementById(arguments[0] || "media-form");
  const url = document.getElementById("thread").getAttribute("hx-get").split("?")[0];
  return htmx.ajax("GET", url, {target: "#thread", swap: "outerHTML"});
}"""


@pytest.mark.parametrize(
    "form,field,send",
    [("media-form", "#media-caption", "#media-send"), ("reply-form", "#reply-text", "#reply-send")],
)
def test_a_poll_that_swaps_the_thread_while_a_send_is_on_its_way_still_empties_the_composer(
    live_server,
    page,
    world: World,
    mock_meta,
    connect_waba: ConnectWaba,
    settings: Any,
    tmp_path: Path,
    form: str,
    field: str,
    send: str,
) -> None:  # type: ignore[no-untyped-def]
    """The composer is in the thread; a poll swaps the thread (and so detaches the form
    that sent) before the send is answered. The kept fields are emptied all the same, so
    a second click does not send the same thing twice."""
    settings.MEDIA_ROOT = tmp_path
    channel = connect_waba(world.tenant, name="Acme Support")
    mock_meta.set_webhook_url(live_server.url + "/webhooks/meta/")
    mock_meta.inbound(
        phone_number_id=channel.phone_number_id,
        name="Erika Muster",
        type="text",
        text={"body": "Können Sie mir ein Foto schicken?"},
        **{"from": "4915112345678"},
    )
    sign_in(page, live_server, world.agent.user)
    page.goto(live_server.url + "/t/acme/inbox/")
    page.locator(".conversation-name", has_text="Erika Muster").click(timeout=20_000)
    page.locator(f"#{form}").wait_for()
    if form == "media-form":
        page.set_input_files(
            "#media-file",
            files=[{"name": "paket.jpg", "mimeType": "image/jpeg", "buffer": photo()}],
        )
    page.fill(field, "Unterwegs zu Ihnen")

    swapped: list[bool] = []

    def swap_first(route: Any) -> None:
        # The send waits here until the poll's swap has detached the form that sent it.
        page.evaluate(SWAP_THREAD.replace("arguments[0]", repr(form)))
        swapped.append(page.evaluate("!document.body.contains(window.__form)"))
        route.continue_()

    page.route(lambda url: url.endswith(("/media/", "/reply/")), swap_first)
    page.click(send)
    page.locator(".bubble-out", has_text="Unterwegs zu Ihnen").wait_for(timeout=20_000)
    assert swapped == [True]
    page.wait_for_function(f"() => document.querySelector({field!r}).value === ''", timeout=10_000)
    if form == "media-form":
        assert page.evaluate("document.getElementById('media-file').files.length") == 0
        assert page.inner_text("#media-chosen") == ""
    with tenant_scope(world.tenant):
        assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1
    page.goto("about:blank")
