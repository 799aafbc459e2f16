"""Replies: the 24-hour window, a text or a template, stored before it is sent, sent to the
mock Meta server over HTTP, failures in words, bounded retries, an unknown outcome, the
channel's rules (viewers, auto-assign), the API, and a second workspace."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from celery.exceptions import Retry
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from inbox import tasks
from inbox.failures import failure_reason
from inbox.models import Conversation, Direction, Message, MessageStatus, Queue
from inbox.services import outbound
from senders.models import ChannelMember, ChannelRole, ChannelSettings
from templates_app.models import Template
from tests.factories import PhoneNumberFactory, World
from tests.fixtures_senders import Connected
from waba_portal.errors import Conflict, Invalid, NotAllowed
from waba_portal.graph import GraphClient, RetryPolicy

from .conftest import Customer, deliver_payload
from .threads import thread

pytestmark = pytest.mark.django_db

ERIKA = "4915112345678"
HX = {"HX-Request": "true"}


def client_of(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def sends(mock_meta: Any) -> list[dict[str, Any]]:
    return [
        r
        for r in mock_meta.requests()
        if r["method"] == "POST" and str(r.get("path", "")).endswith("/messages")
    ]


def the_conversation(world: World) -> Conversation:
    with tenant_scope(world.tenant):
        return Conversation.objects.select_related("contact", "channel__waba").get()


def reload(world: World, message: Message) -> Message:
    with tenant_scope(world.tenant):
        return Message.objects.get(pk=message.pk)


def reply(
    world: World,
    conversation: Conversation,
    capture: Any,
    text: str = "Ihr Paket kommt morgen 📦 https://example.com/track",
    *,
    actor: Membership | None = None,
    send: bool = True,
) -> Message:
    """A text reply as the service stores it; then the queued task as a worker runs it."""
    with capture(execute=False) as queued, tenant_scope(world.tenant):
        message = outbound.reply_text(
            actor=actor or world.owner, conversation=conversation, text=text
        )
    assert len(queued) == 1  # the send waits for the commit
    if send:
        run_send(world, message)
    return reload(world, message)


def run_send(world: World, message: Message) -> None:
    """The queued send as a worker runs it, each retry at once. Eagerly Celery runs a
    retry nested in the try before and lets the next one's ``Retry`` out: that is the
    worker's rescheduling, done here with the task's own counts (its arguments) on."""
    signature = tasks.message_send_task.s(world.tenant.pk, message.pk)
    for _ in range(40):
        try:
            signature.apply(throw=False)
            return
        except Retry as retry:
            assert retry.sig is not None
            signature = retry.sig
    pytest.fail("the retries are not bounded")


# --- The window -------------------------------------------------------------------------------


def test_the_window_closes_exactly_24_hours_after_the_last_inbound(world: World) -> None:
    phone = PhoneNumberFactory(waba__tenant=world.tenant)
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        conversation = thread(phone, last_inbound=timedelta(0))
    with time_machine.travel(start + timedelta(hours=24) - timedelta(seconds=1), tick=False):
        assert conversation.window_open()
    with time_machine.travel(start + timedelta(hours=24), tick=False):
        assert not conversation.window_open()
        with tenant_scope(world.tenant), pytest.raises(Invalid) as refused:
            outbound.reply_text(actor=world.owner, conversation=conversation, text="late")
        assert refused.value.code == "window_closed"
        with tenant_scope(world.tenant):
            assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_our_reply_does_not_extend_the_window(
    world: World, customer: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    before = the_conversation(world)
    later = timezone.now() + timedelta(hours=20)
    with time_machine.travel(later, tick=False):
        reply(world, before, django_capture_on_commit_callbacks, send=False)
    after = the_conversation(world)
    assert after.last_inbound_at == before.last_inbound_at
    assert after.window_closes_at() == before.window_closes_at()
    assert after.last_message_at > before.last_message_at  # the list's order moves


def test_a_free_form_reply_outside_is_refused_before_any_call_and_reopens_on_inbound(
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    with tenant_scope(world.tenant):
        Conversation.objects.filter(pk=conversation.pk).update(
            last_inbound_at=timezone.now() - timedelta(hours=25)
        )
    c = client_of(world.owner)
    url = f"/t/acme/inbox/c/{conversation.pk}/reply/"
    response = c.post(url, {"text": "Are you there?"}, headers=HX)
    assert response.status_code == 400
    assert "only an approved template can be sent" in response.content.decode()
    assert sends(mock_meta) == []
    page = c.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert 'id="reply-form"' not in page and "Window closed" in page

    customer.says(**{"from": ERIKA}, text="Ich bin wieder da")
    page = c.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert 'id="reply-form"' in page
    with django_capture_on_commit_callbacks(execute=True):
        assert c.post(url, {"text": "Willkommen zurück"}, headers=HX).status_code == 200
    (sent,) = sends(mock_meta)
    assert sent["body"]["text"]["body"] == "Willkommen zurück"


# --- Inside the window: stored, then sent -------------------------------------------------------


def test_a_reply_is_stored_before_it_is_sent_then_sent_with_metas_id(
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customer.says(**{"from": ERIKA}, text="Wo ist mein Paket?")
    conversation = the_conversation(world)
    version = conversation.version
    queued = reply(world, conversation, django_capture_on_commit_callbacks, send=False)
    assert (queued.status, queued.direction, queued.author_id) == (
        MessageStatus.QUEUED,
        Direction.OUTBOUND,
        world.owner.pk,
    )
    assert queued.meta_timestamp is not None and queued.wamid.startswith("queued.")
    bumped = the_conversation(world)
    assert bumped.version > version and bumped.last_message_id == queued.pk
    assert sends(mock_meta) == []  # not sent yet: the row exists all the same

    run_send(world, queued)
    sent = reload(world, queued)
    assert sent.status == MessageStatus.SENT and sent.wamid.startswith("wamid.")
    (request,) = sends(mock_meta)
    assert request["body"]["to"] == ERIKA
    assert request["body"]["text"] == {
        "body": "Ihr Paket kommt morgen 📦 https://example.com/track",
        "preview_url": True,
    }
    # Meta's status webhooks then move it on, by its wamid.
    for body in customer.payloads(at_least=2):
        deliver_payload(body)
    assert reload(world, sent).status in (MessageStatus.DELIVERED, MessageStatus.READ)


def test_a_reply_to_one_message_carries_its_context(
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    said = customer.says(**{"from": ERIKA}, text="Frage eins")
    conversation = the_conversation(world)
    with tenant_scope(world.tenant):
        quoted = Message.objects.get(wamid=said["message_id"])
    c = client_of(world.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(
            f"/t/acme/inbox/c/{conversation.pk}/reply/",
            {"text": "Antwort auf eins", "reply_to": quoted.pk},
            headers=HX,
        )
    assert response.status_code == 200
    (request,) = sends(mock_meta)
    assert request["body"]["context"] == {"message_id": said["message_id"]}
    with tenant_scope(world.tenant):
        mine = Message.objects.get(direction=Direction.OUTBOUND)
    assert mine.context_wamid == said["message_id"] and mine.status == MessageStatus.SENT


def test_html_in_a_reply_is_shown_as_text(
    world: World, customer: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    reply(
        world, conversation, django_capture_on_commit_callbacks, "<b>bold</b><script>x()</script>"
    )
    page = client_of(world.owner).get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page


def test_an_empty_or_too_long_reply_is_refused_in_words(world: World) -> None:
    conversation = thread(PhoneNumberFactory(waba__tenant=world.tenant))
    with tenant_scope(world.tenant):
        for text, words in (("   ", "Write the reply first"), ("x" * 4097, "at most 4096")):
            with pytest.raises(Invalid) as refused:
                outbound.reply_text(actor=world.owner, conversation=conversation, text=text)
            assert words in refused.value.message


# --- Failures, retries, an unknown outcome -----------------------------------------------------


@pytest.mark.parametrize("code", [131026, 131051, 132001, 131031, 131021])
def test_a_refusal_is_failed_with_its_reason(
    code: int,
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    mock_meta.fault("POST", r"/messages$", code=code, http_status=400)
    failed = reply(world, conversation, django_capture_on_commit_callbacks)
    assert (failed.status, failed.error_code) == (MessageStatus.FAILED, code)
    assert len(sends(mock_meta)) == 1  # a refusal is not retried
    page = client_of(world.owner).get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert str(failure_reason(code)) in page.replace("&#x27;", "'").replace("&#39;", "'")
    assert f"code {code}" in page


def test_meta_refuses_outside_its_window_with_131047_in_words(
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Our clock said open, Meta's said closed: Meta's 131047 is shown in words."""
    customer.says(**{"from": ERIKA}, text="Hallo")
    mock_meta.advance_clock(25 * 3600)
    failed = reply(world, the_conversation(world), django_capture_on_commit_callbacks)
    assert (failed.status, failed.error_code) == (MessageStatus.FAILED, 131047)
    assert "only a template can be sent" in failure_reason(failed.error_code)


