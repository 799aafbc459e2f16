"""The pages around connecting WhatsApp (#10): the dashboard, the failure page, the attempts."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import Onboarding, OnboardingStatus
from tests.factories import OnboardingFactory, PhoneNumberFactory, WhatsAppAccountFactory, World

pytestmark = pytest.mark.django_db

WHATSAPP = "/t/acme/settings/whatsapp/"


def login(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def failed(world: World, **fields: object) -> Onboarding:
    with tenant_scope(world.tenant):
        return OnboardingFactory(tenant=world.tenant, failed=True, **fields)  # type: ignore[no-any-return]


# --- 1. The dashboard -------------------------------------------------------------------


def test_dashboard_before_connecting_links_to_connect(world: World) -> None:
    html = login(world.owner).get("/t/acme/").content.decode()
    assert "Before you connect" in html
    assert f'href="{WHATSAPP}" id="dashboard-connect"' in html


def test_dashboard_after_connecting_shows_the_account_and_the_next_step(world: World) -> None:
    with tenant_scope(world.tenant):
        waba = WhatsAppAccountFactory(tenant=world.tenant, name="Acme Support")
        PhoneNumberFactory(waba=waba, display_phone_number="+49 30 1234", is_primary=True)
    html = login(world.agent).get("/t/acme/").content.decode()
    assert "Before you connect" not in html
    assert "Acme Support" in html
    assert f'href="{WHATSAPP}accounts/{waba.pk}/"' in html
    assert 'data-status="connected"' in html
    assert "Sends from +49 30 1234" in html
    assert "Ready to send messages." in html


def test_dashboard_names_the_next_step_of_an_account_that_needs_one(world: World) -> None:
    with tenant_scope(world.tenant):
        WhatsAppAccountFactory(tenant=world.tenant, business_verification_status="not_verified")
    html = login(world.owner).get("/t/acme/").content.decode()
    assert "Next step:" in html and "Verify your business" in html
    assert "Ready to send messages." not in html


# --- 4. The failure page ----------------------------------------------------------------


def test_the_failure_after_cancel_offers_connect_and_says_it_failed(world: World) -> None:
    ob = failed(world, problem=ts.SIGNUP_INCOMPLETE, error_message="CANCEL")
    html = login(world.admin).get(f"{WHATSAPP}onboarding/{ob.pk}/").content.decode()
    assert "<title>Connection failed · WABA Portal</title>" in html
    assert "Connecting WhatsApp" not in html
    assert 'id="connect-again"' in html and f'href="{WHATSAPP}#connect-whatsapp"' in html
    # Meta's code in words, not "Meta said: CANCEL".
    assert "CANCEL" not in html
    assert "The signup window was closed before it was finished." in html
    # An agent cannot connect: no button.
    html = login(world.agent).get(f"{WHATSAPP}onboarding/{ob.pk}/").content.decode()
    assert 'id="connect-again"' not in html


def test_the_portals_own_check_is_not_labelled_meta_said(world: World) -> None:
    ob = failed(
        world, problem=ts.ANOTHER_PROVIDER, error_message="WABA 1 is connected to another provider."
    )
    html = login(world.owner).get(f"{WHATSAPP}onboarding/{ob.pk}/").content.decode()
    assert "Meta said:" not in html
    assert "Details: WABA 1 is connected to another provider." in html
    ob2 = failed(world, problem=ts.META_UNAVAILABLE)
    html = login(world.owner).get(f"{WHATSAPP}onboarding/{ob2.pk}/").content.decode()
    assert "Meta said: Meta did not answer." in html


def test_the_title_follows_the_status(world: World) -> None:
    with tenant_scope(world.tenant):
        running = OnboardingFactory(tenant=world.tenant, status=OnboardingStatus.RUNNING)
    c = login(world.owner)
    assert (
        "<title>Connecting WhatsApp · WABA Portal"
        in c.get(f"{WHATSAPP}onboarding/{running.pk}/").content.decode()
    )
    with tenant_scope(world.tenant):
        running.status = OnboardingStatus.FAILED
        running.problem = ts.META_UNAVAILABLE
        running.save()
    partial = c.get(f"{WHATSAPP}onboarding/{running.pk}/", headers={"HX-Request": "true"})
    assert "<title>Connection failed · WABA Portal</title>" in partial.content.decode()
    assert 'id="onboarding-title">Connection failed<' in partial.content.decode()


# --- 5. Failed attempts -----------------------------------------------------------------


def test_failed_attempts_are_history_not_in_progress(world: World) -> None:
    ob = failed(world, problem=ts.SIGNUP_INCOMPLETE)
    with tenant_scope(world.tenant):
        running = OnboardingFactory(tenant=world.tenant, status=OnboardingStatus.RUNNING)
        OnboardingFactory(tenant=world.tenant, status=OnboardingStatus.SUCCEEDED)
    html = login(world.owner).get(WHATSAPP).content.decode()
    progress = html[html.index('id="onboarding-list"') : html.index('id="onboarding-history"')]
    assert f'data-onboarding="{running.pk}"' in progress
    assert f'data-onboarding="{ob.pk}"' not in progress
    history = html[html.index('id="onboarding-history"') :]
    assert f'data-onboarding="{ob.pk}"' in history
    assert f'data-dismiss-onboarding="{ob.pk}"' in history


def test_old_failed_attempts_leave_in_progress_too(world: World) -> None:
    ob = failed(world)
    with tenant_scope(world.tenant):
        Onboarding.objects.filter(pk=ob.pk).update(created_at=timezone.now() - timedelta(days=2))
    html = login(world.owner).get(WHATSAPP).content.decode()
    assert "Connections in progress" not in html
    assert 'id="onboarding-history"' in html


def test_a_failed_attempt_can_be_dismissed_by_managers_only(world: World) -> None:
    ob = failed(world)
    url = f"{WHATSAPP}onboarding/{ob.pk}/dismiss/"
    assert login(world.agent).post(url).status_code == 403
    html = login(world.agent).get(WHATSAPP).content.decode()
    assert f'data-onboarding="{ob.pk}"' in html and "data-dismiss-onboarding" not in html

    response = login(world.owner).post(url, follow=True)
    assert response.redirect_chain[-1][0] == WHATSAPP
    html = response.content.decode()
    assert "The failed attempt is dismissed." in html
    assert f'data-onboarding="{ob.pk}"' not in html
    with tenant_scope(world.tenant):
        assert Onboarding.objects.get(pk=ob.pk).dismissed_at is not None


def test_only_a_failed_attempt_can_be_dismissed(world: World) -> None:
    with tenant_scope(world.tenant):
        ob = OnboardingFactory(tenant=world.tenant, status=OnboardingStatus.RUNNING)
    response = login(world.owner).post(
        f"{WHATSAPP}onboarding/{ob.pk}/dismiss/",
        headers={"referer": f"http://testserver{WHATSAPP}"},
        follow=True,
    )
    assert "Only a failed connection attempt can be dismissed." in response.content.decode()
    with tenant_scope(world.tenant):
        assert Onboarding.objects.get(pk=ob.pk).dismissed_at is None


# --- 3. Sync now, in place --------------------------------------------------------------


HX = {"HX-Request": "true"}


def test_sync_now_shows_its_progress_and_result_in_place(world: World) -> None:
    with tenant_scope(world.tenant):
        waba = WhatsAppAccountFactory(tenant=world.tenant, last_synced_at=None)
    c = login(world.admin)
    response = c.post(f"{WHATSAPP}accounts/{waba.pk}/sync/", headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-sync-state="running"' in html and "Reading the account from Meta…" in html
    assert 'hx-trigger="every 1s"' in html and "disabled" in html
    poll = re.search(r'hx-get="([^"]+)"', html)
    assert poll is not None
    url = poll.group(1).replace("&amp;", "&")

    still = c.get(url, headers=HX).content.decode()
    assert 'data-sync-state="running"' in still

    with tenant_scope(world.tenant):
        type(waba).objects.filter(pk=waba.pk).update(last_synced_at=timezone.now())
    done_response = c.get(url, headers=HX)
    done = done_response.content.decode()
    assert 'data-sync-state="done"' in done and "Synced " in done
    assert done_response["HX-Refresh"] == "true"  # the whole page shows what changed
    assert "every 1s" not in done and "disabled" not in done

    with tenant_scope(world.tenant):
        type(waba).objects.filter(pk=waba.pk).update(
            last_synced_at=timezone.now(), sync_error="Meta said no."
        )
    failed_box = c.get(url, headers=HX).content.decode()
    assert (
        'data-sync-state="failed"' in failed_box and "Last sync failed: Meta said no." in failed_box
    )


def test_a_sync_that_takes_too_long_stops_polling(world: World) -> None:
    with tenant_scope(world.tenant):
        waba = WhatsAppAccountFactory(tenant=world.tenant, last_synced_at=None)
    since = time.time() - 120
    html = (
        login(world.owner)
        .get(f"{WHATSAPP}accounts/{waba.pk}/sync/status/?since={since}", headers=HX)
        .content.decode()
    )
    assert 'data-sync-state="slow"' in html and "every 1s" not in html
    for junk in ("", "nan", "inf", "-1", "x"):
        html = (
            login(world.owner)
            .get(f"{WHATSAPP}accounts/{waba.pk}/sync/status/?since={junk}")
            .content.decode()
        )
        assert 'data-sync-state="idle"' in html


def test_sync_now_without_htmx_still_redirects(world: World) -> None:
    with tenant_scope(world.tenant):
        waba = WhatsAppAccountFactory(tenant=world.tenant)
    response = login(world.owner).post(f"{WHATSAPP}accounts/{waba.pk}/sync/")
    assert response.status_code == 302
    assert (
        login(world.agent).post(f"{WHATSAPP}accounts/{waba.pk}/sync/", headers=HX).status_code
        == 403
    )
