"""Meta's display-name rules that can be checked before Meta is asked (no writes).

Meta reviews every display name by hand against its guidelines (DESIGN §2, NOTES §2,
Meta's "Display names" page, D26). Some of them a program can check:

- ``display_name_problems`` — what Meta surely refuses: the length (at least 3 and at
  most 75 characters; the API itself takes 2–75), line breaks, a name with no letters,
  a web or e-mail address, an emoji, a Meta product (WhatsApp, Facebook, …), words that
  pretend to a verification (Official, Verified) and a name of generic words only
  ("Customer Service"). A name is refused for these before the request is sent.
- ``display_name_warnings`` — what Meta usually refuses but allows when the business
  brands itself that way (its own name has the same capitals, punctuation or symbols),
  and a name with no visible relation to the business name. Shown beside the form; the
  request still goes.

Meta's guidelines waive the formatting rules when the business already brands itself
so; the business name we know (the account's name) stands in for that branding: what
the business name itself contains is never held against the display name.

Each message says what to change and is translated in the active language.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext as _

DISPLAY_NAME_MIN_LENGTH = 3
DISPLAY_NAME_MAX_LENGTH = 75

# Meta's own products: a display name must not name them (impersonation).
META_PRODUCTS = ("whatsapp", "facebook", "instagram", "messenger", "meta")
# Words that make a name look verified by Meta; the badge says that, not the name.
VERIFICATION_WORDS = frozenset(
    {
        "official",
        "verified",
        "offiziell",
        "offizieller",
        "offizielle",
        "verifiziert",
        "официальный",
        "официальная",
        "официальное",
        "официальные",
        "верифицированный",
        "подтвержденный",
        "подтверждённый",
    }
)
# Generic words (and filler) that alone name no business: "Customer Service", "Shop",
# "Fashion". A name of these words only is refused; one real word among them is enough.
GENERIC_WORDS = frozenset(
    {
        # English
        "a", "an", "the", "and", "of", "for", "by", "at", "in", "on", "our", "my", "your",
        "shop", "shops", "store", "stores", "boutique", "market", "marketplace", "mall",
        "fashion", "clothes", "clothing", "shoes", "juice", "juices", "food", "foods",
        "restaurant", "cafe", "café", "coffee", "bakery", "pizza", "bar", "kitchen",
        "support", "customer", "customers", "service", "services", "care", "help",
        "helpdesk", "desk", "hotline", "sales", "team", "info", "information", "news",
        "business", "company", "companies", "marketing", "delivery", "deliveries", "order",
        "orders", "booking", "bookings", "hotel", "travel", "tours", "bank", "banking",
        "insurance", "pharmacy", "clinic", "doctor", "health", "beauty", "salon", "spa",
        "fitness", "gym", "electronics", "cars", "car", "auto", "rental", "rentals",
        "school", "academy", "education", "events", "event", "tickets", "offers", "deals",
        "notifications", "notification", "alerts", "updates", "contact", "chat", "hello",
        "hi", "welcome", "test", "demo", "account", "channel", "online", "digital", "group",
        "global", "international", "solutions", "agency", "department", "office",
        "centre", "center", "hub", "official", "verified", "whatsapp",
        # German
        "der", "die", "das", "und", "für", "von", "laden", "geschäft", "kundenservice",
        "kundendienst", "kunden", "dienst", "hilfe", "verkauf", "bestellung",
        "bestellungen", "lieferung", "mode", "bäckerei", "apotheke", "praxis", "firma",
        "unternehmen",
        # Russian
        "и", "в", "для", "от", "магазин", "поддержка", "служба", "сервис", "клиентов",
        "клиент", "доставка", "заказ", "заказы", "мода", "одежда", "кафе", "ресторан",
        "аптека", "клиника", "компания", "бизнес", "помощь", "продажи", "новости",
    }
)  # fmt: skip
# Legal forms, ignored when a display name is matched against the business name.
LEGAL_FORMS = frozenset(
    {
        "inc", "ltd", "llc", "llp", "plc", "corp", "corporation", "co", "company", "gmbh",
        "ag", "kg", "ug", "ohg", "gbr", "ev", "sa", "sas", "sarl", "srl", "spa", "bv", "nv",
        "ab", "as", "oy", "pty", "limited", "ооо", "оао", "зао", "пао", "ип",
    }
)  # fmt: skip
# Top-level domains that turn "name.tld" into a web address. A short curated list, so
# that "Co.KG" or "St.Pauli" stay names.
_TLDS = (
    "com|net|org|info|biz|io|co|app|dev|shop|store|online|site|website|xyz|ai|me|tv|"
    "de|ru|uk|us|eu|fr|it|es|nl|in|br|au|ca|ch|at|pl|рф"
)
_URL = re.compile(
    r"([a-z][a-z0-9+.-]*://\S*)|(\bwww\.\S*)|(\S+@\S+\.\w{2,})"
    rf"|(\b[\w-]+(?:\.[\w-]+)*\.(?:{_TLDS})\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+")
# Punctuation a business name rarely has; repeated punctuation ("!!", "..", "--").
_ODD_PUNCTUATION = set("!?*#~^|<>{}[]_=+$;\\")
_REPEATED_PUNCTUATION = re.compile(r"([^\w\s])\1")
_TRADEMARKS = set("™®©℠")
_PROMOTIONAL_WORDS = frozenset(
    {
        "sale", "discount", "discounts", "promo", "free", "cheap", "cheapest", "best",
        "rabatt", "angebot", "angebote", "gratis", "скидка", "скидки", "акция", "бесплатно",
    }
)  # fmt: skip


def display_name_problems(name: str, *, business_name: str) -> list[str]:
    """What Meta would surely refuse in ``name``, each saying what to change (empty: none).

    ``business_name`` is the business the number belongs to (the account's name); what
    it contains itself (a domain such as "Booking.com", a word such as "Meta") is its
    branding and not held against the name.
    """
    text = name.strip()
    if not text:
        return [_("Enter a display name: the name of your business as customers know it.")]
    problems: list[str] = []
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text):
        problems.append(_("Remove the line breaks and tabs: a display name is one line."))
    length = len(text)
    if length < DISPLAY_NAME_MIN_LENGTH:
        problems.append(
            _(
                "Use at least %(min)d characters: Meta refuses shorter display names. "
                "Write your business name in full."
            )
            % {"min": DISPLAY_NAME_MIN_LENGTH}
        )
    elif length > DISPLAY_NAME_MAX_LENGTH:
        problems.append(
            _(
                "Shorten the display name to at most %(max)d characters (it has "
                "%(length)d): keep the business name, drop slogans and descriptions."
            )
            % {"max": DISPLAY_NAME_MAX_LENGTH, "length": length}
        )
    if not any(ch.isalpha() for ch in text):
        problems.append(_("Use letters: a display name of digits or signs only names no business."))
    business = business_name.strip()
    address = _web_address(text, business)
    if address:
        problems.append(
            _(
                "Remove the web or e-mail address “%(address)s”: Meta refuses display "
                "names that look like a link. Put your website on the business profile "
                "instead."
            )
            % {"address": address}
        )
    if _emoji(text) and not _emoji(business):
        problems.append(_("Remove the emoji: Meta refuses display names with emoji or pictures."))
    products = [w for w in _meta_products(text) if w not in _meta_products(business)]
    if products:
        problems.append(
            _(
                "Remove “%(word)s”: a display name must not name Meta or its products "
                "(WhatsApp, Facebook, Instagram, Messenger)."
            )
            % {"word": _original_word(text, products[0])}
        )
    business_words = set(_words(business))
    claims = [w for w in _words(text) if w in VERIFICATION_WORDS and w not in business_words]
    if claims:
        problems.append(
            _(
                "Remove “%(word)s”: a display name must not claim to be official or "
                "verified. Meta shows a badge beside the names of Official Business Accounts."
            )
            % {"word": _original_word(text, claims[0])}
        )
    words = _words(text)
    if words and all(_generic(w) for w in words) and not _same_words(words, business_words):
        problems.append(
            _(
                "Add your business or brand name: “%(name)s” is made of generic words "
                "only, and Meta refuses names that could be any business (for example, "
                "“%(example)s”)."
            )
            % {"name": text, "example": f"{_brand(business) or 'Fresh Produce'} {text}"}
        )
    return problems


def display_name_warnings(name: str, *, business_name: str) -> list[str]:
    """What Meta usually refuses unless the business brands itself so, and a name with
    no visible relation to ``business_name``. The request may still be sent."""
    text = name.strip()
    if not text:
        return []
    business = business_name.strip()
    warnings: list[str] = []
    letters = [ch for ch in text if ch.isalpha()]
    shouting = [
        w
        for w in _WORD.findall(text)
        if len(w) >= 4 and w.isupper() and w not in _WORD.findall(business)
    ]
    if shouting:
        warnings.append(
            _(
                "Write “%(word)s” in normal capitals (%(suggestion)s): Meta refuses names "
                "in capitals unless your brand is written that way."
            )
            % {"word": shouting[0], "suggestion": shouting[0].capitalize()}
        )
    elif letters and all(ch.islower() for ch in letters) and any(ch.isupper() for ch in business):
        warnings.append(
            _(
                "Capitalise the name as your business does (for example, “%(suggestion)s”): "
                "Meta expects grammatically correct capitals."
            )
            % {"suggestion": business or text.title()}
        )
    repeated = {
        m.group(0) for m in _REPEATED_PUNCTUATION.finditer(text) if m.group(0) not in business
    }
    single = {
        ch
        for ch in text
        if ch in _ODD_PUNCTUATION and ch not in business and not any(ch in r for r in repeated)
    }
    odd = sorted(single | repeated)
    if odd:
        warnings.append(
            _(
                "Remove the extra punctuation (%(signs)s): Meta refuses names with "
                "punctuation your brand does not use."
            )
            % {"signs": " ".join(odd)}
        )
    trademarks = sorted({ch for ch in text if ch in _TRADEMARKS and ch not in business})
    if trademarks:
        warnings.append(
            _("Remove the symbols %(signs)s: Meta refuses trademark signs in display names.")
            % {"signs": " ".join(trademarks)}
        )
    if "  " in text:
        warnings.append(_("Use single spaces between words, as your brand is written elsewhere."))
    business_words = set(_words(business))
    promotional = [w for w in _words(text) if w in _PROMOTIONAL_WORDS and w not in business_words]
    if promotional or ("%" in text and "%" not in business):
        warnings.append(
            _(
                "Remove offers and advertising (“%(word)s”): a display name is the name "
                "of the business only."
            )
            % {"word": _original_word(text, promotional[0]) if promotional else "%"}
        )
    if (
        business
        and not all(_generic(w) for w in _words(text))
        and not display_name_relates(text, business_name=business)
    ):
        warnings.append(
            _(
                "The name has no word in common with your business name “%(business)s”. "
                "Meta approves it only if your website shows the relation; if it is a "
                "product or brand of yours, consider “%(name)s by %(brand)s”."
            )
            % {"business": business, "name": text, "brand": _brand(business) or business}
        )
    return warnings


def display_name_relates(name: str, *, business_name: str) -> bool:
    """Whether ``name`` visibly relates to ``business_name``: a distinctive word in
    common, the business name's initials ("FP Juices" for "Fresh Produce"), or the
    business name written without its spaces ("FreshProduce")."""
    business = business_name.strip()
    if not business:
        return True
    own = [w for w in _words(business) if w not in LEGAL_FORMS]
    if not own:
        return True
    words = _words(name)
    distinctive = {w for w in own if not _generic(w)} or set(own)
    if distinctive & set(words):
        return True
    initials = "".join(w[0] for w in own)
    if len(initials) >= 2 and initials in words:
        return True
    squashed_name = "".join(words)
    squashed_business = "".join(own)
    return len(squashed_business) >= 3 and squashed_business in squashed_name


# --- helpers ----------------------------------------------------------------------


def _brand(business: str) -> str:
    """The business name without its legal form ("Fresh Produce" of "Fresh Produce Ltd")."""
    kept = [w for w in business.split() if _fold(w).strip(".,") not in LEGAL_FORMS]
    return " ".join(kept).strip(" ,")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(_fold(text)) if w]


def _generic(word: str) -> bool:
    return word in GENERIC_WORDS or word.isdigit()


def _same_words(words: list[str], business_words: set[str]) -> bool:
    """The business itself is called by generic words ("The Coffee Shop"): its own
    name is no generic name for it."""
    return bool(business_words) and set(words) <= business_words


def _web_address(text: str, business: str) -> str:
    for match in _URL.finditer(text):
        found = match.group(0)
        if _fold(found) not in _fold(business):
            return found
    return ""


def _emoji(text: str) -> bool:
    for ch in text:
        code = ord(ch)
        if (
            0x1F000 <= code <= 0x1FAFF
            or 0x2600 <= code <= 0x27BF
            or 0x2B00 <= code <= 0x2BFF
            or code in (0xFE0F, 0x200D, 0x20E3)
        ):
            return True
    return False


def _meta_products(text: str) -> list[str]:
    words = _words(text)
    squashed = "".join(words)
    found = []
    for product in META_PRODUCTS:
        if product == "meta":
            if product in words:
                found.append(product)
        elif product in squashed:
            found.append(product)
    return found


def _original_word(text: str, folded: str) -> str:
    """The word as the user wrote it, for a message; the folded form when not found."""
    for word in _WORD.findall(text):
        if _fold(word) == folded or folded in _fold(word):
            return word
    return folded
