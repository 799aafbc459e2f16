"""The business profile through the REST API: the page's checks and error bodies, roles,
tenants, the logo, retry and refresh (against the mock Meta server over HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from senders.models import BusinessProfileSync, ProfileSyncState
from tests.factories import World
from tests.fixtures_senders import Connected
from tests.senders.test_business_profile import GOOD, mock_profile
from tests.senders.test_profile_logo import jpeg, png, upload
from waba_portal.mock_meta.control_client import MockMeta

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


def api(m: Membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(m.user)
    client.force_login(m.user)  # the tenant middleware reads the session
    return client


def url(c: Connected, suffix: str = "", *, pk: int | None = None) -> str:
    return f"/api/v1/t/acme/phone-numbers/{pk or c.phone.pk}/business-profile/{suffix}"


def test_get_reads_meta_when_missing_then_put_goes_live(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    first = api(world.agent).get(url(c))
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["state"] is None and body["at_meta"]["fetched_at"]
    assert body["at_meta"]["vertical"] == "UNDEFINED" and body["vertical"] == ""
    put = api(world.admin).put(url(c), GOOD, format="json")
    assert put.status_code == 202, put.content
    saved = put.json()
    assert set(saved["changed"]) == set(GOOD)
    assert saved["state"] == "live" and saved["problem"] is None and saved["attempts"] == 1
    assert saved["at_meta"]["about"] == GOOD["about"] and saved["websites"] == GOOD["websites"]
    assert mock_profile(mock_meta, c)["vertical"] == "RESTAURANT"
    again = api(world.admin).put(url(c), GOOD, format="json")
    assert again.status_code == 200 and again.json()["changed"] == []


def test_patch_changes_only_what_it_names(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    api(world.owner).put(url(c), GOOD, format="json")
    patched = api(world.owner).patch(url(c), {"email": "orders@bakery.example"}, format="json")
    assert patched.status_code == 202 and patched.json()["changed"] == ["email"]
    at_meta = mock_profile(mock_meta, c)
    assert at_meta["email"] == "orders@bakery.example" and at_meta["about"] == GOOD["about"]
    assert api(world.owner).patch(url(c), {}, format="json").json()["changed"] == []


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"about": "x" * 140}, {"about"}),
        ({"about": "Hi", "email": "nope"}, {"email"}),
        ({"about": "Hi", "websites": ["ftp://a.example"]}, {"websites.0"}),
        (
            {
                "about": "Hi",
                "websites": ["https://a.example", "https://b.example", "https://c.example"],
            },
            {"websites"},
        ),
        ({"about": "Hi", "vertical": "SPACE"}, {"vertical"}),
        (
            {"about": "Hi", "description": "d" * 513, "address": "a" * 257},
            {"description", "address"},
        ),
        ({"email": "a@b.example"}, {"about"}),  # a PUT without About empties it: refused
    ],
)
def test_invalid_fields_answer_400_with_every_field(
    world: World, connected_waba: Connected, data: dict[str, Any], fields: set[str]
) -> None:
    answer = api(world.owner).put(url(connected_waba), data, format="json")
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "invalid" and set(error["details"]["fields"]) == fields
    assert all(isinstance(m, str) and m for ms in error["details"]["fields"].values() for m in ms)
    with tenant_scope(connected_waba.tenant):
        assert not BusinessProfileSync.objects.exclude(state=ProfileSyncState.LIVE).exists()


def test_a_body_that_is_not_an_object_is_refused(world: World, connected_waba: Connected) -> None:
    answer = api(world.owner).put(url(connected_waba), ["about"], format="json")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid"


def test_the_logo_through_the_api(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    assert api(world.agent).get(url(c, "picture/")).status_code == 204
    sent = api(world.owner).post(
        url(c, "picture/"), {"picture": upload(jpeg(800, 500)), "crop": "start"}, format="multipart"
    )
    assert sent.status_code == 202, sent.content
    body = sent.json()
    assert body["uploaded"] == {
        "width": 500,
        "height": 500,
        "cropped": True,
        "bytes": body["uploaded"]["bytes"],
    }
    assert body["state"] == "live" and body["picture"].endswith("/business-profile/picture/")
    assert body["at_meta"]["profile_picture_url"]
    shown = api(world.agent).get(url(c, "picture/"))
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    kept = shown.getvalue()
    import requests

    assert requests.get(body["at_meta"]["profile_picture_url"], timeout=5).content == kept


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (png(600, 600), "picture_not_jpeg"),
        (jpeg(399, 400), "picture_too_small"),
        (b"\xff\xd8\xff" + b"garbage" * 100, "picture_corrupt"),
        (jpeg(500, 500) + b"\0" * (6 * 1024 * 1024), "picture_too_large"),
    ],
)
def test_a_bad_logo_answers_400_with_its_code(
    world: World, connected_waba: Connected, data: bytes, code: str
) -> None:
    answer = api(world.owner).post(
        url(connected_waba, "picture/"), {"picture": upload(data)}, format="multipart"
    )
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == code and error["details"]["fields"]["picture"] == [error["message"]]


def test_no_file_and_a_bad_crop_are_refused(world: World, connected_waba: Connected) -> None:
    client = api(world.owner)
    missing = client.post(url(connected_waba, "picture/"), {}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "picture_missing"
    crop = client.post(
        url(connected_waba, "picture/"),
        {"picture": upload(jpeg(500, 500)), "crop": "sideways"},
        format="multipart",
    )
    assert crop.status_code == 400 and "crop" in crop.json()["error"]["details"]["fields"]


def test_retry_and_refresh(world: World, connected_waba: Connected, mock_meta: MockMeta) -> None:
    c = connected_waba
    client = api(world.owner)
    assert client.post(url(c, "retry/")).status_code == 409  # nothing failed
    mock_meta.fault(
        "POST", r"/whatsapp_business_profile$", code=100, details="Param about is bad", times=1
    )
    failed = client.put(url(c), GOOD, format="json").json()
    assert failed["state"] == "failed"
    assert failed["problem"]["code"] == "profile_rejected" and failed["problem"]["url"]
    assert failed["problem"]["steps"] and "about is bad" in failed["meta_message"]
    retried = client.post(url(c, "retry/"))
    assert retried.status_code == 202 and retried.json()["state"] == "live"
    refreshed = client.post(url(c, "refresh/"))
    assert refreshed.status_code == 200 and refreshed.json()["at_meta"]["about"] == GOOD["about"]
    mock_meta.fault("GET", r"/whatsapp_business_profile$", code=2, http_status=503, times=3)
    down = client.post(url(c, "refresh/"))
    assert down.status_code == 409
    assert down.json()["error"]["code"] == "meta_error"
    assert down.json()["error"]["details"]["problem"] == "meta_unavailable"


def test_agents_read_but_do_not_write(world: World, connected_waba: Connected) -> None:
    c = connected_waba
    agent = api(world.agent)
    assert agent.get(url(c)).status_code == 200
    assert agent.put(url(c), GOOD, format="json").status_code == 403
    assert agent.patch(url(c), {"about": "x"}, format="json").status_code == 403
    assert agent.post(url(c, "picture/"), {"picture": upload(jpeg(500, 500))}).status_code == 403
    assert agent.post(url(c, "retry/")).status_code == 403
    assert agent.post(url(c, "refresh/")).status_code == 403
    with tenant_scope(c.tenant):
        assert not BusinessProfileSync.objects.exists()


def test_another_tenant_s_number_is_not_found(
    world: World, connected_waba: Connected, other_connected_waba: Connected
) -> None:
    theirs = other_connected_waba.phone.pk
    owner = api(world.owner)
    for suffix in ("", "picture/"):
        assert owner.get(url(connected_waba, suffix, pk=theirs)).status_code == 404
    assert owner.put(url(connected_waba, pk=theirs), GOOD, format="json").status_code == 404
    assert owner.patch(url(connected_waba, pk=theirs), GOOD, format="json").status_code == 404
    for suffix in ("picture/", "retry/", "refresh/"):
        assert owner.post(url(connected_waba, suffix, pk=theirs)).status_code == 404
    assert api(world.other_owner).get(url(connected_waba)).status_code == 404
