"""What members do with a conversation: assign, move between queues, tag, note, read.

The channel's rules (``senders.selectors``, Sparkcentral's roles) apply: a member with no
role on the conversation's channel does not find it (404); viewers move conversations
to Pending or Resolved, tag them and write notes; contributors and supervisors also
assign (and reply). Assignments, moves and tags leave an audit row; every change moves
the conversation's change marks, so every screen showing it catches up at its next poll.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Team
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant
from inbox.models import Conversation, ConversationTag, Note, Queue
from inbox.selectors import channel_role
from inbox.services import integrations
from senders.models import ChannelRole
from waba_portal.errors import Conflict, Invalid, NotAllowed, NotFound

TAG_MAX_LENGTH = 50
TAGS_PER_CONVERSATION = 20
NOTE_MAX_LENGTH = 4000


def changed(now: Any = None) -> dict[str, Any]:
    """The change marks' update: one more version, the time of the change."""
    return {"version": F("version") + 1, "changed_at": now or timezone.now()}


def actor_label(actor: Any) -> str:
    """Who acted, in rows that name no member: an API key's name."""
    key = getattr(actor, "api_key", None)
    return str(key.name)[:255] if key is not None else ""


def role_on(actor: Any, conversation: Conversation) -> ChannelRole:
    """``actor``'s role on the conversation's channel; no role reads as no conversation."""
    role = channel_role(actor, conversation.channel)
    if role is None:
        raise NotFound(_("Conversation not found."))
    return role


def _require_contributor(actor: Any, conversation: Conversation, message: str) -> None:
    if role_on(actor, conversation) == ChannelRole.VIEWER:
        raise NotAllowed(message)


def _locked(conversation: Conversation) -> Conversation:
    return (
        Conversation.objects.select_for_update()
        .select_related("channel", "contact")
        .get(pk=conversation.pk)
    )


def _audit(actor: Any, action: str, conversation: Conversation, **metadata: Any) -> None:
    audit_record(
        actor=getattr(actor, "user", None),
        action=action,
        target=conversation,
        metadata={
            "contact": conversation.contact.display_name,
            "channel": str(conversation.channel),
            **metadata,
        },
    )


def _member_words(member: Membership | None) -> str:
    return member.user.get_full_name() if member is not None else ""


def conversation_mark_read(*, conversation: Conversation) -> bool:
    """A member looked at the thread: no unread messages left (no audit, not a change)."""
    updated = Conversation.objects.filter(pk=conversation.pk, unread_count__gt=0).update(
        unread_count=0, **changed()
    )
    if updated:
        conversation.unread_count = 0
        conversation.version += 1
    return bool(updated)


def conversation_assign(
    *,
    actor: Any,
    conversation: Conversation,
    assignee: Membership | None,
    team: Team | None,
) -> Conversation:
    """Assign to a member (who must see the channel) and/or a team; None takes it off."""
    _require_contributor(
        actor,
        conversation,
        _("Viewers of this channel cannot assign conversations: ask its supervisor."),
    )
    if assignee is not None and assignee.tenant_id != conversation.tenant_id:
        raise Invalid(_("Choose a member of this workspace."), field="assignee")
    if assignee is not None and channel_role(assignee, conversation.channel) is None:
        raise Invalid(
            _(
                "%(member)s has no access to the channel %(channel)s: give them access in "
                "the channel's settings, or assign someone else."
            )
            % {"member": _member_words(assignee), "channel": conversation.channel},
            field="assignee",
        )
    with transaction.atomic():
        row = _locked(conversation)
        before = (row.assignee_id, row.team_id)
        after = (assignee.pk if assignee else None, team.pk if team else None)
        if before == after:
            return row
        row.assignee, row.team = assignee, team
        Conversation.objects.filter(pk=row.pk).update(
            assignee=assignee, team=team, last_activity_at=timezone.now(), **changed()
        )
        _audit(
            actor,
            "conversation.assigned",
            row,
            assignee=assignee.user.email if assignee else "",
            team=team.name if team else "",
        )
        integrations.emit(
            require_tenant(),
            "conversation.assigned",
            {
                "conversation": row.pk,
                "assignee": {"id": assignee.pk, "email": assignee.user.email} if assignee else None,
                "team": {"id": team.pk, "name": team.name} if team else None,
            },
        )
    row.refresh_from_db()
    return row


