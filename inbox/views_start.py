"""Writing to a contact first (``services.conversation_start``): a phone number and the
number to send from, the primary sender chosen unless another is; then the thread,
whose composer offers the approved templates until the customer answers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.permissions import tenant_view
from inbox.services import conversation_start
from inbox.views import _membership
from senders.models import PhoneNumber
from waba_portal.errors import Invalid


def number_label(phone: PhoneNumber) -> str:
    name = phone.verified_name or str(phone)
    label = f"{name} · {phone.display_phone_number}" if phone.display_phone_number else name
    return _("%(number)s (primary sender)") % {"number": label} if phone.is_primary else label


class StartForm(forms.Form):
    to = forms.CharField(
        label=gettext_lazy("The contact's WhatsApp number"),
        max_length=40,
        required=False,
        help_text=gettext_lazy(
            "International format, with + and the country code: +49 151 23456789."
        ),
    )
    channel = forms.ChoiceField(label=gettext_lazy("Send from"), required=False)

    def __init__(self, *args: Any, numbers: list[PhoneNumber], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["channel"]
        field.choices = [(str(n.pk), number_label(n)) for n in numbers]
        primary = next((n for n in numbers if n.is_primary), None)
        if primary is not None and not self.is_bound:
            self.initial["channel"] = str(primary.pk)


@tenant_view()
@require_http_methods(["GET", "POST"])
def conversation_new(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    numbers = conversation_start.sending_numbers(membership)
    form = StartForm(request.POST or None, numbers=numbers)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            row = conversation_start.conversation_start(
                actor=membership,
                to=form.cleaned_data["to"],
                channel_pk=form.cleaned_data["channel"] or None,
            )
        except Invalid as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect(
                "inbox:conversation",
                tenant_slug=request.tenant.slug,  # type: ignore[attr-defined]
                conversation_pk=row.pk,
            )
    if request.method == "POST":
        status = 400
    return render(request, "inbox/start.html", {"form": form, "numbers": numbers}, status=status)
