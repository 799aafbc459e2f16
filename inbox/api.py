"""REST API of the inbox: conversations, their messages and notes, contacts and consent.

Under ``/api/v1/t/<slug>/`` (``inbox/api_urls.py``):

- ``conversations/``: GET, the inbox's list with its filters as query parameters
  (``queue`` = open (default: New and Pending) / new / pending / resolved / all,
  ``channel`` (a number's id), ``assignee`` = anyone / me / unassigned, ``team``, ``tag``,
  ``window`` = open / closed, ``q`` (full-text search)), newest first, cursor-paged;
- ``conversations/<id>/``: GET; ``…/assign/`` POST ``{"assignee": id|"me"|null,
  "team": id|null}``; ``…/move/`` POST ``{"queue": "new"|"pending"|"resolved"}``;
  ``…/tags/`` POST ``{"add": [...], "remove": [...]}``; ``…/notes/`` GET, POST
  ``{"body"}``; ``…/messages/`` GET, cursor-paged, newest first, POST a text or a
  template; ``…/media/`` POST multipart (``file``, ``caption``, ``reply_to``): a file
  inside the 24-hour window (``inbox.services.outbound_media``), or (``file``,
  ``template``, ``parameters`` as JSON) an approved template with the file as its media
  header, any time;
- ``messages/media/``: POST multipart (``to``: the contact's phone, ``channel``: a
  number's id, else the primary sender, ``file``, ``caption``): the same, to a contact
  by phone (on their latest conversation with that number);
- ``contacts/``: GET (``q``, ``consent``), POST ``{"phone", "name", "mobile"}``;
  ``contacts/<id>/``: GET, PATCH ``{"name", "mobile"}``, DELETE (owners and admins: the
  contact's conversations and messages go too); ``contacts/<id>/consent/``: GET the
  history, POST ``{"state": "opted_in"|"opted_out", "note"}`` (recorded as given
  through the API).

The channel rules are the pages' (``inbox.services.conversations``): a conversation of a
channel the member has no role on answers 404, a viewer may not assign (403). An API key
acts as an admin. Conversations and messages are the ``inbox`` scope of a key, contacts
the ``contacts`` scope. Every refusal is the one error body.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.mixins import ListModelMixin
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors as account_selectors
from accounts.idempotency import idempotent
from accounts.models import Membership
from inbox import selectors
from inbox.failures import failure_reason
from inbox.models import (
    WINDOW,
    ConsentChange,
    ConsentSource,
    ConsentState,
    Contact,
    Conversation,
    Message,
    Note,
    Queue,
)
from inbox.services import (
    contacts,
    conversation_start,
    conversations,
    outbound,
    outbound_media,
)
from waba_portal.api import TenantAPIView
from waba_portal.api_pagination import TenantListAPIView
from waba_portal.errors import Invalid
from waba_portal.guards import parse_id

# --- Bodies -----------------------------------------------------------------------------


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Invalid(_("Send the request body as a JSON object."), code="malformed_json")
    return data


def _member(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"id": value.pk, "email": value.user.email, "name": value.user.get_full_name()}


class ContactSerializer(serializers.ModelSerializer[Contact]):
    display_name = serializers.CharField(read_only=True)
    # Blank until consent is first recorded: the schema's enum says so too.
    consent_source = serializers.ChoiceField(
        choices=ConsentSource.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "phone",
            "mobile",
            "wa_id",
            "bsuid",
            "username",
            "name",
            "profile_name",
            "display_name",
            "consent",
            "consent_source",
            "consent_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ConversationSerializer(serializers.ModelSerializer[Conversation]):
    channel = serializers.SerializerMethodField()
    contact = ContactSerializer(read_only=True)
    assignee = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    window_open = serializers.SerializerMethodField()
    window_closes_at = serializers.SerializerMethodField()

    def get_channel(self, row: Conversation) -> dict[str, Any]:
        phone = row.channel
        return {
            "id": phone.pk,
            "phone_number_id": phone.phone_number_id,
            "display_phone_number": phone.display_phone_number,
        }

    def get_assignee(self, row: Conversation) -> dict[str, Any] | None:
        return _member(row.assignee)

    def get_team(self, row: Conversation) -> dict[str, Any] | None:
        return {"id": row.team.pk, "name": row.team.name} if row.team else None

    def get_tags(self, row: Conversation) -> list[str]:
        return sorted(t.name for t in row.tags.all())

    def get_window_open(self, row: Conversation) -> bool:
        return row.window_open()

    def get_window_closes_at(self, row: Conversation) -> Any:
        return row.last_inbound_at + WINDOW if row.last_inbound_at else None

    class Meta:
        model = Conversation
        fields = [
            "id",
            "channel",
            "contact",
            "queue",
            "assignee",
            "team",
            "tags",
            "unread_count",
            "last_inbound_at",
            "last_message_at",
            "window_open",
            "window_closes_at",
            "resolved_at",
            "created_at",
        ]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer[Message]):
    timestamp = serializers.DateTimeField(source="meta_timestamp", read_only=True)
    reply_to = serializers.CharField(source="context_wamid", read_only=True)
    error = serializers.SerializerMethodField()
    media = serializers.SerializerMethodField()
    author = serializers.SerializerMethodField()

    def get_error(self, row: Message) -> dict[str, Any] | None:
        if row.status != "failed":
            return None
        return {
            "code": row.error_code,
            "title": row.error_title,
            "reason": failure_reason(row.error_code, row.error_title),
        }

    def get_media(self, row: Message) -> dict[str, Any] | None:
        media = next(iter(row.media.all()), None)
        if media is None:
            return None
        return {
            "id": media.pk,
            "state": media.state,
            "mime_type": media.mime_type,
            "size": media.size,
            "filename": media.filename,
            "problem": media.problem,
        }

    def get_author(self, row: Message) -> dict[str, Any] | None:
        return _member(row.author)

    class Meta:
        model = Message
        fields = [
            "id",
            "wamid",
            "direction",
            "type",
            "text",
            "status",
            "error",
            "timestamp",
            "reply_to",
            "media",
            "author",
            "payload",
        ]
        read_only_fields = fields


class NoteSerializer(serializers.ModelSerializer[Note]):
    author = serializers.SerializerMethodField()

    def get_author(self, row: Note) -> dict[str, Any] | None:
        if row.author is not None:
            return _member(row.author)
        return {"api_key": row.author_label} if row.author_label else None

    class Meta:
        model = Note
        fields = ["id", "body", "author", "created_at"]
        read_only_fields = fields


class ConsentChangeSerializer(serializers.ModelSerializer[ConsentChange]):
    actor = serializers.SerializerMethodField()

    def get_actor(self, row: ConsentChange) -> dict[str, Any] | None:
        if row.actor is not None:
            return _member(row.actor)
        return {"api_key": row.actor_label} if row.actor_label else None

    class Meta:
        model = ConsentChange
        fields = ["id", "state", "source", "keyword", "note", "actor", "occurred_at"]
        read_only_fields = fields


class AssignBody(serializers.Serializer[dict[str, Any]]):
    assignee = serializers.JSONField(required=False, allow_null=True)
    team = serializers.JSONField(required=False, allow_null=True)


class MoveBody(serializers.Serializer[dict[str, Any]]):
    queue = serializers.ChoiceField(choices=Queue.choices)


class TagsBody(serializers.Serializer[dict[str, Any]]):
    add = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    remove = serializers.ListField(child=serializers.CharField(max_length=200), required=False)


class NoteBody(serializers.Serializer[dict[str, Any]]):
    body = serializers.CharField(max_length=conversations.NOTE_MAX_LENGTH, allow_blank=True)


class ReplyBody(serializers.Serializer[dict[str, Any]]):
    """A reply: ``text`` (and ``reply_to``, a wamid), or ``template`` (its id) with
    ``parameters`` by slot key (``templates_app.sending``)."""

    text = serializers.CharField(required=False, allow_blank=True)
    reply_to = serializers.CharField(required=False, allow_blank=True)
    template = serializers.IntegerField(required=False)
    parameters = serializers.DictField(required=False)


class ContactBody(serializers.Serializer[dict[str, Any]]):
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    mobile = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class ContactPatchBody(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    mobile = serializers.CharField(max_length=40, required=False, allow_blank=True)


class ConsentBody(serializers.Serializer[dict[str, Any]]):
    state = serializers.ChoiceField(
        choices=[ConsentState.OPTED_IN.value, ConsentState.OPTED_OUT.value]
    )
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


def _valid(shape: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    body = shape(data=_object(data))
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


# --- Conversations ------------------------------------------------------------------------


FILTER_VALUES = {
    "queue": (selectors.QUEUE_OPEN, selectors.QUEUE_ALL, *Queue.values),
    "assignee": (selectors.ASSIGNEE_ANYONE, selectors.ASSIGNEE_ME, selectors.ASSIGNEE_NOBODY),
    "window": (selectors.WINDOW_OPEN, selectors.WINDOW_CLOSED),
}


def _filters(query: Any) -> selectors.Filters:
    """The list's filters from query parameters; a value that does not fit is refused."""
    problems: dict[str, list[str]] = {}
    for name, allowed in FILTER_VALUES.items():
        value = query.get(name)
        if value not in (None, "") and value not in allowed:
            problems[name] = [_("One of: %(values)s.") % {"values": ", ".join(allowed)}]
    for name in ("channel", "team"):
        value = query.get(name)
        if value not in (None, "") and parse_id(value) is None:
            problems[name] = [_("An id (a whole number).")]
    if problems:
        raise Invalid(
            _("The request has invalid filters; see details."), details={"fields": problems}
        )
    return selectors.Filters.of(query)


