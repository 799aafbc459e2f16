"""The reply composer: a text or a file inside the 24-hour window, an approved template
any time.

Thin views over ``services.outbound``: the reply is stored (queued) and sent in the
background; the answer is the thread again (htmx) or a redirect back, where the new
message shows with its tick, which the thread's poll then moves on. The template form's
preview (``template_preview``) renders the chosen template with the values typed so far.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import tenant_view
from inbox import selectors
from inbox.models import Conversation, Message
from inbox.services import outbound, outbound_media
from inbox.views import _access, _htmx, _membership, _side_context, _thread_context
from templates_app import sending
from templates_app.models import Template
from waba_portal.errors import Invalid
from waba_portal.guards import parse_id
from waba_portal.middleware import refusals_return_to

VALUE_PREFIX = "v:"  # a template value's form field: "v:body.1", "v:header", ...


def _answer(request: HttpRequest, row: Conversation, *, done: str = "", error: str = "") -> Any:
    """The side panel and the thread (htmx; the composer says what to fix), else back."""
    if not _htmx(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        slug = request.tenant.slug  # type: ignore[attr-defined]
        return redirect(
            reverse("inbox:conversation", kwargs={"tenant_slug": slug, "conversation_pk": row.pk})
        )
    row = _access(request, row.pk)
    context = _side_context(request, row, done=done)
    context.update(_thread_context(request, row))
    context.update({"oob": True, "composer_error": error})
    return render(request, "inbox/_side_answer.html", context, status=400 if error else 200)


def _values(request: HttpRequest) -> dict[str, str]:
    return {
        key[len(VALUE_PREFIX) :]: str(value)
        for key, value in request.POST.items()
        if key.startswith(VALUE_PREFIX) and str(value).strip()
    }


def _quoted(request: HttpRequest, row: Conversation) -> Message | None:
    """The message of the thread the reply quotes (``reply_to``), if one is chosen."""
    raw = request.POST.get("reply_to")
    if not raw:
        return None
    return outbound.reply_to_find(conversation=row, message_pk=parse_id(raw) or 0)


def _template(request: HttpRequest, row: Conversation, raw: Any) -> Template | None:
    pk = parse_id(raw)
    if pk is None:
        return None
    return sending.usable_templates(row.channel).filter(pk=pk).first()


@refusals_return_to("inbox:conversation", "conversation_pk")
@tenant_view()
@require_POST
def reply(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    """A text reply (inside the window), optionally to one message of the thread."""
    row = _access(request, conversation_pk)
    quoted = _quoted(request, row)
    try:
        outbound.reply_text(
            actor=_membership(request),
            conversation=row,
            text=str(request.POST.get("text") or ""),
            reply_to=quoted,
        )
    except Invalid as exc:
        return _answer(request, row, error=exc.message)
    return _answer(request, row, done=_("The reply is on its way."))


@refusals_return_to("inbox:conversation", "conversation_pk")
@tenant_view()
@require_POST
def media_send(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    """A file (image, video, audio, document) with its caption, inside the window."""
    row = _access(request, conversation_pk)
    quoted = _quoted(request, row)
    try:
        outbound_media.reply_media(
            actor=_membership(request),
            conversation=row,
            upload=request.FILES.get("file"),
            caption=str(request.POST.get("caption") or ""),
            reply_to=quoted,
        )
    except Invalid as exc:
        return _answer(request, row, error=exc.message)
    return _answer(request, row, done=_("The file is on its way."))


@refusals_return_to("inbox:conversation", "conversation_pk")
@tenant_view()
@require_POST
def template_send(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    """An approved template with its values (the only message outside the window)."""
    row = _access(request, conversation_pk)
    template = _template(request, row, request.POST.get("template"))
    if template is None:
        message = _("Choose an approved template of this number's WhatsApp account.")
        return _answer(request, row, error=message)
    header_file = request.FILES.get("header_file")
    try:
        if header_file is not None:  # the header's image, video or document, sent with it
            outbound_media.reply_template_media(
                actor=_membership(request),
                conversation=row,
                template=template,
                parameters={k: v for k, v in _values(request).items() if k != "header"},
                header_upload=header_file,
            )
        else:
            outbound.reply_template(
                actor=_membership(request),
                conversation=row,
                template=template,
                parameters=_values(request),
            )
    except Invalid as exc:
        details = exc.details.get("fields") if isinstance(exc.details, dict) else None
        words = exc.message
        if isinstance(details, dict) and details:
            words = " ".join(str(v) for v in details.values())
        return _answer(request, row, error=words)
    return _answer(request, row, done=_("The template is on its way."))


@tenant_view()
@require_GET
def template_preview(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    """The chosen template's values to fill in, and the message as the customer reads it."""
    row = selectors.conversation_access(
        membership=_membership(request), conversation_pk=conversation_pk
    )
    template = _template(request, row, request.GET.get("template"))
    values = {
        key[len(VALUE_PREFIX) :]: str(value)
        for key, value in request.GET.items()
        if key.startswith(VALUE_PREFIX)
    }
    context: dict[str, Any] = {"conversation": row, "template": template}
    if template is not None:
        context["slots"] = [
            {"slot": s, "field": f"{VALUE_PREFIX}{s.key}", "value": values.get(s.key, "")}
            for s in sending.template_slots(template)
        ]
        context["rendered"] = sending.template_render(template, values)
        # A media header can also be a file sent with the template (``outbound_media``).
        context["header_file_kind"] = next(
            (s.kind for s in sending.template_slots(template) if s.key == "header"), ""
        )
        context["header_file_kinds"] = ("image", "video", "document")
    return render(request, "inbox/_composer_template.html", context)
