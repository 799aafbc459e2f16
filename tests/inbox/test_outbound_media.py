"""Files sent from the inbox: the kind decided from the bytes, Meta's limits, stored with
the queued message, uploaded to the mock Meta server on the first try only and sent by
its media id; refusals in words with nothing stored; failures of the upload; the
composer, the API (multipart, Idempotency-Key) and a second workspace."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts.tenancy import tenant_scope
from inbox.failures import failure_reason
from inbox.models import Conversation, Direction, Media, MediaState, Message, MessageStatus
from inbox.services import outbound, outbound_media
from senders.models import ChannelMember, ChannelRole, ChannelSettings
from templates_app.models import Template
from tests.api.support import key_client
from tests.factories import World, api_key_for
from tests.fixtures_senders import Connected
from waba_portal.errors import Invalid, NotAllowed

from .conftest import Customer
from .test_outbound import (
    ERIKA,
    HX,
    approved_template,
    client_of,
    graph_for,
    reload,
    run_send,
    sends,
    the_conversation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def picture(fmt: str, *, size: tuple[int, int] = (64, 48), padding: int = 0) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(out, format=fmt)
    return out.getvalue() + b"\0" * padding


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 400
GP3 = b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00" + b"\x00" * 400
M4A = b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42" + b"\x00" * 400
OPUS = b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x13OpusHead\x01\x01" + b"\x00" * 300
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 100
AAC = b"\xff\xf1\x50\x80\x02\x1f\xfc" * 60
AMR = b"#!AMR\n" + b"\x3c" * 200
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

# name, bytes, the kind sent, the MIME type kept and uploaded
ACCEPTED = [
    ("photo.jpg", picture("JPEG"), "image", "image/jpeg"),
    ("Screenshot.PNG", picture("PNG"), "image", "image/png"),
    ("clip.mp4", MP4, "video", "video/mp4"),
    ("clip.3gp", GP3, "video", "video/3gpp"),
    ("voice.ogg", OPUS, "audio", "audio/ogg"),
    ("song.mp3", MP3, "audio", "audio/mpeg"),
    ("note.aac", AAC, "audio", "audio/aac"),
    ("memo.amr", AMR, "audio", "audio/amr"),
    ("memo.m4a", M4A, "audio", "audio/mp4"),
    ("Rechnung März.pdf", PDF, "document", "application/pdf"),
    (
        "offer.docx",
        docx(),
        "document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("readme.txt", "Grüße, plain text\n".encode(), "document", "text/plain"),
    ("smile.webp", picture("WEBP", size=(512, 512)), "sticker", "image/webp"),
]


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> Any:
    return SimpleUploadedFile(name, data, content_type=content_type)


def outbound_rows(world: World) -> tuple[int, int]:
    with tenant_scope(world.tenant):
        return (
            Message.objects.filter(direction=Direction.OUTBOUND).count(),
            Media.objects.filter(message__direction=Direction.OUTBOUND).count(),
        )


def uploads(mock_meta: Any) -> list[dict[str, Any]]:
    return [
        r
        for r in mock_meta.requests()
        if r["method"] == "POST" and str(r.get("path", "")).endswith("/media")
    ]


def send_file(
    world: World,
    conversation: Conversation,
    capture: Any,
    name: str,
    data: bytes,
    *,
    caption: str = "",
    actor: Any = None,
    run: bool = True,
) -> Message:
    with capture(execute=False) as queued, tenant_scope(world.tenant):
        message = outbound_media.reply_media(
            actor=actor or world.owner,
            conversation=conversation,
            upload=upload(name, data, "image/jpeg"),  # the browser's word counts for nothing
            caption=caption,
        )
    assert len(queued) == 1  # the upload and send wait for the commit
    if run:
        run_send(world, message)
    return reload(world, message)


@pytest.fixture
def open_thread(world: World, customer: Customer) -> Conversation:
    customer.says(**{"from": ERIKA}, text="Schicken Sie mir bitte die Rechnung")
    return the_conversation(world)


# --- Each kind, to the mock -----------------------------------------------------------------


@pytest.mark.parametrize(("name", "data", "kind", "mime"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_each_kind_is_stored_uploaded_and_sent_by_its_media_id(
    name: str,
    data: bytes,
    kind: str,
    mime: str,
    world: World,
    open_thread: Conversation,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    caption = "Ihre Unterlagen" if kind in ("image", "video", "document") else ""
    queued = send_file(
        world,
        open_thread,
        django_capture_on_commit_callbacks,
        name,
        data,
        caption=caption,
        run=False,
    )
    # Stored first: the row and its file, before anything reached Meta.
    assert (queued.type, queued.status, queued.text) == (kind, MessageStatus.QUEUED, caption)
    with tenant_scope(world.tenant):
        media = Media.objects.get(message=queued)
        assert media.state == MediaState.STORED and media.mime_type == mime
        assert media.file.read() == data and media.size == len(data)
    assert uploads(mock_meta) == [] and sends(mock_meta) == []

    run_send(world, queued)
    sent = reload(world, queued)
    assert sent.status == MessageStatus.SENT and sent.wamid.startswith("wamid.")
    (up,) = uploads(mock_meta)
    assert up["status"] == 200
    (request,) = sends(mock_meta)
    body = request["body"][kind]
    with tenant_scope(world.tenant):
        media = Media.objects.get(message=queued)
    assert body["id"] == media.media_id and media.media_id
    if caption:
        assert body["caption"] == caption
    if kind == "document":
        assert body["filename"] == name
    known = {m["id"]: m for m in mock_meta.state()["media"]}
    assert known[media.media_id]["mime_type"] == mime
    assert known[media.media_id]["sha256"] == media.sha256
    assert known[media.media_id]["file_size"] == len(data)


# --- Refusals: in words, nothing stored ----------------------------------------------------


REFUSED = [
    ("animation.gif", picture("GIF"), "file", "media_type", "does not take this type"),
    ("setup.exe", b"MZ\x90\x00\x03" + b"\x00\xff" * 200, "file", "media_type", "does not take"),
    ("page.html", b"<!DOCTYPE html><script>x()</script>", "file", "media_type", "does not take"),
    ("photo.jpg", PDF, "file", "media_renamed", "says another type than its content"),
    ("report.pdf", picture("PNG"), "file", "media_renamed", "rename it to match"),
    ("broken.jpg", b"\xff\xd8\xff\xe0 not a picture at all" * 10, "file", "media_type", "does not"),
    (
        "big.jpg",
        picture("JPEG", padding=5 * 1024 * 1024),
        "file",
        "media_too_large",
        "at most 5 MB",
    ),
    ("big.mp4", MP4 + b"\x00" * (16 * 1024 * 1024), "file", "media_too_large", "at most 16 MB"),
    ("empty.pdf", b"", "file", "media_empty", "The file is empty"),
    ("voice.ogg", OPUS, "caption", "invalid", "no caption with an audio file"),
    ("photo.jpg", picture("JPEG"), "caption", "invalid", "at most 1024 characters"),
]


@pytest.mark.parametrize(
    ("name", "data", "field", "code", "words"), REFUSED, ids=[f"{r[0]}-{r[3]}" for r in REFUSED]
)
def test_a_file_that_does_not_fit_is_refused_in_words_and_nothing_is_stored(
    name: str,
    data: bytes,
    field: str,
    code: str,
    words: str,
    world: World,
    open_thread: Conversation,
    media_root: Path,
    mock_meta: Any,
) -> None:
    caption = "x" * 1025 if "1024" in words else ("Hören Sie mal" if field == "caption" else "")
    with tenant_scope(world.tenant), pytest.raises(Invalid) as refused:
        outbound_media.reply_media(
            actor=world.owner,
            conversation=open_thread,
            upload=upload(name, data, "image/jpeg"),
            caption=caption,
        )
    assert (refused.value.field, refused.value.code) == (field, code)
    assert words in refused.value.message
    assert outbound_rows(world) == (0, 0)
    assert not [p for p in media_root.rglob("*") if p.is_file()]
    assert uploads(mock_meta) == []


def test_outside_the_window_a_file_is_refused_and_the_composer_offers_none(
    world: World, open_thread: Conversation
) -> None:
    with tenant_scope(world.tenant):
        Conversation.objects.filter(pk=open_thread.pk).update(
            last_inbound_at=timezone.now() - timedelta(hours=25)
        )
        open_thread.refresh_from_db()
        with pytest.raises(Invalid) as refused:
            outbound_media.reply_media(
                actor=world.owner, conversation=open_thread, upload=upload("a.pdf", PDF)
            )
    assert (refused.value.code, refused.value.field) == ("window_closed", "file")
    assert outbound_rows(world) == (0, 0)
    c = client_of(world.owner)
    page = c.get(f"/t/acme/inbox/c/{open_thread.pk}/").content.decode()
    assert 'id="media-form"' not in page and 'id="media-file"' not in page
    answer = c.post(
        f"/t/acme/inbox/c/{open_thread.pk}/media/", {"file": upload("a.pdf", PDF)}, headers=HX
    )
    assert answer.status_code == 400 and "only an approved template" in answer.content.decode()
    assert outbound_rows(world) == (0, 0)


def test_a_viewer_cannot_send_a_file(
    world: World, customer: Customer, channel: Connected, open_thread: Conversation
) -> None:
    with tenant_scope(world.tenant):
        row = ChannelSettings.objects.create(
            phone_number=channel.phone, name="Support", all_users=False, all_teams=False
        )
        ChannelMember.objects.create(channel=row, membership=world.agent, role=ChannelRole.VIEWER)
        with pytest.raises(NotAllowed):
            outbound_media.reply_media(
                actor=world.agent, conversation=open_thread, upload=upload("a.pdf", PDF)
            )
    c = client_of(world.agent)
    page = c.get(f"/t/acme/inbox/c/{open_thread.pk}/").content.decode()
    assert 'id="media-form"' not in page
    answer = c.post(f"/t/acme/inbox/c/{open_thread.pk}/media/", {"file": upload("a.pdf", PDF)})
    assert answer.status_code == 403
    assert outbound_rows(world) == (0, 0)


# --- Retries and failures of the upload -------------------------------------------------------


def test_a_retried_send_does_not_upload_again(
    world: World,
    open_thread: Conversation,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mock_meta.fault("POST", r"/messages$", code=2, http_status=503, times=2)
    sent = send_file(world, open_thread, django_capture_on_commit_callbacks, "a.pdf", PDF)
    assert sent.status == MessageStatus.SENT
    assert [r["status"] for r in sends(mock_meta)] == [503, 503, 200]
    assert len(uploads(mock_meta)) == 1
    ids = {r["body"]["document"]["id"] for r in sends(mock_meta)}
    assert len(ids) == 1 and ids <= {m["id"] for m in mock_meta.state()["media"]}


def test_an_upload_that_fails_for_now_is_retried_then_sent(
    world: World,
    open_thread: Conversation,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mock_meta.fault("POST", r"/media$", code=2, http_status=503, times=1)
    queued = send_file(
        world, open_thread, django_capture_on_commit_callbacks, "p.png", picture("PNG"), run=False
    )
    with pytest.raises(outbound.SendRetry), tenant_scope(world.tenant):
        outbound.message_send(message_pk=queued.pk)
    assert outbound.send_state(reload(world, queued)) == outbound.SEND_RETRYING
    assert sends(mock_meta) == []
    run_send(world, queued)
    sent = reload(world, queued)
    assert sent.status == MessageStatus.SENT
    assert [r["status"] for r in uploads(mock_meta)] == [503, 200]
    assert len(sends(mock_meta)) == 1


def test_an_upload_whose_answer_was_lost_is_retried_not_marked_unknown(
    world: World,
    open_thread: Conversation,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mock_meta.fault("POST", r"/media$", drop=True, times=1)
    queued = send_file(
        world, open_thread, django_capture_on_commit_callbacks, "a.pdf", PDF, run=False
    )
    with pytest.raises(outbound.SendRetry), tenant_scope(world.tenant):
        outbound.message_send(message_pk=queued.pk)
    assert outbound.send_state(reload(world, queued)) == outbound.SEND_RETRYING
    run_send(world, queued)
    sent = reload(world, queued)
    assert sent.status == MessageStatus.SENT and outbound.send_state(sent) == ""
    assert len(sends(mock_meta)) == 1


def test_a_refused_upload_fails_the_message_with_metas_reason(
    world: World,
    open_thread: Conversation,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mock_meta.fault("POST", r"/media$", code=131053, http_status=400, times=1)
    failed = send_file(world, open_thread, django_capture_on_commit_callbacks, "a.pdf", PDF)
    assert (failed.status, failed.error_code) == (MessageStatus.FAILED, 131053)
    assert len(uploads(mock_meta)) == 1 and sends(mock_meta) == []
    with tenant_scope(world.tenant):  # the file stays: nothing is lost
        assert Media.objects.get(message=failed).file.read() == PDF
    page = client_of(world.owner).get(f"/t/acme/inbox/c/{open_thread.pk}/").content.decode()
    assert str(failure_reason(131053)) in page.replace("&#x27;", "'")
    assert "code 131053" in page


# --- The thread, the composer, the file view ---------------------------------------------------


def test_the_composer_sends_a_file_shown_in_the_thread_and_kept_from_other_workspaces(
    world: World,
    open_thread: Conversation,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    c = client_of(world.owner)
    base = f"/t/acme/inbox/c/{open_thread.pk}"
    page = c.get(f"{base}/").content.decode()
    assert 'id="media-form"' in page and 'hx-encoding="multipart/form-data"' in page
    assert '<label for="media-file"' in page
    photo = picture("JPEG")
    with django_capture_on_commit_callbacks(execute=True):
        answer = c.post(
            f"{base}/media/",
            {"file": upload("paket.jpg", photo, "image/jpeg"), "caption": "Ihr <b>Paket</b>"},
            headers=HX,
        )
    assert answer.status_code == 200, answer.content
    with tenant_scope(world.tenant):
        mine = Message.objects.get(direction=Direction.OUTBOUND)
        media = Media.objects.get(message=mine)
    assert mine.status == MessageStatus.SENT and mine.type == "image"
    assert mine.author_id == world.owner.pk
    page = c.get(f"{base}/").content.decode()
    url = f"/t/acme/inbox/media/{media.pk}/"
    assert f'<img src="{url}"' in page
    assert "Ihr &lt;b&gt;Paket&lt;/b&gt;" in page and "<b>Paket</b>" not in page
    served = c.get(url)
    assert served.status_code == 200 and b"".join(served.streaming_content) == photo  # type: ignore[attr-defined]
    stranger = client_of(world.other_owner)
    assert stranger.get(f"/t/globex/inbox/media/{media.pk}/").status_code == 404
    assert stranger.get(f"/t/acme/inbox/media/{media.pk}/").status_code == 404


def test_the_composer_says_what_to_fix_for_a_wrong_file(
    world: World, open_thread: Conversation
) -> None:
    c = client_of(world.owner)
    answer = c.post(
        f"/t/acme/inbox/c/{open_thread.pk}/media/",
        {"file": upload("photo.jpg", PDF, "image/jpeg")},
        headers=HX,
    )
    assert answer.status_code == 400
    assert "says another type than its content" in answer.content.decode().replace("&#x27;", "'")
    missing = c.post(f"/t/acme/inbox/c/{open_thread.pk}/media/", {}, headers=HX)
    assert missing.status_code == 400 and "Choose a file to send" in missing.content.decode()
    assert outbound_rows(world) == (0, 0)


def test_a_document_bubble_names_the_file(
    world: World, open_thread: Conversation, django_capture_on_commit_callbacks: Any
) -> None:
    send_file(world, open_thread, django_capture_on_commit_callbacks, "Angebot 7.pdf", PDF)
    page = client_of(world.owner).get(f"/t/acme/inbox/c/{open_thread.pk}/").content.decode()
    assert "📄 Angebot 7.pdf" in page and "Download Angebot 7.pdf" in page


# --- The API ----------------------------------------------------------------------------------


def test_the_api_sends_a_file_with_an_idempotency_key_replayed(
    world: World,
    open_thread: Conversation,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    c = client_of(world.owner)
    url = f"/api/v1/t/acme/conversations/{open_thread.pk}/media/"
    with django_capture_on_commit_callbacks(execute=True):
        answer = c.post(
            url,
            {"file": upload("plan.pdf", PDF, "application/pdf"), "caption": "Der Plan"},
            headers={"Idempotency-Key": "m-1"},
        )
    assert answer.status_code == 201, answer.content
    data = answer.json()
    assert (data["type"], data["status"], data["text"]) == ("document", "queued", "Der Plan")
    assert data["media"]["filename"] == "plan.pdf" and data["media"]["state"] == "stored"
    again = c.post(
        url,
        {"file": upload("plan.pdf", PDF, "application/pdf"), "caption": "Der Plan"},
        headers={"Idempotency-Key": "m-1"},
    )
    assert again.status_code == 201 and again.json()["id"] == data["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = c.post(
        url,
        {"file": upload("plan.pdf", PDF + b"\n", "application/pdf"), "caption": "Der Plan"},
        headers={"Idempotency-Key": "m-1"},
    )
    assert other.status_code == 422  # the same key for another file
    assert outbound_rows(world) == (1, 1)
    assert len(uploads(mock_meta)) == 1 and len(sends(mock_meta)) == 1

    wrong = c.post(url, {"file": upload("x.jpg", PDF)})
    assert wrong.status_code == 400
    error = wrong.json()["error"]
    assert error["code"] == "media_renamed" and "file" in error["details"]["fields"]
    none = c.post(url, {"caption": "no file"})
    assert none.status_code == 400 and none.json()["error"]["code"] == "media_missing"
    with tenant_scope(world.tenant):
        Conversation.objects.filter(pk=open_thread.pk).update(
            last_inbound_at=timezone.now() - timedelta(hours=25)
        )
    late = c.post(url, {"file": upload("plan.pdf", PDF)})
    assert late.status_code == 400 and late.json()["error"]["code"] == "window_closed"
    stranger = client_of(world.other_owner)
    assert (
        stranger.post(
            f"/api/v1/t/globex/conversations/{open_thread.pk}/media/",
            {"file": upload("plan.pdf", PDF)},
        ).status_code
        == 404
    )
    assert outbound_rows(world) == (1, 1)


def test_the_api_sends_a_file_to_a_contact_by_phone(
    world: World,
    channel: Connected,
    open_thread: Conversation,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _key, secret = api_key_for(world.tenant, scopes={"inbox": "write"}, name="CRM")
    c = key_client(secret)  # a key acts as an admin: every number is its to send from
    url = "/api/v1/t/acme/messages/media/"
    with django_capture_on_commit_callbacks(execute=True):
        answer = c.post(
            url,
            {
                "to": "+49 151 12345678",
                "channel": channel.phone.pk,
                "file": upload("p.png", picture("PNG")),
            },
        )
    assert answer.status_code == 201, answer.content
    with tenant_scope(world.tenant):
        mine = Message.objects.get(pk=answer.json()["id"])
    assert mine.conversation_id == open_thread.pk and mine.status == MessageStatus.SENT
    assert mine.author_id is None and mine.payload["author_label"] == "CRM"
    (request,) = sends(mock_meta)
    assert request["body"]["to"] == ERIKA and request["body"]["image"]["id"]
    unknown = c.post(
        url, {"to": "+4917000000000", "channel": channel.phone.pk, "file": upload("a.pdf", PDF)}
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "window_closed"
    bad = c.post(url, {"to": "hello", "file": upload("a.pdf", PDF)})
    assert bad.status_code == 400 and "to" in bad.json()["error"]["details"]["fields"]


# --- A template with a media header -----------------------------------------------------------


BODY = "Ihr Paket {{1}} ist da."


def image_header_template(c: Connected, mock_meta: Any) -> Template:
    """An approved template with an image header, submitted to the mock and recorded."""
    handle = graph_for(c, mock_meta).resumable_upload(
        picture("JPEG"), "image/jpeg", file_name="example.jpg"
    )
    return approved_template(
        c,
        mock_meta,
        {
            "name": "parcel_photo",
            "language": "de",
            "category": "UTILITY",
            "parameter_format": "POSITIONAL",
            "components": [
                {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": [handle]}},
                {
                    "type": "BODY",
                    "text": "Ihr Paket {{1}} ist da.",
                    "example": {"body_text": [["A-1"]]},
                },
            ],
        },
    )


def test_a_template_header_image_is_a_file_uploaded_and_sent_by_its_id(
    world: World,
    channel: Connected,
    open_thread: Conversation,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    template = image_header_template(channel, mock_meta)
    with tenant_scope(world.tenant):
        Conversation.objects.filter(pk=open_thread.pk).update(
            last_inbound_at=timezone.now() - timedelta(hours=25)
        )
    c = client_of(world.owner)
    base = f"/t/acme/inbox/c/{open_thread.pk}"
    page = c.get(f"{base}/").content.decode()
    assert 'hx-encoding="multipart/form-data"' in page and 'id="template-form"' in page
    fields = c.get(f"{base}/template/preview/", {"template": template.pk}).content.decode()
    assert 'name="header_file"' in fields and '<label for="template-header-file"' in fields

    wrong = c.post(
        f"{base}/template/",
        {"template": template.pk, "v:body.1": "A-7", "header_file": upload("a.pdf", PDF)},
        headers=HX,
    )
    assert wrong.status_code == 400 and "header is an image" in wrong.content.decode()
    assert outbound_rows(world) == (0, 0)

    photo = picture("JPEG")
    with django_capture_on_commit_callbacks(execute=True):
        answer = c.post(
            f"{base}/template/",
            {"template": template.pk, "v:body.1": "A-7", "header_file": upload("p.jpg", photo)},
            headers=HX,
        )
    assert answer.status_code == 200, answer.content
    with tenant_scope(world.tenant):
        mine = Message.objects.get(direction=Direction.OUTBOUND)
        media = Media.objects.get(message=mine)
    assert mine.type == "template" and mine.status == MessageStatus.SENT
    assert media.file.read() == photo and media.media_id
    (request,) = sends(mock_meta)
    (header,) = [
        comp for comp in request["body"]["template"]["components"] if comp["type"] == "header"
    ]
    assert header["parameters"] == [{"type": "image", "image": {"id": media.media_id}}]
    assert media.media_id in {m["id"] for m in mock_meta.state()["media"]}
    assert len(uploads(mock_meta)) == 1


def test_the_api_sends_a_template_with_a_header_file_outside_the_window(
    world: World,
    channel: Connected,
    open_thread: Conversation,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    template = image_header_template(channel, mock_meta)
    with tenant_scope(world.tenant):
        Conversation.objects.filter(pk=open_thread.pk).update(
            last_inbound_at=timezone.now() - timedelta(hours=25)
        )
    c = client_of(world.owner)
    url = f"/api/v1/t/acme/conversations/{open_thread.pk}/media/"
    missing = c.post(
        url, {"file": upload("p.jpg", picture("JPEG")), "template": template.pk, "parameters": "{}"}
    )
    assert missing.status_code == 400 and "body.1" in missing.json()["error"]["details"]["fields"]
    with django_capture_on_commit_callbacks(execute=True):
        answer = c.post(
            url,
            {
                "file": upload("p.jpg", picture("JPEG")),
                "template": template.pk,
                "parameters": '{"body.1": "A-9"}',
            },
        )
    assert answer.status_code == 201, answer.content
    assert answer.json()["type"] == "template" and answer.json()["media"]["state"] == "stored"
    (request,) = sends(mock_meta)
    (header,) = [c for c in request["body"]["template"]["components"] if c["type"] == "header"]
    assert header["parameters"][0]["image"]["id"] in {m["id"] for m in mock_meta.state()["media"]}
    assert outbound_rows(world) == (1, 1)


def test_a_file_larger_than_a_form_with_an_idempotency_key_is_taken_and_replayed(
    world: World, open_thread: Conversation, mock_meta: Any
) -> None:
    """The key counts the file by its digest: a body past Django's in-memory bound
    (``DATA_UPLOAD_MAX_MEMORY_SIZE``) is never read whole for it."""
    big = PDF + b"%" + b"x" * (3 * 1024 * 1024)
    c = client_of(world.owner)
    url = f"/api/v1/t/acme/conversations/{open_thread.pk}/media/"
    first = c.post(url, {"file": upload("big.pdf", big)}, headers={"Idempotency-Key": "big-1"})
    assert first.status_code == 201, first.content
    again = c.post(url, {"file": upload("big.pdf", big)}, headers={"Idempotency-Key": "big-1"})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert outbound_rows(world) == (1, 1)