class _ConversationView(TenantAPIView):
    permission_classes = [IsAuthenticated]
    resource_group = "inbox"

    def conversation(self, conversation_pk: int) -> Conversation:
        return selectors.conversation_access(
            membership=self.membership, conversation_pk=conversation_pk
        )

    def answer(self, row: Conversation, code: int = status.HTTP_200_OK) -> Response:
        row = self.conversation(row.pk)
        return Response(ConversationSerializer(row).data, status=code)


class ConversationList(ListModelMixin, TenantListAPIView):
    """The conversations the caller sees, with the inbox's filters."""

    permission_classes = [IsAuthenticated]
    resource_group = "inbox"
    serializer_class = ConversationSerializer

    def get_queryset(self) -> Any:
        return selectors.conversation_list(
            membership=self.membership, filters=_filters(self.request.query_params)
        )

    def get(self, request: Request) -> Response:
        return self.list(request)


class ConversationDetail(_ConversationView):
    @extend_schema(responses=ConversationSerializer)
    def get(self, request: Request, conversation_pk: int) -> Response:
        return self.answer(self.conversation(conversation_pk))


class ConversationAssign(_ConversationView):
    @extend_schema(request=AssignBody, responses=ConversationSerializer)
    def post(self, request: Request, conversation_pk: int) -> Response:
        row = self.conversation(conversation_pk)
        data = _object(request.data)
        assignee = self._assignee(data.get("assignee"))
        team = None
        if data.get("team") is not None:
            team = account_selectors.team_list().filter(pk=_id(data.get("team")) or 0).first()
            if team is None:
                raise Invalid(_("Choose a team of this workspace."), field="team")
        row = conversations.conversation_assign(
            actor=self.membership, conversation=row, assignee=assignee, team=team
        )
        return self.answer(row)

    def _assignee(self, value: Any) -> Membership | None:
        if value is None or value == "":
            return None
        if value == "me":
            if not isinstance(self.membership, Membership):
                raise Invalid(_("An API key is no member: give the member's id."), field="assignee")
            return self.membership
        member = account_selectors.member_list().filter(pk=_id(value) or 0).first()
        if member is None:
            raise Invalid(_("Choose a member of this workspace."), field="assignee")
        return member


