"""The REST API for display names, the Official Business Account badge and QR codes:
the pages' checks and messages in the one error body, managers only for writes, another
tenant's numbers and codes not found."""

from __future__ import annotations

import io
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import QrCode
from senders.services import sync
from tests.factories import QrCodeFactory, World
from tests.fixtures_celery import wait_for
from tests.fixtures_senders import Connected

pytestmark = pytest.mark.django_db(transaction=True)

OBA = {
    "business_website_url": "https://www.acme.example",
    "primary_country_of_operation": "GB",
    "primary_language": "en",
    "supporting_links": ["https://news.example/acme"],
}


def api(m: Membership) -> APIClient:
    c = APIClient()
    c.force_authenticate(m.user)
    c.force_login(m.user)  # the tenant middleware reads the session
    return c


def base(c: Connected) -> str:
    return f"/api/v1/t/acme/phone-numbers/{c.phone.pk}"


def error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


# --- Display name -----------------------------------------------------------------------


def test_display_name_through_the_api(mock_meta, world: World, connected_waba: Connected) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.config(name_review_delay=None)
    owner = api(world.owner)
    state = owner.get(f"{base(c)}/display-name/").json()
    assert (state["verified_name"], state["name_status"], state["change"]) == (
        "Acme WABA",
        "APPROVED",
        None,
    )
    assert state["rules"]["max_length"] == 75

    refused = owner.post(f"{base(c)}/display-name/", {"name": "Customer Service"}, format="json")
    assert refused.status_code == 400
    err = error(refused)
    assert err["code"] == "display_name_invalid"
    assert "generic words only" in err["details"]["fields"]["name"][0]

    warned = owner.post(f"{base(c)}/display-name/", {"name": "ACME Foods"}, format="json")
    assert warned.status_code == 400 and error(warned)["code"] == "display_name_warnings"
    assert error(warned)["details"]["warnings"]

    check = owner.post(f"{base(c)}/display-name/check/", {"name": "ACME Foods"}, format="json")
    assert check.json()["problems"] == [] and check.json()["warnings"]

    sent = owner.post(
        f"{base(c)}/display-name/",
        {"name": "ACME Foods", "confirm_warnings": True},
        format="json",
    )
    assert sent.status_code == 202, sent.content
    change = sent.json()["change"]
    assert (change["state"], change["name"], change["keeps_current_name"]) == (
        "in_review",
        "ACME Foods",
        True,
    )

    mock_meta.emit(
        field="phone_number_name_update",
        phone_number_id=c.phone_number_id,
        decision="REJECTED",
        requested_verified_name="ACME Foods",
        rejection_reason="NAME_FORMAT_UNACCEPTABLE",
    )
    # The webhook goes nowhere here: the sync reads the decision.
    with tenant_scope(c.tenant):
        sync.waba_sync(waba_pk=c.waba.pk)
    change = owner.get(f"{base(c)}/display-name/").json()["change"]
    assert change["state"] == "rejected"
    assert change["problem"]["code"] == ts.DISPLAY_NAME_REJECTED

    register = owner.post(f"{base(c)}/display-name/register/", format="json")
    assert register.status_code == 409 and "No approved display name" in error(register)["message"]


def test_a_body_that_is_no_object_is_a_400(world: World, connected_waba: Connected) -> None:
    owner = api(world.owner)
    for path in ("display-name/", "official-business-account/", "qr-codes/"):
        response = owner.post(f"{base(connected_waba)}/{path}", [1, 2], format="json")
        assert response.status_code == 400, path
        assert error(response)["code"] == "invalid"


# --- Official Business Account ------------------------------------------------------------


