"""Phone numbers of contacts: one form to store (E.164), the forms that mean the same.

WhatsApp names a user by ``wa_id``, the international number without ``+``. A number a
member types may have spaces, dashes, a ``00`` prefix or be national (then the
workspace's region decides). Both are kept as E.164 (``+4915112345678``).

Two countries write one number in two ways, and WhatsApp's ``wa_id`` often uses the
other one: Mexico's mobiles carry a ``1`` after ``+52`` in WhatsApp (``+521…``, the
old mobile prefix) and not in E.164 since 2019; Brazil's mobiles gained a ninth digit
(``+55 11 9…``) that older WhatsApp accounts lack. :func:`equivalents` gives both forms,
so a contact saved either way is found.
"""

from __future__ import annotations

import re

import phonenumbers

_NOT_DIGITS = re.compile(r"\D+")


def digits(value: str | None) -> str:
    return _NOT_DIGITS.sub("", value or "")


def international(value: str | None) -> str:
    """An E.164 number as people write it ("+49 1511 2345678"); anything else as it is."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def from_wa_id(wa_id: str | None) -> str:
    """E.164 for WhatsApp's ``wa_id`` (``"4915112345678"`` → ``"+4915112345678"``)."""
    number = digits(wa_id)
    return f"+{number}" if number else ""


def normalize(value: str | None, *, region: str | None = None) -> str:
    """E.164 for a number as a person writes it, or ``""`` when it cannot be one.

    International forms (``+49 151 …``, ``0049 151 …``) need no region; a national one
    (``0151 …``) is read in ``region`` (ISO 3166, e.g. ``"DE"``).
    """
    raw = (value or "").strip()
    if not raw:
        return ""
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, None if raw.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        # WhatsApp's own forms of Mexican numbers are not "possible" to the library.
        return from_wa_id(raw) if raw.startswith("+") and len(digits(raw)) >= 8 else ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def equivalents(e164: str) -> list[str]:
    """``e164`` and the other way of writing the same number (Mexico, Brazil), if any."""
    if not e164:
        return []
    found = [e164]
    number = digits(e164)
    if number.startswith("521") and len(number) == 13:  # +52 1 XX XXXX XXXX
        found.append("+52" + number[3:])
    elif number.startswith("52") and len(number) == 12:
        found.append("+521" + number[2:])
    elif number.startswith("55") and len(number) == 13 and number[4] == "9":
        found.append("+55" + number[2:4] + number[5:])  # without the ninth digit
    elif number.startswith("55") and len(number) == 12 and number[4] in "6789":
        found.append("+55" + number[2:4] + "9" + number[4:])  # with it
    return found


def search_digits(query: str) -> str:
    """The digits of a search that looks like a phone number (3 or more), else ``""``."""
    stripped = query.strip()
    if not stripped or not re.fullmatch(r"[+\d\s().\-/]+", stripped):
        return ""
    found = digits(stripped)
    return found if len(found) >= 3 else ""