def _id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return parse_id(value) if isinstance(value, str) else None


class ConversationMove(_ConversationView):
    @extend_schema(request=MoveBody, responses=ConversationSerializer)
    def post(self, request: Request, conversation_pk: int) -> Response:
        row = self.conversation(conversation_pk)
        data = _valid(MoveBody, request.data)
        row = conversations.conversation_move(
            actor=self.membership, conversation=row, queue=data["queue"]
        )
        return self.answer(row)


class ConversationTags(_ConversationView):
    @extend_schema(request=TagsBody, responses=ConversationSerializer)
    def post(self, request: Request, conversation_pk: int) -> Response:
        row = self.conversation(conversation_pk)
        data = _valid(TagsBody, request.data)
        for name in data.get("remove") or []:
            conversations.conversation_tag_remove(
                actor=self.membership, conversation=row, name=name
            )
        for name in data.get("add") or []:
            conversations.conversation_tag_add(actor=self.membership, conversation=row, name=name)
        return self.answer(row)


class ConversationNotes(ListModelMixin, TenantListAPIView):
    permission_classes = [IsAuthenticated]
    resource_group = "inbox"
    serializer_class = NoteSerializer

    def row(self) -> Conversation:
        return selectors.conversation_access(
            membership=self.membership, conversation_pk=self.kwargs["conversation_pk"]
        )

    def get_queryset(self) -> Any:
        return self.row().notes.select_related("author__user")

    def get(self, request: Request, conversation_pk: int) -> Response:
        return self.list(request)

    @extend_schema(request=NoteBody, responses={201: NoteSerializer})
    @idempotent
    def post(self, request: Request, conversation_pk: int) -> Response:
        row = self.row()
        data = _valid(NoteBody, request.data)
        note = conversations.note_add(actor=self.membership, conversation=row, body=data["body"])
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class ConversationMessages(ListModelMixin, TenantListAPIView):
    """A conversation's messages, newest first; POST sends a reply (queued, then sent)."""

    permission_classes = [IsAuthenticated]
    resource_group = "inbox"
    serializer_class = MessageSerializer

    def get_queryset(self) -> Any:
        row = selectors.conversation_access(
            membership=self.membership, conversation_pk=self.kwargs["conversation_pk"]
        )
        return row.messages.select_related("author__user").prefetch_related("media")

    def get(self, request: Request, conversation_pk: int) -> Response:
        return self.list(request)

    # -- replies: a text inside the 24-hour window, an approved template any time.
    @extend_schema(request=ReplyBody, responses={201: MessageSerializer})
    @idempotent
    def post(self, request: Request, conversation_pk: int) -> Response:
        row = selectors.conversation_access(
            membership=self.membership, conversation_pk=conversation_pk
        )
        return _reply(self.membership, row, _valid(ReplyBody, request.data))