def test_the_badge_through_the_api(mock_meta, world: World, connected_waba: Connected) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.config(oba_review_delay=0.2, oba_rules=[])
    owner = api(world.owner)
    state = owner.get(f"{base(c)}/official-business-account/").json()
    assert (state["status"], state["can_request"], state["request"]) == ("NOT_STARTED", True, None)

    bad = owner.post(
        f"{base(c)}/official-business-account/",
        {**OBA, "supporting_links": [], "primary_language": "xx"},
        format="json",
    )
    assert bad.status_code == 400
    assert set(error(bad)["details"]["fields"]) == {"supporting_links", "primary_language"}

    made = owner.post(f"{base(c)}/official-business-account/", OBA, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["status"] == "PENDING" and made.json()["can_request"] is False

    def decided() -> bool:
        answer = owner.post(f"{base(c)}/official-business-account/refresh/", format="json")
        return bool(answer.json()["status"] == "APPROVED")

    wait_for(decided, timeout=10, interval=0.3)
    state = owner.get(f"{base(c)}/official-business-account/").json()
    assert state["is_official_business_account"] is True
    assert state["request"]["supporting_links"] == OBA["supporting_links"]


# --- QR codes -----------------------------------------------------------------------------


def test_qr_codes_through_the_api(mock_meta, world: World, connected_waba: Connected) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    owner = api(world.owner)
    too_long = owner.post(f"{base(c)}/qr-codes/", {"prefilled_message": "x" * 141}, format="json")
    assert too_long.status_code == 400
    assert "at most 140" in error(too_long)["details"]["fields"]["prefilled_message"][0]

    made = owner.post(f"{base(c)}/qr-codes/", {"prefilled_message": "Hi there"}, format="json")
    assert made.status_code == 201, made.content
    qr = made.json()
    assert qr["deep_link_url"] == f"https://wa.me/message/{qr['code']}"
    listed = owner.get(f"{base(c)}/qr-codes/").json()
    assert [q["code"] for q in listed["results"]] == [qr["code"]] and listed["next"] is None

    png = owner.get(qr["image_png_url"])
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))]
    assert decoded == [qr["deep_link_url"]]
    assert b"<svg" in owner.get(qr["image_svg_url"]).content
    assert owner.get(f"{base(c)}/qr-codes/{qr['id']}/image/?type=gif").status_code == 400

    patched = owner.patch(
        f"{base(c)}/qr-codes/{qr['id']}/", {"prefilled_message": "Hello"}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["prefilled_message"] == "Hello"
    synced = owner.post(f"{base(c)}/qr-codes/sync/", format="json").json()
    assert (synced["added"], synced["removed"]) == (0, 0)
    assert owner.delete(f"{base(c)}/qr-codes/{qr['id']}/").status_code == 204
    assert owner.get(f"{base(c)}/qr-codes/{qr['id']}/").status_code == 404


def test_roles_and_another_tenant(world: World, connected_waba: Connected) -> None:
    c = connected_waba
    qr = QrCodeFactory(phone_number=c.phone)
    agent, admin = api(world.agent), api(world.admin)
    assert agent.get(f"{base(c)}/qr-codes/").status_code == 200
    assert agent.get(f"{base(c)}/display-name/").status_code == 200
    assert agent.get(f"{base(c)}/official-business-account/").status_code == 200
    assert agent.get(f"{base(c)}/qr-codes/{qr.pk}/image/").status_code == 200
    for method, path, body in [
        ("post", "qr-codes/", {"prefilled_message": "Hi"}),
        ("patch", f"qr-codes/{qr.pk}/", {"prefilled_message": "Hi"}),
        ("delete", f"qr-codes/{qr.pk}/", None),
        ("post", "qr-codes/sync/", None),
        ("post", "display-name/", {"name": "Acme Foods"}),
        ("post", "display-name/register/", None),
        ("post", "official-business-account/", OBA),
        ("post", "official-business-account/refresh/", None),
    ]:
        response = getattr(agent, method)(f"{base(c)}/{path}", body, format="json")
        assert response.status_code == 403, (method, path)
        assert error(response)["code"] == "permission_denied"
    # An admin may: the first write reaches the service (here, a message that is too long).
    too_long = admin.post(f"{base(c)}/qr-codes/", {"prefilled_message": "x" * 200}, format="json")
    assert too_long.status_code == 400
    with tenant_scope(c.tenant):
        assert QrCode.objects.filter(pk=qr.pk).exists()


def test_another_tenants_numbers_and_codes_are_not_found(
    world: World, connected_waba: Connected, other_connected_waba: Connected
) -> None:
    theirs = QrCodeFactory(phone_number=other_connected_waba.phone)
    owner = api(world.owner)
    their = base(other_connected_waba)
    for path in ("display-name/", "official-business-account/", "qr-codes/"):
        assert owner.get(f"{their}/{path}").status_code == 404, path
    assert owner.get(f"{base(connected_waba)}/qr-codes/{theirs.pk}/").status_code == 404
    assert owner.get(f"{base(connected_waba)}/qr-codes/{theirs.pk}/image/").status_code == 404
    assert owner.delete(f"{base(connected_waba)}/qr-codes/{theirs.pk}/").status_code == 404
