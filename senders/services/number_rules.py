"""Which phone numbers can become WhatsApp business numbers, checked before Meta is asked.

Pure rules, no writes (like ``rules``). :func:`number_check` parses what a person typed
for the country they chose, with Google's libphonenumber data (the ``phonenumbers``
package), and answers the number in E.164 with its type, or refuses it with an
:class:`~waba_portal.errors.Invalid` whose message says why and what to use instead:

- accepted: fixed line, mobile, fixed line or mobile (where the plan cannot tell them
  apart), toll-free; VoIP too, with a note that it must receive an SMS or a voice call
  from abroad, since Meta sends the 6-digit code that way;
- refused: short codes, premium rate, shared cost, personal numbers, pagers, universal
  access numbers (UAN), voicemail access numbers, and numbers that are not valid for the
  chosen country (too short, too long, no area code, another country's number).

The list of countries (:func:`region_choices`) is every region libphonenumber knows,
with its calling code and its name in the active language from the Unicode CLDR
(through Babel), so that a German user sees "Deutschland (+49)".
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import phonenumbers
from babel import Locale, UnknownLocaleError
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from phonenumbers import ValidationResult as Length

from waba_portal.errors import Invalid

NUMBER_MAX_LENGTH = 40

# What phonenumbers says a number is, in the words stored on PhoneNumberDetails.
TYPE_NAMES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}
ACCEPTED_TYPES = frozenset(
    {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.VOIP,
    }
)
# Landlines get the code by a voice call; the others can take an SMS.
LANDLINE_TYPES = frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE})


@dataclass(frozen=True)
class CheckedNumber:
    """A number that may be added: what Meta is sent and what the portal keeps."""

    e164: str  # "+4930123456"
    region: str  # "DE"
    country_code: int  # 49: Meta's ``cc``
    national_number: str  # "30123456": Meta's ``phone_number``
    number_type: str  # a value of TYPE_NAMES
    international: str  # "+49 30 123456": how pages show it
    note: str = ""  # said beside an accepted number (VoIP)

    @property
    def is_landline(self) -> bool:
        return self.number_type in ("fixed_line", "toll_free")


def region_name(region: str) -> str:
    """The country's name in the active language ("Deutschland" for DE in German)."""
    return _territories(_babel_language()).get(region, region)


def region_choices() -> list[tuple[str, str]]:
    """Every country libphonenumber knows, as (region, "Name (+code)"), sorted by name in
    the active language."""
    return _region_choices(_babel_language())


def region_is_known(region: str) -> bool:
    return region in phonenumbers.SUPPORTED_REGIONS


def number_check(*, region: str, number: str) -> CheckedNumber:
    """Parse ``number`` as dialled in ``region`` (or with its +code); raise ``Invalid``
    (``field`` "country" or "number") if it cannot be a WhatsApp business number."""
    region = (region or "").strip().upper()
    if not region_is_known(region):
        raise Invalid(
            _("Choose the country of the number from the list."), field="country", code="country"
        )
    text = (number or "").strip()
    if not text:
        raise Invalid(
            _("Enter the phone number, with its area code."), field="number", code="number_missing"
        )
    if len(text) > NUMBER_MAX_LENGTH:
        raise _refused(
            "number_invalid",
            _("This is too long for a phone number: enter only the number, with its area code."),
        )
    country = region_name(region)
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise _refused("number_invalid", _parse_message(exc, country)) from exc
    calling_code = int(parsed.country_code or 0)
    dialled = phonenumbers.region_code_for_country_code(calling_code)
    if calling_code != phonenumbers.country_code_for_region(region) and region_is_known(dialled):
        country = region_name(dialled)  # typed with another country's +code
    if not phonenumbers.is_valid_number(parsed):
        if phonenumbers.is_valid_short_number_for_region(parsed, region):
            raise _refused(
                "number_short_code",
                _(
                    "%(number)s is a short code. WhatsApp needs a full phone number with "
                    "country and area code: use a landline, mobile or toll-free number of "
                    "your business instead."
                )
                % {"number": text},
            )
        raise _refused("number_invalid", _length_message(parsed, country))
    found = phonenumbers.region_code_for_number(parsed)
    if not phonenumbers.is_valid_number_for_region(parsed, region):
        if found and region_is_known(found):
            message = _(
                "This number is from another country (%(other)s) than the one chosen "
                "(%(chosen)s): choose %(other)s, or check the code at the start of the number."
            ) % {"other": region_name(found), "chosen": region_name(region)}
        else:
            message = _(
                "This is an international number with no country of its own: use a "
                "landline, mobile or toll-free number of the country chosen (%(chosen)s)."
            ) % {"chosen": region_name(region)}
        raise _refused("number_other_country", message)
    kind = phonenumbers.number_type(parsed)
    if kind not in ACCEPTED_TYPES:
        raise _refused(f"number_{TYPE_NAMES.get(kind, 'unknown')}", _type_message(kind))
    note = voip_note() if kind == PhoneNumberType.VOIP else ""
    return CheckedNumber(
        e164=phonenumbers.format_number(parsed, PhoneNumberFormat.E164),
        region=region,
        country_code=calling_code,
        national_number=phonenumbers.national_significant_number(parsed),
        number_type=TYPE_NAMES[kind],
        international=phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL),
        note=note,
    )


