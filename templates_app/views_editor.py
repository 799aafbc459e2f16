"""The template editor: a page of its own for a new template and for an edit.

One URL per page; what a POST does is its ``intent``:

- ``preview`` (htmx, as the user types): the WhatsApp bubble with the examples filled in,
  the live problems and warnings, and the example fields again when the body's
  variables changed;
- ``upload`` (htmx): the header sample through Meta's resumable upload, answering its
  handle in the form;
- ``add_button`` / ``remove_button`` (htmx): the buttons re-drawn with one more or less;
- ``submit`` / ``submit_more``: T1's ``lifecycle.template_submit`` (or
  ``template_edit``); every refusal is shown at its field. ``submit_more`` opens the
  editor again for the same name in another language (one submission per language).

Only owners and admins open the editor (agents: 403); another tenant's template is 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.permissions import managers_only
from senders import selectors as sender_selectors
from senders.models import WhatsAppAccount
from templates_app import preview, selectors
from templates_app import validation as v
from templates_app.models import EDITABLE_STATUSES, Submission, Template, TemplateCategory
from templates_app.services import lifecycle
from waba_portal.errors import Invalid
from waba_portal.guards import parse_id
from waba_portal.middleware import refusals_return_to


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _slug(request: HttpRequest) -> str:
    return request.tenant.slug  # type: ignore[attr-defined,no-any-return]


def _wabas() -> list[WhatsAppAccount]:
    return [w for w in sender_selectors.waba_list().order_by("name", "pk") if w.is_connected]


def _waba_of(draft: preview.EditorDraft, wabas: list[WhatsAppAccount]) -> WhatsAppAccount | None:
    pk = parse_id(draft.waba_pk)
    return next((w for w in wabas if w.pk == pk), None)


def _choices() -> dict[str, Any]:
    return {
        "languages": sorted(v.TEMPLATE_LANGUAGES.items(), key=lambda kv: kv[1].lower()),
        "categories": [
            (TemplateCategory.MARKETING, _("Marketing"), _("Offers, news, invitations")),
            (TemplateCategory.UTILITY, _("Utility"), _("Orders, bookings, account updates")),
            (
                TemplateCategory.AUTHENTICATION,
                _("Authentication"),
                _("One-time passwords; Meta writes the text"),
            ),
        ],
        "header_choices": [
            ("", _("None")),
            ("TEXT", _("Text")),
            ("IMAGE", _("Image")),
            ("VIDEO", _("Video")),
            ("GIF", _("GIF")),
            ("DOCUMENT", _("Document")),
            ("LOCATION", _("Location")),
        ],
        "button_kinds": [
            (v.QUICK_REPLY, _("Quick reply")),
            (v.URL, _("Web address")),
            (v.PHONE_NUMBER, _("Call a phone number")),
            (v.COPY_CODE, _("Copy offer code")),
            (v.CATALOG, _("Catalog")),
            (v.MPM, _("Multi-product")),
        ],
        "otp_types": [
            ("COPY_CODE", _("Copy code"), _("The customer copies the code.")),
            ("ONE_TAP", _("One-tap autofill"), _("Your Android app fills in the code.")),
            ("ZERO_TAP", _("Zero-tap"), _("Your Android app receives the code itself.")),
        ],
        "limits": {
            "name": v.NAME_MAX,
            "header": v.HEADER_TEXT_MAX,
            "body": v.BODY_MAX,
            "footer": v.FOOTER_MAX,
            "button": v.BUTTON_TEXT_MAX,
            "buttons": v.BUTTONS_MAX,
            "url": v.URL_MAX,
            "coupon": v.COUPON_CODE_MAX,
        },
    }


def _context(
    request: HttpRequest,
    draft: preview.EditorDraft,
    *,
    template: Template | None,
    wabas: list[WhatsAppAccount],
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    slug = _slug(request)
    if template is None:
        action = reverse("templates_app:create", kwargs={"tenant_slug": slug})
    else:
        action = reverse(
            "templates_app:edit", kwargs={"tenant_slug": slug, "template_pk": template.pk}
        )
    others = []
    waba = _waba_of(draft, wabas) if template is None else template.waba
    if waba is not None and draft.name:
        others = [
            t.language
            for t in selectors.live_templates().filter(waba=waba, name=draft.name)
            if t.language != draft.language or template is None
        ]
    return {
        "draft": draft,
        "template": template,
        "editing": template is not None,
        "action": action,
        "wabas": wabas,
        "waba": waba,
        "errors": errors or {},
        "other_languages": sorted(others),
        "category_locked": template is not None and template.status == "APPROVED",
        **_choices(),
        **preview.preview_context(draft),
    }


def _partial(request: HttpRequest, name: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, f"templates_app/{name}", context)


def _intent(request: HttpRequest) -> str:
    return str(request.POST.get("intent") or "submit")


def _htmx_answer(
    request: HttpRequest,
    draft: preview.EditorDraft,
    *,
    template: Template | None,
    wabas: list[WhatsAppAccount],
) -> HttpResponse | None:
    """The in-place answers (preview, sample, buttons); None for a submission."""
    intent = _intent(request)
    if intent == "preview":
        context = _context(request, draft, template=template, wabas=wabas)
        context["examples_changed"] = (
            request.POST.get("examples_signature", "") != draft.examples_signature()
        )
        return _partial(request, "_editor_preview_answer.html", context)
    if intent == "upload":
        errors: dict[str, list[str]] = {}
        waba = template.waba if template is not None else _waba_of(draft, wabas)
        if waba is None:
            errors["header_sample"] = [_("Choose the WhatsApp Business Account first.")]
        else:
            try:
                sample = preview.sample_upload(
                    actor=_membership(request),
                    waba=waba,
                    header_format=draft.header_format,
                    upload=request.FILES.get("header_sample_file"),
                )
            except Invalid as refused:
                errors["header_sample"] = [refused.message]
            else:
                draft.header_handle, draft.header_sample_name = sample.handle, sample.name
                draft.header_sample_key = sample.key
        context = _context(request, draft, template=template, wabas=wabas, errors=errors)
        return _partial(request, "_editor_sample_answer.html", context)
    if intent in ("add_button", "remove_button"):
        if intent == "add_button" and len(draft.buttons) < preview.MAX_BUTTON_ROWS:
            kind = str(request.POST.get("new_button_kind") or v.QUICK_REPLY).upper()
            if kind not in preview.BUTTON_KINDS:
                kind = v.QUICK_REPLY
            draft.buttons.append(preview.ButtonRow(kind=kind))
        elif intent == "remove_button":
            index = parse_id(str(request.POST.get("button_index") or ""))
            if index is not None and 0 <= index < len(draft.buttons):
                draft.buttons.pop(index)
        context = _context(request, draft, template=template, wabas=wabas)
        return _partial(request, "_editor_buttons_answer.html", context)
    return None


def _refusal_errors(refused: Invalid, draft: preview.EditorDraft) -> dict[str, list[str]]:
    problems = refused.details.get("fields") if isinstance(refused.details, dict) else None
    if not problems:
        problems = {refused.field or "": [refused.message]}
    return preview.field_errors(problems, draft)


@managers_only
def template_create(request: HttpRequest) -> HttpResponse:
    wabas = _wabas()
    if request.method != "POST":
        draft = _initial_draft(request, wabas)
        return render(
            request,
            "templates_app/editor.html",
            _context(request, draft, template=None, wabas=wabas),
        )
    draft = preview.EditorDraft.from_post(request.POST)
    answer = _htmx_answer(request, draft, template=None, wabas=wabas)
    if answer is not None:
        return answer
    waba = _waba_of(draft, wabas)
    errors: dict[str, list[str]]
    if waba is None:
        errors = {"waba": [_("Choose the WhatsApp Business Account the template is for.")]}
        errors.update(preview.field_errors(draft.problems(), draft))
    else:
        try:
            created = lifecycle.template_submit(
                actor=_membership(request),
                waba=waba,
                name=draft.name,
                language=draft.language,
                category=draft.category,
                components=draft.components(),
                parameter_format=draft.parameter_format,
            )
        except Invalid as refused:
            errors = _refusal_errors(refused, draft)
        else:
            messages.success(
                request,
                _("%(name)s (%(language)s) was sent to Meta for review.")
                % {"name": created.name, "language": created.language},
            )
            slug = _slug(request)
            if _intent(request) == "submit_more":
                url = reverse("templates_app:create", kwargs={"tenant_slug": slug})
                return redirect(f"{url}?from={created.pk}")
            return redirect("templates_app:detail", tenant_slug=slug, template_pk=created.pk)
    context = _context(request, draft, template=None, wabas=wabas, errors=errors)
    return render(request, "templates_app/editor.html", context, status=400)


def _initial_draft(request: HttpRequest, wabas: list[WhatsAppAccount]) -> preview.EditorDraft:
    """A new draft; with ``?from=<template>`` the same name and content, for another
    language (the text is the one to translate)."""
    source_pk = parse_id(request.GET.get("from", ""))
    if source_pk is not None:
        source = selectors.live_templates().filter(pk=source_pk).first()
        if source is not None:
            return preview.EditorDraft.from_template(source, copy=True)
    draft = preview.EditorDraft()
    waba_pk = parse_id(request.GET.get("waba", ""))
    chosen = next((w for w in wabas if w.pk == waba_pk), None) or (wabas[0] if wabas else None)
    if chosen is not None:
        draft.waba_pk = str(chosen.pk)
    return draft


@managers_only
@refusals_return_to("templates_app:detail", "template_pk")
def template_edit(request: HttpRequest, template_pk: int) -> HttpResponse:
    template = selectors.template_access(template_pk=template_pk)
    wabas = _wabas()
    if request.method != "POST":
        draft = preview.EditorDraft.from_template(template)
        return render(
            request,
            "templates_app/editor.html",
            {
                **_context(request, draft, template=template, wabas=wabas),
                "edit_blocked": _edit_blocked(template),
            },
        )
    draft = preview.EditorDraft.from_post(request.POST)
    # Meta never changes these of a template: they stay what the template has.
    draft.waba_pk, draft.name, draft.language = (
        str(template.waba_id),
        template.name,
        template.language,
    )
    draft.parameter_format = template.parameter_format
    answer = _htmx_answer(request, draft, template=template, wabas=wabas)
    if answer is not None:
        return answer
    try:
        lifecycle.template_edit(
            actor=_membership(request),
            template=template,
            components=draft.components(),
            category=draft.category,
        )
    except Invalid as refused:
        errors = _refusal_errors(refused, draft)
    else:
        messages.success(
            request,
            _("The change of %(name)s (%(language)s) was sent to Meta for review.")
            % {"name": template.name, "language": template.language},
        )
        return redirect("templates_app:detail", tenant_slug=_slug(request), template_pk=template.pk)
    context = {
        **_context(request, draft, template=template, wabas=wabas, errors=errors),
        "edit_blocked": _edit_blocked(template),
    }
    return render(request, "templates_app/editor.html", context, status=400)


def _edit_blocked(template: Template) -> str:
    """Why Meta will not take an edit of this template now, or ""."""
    if template.is_deleted:
        return _("This template was deleted; create a new one.")
    if template.submission in (Submission.CREATING, Submission.EDITING, Submission.DELETING):
        return _("A change of this template is being sent to Meta; wait for Meta's answer.")
    parts = preview.unsupported_parts(template)
    if parts:
        return _(
            "This template has parts the editor cannot show (%(parts)s); an edit here would "
            "drop them. Edit it in WhatsApp Manager, then sync the templates."
        ) % {"parts": ", ".join(parts)}
    if template.at_meta and template.status not in EDITABLE_STATUSES:
        return _(
            "Meta edits only approved, rejected or paused templates; this one is %(status)s."
        ) % {"status": template.status_label.lower()}
    return ""
