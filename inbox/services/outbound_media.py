"""Outbound media: a file an agent or integrator sends, stored first, uploaded to Meta
by the send task (``request_ready``), then sent by its media id.

1. :func:`reply_media` checks the reply rules of ``services.outbound`` (a replier of the
   channel, the 24-hour window open, a known recipient), then decides the kind from the
   file's bytes (never from the browser's content type or the name alone; a name that
   says another type than the bytes is refused), with Meta's limits per kind:

   ====================  ==============================================  =========
   kind                  types (sniffed)                                 at most
   ====================  ==============================================  =========
   image                 JPEG, PNG (opened with Pillow)                  5 MB
   video                 MP4, 3GPP                                       16 MB
   audio                 AAC, AMR, MP3, MP4 audio, OGG with Opus         16 MB
   document              PDF, Word, Excel, PowerPoint (old and OOXML),   100 MB
                         plain text
   sticker               WebP (static / animated)                        100 / 500 KB
   ====================  ==============================================  =========

   A caption (≤ 1024 characters) goes with an image, a video or a document; a
   document also carries its file name. The file is kept as the message's ``Media``
   row (Django storage, stored) in the transaction that stores the queued message, so
   nothing is lost whatever happens to the send.
2. :func:`request_ready` (called by ``outbound.message_send`` before the send) uploads
   the stored bytes with ``client.media_upload`` on the first try and keeps Meta's
   media id in the message's request (and on the ``Media`` row): a retry sends by that
   id and never uploads again. An upload that failed for now raises a transient Graph
   error (the send is retried); an upload whose answer was lost is retried too, since
   nothing reached the customer yet; a refusal is left to fail the message with Meta's
   code and words.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext as _

from inbox.models import Conversation, Media, MediaState, Message
from templates_app import sending, validation
from templates_app.models import Template
from waba_portal.errors import Invalid
from waba_portal.graph import errors as ge

logger = logging.getLogger(__name__)

CAPTION_MAX_LENGTH = 1024  # Meta's limit on a media caption (the spec's MediaObject)
FILENAME_MAX_LENGTH = 240
MB = 1024 * 1024

IMAGE, VIDEO, AUDIO, DOCUMENT, STICKER = "image", "video", "audio", "document", "sticker"
KINDS = (IMAGE, VIDEO, AUDIO, DOCUMENT, STICKER)
WITH_CAPTION = frozenset({IMAGE, VIDEO, DOCUMENT})

# The largest file per kind, Meta's (supported media types of the Cloud API).
MAX_BYTES = {IMAGE: 5 * MB, VIDEO: 16 * MB, AUDIO: 16 * MB, DOCUMENT: 100 * MB}
STICKER_MAX_BYTES = 100 * 1024
ANIMATED_STICKER_MAX_BYTES = 500 * 1024

DOC_MIMES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain",
}

# What a file's extension says it is: a name that says another type than the bytes is
# refused, so a renamed file is not sent as something it is not.
EXTENSIONS = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".3gp": "video/3gpp",
    ".3gpp": "video/3gpp",
    ".aac": "audio/aac",
    ".amr": "audio/amr",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".oga": "audio/ogg",
    **{f".{ext}": mime for ext, mime in DOC_MIMES.items()},
    ".text": "text/plain",
    # Names of types WhatsApp does not take, so the refusal can say what the file is.
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".heic": "image/heic",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".zip": "application/zip",
    ".exe": "application/x-msdownload",
    ".html": "text/html",
    ".htm": "text/html",
    ".svg": "image/svg+xml",
}
# Two names for one family: an .mp4 that holds only sound is MP4 audio, fine as audio.
SAME = {
    frozenset({"video/mp4", "audio/mp4"}),
    frozenset({"video/3gpp", "audio/mp4"}),
    frozenset({"video/mp4", "video/3gpp"}),
}


@dataclass(frozen=True)
class Sniffed:
    """What the bytes of a file are: Meta's kind and MIME type, or ``kind`` empty."""

    kind: str
    mime: str
    animated: bool = False


def _kind_words(kind: str) -> str:
    return {
        IMAGE: _("an image"),
        VIDEO: _("a video"),
        AUDIO: _("an audio file"),
        DOCUMENT: _("a document"),
        STICKER: _("a sticker"),
    }.get(kind, _("a file"))