def _reply(membership: Any, row: Conversation, data: dict[str, Any]) -> Response:
    if data.get("template") is not None:
        if data.get("text"):
            raise Invalid(_("Send a text or a template, not both."), field="text")
        template = outbound.template_find(conversation=row, template_pk=data["template"])
        message = outbound.reply_template(
            actor=membership,
            conversation=row,
            template=template,
            parameters=data.get("parameters") or {},
        )
    else:
        quoted = None
        if data.get("reply_to"):
            quoted = outbound.reply_to_wamid(conversation=row, wamid=data["reply_to"])
        message = outbound.reply_text(
            actor=membership,
            conversation=row,
            text=data.get("text") or "",
            reply_to=quoted,
        )
    return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class PhoneReplyBody(ReplyBody):
    to = serializers.CharField(max_length=40, help_text="The contact's phone number (E.164).")
    channel = serializers.IntegerField(
        required=False, help_text="The sending number's id; the primary sender if left out."
    )


class MessageToPhone(TenantAPIView):
    """Send a text or a template to a contact by phone, from a chosen number or the
    primary sender. A template may open the conversation (the contact is added when
    unknown); a text needs the contact to have written within 24 hours."""

    permission_classes = [IsAuthenticated]
    resource_group = "inbox"

    @extend_schema(request=PhoneReplyBody, responses={201: MessageSerializer})
    @idempotent
    def post(self, request: Request) -> Response:
        data = _valid(PhoneReplyBody, request.data)
        if data.get("template") is not None:
            row = conversation_start.conversation_start(
                actor=self.membership, to=data["to"], channel_pk=data.get("channel")
            )
        else:
            row = conversation_start.conversation_find(
                actor=self.membership, to=data["to"], channel_pk=data.get("channel")
            )
        return _reply(self.membership, row, data)


