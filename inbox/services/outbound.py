"""Replies to customers: a text or a template, stored first, then sent in the background.

The customer service window (``Conversation.window_open``) runs 24 hours from the
contact's last message; our replies never extend it. Inside it an agent may send a
text (optionally replying to one message of the thread); outside it only an approved
template of the number's WABA (``templates_app.sending``): a text is refused here,
before Meta would answer 131047.

The pipeline, so no reply is lost and none is sent twice:

1. :func:`reply_text` / :func:`reply_template` check the rules (a viewer of the channel
   may not reply: ``NotAllowed``; a template to a customer whose window is closed counts
   against the business's messaging limit, and is refused when it is full), then, in
   one transaction with the conversation's change marks, store the outbound ``Message``
   (status queued, a local id in place of Meta's until Meta gives one) and enqueue
   ``inbox.tasks.message_send_task`` on commit.
   With the channel's ``auto_assign`` on, an unassigned conversation is assigned to the
   member who replies.
   The message's turn of the number's throughput and of the pair rate
   (``services.pacing``) is taken as it is stored: the task is queued for when the turn
   is due, holding it, and the message shows "waiting for its turn" until then.
2. :func:`message_send` (the task) takes a turn when it holds none (a retry, a turn
   that was too far ahead): when it is not due yet, the turn is reserved and
   :class:`SendLater` tells the task to come back then (no retry spent, no worker
   asleep). Then it sends it through the Graph client: Meta's ``wamid`` and "sent"
   are recorded; a refusal marks it failed with Meta's code and title
   (``inbox.failures`` words it); Meta's "too fast" answers (130429 throughput, 131056
   pair rate, 131057 maintenance) raise :class:`SendThrottled`, retried with a backoff
   of their own for about an hour (the message shows "held back by WhatsApp"); another
   transient failure raises
   :class:`SendRetry` for the task to retry with bounded backoff (the message shows
   "retrying"), and :func:`message_give_up` marks it failed when the retries run out. A
   lost answer after the request left (``GraphOutcomeUnknown``), or a worker that
   stopped mid-send (the row says "sending", committed before the request), is marked
   *outcome unknown* and never sent again by us: Meta may have delivered it.
3. Meta's status webhooks then move it on by its wamid (``services.inbound``).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.tenancy import require_tenant
from inbox.models import Conversation, Direction, Message, MessageStatus, MessageType, Queue
from inbox.search_words import words_added
from inbox.selectors import channel_role, channel_settings_of
from inbox.services import integrations, outbound_media, pacing
from inbox.services.conversations import actor_label, changed
from senders.models import ChannelRole, PhoneNumber
from senders.services.graph import graph_client
from templates_app import sending
from templates_app.models import Template
from waba_portal import statements
from waba_portal.errors import Conflict, Invalid, NotAllowed, NotFound, get_or_not_found
from waba_portal.graph import errors as ge
from waba_portal.graph import webhooks as wh

logger = logging.getLogger(__name__)

TEXT_MAX_LENGTH = 4096  # Meta's limit on a text message's body (NOTES §4)
LOCAL_ID_PREFIX = "queued."

# ``payload["send"]["state"]`` of an outbound message on its way.
SEND_RETRYING = "retrying"
SEND_WAITING = "waiting"  # our pacing: its turn of the number's throughput is reserved
SEND_THROTTLED = "throttled"  # Meta said "too fast" (130429 / 131056 / 131057)
SEND_UNKNOWN = "unknown"
SEND_SENDING = "sending"
SEND_DONE = "sent"
SEND_FAILED = "failed"


class SendRetry(Exception):
    """Meta or the network failed before the message left: send it again later."""


class SendThrottled(SendRetry):
    """Meta answered "too fast" (or is upgrading the number): send it again later, with
    the longer bound of its own. ``retry_after`` is Meta's hint (seconds), if any."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SendLater(Exception):
    """Not this message's turn yet: come back in ``wait`` seconds, holding the turns in
    ``holds`` (``pacing.BOTH``: it sends then; ``pacing.PAIR``: it takes the number's
    then; empty: it asks again)."""

    def __init__(self, turn: pacing.Turn) -> None:
        super().__init__(f"its turn comes in {turn.wait:.3f} s")
        self.wait = turn.wait
        self.holds = turn.holds
        self.reserved = turn.reserved


# Meta's answers that mean "slower", not "no" (NOTES §6, §8): 130429 and 131056 are
# GraphRateLimitError, 131057 (maintenance during a throughput upgrade) a transient one.
THROTTLE_CODES = frozenset({130429, 131056, 131057})


