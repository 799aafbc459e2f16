"""Every problem reaches the sender information page with its fix and its entry's link."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import ConnectionStatus
from tests.fixtures_senders import Connected
from tests.senders.test_events import ban, post

pytestmark = pytest.mark.django_db(transaction=True)  # webhooks are processed at commit


def page_of(c: Connected) -> str:
    client = Client()
    with tenant_scope(c.tenant):
        owner = c.tenant.memberships.get(role="owner").user
    client.force_login(owner)
    return client.get(
        f"/t/{c.tenant.slug}/settings/whatsapp/accounts/{c.waba.pk}/"
    ).content.decode()


def assert_shown(page: str, key: str, slug: str) -> None:
    problem = ts.get(key)
    assert f'data-problem="{key}"' in page
    assert str(problem.steps[0]).replace("'", "&#x27;") in page
    assert f"/t/{slug}/settings/whatsapp/troubleshooting/#{key}" in page


def test_disabled_by_meta_through_a_webhook_shows_the_appeal(connected_waba: Connected) -> None:
    c = connected_waba
    post(c, ban("DISABLE"))
    page = page_of(c)
    assert_shown(page, ts.WABA_DISABLED, c.tenant.slug)
    assert 'data-status="disabled"' in page


def test_token_expired_on_sync_shows_reconnect(
    connected_waba: Connected, mock_meta, settings
) -> None:  # type: ignore[no-untyped-def]
    from senders.services import sync

    c = connected_waba
    mock_meta.fault("GET", rf"/{c.waba_id}$", code=190, subcode=463, http_status=401)
    with tenant_scope(c.tenant):
        sync.waba_sync(waba_pk=c.waba.pk)
    assert_shown(page_of(c), ts.TOKEN_INVALID, c.tenant.slug)


@pytest.mark.parametrize("key", sorted(ts.CATALOGUE))
def test_each_catalogue_entry_renders_on_the_page(connected_waba: Connected, key: str) -> None:
    c = connected_waba
    with tenant_scope(c.tenant):
        c.waba.problem, c.waba.connection_status = key, ConnectionStatus.ACTION_REQUIRED
        c.waba.save()
    assert_shown(page_of(c), key, c.tenant.slug)


def test_troubleshooting_page_lists_every_entry(connected_waba: Connected) -> None:
    client = Client()
    with tenant_scope(connected_waba.tenant):
        agent = connected_waba.tenant.memberships.get(role="agent").user
    client.force_login(agent)
    page = client.get(f"/t/{connected_waba.tenant.slug}/settings/whatsapp/troubleshooting/")
    for key in ts.CATALOGUE:
        assert f'id="{key}"' in page.content.decode()


def test_meta_status_values_are_shown_in_words(connected_waba: Connected) -> None:
    c = connected_waba
    with tenant_scope(c.tenant):
        c.waba.business_verification_status = "pending_need_more_info"
        c.waba.save()
    page = page_of(c)
    assert "More information needed" in page
    assert ">pending_need_more_info<" not in page
