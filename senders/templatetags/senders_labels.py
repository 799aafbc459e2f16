"""Words for Meta's status values, so pages do not show raw enums like ``not_verified``.

Labels are looked up when the page renders, so they come in the reader's language.
"""

from __future__ import annotations

from django import template
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from senders import meta_timezones
from senders.models import (
    AccountReviewStatus,
    BusinessVerificationStatus,
    ConnectionStatus,
    HistoryKind,
    MessagingLimit,
    NameStatus,
    OfficialBusinessStatus,
    PhoneNumber,
    PhoneStatus,
    QualityRating,
)

register = template.Library()

# The fields pages show through ``meta_label``. Where two of them share a value
# (PENDING, APPROVED, REJECTED, RESTRICTED) their labels are the same words.
LABELLED: tuple[type[TextChoices], ...] = (
    AccountReviewStatus,
    NameStatus,
    BusinessVerificationStatus,
    PhoneStatus,
)
LABELS: dict[str, str | Promise] = {
    choice.value: choice.label for choices in LABELLED for choice in choices
}


def _table(*choices: type[TextChoices]) -> dict[str, str | Promise]:
    return {c.value: c.label for cs in choices for c in cs}


# Values Meta sends that have no labelled TextChoices: WABA statuses, ban states,
# account events, restriction and violation types.
WORDS: dict[str, str | Promise] = {
    "ACTIVE": _("Active"),
    "DISABLED": _("Disabled by Meta"),
    "BANNED": _("Banned"),
    "DISABLE": _("Disabled by Meta"),
    "SCHEDULE_FOR_DISABLE": _("Scheduled to be disabled"),
    "REINSTATE": _("Reinstated"),
    "PARTNER_ADDED": _("Our app was added"),
    "PARTNER_APP_INSTALLED": _("Our app was added"),
    "PARTNER_APP_UNINSTALLED": _("Our app was removed"),
    "PARTNER_REMOVED": _("Our app was removed"),
    "ACCOUNT_DELETED": _("Account deleted at Meta"),
    "ACCOUNT_OFFBOARDED": _("Account offboarded at Meta"),
    "ACCOUNT_RECONNECTED": _("Account reconnected"),
    "RESTRICTED_ADD_PHONE_NUMBER_ACTION": _("No new phone numbers may be added"),
    "RESTRICTED_BIZ_INITIATED_MESSAGING": _("No business-initiated messages"),
    "RESTRICTED_CUSTOMER_INITIATED_MESSAGING": _("No replies to customers"),
    "lifted": _("Lifted"),
    "UNKNOWN": _("Unknown"),
}

# Which table names the values of each kind of history row.
HISTORY_VALUES: dict[str, dict[str, str | Promise]] = {
    HistoryKind.CONNECTION: {**WORDS, **_table(ConnectionStatus)},
    HistoryKind.STATUS: {**WORDS, **_table(PhoneStatus)},
    HistoryKind.QUALITY: _table(QualityRating),
    HistoryKind.NAME: _table(NameStatus),
    HistoryKind.LIMIT: _table(MessagingLimit),
    HistoryKind.REVIEW: _table(AccountReviewStatus),
    HistoryKind.VERIFICATION: _table(BusinessVerificationStatus),
    HistoryKind.RESTRICTION: WORDS,
    HistoryKind.BAN: WORDS,
    HistoryKind.VIOLATION: WORDS,
    HistoryKind.OFFICIAL: _table(OfficialBusinessStatus),
    # -- numbers: verify, register, PIN, remove (H2)
    HistoryKind.VERIFICATION_CODE: {
        "requested_sms": _("Code sent by SMS"),
        "requested_voice": _("Code sent by voice call"),
        "verified": _("Verified"),
    },
    HistoryKind.REGISTRATION: {
        **_table(ConnectionStatus),
        "registered": _("Registered"),
        "pin_changed": _("Two-step verification PIN changed"),
    },
}


@register.filter
def meta_label(value: str | None) -> str:
    """The words for a Meta status value; unknown values are shown as Meta sent them."""
    if not value:
        return "—"
    return str(LABELS.get(value, value))


def _words(table: dict[str, str | Promise], value: str) -> str:
    for candidate in (value, value.upper(), value.lower()):
        if candidate in table:
            return str(table[candidate])
    if value.isupper() or "_" in value:  # a code we have no words for yet
        return value.replace("_", " ").lower().capitalize()
    return value


@register.filter
def history_value(value: str | None, kind: str) -> str:
    """The words for an old or new value of a history row of ``kind``."""
    if not value:
        return "—"
    table = HISTORY_VALUES.get(kind)
    if table is None:  # e.g. the primary sender: a phone number, shown as it is
        return value
    return ", ".join(_words(table, part.strip()) for part in value.split(","))


@register.filter
def meta_timezone(value: str | None) -> str:
    """Meta's ``timezone_id`` as its IANA name with today's offset ("Europe/Berlin,
    UTC+01:00"); a number outside our table keeps Meta's number."""
    if not value:
        return "—"
    if str(value) == "0":
        return _g("Unknown")
    name = meta_timezones.iana_name(value)
    if name is None:
        return _g("Meta time zone #%(id)s") % {"id": value}
    return f"{name.replace('_', ' ')}, {meta_timezones.utc_offset(name, timezone.now())}"


SOURCES: dict[str, Promise] = {
    "sync": _("from a sync with Meta"),
    "webhook": _("reported by Meta"),
    "user": _("by a member"),
    "onboarding": _("while connecting"),
}


@register.filter
def history_source(value: str | None) -> str:
    """Where a history row came from, in words."""
    return str(SOURCES.get(value or "", value or ""))


@register.filter
def meta_status_note(phone: PhoneNumber) -> str:
    """Meta's status of a number, when it says more than our status badge beside it.

    Our badge already says "Connected" or "Disconnected"; Meta's own word is shown only
    while we are connected and it differs ("Flagged", "Rate limited"), never as a
    contradicting second status.
    """
    if not phone.meta_status or phone.connection_status == ConnectionStatus.DISCONNECTED:
        return ""
    note = meta_label(phone.meta_status)
    if note == str(phone.get_connection_status_display()):
        return ""
    return note


# Embedded Signup's ``current_step`` values: where the signup window was closed.
SIGNUP_STEPS: dict[str, Promise] = {
    "CANCEL": _("The signup window was closed before it was finished."),
    "BUSINESS_ACCOUNT_SELECTION": _("The signup window was closed while choosing the business."),
    "WABA_SELECTION": _("The signup window was closed while choosing the WhatsApp account."),
    "PHONE_NUMBER_SETUP": _("The signup window was closed while adding the phone number."),
    "PHONE_NUMBER_VERIFICATION": _(
        "The signup window was closed while verifying the phone number."
    ),
}


@register.filter
def meta_detail(value: str | None) -> str:
    """Meta's detail of a problem: a known code in our words, anything else as Meta wrote it."""
    if not value:
        return ""
    words = SIGNUP_STEPS.get(value.strip())
    return str(words) if words else value
