from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

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
