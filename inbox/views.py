"""The agents' screen: the conversation list, a thread with its contact, the actions,
contacts, the media files and the consent keywords.

Pages are server-rendered; htmx keeps them current without a reload. The list and the
thread each poll every ``INBOX_POLL_SECONDS``: when nothing changed the answer is an
empty 204 for htmx (a 304 for a conditional request with ``If-None-Match``), decided by
one indexed query (``selectors.conversations_changed_at`` for the list, the thread's
``selectors.conversation_mark``); otherwise the region is rendered again. The actions
answer htmx with the side panel and the thread; without htmx they redirect back with
a message. Refusals are the services' (``ServiceErrorMiddleware`` answers them).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors as account_selectors
from accounts.models import MANAGER_ROLES, Membership
from accounts.permissions import require_manager, tenant_view
from inbox import display, selectors
from inbox.composer import composer_context
from inbox.forms import ConsentForm, ContactCreateForm, ContactForm, KeywordsForm, NoteForm, TagForm
from inbox.models import WINDOW, ConsentSource, ConsentState, Conversation, MediaState, Queue
from inbox.services import contacts, conversations
from senders.models import ChannelRole
from waba_portal.errors import Invalid
from waba_portal.guards import parse_id
from waba_portal.middleware import refusals_return_to

# Files shown in the page (images, audio, video); any other type is a download.
INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/amr",
        "video/mp4",
        "video/3gpp",
    }
)
CONTACTS_PAGE = 50


def _reads_once(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page's roles and visible channels read once for the request (``request_memo``)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with selectors.request_memo():
            return view(request, *args, **kwargs)

    return wrapper


def _display(request: HttpRequest) -> display.Display:
    """The page's words and times, worked out once for the request."""
    shown = getattr(request, "_inbox_display", None)
    if shown is None:
        shown = request._inbox_display = display.Display()  # type: ignore[attr-defined]
    return shown  # type: ignore[no-any-return]


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _offset(query: QueryDict) -> int:
    value = parse_id(query.get("offset"))
    return min(value or 0, 100_000)


def _stamp(value: datetime | None) -> str:
    return str(int(value.timestamp() * 1_000_000)) if value else "0"


def _unchanged(request: HttpRequest, tag: str, *, settled: bool) -> HttpResponse | None:
    """The empty answer for a poll that has seen ``tag`` (None: render the region)."""
    etag = f'"{tag}"'
    response: HttpResponse
    if request.headers.get("If-None-Match") == etag and settled:
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return response
    if request.GET.get("since") == tag and settled:
        response = HttpResponse(status=204)
        response["ETag"] = etag
        return response
    return None


def _settled(when: datetime | None) -> bool:
    """A change older than the settle time: anything committed with it has been seen."""
    if when is None:
        return True
    return (timezone.now() - when).total_seconds() > settings.INBOX_POLL_SETTLE_SECONDS


# --- Window, ticks: what the thread says about a conversation --------------------------------


def window_state(conversation: Conversation, now: datetime | None = None) -> dict[str, Any]:
    """The customer service window: open with the time left, or closed."""
    now = now or timezone.now()
    closes = conversation.window_closes_at()
    if closes is None or closes <= now:
        return {
            "open": False,
            "closes_at": closes,
            "text": _("Window closed: only templates can be sent"),
        }
    left = int((closes - now).total_seconds())
    hours, minutes = left // 3600, (left % 3600) // 60
    return {
        "open": True,
        "closes_at": closes,
        "closes_ms": int(closes.timestamp() * 1000),
        "hours": hours,
        "minutes": minutes,
        "text": _("Window open: %(hours)s h %(minutes)s min left")
        % {"hours": hours, "minutes": minutes},
    }


def _tags_of(conversation: Conversation) -> list[str]:
    """The conversation's tag names, read once per conversation object."""
    names = getattr(conversation, "_tag_names", None)
    if names is None:
        names = selectors.tag_names_of(conversation_pk=conversation.pk)
        conversation._tag_names = names  # type: ignore[attr-defined]
    return names  # type: ignore[no-any-return]


def _role(request: HttpRequest, conversation: Conversation) -> ChannelRole | None:
    return selectors.channel_role(_membership(request), conversation.channel)


# --- The page ---------------------------------------------------------------------------------