# --- The rules -----------------------------------------------------------------------------


def can_reply(actor: Any, conversation: Conversation) -> bool:
    role = channel_role(actor, conversation.channel)
    return role in (ChannelRole.CONTRIBUTOR, ChannelRole.SUPERVISOR)


def _require_replier(actor: Any, conversation: Conversation) -> None:
    role = channel_role(actor, conversation.channel)
    if role is None:
        raise NotFound(_("Conversation not found."))
    if role == ChannelRole.VIEWER:
        raise NotAllowed(
            _("Viewers of this channel cannot reply to customers: ask its supervisor.")
        )


def _recipient(conversation: Conversation) -> str:
    contact = conversation.contact
    to = contact.wa_id or contact.phone.lstrip("+")
    if not to:
        raise Invalid(
            _("This contact's WhatsApp number is not known, so no message can be sent to them.")
        )
    return to


def _window_closed_refusal() -> Invalid:
    return Invalid(
        _(
            "More than 24 hours have passed since the customer's last message: only an "
            "approved template can be sent until they write again."
        ),
        field="text",
        code="window_closed",
    )


# --- Storing a reply -------------------------------------------------------------------------


def _store(
    *,
    actor: Any,
    conversation: Conversation,
    type_: str,
    text: str,
    payload: dict[str, Any],
    context_wamid: str = "",
    attach: Any = None,
) -> Message:
    """The queued message and the conversation's bump, together; the send after commit.

    ``attach(message)``, when given, stores what belongs to the message in the same
    transaction (a media reply's file: ``outbound_media``)."""
    from inbox import tasks

    now = timezone.now()
    member = actor if isinstance(actor, Membership) else None
    contact = conversation.contact
    wa_id = contact.wa_id or contact.phone.lstrip("+")
    # The message's turn of the number's throughput, taken now: the task is queued for
    # when it is due, holding it, so a burst costs one task run per message.
    turn = pacing.turn_take(
        phone_number_id=conversation.channel.phone_number_id,
        recipient=wa_id,
        throughput_level=conversation.channel.throughput_level,
    )
    send = {"send": {"state": SEND_WAITING}} if turn.wait > 0 else {}
    with transaction.atomic():
        row = Conversation.objects.select_for_update().get(pk=conversation.pk)
        message = Message.objects.create(
            conversation=row,
            wamid=f"{LOCAL_ID_PREFIX}{uuid.uuid4().hex}",
            direction=Direction.OUTBOUND,
            phone_number_id=conversation.channel.phone_number_id,
            wa_id=wa_id,
            type=type_,
            text=text,
            payload={"request": payload, "author_label": actor_label(actor), **send},
            context_wamid=context_wamid,
            author=member,
            status=MessageStatus.QUEUED,
            status_rank=wh.status_rank("queued"),
            meta_timestamp=now,
            status_updated_at=now,
        )
        if attach is not None:
            attach(message)
        values: dict[str, Any] = {
            "last_message": message,
            "last_message_at": now,
            "last_activity_at": now,
            **changed(now),
        }
        words = words_added([text], names=(contact.name, contact.profile_name))
        if words is not None:  # what a search finds the conversation by
            values["search_words"] = words
        if (
            member is not None
            and row.assignee_id is None
            and channel_settings_of(phone=conversation.channel).auto_assign
        ):
            values["assignee"] = member
        reopened = row.queue == Queue.RESOLVED
        if reopened:  # a reply reopens a resolved conversation: waiting for the customer
            values.update(queue=Queue.PENDING, resolved_at=None)
        try:
            with transaction.atomic():
                Conversation.objects.filter(pk=row.pk).update(**values)
        except IntegrityError:
            raise Conflict(
                _(
                    "This contact has another open conversation on this channel: reply "
                    "there, or resolve it first."
                ),
                code="conversation_open_elsewhere",
            ) from None
        if reopened:
            integrations.emit(
                require_tenant(),
                "conversation.status_changed",
                {"conversation": row.pk, "from": Queue.RESOLVED, "to": Queue.PENDING},
            )
        tasks.message_send_task.apply_async_on_commit(
            (message.tenant_id, message.pk),
            {"turn": turn.holds},
            countdown=turn.wait or None,
        )
    return message


