"""Small pure helpers for the values Meta takes and answers: numbers, flags, base64."""

from __future__ import annotations

import base64
import re
from typing import Any


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def digits(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


def split_e164(phone: str, cc: str | None = None) -> tuple[str, str]:
    """Return (country calling code, national number) for '+15550100001' or ('1','5550100001')."""
    number = digits(phone)
    if cc:
        cc = digits(cc)
        if number.startswith(cc) and len(number) > 10:
            return cc, number[len(cc) :]
        return cc, number
    try:
        import phonenumbers

        parsed = phonenumbers.parse("+" + number)
        return str(parsed.country_code), str(parsed.national_number)
    except Exception:
        return number[:1], number[1:]


def country_of(cc: str, national: str) -> str:
    try:
        import phonenumbers

        region = phonenumbers.region_code_for_number(phonenumbers.parse(f"+{cc}{national}"))
        if not region or region == "ZZ":
            region = phonenumbers.region_code_for_country_code(int(cc))
        if region and region != "ZZ":
            return str(region)
    except Exception:  # noqa: S110 - an unparsable number falls back to US
        pass
    return "US"
