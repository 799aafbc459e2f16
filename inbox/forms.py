"""Forms of the inbox's pages: their shape only; the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from inbox.consent import KEYWORD_MAX_LENGTH
from inbox.models import ConsentState
from inbox.services.contacts import CONSENT_NOTE_MAX_LENGTH, NAME_MAX_LENGTH
from inbox.services.conversations import NOTE_MAX_LENGTH, TAG_MAX_LENGTH


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only your team sees notes; they are never sent to the contact."),
    )


class TagForm(forms.Form):
    tag = forms.CharField(label=_("New tag"), max_length=TAG_MAX_LENGTH, required=False)


class ContactForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX_LENGTH,
        required=False,
        help_text=_("What your team calls the contact; empty shows their WhatsApp name."),
    )
    mobile = forms.CharField(
        label=_("Other number"),
        max_length=40,
        required=False,
        help_text=_("Messages from this number go to this contact too (international format)."),
    )


class ContactCreateForm(ContactForm):
    phone = forms.CharField(
        label=_("WhatsApp number"),
        max_length=40,
        required=False,
        help_text=_("International format, with + and the country code: +49 151 23456789."),
    )
    field_order = ["phone", "name", "mobile"]


class ConsentForm(forms.Form):
    state = forms.ChoiceField(
        label=_("Consent"),
        choices=[
            (ConsentState.OPTED_IN.value, ConsentState.OPTED_IN.label),
            (ConsentState.OPTED_OUT.value, ConsentState.OPTED_OUT.label),
        ],
        required=False,
    )
    note = forms.CharField(
        label=_("How they said so"),
        max_length=CONSENT_NOTE_MAX_LENGTH,
        required=False,
        help_text=_("For example: on the phone on 3 May, or on the order form."),
    )


class KeywordsForm(forms.Form):
    opt_in = forms.CharField(
        label=_("More opt-in keywords"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line or comma-separated, e.g. JA, ДА (YES, START, SUBSCRIBE always count)."
        ),
    )
    opt_out = forms.CharField(
        label=_("More opt-out keywords"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line or comma-separated, e.g. ABMELDEN, СТОП (STOP, UNSUBSCRIBE always count)."
        ),
    )

    max_keyword = KEYWORD_MAX_LENGTH
