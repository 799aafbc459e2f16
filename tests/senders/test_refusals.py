"""A service's refusal, as the user meets it: its reason on the page they came from, 403, 404."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from senders.models import ConnectionStatus, Onboarding, OnboardingStatus
from tests.factories import World
from tests.fixtures_senders import Connected

pytestmark = pytest.mark.django_db


def login(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def page_of(c: Connected) -> str:
    return f"/t/acme/settings/whatsapp/accounts/{c.waba.pk}/"


def post_from(client: Client, url: str, page: str):  # type: ignore[no-untyped-def]
    """A form on ``page`` posted to ``url``, as a browser does (with its Referer)."""
    return client.post(url, headers={"referer": f"http://testserver{page}"}, follow=True)


def test_a_refused_action_says_why_on_the_page_it_came_from(
    world: World, connected_waba: Connected
) -> None:
    c = login(world.owner)
    phone, page = connected_waba.phone, page_of(connected_waba)

    response = post_from(c, f"/t/acme/settings/whatsapp/numbers/{phone.pk}/resubmit/", page)
    assert response.redirect_chain == [(f"http://testserver{page}", 302)]
    assert "This number is connected already." in response.content.decode()

    with tenant_scope(world.tenant):
        phone.connection_status = ConnectionStatus.PENDING
        phone.save()
    response = post_from(c, f"/t/acme/settings/whatsapp/numbers/{phone.pk}/primary/", page)
    assert "Only a connected number can be the primary sender." in response.content.decode()


def test_syncing_a_disconnected_account_is_refused_with_its_reason(
    world: World, connected_waba: Connected
) -> None:
    with tenant_scope(world.tenant):
        connected_waba.waba.connection_status = ConnectionStatus.DISCONNECTED
        connected_waba.waba.save()
    page = page_of(connected_waba)
    response = post_from(
        login(world.admin),
        f"/t/acme/settings/whatsapp/accounts/{connected_waba.waba.pk}/sync/",
        page,
    )
    assert response.redirect_chain[-1][0].endswith(page)
    assert "Only a connected account can be synced" in response.content.decode()


def test_only_a_failed_onboarding_can_be_retried(world: World) -> None:
    with tenant_scope(world.tenant):
        ob = Onboarding.objects.create(status=OnboardingStatus.SUCCEEDED)
    page = f"/t/acme/settings/whatsapp/onboarding/{ob.pk}/"
    response = post_from(login(world.owner), f"{page}retry/", page)
    assert response.redirect_chain[-1][0].endswith(page)
    assert "Only a failed connection can be retried" in response.content.decode()
    with tenant_scope(world.tenant):
        assert Onboarding.objects.get(pk=ob.pk).status == OnboardingStatus.SUCCEEDED


def test_missing_and_foreign_ids_answer_the_same_404(
    world: World, connected_waba: Connected, other_connected_waba: Connected
) -> None:
    c = login(world.owner)
    for pk in (other_connected_waba.waba.pk, 999_999_999):
        assert c.get(f"/t/acme/settings/whatsapp/accounts/{pk}/").status_code == 404
        assert c.post(f"/t/acme/settings/whatsapp/accounts/{pk}/sync/").status_code == 404
        api = c.get(f"/api/v1/t/acme/wabas/{pk}/")
        assert (api.status_code, api.json()["error"]["code"]) == (404, "not_found")


def test_an_agent_is_refused_connecting_in_json(world: World) -> None:
    response = login(world.agent).post(
        "/t/acme/settings/whatsapp/connect/", b"{nope", content_type="application/json"
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "permission_denied",
        "Only owners and admins can connect WhatsApp.",
    )


def test_a_multipart_body_on_the_connect_endpoint_is_refused_as_not_json(  # type: ignore[no-untyped-def]
    world,
) -> None:
    from django.test import Client

    client = Client()
    client.force_login(world.owner.user)
    response = client.post(f"/t/{world.tenant.slug}/settings/whatsapp/connect/", {"code": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