def _list_context(request: HttpRequest, *, current: Conversation | None = None) -> dict[str, Any]:
    membership = _membership(request)
    filters = selectors.Filters.of(request.GET)
    offset = _offset(request.GET)
    stamp = selectors.conversations_changed_at()
    rows, more = selectors.conversation_list_page(
        membership=membership, filters=filters, offset=offset
    )
    filter_qs = urlencode(filters.query())
    shown = display.list_rows(
        rows,
        display=_display(request),
        href=display.path_by_id(
            "inbox:conversation",
            "conversation_pk",
            tenant_slug=request.tenant.slug,  # type: ignore[attr-defined]
        ),
        query=filter_qs,
        current=current,
    )
    poll = filters.query(offset=offset or None, current=current.pk if current else None)
    return {
        "filters": filters,
        "filter_qs": filter_qs,
        "poll_qs": urlencode(poll),
        "rows": rows,
        "list_rows": shown,
        "list_words": display.list_words(),
        "more_offset": offset + selectors.PAGE_SIZE if more else None,
        "offset": offset,
        "list_stamp": _stamp(stamp),
        "current": current,
        "poll_seconds": settings.INBOX_POLL_SECONDS,
    }


def _filter_choices(request: HttpRequest) -> dict[str, Any]:
    membership = _membership(request)
    channels = selectors.channels_listed(membership)
    return {
        "channels": channels,
        "teams": selectors.teams_listed(),
        "tags": selectors.tag_names(),
        "queues": Queue.choices,
        "is_manager": membership.role in MANAGER_ROLES,
    }


def _thread_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    thread = selectors.thread_read(
        conversation=conversation, before=parse_id(request.GET.get("before"))
    )
    bubbles = display.bubbles(thread.items, display=_display(request))
    return {
        "conversation": conversation,
        "contact_name": display.contact_name(conversation.contact),
        "thread": thread,
        "bubbles": bubbles,
        "reply_choices": display.reply_choices(bubbles),
        "bubble_words": display.bubble_words(),
        "media_href": display.path_by_id(
            "inbox:media_file",
            "media_pk",
            tenant_slug=request.tenant.slug,  # type: ignore[attr-defined]
        ),
        "tags_of": _tags_of(conversation),
        "window": window_state(conversation),
        "role": _role(request, conversation),
        "thread_stamp": str(conversation.version),
        "poll_seconds": settings.INBOX_POLL_SECONDS,
        **composer_context(_membership(request), conversation),  # the reply composer (I2)
    }


def _side_context(
    request: HttpRequest,
    conversation: Conversation,
    *,
    note_form: NoteForm | None = None,
    tag_form: TagForm | None = None,
    assign_error: str = "",
    done: str = "",
) -> dict[str, Any]:
    contact = conversation.contact
    role = _role(request, conversation)
    return {
        "conversation": conversation,
        "contact": contact,
        "contact_name": display.contact_name(contact),
        "role": role,
        "can_assign": role in (ChannelRole.CONTRIBUTOR, ChannelRole.SUPERVISOR),
        "members": selectors.assignable_members(conversation=conversation),
        "teams": selectors.teams_listed(),
        "tags_of": _tags_of(conversation),
        "note_form": note_form or NoteForm(),
        "tag_form": tag_form or TagForm(),
        "assign_error": assign_error,
        "consent_history": selectors.consent_lines(contact=contact, limit=3),
        "others": selectors.contact_conversations(
            contact=contact, membership=_membership(request), exclude=conversation
        ),
        "done": done,
    }


def _empty_state(request: HttpRequest, channels: list[Any] | None = None) -> dict[str, Any]:
    """What the empty inbox says: which numbers it shows messages of, and since when."""
    if channels is None:
        channels = selectors.channels_listed(_membership(request))
    return {"connected_channels": channels}


def _page(request: HttpRequest, conversation: Conversation | None) -> HttpResponse:
    context = _list_context(request, current=conversation)
    context.update(_filter_choices(request))
    context.update(_empty_state(request, context["channels"]))
    if conversation is not None:
        context.update(_thread_context(request, conversation))
        context.update(_side_context(request, conversation))
    return render(request, "inbox/inbox.html", context)


@tenant_view()
@require_GET
@_reads_once
def index(request: HttpRequest) -> HttpResponse:
    return _page(request, None)


