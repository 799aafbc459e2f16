"""Removing a number: deregistered at Meta, our claim released, its history kept.

The primary sender is removed only with a replacement chosen in the same dialog while
another connected number could send; the last number can go, with a warning first.
"""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AuditEvent
from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import AccountHistory, ConnectionStatus, MetaAsset, PhoneNumber
from senders.services import registration, sync
from tests.factories import World
from tests.fixtures_senders import Connected
from tests.senders.numbers_support import calls, details, login, number_url, reload

pytestmark = pytest.mark.django_db(transaction=True)


def remove(client: Any, phone: PhoneNumber, new_primary: PhoneNumber | None = None) -> Any:
    data = {"new_primary": str(new_primary.pk)} if new_primary else {}
    return client.post(
        number_url(phone, "remove"),
        data,
        headers={"referer": f"http://testserver{number_url(phone)}"},
        follow=True,
    )


def claimed(c: Connected, phone: PhoneNumber) -> bool:
    with tenant_scope(c.tenant):
        return MetaAsset.objects.filter(meta_id=phone.phone_number_id).exists()


def test_removing_a_number_deregisters_it_releases_the_claim_and_keeps_its_history(
    world: World, connect_waba, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    second = c.phones[1]
    assert claimed(c, second)

    response = remove(login(world.admin), second)

    html = response.content.decode()
    assert response.redirect_chain[-1][0].endswith(f"/accounts/{c.waba.pk}/")
    assert f"{second} was removed and deregistered at Meta" in html
    assert len(calls(mock_meta, second, "deregister")) == 1
    phone = reload(c, second)
    assert phone.connection_status == ConnectionStatus.DISCONNECTED
    assert (phone.is_primary, phone.meta_status) == (False, "DISCONNECTED")
    row = details(c, phone)
    assert row is not None and row.removed_at is not None
    assert row.removed_by == world.admin.user
    assert not claimed(c, phone)
    with tenant_scope(c.tenant):
        history = AccountHistory.objects.get(phone_number=phone, kind="connection")
        assert (history.new_value, history.detail["reason"]) == ("disconnected", "removed")
        audit = AuditEvent.objects.get(action="phone_number.removed")
        assert audit.actor == world.admin.user and audit.metadata["deregistered"] is True
    mock = next(p for p in mock_meta.state()["phone_numbers"] if p["id"] == phone.phone_number_id)
    assert mock["status"] == "DISCONNECTED"
    # It stays on the account page, as history, and its page says so.
    assert f'data-number-link="{phone.pk}"' in html
    page = login(world.admin).get(number_url(phone)).content.decode()
    assert 'id="removed-note"' in page and 'id="open-remove"' not in page


def test_the_primary_is_not_removed_without_a_new_primary_when_another_can_send(
    world: World, connect_waba, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    primary, other = c.phones
    owner = login(world.owner)
    page = owner.get(number_url(primary)).content.decode()
    assert 'id="new-primary"' in page and f'<option value="{other.pk}">' in page

    html = remove(owner, primary).content.decode()

    assert "choose the number that sends instead" in html
    assert calls(mock_meta, primary, "deregister") == []
    assert reload(c, primary).is_primary and details(c, primary) is None


def test_the_primary_is_removed_and_the_chosen_number_sends_instead(
    world: World, connect_waba, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    primary, other = c.phones

    html = remove(login(world.owner), primary, new_primary=other).content.decode()

    assert f"{primary} was removed. {other} is the primary sender now." in html
    other, primary = reload(c, other), reload(c, primary)
    assert other.is_primary and other.primary_chosen
    assert not primary.is_primary and not primary.primary_chosen
    assert primary.connection_status == ConnectionStatus.DISCONNECTED


def test_the_last_number_can_go_after_a_warning(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = connected_waba.phone
    owner = login(world.owner)
    page = owner.get(number_url(phone)).content.decode()
    assert 'id="last-number-warning"' in page and 'id="new-primary"' not in page

    remove(owner, phone)

    phone = reload(connected_waba, phone)
    assert phone.connection_status == ConnectionStatus.DISCONNECTED and not phone.is_primary
    with tenant_scope(connected_waba.tenant):
        assert not PhoneNumber.objects.filter(is_primary=True).exists()


def test_a_replacement_must_be_another_connected_number_of_the_tenant(
    world: World, connect_waba, other_connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    primary = c.phones[0]
    owner = login(world.owner)
    assert remove(owner, primary, new_primary=other_connected_waba.phone).status_code == 404
    html = remove(owner, primary, new_primary=primary).content.decode()
    assert "Choose a connected number other than the one you remove." in html
    with tenant_scope(c.tenant):
        PhoneNumber.objects.filter(pk=c.phones[1].pk).update(
            connection_status=ConnectionStatus.PENDING
        )
    html = remove(owner, primary, new_primary=c.phones[1]).content.decode()
    assert "Choose a connected number other than the one you remove." in html
    assert calls(mock_meta, primary, "deregister") == []


def test_a_sync_does_not_bring_a_removed_number_back(world: World, connect_waba, mock_meta) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    second = c.phones[1]
    remove(login(world.owner), second)
    with tenant_scope(c.tenant):
        sync.waba_sync(waba_pk=c.waba.pk)
    phone = reload(c, second)
    assert phone.connection_status == ConnectionStatus.DISCONNECTED
    assert not claimed(c, phone)


def test_meta_not_answering_the_deregister_removes_nothing(
    world: World, connect_waba, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    second = c.phones[1]
    mock_meta.fault("POST", r"/deregister$", code=2, http_status=503, is_transient=True)
    html = remove(login(world.owner), second).content.decode()
    assert str(ts.get(ts.META_UNAVAILABLE).title) in html
    assert reload(c, second).connection_status == ConnectionStatus.CONNECTED
    assert claimed(c, second) and details(c, second) is None


def test_a_number_meta_no_longer_has_registered_is_removed_all_the_same(
    world: World, connect_waba, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    second = c.phones[1]
    mock_meta.patch(
        "phone", second.phone_number_id, status="PENDING", platform_type="NOT_APPLICABLE"
    )
    remove(login(world.owner), second)
    phone = reload(c, second)
    assert phone.connection_status == ConnectionStatus.DISCONNECTED
    with tenant_scope(c.tenant):
        audit = AuditEvent.objects.get(action="phone_number.removed")
    assert audit.metadata["deregistered"] is False


def test_a_removed_number_cannot_be_removed_verified_or_registered_again(
    world: World, connect_waba, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    second = c.phones[1]
    remove(login(world.owner), second)
    phone = reload(c, second)
    with tenant_scope(c.tenant):
        for action in (
            lambda: registration.number_remove(actor=world.owner, phone=phone),
            lambda: registration.number_register(actor=world.owner, phone=phone),
            lambda: registration.verification_code_request(
                actor=world.owner, phone=phone, method="SMS", language="en_US"
            ),
        ):
            with pytest.raises(registration.Conflict) as refused:
                action()
            assert refused.value.code == "number_removed"


def test_an_agent_cannot_remove_a_number(world: World, connect_waba, mock_meta) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    agent = login(world.agent)
    assert 'id="open-remove"' not in agent.get(number_url(c.phones[1])).content.decode()
    assert agent.post(number_url(c.phones[1], "remove")).status_code == 403
    assert (
        agent.post(number_url(c.phones[0], "remove"), {"new_primary": "not-an-id"}).status_code
        == 403
    )
    assert calls(mock_meta, c.phones[1], "deregister") == []