# -- media (a file inside the window) --------------------------------------------------------


class MediaBody(serializers.Serializer[dict[str, Any]]):
    """A file to send (multipart/form-data), with its caption and the message it quotes."""

    file = serializers.FileField(
        help_text="JPEG/PNG image (5 MB), MP4/3GPP video (16 MB), AAC/AMR/MP3/M4A/OGG-Opus "
        "audio (16 MB), PDF/Word/Excel/PowerPoint/text document (100 MB), WebP sticker."
    )
    caption = serializers.CharField(
        required=False, allow_blank=True, max_length=outbound_media.CAPTION_MAX_LENGTH
    )
    reply_to = serializers.CharField(required=False, allow_blank=True)
    template = serializers.IntegerField(
        required=False,
        help_text="An approved template whose image, video or document header is this file "
        "(then sent any time, like every template).",
    )
    parameters = serializers.JSONField(
        required=False, binary=True, help_text="The template's other values, as JSON."
    )


class MediaToPhoneBody(MediaBody):
    to = serializers.CharField(max_length=40, help_text="The contact's phone number (E.164).")
    channel = serializers.IntegerField(
        required=False, help_text="The sending number's id; the primary sender if left out."
    )


def _media_fields(request: Request, shape: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    if not request.FILES.get("file"):
        raise Invalid(
            _("Send the file as the multipart field file."), field="file", code="media_missing"
        )
    body = shape(data=request.data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


def _media_send(request: Request, membership: Any, row: Conversation, data: dict[str, Any]) -> Any:
    if data.get("template") is not None:
        if data.get("caption") or data.get("reply_to"):
            raise Invalid(_("A template takes no caption and quotes no message."), field="caption")
        parameters = data.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise Invalid(_("Send the parameters as a JSON object."), field="parameters")
        template = outbound.template_find(conversation=row, template_pk=data["template"])
        message = outbound_media.reply_template_media(
            actor=membership,
            conversation=row,
            template=template,
            parameters=parameters,
            header_upload=data["file"],
        )
    else:
        quoted = None
        if data.get("reply_to"):
            quoted = outbound.reply_to_wamid(conversation=row, wamid=data["reply_to"])
        message = outbound_media.reply_media(
            actor=membership,
            conversation=row,
            upload=data["file"],
            caption=data.get("caption") or "",
            reply_to=quoted,
        )
    message = (
        row.messages.prefetch_related("media").select_related("author__user").get(pk=message.pk)
    )
    return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class ConversationMedia(TenantAPIView):
    """Send a file to the conversation's contact (queued, uploaded, then sent)."""

    permission_classes = [IsAuthenticated]
    resource_group = "inbox"
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": MediaBody}, responses={201: MessageSerializer})
    @idempotent
    def post(self, request: Request, conversation_pk: int) -> Response:
        row = selectors.conversation_access(
            membership=self.membership, conversation_pk=conversation_pk
        )
        data = _media_fields(request, MediaBody)
        return _media_send(request, self.membership, row, data)  # type: ignore[no-any-return]


class MediaToPhone(TenantAPIView):
    """Send a file to a contact by phone, from a chosen number or the primary sender."""

    permission_classes = [IsAuthenticated]
    resource_group = "inbox"
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": MediaToPhoneBody}, responses={201: MessageSerializer}
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = _media_fields(request, MediaToPhoneBody)
        row = conversation_start.conversation_find(
            actor=self.membership, to=data["to"], channel_pk=data.get("channel")
        )
        return _media_send(request, self.membership, row, data)  # type: ignore[no-any-return]


# --- Contacts -------------------------------------------------------------------------------


class ContactList(ListModelMixin, TenantListAPIView):
    permission_classes = [IsAuthenticated]
    resource_group = "contacts"
    serializer_class = ContactSerializer

    def get_queryset(self) -> Any:
        consent = self.request.query_params.get("consent") or ""
        if consent and consent not in ConsentState.values:
            raise Invalid(
                _("One of: %(values)s.") % {"values": ", ".join(ConsentState.values)},
                field="consent",
            )
        return selectors.contact_list(q=self.request.query_params.get("q") or "", consent=consent)

    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(request=ContactBody, responses={201: ContactSerializer})
    @idempotent
    def post(self, request: Request) -> Response:
        data = _valid(ContactBody, request.data)
        contact = contacts.contact_create(actor=self.membership, **data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class _ContactView(TenantAPIView):
    permission_classes = [IsAuthenticated]
    resource_group = "contacts"


class ContactDetail(_ContactView):
    @extend_schema(responses=ContactSerializer)
    def get(self, request: Request, contact_pk: int) -> Response:
        contact = selectors.contact_access(contact_pk=contact_pk)
        return Response(ContactSerializer(contact).data)

    @extend_schema(request=ContactPatchBody, responses=ContactSerializer)
    def patch(self, request: Request, contact_pk: int) -> Response:
        contact = selectors.contact_access(contact_pk=contact_pk)
        data = _valid(ContactPatchBody, request.data)
        contact = contacts.contact_update(
            actor=self.membership, contact=contact, name=data.get("name"), mobile=data.get("mobile")
        )
        return Response(ContactSerializer(contact).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, contact_pk: int) -> Response:
        contact = selectors.contact_access(contact_pk=contact_pk)
        contacts.contact_delete(actor=self.membership, contact=contact)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactConsent(_ContactView):
    @extend_schema(
        responses=inline_serializer(
            "ContactConsentState",
            {
                "consent": serializers.ChoiceField(choices=ConsentState.choices),
                "consent_at": serializers.DateTimeField(allow_null=True),
                "history": ConsentChangeSerializer(many=True),
            },
        )
    )
    def get(self, request: Request, contact_pk: int) -> Response:
        contact = selectors.contact_access(contact_pk=contact_pk)
        history = selectors.consent_history(contact=contact, limit=200)
        return Response(
            {
                "consent": contact.consent,
                "consent_at": contact.consent_at,
                "history": ConsentChangeSerializer(history, many=True).data,
            }
        )

    @extend_schema(request=ConsentBody, responses={201: ConsentChangeSerializer})
    def post(self, request: Request, contact_pk: int) -> Response:
        contact = selectors.contact_access(contact_pk=contact_pk)
        data = _valid(ConsentBody, request.data)
        change = contacts.consent_record(
            actor=self.membership,
            contact=contact,
            state=data["state"],
            note=data["note"],
            source=ConsentSource.API,
        )
        return Response(ConsentChangeSerializer(change).data, status=status.HTTP_201_CREATED)
