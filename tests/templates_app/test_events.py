"""Template webhooks through the real endpoint: status, category, quality; order and repeats."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from django.core import mail

from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from templates_app import troubleshooting as tts
from templates_app.models import ChangeKind, Template, TemplateStatus
from tests.factories import TemplateFactory, World
from tests.fixtures_celery import wait_for
from tests.fixtures_senders import Connected, ConnectWaba
from tests.templates_app.support import (
    change,
    history,
    notifications,
    post_webhook,
    reload,
    status_event,
)
from waba_portal.webhooks.models import WebhookChange

pytestmark = pytest.mark.django_db(transaction=True)  # processing is queued at commit

NOW = int(time.time())


@pytest.fixture
def template(c: Connected) -> Template:
    return TemplateFactory(waba=c.waba, name="order_update", status="PENDING", ever_approved=False)


def next_second() -> None:
    """Wait until the clock's second changes (webhooks are stamped in whole seconds)."""
    start = int(time.time())
    wait_for(lambda: int(time.time()) > start, timeout=2, interval=0.02)


def processed() -> set[str]:
    return set(WebhookChange.objects.values_list("status", flat=True))


def test_approved_then_paused_then_disabled_with_notifications(
    c: Connected, template: Template
) -> None:
    post_webhook(c.waba_id, status_event(template, "APPROVED"), at=NOW - 30)
    assert reload(template).status == TemplateStatus.APPROVED and reload(template).ever_approved
    assert notifications(c) == []

    pause = {"title": "FIRST_PAUSE", "description": "Paused for 3 hours due to low quality."}
    post_webhook(c.waba_id, status_event(template, "PAUSED", other_info=pause), at=NOW - 20)
    row = reload(template)
    assert row.status == TemplateStatus.PAUSED and row.status_detail == {"other_info": pause}
    paused = notifications(c)
    assert len(paused) == 2 and "paused" in paused[0].title
    assert "Paused for 3 hours" in paused[0].body
    assert str(ts.get(tts.TEMPLATE_PAUSED).steps[0]) in paused[0].body

    post_webhook(
        c.waba_id,
        status_event(template, "DISABLED", disable_info={"disable_date": NOW}),
        at=NOW - 10,
    )
    assert reload(template).status == TemplateStatus.DISABLED
    assert len(notifications(c)) == 4 and "disabled" in notifications(c)[-1].title
    assert processed() == {"processed"}
    assert len(mail.outbox) == 4  # the pause and the disable, to the owner and the admin
    statuses = [(h.old_value, h.new_value) for h in history(template) if h.kind == "status"]
    assert statuses == [("PENDING", "APPROVED"), ("APPROVED", "PAUSED"), ("PAUSED", "DISABLED")]


def test_a_rejection_keeps_meta_reason_and_recommendation(c: Connected, template: Template) -> None:
    info = {"reason": "Variables are too close.", "recommendation": "Add words between them."}
    post_webhook(
        c.waba_id, status_event(template, "REJECTED", reason="INVALID_FORMAT", rejection_info=info)
    )
    row = reload(template)
    assert (row.status, row.rejected_reason) == ("REJECTED", "INVALID_FORMAT")
    assert tts.problem_for_status(row.status, row.rejected_reason) == tts.TEMPLATE_REJECTED_FORMAT
    note = notifications(c)[0]
    assert "Invalid format" in note.title
    assert "Add words between them." in note.body


def test_the_same_event_twice_changes_and_tells_once(c: Connected, template: Template) -> None:
    event = status_event(template, "REJECTED", reason="PROMOTIONAL")
    post_webhook(c.waba_id, event, at=NOW)
    post_webhook(c.waba_id, event, at=NOW)
    assert len([h for h in history(template) if h.kind == ChangeKind.STATUS]) == 1
    assert len(notifications(c)) == 2  # owner and admin, once each


