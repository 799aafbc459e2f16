"""An admin connects WhatsApp in the browser, through the mock's Embedded Signup dialog.

Real parts: the portal on a live server, the mock Meta server over HTTP, a real Celery
worker running the onboarding, and headless Chromium.
"""

from __future__ import annotations

import re

import pytest

from accounts.tenancy import tenant_scope
from senders.models import ConnectionStatus, PhoneNumber, WhatsAppAccount
from tests.factories import PASSWORD, World
from tests.fixtures_browser import complete_mock_embedded_signup
from tests.fixtures_celery import WorkerProcess

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_env(mock_meta) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"GRAPH_API_BASE_URL": mock_meta.base_url}


def log_in(page, live_server, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")  # not the language form's in the navigation
    page.wait_for_url(re.compile(r"/t/acme/$"))


def test_connect_through_the_dialog_and_land_on_the_connected_account(
    live_server, page, mock_meta, settings, world: World, celery_worker_process: WorkerProcess
) -> None:  # type: ignore[no-untyped-def]
    settings.GRAPH_API_BASE_URL = mock_meta.base_url
    settings.EMBEDDED_SIGNUP_URL = mock_meta.base_url + "/dialog/embedded-signup"
    log_in(page, live_server, world.owner.user.email)
    page.goto(live_server.url + "/t/acme/settings/whatsapp/")
    assert "Before you connect" in page.locator("#prerequisites").inner_text()

    complete_mock_embedded_signup(
        page, business="Browser GmbH", waba="Browser Support", phone="+4930123456789"
    )

    # The portal shows the pipeline's progress, then the connected account.
    page.wait_for_url(re.compile(r"/settings/whatsapp/(onboarding|accounts)/\d+/$"), timeout=20_000)
    page.wait_for_url(re.compile(r"/settings/whatsapp/accounts/\d+/$"), timeout=60_000)
    assert page.locator("#waba-name").inner_text() == "Browser Support"
    row = page.locator("#numbers tr[data-phone]")
    assert "+49" in row.inner_text() and "Primary" in row.inner_text()
    assert row.locator("[data-status]").get_attribute("data-status") == "connected"
    with tenant_scope(world.tenant):
        waba = WhatsAppAccount.objects.get()
        assert waba.connection_status == ConnectionStatus.CONNECTED
        assert PhoneNumber.objects.get().meta_status == "CONNECTED"


def test_cancelled_dialog_shows_the_fix(
    live_server, page, mock_meta, settings, world: World
) -> None:  # type: ignore[no-untyped-def]
    settings.EMBEDDED_SIGNUP_URL = mock_meta.base_url + "/dialog/embedded-signup"
    log_in(page, live_server, world.admin.user.email)
    page.goto(live_server.url + "/t/acme/settings/whatsapp/")
    with page.expect_popup() as popup_info:
        page.click("#connect-whatsapp")
    dialog = popup_info.value
    dialog.wait_for_load_state()
    dialog.click("#cancel")
    page.wait_for_url(re.compile(r"/settings/whatsapp/onboarding/\d+/$"), timeout=20_000)
    problem = page.locator("[data-problem]")
    assert problem.get_attribute("data-problem") == "signup_incomplete"
    assert "Connect WhatsApp" in problem.inner_text()
