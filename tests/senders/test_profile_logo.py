"""The logo of a number's business profile: judged by its content, cropped, sent to Meta.

Pictures are made with Pillow here; the upload goes through the mock Meta server's
resumable upload over HTTP (session → bytes → handle) and ends as the picture of the
mock's profile.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import cast

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from senders.models import BusinessProfile, BusinessProfileSync, ProfileSyncState
from senders.services import business_profile as profiles
from tests.factories import World
from tests.fixtures_senders import Connected
from waba_portal.errors import Invalid

pytestmark = pytest.mark.django_db(transaction=True)


def jpeg(width: int, height: int, *, color: tuple[int, int, int] = (200, 30, 30), **save) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="JPEG", **save)
    return out.getvalue()


def halves(width: int, height: int) -> bytes:
    """A JPEG whose first half (left, or top when tall) is red and the rest blue."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    box = (0, 0, width // 2, height) if width > height else (0, 0, width, height // 2)
    image.paste((255, 0, 0), box)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95)
    return out.getvalue()


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 10)).save(out, format="PNG")
    return out.getvalue()


def upload(
    data: bytes, name: str = "logo.jpg", content_type: str = "image/jpeg"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def page_client(m: Membership) -> Client:
    client = Client()
    client.force_login(m.user)
    return client


def picture_url(c: Connected) -> str:
    return f"/t/{c.tenant.slug}/settings/whatsapp/numbers/{c.phone.pk}/profile/picture/"


def refused(data: bytes, **kwargs) -> Invalid:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as caught:
        profiles.picture_prepare(data, **kwargs)
    assert caught.value.field == "picture"
    return caught.value


# --- Judged by content ----------------------------------------------------------------


def test_a_real_jpeg_is_accepted_and_kept_as_a_clean_jpeg() -> None:
    original = jpeg(640, 640, exif=Image.Exif())
    picture = profiles.picture_prepare(original)
    assert (picture.width, picture.height, picture.square, picture.cropped) == (
        640,
        640,
        True,
        False,
    )
    with Image.open(io.BytesIO(picture.data)) as kept:
        assert kept.format == "JPEG" and kept.size == (640, 640)
        assert not kept.getexif()  # nothing from the camera leaves with it


def test_each_bad_file_gets_its_own_message(settings) -> None:  # type: ignore[no-untyped-def]
    renamed_png = refused(png(600, 600))  # the name is not even looked at
    small = refused(jpeg(399, 400))
    corrupt = refused(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 50)
    truncated = refused(jpeg(600, 600, quality=95)[:2000])
    oversized = refused(jpeg(600, 600) + b"\0" * (6 * 1024 * 1024))
    codes = [e.code for e in (renamed_png, small, corrupt, truncated, oversized)]
    assert codes == [
        "picture_not_jpeg",
        "picture_too_small",
        "picture_corrupt",
        "picture_corrupt",
        "picture_too_large",
    ]
    assert "PNG" in renamed_png.message and "JPEG" in renamed_png.message
    assert "399 × 400" in small.message and "400 × 400" in small.message
    assert "damaged" in corrupt.message
    assert "6.0\xa0MB" in oversized.message and "5.0\xa0MB" in oversized.message
    messages = {e.message for e in (renamed_png, small, corrupt, oversized)}
    assert len(messages) == 4
    # 400 × 400 exactly is enough; the limits are settings.
    assert profiles.picture_prepare(jpeg(400, 400)).width == 400
    settings.PROFILE_PICTURE_MIN_PIXELS = 500
    assert refused(jpeg(400, 400)).code == "picture_too_small"


def test_an_empty_file_and_other_formats_are_refused() -> None:
    assert refused(b"").code == "picture_corrupt"
    out = io.BytesIO()
    Image.new("RGB", (600, 600)).save(out, format="GIF")
    assert refused(out.getvalue()).code == "picture_not_jpeg"
    assert "GIF" in refused(out.getvalue()).message


def test_too_many_pixels_are_refused_before_decoding() -> None:
    # A 6001 × 6001 header: refused from the header, without decoding 36 million pixels.
    big = jpeg(6001, 6001, quality=5)
    assert refused(big).code == "picture_too_many_pixels"


@pytest.mark.parametrize(
    ("crop", "size", "first_half_kept"),
    [
        ("center", (800, 600), None),
        ("start", (800, 600), True),
        ("end", (800, 600), False),
        ("start", (600, 900), True),
        ("end", (600, 900), False),
    ],
)
def test_a_picture_that_is_not_square_is_cropped_as_chosen(
    crop: str, size: tuple[int, int], first_half_kept: bool | None
) -> None:
    picture = profiles.picture_prepare(halves(*size), crop=crop)
    side = min(size)
    assert (picture.width, picture.height, picture.cropped) == (side, side, True)
    with Image.open(io.BytesIO(picture.data)) as kept:
        rgb = kept.convert("RGB")
        first = cast(tuple[int, int, int], rgb.getpixel((5, 5)))
        last = cast(tuple[int, int, int], rgb.getpixel((side - 5, side - 5)))
    if first_half_kept is None:  # the middle: red on one side, blue on the other
        assert first[0] > 200 and last[2] > 200
    elif first_half_kept:
        assert first[0] > 200 and first[2] < 60  # red where the picture began
    else:
        assert last[2] > 200 and last[0] < 60  # blue where it ended


def test_no_crop_keeps_the_shape_and_big_pictures_are_scaled_down() -> None:
    kept = profiles.picture_prepare(jpeg(900, 600), crop="none")
    assert (kept.width, kept.height, kept.square, kept.cropped) == (900, 600, False, False)
    large = profiles.picture_prepare(jpeg(3000, 3000))
    assert (large.width, large.height) == (profiles.PICTURE_KEEP_SIDE,) * 2
    with pytest.raises(Invalid) as caught:
        profiles.picture_prepare(jpeg(600, 600), crop="diagonal")
    assert caught.value.field == "crop"


# --- Through the page, to Meta ----------------------------------------------------------


def test_upload_on_the_page_goes_to_meta_by_resumable_upload(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.requests(clear=True)
    client = page_client(world.admin)
    answer = client.post(picture_url(c), {"picture": upload(halves(800, 600)), "crop": "center"})
    assert answer.status_code == 302
    with tenant_scope(c.tenant):
        row = BusinessProfileSync.objects.get(phone_number=c.phone)
        assert row.state == ProfileSyncState.LIVE, (row.problem, row.error_message)
        assert row.picture_handle.startswith("4::") and not row.picture_changed
        with row.picture.open("rb") as fh:
            kept = fh.read()
        meta = BusinessProfile.objects.get(phone_number=c.phone)
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == "JPEG" and image.size == (600, 600)
    calls = [(r["method"], r["path"]) for r in mock_meta.requests()]
    uploads = [
        p
        for m, p in calls
        if m == "POST" and ("/uploads" in p or p.split("/")[-1].startswith("upload:"))
    ]
    assert len(uploads) == 2, calls  # the session, then the bytes
    update = next(
        r
        for r in mock_meta.requests()
        if r["method"] == "POST" and r["path"].endswith("/whatsapp_business_profile")
    )
    assert update["body"]["profile_picture_handle"] == row.picture_handle
    # Meta's profile now has a picture, and it is the one we kept.
    assert meta.profile_picture_url
    assert requests.get(meta.profile_picture_url, timeout=5).content == kept
    # The page shows it, from the portal, to this tenant's members only.
    shown = client.get(picture_url(c))
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert shown.getvalue() == kept
    assert "private" in shown["Cache-Control"]
    assert page_client(world.agent).get(picture_url(c)).status_code == 200
    page = client.get(f"/t/acme/settings/whatsapp/numbers/{c.phone.pk}/profile/").content.decode()
    assert 'id="profile-picture"' in page and picture_url(c) in page


def test_a_refused_picture_shows_its_message_beside_the_field(
    world: World, connected_waba: Connected
) -> None:
    c = connected_waba
    client = page_client(world.owner)
    cases = [
        (upload(png(600, 600), "logo.jpg"), "is a PNG image"),
        (upload(jpeg(399, 400)), "399 × 400"),
        (upload(b"\xff\xd8\xff" + b"x" * 500), "damaged or incomplete"),
        (upload(jpeg(500, 500) + b"\0" * (6 * 1024 * 1024)), "at most 5.0\xa0MB"),
        (None, "Choose a JPEG picture"),
    ]
    for file, words in cases:
        data = {"crop": "center"} if file is None else {"picture": file, "crop": "center"}
        answer = client.post(picture_url(c), data)
        assert answer.status_code == 400, words
        body = answer.content.decode()
        assert words in body and 'id="picture-error"' in body and 'aria-invalid="true"' in body
    with tenant_scope(c.tenant):
        assert not BusinessProfileSync.objects.filter(phone_number=c.phone).exists()


def test_htmx_upload_answers_the_editor_in_place(world: World, connected_waba: Connected) -> None:
    c = connected_waba
    answer = page_client(world.owner).post(
        picture_url(c), {"picture": upload(jpeg(700, 500)), "crop": "none"}, HTTP_HX_REQUEST="true"
    )
    body = answer.content.decode()
    assert answer.status_code == 200 and "<html" not in body
    assert body.startswith('<div id="profile-editor">')
    assert "is not square" in body and 'data-profile-state="live"' in body


def test_the_picture_is_private_to_the_tenant(
    world: World, connected_waba: Connected, other_connected_waba: Connected
) -> None:
    c = connected_waba
    assert page_client(world.owner).get(picture_url(c)).status_code == 204  # none yet
    page_client(world.owner).post(picture_url(c), {"picture": upload(jpeg(500, 500))})
    assert page_client(world.owner).get(picture_url(c)).status_code == 200
    # Another workspace's member, and our member with another workspace's number: 404.
    assert page_client(world.other_owner).get(picture_url(c)).status_code == 404
    theirs = f"/t/acme/settings/whatsapp/numbers/{other_connected_waba.phone.pk}/profile/picture/"
    assert page_client(world.owner).get(theirs).status_code == 404
    assert (
        page_client(world.owner).post(theirs, {"picture": upload(jpeg(500, 500))}).status_code
        == 404
    )
    # Not a public media URL: signed out, the login page.
    assert Client().get(picture_url(c)).status_code == 302


def test_an_agent_may_see_but_not_upload(world: World, connected_waba: Connected) -> None:
    c = connected_waba
    answer = page_client(world.agent).post(picture_url(c), {"picture": upload(jpeg(500, 500))})
    assert answer.status_code == 403
    with tenant_scope(c.tenant):
        assert not BusinessProfileSync.objects.exists()


def test_a_picture_meta_refuses_fails_with_its_entry_and_retry_uploads_again(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.fault(
        "POST",
        r"/whatsapp_business_profile$",
        code=100,
        details="Param profile_picture_handle is not the handle of a finished upload session",
        times=1,
    )
    page_client(world.owner).post(picture_url(c), {"picture": upload(jpeg(500, 500))})
    with tenant_scope(c.tenant):
        row = BusinessProfileSync.objects.get()
        assert (row.state, row.problem) == (ProfileSyncState.FAILED, "profile_picture_rejected")
        first_handle = row.picture_handle
    mock_meta.requests(clear=True)
    retried = page_client(world.owner).post(
        f"/t/acme/settings/whatsapp/numbers/{c.phone.pk}/profile/retry/"
    )
    assert retried.status_code == 302
    with tenant_scope(c.tenant):
        row.refresh_from_db()
        assert row.state == ProfileSyncState.LIVE
        assert row.picture_handle and row.picture_handle != first_handle  # uploaded again
    assert any(r["path"].endswith("/uploads") for r in mock_meta.requests())


def test_a_new_picture_replaces_the_old_file(
    world: World, connected_waba: Connected, media_in_tmp: Path
) -> None:
    c = connected_waba
    client = page_client(world.owner)
    client.post(picture_url(c), {"picture": upload(jpeg(500, 500))})
    client.post(picture_url(c), {"picture": upload(jpeg(600, 600, color=(0, 0, 200)))})
    files = list((media_in_tmp / "profile-pictures").iterdir())
    assert len(files) == 1
    with Image.open(files[0]) as image:
        assert image.size == (600, 600)