def test_an_older_event_loses(c: Connected, template: Template) -> None:
    post_webhook(c.waba_id, status_event(template, "APPROVED"), at=NOW)
    post_webhook(c.waba_id, status_event(template, "REJECTED", reason="SCAM"), at=NOW - 60)
    assert reload(template).status == TemplateStatus.APPROVED
    # Out of order in one delivery: applied oldest first.
    post_webhook(
        c.waba_id,
        status_event(template, "DISABLED"),
        status_event(template, "PAUSED"),
        at=NOW + 60,
    )
    assert reload(template).status in (TemplateStatus.DISABLED, TemplateStatus.PAUSED)


def test_pending_does_not_undo_a_decision_of_the_same_second(
    c: Connected, template: Template
) -> None:
    post_webhook(c.waba_id, status_event(template, "APPROVED"), at=NOW)
    post_webhook(c.waba_id, status_event(template, "PENDING"), at=NOW)
    assert reload(template).status == TemplateStatus.APPROVED


def test_category_change_keeps_and_shows_the_previous_category(
    c: Connected, template: Template
) -> None:
    post_webhook(
        c.waba_id,
        change(
            "template_category_update",
            message_template_id=int(template.meta_template_id),
            message_template_name=template.name,
            message_template_language=template.language,
            correct_category="MARKETING",
            new_category="UTILITY",
            category_update_timestamp=NOW + 86400,
        ),
        at=NOW - 10,
    )
    row = reload(template)
    assert (row.category, row.correct_category) == ("UTILITY", "MARKETING")
    assert row.category_change_at is not None
    assert "will move" in notifications(c)[0].title

    post_webhook(
        c.waba_id,
        change(
            "template_category_update",
            message_template_id=int(template.meta_template_id),
            message_template_name=template.name,
            message_template_language=template.language,
            previous_category="UTILITY",
            new_category="MARKETING",
        ),
        at=NOW,
    )
    row = reload(template)
    assert (row.category, row.previous_category, row.correct_category) == (
        "MARKETING",
        "UTILITY",
        "",
    )
    moved = [h for h in history(template) if h.kind == ChangeKind.CATEGORY]
    assert [(h.old_value, h.new_value) for h in moved] == [
        ("UTILITY", "MARKETING"),
        ("UTILITY", "MARKETING"),
    ]
    assert "moved" in notifications(c)[-1].title and "Utility" in notifications(c)[-1].title


def test_quality_changes_apply_in_order(c: Connected, template: Template) -> None:
    def quality(new: str, at: int) -> None:
        post_webhook(
            c.waba_id,
            change(
                "message_template_quality_update",
                message_template_id=int(template.meta_template_id),
                message_template_name=template.name,
                message_template_language=template.language,
                previous_quality_score="UNKNOWN",
                new_quality_score=new,
            ),
            at=at,
        )

    quality("YELLOW", NOW)
    quality("GREEN", NOW - 100)  # older: loses
    assert reload(template).quality_score == "YELLOW"
    quality("RED", NOW + 5)
    row = reload(template)
    assert (row.quality_score, row.quality_label) == ("RED", "Low")
    assert [h.new_value for h in history(template) if h.kind == ChangeKind.QUALITY] == [
        "YELLOW",
        "RED",
    ]


def test_an_event_for_an_unknown_template_imports_it(
    c: Connected, mock_meta: Any, template: Template
) -> None:
    made = requests.post(
        f"{mock_meta.graph_url}/{c.waba_id}/message_templates",
        json={
            "name": "made_in_manager",
            "language": "de",
            "category": "MARKETING",
            "components": [{"type": "BODY", "text": "Neu bei uns, {{1}}: schauen Sie vorbei."}],
        },
        headers={"Authorization": f"Bearer {c.token}"},
        timeout=5,
    ).json()
    post_webhook(
        c.waba_id,
        change(
            "message_template_status_update",
            event="APPROVED",
            message_template_id=int(made["id"]),
            message_template_name="made_in_manager",
            message_template_language="de",
            reason="NONE",
        ),
    )
    with tenant_scope(c.tenant):
        imported = Template.objects.get(meta_template_id=made["id"])
    assert (imported.name, imported.language, imported.category) == (
        "made_in_manager",
        "de",
        "MARKETING",
    )
    assert history(imported)[0].kind == ChangeKind.IMPORTED


