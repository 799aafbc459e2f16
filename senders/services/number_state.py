"""Where a number stands on its way to sending: pure reads, no writes, no queries.

Its verification (a code by SMS or voice call, wrong codes counted and locked out), its
registration on the Cloud API, and the words for "try again at". Used by the services
of :mod:`senders.services.registration` and by the selectors of the number's page.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from senders.models import (
    NumberVerification,
    PhoneNumber,
    PhoneNumberDetails,
    PhoneStatus,
    PlatformType,
    VerificationMethod,
)

CODE_DIGITS = 6
CODE_VALID_FOR = timedelta(minutes=10)
FAILURES_BEFORE_LOCK = 3
FIRST_LOCK = timedelta(hours=4)
NEXT_LOCK = timedelta(days=1)
VERIFIED = "VERIFIED"

# The languages Meta can send the code in (its ``language``, ``xx_YY``), with our words.
CODE_LANGUAGES: tuple[tuple[str, Promise], ...] = (
    ("en_US", _l("English (US)")),
    ("en_GB", _l("English (UK)")),
    ("de_DE", _l("German")),
    ("ru_RU", _l("Russian")),
    ("es_ES", _l("Spanish")),
    ("fr_FR", _l("French")),
    ("it_IT", _l("Italian")),
    ("pt_BR", _l("Portuguese (Brazil)")),
    ("nl_NL", _l("Dutch")),
    ("pl_PL", _l("Polish")),
    ("tr_TR", _l("Turkish")),
    ("uk_UA", _l("Ukrainian")),
    ("id_ID", _l("Indonesian")),
    ("hi_IN", _l("Hindi")),
)
CODE_LANGUAGE_CODES = frozenset(code for code, _label in CODE_LANGUAGES)
# The code language offered first, by the portal's language.
DEFAULT_CODE_LANGUAGE = {"de": "de_DE", "ru": "ru_RU", "en": "en_US"}

# phonenumbers' types (``PhoneNumberDetails.number_type``) that take calls, not SMS.
VOICE_NUMBER_TYPES = frozenset({"fixed_line", "toll_free", "uan", "voicemail"})


def is_registered(phone: PhoneNumber) -> bool:
    """Whether the number is on the Cloud API (Meta says it is connected or hosted there)."""
    return phone.meta_status == PhoneStatus.CONNECTED or (
        phone.platform_type == PlatformType.CLOUD_API
        and phone.meta_status not in ("", PhoneStatus.PENDING, PhoneStatus.DISCONNECTED)
    )


def is_verified(phone: PhoneNumber) -> bool:
    """Whether Meta has the number's ownership verified (a registered number is)."""
    return phone.code_verification_status.upper() == VERIFIED or is_registered(phone)


def is_removed(details: PhoneNumberDetails | None) -> bool:
    return details is not None and details.removed_at is not None


def suggested_method(details: PhoneNumberDetails | None) -> str:
    """SMS for mobiles (and numbers of unknown type), a voice call for landlines."""
    if details is not None and details.number_type in VOICE_NUMBER_TYPES:
        return str(VerificationMethod.VOICE)
    return str(VerificationMethod.SMS)


def default_code_language(ui_language: str) -> str:
    return DEFAULT_CODE_LANGUAGE.get((ui_language or "en")[:2], "en_US")


def locked_until(
    verification: NumberVerification | None, *, now: datetime | None = None
) -> datetime | None:
    """When the number's lockout ends, if it is locked now."""
    now = now or timezone.now()
    if verification and verification.locked_until and verification.locked_until > now:
        return verification.locked_until
    return None


def attempts_left(verification: NumberVerification | None) -> int | None:
    """Wrong codes left before the next lockout; None once a lockout happened (the next
    wrong code locks the number at once)."""
    if verification is None:
        return FAILURES_BEFORE_LOCK
    if verification.lockouts:
        return None
    return max(FAILURES_BEFORE_LOCK - verification.failed_attempts, 0)


def code_valid(verification: NumberVerification | None, *, now: datetime | None = None) -> bool:
    """Whether a code was sent and can still be entered (10 minutes, not used)."""
    now = now or timezone.now()
    return bool(
        verification
        and verification.code_expires_at
        and verification.code_expires_at > now
        and not verification.verified_at
    )


def pin_known(phone: PhoneNumber, details: PhoneNumberDetails | None) -> bool:
    """Whether we hold the PIN Meta has for this number."""
    return bool(phone.pin) and (
        (details is not None and details.pin_set_at is not None) or phone.registered_at is not None
    )


def try_again_words(until: datetime) -> str:
    """ "14:05" today, else the date and the time, in the reader's time zone."""
    local, today = timezone.localtime(until), timezone.localtime(timezone.now()).date()
    clock = formats.time_format(local, "H:i")
    if local.date() == today:
        return clock
    return f"{formats.date_format(local, 'DATE_FORMAT')}, {clock}"


def locked_message(until: datetime) -> str:
    return _("Too many wrong codes: try again at %(when)s.") % {"when": try_again_words(until)}
