"""Media messages' files: fetched from Meta in the background, kept with Django's storage.

``media_fetch`` (run by ``inbox.tasks.media_fetch_task``) reads the media id's short-lived
URL through the Graph client, checks it and downloads the file with the channel's
token, then saves it with the default storage (local files unless a django-storages
backend is configured) under a name of ours. Refused, with the reason kept on the row:

- a file larger than ``INBOX_MEDIA_MAX_BYTES`` (Meta's size says so before the download,
  or the bytes that came do);
- a URL whose host is not one of ``INBOX_MEDIA_HOSTS`` (Meta's media hosts; the mock
  Meta server's in tests and the local demo): the token goes nowhere else;
- a media id Meta no longer knows (media are kept 30 days), or a token that no longer
  works.

Transient failures (Meta unavailable, rate limits, the network) raise
:class:`MediaRetry` for the task to retry with backoff; when the retries run out the row
says why (:func:`media_give_up`). Files are served only to the workspace's members who
may see the conversation (``inbox.views.media_file``).
"""

from __future__ import annotations

import logging
import mimetypes
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inbox.models import Conversation, Media, MediaState
from senders.services.graph import graph_client
from waba_portal.graph import errors as ge

logger = logging.getLogger(__name__)

PROBLEM_TOO_LARGE = "too_large"
PROBLEM_HOST = "host_refused"
PROBLEM_GONE = "gone"
PROBLEM_ACCESS = "no_access"
PROBLEM_META = "meta_error"
PROBLEM_UNAVAILABLE = "unavailable"


class MediaRetry(Exception):
    """Meta or the network failed for now: fetch the file again later."""


def media_host_allowed(url: str) -> bool:
    """Whether ``url`` is https (or the configured Graph host) on an allowed media host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https"):
        return False
    for entry in settings.INBOX_MEDIA_HOSTS:
        allowed = entry.strip().lower().lstrip(".")
        if allowed and (host == allowed or host.endswith("." + allowed)):
            return True
    return False


def _conversation_touched(media: Media) -> None:
    conversation_id = media.message.conversation_id
    if conversation_id:
        Conversation.objects.filter(pk=conversation_id).update(
            version=F("version") + 1, changed_at=timezone.now()
        )


def _fail(media: Media, problem: str, error: str) -> None:
    media.state, media.problem, media.error = MediaState.FAILED, problem, error[:2000]
    media.save(update_fields=["state", "problem", "error", "attempts"])
    _conversation_touched(media)


def media_fetch(*, message_pk: int) -> Media | None:
    """Fetch the file of the media message ``message_pk`` (nothing when it is stored)."""
    media = (
        Media.objects.select_related("message__conversation__channel__waba")
        .filter(message_id=message_pk)
        .first()
    )
    if media is None or media.state == MediaState.STORED:
        return media
    conversation = media.message.conversation
    if conversation is None or not media.media_id:
        _fail(media, PROBLEM_GONE, "the message has no media id or thread")
        return media
    channel = conversation.channel
    token = channel.waba.access_token
    media.attempts += 1
    if not token:
        _fail(media, PROBLEM_ACCESS, "the account has no access token")
        return media
    cap = int(settings.INBOX_MEDIA_MAX_BYTES)
    client = graph_client(token=str(token))
    try:
        info = client.media_get(media.media_id, phone_number_id=channel.phone_number_id)
        size = info.get("file_size")
        if isinstance(size, int | str) and str(size).isdigit() and int(size) > cap:
            _fail(media, PROBLEM_TOO_LARGE, f"{size} bytes, more than {cap}")
            return media
        url = str(info.get("url") or "")
        if not media_host_allowed(url):
            host = urlsplit(url).hostname or "?"
            logger.warning("media %s: refused to download from %s", media.pk, host)
            _fail(media, PROBLEM_HOST, f"the media URL's host {host} is not a Meta media host")
            return media
        data = client.media_download(url)
    except (ge.GraphTransientError, ge.GraphRateLimitError, ge.GraphOutcomeUnknown) as exc:
        media.save(update_fields=["attempts"])
        raise MediaRetry(str(exc)) from exc
    except (ge.GraphAuthError, ge.GraphPermissionError) as exc:
        _fail(media, PROBLEM_ACCESS, str(exc))
        return media
    except ge.GraphNotFoundError as exc:
        _fail(media, PROBLEM_GONE, str(exc))
        return media
    except ge.GraphError as exc:
        _fail(media, PROBLEM_META, str(exc))
        return media
    except ValueError as exc:  # the client's own refusal of a URL
        _fail(media, PROBLEM_HOST, str(exc))
        return media
    if len(data) > cap:
        _fail(media, PROBLEM_TOO_LARGE, f"{len(data)} bytes, more than {cap}")
        return media
    mime = str(info.get("mime_type") or media.mime_type or "application/octet-stream")
    extension = mimetypes.guess_extension(mime.split(";")[0].strip()) or ""
    with transaction.atomic():
        media.file.save(f"file{extension}", ContentFile(data), save=False)
        media.mime_type = mime[:128]
        media.size = len(data)
        media.state, media.problem, media.error = MediaState.STORED, "", ""
        media.fetched_at = timezone.now()
        media.save()
        _conversation_touched(media)
    return media


def media_give_up(*, message_pk: int, error: str) -> None:
    """The retries ran out: the row says the file could not be fetched, and why."""
    media = Media.objects.select_related("message").filter(message_id=message_pk).first()
    if media is not None and media.state != MediaState.STORED:
        _fail(media, PROBLEM_UNAVAILABLE, error)