def reply_text(
    *,
    actor: Any,
    conversation: Conversation,
    text: str,
    reply_to: Message | None = None,
    now: Any = None,
) -> Message:
    """A text reply inside the window (links get a preview), optionally quoting a message."""
    _require_replier(actor, conversation)
    body = str(text or "").strip()
    if not body:
        raise Invalid(_("Write the reply first."), field="text")
    if len(body) > TEXT_MAX_LENGTH:
        raise Invalid(
            _("A message has at most %(max)d characters.") % {"max": TEXT_MAX_LENGTH},
            field="text",
        )
    if not conversation.window_open(now):
        raise _window_closed_refusal()
    to = _recipient(conversation)
    context = ""
    if reply_to is not None:
        if reply_to.conversation_id != conversation.pk or reply_to.wamid.startswith(
            LOCAL_ID_PREFIX
        ):
            raise Invalid(_("Choose a message of this conversation to reply to."), field="reply_to")
        context = reply_to.wamid
    payload: dict[str, Any] = {
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body, "preview_url": "http" in body},
    }
    if context:
        payload["context"] = {"message_id": context}
    return _store(
        actor=actor,
        conversation=conversation,
        type_=MessageType.TEXT,
        text=body,
        payload=payload,
        context_wamid=context,
    )


def reply_to_find(*, conversation: Conversation, message_pk: object) -> Message:
    """The message of this conversation a reply quotes; else NotFound."""
    return get_or_not_found(Message.objects.filter(conversation=conversation), pk=message_pk)


def reply_to_wamid(*, conversation: Conversation, wamid: str) -> Message:
    """The message of this conversation with Meta's id ``wamid``; else a field error."""
    found = Message.objects.filter(conversation=conversation, wamid=str(wamid)[:160]).first()
    if found is None:
        raise Invalid(
            _("No message of this conversation has the id %(wamid)s.") % {"wamid": wamid[:160]},
            field="reply_to",
        )
    return found


def template_choices(conversation: Conversation) -> list[Template]:
    """The approved templates of the conversation's number's WABA, as the composer names
    them (their names and languages; the thread page asks each time: compiled once)."""
    return statements.instances(
        ("template_choices",),
        Template,
        lambda waba_id: sending.usable_templates(PhoneNumber(waba_id=waba_id)),
        (conversation.channel.waba_id,),
        fields=("id", "name", "language"),
    )


def template_find(*, conversation: Conversation, template_pk: int) -> Template:
    """An approved template of the conversation's number's WABA; else a field error."""
    found = sending.usable_templates(conversation.channel).filter(pk=template_pk).first()
    if found is None:
        raise Invalid(
            _("Choose an approved template of this number's WhatsApp account."),
            field="template",
        )
    return found


def reply_template(
    *,
    actor: Any,
    conversation: Conversation,
    template: Template,
    parameters: dict[str, Any] | None,
    now: Any = None,
    attach: Any = None,
) -> Message:
    """An approved template, with its values checked (any time: it opens no window).

    Outside the customer's window it is business-initiated: the customer counts against
    the business's messaging limit for 24 hours, and a new customer past the limit is
    refused (``messaging_limit_reached``) before anything is stored. ``attach`` as for
    ``_store`` (a media header's file: ``outbound_media.reply_template_media``)."""
    _require_replier(actor, conversation)
    if not sending.usable_templates(conversation.channel).filter(pk=template.pk).exists():
        raise Invalid(
            _("Choose an approved template of this number's WhatsApp account."),
            field="template",
        )
    to = _recipient(conversation)
    payload = sending.template_send_payload(template, parameters or {}, to)
    payload.pop("messaging_product", None)
    rendered = sending.template_render(template, parameters or {})
    text = "\n".join(p for p in (rendered.header_text, rendered.body, rendered.footer) if p)
    reach = None
    if not conversation.window_open(now):
        reach = _messaging_limit_take(conversation, to, now)
    try:
        return _store(
            actor=actor,
            conversation=conversation,
            type_=MessageType.TEMPLATE,
            text=text,
            payload=payload,
            attach=attach,
        )
    except BaseException:
        if reach is not None:
            pacing.reach_release(reach, to)
        raise


