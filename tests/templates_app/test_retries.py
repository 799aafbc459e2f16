"""A submission while Meta is unavailable: retried with backoff, then given up in words."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from senders import troubleshooting as ts
from templates_app import tasks
from templates_app.models import Submission, TemplateStatus
from tests.factories import World
from tests.fixtures_senders import Connected
from tests.templates_app.support import reload, submit

pytestmark = pytest.mark.django_db


def _submit_and_run(c: Connected, world: World, name: str, capture: Any) -> Any:
    """Submit; then the queued task as a worker runs it, its retries at once."""
    with capture(execute=False):
        template = submit(c, world.owner, name)
    tasks.template_create_task.apply(args=(c.tenant.pk, template.pk), throw=False)
    return reload(template)


def test_meta_unavailable_is_retried(
    world: World, c: Connected, mock_meta: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mock_meta.fault("POST", r"/message_templates$", code=2, http_status=503, times=1)
    row = _submit_and_run(c, world, "retried_once", django_capture_on_commit_callbacks)
    assert (row.status, row.submission) == (TemplateStatus.PENDING, Submission.NONE)
    posts = [r for r in mock_meta.requests() if r["method"] == "POST"]
    assert [p["status"] for p in posts] == [503, 200]


def test_meta_unavailable_for_good_is_given_up_with_the_entry(
    world: World,
    c: Connected,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.SYNC_MAX_RETRIES = 0  # the retries are spent: the next failure gives up
    mock_meta.fault("POST", r"/message_templates$", code=2, http_status=503, times=100)
    row = _submit_and_run(c, world, "never_through", django_capture_on_commit_callbacks)
    assert (row.submission, row.problem, row.status) == (
        Submission.FAILED,
        ts.META_UNAVAILABLE,
        "",
    )
    assert "unavailable" in row.problem_detail.lower()


def test_a_lost_answer_is_found_at_meta_and_not_sent_twice(
    world: World, c: Connected, mock_meta: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The create reached Meta but its answer was lost: the retry finds it by name."""
    with django_capture_on_commit_callbacks(execute=False):
        template = submit(c, world.owner, "lost_answer")
    # Meta has it (created by the lost call), with our text.
    requests.post(
        f"{mock_meta.graph_url}/{c.waba_id}/message_templates",
        json={
            "name": "lost_answer",
            "language": "en_US",
            "category": "UTILITY",
            "components": template.components,
        },
        headers={"Authorization": f"Bearer {c.token}"},
        timeout=5,
    ).raise_for_status()
    tasks.template_create_task.apply(args=(c.tenant.pk, template.pk), throw=False)
    row = reload(template)
    assert row.meta_template_id and row.status == TemplateStatus.PENDING
    posts = [r for r in mock_meta.requests() if r["method"] == "POST"]
    assert len(posts) == 1  # ours was not sent again
