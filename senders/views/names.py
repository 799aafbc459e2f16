"""A number's display name and its Official Business Account badge (the "Display name" tab).

Thin views: parse → service → render. Each form answers an htmx request with its own
section (the result in place, errors beside their fields); without htmx the page is
sent again after a redirect. Other refusals are answered by
``waba_portal.middleware.ServiceErrorMiddleware`` (a message on this page).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.permissions import tenant_view
from senders import selectors
from senders import troubleshooting as ts
from senders.models import OfficialBusinessStatus, PhoneNumber
from senders.services import display_name_rules, display_names, official_business
from waba_portal.errors import ServiceError
from waba_portal.middleware import refusals_return_to


class DisplayNameForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("New display name"),
        required=False,
        strip=False,
        help_text=gettext_lazy(
            "3 to 75 characters: the business's name as customers know it, as your website "
            "writes it. Meta reviews every new name."
        ),
    )
    confirm_warnings = forms.BooleanField(
        label=gettext_lazy("My brand is written this way: send the name anyway"),
        required=False,
    )


class OfficialBusinessForm(forms.Form):
    business_website_url = forms.CharField(
        label=gettext_lazy("Website of the business"),
        required=False,
        help_text=gettext_lazy("The official website, such as https://www.example.com."),
    )
    primary_country_of_operation = forms.ChoiceField(
        label=gettext_lazy("Main country of operation"), required=False
    )
    primary_language = forms.ChoiceField(label=gettext_lazy("Main language"), required=False)
    supporting_links = forms.CharField(
        label=gettext_lazy("Links that show the business is notable"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "1 to 5 links to articles about the business on well-known news sites, one a "
            "line. Paid or promotional articles and your own pages do not count."
        ),
    )
    parent_business_or_brand = forms.CharField(
        label=gettext_lazy("Parent business or brand (optional)"), required=False
    )
    additional_supporting_information = forms.CharField(
        label=gettext_lazy("Notes for Meta's review (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        empty = [("", _("Choose…"))]
        self.fields["primary_country_of_operation"].choices = (  # type: ignore[attr-defined]
            empty + official_business.country_choices()
        )
        self.fields["primary_language"].choices = (  # type: ignore[attr-defined]
            empty + official_business.language_choices()
        )


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def show_beside_fields(form: forms.Form, exc: ServiceError) -> None:
    """Put a refusal's field errors beside their fields; one without a field is re-raised
    (the middleware answers it)."""
    fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
    if isinstance(fields, dict) and fields:
        for name, errors in fields.items():
            for error in errors:
                form.add_error(name if name in form.fields else None, str(error))
        return
    if exc.field is None:
        raise exc
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _context(
    request: HttpRequest,
    phone: PhoneNumber,
    *,
    name_form: DisplayNameForm | None = None,
    oba_form: OfficialBusinessForm | None = None,
    warnings: list[str] | None = None,
    name_notice: str = "",
    oba_notice: str = "",
) -> dict[str, Any]:
    change = selectors.display_name_change(phone=phone)
    latest = selectors.oba_latest(phone=phone)
    problem = ts.get(ts.DISPLAY_NAME_REJECTED)
    slug = request.tenant.slug  # type: ignore[attr-defined]
    return {
        "phone": phone,
        "change": change,
        "change_reason": display_names.rejection_reason_words(change.reason) if change else "",
        "name_problem": problem,
        "name_problem_url": problem.url(slug),
        "name_form": name_form or DisplayNameForm(),
        "name_warnings": warnings or [],
        "name_notice": name_notice,
        "name_max": display_name_rules.DISPLAY_NAME_MAX_LENGTH,
        "oba": latest,
        "oba_language": official_business.language_name(latest.primary_language)
        if latest and latest.primary_language
        else "",
        "oba_blockers": official_business.oba_blockers(phone=phone),
        "oba_form": oba_form or OfficialBusinessForm(),
        "oba_notice": oba_notice,
        "oba_problem": ts.get(ts.OFFICIAL_BUSINESS_REJECTED),
        "oba_problem_url": ts.get(ts.OFFICIAL_BUSINESS_REJECTED).url(slug),
        "oba_statuses": OfficialBusinessStatus,
        "can_register_again": change is not None and change.state == selectors.NAME_APPROVED,
    }


def _answer(request: HttpRequest, phone: PhoneNumber, section: str, **context: Any) -> HttpResponse:
    """The section for htmx, or the page after a redirect (its notice as a message)."""
    notice = context.get("name_notice") or context.get("oba_notice")
    if _htmx(request):
        template = (
            "senders/_name_section.html" if section == "name" else "senders/_oba_section.html"
        )
        return render(request, template, _context(request, phone, **context))
    if notice:
        messages.success(request, notice)
    return redirect("senders:number_name", tenant_slug=request.tenant.slug, phone_pk=phone.pk)  # type: ignore[attr-defined]


@refusals_return_to("senders:number_name", "phone_pk")
@tenant_view()
def number_name(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """The tab; a POST asks Meta for a new display name."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    if request.method != "POST":
        return render(request, "senders/number_name.html", _context(request, phone))
    form = DisplayNameForm(request.POST)
    form.is_valid()
    warnings: list[str] = []
    try:
        phone = display_names.display_name_request(
            actor=_membership(request),
            phone=phone,
            name=request.POST.get("name", ""),
            confirm_warnings=bool(form.cleaned_data.get("confirm_warnings")),
        )
    except ServiceError as exc:
        show_beside_fields(form, exc)
        if exc.code == "display_name_warnings":
            warnings = list(exc.details.get("warnings") or [])
        context = _context(request, phone, name_form=form, warnings=warnings)
        template = "senders/_name_section.html" if _htmx(request) else "senders/number_name.html"
        return render(request, template, context, status=400)
    notice = _("“%(name)s” was sent to Meta for review. Its decision will show here.") % {
        "name": phone.requested_name
    }
    return _answer(request, phone, "name", name_notice=notice)