def _messaging_limit_take(conversation: Conversation, recipient: str, now: Any) -> pacing.Reach:
    """Count the customer against the portfolio's messaging limit, or refuse in words."""
    phone = conversation.channel
    waba = phone.waba
    tier = waba.messaging_limit or phone.messaging_limit
    reach = pacing.reach_take(
        tenant_pk=conversation.tenant_id,
        portfolio=waba.business_id or f"waba-{waba.waba_id}",
        tier=tier,
        recipient=recipient,
        now=now,
    )
    if reach.taken:
        return reach
    limit = pacing.tier_limit(tier) or 0
    frees_at = reach.frees_at or timezone.now()
    raise Invalid(
        _(
            "WhatsApp's messaging limit is reached: this business may start conversations "
            "with %(limit)s customers in 24 hours. A place frees up in %(wait)s (%(when)s). "
            "Customers who wrote in the last 24 hours can still be answered."
        )
        % {
            "limit": formats.number_format(limit, force_grouping=True),
            "wait": timeuntil(frees_at, now or timezone.now()),
            "when": formats.date_format(timezone.localtime(frees_at), "DATETIME_FORMAT"),
        },
        code="messaging_limit_reached",
        details={"limit": limit, "tier": tier, "frees_at": frees_at.isoformat()},
    )


# --- Sending (the task) ------------------------------------------------------------------------


def _touch(message: Message) -> None:
    if message.conversation_id:
        Conversation.objects.filter(pk=message.conversation_id).update(**changed())


def _send_state(message: Message, state: str, **extra: Any) -> None:
    info = dict(message.payload.get("send") or {})
    info.update({"state": state, **extra})
    message.payload = {**message.payload, "send": info}


def _fail(message: Message, *, code: int | None, title: str, details: str = "") -> None:
    message.status = MessageStatus.FAILED
    message.error_code = code
    message.error_title = title[:255]
    message.error_details = details[:2000]
    message.status_updated_at = timezone.now()
    message.save(
        update_fields=[
            "status",
            "error_code",
            "error_title",
            "error_details",
            "payload",
            "status_updated_at",
        ]
    )
    _touch(message)


def send_state(message: Message) -> str:
    """``waiting`` / ``throttled`` / ``retrying`` / ``unknown`` while a queued message is
    on its way, else empty."""
    if message.status != MessageStatus.QUEUED:
        return ""
    return str((message.payload.get("send") or {}).get("state") or "")


def _turn(message: Message, holds: str) -> pacing.Turn:
    """The message's turn of its number's throughput and of the pair rate."""
    channel = message.conversation.channel if message.conversation else None
    if channel is None:
        return pacing.NOW  # failed below: no account to send with
    return pacing.turn_take(
        phone_number_id=message.phone_number_id,
        recipient=message.wa_id or str((message.payload.get("request") or {}).get("to") or ""),
        throughput_level=channel.throughput_level,
        holds=holds,
    )


# What sending a message reads (the rest of the four rows is left unloaded: a send is
# the inbox's hottest path, and the columns are what its query costs to build and read).
SEND_FIELDS = (
    "tenant_id",
    "status",
    "status_rank",
    "wamid",
    "wa_id",
    "phone_number_id",
    "payload",
    "error_code",
    "error_title",
    "error_details",
    "status_updated_at",
    "conversation__tenant_id",
    "conversation__channel__tenant_id",
    "conversation__channel__phone_number_id",
    "conversation__channel__throughput_level",
    "conversation__channel__waba__tenant_id",
    "conversation__channel__waba__access_token",
)