def voip_note() -> str:
    """What a VoIP number must be able to do; said whenever one is accepted."""
    return _(
        "This is a VoIP (internet telephony) number. It can be added if it receives SMS "
        "or voice calls from abroad: Meta sends the 6-digit code that way. Check with your "
        "provider before you continue."
    )


def international_format(e164: str) -> str:
    """``+4930123456`` as people read it (``+49 30 123456``); unparsable text unchanged."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)


def e164_digits(text: str) -> str:
    """The digits of a number as Meta shows it (``+1 631-555-5555`` → ``16315555555``)."""
    return "".join(ch for ch in text if ch.isdigit())


# --- messages -------------------------------------------------------------------------


def _refused(code: str, message: str) -> Invalid:
    return Invalid(message, field="number", code=code)


def _parse_message(exc: NumberParseException, country: str) -> str:
    if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return _(
            "The code at the start of the number is no country's calling code: write the "
            "number as it is dialled in the country chosen (%(country)s), or start it "
            "with + and a valid country code."
        ) % {"country": country}
    if exc.error_type == NumberParseException.TOO_LONG:
        return _("This is too long for a phone number: enter only the number, with its area code.")
    return _(
        "This is not a phone number: enter the digits of the number with its area code "
        "(spaces, dashes and brackets are fine)."
    )


def _length_message(parsed: phonenumbers.PhoneNumber, country: str) -> str:
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason == Length.IS_POSSIBLE_LOCAL_ONLY:
        return _(
            "The area code is missing: enter the number with its area code, as it is "
            "dialled from elsewhere in its country (%(country)s)."
        ) % {"country": country}
    if reason == Length.TOO_SHORT:
        return _(
            "The number is too short for its country (%(country)s): enter the full "
            "number with its area code."
        ) % {"country": country}
    if reason == Length.TOO_LONG:
        return _(
            "The number is too long for its country (%(country)s): check for an extra "
            "digit, and leave out any extension."
        ) % {"country": country}
    return _(
        "This is not a valid number in its country (%(country)s): check the area code "
        "and the digits, or choose the country the number belongs to."
    ) % {"country": country}


def _type_message(kind: int) -> str:
    instead = _("Use a landline, mobile or toll-free number of your business instead.")
    why = {
        PhoneNumberType.PREMIUM_RATE: _(
            "This is a premium-rate number (callers pay extra). WhatsApp does not accept "
            "premium-rate numbers."
        ),
        PhoneNumberType.SHARED_COST: _(
            "This is a shared-cost number (the caller pays part of the call). WhatsApp "
            "does not accept shared-cost numbers."
        ),
        PhoneNumberType.PERSONAL_NUMBER: _(
            "This is a personal number that forwards calls to another phone. Meta cannot "
            "send the verification code through it; add the landline or mobile it "
            "forwards to, if your business owns it."
        ),
        PhoneNumberType.PAGER: _(
            "This is a pager number: it cannot receive the SMS or voice call with the "
            "verification code."
        ),
        PhoneNumberType.UAN: _(
            "This is a universal access number (one company number routed to several "
            "lines). Meta cannot send the verification code to one phone through it."
        ),
        PhoneNumberType.VOICEMAIL: _(
            "This is a voicemail access number: it cannot receive the SMS or voice call "
            "with the verification code."
        ),
    }.get(kind, _("This number cannot be used with WhatsApp."))
    return f"{why} {instead}"


# --- country names ----------------------------------------------------------------------


def _babel_language() -> str:
    return (get_language() or "en").replace("-", "_")


@functools.lru_cache(maxsize=16)
def _territories(language: str) -> dict[str, str]:
    try:
        locale = Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en")
    return dict(locale.territories)


@functools.lru_cache(maxsize=16)
def _region_choices(language: str) -> list[tuple[str, str]]:
    names = _territories(language)
    rows = [
        (
            region,
            f"{names.get(region, region)} (+{phonenumbers.country_code_for_region(region)})",
            names.get(region, region),
        )
        for region in phonenumbers.SUPPORTED_REGIONS
    ]
    rows.sort(key=lambda row: (_sort_key(row[2]), row[0]))
    return [(region, label) for region, label, _name in rows]


def _sort_key(name: str) -> str:
    """Accents fold to their letter ("Österreich" beside "Oman"), case ignored."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
