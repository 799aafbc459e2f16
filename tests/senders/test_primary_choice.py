"""The primary sender is the tenant's choice: kept across a disconnect, told when it cannot send.

While the chosen number is away another connected number stands in; when it is back it
sends again. A primary that is connected but cannot send (a rejected name, a flag, a
registration that failed) stays primary, and the account's page and the API say why
and offer to switch.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import ConnectionStatus, PhoneNumber, WhatsAppAccount
from senders.services import phone_numbers
from tests.factories import World
from tests.fixtures_senders import Connected, ConnectWaba

pytestmark = pytest.mark.django_db(transaction=True)


def login(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def primary_pks(world: World) -> list[int]:
    with tenant_scope(world.tenant):
        return list(PhoneNumber.objects.filter(is_primary=True).values_list("pk", flat=True))


def sync_now(c: Connected) -> None:
    from senders import tasks as sender_tasks

    sender_tasks.sync_waba_task.delay(c.tenant.pk, c.waba.pk)


# --- Kept across disconnect and reconnect ------------------------------------------------


def test_the_chosen_number_is_primary_again_when_it_comes_back_to_its_account(
    world: World, connect_waba: ConnectWaba, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    first, chosen = c.phones
    assert primary_pks(world) == [first.pk]  # the first number sends until one is chosen
    login(world.owner).post(f"/t/acme/settings/whatsapp/numbers/{chosen.pk}/primary/")
    assert primary_pks(world) == [chosen.pk]

    mock_meta.patch("phone", chosen.phone_number_id, waba_id="999999999")  # moved away
    sync_now(c)
    assert c.reload_phone(1).connection_status == ConnectionStatus.DISCONNECTED
    assert primary_pks(world) == [first.pk]  # stands in meanwhile

    mock_meta.patch("phone", chosen.phone_number_id, waba_id=c.waba_id)  # back
    sync_now(c)
    assert c.reload_phone(1).connection_status == ConnectionStatus.CONNECTED
    assert primary_pks(world) == [chosen.pk]


def connect(client: Client, signup: dict[str, Any]) -> None:
    response = client.post(
        "/t/acme/settings/whatsapp/connect/",
        json.dumps({"code": signup["code"], "session": signup["session_info"]}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def test_the_chosen_number_is_primary_again_after_its_account_is_reconnected(
    world: World, mock_meta, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.GRAPH_API_BASE_URL = mock_meta.base_url
    owner = login(world.owner)
    older = mock_meta.signup(business_name="Older Co", phone="+4915170000001")
    connect(owner, older)
    chosen_signup = mock_meta.signup(business_name="Chosen Co", phone="+4915170000002")
    connect(owner, chosen_signup)
    with tenant_scope(world.tenant):
        stand_in = PhoneNumber.objects.get(phone_number_id=older["phone_number_id"])
        chosen = PhoneNumber.objects.get(phone_number_id=chosen_signup["phone_number_id"])
    assert primary_pks(world) == [stand_in.pk]
    owner.post(f"/t/acme/settings/whatsapp/numbers/{chosen.pk}/primary/")
    assert primary_pks(world) == [chosen.pk]

    owner.post(f"/t/acme/settings/whatsapp/accounts/{chosen.waba_id}/disconnect/")
    assert primary_pks(world) == [stand_in.pk]

    again = mock_meta.signup(
        business_id=chosen_signup["business_id"], waba_id=chosen_signup["waba_id"]
    )
    connect(owner, again)
    with tenant_scope(world.tenant):
        assert WhatsAppAccount.objects.get(pk=chosen.waba_id).is_connected
    assert primary_pks(world) == [chosen.pk]


def test_a_stand_in_does_not_become_the_choice(
    world: World, connect_waba: ConnectWaba, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    """Two disconnects in a row: the stand-in of the first does not take the choice over."""
    c = connect_waba(world.tenant, numbers=3)
    first, chosen, third = c.phones
    with tenant_scope(world.tenant):
        phone_numbers.phone_number_set_primary(actor=world.owner, phone=c.reload_phone(1))
    mock_meta.patch("phone", chosen.phone_number_id, waba_id="999999999")
    sync_now(c)
    assert primary_pks(world) == [first.pk]
    mock_meta.patch("phone", first.phone_number_id, waba_id="999999999")
    sync_now(c)
    assert primary_pks(world) == [third.pk]
    mock_meta.patch("phone", first.phone_number_id, waba_id=c.waba_id)
    sync_now(c)
    assert primary_pks(world) == [third.pk]  # the first was only a stand-in
    mock_meta.patch("phone", chosen.phone_number_id, waba_id=c.waba_id)
    sync_now(c)
    assert primary_pks(world) == [chosen.pk]


def test_choosing_the_stand_in_makes_it_the_choice(
    world: World, connect_waba: ConnectWaba, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    first, chosen = c.phones
    owner = login(world.owner)
    owner.post(f"/t/acme/settings/whatsapp/numbers/{chosen.pk}/primary/")
    mock_meta.patch("phone", chosen.phone_number_id, waba_id="999999999")
    sync_now(c)
    assert primary_pks(world) == [first.pk]
    owner.post(f"/t/acme/settings/whatsapp/numbers/{first.pk}/primary/")  # keep this one
    mock_meta.patch("phone", chosen.phone_number_id, waba_id=c.waba_id)
    sync_now(c)
    assert primary_pks(world) == [first.pk]


# --- A primary that cannot send ---------------------------------------------------------

BLOCKS = {
    "name_rejected": (
        {
            "name_status": "DECLINED",
            "problem": ts.DISPLAY_NAME_REJECTED,
            "connection_status": ConnectionStatus.ACTION_REQUIRED,
        },
        ts.SEND_NAME_REJECTED,
    ),
    "not_registered": (
        {"meta_status": "PENDING", "connection_status": ConnectionStatus.PENDING},
        ts.SEND_NOT_REGISTERED,
    ),
    "flagged": (
        {"meta_status": "FLAGGED", "connection_status": ConnectionStatus.RESTRICTED},
        ts.SEND_RESTRICTED,
    ),
}


def block_primary(c: Connected, values: dict[str, Any]) -> PhoneNumber:
    with tenant_scope(c.tenant):
        PhoneNumber.objects.filter(pk=c.phone.pk).update(**values)
    return c.reload_phone()


def page(client: Client, c: Connected) -> str:
    response = client.get(f"/t/acme/settings/whatsapp/accounts/{c.waba.pk}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_a_primary_that_cannot_send_is_shown_with_why_and_a_switch(
    world: World, connect_waba: ConnectWaba, block: str
) -> None:  # type: ignore[no-untyped-def]
    values, code = BLOCKS[block]
    c = connect_waba(world.tenant, numbers=2)
    primary = block_primary(c, values)
    assert primary.is_primary
    owner = login(world.owner)

    html = page(owner, c)
    assert f'data-send-block="{code}"' in html
    assert f"The primary sender {primary.display_phone_number} cannot send messages" in html
    assert str(ts.SEND_BLOCKS[code]).replace("'", "&#x27;") in html
    assert 'id="primary-switch"' in html and f'value="{c.phones[1].pk}"' in html

    response = owner.post(
        "/t/acme/settings/whatsapp/numbers/primary/",
        {"phone": c.phones[1].pk},
        headers={"referer": f"http://testserver/t/acme/settings/whatsapp/accounts/{c.waba.pk}/"},
        follow=True,
    )
    assert "is now the primary sender" in response.content.decode()
    assert primary_pks(world) == [c.phones[1].pk]
    assert 'id="primary-blocked"' not in page(owner, c)


def test_agents_see_the_warning_without_the_switch(world: World, connect_waba: ConnectWaba) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    block_primary(c, BLOCKS["name_rejected"][0])
    agent = login(world.agent)
    html = page(agent, c)
    assert 'id="primary-blocked"' in html and 'id="primary-switch"' not in html
    assert "Ask an owner or admin to switch the primary sender." in html
    refused = agent.post("/t/acme/settings/whatsapp/numbers/primary/", {"phone": c.phones[1].pk})
    assert refused.status_code == 403
    assert primary_pks(world) == [c.phone.pk]


def test_with_no_number_to_switch_to_the_page_says_so(
    world: World, connected_waba: Connected
) -> None:
    c = connected_waba
    block_primary(c, BLOCKS["flagged"][0])
    html = page(login(world.owner), c)
    assert 'data-send-block="restricted"' in html
    assert 'id="primary-no-alternative"' in html and 'id="primary-switch"' not in html


def test_a_primary_that_can_send_shows_no_warning(world: World, connect_waba: ConnectWaba) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    with tenant_scope(c.tenant):  # another number that cannot send is not the primary's matter
        PhoneNumber.objects.filter(pk=c.phones[1].pk).update(name_status="DECLINED")
    assert 'id="primary-blocked"' not in page(login(world.owner), c)


def test_the_switch_needs_a_number_of_the_workspace(
    world: World, connect_waba: ConnectWaba, other_connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    owner = login(world.owner)
    back = f"http://testserver/t/acme/settings/whatsapp/accounts/{c.waba.pk}/"
    response = owner.post(
        "/t/acme/settings/whatsapp/numbers/primary/", headers={"referer": back}, follow=True
    )
    assert "Choose the number that should send messages." in response.content.decode()
    foreign = owner.post(
        "/t/acme/settings/whatsapp/numbers/primary/", {"phone": other_connected_waba.phone.pk}
    )
    assert foreign.status_code == 404
    with tenant_scope(c.tenant):
        PhoneNumber.objects.filter(pk=c.phones[1].pk).update(
            connection_status=ConnectionStatus.PENDING
        )
    refused = owner.post(
        "/t/acme/settings/whatsapp/numbers/primary/",
        {"phone": c.phones[1].pk},
        headers={"referer": back},
        follow=True,
    )
    assert "Only a connected number can be the primary sender." in refused.content.decode()
    assert primary_pks(world) == [c.phone.pk]


# --- The API ------------------------------------------------------------------------------


def api(m: Membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(m.user)
    client.force_login(m.user)
    return client


def test_the_api_says_the_primary_cannot_send_and_switches(
    world: World, connect_waba: ConnectWaba
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    primary = block_primary(c, BLOCKS["name_rejected"][0])
    owner = api(world.owner)
    listed = owner.get("/api/v1/t/acme/phone-numbers/").json()["results"]
    numbers = {n["id"]: n for n in listed}
    blocked, other = numbers[primary.pk], numbers[c.phones[1].pk]
    assert blocked["can_send"] is False
    assert blocked["send_blocked"] == {
        "code": "name_rejected",
        "message": str(ts.SEND_BLOCKS[ts.SEND_NAME_REJECTED]),
        "switch_to": [other["id"]],
    }
    assert (other["can_send"], other["send_blocked"]) == (True, None)
    (waba,) = owner.get("/api/v1/t/acme/wabas/").json()["results"]
    assert [n["can_send"] for n in waba["phone_numbers"] if n["id"] == primary.pk] == [False]

    assert (
        api(world.agent).post(f"/api/v1/t/acme/phone-numbers/{other['id']}/primary/").status_code
        == 403
    )
    switched = owner.post(f"/api/v1/t/acme/phone-numbers/{other['id']}/primary/")
    assert switched.status_code == 200
    assert (switched.json()["is_primary"], switched.json()["can_send"]) == (True, True)
    assert primary_pks(world) == [other["id"]]


def test_the_api_refuses_a_number_that_cannot_be_primary(
    world: World, connect_waba: ConnectWaba
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    with tenant_scope(c.tenant):
        PhoneNumber.objects.filter(pk=c.phones[1].pk).update(
            connection_status=ConnectionStatus.DISCONNECTED
        )
    response = api(world.owner).post(f"/api/v1/t/acme/phone-numbers/{c.phones[1].pk}/primary/")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "Only a connected number can be the primary sender."
    )
