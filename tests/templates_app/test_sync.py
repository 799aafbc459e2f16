"""Reading a WABA's templates from Meta: import, samples skipped, deletions, order, fan-out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone

from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from templates_app import tasks
from templates_app.models import (
    ChangeKind,
    Submission,
    SyncState,
    Template,
    TemplateStatus,
    TemplateSync,
)
from templates_app.selectors import recently_deleted
from templates_app.services import sync
from tests.factories import TemplateFactory, World
from tests.fixtures_senders import Connected, ConnectWaba
from tests.templates_app.support import history, notifications, reload
from waba_portal.errors import NotAllowed

pytestmark = pytest.mark.django_db


def at_meta(c: Connected, mock_meta: Any, name: str, **fields: Any) -> str:
    """A template made at Meta (in WhatsApp Manager); its id."""
    made = requests.post(
        f"{mock_meta.graph_url}/{c.waba_id}/message_templates",
        json={
            "name": name,
            "language": fields.pop("language", "en_US"),
            "category": fields.pop("category", "UTILITY"),
            "components": [{"type": "BODY", "text": f"Text of {name}, for {{{{1}}}} today."}],
        },
        headers={"Authorization": f"Bearer {c.token}"},
        timeout=5,
    )
    made.raise_for_status()
    template_id = str(made.json()["id"])
    mock_meta.patch("template", template_id, **({"status": "APPROVED"} | fields))
    return template_id


def run(c: Connected, capture: Any) -> TemplateSync:
    with capture(execute=True):
        tasks.templates_sync_task.delay(c.tenant.pk, c.waba.pk, None)
    with tenant_scope(c.tenant):
        return TemplateSync.objects.order_by("-id").first()  # type: ignore[return-value]


def rows(c: Connected) -> dict[str, Template]:
    with tenant_scope(c.tenant):
        return {t.name: t for t in Template.objects.filter(waba=c.waba)}


def test_templates_made_in_manager_are_imported_and_samples_skipped(
    c: Connected, mock_meta: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(sync, "PAGE_SIZE", 2)  # several pages
    at_meta(c, mock_meta, "welcome_offer", category="MARKETING", quality_score="GREEN")
    at_meta(c, mock_meta, "welcome_offer", language="de", category="MARKETING")
    at_meta(c, mock_meta, "order_late", status="REJECTED", rejected_reason="INVALID_FORMAT")
    at_meta(c, mock_meta, "sample_purchase_feedback")
    at_meta(c, mock_meta, "sample_issue_resolution")

    done = run(c, django_capture_on_commit_callbacks)
    assert (done.state, done.read, done.created, done.samples_skipped, done.deleted) == (
        SyncState.DONE,
        5,
        3,
        2,
        0,
    )
    pages = [
        r for r in mock_meta.requests() if r["method"] == "GET" and "after" in (r["query"] or {})
    ]
    assert len(pages) == 2
    got = rows(c)
    assert set(got) == {"welcome_offer", "order_late"}
    with tenant_scope(c.tenant):
        languages = sorted(
            Template.objects.filter(name="welcome_offer").values_list("language", flat=True)
        )
    assert languages == ["de", "en_US"]
    late = got["order_late"]
    assert (late.status, late.rejected_reason, late.ever_approved) == (
        "REJECTED",
        "INVALID_FORMAT",
        False,
    )
    assert got["welcome_offer"].body_text.startswith("Text of welcome_offer")
    assert history(late)[0].kind == ChangeKind.IMPORTED
    assert notifications(c) == []  # importing tells nobody

    # A second read changes nothing.
    again = run(c, django_capture_on_commit_callbacks)
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)


def test_a_template_deleted_at_meta_is_marked_deleted_here(
    c: Connected, mock_meta: Any, django_capture_on_commit_callbacks: Any
) -> None:
    kept_id = at_meta(c, mock_meta, "still_there")
    kept = TemplateFactory(waba=c.waba, name="still_there", meta_template_id=kept_id)
    gone = TemplateFactory(waba=c.waba, name="deleted_in_manager", meta_template_id="999999999")
    on_its_way = TemplateFactory(
        waba=c.waba, name="being_submitted", meta_template_id="", submission=Submission.CREATING
    )
    done = run(c, django_capture_on_commit_callbacks)
    assert done.deleted == 1
    row = reload(gone)
    assert row.is_deleted and row.status == TemplateStatus.DELETED
    assert history(gone)[-1].kind == ChangeKind.DELETED and history(gone)[-1].source == "sync"
    assert not reload(kept).is_deleted and not reload(on_its_way).is_deleted
    # An approved template deleted at Meta keeps its name for 30 days here too.
    with tenant_scope(c.tenant):
        assert recently_deleted(c.waba, "deleted_in_manager", "en_US") is not None


def test_what_meta_changed_is_applied_and_told(
    c: Connected, mock_meta: Any, django_capture_on_commit_callbacks: Any
) -> None:
    meta_id = at_meta(
        c,
        mock_meta,
        "now_paused",
        status="PAUSED",
        category="MARKETING",
        previous_category="UTILITY",
    )
    mine = TemplateFactory(waba=c.waba, name="now_paused", meta_template_id=meta_id)
    done = run(c, django_capture_on_commit_callbacks)
    assert done.updated == 1
    row = reload(mine)
    assert (row.status, row.category, row.previous_category) == ("PAUSED", "MARKETING", "UTILITY")
    assert row.updated_by is None
    assert [n.title for n in notifications(c)] == [
        "Meta paused the template now_paused (en_US)"
    ] * 2


def test_a_newer_webhook_is_not_undone_by_the_read(
    c: Connected, mock_meta: Any, django_capture_on_commit_callbacks: Any
) -> None:
    meta_id = at_meta(c, mock_meta, "raced")  # Meta's list still says APPROVED
    later = (timezone.now() + timedelta(minutes=5)).timestamp()
    mine = TemplateFactory(
        waba=c.waba,
        name="raced",
        meta_template_id=meta_id,
        status="PAUSED",
        event_clock={"status": later},  # a webhook after the read started
    )
    run(c, django_capture_on_commit_callbacks)
    assert reload(mine).status == TemplateStatus.PAUSED


def test_access_lost_is_kept_on_the_sync_with_its_entry(
    c: Connected, mock_meta: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mock_meta.fault("GET", r"/message_templates$", code=190, http_status=401, times=5)
    done = run(c, django_capture_on_commit_callbacks)
    assert (done.state, done.problem) == (SyncState.FAILED, ts.TOKEN_INVALID)


def test_sync_now_is_for_managers_and_runs_once_at_a_time(
    world: World, c: Connected, mock_meta: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_scope(c.tenant):
        with pytest.raises(NotAllowed):
            sync.templates_sync_request(actor=world.agent)
        with django_capture_on_commit_callbacks(execute=False):
            first = sync.templates_sync_request(actor=world.admin)
            second = sync.templates_sync_request(actor=world.owner)
    assert [s.pk for s in first] == [s.pk for s in second]  # the one queued already


def test_the_periodic_fan_out_reads_each_due_account_of_every_tenant(
    world: World,
    connect_waba: ConnectWaba,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ours = connect_waba(world.tenant)
    theirs = connect_waba(world.other_tenant, name="Globex WABA")
    at_meta(ours, mock_meta, "ours_only")
    at_meta(theirs, mock_meta, "theirs_only")
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.templates_sync_fan_out_task.delay().get() == 2
    assert set(rows(ours)) == {"ours_only"} and set(rows(theirs)) == {"theirs_only"}
    # Both were read just now: nothing is due.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.templates_sync_fan_out_task.delay().get() == 0
