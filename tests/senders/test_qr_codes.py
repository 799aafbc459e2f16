"""QR codes and message links: made, changed and deleted at the mock Meta, drawn here.

The image is decoded back with zxing-cpp: what a phone's camera reads is the link.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import zxingcpp
from django.test import Client
from PIL import Image

from accounts.models import AuditEvent, Membership
from accounts.tenancy import tenant_scope
from senders.models import QrCode
from senders.services import qr_codes
from senders.services.graph import graph_client
from tests.factories import PhoneNumberFactory, QrCodeFactory, World
from tests.fixtures_senders import Connected
from waba_portal.errors import Invalid

pytestmark = pytest.mark.django_db(transaction=True)


def login(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def page(c: Connected, tail: str = "") -> str:
    return f"/t/acme/settings/whatsapp/numbers/{c.phone.pk}/qr-codes/{tail}"


def ours(c: Connected) -> list[QrCode]:
    with tenant_scope(c.tenant):
        return list(QrCode.objects.filter(phone_number_id=c.phone.pk).order_by("id"))


def at_meta(c: Connected) -> dict[str, str]:
    client = graph_client(token=c.token)
    try:
        return {q["code"]: q["prefilled_message"] for q in client.qr_codes_list(c.phone_number_id)}
    finally:
        client.close()


def decode(data: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def htmx(client: Client, path: str, data: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, data or {}, headers={"HX-Request": "true"})


def test_create_edit_delete_round_trip_with_the_image_read_back(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    owner = login(world.owner)
    created = htmx(owner, page(c), {"prefilled_message": "  Hello! I'd like to order.  "})
    assert created.status_code == 200, created.content
    (qr,) = ours(c)
    assert qr.prefilled_message == "Hello! I'd like to order."
    assert qr.deep_link_url == f"https://wa.me/message/{qr.code}"
    assert at_meta(c) == {qr.code: "Hello! I'd like to order."}
    html = created.content.decode()
    assert f'data-qr="{qr.code}"' in html and f'value="{qr.deep_link_url}"' in html
    assert "data-copy-target" in html and "is ready" in html

    png = owner.get(page(c, f"{qr.pk}/qr.png"))
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert decode(png.content) == [qr.deep_link_url]
    svg = owner.get(page(c, f"{qr.pk}/qr.svg?download=1"))
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert "attachment" in svg["Content-Disposition"] and qr.code in svg["Content-Disposition"]
    # The page draws it from our own URL, never from Meta's (or anyone's) image host.
    assert "scontent" not in html and f"/qr-codes/{qr.pk}/qr.svg" in html

    edited = htmx(
        owner, page(c, f"{qr.pk}/edit/"), {f"qr{qr.pk}-prefilled_message": "Where is my order?"}
    )
    assert edited.status_code == 200
    (qr,) = ours(c)
    assert qr.prefilled_message == "Where is my order?"
    assert at_meta(c) == {qr.code: "Where is my order?"}
    # The link and the code stay the same: printed copies keep working.
    assert decode(owner.get(page(c, f"{qr.pk}/qr.png")).content) == [qr.deep_link_url]

    deleted = htmx(owner, page(c, f"{qr.pk}/delete/"))
    assert deleted.status_code == 200 and 'id="qr-empty"' in deleted.content.decode()
    assert ours(c) == [] and at_meta(c) == {}
    with tenant_scope(c.tenant):
        actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["qr_code.created", "qr_code.updated", "qr_code.deleted"]


@pytest.mark.parametrize(
    ("message", "says"),
    [("", "Enter the message"), ("   ", "Enter the message"), ("x" * 141, "at most 140")],
)
def test_a_message_meta_refuses_is_refused_beside_the_field(
    mock_meta, world: World, connected_waba: Connected, message: str, says: str
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    response = htmx(login(world.owner), page(c), {"prefilled_message": message})
    assert response.status_code == 400
    html = response.content.decode()
    assert says in html and 'aria-invalid="true"' in html
    assert ours(c) == [] and at_meta(c) == {}


def test_the_longest_message_meta_takes_is_taken(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    message = "ü" * 140
    assert htmx(login(world.owner), page(c), {"prefilled_message": message}).status_code == 200
    assert list(at_meta(c).values()) == [message]
    with pytest.raises(Invalid):
        qr_codes.prefilled_message_check(message + "!")


def test_a_code_deleted_in_whatsapp_manager_is_removed_here(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    owner = login(world.owner)
    htmx(owner, page(c), {"prefilled_message": "Hi"})
    htmx(owner, page(c), {"prefilled_message": "Hello"})
    first, second = ours(c)
    client = graph_client(token=c.token)
    client.qr_code_delete(c.phone_number_id, first.code)
    made_there = client.qr_code_create(c.phone_number_id, "Made in WhatsApp Manager")
    client.close()

    # Editing the deleted code says so and removes it.
    answer = owner.post(
        page(c, f"{first.pk}/edit/"), {f"qr{first.pk}-prefilled_message": "Changed"}, follow=True
    )
    assert "Meta no longer has this QR code" in answer.content.decode()
    assert [q.code for q in ours(c)] == [second.code]

    # "Read from Meta" takes up the code made there.
    synced = htmx(owner, page(c, "sync/"))
    assert synced.status_code == 200 and "1 new" in synced.content.decode()
    assert {q.code for q in ours(c)} == {second.code, made_there["code"]}


def test_agents_see_and_download_but_cannot_change(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    qr = QrCodeFactory(phone_number=c.phone)
    agent = login(world.agent)
    listing = agent.get(page(c))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert f'data-qr="{qr.code}"' in html and 'id="qr-create"' not in html
    assert "data-qr-delete" not in html
    assert decode(agent.get(page(c, f"{qr.pk}/qr.png")).content) == [qr.deep_link_url]
    assert htmx(agent, page(c), {"prefilled_message": "Hi"}).status_code == 403
    assert htmx(agent, page(c, f"{qr.pk}/edit/"), {}).status_code == 403
    assert htmx(agent, page(c, f"{qr.pk}/delete/")).status_code == 403
    assert htmx(agent, page(c, "sync/")).status_code == 403
    assert [q.code for q in ours(c)] == [qr.code]
    assert [r for r in mock_meta.requests() if "message_qrdls" in r["path"]] == []


def test_another_tenants_codes_are_not_found(
    world: World, connected_waba: Connected, other_connected_waba: Connected
) -> None:
    ours_qr = QrCodeFactory(phone_number=connected_waba.phone)
    theirs = QrCodeFactory(phone_number=other_connected_waba.phone)
    owner = login(world.owner)
    # Their number, and their code under our number: both 404.
    their_page = f"/t/acme/settings/whatsapp/numbers/{other_connected_waba.phone.pk}/qr-codes/"
    assert owner.get(their_page).status_code == 404
    assert owner.get(page(connected_waba, f"{theirs.pk}/qr.png")).status_code == 404
    assert owner.post(page(connected_waba, f"{theirs.pk}/delete/")).status_code == 404
    # Our code under another number of ours: 404 too.
    assert owner.get(page(connected_waba, f"{ours_qr.pk}/qr.svg")).status_code == 200
    other_number = PhoneNumberFactory(waba=connected_waba.waba)
    wrong = f"/t/acme/settings/whatsapp/numbers/{other_number.pk}/qr-codes/{ours_qr.pk}/qr.svg"
    assert owner.get(wrong).status_code == 404
    with tenant_scope(world.other_tenant):
        assert QrCode.objects.filter(pk=theirs.pk).exists()