def test_another_tenants_events_do_not_reach_us(
    world: World, c: Connected, connect_waba: ConnectWaba, template: Template
) -> None:
    theirs_waba = connect_waba(world.other_tenant, name="Globex WABA")
    theirs = TemplateFactory(
        waba=theirs_waba.waba, name=template.name, meta_template_id=template.meta_template_id
    )
    # Their WABA's event names a template id that we hold too: only theirs changes.
    post_webhook(theirs_waba.waba_id, status_event(theirs, "REJECTED", reason="SCAM"))
    assert reload(theirs).status == TemplateStatus.REJECTED
    assert reload(template).status == TemplateStatus.PENDING
    assert notifications(c) == []


def test_the_mock_pauses_twice_then_disables_and_unpauses_on_its_clock(
    live_server: Any, mock_meta: Any, world: World, c: Connected
) -> None:
    mock_meta.set_webhook_url(live_server.url + "/webhooks/meta/")
    made = TemplateFactory(
        waba=c.waba, name="low_quality_offer", meta_template_id="", category="MARKETING"
    )
    created = requests.post(
        f"{mock_meta.graph_url}/{c.waba_id}/message_templates",
        json={
            "name": "low_quality_offer",
            "language": "en_US",
            "category": "MARKETING",
            "components": [{"type": "BODY", "text": "Big news for you, {{1}}: see our shop."}],
        },
        headers={"Authorization": f"Bearer {c.token}"},
        timeout=5,
    ).json()
    with tenant_scope(c.tenant):
        Template.objects.filter(pk=made.pk).update(meta_template_id=created["id"])
    wait_for(
        lambda: reload(made).status == "APPROVED", timeout=20, message=str(mock_meta.webhooks())
    )

    mock_meta.emit(
        field="message_template_status_update", template_id=created["id"], event="PAUSED"
    )
    wait_for(lambda: reload(made).status == "PAUSED", timeout=20)
    assert reload(made).status_detail["other_info"]["title"] == "FIRST_PAUSE"
    mock_meta.advance_clock(3 * 3600 + 1)
    wait_for(lambda: reload(made).status == "APPROVED", timeout=20)

    # The pipeline takes a body it has seen as a redelivery: Meta's "approved again" of
    # the second pause must not fall in the same second as the first one's.
    next_second()
    mock_meta.emit(
        field="message_template_status_update", template_id=created["id"], event="PAUSED"
    )
    wait_for(
        lambda: reload(made).status_detail.get("other_info", {}).get("title") == "SECOND_PAUSE",
        timeout=20,
    )
    mock_meta.advance_clock(6 * 3600 + 1)
    wait_for(lambda: reload(made).status == "APPROVED", timeout=20)

    mock_meta.emit(
        field="message_template_status_update", template_id=created["id"], event="PAUSED"
    )
    wait_for(lambda: reload(made).status == "DISABLED", timeout=20)
    titles = [n.title for n in notifications(c)]
    assert sum("paused" in t for t in titles) == 4 and sum("disabled" in t for t in titles) == 2

    mock_meta.emit(
        field="message_template_quality_update", template_id=created["id"], new_quality_score="RED"
    )
    wait_for(lambda: reload(made).quality_score == "RED", timeout=20)
    mock_meta.emit(
        field="template_category_update",
        template_id=created["id"],
        new_category="UTILITY",
    )
    wait_for(lambda: reload(made).previous_category == "MARKETING", timeout=20)