def conversation_move(*, actor: Any, conversation: Conversation, queue: str) -> Conversation:
    """Move to New, Pending or Resolved (from Resolved: reopen, into New)."""
    role_on(actor, conversation)  # every role may move (viewers included)
    if queue not in Queue.values:
        raise Invalid(_("Choose New, Pending or Resolved."), field="queue")
    now = timezone.now()
    try:
        with transaction.atomic():
            row = _locked(conversation)
            before = row.queue
            if before == queue:
                return row
            values: dict[str, Any] = {"queue": queue, "last_activity_at": now, **changed(now)}
            values["resolved_at"] = now if queue == Queue.RESOLVED else None
            Conversation.objects.filter(pk=row.pk).update(**values)
            _audit(actor, "conversation.moved", row, **{"from": before, "to": queue})
            integrations.emit(
                require_tenant(),
                "conversation.status_changed",
                {"conversation": row.pk, "from": before, "to": queue},
            )
    except IntegrityError:
        # Reopening while another conversation with the contact is open on the channel.
        raise Conflict(
            _(
                "This contact has another open conversation on this channel: continue "
                "there, or resolve it first."
            ),
            code="conversation_open_elsewhere",
        ) from None
    row.refresh_from_db()
    return row


def tag_normalize(name: str) -> str:
    return " ".join(str(name or "").split()).lower()


def conversation_tag_add(*, actor: Any, conversation: Conversation, name: str) -> str:
    role_on(actor, conversation)
    tag = tag_normalize(name)
    if not tag:
        raise Invalid(_("Enter a tag."), field="tag")
    if len(tag) > TAG_MAX_LENGTH:
        raise Invalid(
            _("A tag has at most %(max)d characters.") % {"max": TAG_MAX_LENGTH}, field="tag"
        )
    with transaction.atomic():
        row = _locked(conversation)
        tags = set(row.tags.values_list("name", flat=True))
        if tag in tags:
            return tag
        if len(tags) >= TAGS_PER_CONVERSATION:
            raise Invalid(
                _("A conversation has at most %(max)d tags: remove one first.")
                % {"max": TAGS_PER_CONVERSATION},
                field="tag",
            )
        ConversationTag.objects.create(conversation=row, name=tag)
        Conversation.objects.filter(pk=row.pk).update(**changed())
        _audit(actor, "conversation.tagged", row, tag=tag)
    return tag


def conversation_tag_remove(*, actor: Any, conversation: Conversation, name: str) -> bool:
    role_on(actor, conversation)
    tag = tag_normalize(name)
    with transaction.atomic():
        row = _locked(conversation)
        removed, _kinds = ConversationTag.objects.filter(conversation=row, name=tag).delete()
        if removed:
            Conversation.objects.filter(pk=row.pk).update(**changed())
            _audit(actor, "conversation.untagged", row, tag=tag)
    return bool(removed)


def note_add(*, actor: Any, conversation: Conversation, body: str) -> Note:
    """An internal note (viewers too): shown to the team in the thread, never sent."""
    role_on(actor, conversation)
    text = str(body or "").strip()
    if not text:
        raise Invalid(_("Write the note first."), field="body")
    if len(text) > NOTE_MAX_LENGTH:
        raise Invalid(
            _("A note has at most %(max)d characters.") % {"max": NOTE_MAX_LENGTH},
            field="body",
        )
    with transaction.atomic():
        note = Note.objects.create(
            conversation=conversation,
            author=actor if isinstance(actor, Membership) else None,
            author_label=actor_label(actor),
            body=text,
        )
        Conversation.objects.filter(pk=conversation.pk).update(**changed())
    return note