@refusals_return_to("senders:number_name", "phone_pk")
@tenant_view()
@require_POST
def number_name_register(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """Register the number again so that its approved new name shows."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    display_names.display_name_register_again(actor=_membership(request), phone=phone)
    notice = _(
        "%(number)s is being registered again. A notification will say when customers see "
        "the new name."
    ) % {"number": phone}
    return _answer(request, phone, "name", name_notice=notice)


@refusals_return_to("senders:number_name", "phone_pk")
@tenant_view()
@require_POST
def number_oba_request(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """Ask Meta for the Official Business Account badge."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    form = OfficialBusinessForm(request.POST)
    data = {
        **{name: request.POST.get(name, "") for name in official_business.FIELDS},
        "supporting_links": request.POST.get("supporting_links", ""),
    }
    try:
        official_business.oba_submit(actor=_membership(request), phone=phone, data=data)
    except ServiceError as exc:
        show_beside_fields(form, exc)
        context = _context(request, phone, oba_form=form)
        template = "senders/_oba_section.html" if _htmx(request) else "senders/number_name.html"
        return render(request, template, context, status=400)
    notice = _(
        "The request was sent to Meta. Meta's decision usually takes a few days; it will "
        "show here and in a notification."
    )
    return _answer(request, phone, "oba", oba_notice=notice)


@refusals_return_to("senders:number_name", "phone_pk")
@tenant_view()
@require_POST
def number_oba_refresh(request: HttpRequest, phone_pk: int) -> HttpResponse:
    """Read the badge's status from Meta now."""
    phone = selectors.phone_access(phone_pk=phone_pk)
    row = official_business.oba_refresh_now(actor=_membership(request), phone=phone)
    phone.refresh_from_db()
    status = official_business.status_label(row.status if row else "")
    notice = _("Meta says: %(status)s.") % {"status": status}
    return _answer(request, phone, "oba", oba_notice=notice)
