"""A number's business profile: the fields' rules, the sync to Meta and its state, the page.

The sync runs against the mock Meta server over HTTP: in-process through the task's
real code path (eager Celery, the task's own retries) for most tests, and on a real
Celery worker where the worker is the point (marked ``worker``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, Membership, Notification
from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import (
    AccountHistory,
    BusinessProfile,
    BusinessProfileSync,
    HistoryKind,
    ProfileSyncState,
)
from senders.services import business_profile as profiles
from tests.factories import World
from tests.fixtures_celery import WorkerProcess, wait_for
from tests.fixtures_senders import Connected
from waba_portal.celery import app as celery_app
from waba_portal.errors import Conflict, Invalid, NotAllowed
from waba_portal.mock_meta.control_client import MockMeta

pytestmark = pytest.mark.django_db(transaction=True)

GOOD: dict[str, Any] = {
    "about": "Fresh bread every morning",
    "address": "Hauptstraße 1, 10115 Berlin",
    "description": "A family bakery since 1952.",
    "email": "hello@bakery.example",
    "websites": ["https://bakery.example", "http://shop.bakery.example/de"],
    "vertical": "RESTAURANT",
}


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def eager_retries() -> Iterator[None]:
    """Tasks still run in-process, and a retry a task asks for runs at once (eager
    ``apply`` does that when it does not propagate the task's ``Retry``)."""
    celery_app.conf.task_eager_propagates = False
    try:
        yield
    finally:
        celery_app.conf.task_eager_propagates = True


def page_client(m: Membership) -> Client:
    client = Client()
    client.force_login(m.user)
    return client


def profile_url(c: Connected, suffix: str = "") -> str:
    return f"/t/{c.tenant.slug}/settings/whatsapp/numbers/{c.phone.pk}/profile/{suffix}"


def mock_profile(mock_meta: MockMeta, c: Connected) -> dict[str, Any]:
    import requests

    answer = requests.get(
        f"{mock_meta.graph_url}/{c.phone_number_id}/whatsapp_business_profile",
        headers={"Authorization": f"Bearer {c.token}"},
        timeout=5,
    )
    return dict(answer.json()["data"][0])


def sync_row(c: Connected) -> BusinessProfileSync:
    with tenant_scope(c.tenant):
        return BusinessProfileSync.objects.get(phone_number=c.phone)


def save(c: Connected, m: Membership, data: dict[str, Any], *, partial: bool = False) -> list[str]:
    with tenant_scope(c.tenant):
        phone = c.reload_phone()
        _row, changed = profiles.profile_save(actor=m, phone=phone, data=data, partial=partial)
    return changed


# --- The fields, each way ---------------------------------------------------------------


def clean(**data: Any) -> profiles.ProfileValues:
    return profiles.profile_clean({"about": "Hi", **data}, base=profiles.ProfileValues())


def errors_of(**data: Any) -> dict[str, list[str]]:
    with pytest.raises(Invalid) as caught:
        clean(**data)
    return dict(caught.value.details["fields"])


@pytest.mark.parametrize(
    ("field", "limit"), [("about", 139), ("address", 256), ("description", 512)]
)
def test_text_fields_take_up_to_their_limit(field: str, limit: int) -> None:
    assert getattr(clean(**{field: "x" * limit}), field) == "x" * limit
    errors = errors_of(**{field: "x" * (limit + 1)})
    assert list(errors) == [field]
    assert f"{limit + 1} characters" in errors[field][0] and f"{limit} or fewer" in errors[field][0]


def test_line_breaks_count_once_and_text_is_trimmed() -> None:
    assert clean(about="  a\r\nb  ").about == "a\nb"
    assert clean(about="x\r\n" * 46 + "x").about.count("\n") == 46  # 139 characters


def test_about_cannot_be_emptied_but_may_be_left_out() -> None:
    assert "Write the About text" in errors_of(about="   ")["about"][0]
    kept = profiles.profile_clean({"email": ""}, base=profiles.ProfileValues(about="Kept"))
    assert kept.about == "Kept"


@pytest.mark.parametrize("email", ["hello@bakery.example", "a.b+c@sub.example.org", ""])
def test_valid_emails_are_taken(email: str) -> None:
    assert clean(email=email).email == email


@pytest.mark.parametrize("email", ["hello", "hello@", "@bakery.example", "a b@c.example"])
def test_invalid_emails_are_refused(email: str) -> None:
    assert "valid e-mail address" in errors_of(email=email)["email"][0]


def test_an_email_over_128_characters_is_refused() -> None:
    long = "a" * 117 + "@example.com"  # 129
    assert "129 characters" in errors_of(email=long)["email"][0]
    assert clean(email=long[1:]).email == long[1:]


def test_websites_up_to_two_http_or_https_urls() -> None:
    assert clean(websites=["https://a.example", "http://b.example/x?y=1"]).websites == (
        "https://a.example",
        "http://b.example/x?y=1",
    )
    assert clean(websites=["", "https://a.example"]).websites == ("https://a.example",)
    assert (
        "at most two websites"
        in errors_of(websites=["https://a.example", "https://b.example", "https://c.example"])[
            "websites"
        ][0]
    )
    for bad in ("ftp://a.example", "a.example", "https://", "javascript:alert(1)"):
        assert "starting with https://" in errors_of(websites=[bad])["websites.0"][0], bad
    long = "https://a.example/" + "x" * 239  # 257
    assert "257 characters" in errors_of(websites=["https://ok.example", long])["websites.1"][0]
    assert len(clean(websites=[long[:-1]]).websites[0]) == 256
    assert "list of up to two" in errors_of(websites={"a": 1})["websites"][0]


def test_vertical_from_meta_s_list_only() -> None:
    assert clean(vertical="RETAIL").vertical == "RETAIL"
    assert clean(vertical="").vertical == ""
    # Meta's read-only answers are "not chosen", never sent back.
    assert clean(vertical="UNDEFINED").vertical == ""
    assert clean(vertical="NOT_A_BIZ").vertical == ""
    assert "Choose a category" in errors_of(vertical="SPACE")["vertical"][0]
    assert "Choose a category" in errors_of(vertical=5)["vertical"][0]


def test_every_wrong_field_is_named_at_once() -> None:
    with pytest.raises(Invalid) as caught:
        profiles.profile_clean(
            {"about": "", "email": "nope", "websites": ["nope"], "vertical": "X"},
            base=profiles.ProfileValues(),
        )
    assert set(caught.value.details["fields"]) == {"about", "email", "websites.0", "vertical"}
    assert "About" in caught.value.message and "E-mail" in caught.value.message


def test_non_text_values_are_refused_not_crashed_on() -> None:
    assert "Send text" in errors_of(about=["a"])["about"][0]
    assert "Send each website as text" in errors_of(websites=[5])["websites.0"][0]


# --- Saving and the sync to Meta --------------------------------------------------------


def test_a_save_goes_live_at_meta_and_is_recorded(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    changed = save(c, world.owner, GOOD)
    assert set(changed) == {"about", "address", "description", "email", "websites", "vertical"}
    row = sync_row(c)
    assert row.state == ProfileSyncState.LIVE, (row.problem, row.error_message)
    assert row.sent_at and row.live_at and row.live_at >= row.sent_at and row.attempts == 1
    assert row.edited_by == world.owner.user
    at_meta = mock_profile(mock_meta, c)
    for key, value in GOOD.items():
        assert at_meta[key] == value
    with tenant_scope(c.tenant):
        profile = BusinessProfile.objects.get(phone_number=c.phone)
        assert (profile.about, profile.vertical, profile.websites) == (
            GOOD["about"],
            "RESTAURANT",
            GOOD["websites"],
        )
        history = AccountHistory.objects.filter(kind=HistoryKind.PROFILE, phone_number=c.phone)
        assert {h.detail["field"] for h in history} == set(changed)
        about = history.get(detail__field="about")
        assert (about.new_value, about.source) == (GOOD["about"], "user")
        audit = AuditEvent.objects.get(action="business_profile.saved")
        assert audit.actor == world.owner.user and "About" in audit.metadata["fields"]
    # The request Meta got: the fields, and the product.
    posted = [
        r
        for r in mock_meta.requests()
        if r["method"] == "POST" and r["path"].endswith("/whatsapp_business_profile")
    ]
    assert posted[-1]["body"]["messaging_product"] == "whatsapp"


def test_saving_the_same_values_again_sends_nothing(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    save(c, world.owner, GOOD)
    mock_meta.requests(clear=True)
    assert save(c, world.admin, GOOD) == []
    assert save(c, world.admin, {"email": GOOD["email"]}, partial=True) == []
    assert not [r for r in mock_meta.requests() if r["method"] == "POST"]


def test_a_partial_save_changes_only_its_fields(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    save(c, world.owner, GOOD)
    assert save(c, world.owner, {"about": "Closed on Sundays"}, partial=True) == ["about"]
    at_meta = mock_profile(mock_meta, c)
    assert at_meta["about"] == "Closed on Sundays" and at_meta["email"] == GOOD["email"]
    # A full save empties what it leaves out (the category stays: Meta cannot unset it).
    save(c, world.owner, {"about": "Only this"})
    at_meta = mock_profile(mock_meta, c)
    assert (at_meta["email"], at_meta["websites"], at_meta["vertical"]) == ("", [], "RESTAURANT")
    assert save(c, world.owner, {"about": "Only this", "vertical": ""}) == []
    assert sync_row(c).vertical == "RESTAURANT"


def test_meta_refusing_fails_the_edit_with_its_entry_and_retry_sends_it_again(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    mock_meta.fault(
        "POST",
        r"/whatsapp_business_profile$",
        code=100,
        details="Param email must be a valid email address",
        times=1,
    )
    save(c, world.owner, GOOD)
    row = sync_row(c)
    assert (row.state, row.problem) == (ProfileSyncState.FAILED, ts.PROFILE_REJECTED)
    assert "email must be a valid email address" in row.error_message
    assert row.attempts == 1  # a refusal is final: no retry
    with tenant_scope(c.tenant):
        note = Notification.objects.filter(kind=profiles.KIND_PROFILE_FAILED).first()
        assert note is not None and str(c.phone) in note.params["number"]
    # The page shows the reason, the fix and Retry.
    page = page_client(world.owner).get(profile_url(c)).content.decode()
    assert 'data-problem="profile_rejected"' in page and "email must be a valid" in page
    assert 'id="profile-retry"' in page
    assert mock_profile(mock_meta, c)["about"] == ""  # nothing of it reached WhatsApp
    answer = page_client(world.admin).post(profile_url(c, "retry/"), HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and 'data-profile-state="live"' in answer.content.decode()
    assert sync_row(c).state == ProfileSyncState.LIVE
    assert mock_profile(mock_meta, c)["about"] == GOOD["about"]
    with tenant_scope(c.tenant):
        assert AuditEvent.objects.filter(action="business_profile.retried").count() == 1


def test_retry_is_only_for_a_failed_edit(world: World, connected_waba: Connected) -> None:
    c = connected_waba
    save(c, world.owner, GOOD)
    with tenant_scope(c.tenant), pytest.raises(Conflict):
        profiles.profile_retry(actor=world.owner, phone=c.reload_phone())
    client = page_client(world.owner)
    answer = client.post(profile_url(c, "retry/"))
    assert answer.status_code == 302  # back to the page, with the message
    page = client.get(answer["Location"]).content.decode()
    assert "Only a profile change that failed can be retried" in page


def test_meta_unavailable_is_retried_then_goes_live(
    world: World, connected_waba: Connected, mock_meta: MockMeta, eager_retries: None
) -> None:
    c = connected_waba
    # Three failures: the client's own tries of the call; the task then tries again.
    mock_meta.fault("POST", r"/whatsapp_business_profile$", code=2, http_status=503, times=3)
    save(c, world.owner, GOOD)
    row = sync_row(c)
    assert row.state == ProfileSyncState.LIVE and row.attempts == 2


def test_retries_are_bounded_and_the_edit_then_fails_with_why(
    world: World, connected_waba: Connected, mock_meta: MockMeta, settings, eager_retries: None
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    settings.PROFILE_SYNC_MAX_RETRIES = 2
    mock_meta.fault("POST", r"/whatsapp_business_profile$", code=2, http_status=503, times=50)
    save(c, world.owner, GOOD)
    row = sync_row(c)
    assert (row.state, row.problem, row.attempts) == (
        ProfileSyncState.FAILED,
        ts.META_UNAVAILABLE,
        3,
    )
    assert row.error_message  # Meta's words of the last try
    mock_meta.clear_faults()
    with tenant_scope(c.tenant):
        profiles.profile_retry(actor=world.owner, phone=c.reload_phone())
    assert sync_row(c).state == ProfileSyncState.LIVE


def test_what_meta_does_not_show_yet_is_found() -> None:
    sent = {"about": "New", "email": "A@B.example", "websites": ["https://a.example/"]}
    answer = {"about": "New", "email": "a@b.example", "websites": ["https://a.example"]}
    assert profiles._not_shown(sent, answer, "") == []  # Meta's spelling of the same
    assert profiles._not_shown({**sent, "about": "Newer"}, answer, "") == ["about"]
    with_picture = {**sent, "profile_picture_handle": "4::h"}
    assert profiles._not_shown(with_picture, answer, "") == ["profile_picture"]
    shown = {**answer, "profile_picture_url": "https://pps.example/1"}
    assert profiles._not_shown(with_picture, shown, "https://pps.example/1") == ["profile_picture"]
    assert profiles._not_shown(with_picture, shown, "https://pps.example/0") == []


def test_retries_running_out_while_meta_shows_old_values_fail_as_not_applied(
    world: World, connected_waba: Connected
) -> None:
    c = connected_waba
    save(c, world.owner, GOOD)
    with tenant_scope(c.tenant):
        row = sync_row(c)
        BusinessProfileSync.objects.filter(pk=row.pk).update(state=ProfileSyncState.SENT)
        profiles.profile_push_give_up(
            sync_pk=row.pk,
            version=row.edited_at.isoformat(),
            error=profiles.ProfileNotLiveYet(["about"]),
        )
    row = sync_row(c)
    assert (row.state, row.problem) == (ProfileSyncState.FAILED, ts.PROFILE_NOT_APPLIED)
    assert "about" in row.error_message


def test_a_stale_task_does_nothing(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    save(c, world.owner, GOOD)
    old = sync_row(c).edited_at.isoformat()
    save(c, world.owner, {"about": "Newer"}, partial=True)
    mock_meta.requests(clear=True)
    with tenant_scope(c.tenant):
        assert profiles.profile_push(sync_pk=sync_row(c).pk, version=old) is None
        assert profiles.profile_push(sync_pk=sync_row(c).pk, version="garbage") is None
    assert not mock_meta.requests()
    assert mock_profile(mock_meta, c)["about"] == "Newer"


def test_a_disconnected_account_cannot_be_changed(world: World, connected_waba: Connected) -> None:
    c = connected_waba
    with tenant_scope(c.tenant):
        c.waba.connection_status = "disconnected"
        c.waba.save(update_fields=["connection_status"])
        with pytest.raises(Conflict) as caught:
            profiles.profile_save(actor=world.owner, phone=c.reload_phone(), data=GOOD)
    assert caught.value.code == "not_connected"
    page = page_client(world.owner).get(profile_url(c)).content.decode()
    assert 'id="profile-not-connected"' in page and 'id="profile-save"' not in page


def test_only_managers_save(world: World, connected_waba: Connected) -> None:
    c = connected_waba
    with tenant_scope(c.tenant), pytest.raises(NotAllowed):
        profiles.profile_save(actor=world.agent, phone=c.reload_phone(), data=GOOD)
    assert save(c, world.admin, GOOD)


# --- Reading from Meta ------------------------------------------------------------------


def test_the_page_reads_the_profile_from_meta_when_it_has_none(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    import requests

    requests.post(
        f"{mock_meta.graph_url}/{c.phone_number_id}/whatsapp_business_profile",
        json={"messaging_product": "whatsapp", "about": "Set in WhatsApp Manager"},
        headers={"Authorization": f"Bearer {c.token}"},
        timeout=5,
    ).raise_for_status()
    page = page_client(world.agent).get(profile_url(c))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Set in WhatsApp Manager" in body and 'data-profile-state="meta"' in body
    with tenant_scope(c.tenant):
        assert BusinessProfile.objects.get(phone_number=c.phone).fetched_at is not None
        assert not BusinessProfileSync.objects.exists()  # no edit: nothing to keep
    # Read once: the next visit does not ask Meta again.
    mock_meta.requests(clear=True)
    page_client(world.agent).get(profile_url(c))
    assert not [r for r in mock_meta.requests() if "whatsapp_business_profile" in r["path"]]


def test_refresh_from_meta_follows_meta_unless_an_edit_is_on_its_way(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    save(c, world.owner, GOOD)
    import requests

    from tests.senders.test_profile_logo import jpeg

    # Someone changes the profile and its picture in WhatsApp Manager.
    base = mock_meta.graph_url
    auth = {"Authorization": f"Bearer {c.token}"}
    logo = jpeg(500, 500)
    session = requests.post(
        f"{base}/{mock_meta.app_id}/uploads",
        params={"file_length": str(len(logo)), "file_type": "image/jpeg"},
        headers=auth,
        timeout=5,
    ).json()["id"]
    handle = requests.post(
        f"{base}/{session}", data=logo, headers={**auth, "file_offset": "0"}, timeout=5
    ).json()["h"]
    requests.post(
        f"{base}/{c.phone_number_id}/whatsapp_business_profile",
        json={
            "messaging_product": "whatsapp",
            "about": "Changed at Meta",
            "profile_picture_handle": handle,
        },
        headers=auth,
        timeout=5,
    ).raise_for_status()
    answer = page_client(world.admin).post(profile_url(c, "refresh/"))
    assert answer.status_code == 302
    row = sync_row(c)
    assert (row.about, row.state) == ("Changed at Meta", ProfileSyncState.LIVE)
    assert row.picture  # Meta's picture, kept here to be shown
    with tenant_scope(c.tenant):
        assert AuditEvent.objects.filter(action="business_profile.refreshed").exists()
    assert page_client(world.admin).get(profile_url(c, "picture/")).status_code == 200
    # With an edit on its way, a refresh keeps the edit and updates only Meta's side.
    with tenant_scope(c.tenant):
        BusinessProfileSync.objects.filter(pk=row.pk).update(
            state=ProfileSyncState.SENT, about="Mine, on its way"
        )
        profiles.profile_refresh(actor=world.owner, phone=c.reload_phone())
    row = sync_row(c)
    assert (row.about, row.state) == ("Mine, on its way", ProfileSyncState.SENT)


def test_refresh_failing_says_which_entry(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    mock_meta.fault("GET", r"/whatsapp_business_profile$", code=190, http_status=401, times=1)
    with tenant_scope(c.tenant), pytest.raises(profiles.MetaError) as caught:
        profiles.profile_refresh(actor=world.owner, phone=c.reload_phone())
    assert caught.value.problem == ts.TOKEN_INVALID and caught.value.status == 409
    mock_meta.fault("GET", r"/whatsapp_business_profile$", code=190, http_status=401, times=1)
    page = page_client(world.owner).get(profile_url(c)).content.decode()
    assert 'id="profile-read-problem"' in page and 'data-problem="token_invalid"' in page


# --- The page -----------------------------------------------------------------------------


def test_the_page_saves_and_shows_errors_beside_their_fields(
    world: World, connected_waba: Connected
) -> None:
    c = connected_waba
    client = page_client(world.owner)
    bad = {
        "about": "x" * 140,
        "email": "not-an-address",
        "website_1": "bakery.example",
        "website_2": "",
        "vertical": "RESTAURANT",
    }
    answer = client.post(profile_url(c), bad)
    assert answer.status_code == 400
    body = answer.content.decode()
    assert 'id="error_about"' in body and "140 characters" in body
    assert 'id="error_email"' in body and 'id="error_website_1"' in body
    assert body.count('aria-invalid="true"') == 3
    assert "x" * 140 in body  # what was typed is kept
    with tenant_scope(c.tenant):
        assert not BusinessProfileSync.objects.exists()
    good = {**bad, "about": "Bread", "email": "a@b.example", "website_1": "https://b.example"}
    answer = client.post(profile_url(c), good)
    assert answer.status_code == 302
    page = client.get(answer["Location"]).content.decode()
    assert "Saved here. The state below" in page
    assert 'data-profile-state="live"' in page and "Live at Meta" in page
    assert 'value="https://b.example"' in page


def test_htmx_save_answers_the_editor_and_the_state_box_polls_while_pending(
    world: World, connected_waba: Connected, mock_meta: MockMeta
) -> None:
    c = connected_waba
    client = page_client(world.owner)
    answer = client.post(profile_url(c), {"about": "Bread", "vertical": ""}, HTTP_HX_REQUEST="true")
    body = answer.content.decode()
    assert answer.status_code == 200 and body.startswith('<div id="profile-editor">')
    assert 'id="profile-notice"' in body
    # Errors answer 200 for htmx (it swaps only 2xx), with the fields marked.
    answer = client.post(profile_url(c), {"about": ""}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and 'id="error_about"' in answer.content.decode()
    # While saved or sent, the box asks again by itself; once live it stops.
    with tenant_scope(c.tenant):
        BusinessProfileSync.objects.update(state=ProfileSyncState.SENT, attempts=2)
    box = client.get(profile_url(c, "state/")).content.decode()
    assert 'hx-trigger="every 2s"' in box and "Attempt 2 of 6" in box
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        box = client.get(profile_url(c, "state/")).content.decode()
    assert 'hx-trigger="every 10s"' in box and 'id="profile-slow"' in box
    with tenant_scope(c.tenant):
        BusinessProfileSync.objects.update(state=ProfileSyncState.LIVE)
    box = client.get(profile_url(c, "state/")).content.decode()
    assert "hx-get" not in box and "Live at Meta" in box


def test_agents_read_the_page_but_cannot_change_it(world: World, connected_waba: Connected) -> None:
    c = connected_waba
    save(c, world.owner, GOOD)
    agent = page_client(world.agent)
    page = agent.get(profile_url(c)).content.decode()
    assert GOOD["about"] in page and 'id="profile-read-only"' in page
    assert 'id="profile-save"' not in page and 'id="picture-form"' not in page
    assert agent.get(profile_url(c, "state/")).status_code == 200
    for suffix in ("", "retry/", "refresh/", "picture/"):
        assert agent.post(profile_url(c, suffix), {"about": "Hacked"}).status_code == 403
    assert sync_row(c).about == GOOD["about"]


def test_another_tenant_s_number_is_not_found(
    world: World, connected_waba: Connected, other_connected_waba: Connected
) -> None:
    theirs = other_connected_waba
    mine = page_client(world.owner)
    for suffix in ("", "state/", "picture/"):
        url = f"/t/acme/settings/whatsapp/numbers/{theirs.phone.pk}/profile/{suffix}"
        assert mine.get(url).status_code == 404, suffix
    for suffix in ("", "retry/", "refresh/", "picture/"):
        url = f"/t/acme/settings/whatsapp/numbers/{theirs.phone.pk}/profile/{suffix}"
        assert mine.post(url, {"about": "x"}).status_code == 404, suffix
    # And their owner does not get into our workspace's page.
    outsider = page_client(world.other_owner)
    assert outsider.get(profile_url(connected_waba)).status_code == 404


# --- On a real worker ---------------------------------------------------------------------


@pytest.fixture
def celery_worker_env(mock_meta: MockMeta, tmp_path: Path) -> dict[str, str]:
    return {
        "GRAPH_API_BASE_URL": mock_meta.base_url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PROFILE_SYNC_RETRY_BASE_SECONDS": "0.2",
    }


@pytest.mark.worker
def test_on_a_worker_the_edit_goes_saved_sent_live(
    world: World,
    connected_waba: Connected,
    mock_meta: MockMeta,
    celery_worker_process: WorkerProcess,
) -> None:
    c = connected_waba
    # Meta takes a moment, and fails once: the worker retries by itself.
    mock_meta.fault("POST", r"/whatsapp_business_profile$", code=2, http_status=503, times=3)
    mock_meta.fault("POST", r"/whatsapp_business_profile$", latency=1.0, times=1)
    save(c, world.owner, GOOD)
    assert sync_row(c).state == ProfileSyncState.SAVED  # the request returned at once
    seen = {sync_row(c).state}
    log = celery_worker_process.log

    def live() -> bool:
        state = sync_row(c).state  # one read: the state may move on between two
        seen.add(state)
        return state == ProfileSyncState.LIVE

    wait_for(live, timeout=30, interval=0.05, message=log()[-3000:])
    assert seen >= {ProfileSyncState.SAVED, ProfileSyncState.SENT, ProfileSyncState.LIVE}
    assert sync_row(c).attempts == 2
    assert mock_profile(mock_meta, c)["about"] == GOOD["about"]
