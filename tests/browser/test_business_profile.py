"""An admin edits a number's business profile in the browser and watches it go live.

Real parts: the portal on a live server, the mock Meta server over HTTP, a real Celery
worker sending the edit, and headless Chromium. The page is never reloaded: a marker
set on ``window`` at the start is still there at the end.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image, ImageDraw

from accounts.tenancy import tenant_scope
from senders.models import BusinessProfileSync
from tests.browser.test_accessibility import axe_violations, sign_in
from tests.factories import World
from tests.fixtures_celery import WorkerProcess
from tests.fixtures_senders import Connected

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/h4")


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def celery_worker_env(mock_meta, media_root: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"GRAPH_API_BASE_URL": mock_meta.base_url, "MEDIA_ROOT": str(media_root)}


def logo() -> bytes:
    """A 900 × 600 logo: a blue disc on white, so the crop to its middle shows."""
    image = Image.new("RGB", (900, 600), (255, 255, 255))
    ImageDraw.Draw(image).ellipse((200, 50, 700, 550), fill=(20, 90, 200))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def mock_profile(mock_meta, c: Connected) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    answer = requests.get(
        f"{mock_meta.graph_url}/{c.phone_number_id}/whatsapp_business_profile",
        headers={"Authorization": f"Bearer {c.token}"},
        timeout=5,
    )
    return dict(answer.json()["data"][0])


def wait_state(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the state box says ``label`` (it updates itself, by htmx)."""
    page.wait_for_function(
        "(label) => document.querySelector('#profile-state-label').textContent.trim() === label",
        arg=label,
        timeout=30_000,
    )


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} @{width}px scrolls sideways by {overflow}px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_upload_a_logo_and_edit_about_and_see_it_go_live_without_a_reload(
    live_server,
    page,
    mock_meta,
    settings,
    world: World,
    connected_waba: Connected,
    media_root: Path,
    celery_worker_process: WorkerProcess,
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    settings.MEDIA_ROOT = str(media_root)
    sign_in(page, live_server, world.admin.user)
    page.goto(f"{live_server.url}/t/acme/settings/whatsapp/numbers/{c.phone.pk}/profile/")
    assert page.locator("#profile-heading").inner_text() == "Business profile"
    assert page.locator("#profile-no-picture").is_visible()
    page.evaluate("window.__profilePage = 'not reloaded'")
    shoot(page, "profile-empty")

    # The logo: a 900 × 600 JPEG, cropped to its middle square.
    page.set_input_files(
        "#id_picture", files=[{"name": "logo.jpg", "mimeType": "image/jpeg", "buffer": logo()}]
    )
    page.check("#crop-center")
    page.click("#picture-upload")
    page.locator("#profile-notice").wait_for()
    assert "cropped to a square of 600 × 600" in page.locator("#profile-notice").inner_text()
    picture = page.locator("#profile-picture")
    picture.wait_for()
    page.wait_for_function(
        "() => { const i = document.querySelector('#profile-picture');"
        " return i && i.complete && i.naturalWidth === 600; }"
    )
    label = page.locator("#profile-state-label")
    wait_state(page, "Live at Meta")
    assert mock_profile(mock_meta, c)["profile_picture_url"]

    # About, with Meta slow to take it: the state moves on the page by itself.
    mock_meta.fault("POST", r"/whatsapp_business_profile$", latency=5.0, times=1)
    page.fill("#id_about", "Fresh bread every morning from 7")
    assert "107 of 139 left" in page.locator("#count_about").inner_text()
    page.click("#profile-save")
    page.locator("#profile-notice").wait_for()
    page.wait_for_function(
        "() => ['Saved here', 'Sent to Meta'].includes("
        "document.querySelector('#profile-state-label').textContent.trim())"
    )
    seen = label.inner_text().strip()
    assert seen in ("Saved here", "Sent to Meta")
    wait_state(page, "Sent to Meta")
    assert "previous values of: About" in page.locator("#profile-differs").inner_text()
    shoot(page, "profile-sending")
    wait_state(page, "Live at Meta")
    assert page.evaluate("window.__profilePage") == "not reloaded"
    assert re.search(r"Live at Meta since", page.locator("#profile-state-text").inner_text())
    assert page.locator("#id_about").input_value() == "Fresh bread every morning from 7"
    assert mock_profile(mock_meta, c)["about"] == "Fresh bread every morning from 7"
    with tenant_scope(c.tenant):
        assert BusinessProfileSync.objects.get().state == "live"
    assert not axe_violations(page)
    shoot(page, "profile-live")


def test_a_field_error_is_shown_in_place_and_a_failure_offers_retry(
    live_server,
    page,
    mock_meta,
    settings,
    world: World,
    connected_waba: Connected,
    media_root: Path,
    celery_worker_process: WorkerProcess,
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    settings.MEDIA_ROOT = str(media_root)
    sign_in(page, live_server, world.owner.user)
    page.goto(f"{live_server.url}/t/acme/settings/whatsapp/numbers/{c.phone.pk}/profile/")
    page.evaluate("window.__profilePage = 'not reloaded'")
    page.fill("#id_about", "Open late")
    page.fill("#id_website_1", "bakery.example")
    page.click("#profile-save")
    page.locator("#error_website_1").wait_for()
    assert "starting with https://" in page.locator("#error_website_1").inner_text()
    assert page.evaluate("document.activeElement.id") == "id_website_1"
    assert not axe_violations(page)
    shoot(page, "profile-field-error")

    mock_meta.fault(
        "POST",
        r"/whatsapp_business_profile$",
        code=100,
        details="Param websites[0] must be a valid URL of at most 256 characters",
        times=1,
    )
    page.fill("#id_website_1", "https://bakery.example")
    page.click("#profile-save")
    page.locator("#profile-retry").wait_for(timeout=30_000)
    problem = page.locator("#profile-state [data-problem]")
    assert problem.get_attribute("data-problem") == "profile_rejected"
    assert "websites[0]" in problem.inner_text()
    shoot(page, "profile-failed")
    page.click("#profile-retry")
    wait_state(page, "Live at Meta")
    assert page.evaluate("window.__profilePage") == "not reloaded"
    assert mock_profile(mock_meta, c)["websites"] == ["https://bakery.example"]
