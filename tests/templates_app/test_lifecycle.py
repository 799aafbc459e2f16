"""Submitting, editing and deleting templates, against the mock Meta server over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from templates_app import troubleshooting as tts
from templates_app.models import ChangeKind, Submission, Template, TemplateStatus
from templates_app.services import lifecycle
from tests.factories import TemplateFactory, World
from tests.fixtures_celery import wait_for
from tests.fixtures_senders import Connected
from tests.templates_app.support import body, history, notifications, reload, submit
from waba_portal.errors import Conflict, Invalid, NotAllowed

pytestmark = pytest.mark.django_db(transaction=True)  # tasks and webhooks run at commit


def creates(mock_meta: Any) -> list[dict[str, Any]]:
    return [
        r
        for r in mock_meta.requests()
        if r["method"] == "POST" and r["path"].endswith("/message_templates")
    ]


# --- Create → approved / rejected, through the webhook pipeline --------------------------


def test_submitted_template_is_pending_then_approved_by_meta_webhook(
    live_server: Any, mock_meta: Any, world: World, c: Connected
) -> None:
    mock_meta.set_webhook_url(live_server.url + "/webhooks/meta/")
    template = submit(c, world.admin, "order_shipped")

    row = reload(template)
    assert row.meta_template_id and row.status == TemplateStatus.PENDING
    assert row.submission == Submission.NONE
    assert [r["body"]["name"] for r in creates(mock_meta)] == ["order_shipped"]
    wait_for(
        lambda: reload(template).status == TemplateStatus.APPROVED,
        timeout=20,
        message=str(mock_meta.webhooks()),
    )
    row = reload(template)
    assert row.ever_approved and row.updated_by is None  # Meta made the last change
    kinds = [(h.kind, h.old_value, h.new_value, h.source) for h in history(template)]
    assert kinds == [
        (ChangeKind.CREATED, "", "UTILITY", "user"),
        (ChangeKind.STATUS, "", "PENDING", "user"),
        (ChangeKind.STATUS, "PENDING", "APPROVED", "webhook"),
    ]
    assert notifications(c) == []  # an approval is no alarm


def test_rejection_arrives_by_webhook_and_managers_learn_why_and_the_fix(
    live_server: Any, mock_meta: Any, world: World, c: Connected
) -> None:
    mock_meta.set_webhook_url(live_server.url + "/webhooks/meta/")
    mock_meta.config(
        review_rules=[
            {
                "match": "body_contains",
                "value": "gift card",
                "decision": "REJECTED",
                "reason": "SCAM",
            }
        ]
    )
    template = submit(
        c,
        world.owner,
        "payment_due",
        components=body("Hello {{1}}, pay invoice {{2}} with a gift card today please."),
    )
    wait_for(
        lambda: reload(template).status == TemplateStatus.REJECTED,
        timeout=20,
        message=str(mock_meta.webhooks()),
    )
    assert reload(template).rejected_reason == "SCAM"
    notes = notifications(c)
    assert {n.user.email for n in notes} == {"owner@acme.test", "admin@acme.test"}
    scam = ts.get(tts.TEMPLATE_REJECTED_SCAM)
    assert "payment_due" in notes[0].title and "Possible scam" in notes[0].title
    assert str(scam.explanation) in notes[0].body and str(scam.steps[0]) in notes[0].body
    assert notes[0].url.endswith(f"/templates/{template.pk}/")
    wait_for(lambda: len(mail.outbox) == 2, timeout=10)


# --- Refused before Meta is asked --------------------------------------------------------


def test_agents_may_not_submit(world: World, c: Connected, mock_meta: Any) -> None:
    with pytest.raises(NotAllowed):
        submit(c, world.agent, "agent_try")
    assert creates(mock_meta) == []


def test_validator_problems_are_refused_by_field_before_the_call(
    world: World, c: Connected, mock_meta: Any
) -> None:
    with pytest.raises(Invalid) as refused:
        submit(c, world.owner, "Bad Name", components=body("{{1}} starts the body"))
    fields = refused.value.details["fields"]
    assert "name" in fields and "components.body.text" in fields
    assert refused.value.code == "template_invalid"
    assert creates(mock_meta) == []
    with tenant_scope(c.tenant):
        assert not Template.objects.exists()


def test_the_250th_name_is_the_last(world: World, c: Connected, mock_meta: Any) -> None:
    waba = c.reload()
    with tenant_scope(c.tenant):
        Template.objects.bulk_create(
            [
                Template(
                    tenant=c.tenant,
                    waba=waba,
                    meta_template_id=str(900000000000000 + i),
                    name=f"filler_{i:03d}",
                    language="en_US",
                    category="UTILITY",
                    status="APPROVED",
                )
                for i in range(250)
            ]
        )
    with pytest.raises(Invalid) as refused:
        submit(c, world.owner, "one_too_many")
    assert refused.value.code == tts.TEMPLATE_LIMIT
    assert "250" in refused.value.message
    assert creates(mock_meta) == []
    # Another language of a name the account has is no new template.
    german = submit(c, world.owner, "filler_007", language="de")
    assert reload(german).meta_template_id
    # A deleted template no longer counts.
    with tenant_scope(c.tenant):
        Template.objects.filter(name="filler_001").update(deleted_at=timezone.now())
    assert reload(submit(c, world.owner, "now_there_is_room")).status == TemplateStatus.PENDING


def test_a_template_meta_refuses_shows_its_troubleshooting_entry(
    world: World, c: Connected, mock_meta: Any
) -> None:
    mock_meta.fault(
        "POST",
        r"/message_templates$",
        code=100,
        subcode=2388299,
        message="Invalid parameter",
        details="Variables can't be at the start or end of the template.",
    )
    template = submit(c, world.owner, "edge_case")
    row = reload(template)
    assert (row.submission, row.problem, row.status) == (
        Submission.FAILED,
        tts.TEMPLATE_VARIABLE_AT_EDGE,
        "",
    )
    assert "start or end" in row.problem_detail
    assert row.status_label == "Not submitted: Meta refused it"
    assert history(template)[-1].kind == ChangeKind.REFUSED
    # Fixed and sent again: the same row, now at Meta.
    with tenant_scope(c.tenant):
        resent = lifecycle.template_edit(
            actor=world.owner,
            template=row,
            components=body("Dear {{1}}, your order {{2}} has shipped today."),
        )
    row = reload(resent)
    assert row.meta_template_id and row.status == TemplateStatus.PENDING and not row.problem


def test_a_name_meta_already_holds_is_not_taken_over(
    world: World, c: Connected, mock_meta: Any
) -> None:
    # Made in WhatsApp Manager, not read here yet.
    requests.post(
        f"{mock_meta.graph_url}/{c.waba_id}/message_templates",
        json={
            "name": "made_in_manager",
            "language": "en_US",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Another text entirely, {{1}} here."}],
        },
        headers={"Authorization": f"Bearer {c.token}"},
        timeout=5,
    ).raise_for_status()
    template = submit(c, world.owner, "made_in_manager")
    row = reload(template)
    assert (row.submission, row.problem) == (Submission.FAILED, tts.TEMPLATE_EXISTS)
    assert len(creates(mock_meta)) == 1  # ours was never sent


# --- Edit --------------------------------------------------------------------------------


def _approved(c: Connected, mock_meta: Any, world: World, name: str) -> Template:
    template = submit(c, world.owner, name)
    mock_meta.patch(
        "template", reload(template).meta_template_id, status="APPROVED", was_approved=True
    )
    with tenant_scope(c.tenant):
        Template.objects.filter(pk=template.pk).update(status="APPROVED", ever_approved=True)
    return reload(template)


def test_editing_an_approved_template_sends_it_back_to_review(
    world: World, c: Connected, mock_meta: Any
) -> None:
    template = _approved(c, mock_meta, world, "edit_me")
    new = body("Hi {{1}}, order {{2}} is now on its way to you.")
    with tenant_scope(c.tenant):
        edited = lifecycle.template_edit(actor=world.admin, template=template, components=new)
    row = reload(edited)
    assert (row.status, row.submission, row.components) == (TemplateStatus.PENDING, "", new)
    sent = [
        r
        for r in mock_meta.requests()
        if r["method"] == "POST" and r["path"].endswith(row.meta_template_id)
    ]
    assert sent[0]["body"]["components"] == new
    edits = [h for h in history(template) if h.kind == ChangeKind.EDITED]
    assert (
        len(edits) == 1 and edits[0].counts_as_approved_edit and edits[0].actor == world.admin.user
    )


def test_meta_edit_rules_are_checked_first(world: World, c: Connected, mock_meta: Any) -> None:
    template = _approved(c, mock_meta, world, "rules_apply")
    with tenant_scope(c.tenant), pytest.raises(Invalid) as category:
        lifecycle.template_edit(
            actor=world.owner, template=template, components=body(), category="MARKETING"
        )
    assert category.value.field == "category"
    with tenant_scope(c.tenant), pytest.raises(Invalid) as unchanged:
        lifecycle.template_edit(
            actor=world.owner, template=template, components=template.components
        )
    assert unchanged.value.code == "template_unchanged"

    with tenant_scope(c.tenant):
        lifecycle.template_edit(
            actor=world.owner,
            template=template,
            components=body("Hi {{1}}, order {{2}} left our store today."),
        )
    # Approved again (Meta reviewed the edit): the next edit waits a day.
    with tenant_scope(c.tenant):
        Template.objects.filter(pk=template.pk).update(status="APPROVED")
        with pytest.raises(Conflict) as daily:
            lifecycle.template_edit(
                actor=world.owner,
                template=reload(template),
                components=body("Hi {{1}}, order {{2}} left our warehouse today."),
            )
    assert daily.value.code == tts.TEMPLATE_EDIT_REFUSED
    assert "next_edit_at" in daily.value.details

    # A disabled template cannot be edited at all.
    with tenant_scope(c.tenant):
        Template.objects.filter(pk=template.pk).update(status="DISABLED")
        with pytest.raises(Conflict):
            lifecycle.template_edit(actor=world.owner, template=reload(template), components=body())


def test_a_rejected_template_may_change_its_category(
    world: World, c: Connected, mock_meta: Any
) -> None:
    template = submit(c, world.owner, "wrong_category")
    mock_meta.patch("template", reload(template).meta_template_id, status="REJECTED")
    with tenant_scope(c.tenant):
        Template.objects.filter(pk=template.pk).update(
            status="REJECTED", rejected_reason="INCORRECT_CATEGORY"
        )
        edited = lifecycle.template_edit(
            actor=world.owner,
            template=reload(template),
            components=body("Hello {{1}}, enjoy 20% off order {{2}} this week only."),
            category="MARKETING",
        )
    row = reload(edited)
    assert (row.category, row.status, row.rejected_reason) == ("MARKETING", "PENDING", "")
    edit = next(h for h in history(template) if h.kind == ChangeKind.EDITED)
    assert (edit.old_value, edit.new_value, edit.counts_as_approved_edit) == (
        "UTILITY",
        "MARKETING",
        False,
    )


# --- Delete and the 30-day rule -----------------------------------------------------------


def test_delete_one_language_then_the_name_is_kept_for_30_days(
    world: World, c: Connected, mock_meta: Any
) -> None:
    en = _approved(c, mock_meta, world, "seasonal_sale")
    de = submit(c, world.owner, "seasonal_sale", language="de")
    with tenant_scope(c.tenant):
        lifecycle.template_delete(actor=world.owner, template=en)
    row = reload(en)
    assert row.is_deleted and row.status == TemplateStatus.DELETED
    assert not reload(de).is_deleted
    deletes = [r for r in mock_meta.requests() if r["method"] == "DELETE"]
    assert deletes[0]["query"] == {"name": "seasonal_sale", "hsm_id": en.meta_template_id}

    with pytest.raises(Invalid) as refused:
        submit(c, world.owner, "seasonal_sale")
    assert "name" in refused.value.details.get("fields", {"name": 1})
    # The other language, never approved, is deleted with the whole name; it blocks nothing.
    with tenant_scope(c.tenant):
        lifecycle.template_delete(actor=world.owner, template=reload(de), all_languages=True)
    assert reload(de).is_deleted
    submit(c, world.owner, "seasonal_sale", language="de")

    with time_machine.travel(timezone.now() + timedelta(days=31)):
        mock_meta.advance_clock(31 * 86400)
        again = submit(c, world.owner, "seasonal_sale")
        assert reload(again).status == TemplateStatus.PENDING


def test_a_template_meta_never_accepted_is_deleted_here_at_once(
    world: World, c: Connected, mock_meta: Any
) -> None:
    mock_meta.fault("POST", r"/message_templates$", code=100, subcode=2388040)
    template = submit(c, world.owner, "too_long")
    assert reload(template).problem == tts.TEMPLATE_TOO_LONG
    with tenant_scope(c.tenant):
        lifecycle.template_delete(actor=world.owner, template=reload(template))
    assert reload(template).is_deleted
    assert [r for r in mock_meta.requests() if r["method"] == "DELETE"] == []


def test_a_second_tenant_is_untouched(
    world: World, c: Connected, other_connected_waba: Connected, mock_meta: Any
) -> None:
    theirs = TemplateFactory(waba=other_connected_waba.waba, name="order_shipped")
    mine = submit(c, world.owner, "order_shipped")  # the same name in another workspace
    with tenant_scope(c.tenant), pytest.raises(Template.DoesNotExist):
        Template.objects.get(pk=theirs.pk)
    assert reload(mine).waba_id == c.waba.pk
    assert reload(theirs).status == TemplateStatus.APPROVED