def _bmff(head: bytes) -> Sniffed | None:
    """An ISO media file (``ftyp`` box): MP4 video, 3GPP video or MP4 audio by brand."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in (b"M4A ", b"M4B "):
        return Sniffed(AUDIO, "audio/mp4")
    if brand.startswith((b"3gp", b"3g2")):
        return Sniffed(VIDEO, "video/3gpp")
    if brand in (b"qt  ",):
        return Sniffed("", "video/quicktime")
    return Sniffed(VIDEO, "video/mp4")


def _office_zip(stream: IO[bytes]) -> Sniffed:
    """A ZIP: an Office Open XML document by the part it holds, else an archive."""
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return Sniffed("", "application/zip")
    if "[Content_Types].xml" in names:
        for prefix, ext in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(name.startswith(prefix) for name in names):
                return Sniffed(DOCUMENT, DOC_MIMES[ext])
    return Sniffed("", "application/zip")


def _image(stream: IO[bytes], mime: str) -> Sniffed:
    """JPEG or PNG that Pillow can read; a broken one is no image."""
    from PIL import Image, UnidentifiedImageError

    try:
        stream.seek(0)
        with Image.open(stream) as picture:
            picture.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return Sniffed("", "application/octet-stream")
    return Sniffed(IMAGE, mime)


def _webp(stream: IO[bytes], head: bytes) -> Sniffed:
    from PIL import Image, UnidentifiedImageError

    try:
        stream.seek(0)
        with Image.open(stream) as picture:
            animated = bool(getattr(picture, "is_animated", False))
            picture.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return Sniffed("", "application/octet-stream")
    return Sniffed(STICKER, "image/webp", animated=animated)


def _plain_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not only a character cut at the sample's end
            return False
        text = head[: exc.start].decode("utf-8")
    lowered = text.lstrip().lower()
    return not lowered.startswith(("<!doctype html", "<html", "<svg", "<?xml"))


def media_sniff(stream: IO[bytes]) -> Sniffed:
    """What ``stream``'s bytes are (its start, and Pillow or the ZIP directory where it
    takes more); ``kind`` is empty for anything WhatsApp does not take."""
    stream.seek(0)
    head = stream.read(4096)
    stream.seek(0)
    found: Sniffed | None
    if head.startswith(b"\xff\xd8\xff"):
        found = _image(stream, "image/jpeg")
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        found = _image(stream, "image/png")
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        found = _webp(stream, head)
    elif head.startswith((b"GIF87a", b"GIF89a")):
        found = Sniffed("", "image/gif")
    elif (bmff := _bmff(head)) is not None:
        found = bmff
    elif head.startswith(b"#!AMR"):
        found = Sniffed(AUDIO, "audio/amr")
    elif head.startswith(b"OggS"):
        found = Sniffed(AUDIO, "audio/ogg") if b"OpusHead" in head else Sniffed("", "audio/ogg")
    elif head.startswith(b"ID3"):
        found = Sniffed(AUDIO, "audio/mpeg")
    elif len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        found = Sniffed(AUDIO, "audio/aac")  # ADTS: sync word, layer 0
    elif len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        found = Sniffed(AUDIO, "audio/mpeg")  # an MPEG audio frame (layer I-III)
    elif head.startswith(b"%PDF-"):
        found = Sniffed(DOCUMENT, DOC_MIMES["pdf"])
    elif head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        found = Sniffed(DOCUMENT, "application/x-ole-storage")  # which one: by its name
    elif head.startswith(b"PK\x03\x04"):
        found = _office_zip(stream)
    elif head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        found = Sniffed("", "audio/wav")
    elif head and _plain_text(head):
        found = Sniffed(DOCUMENT, DOC_MIMES["txt"])
    else:
        found = Sniffed("", "application/octet-stream")
    stream.seek(0)
    return found


def _refuse(message: str, code: str = "media_invalid", field: str = "file") -> Invalid:
    return Invalid(message, field=field, code=code)


def _clean_name(raw: str) -> str:
    name = PurePosixPath(str(raw or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if len(name) > FILENAME_MAX_LENGTH:
        stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix[:10]
        name = stem[: FILENAME_MAX_LENGTH - len(suffix)] + suffix
    return name


def _size_text(size: int) -> str:
    if size >= MB:
        return _("%(size)s MB") % {"size": f"{size / MB:.1f}".rstrip("0").rstrip(".")}
    return _("%(size)s KB") % {"size": max(1, round(size / 1024))}


def media_check(
    upload: UploadedFile, *, caption: str = "", field: str = "file"
) -> tuple[Sniffed, str]:
    """The kind and type of ``upload`` and its clean name; else what to fix (``field``)."""
    name = _clean_name(upload.name or "")
    size = int(upload.size or 0)
    if size <= 0:
        raise _refuse(_("The file is empty: choose the file again."), "media_empty", field)
    sniffed = media_sniff(upload)  # type: ignore[arg-type]  # a File reads like a stream
    suffix = PurePosixPath(name).suffix.lower()
    named = EXTENSIONS.get(suffix, "")
    mime = sniffed.mime
    if mime == "application/x-ole-storage":  # an old Office file: its name says which
        mime = named if named in DOC_MIMES.values() else ""
        sniffed = Sniffed(DOCUMENT if mime else "", mime or "application/x-ole-storage")
    if not sniffed.kind:
        raise _refuse(
            _(
                "WhatsApp does not take this type of file. Send a JPEG or PNG image, an MP4 "
                "or 3GPP video, AAC, AMR, MP3, M4A or OGG (Opus) audio, or a PDF, Word, "
                "Excel, PowerPoint or text document."
            ),
            "media_type",
            field,
        )
    if named and named != mime and frozenset({named, mime}) not in SAME:
        raise _refuse(
            _(
                "The file's name (%(name)s) says another type than its content, which is "
                "%(kind)s (%(type)s): rename it to match, or choose the right file."
            )
            % {"name": name, "kind": _kind_words(sniffed.kind), "type": mime},
            "media_renamed",
            field,
        )
    if sniffed.kind == STICKER:
        cap = ANIMATED_STICKER_MAX_BYTES if sniffed.animated else STICKER_MAX_BYTES
    else:
        cap = MAX_BYTES[sniffed.kind]
    cap = min(cap, int(settings.INBOX_MEDIA_MAX_BYTES))
    if size > cap:
        raise _refuse(
            _(
                "This file is %(kind)s of %(size)s: WhatsApp takes at most %(max)s for "
                "%(kind)s. Make it smaller and send it again."
            )
            % {"kind": _kind_words(sniffed.kind), "size": _size_text(size), "max": _size_text(cap)},
            "media_too_large",
            field,
        )
    if caption and sniffed.kind not in WITH_CAPTION:
        raise Invalid(
            _(
                "WhatsApp shows no caption with %(kind)s: leave the caption empty, or send "
                "it as a message of its own."
            )
            % {"kind": _kind_words(sniffed.kind)},
            field="caption",
        )
    return Sniffed(sniffed.kind, mime, sniffed.animated), name


def reply_media(
    *,
    actor: Any,
    conversation: Conversation,
    upload: UploadedFile | None,
    caption: str = "",
    reply_to: Message | None = None,
    now: Any = None,
) -> Message:
    """An image, video, audio, document or sticker inside the window; the file is stored
    with the queued message, then uploaded and sent by the send task."""
    from inbox.services import outbound

    outbound._require_replier(actor, conversation)
    if upload is None:
        raise _refuse(_("Choose a file to send."), "media_missing")
    text = str(caption or "").strip()
    if len(text) > CAPTION_MAX_LENGTH:
        raise Invalid(
            _("A caption has at most %(max)d characters.") % {"max": CAPTION_MAX_LENGTH},
            field="caption",
        )
    if not conversation.window_open(now):
        closed = outbound._window_closed_refusal()
        raise Invalid(closed.message, field="file", code=closed.code)
    sniffed, name = media_check(upload, caption=text)
    to = outbound._recipient(conversation)
    context = ""
    if reply_to is not None:
        if reply_to.conversation_id != conversation.pk or reply_to.wamid.startswith(
            outbound.LOCAL_ID_PREFIX
        ):
            raise Invalid(_("Choose a message of this conversation to reply to."), field="reply_to")
        context = reply_to.wamid
    body: dict[str, Any] = {}
    if text:
        body["caption"] = text
    if sniffed.kind == DOCUMENT:
        body["filename"] = name or f"document{_suffix(sniffed.mime)}"
    payload: dict[str, Any] = {
        "recipient_type": "individual",
        "to": to,
        "type": sniffed.kind,
        sniffed.kind: body,
    }
    if context:
        payload["context"] = {"message_id": context}

    def attach(message: Message) -> None:
        _media_store(message, upload, mime=sniffed.mime, filename=name)

    return outbound._store(
        actor=actor,
        conversation=conversation,
        type_=sniffed.kind,
        text=text,
        payload=payload,
        context_wamid=context,
        attach=attach,
    )


def _suffix(mime: str) -> str:
    for suffix, known in EXTENSIONS.items():
        if known == mime:
            return suffix
    return ""


def _media_store(message: Message, upload: UploadedFile, *, mime: str, filename: str) -> Media:
    """The file as the message's stored ``Media`` (inside the message's transaction)."""
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    media = Media(
        tenant_id=message.tenant_id,
        message=message,
        mime_type=mime[:128],
        sha256=digest.hexdigest(),
        filename=filename[:255],
        size=int(upload.size or 0),
        state=MediaState.STORED,
        fetched_at=timezone.now(),
    )
    media.file.save(filename or f"file{_suffix(mime)}", upload, save=False)
    media.save()
    return media


# --- A template with a media header ----------------------------------------------------------

# The header's media id in a stored template request until the send task uploaded the file.
HEADER_PENDING = "pending-upload"


def reply_template_media(
    *,
    actor: Any,
    conversation: Conversation,
    template: Template,
    parameters: dict[str, Any] | None,
    header_upload: UploadedFile,
) -> Message:
    """An approved template whose image, video or document header is a file sent with it
    (any time, as every template): stored with the queued message, uploaded by the send
    task, then sent by its media id as the header's parameter."""
    from inbox.services import outbound

    outbound._require_replier(actor, conversation)
    kind = sending.MEDIA_KINDS.get(str(validation.header_format(template.components) or ""))
    if kind is None:
        raise Invalid(
            _("This template has no image, video or document header: send it without a file."),
            field="header_file",
        )
    sniffed, name = media_check(header_upload, field="header_file")
    if sniffed.kind != kind:
        raise Invalid(
            _("This template's header is %(wanted)s, and the file is %(given)s.")
            % {"wanted": _kind_words(kind), "given": _kind_words(sniffed.kind)},
            field="header_file",
            code="media_type",
        )
    values = dict(parameters or {})
    values["header"] = {"id": HEADER_PENDING}
    if kind == DOCUMENT:
        values["header"]["filename"] = name or f"document{_suffix(sniffed.mime)}"

    def attach(message: Message) -> None:
        _media_store(message, header_upload, mime=sniffed.mime, filename=name)

    return outbound.reply_template(
        actor=actor,
        conversation=conversation,
        template=template,
        parameters=values,
        attach=attach,
    )