def test_a_transient_failure_is_retried_then_sent(
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    mock_meta.fault("POST", r"/messages$", code=2, http_status=503, times=2)
    sent = reply(world, the_conversation(world), django_capture_on_commit_callbacks)
    assert [r["status"] for r in sends(mock_meta)] == [503, 503, 200]
    assert sent.status == MessageStatus.SENT and sent.wamid.startswith("wamid.")


def test_retries_are_bounded_then_failed_with_the_reason(
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    mock_meta.fault("POST", r"/messages$", code=131000, http_status=500, times=50)
    queued = reply(world, conversation, django_capture_on_commit_callbacks, send=False)
    # One try: the message says it is being retried.
    with pytest.raises(outbound.SendRetry), tenant_scope(world.tenant):
        outbound.message_send(message_pk=queued.pk)
    retrying = reload(world, queued)
    assert outbound.send_state(retrying) == outbound.SEND_RETRYING
    page = client_of(world.owner).get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert "Retrying" in page
    # The worker's tries: the policy's bound, then failed in words.
    run_send(world, queued)
    failed = reload(world, queued)
    assert (failed.status, failed.error_code) == (MessageStatus.FAILED, 131000)
    assert len(sends(mock_meta)) == 1 + 1 + int(tasks.SEND_RETRY.max_retries)


def test_an_unknown_outcome_is_marked_and_never_sent_twice(
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    mock_meta.fault("POST", r"/messages$", drop=True)
    unknown = reply(world, conversation, django_capture_on_commit_callbacks)
    assert unknown.status == MessageStatus.QUEUED
    assert outbound.send_state(unknown) == outbound.SEND_UNKNOWN
    tried = len(sends(mock_meta))
    run_send(world, unknown)
    assert len(sends(mock_meta)) == tried  # not sent again
    page = client_of(world.owner).get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert "may or may not have reached" in page


# --- Templates outside the window --------------------------------------------------------------


BODY = "Hallo {{1}}, Ihre Bestellung {{2}} ist bereit."


def graph_for(c: Connected, mock_meta: Any) -> GraphClient:
    """A Graph client of the mock for the connected WABA's token, one try per call."""
    return GraphClient(
        base_url=mock_meta.base_url,
        token=c.token,
        app_id=mock_meta.app_id,
        app_secret=mock_meta.app_secret,
        retry_policy=RetryPolicy(max_attempts=1),
    )


def approved_template(
    c: Connected, mock_meta: Any, fields: dict[str, Any] | None = None
) -> Template:
    """A template (``fields``; else order_ready, two body values) submitted to the mock,
    approved there, and recorded here."""
    fields = fields or {
        "name": "order_ready",
        "language": "de",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "BODY", "text": BODY, "example": {"body_text": [["Erika", "A-1"]]}}
        ],
    }
    answer = graph_for(c, mock_meta).template_create(c.waba_id, **fields)
    mock_meta.patch("template", answer["id"], status="APPROVED")
    with tenant_scope(c.tenant):
        return Template.objects.create(
            tenant=c.tenant,
            waba=c.waba,
            meta_template_id=answer["id"],
            status="APPROVED",
            ever_approved=True,
            **fields,
        )


def lapsed_with_a_template(
    world: World, channel: Connected, customer: Customer, mock_meta: Any
) -> tuple[Template, Conversation]:
    """Erika wrote 25 hours ago (here and at the mock), and order_ready is approved."""
    customer.says(**{"from": ERIKA}, text="Hallo")
    mock_meta.advance_clock(25 * 3600)
    template = approved_template(channel, mock_meta)
    conversation = the_conversation(world)
    with tenant_scope(world.tenant):
        Conversation.objects.filter(pk=conversation.pk).update(
            last_inbound_at=timezone.now() - timedelta(hours=25)
        )
        conversation.refresh_from_db()
    return template, conversation


def test_outside_the_window_an_approved_template_is_offered_previewed_and_sent(
    world: World,
    channel: Connected,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    template, conversation = lapsed_with_a_template(world, channel, customer, mock_meta)
    c = client_of(world.owner)
    base = f"/t/acme/inbox/c/{conversation.pk}"
    page = c.get(f"{base}/").content.decode()
    assert 'id="template-form"' in page and "order_ready (Deutsch)" in page
    preview = c.get(
        f"{base}/template/preview/", {"template": template.pk, "v:body.1": "Erika"}
    ).content.decode()
    assert "Hallo Erika, Ihre Bestellung {{2}} ist bereit." in preview
    assert 'name="v:body.2"' in preview

    missing = c.post(
        f"{base}/template/", {"template": template.pk, "v:body.1": "Erika"}, headers=HX
    )
    assert missing.status_code == 400 and sends(mock_meta) == []
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(
            f"{base}/template/",
            {"template": template.pk, "v:body.1": "Erika", "v:body.2": "A-7"},
            headers=HX,
        )
    assert response.status_code == 200
    (request,) = sends(mock_meta)
    assert request["status"] == 200 and request["body"]["type"] == "template"
    with tenant_scope(world.tenant):
        mine = Message.objects.get(direction=Direction.OUTBOUND)
    assert mine.status == MessageStatus.SENT and mine.wamid.startswith("wamid.")
    assert mine.text == "Hallo Erika, Ihre Bestellung A-7 ist bereit."


# --- The channel's rules ------------------------------------------------------------------------


def _channel(world: World, phone: Any, **fields: Any) -> ChannelSettings:
    with tenant_scope(world.tenant):
        return ChannelSettings.objects.create(phone_number=phone, name=str(phone), **fields)


def test_a_viewer_cannot_reply(world: World, customer: Customer, channel: Connected) -> None:
    settings_row = _channel(world, channel.phone, all_users=False, all_teams=False)
    with tenant_scope(world.tenant):
        ChannelMember.objects.create(
            channel=settings_row, membership=world.agent, role=ChannelRole.VIEWER
        )
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    c = client_of(world.agent)
    page = c.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert 'id="reply-form"' not in page and "You are a viewer" in page
    assert c.post(f"/t/acme/inbox/c/{conversation.pk}/reply/", {"text": "hi"}).status_code == 403
    with tenant_scope(world.tenant), pytest.raises(NotAllowed):
        outbound.reply_text(actor=world.agent, conversation=conversation, text="hi")
        assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


@pytest.mark.parametrize("auto_assign", [True, False])
def test_the_agent_who_replies_is_assigned_when_the_channel_says_so(
    auto_assign: bool,
    world: World,
    customer: Customer,
    channel: Connected,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings_row = _channel(world, channel.phone, auto_assign=auto_assign)
    with tenant_scope(world.tenant):
        ChannelMember.objects.create(
            channel=settings_row, membership=world.agent, role=ChannelRole.CONTRIBUTOR
        )
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    reply(world, conversation, django_capture_on_commit_callbacks, actor=world.agent, send=False)
    expected = world.agent.pk if auto_assign else None
    assert the_conversation(world).assignee_id == expected
    # Someone else replying later does not take it over.
    reply(world, conversation, django_capture_on_commit_callbacks, send=False)
    assert the_conversation(world).assignee_id == expected


def test_a_reply_reopens_a_resolved_conversation_unless_another_is_open(
    world: World, customer: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    with tenant_scope(world.tenant):
        Conversation.objects.filter(pk=conversation.pk).update(queue=Queue.RESOLVED)
        conversation.refresh_from_db()
    reply(world, conversation, django_capture_on_commit_callbacks, send=False)
    reopened = the_conversation(world)
    assert reopened.queue == Queue.PENDING and reopened.resolved_at is None

    with tenant_scope(world.tenant):
        Conversation.objects.filter(pk=conversation.pk).update(queue=Queue.RESOLVED)
        conversation.refresh_from_db()
    customer.says(**{"from": ERIKA}, text="Noch eine Frage")  # a new conversation opens
    with tenant_scope(world.tenant):
        before = Message.objects.filter(direction=Direction.OUTBOUND).count()
        with pytest.raises(Conflict) as refused:
            outbound.reply_text(actor=world.owner, conversation=conversation, text="Hallo?")
        assert refused.value.code == "conversation_open_elsewhere"
        assert Message.objects.filter(direction=Direction.OUTBOUND).count() == before
        assert Conversation.objects.get(pk=conversation.pk).queue == Queue.RESOLVED


def test_another_workspaces_conversation_is_not_found(world: World, customer: Customer) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    stranger = client_of(world.other_owner)
    assert (
        stranger.post(f"/t/globex/inbox/c/{conversation.pk}/reply/", {"text": "x"}).status_code
        == 404
    )
    assert stranger.get(f"/t/globex/inbox/c/{conversation.pk}/template/preview/").status_code == 404


# --- The API ------------------------------------------------------------------------------------


def test_the_api_sends_a_text_and_applies_the_window(
    world: World,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    conversation = the_conversation(world)
    c = client_of(world.owner)
    url = f"/api/v1/t/acme/conversations/{conversation.pk}/messages/"
    with django_capture_on_commit_callbacks(execute=True):
        answer = c.post(
            url,
            {"text": "Per API"},
            content_type="application/json",
            headers={"Idempotency-Key": "k-1"},
        )
    assert answer.status_code == 201, answer.content
    assert answer.json()["status"] == "queued" and answer.json()["direction"] == "out"
    assert len(sends(mock_meta)) == 1
    again = c.post(
        url,
        {"text": "Per API"},
        content_type="application/json",
        headers={"Idempotency-Key": "k-1"},
    )
    assert again.status_code == 201 and again.json()["id"] == answer.json()["id"]
    with tenant_scope(world.tenant):
        assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1
        Conversation.objects.filter(pk=conversation.pk).update(
            last_inbound_at=timezone.now() - timedelta(hours=25)
        )
    late = c.post(url, {"text": "zu spät"}, content_type="application/json")
    assert late.status_code == 400
    assert late.json()["error"]["code"] == "window_closed"
    assert len(sends(mock_meta)) == 1


def test_the_api_sends_a_template_outside_the_window_and_refuses_a_viewer_and_strangers(
    world: World,
    channel: Connected,
    customer: Customer,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    template, conversation = lapsed_with_a_template(world, channel, customer, mock_meta)
    url = f"/api/v1/t/acme/conversations/{conversation.pk}/messages/"
    c = client_of(world.owner)
    missing = c.post(
        url,
        {"template": template.pk, "parameters": {"body.1": "Erika"}},
        content_type="application/json",
    )
    assert missing.status_code == 400 and "body.2" in missing.json()["error"]["details"]["fields"]
    with django_capture_on_commit_callbacks(execute=True):
        answer = c.post(
            url,
            {"template": template.pk, "parameters": {"body": ["Erika", "A-9"]}},
            content_type="application/json",
        )
    assert answer.status_code == 201, answer.content
    assert answer.json()["text"] == "Hallo Erika, Ihre Bestellung A-9 ist bereit."
    (request,) = sends(mock_meta)
    assert request["status"] == 200 and request["body"]["template"]["name"] == "order_ready"

    settings_row = _channel(world, channel.phone, all_users=False, all_teams=False)
    with tenant_scope(world.tenant):
        ChannelMember.objects.create(
            channel=settings_row, membership=world.agent, role=ChannelRole.VIEWER
        )
    viewer = client_of(world.agent).post(
        url,
        {"template": template.pk, "parameters": {"body": ["a", "b"]}},
        content_type="application/json",
    )
    assert viewer.status_code == 403
    stranger = client_of(world.other_owner).post(
        f"/api/v1/t/globex/conversations/{conversation.pk}/messages/",
        {"text": "x"},
        content_type="application/json",
    )
    assert stranger.status_code == 404
    assert len(sends(mock_meta)) == 1
