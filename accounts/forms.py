from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import API_RESOURCE_GROUPS, ApiScope, Membership, Role


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail address"), widget=forms.EmailInput(attrs={"autofocus": True})
    )

    error_messages = {
        "invalid_login": _(
            "This e-mail address and password do not match an account. "
            "Check both, or reset your password."
        ),
        "inactive": _("This account is inactive."),
    }


class PasswordPairMixin(forms.Form):
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not entirely numeric, not a common password."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ. Type the same one twice."))
        elif p1:
            try:
                password_validation.validate_password(p1)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class SignupForm(PasswordPairMixin):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"))
    tenant_name = forms.CharField(
        label=_("Company or workspace name"),
        max_length=120,
        help_text=_("You can rename it later."),
    )
    field_order = ["full_name", "email", "tenant_name", "password1", "password2"]


class AcceptInvitationForm(PasswordPairMixin):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    field_order = ["full_name", "password1", "password2"]


class InvitationTokenForm(forms.Form):
    """The token of an invitation link: posted by the page's script, or pasted by hand."""

    token = forms.CharField(
        label=_("Invitation link"),
        max_length=500,
        help_text=_("Paste the whole link from your invitation e-mail."),
    )

    def clean_token(self) -> str:
        value: str = self.cleaned_data["token"].strip()
        if "#" in value:  # the link: its token is the fragment
            value = value.rsplit("#", 1)[1]
        elif "/invitations/" in value:  # a link of an e-mail sent before the fragment
            value = value.rstrip("/").rsplit("/", 1)[1]
        value = value.strip()
        if not value:
            raise forms.ValidationError(_("Paste the whole link from your invitation e-mail."))
        return value


class TenantForm(forms.Form):
    name = forms.CharField(label=_("Workspace name"), max_length=120)


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=100)


class TeamMemberForm(forms.Form):
    membership = forms.ModelChoiceField(
        label=_("Member"), queryset=Membership.objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, members: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if members is not None:
            self.fields["membership"].queryset = members  # type: ignore[attr-defined]
        self.fields["membership"].label_from_instance = lambda m: (  # type: ignore[attr-defined]
            f"{m.user.get_full_name()} <{m.user.email}>"
        )


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Your name"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Dates and times on every page are shown in this time zone."),
        choices=lambda: [(z, z) for z in sorted(available_timezones())],
        required=False,
    )


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code your app shows now, or one of your recovery codes."),
    )


class TwoFactorSetupForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your app"),
        max_length=32,
        help_text=_("The 6-digit code the app shows for WABA Portal."),
    )


class ConfirmIdentityForm(forms.Form):
    """The password, or a code from the app (or a recovery code): one of them is needed."""

    password = forms.CharField(
        label=_("Your password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Or a code from your app"),
        required=False,
        max_length=32,
        help_text=_("A recovery code works too, once."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("password") and not data.get("code"):
            raise forms.ValidationError(_("Enter your password or a code from your app."))
        return data


class TwoFactorRequiredForm(forms.Form):
    required = forms.BooleanField(
        label=_("Require two-factor sign-in for every member"), required=False
    )


# How long a new API key works: (days, label); 0 is "never expires".
API_KEY_EXPIRIES = [
    ("0", _("Never")),
    ("7", _("In 7 days")),
    ("30", _("In 30 days")),
    ("90", _("In 90 days")),
    ("365", _("In a year")),
]


class ApiKeyForm(forms.Form):
    """A new API key: its name, a scope per resource group, and how long it works."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Say which program uses it, such as “CRM sync”."),
    )
    expires = forms.ChoiceField(label=_("Expires"), choices=API_KEY_EXPIRIES, initial="0")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("none", _("No access")), *ApiScope.choices]
        for group, label in API_RESOURCE_GROUPS.items():
            self.fields[f"scope_{group}"] = forms.ChoiceField(
                label=label, choices=choices, initial="none", required=False
            )

    def scope_fields(self) -> list[Any]:
        return [self[f"scope_{group}"] for group in API_RESOURCE_GROUPS]

    def scopes(self) -> dict[str, str]:
        return {
            group: self.cleaned_data.get(f"scope_{group}") or "none"
            for group in API_RESOURCE_GROUPS
        }
