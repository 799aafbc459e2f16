from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from senders.models import SignupEvent


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class SignupResultForm(forms.Form):
    """What the browser hands over after Embedded Signup: the code and the session info."""

    code = forms.CharField(required=False, max_length=2048)
    event = forms.ChoiceField(choices=[(e.value, e.value) for e in SignupEvent])
    waba_id = forms.RegexField(regex=r"^[0-9]{1,32}$", required=False)
    phone_number_id = forms.RegexField(regex=r"^[0-9]{1,32}$", required=False)
    business_id = forms.RegexField(regex=r"^[0-9]{1,32}$", required=False)
    error_message = forms.CharField(required=False, max_length=2000)
    current_step = forms.CharField(required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("event", "").startswith("FINISH") and not data.get("code"):
            raise forms.ValidationError(
                _("Meta did not hand over an authorisation code. Connect again.")
            )
        return data

    @classmethod
    def from_payload(cls, payload: Any) -> SignupResultForm:
        """The form for a JSON body ``{"code": ..., "session": {"event", "data": {...}}}``."""
        body = _as_dict(payload)
        session = _as_dict(body.get("session"))
        data = _as_dict(session.get("data"))
        fields = {k: v for k, v in data.items() if k in cls.base_fields and isinstance(v, str)}
        fields.update(code=body.get("code") or "", event=session.get("event") or "")
        return cls(fields)

    def session(self) -> dict[str, Any]:
        data = self.cleaned_data
        keys = ("waba_id", "phone_number_id", "business_id", "error_message", "current_step")
        return {"event": data["event"], "data": {k: data[k] for k in keys if data.get(k)}}


# --- Channel settings (senders/views/channels.py) ------------------------------------
# The forms only read the page's fields; the rules (required, lengths, ranges, tariffs,
# teams and members of this workspace) are the service's, so pages and API say the same.


class ChannelSettingsForm(forms.Form):
    name = forms.CharField(label=_("Internal channel name"), required=False)
    display_name = forms.CharField(label=_("Display name in channel pickers"), required=False)
    tariff = forms.CharField(label=_("Tariff"), required=False)
    auto_assign = forms.BooleanField(label=_("Assign to the agent who replies"), required=False)
    auto_resolve_new_days = forms.IntegerField(
        label=_("Resolve New conversations after (days)"), required=False
    )
    auto_resolve_pending_days = forms.IntegerField(
        label=_("Resolve Pending conversations after (days)"), required=False
    )
    all_users = forms.BooleanField(label=_("All users"), required=False)
    all_teams = forms.BooleanField(label=_("All teams"), required=False)
    teams = forms.TypedMultipleChoiceField(label=_("Teams with access"), coerce=int, required=False)

    def __init__(self, *args: Any, teams: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["teams"].choices = [(t.pk, t.name) for t in teams]  # type: ignore[attr-defined]


class ChannelMemberForm(forms.Form):
    membership = forms.ModelChoiceField(
        label=_("Member"),
        queryset=Membership.objects.none(),  # the workspace's members, set on each form
        error_messages={"invalid_choice": _("Choose a member of this workspace.")},
    )
    role = forms.CharField(label=_("Role on this channel"), required=False)

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = members  # type: ignore[attr-defined]
        self.fields["membership"].error_messages["required"] = _("Choose a member.")