@tenant_view()
@require_GET
@_reads_once
def conversation(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    row = selectors.conversation_access(
        membership=_membership(request), conversation_pk=conversation_pk
    )
    conversations.conversation_mark_read(conversation=row)
    return _page(request, row)


@tenant_view()
@require_GET
@_reads_once
def list_poll(request: HttpRequest) -> HttpResponse:
    """The list again when any conversation of the workspace changed, else 204/304."""
    changed_at = selectors.conversations_changed_at()
    unchanged = _unchanged(request, _stamp(changed_at), settled=_settled(changed_at))
    if unchanged is not None:
        return unchanged
    current = parse_id(request.GET.get("current"))
    row = None
    if current:
        row = selectors.conversations_visible(_membership(request)).filter(pk=current).first()
    context = _list_context(request, current=row)
    if not context["rows"]:
        context.update(_empty_state(request))
    response = render(request, "inbox/_list.html", context)
    response["ETag"] = f'"{context["list_stamp"]}"'
    return response


@tenant_view()
@require_GET
@_reads_once
def thread_poll(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    """The thread again when it changed (or its window closed), else 204/304."""
    mark = selectors.conversation_mark(conversation_pk=conversation_pk)
    if mark is None:
        raise Http404
    version, last_inbound = mark
    window_open = bool(last_inbound and last_inbound + WINDOW > timezone.now())
    tag = f"{version}-{int(window_open)}"
    since = request.GET.get("since")
    if since is not None:
        # The page says which version it shows and whether its window was open.
        if f"{since}-{request.GET.get('w', '')}" == tag:
            response = HttpResponse(status=204)
            response["ETag"] = f'"{tag}"'
            return response
    elif request.headers.get("If-None-Match") == f'"{tag}"':
        response = HttpResponseNotModified()
        response["ETag"] = f'"{tag}"'
        return response
    row = selectors.conversation_access(
        membership=_membership(request), conversation_pk=conversation_pk
    )
    conversations.conversation_mark_read(conversation=row)
    row.refresh_from_db(fields=["version", "unread_count"])
    response = render(request, "inbox/_thread.html", _thread_context(request, row))
    response["ETag"] = f'"{row.version}-{int(window_open)}"'
    return response


# --- Actions -----------------------------------------------------------------------------------


def _after_action(
    request: HttpRequest,
    row: Conversation,
    *,
    done: str = "",
    error: str = "",
    **side: Any,
) -> HttpResponse:
    if not _htmx(request):
        if error:
            messages.error(request, error)
        elif done:
            messages.success(request, done)
        target = reverse(
            "inbox:conversation",
            kwargs={"tenant_slug": request.tenant.slug, "conversation_pk": row.pk},  # type: ignore[attr-defined]
        )
        return redirect(target)
    row = selectors.conversation_access(membership=_membership(request), conversation_pk=row.pk)
    context = _side_context(request, row, done=done, **side)
    context.update(_thread_context(request, row))
    context["oob"] = True
    return render(request, "inbox/_side_answer.html", context, status=400 if error else 200)


def _access(request: HttpRequest, conversation_pk: int) -> Conversation:
    return selectors.conversation_access(
        membership=_membership(request), conversation_pk=conversation_pk
    )


@refusals_return_to("inbox:conversation", "conversation_pk")
@tenant_view()
@require_POST
def assign(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    row = _access(request, conversation_pk)
    raw_member = str(request.POST.get("assignee") or "")
    member = None
    if raw_member == "me":
        member = _membership(request) if isinstance(_membership(request), Membership) else None
    elif raw_member:
        member = account_selectors.member_list().filter(pk=parse_id(raw_member) or 0).first()
        if member is None:
            return _after_action(
                request,
                row,
                error=_("Choose a member of this workspace."),
                assign_error=_("Choose a member of this workspace."),
            )
    raw_team = str(request.POST.get("team") or "")
    team = (
        account_selectors.team_list().filter(pk=parse_id(raw_team) or 0).first()
        if raw_team
        else None
    )
    if raw_team and team is None:
        return _after_action(
            request,
            row,
            error=_("Choose a team of this workspace."),
            assign_error=_("Choose a team of this workspace."),
        )
    try:
        row = conversations.conversation_assign(
            actor=_membership(request), conversation=row, assignee=member, team=team
        )
    except Invalid as exc:
        return _after_action(request, row, error=exc.message, assign_error=exc.message)
    if member is None and team is None:
        done = _("Nobody is assigned now.")
    elif member is None:
        done = _("Assigned to the team %(team)s.") % {"team": team}
    else:
        done = _("Assigned to %(member)s.") % {"member": member.user.get_full_name()}
    return _after_action(request, row, done=done)


@refusals_return_to("inbox:conversation", "conversation_pk")
@tenant_view()
@require_POST
def move(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    row = _access(request, conversation_pk)
    queue = str(request.POST.get("queue") or "")
    row = conversations.conversation_move(actor=_membership(request), conversation=row, queue=queue)
    return _after_action(
        request, row, done=_("Moved to %(queue)s.") % {"queue": row.get_queue_display()}
    )


@refusals_return_to("inbox:conversation", "conversation_pk")
@tenant_view()
@require_POST
def tag_add(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    row = _access(request, conversation_pk)
    form = TagForm(request.POST)
    name = str(request.POST.get("tag") or "")
    try:
        tag = conversations.conversation_tag_add(
            actor=_membership(request), conversation=row, name=name
        )
    except Invalid as exc:
        form.is_valid()
        form.add_error("tag", exc.message)
        return _after_action(request, row, error=exc.message, tag_form=form)
    return _after_action(request, row, done=_("Tagged “%(tag)s”.") % {"tag": tag})


@refusals_return_to("inbox:conversation", "conversation_pk")
@tenant_view()
@require_POST
def tag_remove(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    row = _access(request, conversation_pk)
    name = str(request.POST.get("tag") or "")
    removed = conversations.conversation_tag_remove(
        actor=_membership(request), conversation=row, name=name
    )
    done = _("The tag “%(tag)s” is removed.") if removed else _("No tag “%(tag)s” to remove.")
    return _after_action(request, row, done=done % {"tag": name[:50]})


@refusals_return_to("inbox:conversation", "conversation_pk")
@tenant_view()
@require_POST
def note_add(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    row = _access(request, conversation_pk)
    form = NoteForm(request.POST)
    try:
        conversations.note_add(
            actor=_membership(request), conversation=row, body=str(request.POST.get("body") or "")
        )
    except Invalid as exc:
        form.is_valid()
        form.add_error("body", exc.message)
        return _after_action(request, row, error=exc.message, note_form=form)
    return _after_action(request, row, done=_("The note is added."))


# --- Media -------------------------------------------------------------------------------------


@tenant_view()
@require_GET
def media_file(request: HttpRequest, media_pk: int) -> HttpResponse:
    """A media message's file, for members who may see its conversation."""
    media = selectors.media_access(membership=_membership(request), media_pk=media_pk)
    if media.state != MediaState.STORED or not media.file:
        return render(request, "inbox/media_state.html", {"media": media})
    mime = media.mime_type.split(";")[0].strip().lower()
    inline = mime in INLINE_TYPES and request.GET.get("download") is None
    extension = mimetypes.guess_extension(mime) or ""
    filename = media.filename or f"{media.message.type}-{media.pk}{extension}"
    response = FileResponse(
        media.file.open("rb"),
        content_type=mime if inline else "application/octet-stream",
        as_attachment=not inline,
        filename=filename,
    )
    response["Cache-Control"] = "private, max-age=3600"
    # A file from a customer is never a page of ours: no script, no form, no plugin.
    response._csp_update = {"sandbox": True}  # type: ignore[attr-defined]
    return response  # type: ignore[return-value]  # a streamed answer, as Django takes it


# --- Contacts ----------------------------------------------------------------------------------


@tenant_view()
@require_http_methods(["GET", "POST"])
def contact_list(request: HttpRequest) -> HttpResponse:
    form = ContactCreateForm()
    status = 200
    if request.method == "POST":
        form = ContactCreateForm(request.POST)
        if form.is_valid():
            try:
                contact = contacts.contact_create(
                    actor=_membership(request),
                    phone=form.cleaned_data["phone"],
                    name=form.cleaned_data["name"],
                    mobile=form.cleaned_data["mobile"],
                )
            except Invalid as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("The contact %(name)s is added.") % {"name": contact})
                return redirect(
                    "inbox:contact",
                    tenant_slug=request.tenant.slug,  # type: ignore[attr-defined]
                    contact_pk=contact.pk,
                )
        status = 400
    q = " ".join(str(request.GET.get("q") or "").split())[:100]
    consent = str(request.GET.get("consent") or "")
    consent = consent if consent in ConsentState.values else ""
    offset = _offset(request.GET)
    rows = list(selectors.contact_list(q=q, consent=consent)[offset : offset + CONTACTS_PAGE + 1])
    context = {
        "rows": rows[:CONTACTS_PAGE],
        "more_offset": offset + CONTACTS_PAGE if len(rows) > CONTACTS_PAGE else None,
        "q": q,
        "consent": consent,
        "consent_states": ConsentState.choices,
        "form": form,
    }
    return render(request, "inbox/contacts.html", context, status=status)


def _contact_context(request: HttpRequest, contact: Any, **extra: Any) -> dict[str, Any]:
    return {
        "contact": contact,
        "form": ContactForm(initial={"name": contact.name, "mobile": contact.mobile}),
        "consent_form": ConsentForm(),
        "history": selectors.consent_lines(contact=contact, limit=100),
        "conversations": selectors.contact_conversations(
            contact=contact, membership=_membership(request)
        ),
        "can_delete": _membership(request).role in MANAGER_ROLES,
        **extra,
    }


@tenant_view()
@require_http_methods(["GET", "POST"])
def contact_detail(request: HttpRequest, contact_pk: int) -> HttpResponse:
    contact = selectors.contact_access(contact_pk=contact_pk)
    if request.method != "POST":
        return render(request, "inbox/contact.html", _contact_context(request, contact))
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            contacts.contact_update(
                actor=_membership(request),
                contact=contact,
                name=form.cleaned_data["name"],
                mobile=form.cleaned_data["mobile"],
            )
        except Invalid as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The contact is saved."))
            return redirect(
                "inbox:contact",
                tenant_slug=request.tenant.slug,  # type: ignore[attr-defined]
                contact_pk=contact.pk,
            )
    context = _contact_context(request, contact, form=form)
    return render(request, "inbox/contact.html", context, status=400)


@refusals_return_to("inbox:contact", "contact_pk")
@tenant_view()
@require_POST
def contact_consent(request: HttpRequest, contact_pk: int) -> HttpResponse:
    contact = selectors.contact_access(contact_pk=contact_pk)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        raise Invalid(_("Choose opted in or opted out."), field="state")
    change = contacts.consent_record(
        actor=_membership(request),
        contact=contact,
        state=form.cleaned_data["state"],
        note=form.cleaned_data["note"],
        source=ConsentSource.AGENT,
    )
    messages.success(
        request,
        _("Recorded: %(contact)s %(state)s.")
        % {"contact": contact, "state": str(change.get_state_display()).lower()},
    )
    return redirect(
        "inbox:contact",
        tenant_slug=request.tenant.slug,  # type: ignore[attr-defined]
        contact_pk=contact.pk,
    )


@tenant_view()
@require_POST
def contact_delete(request: HttpRequest, contact_pk: int) -> HttpResponse:
    """Delete the contact with their conversations and messages (owners and admins)."""
    contact = selectors.contact_access(contact_pk=contact_pk)
    name = contact.display_name
    contacts.contact_delete(actor=_membership(request), contact=contact)
    messages.success(
        request, _("The contact %(name)s and their conversations are deleted.") % {"name": name}
    )
    return redirect("inbox:contacts", tenant_slug=request.tenant.slug)  # type: ignore[attr-defined]


# --- Consent keywords ---------------------------------------------------------------------


@tenant_view()
@require_http_methods(["GET", "POST"])
def inbox_settings(request: HttpRequest) -> HttpResponse:
    """The workspace's own consent keywords: every member reads, managers change."""
    row = contacts.inbox_settings()
    membership = _membership(request)
    initial = {
        "opt_in": "\n".join(row.opt_in_keywords or []),
        "opt_out": "\n".join(row.opt_out_keywords or []),
    }
    form = KeywordsForm(initial=initial)
    status = 200
    if request.method == "POST":
        require_manager(
            membership, message=_("Only owners and admins can change the consent keywords.")
        )
        form = KeywordsForm(request.POST)
        if form.is_valid():
            try:
                contacts.inbox_settings_update(
                    actor=membership,
                    opt_in=form.cleaned_data["opt_in"],
                    opt_out=form.cleaned_data["opt_out"],
                )
            except Invalid as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("The consent keywords are saved."))
                return redirect("inbox:settings", tenant_slug=request.tenant.slug)  # type: ignore[attr-defined]
        status = 400
    context = {"form": form, "can_manage": membership.role in MANAGER_ROLES}
    return render(request, "inbox/settings.html", context, status=status)
