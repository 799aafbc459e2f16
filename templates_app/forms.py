"""The list's filters: which account or number, status, category, language, and a search."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from senders.models import PhoneNumber, WhatsAppAccount
from templates_app import selectors
from templates_app.models import TemplateCategory, TemplateStatus
from templates_app.selectors import TemplateFilters
from templates_app.validation import TEMPLATE_LANGUAGES

SEARCH_MAX = 100


class TemplateFilterForm(forms.Form):
    """Filters of the template list (query string). Every field may be left empty."""

    waba = forms.ChoiceField(label=_("Account"), required=False)
    phone = forms.ChoiceField(label=_("Number"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)
    q = forms.CharField(
        label=_("Search name or text"),
        required=False,
        max_length=SEARCH_MAX,
        strip=True,
        error_messages={
            "max_length": _("Search with at most %(limit_value)d characters."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        any_ = [("", _("All"))]
        self.wabas = {str(w.pk): w for w in WhatsAppAccount.objects.order_by("name", "pk")}
        self.phones = {str(p.pk): p for p in PhoneNumber.objects.select_related("waba")}
        fields: dict[str, Any] = self.fields
        fields["waba"].choices = any_ + [(pk, str(w)) for pk, w in self.wabas.items()]
        fields["phone"].choices = any_ + [(pk, str(p)) for pk, p in self.phones.items()]
        fields["status"].choices = any_ + list(TemplateStatus.choices)
        fields["category"].choices = any_ + list(TemplateCategory.choices)
        fields["language"].choices = any_ + [
            (c, TEMPLATE_LANGUAGES.get(c, c)) for c in selectors.template_languages_in_use()
        ]
        for name, field in fields.items():
            css = "form-select form-select-sm" if name != "q" else "form-control form-control-sm"
            field.widget.attrs["class"] = css
        fields["q"].widget.attrs["type"] = "search"

    def filters(self) -> TemplateFilters:
        """The filters of the fields that are valid (an invalid one is left out, and its
        error shown beside it)."""
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        status, category, language = (data.get(k) or "" for k in ("status", "category", "language"))
        return TemplateFilters(
            waba=self.wabas.get(data.get("waba") or ""),
            phone=self.phones.get(data.get("phone") or ""),
            statuses=(status,) if status else (),
            categories=(category,) if category else (),
            languages=(language,) if language else (),
            search=data.get("q") or "",
        )

    @property
    def is_filtered(self) -> bool:
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in self.fields)
