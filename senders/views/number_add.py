"""Adding a phone number to a connected account: the form, and Embedded Signup for it.

``number_add`` shows the form beside the prerequisites and, on a valid submission,
lands on the new number's page; every refusal is shown on the form (each field's
problems beside it, a troubleshooting entry above it). ``number_add_signup`` takes the
result of Meta's signup window opened from that page, for this account only.
"""

from __future__ import annotations

import json
from typing import Any

import phonenumbers
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.permissions import managers_only, require_manager, tenant_view
from senders import selectors
from senders import troubleshooting as ts
from senders.forms import SignupResultForm
from senders.models import WhatsAppAccount
from senders.services import number_add as number_add_services
from senders.services import number_rules
from senders.services import onboarding as onboarding_services
from senders.services.display_name_rules import display_name_warnings
from senders.views.accounts import _embedded_signup_csp, _signup_config
from waba_portal.errors import ServiceError, error_body
from waba_portal.middleware import refusals_return_to
from waba_portal.security_headers import csp_update_for_request


class TelInput(forms.TextInput):
    input_type = "tel"


def _country_choices() -> list[tuple[str, str]]:
    return [("", _("Choose the country")), *number_rules.region_choices()]


class NumberAddForm(forms.Form):
    """What a person types; the rules are the service's (the API applies the same)."""

    country = forms.ChoiceField(
        label=gettext_lazy("Country"),
        choices=_country_choices,
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Choose the country from the list.")},
    )
    number = forms.CharField(
        label=gettext_lazy("Phone number"),
        required=False,
        max_length=number_rules.NUMBER_MAX_LENGTH,
        widget=TelInput(attrs={"autocomplete": "tel"}),
    )
    display_name = forms.CharField(
        label=gettext_lazy("Display name"),
        required=False,
        max_length=200,
        help_text=gettext_lazy(
            "The name customers see on WhatsApp: your business or brand as it is known, "
            "3 to 75 characters. Meta reviews it."
        ),
    )

    def __init__(self, *args: Any, example: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        help_text = _(
            "With its area code, as it is dialled in the country, or in international "
            "format starting with +."
        )
        if example:
            help_text += " " + _("For example: %(example)s") % {"example": example}
        self.fields["number"].help_text = help_text


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _example(region: str) -> str:
    """A mobile number of the country, as it is dialled there (for the help text)."""
    if not number_rules.region_is_known(region):
        return ""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return ""
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def _show_refusal(form: NumberAddForm, exc: ServiceError) -> None:
    """Each field's problems beside it; the rest above the form."""
    fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
    if isinstance(fields, dict) and fields:
        for name, problems in fields.items():
            for problem in problems:
                form.add_error(name if name in form.fields else None, str(problem))
    else:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@managers_only
@refusals_return_to("senders:waba_detail", "waba_pk")
@csp_update_for_request(_embedded_signup_csp)
def number_add(request: HttpRequest, waba_pk: int) -> HttpResponse:
    waba = selectors.waba_access(waba_pk=waba_pk)
    slug = request.tenant.slug  # type: ignore[attr-defined]
    region = request.POST.get("country", "") if request.method == "POST" else waba.country
    form = NumberAddForm(
        request.POST if request.method == "POST" else None,
        initial={"country": waba.country if number_rules.region_is_known(waba.country) else ""},
        example=_example(region),
    )
    problem_key = ""
    if form.is_bound and form.is_valid():
        try:
            phone = number_add_services.number_add(
                actor=_membership(request), waba=waba, **form.cleaned_data
            )
        except ServiceError as exc:
            _show_refusal(form, exc)
            problem_key = getattr(exc, "problem", "")
        else:
            return _added(request, phone_pk=phone.pk, waba=waba, form=form)
    return render(
        request,
        "senders/number_add.html",
        {
            "waba": waba,
            "form": form,
            "connected": waba.is_connected,
            "problem": ts.get(problem_key) if problem_key else None,
            "problem_url": ts.get(problem_key).url(slug) if problem_key else "",
            "cap": number_add_services.number_cap(waba=waba),
            "in_use": number_add_services.numbers_in_use(waba=waba),
            "cap_reported": bool(waba.max_phone_numbers),
            "signup_config": _number_signup_config(request, waba),
        },
    )


def _added(
    request: HttpRequest, *, phone_pk: int, waba: WhatsAppAccount, form: NumberAddForm
) -> HttpResponse:
    phone = selectors.phone_access(phone_pk=phone_pk)
    messages.success(
        request,
        _(
            "%(number)s was added. Next, verify it with the 6-digit code Meta sends, then "
            "register it."
        )
        % {"number": phone},
    )
    details = phone.details.first()
    if details is not None and details.number_type == "voip":
        messages.info(request, number_rules.voip_note())
    name = form.cleaned_data["display_name"]
    for warning in display_name_warnings(name, business_name=waba.name):
        messages.warning(request, warning)
    slug = request.tenant.slug  # type: ignore[attr-defined]
    return redirect("senders:number_detail", tenant_slug=slug, phone_pk=phone.pk)


def _number_signup_config(request: HttpRequest, waba: WhatsAppAccount) -> dict[str, Any]:
    config = _signup_config(request)
    config["connectUrl"] = reverse(
        "senders:number_add_signup",
        kwargs={"tenant_slug": request.tenant.slug, "waba_pk": waba.pk},  # type: ignore[attr-defined]
    )
    return config


@tenant_view()
@require_POST
def number_add_signup(request: HttpRequest, waba_pk: int) -> HttpResponse:
    """Meta's signup window, opened from the add page, posts its result here (JSON)."""
    # Checked before the body is read, so an agent gets 403 whatever it posts.
    require_manager(
        _membership(request), message=_("Only owners and admins can add phone numbers.")
    )
    waba = selectors.waba_access(waba_pk=waba_pk)
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, RawPostDataException):
        return _json_error(400, "malformed_json", _("The request body is not JSON."))
    if not isinstance(payload, dict):
        return _json_error(400, "malformed_json", _("The request body is not a JSON object."))
    form = SignupResultForm.from_payload(payload)
    if not form.is_valid():
        first = (form.non_field_errors() or [_("The signup result is incomplete; try again.")])[0]
        return _json_error(400, "invalid", str(first), details=form.errors.get_json_data())
    onboarding = onboarding_services.onboarding_start(
        actor=_membership(request),
        code=form.cleaned_data["code"],
        session=form.session(),
        target=waba,
    )
    url = reverse(
        "senders:onboarding",
        kwargs={"tenant_slug": request.tenant.slug, "onboarding_pk": onboarding.pk},  # type: ignore[attr-defined]
    )
    return JsonResponse(
        {"onboarding": onboarding.pk, "status": onboarding.status, "url": url}, status=201
    )


def _json_error(status: int, code: str, message: str, details: Any = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)