def _claim(
    message_pk: int, attempt: int, *, holds: str
) -> tuple[Message | None, bool, pacing.Turn]:
    """Lock the queued message, take its turn (the ones it ``holds`` not again)
    and mark it "sending" (committed before the request), so a second worker, or this
    one run again after a crash, never sends it twice. A turn not due yet is reserved
    and the message marked "waiting" instead."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("conversation__channel__waba")
            .only(*SEND_FIELDS)
            .filter(pk=message_pk)
            .first()
        )
        if message is None or message.status != MessageStatus.QUEUED:
            return message, False, pacing.NOW
        state = send_state(message)
        if state == SEND_UNKNOWN:
            return message, False, pacing.NOW
        if state == SEND_SENDING:  # an earlier try may have reached Meta
            _unknown(message, "the worker stopped while the message was being sent")
            return message, False, pacing.NOW
        turn = _turn(message, holds)
        if turn.wait > 0:
            # Only the row's own state: the list shows a queued message alike, so the
            # conversation is not marked changed for every message of a burst.
            _send_state(message, SEND_WAITING)
            message.save(update_fields=["payload"])
            return message, False, turn
        _send_state(message, SEND_SENDING, attempts=attempt + 1)
        message.save(update_fields=["payload"])
    return message, True, turn


def _unknown(message: Message, why: str) -> None:
    _send_state(message, SEND_UNKNOWN)
    message.error_details = why[:2000]
    message.save(update_fields=["payload", "error_details"])
    _touch(message)
    logger.warning("message %s: the send's outcome is unknown", message.pk)


_connections: dict[int, Any] = {}


def _client(token: str) -> Any:
    """The Graph client for ``token``, on this process's one HTTP session: its kept-alive
    connection to Meta serves every send of the process (a TLS handshake per message
    would cost more than the send itself)."""
    pid = os.getpid()  # a forked worker process opens its own
    if pid in _connections:
        return graph_client(token=token, session=_connections[pid])
    client = graph_client(token=token)
    _connections.clear()
    _connections[pid] = client.session
    return client


DEPARTURE_MAX_SLEEP = 5.0  # seconds; the door's wait is far shorter (pacing: Departures)


def _depart(channel: PhoneNumber) -> None:
    """Wait for the send's place at its number's door (``pacing.departure_take``)."""
    wait = pacing.departure_take(
        phone_number_id=channel.phone_number_id, throughput_level=channel.throughput_level
    )
    if wait > 0:
        time.sleep(min(wait, DEPARTURE_MAX_SLEEP))


def message_send(*, message_pk: int, attempt: int = 0, holds: str = "") -> Message | None:
    """Send the queued message ``message_pk`` once (nothing when it is no longer queued).

    ``holds``: the turns the message comes back with (``pacing.BOTH``: the ones it
    reserved, so it takes none); :class:`SendLater` when its turn is not due yet."""

    message, claimed, turn = _claim(message_pk, attempt, holds=holds)
    if turn.wait > 0:
        raise SendLater(turn)
    if message is None or not claimed:
        return message
    channel = message.conversation.channel if message.conversation else None
    token = channel.waba.access_token if channel is not None else ""
    if channel is None or not token:
        _fail(message, code=None, title=_("The WhatsApp account has no access: reconnect it."))
        return message
    request = dict(message.payload.get("request") or {})
    client = _client(str(token))
    _depart(channel)
    try:
        # A media message's file is uploaded to Meta first (``outbound_media``).
        request = outbound_media.request_ready(message, client, request)
        result = client.send_message(channel.phone_number_id, request)
    except ge.GraphOutcomeUnknown as exc:
        _unknown(message, str(exc))
        return message
    except (ge.GraphTransientError, ge.GraphRateLimitError) as exc:
        throttled = exc.code in THROTTLE_CODES
        state = SEND_THROTTLED if throttled else SEND_RETRYING
        _send_state(message, state, code=exc.code, title=exc.title or "")
        message.save(update_fields=["payload"])
        _touch(message)
        if throttled:
            raise SendThrottled(str(exc), retry_after=exc.retry_after) from exc
        raise SendRetry(str(exc)) from exc
    except ge.GraphError as exc:
        _send_state(message, SEND_FAILED)
        _fail(message, code=exc.code, title=exc.title or str(exc), details=str(exc))
        return message
    with transaction.atomic():
        _record_sent(message, result.message_id)
    return message


def _record_sent(message: Message, wamid: str) -> None:
    """Meta's id and "sent"; a status Meta reported before we knew the id is kept."""
    rank = wh.status_rank("sent")
    status: str = MessageStatus.SENT
    error: tuple[Any, ...] | None = None
    early = (
        Message.objects.filter(wamid=wamid, conversation__isnull=True)
        .values_list("pk", "status", "status_rank", "error_code", "error_title", "error_details")
        .first()
    )
    if early is not None:  # a status webhook came first: it made a row of its own
        early_pk, early_status, early_rank, *early_error = early
        if early_rank > rank:
            status, rank = early_status, early_rank
            error = tuple(early_error)
        Message.objects.filter(pk=early_pk).delete()
    _send_state(message, SEND_DONE)
    message.wamid = wamid
    message.status, message.status_rank = status, max(message.status_rank, rank)
    if error is not None:
        message.error_code, message.error_title, message.error_details = error
    message.status_updated_at = timezone.now()
    message.save(
        update_fields=[
            "wamid",
            "status",
            "status_rank",
            "payload",
            "status_updated_at",
            "error_code",
            "error_title",
            "error_details",
        ]
    )
    _touch(message)


def message_give_up(*, message_pk: int, error: str) -> None:
    """The retries ran out: the message is failed, with Meta's last code and the reason."""
    message = Message.objects.filter(pk=message_pk, status=MessageStatus.QUEUED).first()
    if message is None:
        return
    info = message.payload.get("send") or {}
    _send_state(message, SEND_FAILED)
    _fail(
        message,
        code=info.get("code"),
        title=str(info.get("title") or _("WhatsApp did not answer, even after several tries.")),
        details=error,
    )
