from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from waba_portal.events.models import EVENT_TYPES


class SubscriptionForm(forms.Form):
    """A subscription's URL, events, description and switch (the service checks the rest)."""

    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=2000,
        help_text=_("Where we POST each event, such as https://example.com/webhooks/waba."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=list(EVENT_TYPES.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event to receive.")},
    )
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
    enabled = forms.BooleanField(label=_("Send events to this URL"), required=False, initial=True)

    def changes(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name] for name in ("url", "events", "description", "enabled")
        }
