"""Media of inbound messages: fetched from the mock Meta server with the channel's token,
kept with Django's storage, size-capped, only from allowed hosts, served to those who may
see the conversation."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts.tenancy import tenant_scope
from inbox import tasks
from inbox.models import Media, MediaState, Message
from inbox.services import media as media_service
from senders.services import channels
from tests.factories import World
from tests.fixtures_senders import Connected
from waba_portal.celery import app as celery_app
from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Customer

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"not really a photo, but bytes all the same " * 20


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    settings.INBOX_MEDIA_MAX_RETRIES = 2
    settings.INBOX_MEDIA_RETRY_BASE_SECONDS = 0
    return tmp_path


def photo(customer: Customer, **extra: Any) -> Message:
    sent = customer.says(
        **{"from": "4915112345678"},
        type="image",
        image={"content": base64.b64encode(JPEG).decode(), "caption": "the parcel", **extra},
    )
    with tenant_scope(customer.channel.tenant):
        return Message.objects.get(wamid=sent["message_id"])


def media_of(world: World, message: Message) -> Media:
    with tenant_scope(world.tenant):
        return Media.objects.get(message=message)


def fetch(world: World, message: Message) -> Media:
    # Eager, and its retries too (they run at once: the suite's eager tasks propagate
    # errors, which would stop at the first retry).
    tasks.media_fetch_task.apply(args=(world.tenant.pk, message.pk), throw=False)
    return media_of(world, message)


@pytest.fixture(autouse=True)
def eager_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)


def downloads(mock_meta: MockMeta) -> list[dict[str, Any]]:
    return [r for r in mock_meta.requests() if "attachments" in str(r.get("path"))]


def test_a_photo_is_fetched_with_the_token_stored_and_shown(
    world: World, customer: Customer, mock_meta: MockMeta, media_root: Path
) -> None:
    message = photo(customer)
    assert media_of(world, message).state == MediaState.PENDING
    media = fetch(world, message)
    assert (media.state, media.size, media.mime_type) == (
        MediaState.STORED,
        len(JPEG),
        "image/jpeg",
    )
    assert media.file.name.startswith(f"inbox/{world.tenant.pk}/")
    assert (media_root / media.file.name).read_bytes() == JPEG
    (download,) = downloads(mock_meta)
    assert download["headers"]["Authorization"].startswith("Bearer ")  # the channel's token

    client = Client()
    client.force_login(world.agent.user)
    answer = client.get(f"/t/acme/inbox/media/{media.pk}/")
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == JPEG  # type: ignore[attr-defined]
    assert answer["Content-Type"] == "image/jpeg"
    assert "sandbox" in answer["Content-Security-Policy"].split("; ")
    attachment = client.get(f"/t/acme/inbox/media/{media.pk}/?download=1")
    assert attachment["Content-Disposition"].startswith("attachment;")
    assert attachment["Content-Type"] == "application/octet-stream"

    page = client.get(f"/t/acme/inbox/c/{message.conversation_id}/").content.decode()
    assert f'src="/t/acme/inbox/media/{media.pk}/"' in page
    assert "the parcel" in page


def test_a_file_over_the_cap_is_refused_before_it_is_downloaded(
    world: World, customer: Customer, mock_meta: MockMeta, settings: Any
) -> None:
    settings.INBOX_MEDIA_MAX_BYTES = 100
    message = photo(customer)
    mock_meta.requests(clear=True)
    media = fetch(world, message)
    assert (media.state, media.problem, media.file.name) == (MediaState.FAILED, "too_large", "")
    assert downloads(mock_meta) == []
    client = Client()
    client.force_login(world.owner.user)
    page = client.get(f"/t/acme/inbox/c/{message.conversation_id}/").content.decode()
    assert "the file is larger than the inbox keeps" in page


def test_a_url_on_a_host_that_is_not_allowed_is_never_asked(
    world: World, customer: Customer, mock_meta: MockMeta, settings: Any
) -> None:
    settings.INBOX_MEDIA_HOSTS = ["fbsbx.com", "whatsapp.net"]  # the mock's host is not Meta's
    message = photo(customer)
    mock_meta.requests(clear=True)
    media = fetch(world, message)
    assert (media.state, media.problem) == (MediaState.FAILED, "host_refused")
    assert "127.0.0.1" in media.error
    assert downloads(mock_meta) == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1", True),
        ("https://mmg.whatsapp.net/x", True),
        ("https://fbsbx.com.evil.test/x", False),
        ("https://evilfbsbx.com/x", False),
        ("ftp://lookaside.fbsbx.com/x", False),
        ("", False),
    ],
)
def test_the_host_allow_list_matches_hosts_and_their_subdomains_only(
    settings: Any, url: str, allowed: bool
) -> None:
    settings.INBOX_MEDIA_HOSTS = ["fbsbx.com", "whatsapp.net"]
    assert media_service.media_host_allowed(url) is allowed


def test_meta_unavailable_is_retried_then_the_reason_is_kept(
    world: World, customer: Customer, mock_meta: MockMeta
) -> None:
    message = photo(customer)
    mock_meta.fault("GET", r"^/v\d+\.\d+/\d+$", http_status=503, code=2, times=100)
    media = fetch(world, message)  # eager: every retry runs at once
    assert (media.state, media.problem) == (MediaState.FAILED, "unavailable")
    assert media.attempts == 3  # the first try and INBOX_MEDIA_MAX_RETRIES more
    mock_meta.clear_faults()
    assert fetch(world, message).state == MediaState.STORED


def test_media_meta_no_longer_has_is_gone(
    world: World, customer: Customer, mock_meta: MockMeta, channel: Connected
) -> None:
    message = photo(customer)
    with tenant_scope(world.tenant):
        Media.objects.filter(message=message).update(media_id="404404404404404")
    media = fetch(world, message)
    assert (media.state, media.problem) == (MediaState.FAILED, "gone")


def test_files_are_served_only_to_members_who_see_the_conversation(
    world: World, customer: Customer, channel: Connected
) -> None:
    message = photo(customer)
    media = fetch(world, message)
    url = f"/t/acme/inbox/media/{media.pk}/"
    stranger = Client()
    stranger.force_login(world.other_owner.user)
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"/t/globex/inbox/media/{media.pk}/").status_code == 404
    with tenant_scope(world.tenant):
        channel_row = channels.channel_ensure(phone=channel.phone)
        channel_row.all_users = channel_row.all_teams = False
        channel_row.save()
    agent = Client()
    agent.force_login(world.agent.user)
    assert agent.get(url).status_code == 404  # no role on the channel: not found
    owner = Client()
    owner.force_login(world.owner.user)
    assert owner.get(url).status_code == 200
    nobody = Client()
    assert nobody.get(url).status_code == 302