# --- The send task's part ------------------------------------------------------------------


def _pending_header(request: dict[str, Any]) -> dict[str, Any] | None:
    """The media object of a template request's header still waiting for its upload."""
    for component in (request.get("template") or {}).get("components") or []:
        if str(component.get("type") or "").lower() != "header":
            continue
        for parameter in component.get("parameters") or []:
            media = parameter.get(parameter.get("type")) if isinstance(parameter, dict) else None
            if isinstance(media, dict) and media.get("id") == HEADER_PENDING:
                return media
    return None


def _upload(message: Message, client: Any) -> str:
    """Meta's media id for the message's stored file: uploaded now, unless an earlier try
    did. Raises the Graph client's errors; a lost answer as a transient one."""
    media = Media.objects.filter(message=message).first()
    if media is None or not media.file:
        raise ge.GraphInvalidRequestError("the message's file is no longer stored", code=131053)
    if media.media_id:  # uploaded by an earlier try whose id was not kept on the request
        return media.media_id
    try:
        with media.file.open("rb") as stored:
            data = stored.read()
    except OSError as exc:
        raise ge.GraphInvalidRequestError(
            f"the message's file could not be read: {exc}", code=131053
        ) from exc
    try:
        media_id = str(
            client.media_upload(
                message.phone_number_id,
                data,
                media.mime_type,
                filename=media.filename or f"file{_suffix(media.mime_type)}",
            )
        )
    except ge.GraphOutcomeUnknown as exc:
        # No message left yet: a second upload at worst leaves an unused media id.
        raise ge.GraphTransientError(
            f"the media upload's answer was lost: {exc}", code=exc.code
        ) from exc
    media.media_id = media_id[:64]
    media.save(update_fields=["media_id"])
    logger.info("message %s: media uploaded as %s", message.pk, media_id)
    return media_id


def request_ready(message: Message, client: Any, request: dict[str, Any]) -> dict[str, Any]:
    """The send request of ``message``, with its file's Meta media id when it has one.

    Uploads the stored file on the first try only: the id is kept in the message's
    request (and on its ``Media``), so a retry sends by it. Raises the Graph client's
    errors for ``message_send`` to map: transient (retry) and refusals (failed); an
    upload whose outcome is unknown is retried, as nothing was sent to the customer yet.
    """
    kind = str(request.get("type") or "")
    if kind == "template":
        ready = json.loads(json.dumps(request))  # a copy to fill in
        header = _pending_header(ready)
        if header is None:
            return request
        header["id"] = _upload(message, client)
    elif kind in KINDS:
        body = dict(request.get(kind) or {})
        if body.get("id") or body.get("link"):
            return request
        ready = {**request, kind: {"id": _upload(message, client), **body}}
    else:
        return request
    message.payload = {**message.payload, "request": ready}
    message.save(update_fields=["payload"])
    return ready
