"""What Meta would refuse in a message template, found before Meta sees it.

:func:`template_problems` checks a template as Meta's API takes it (``name``,
``language``, ``category``, ``parameter_format`` and the ``components`` list of Meta's
JSON) and answers ``{field path: [messages]}``; an empty dict means Meta has no reason
we can check to refuse it. The create and edit services, the editor and the API all
call it, so each rule is written once. :func:`template_warnings` answers what Meta
accepts but may act on (a Marketing-looking text submitted as Utility is
recategorised), which is not a refusal.

Field paths name the place to fix, in the editor and in API error details:
``name``, ``language``, ``category``, ``parameter_format``, ``components``,
``components.header.format|text|example``, ``components.body.text|example|
add_security_recommendation``, ``components.footer.text|code_expiration_minutes``,
``components.buttons`` and ``components.buttons.<i>.<key>`` (``i`` counts from 0, as in
the JSON; the messages count buttons from 1, as people do).

Sources (../shared/meta/NOTES.md §3): Meta's limits (name ≤ 512, header text ≤ 60 with
one variable, body ≤ 1,024, footer ≤ 60, ≤ 10 buttons of which ≤ 2 URL, ≤ 1 phone, ≤ 1
copy code, quick replies grouped), subcode 2388299 (a variable at the start or end of
the body), the 30-day reuse rule, and the words-to-variables ratio behind Meta's "too
many variable parameters relative to the message length" (at least 2 words per
variable, plus one).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import phonenumbers
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from templates_app import selectors

if TYPE_CHECKING:
    from senders.models import WhatsAppAccount

# --- Meta's values and limits -----------------------------------------------------------

MARKETING, UTILITY, AUTHENTICATION = "MARKETING", "UTILITY", "AUTHENTICATION"
CATEGORIES = (MARKETING, UTILITY, AUTHENTICATION)
POSITIONAL, NAMED = "POSITIONAL", "NAMED"
PARAMETER_FORMATS = (POSITIONAL, NAMED)

HEADER, BODY, FOOTER, BUTTONS = "HEADER", "BODY", "FOOTER", "BUTTONS"
UNSUPPORTED_COMPONENTS = ("CAROUSEL", "LIMITED_TIME_OFFER")
MEDIA_FORMATS = ("IMAGE", "VIDEO", "GIF", "DOCUMENT")
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "GIF", "DOCUMENT", "LOCATION")

QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE = "QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE"
OTP, CATALOG, MPM = "OTP", "CATALOG", "MPM"
BUTTON_TYPES = (QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, CATALOG, MPM)
OTP_TYPES = ("COPY_CODE", "ONE_TAP", "ZERO_TAP")

NAME_MAX = 512
HEADER_TEXT_MAX = 60
BODY_MAX = 1024
FOOTER_MAX = 60
BUTTON_TEXT_MAX = 25
BUTTONS_MAX = 10
URL_BUTTONS_MAX = 2
PHONE_BUTTONS_MAX = 1
COPY_CODE_BUTTONS_MAX = 1
URL_MAX = 2000
COUPON_CODE_MAX = 15
SUPPORTED_APPS_MAX = 5
CODE_EXPIRATION_MIN, CODE_EXPIRATION_MAX = 1, 90
REUSE_AFTER = timedelta(days=30)

# Meta's template languages (its "supported languages" reference), each with its name in
# that language: the names need no translation, and people find their own language.
TEMPLATE_LANGUAGES: dict[str, str] = {
    "af": "Afrikaans",
    "sq": "Shqip",
    "ar": "العربية",
    "ar_AE": "العربية (الإمارات)",
    "ar_EG": "العربية (مصر)",
    "ar_LB": "العربية (لبنان)",
    "ar_MA": "العربية (المغرب)",
    "ar_QA": "العربية (قطر)",
    "az": "Azərbaycanca",
    "be_BY": "Беларуская",
    "bn": "বাংলা",
    "bn_IN": "বাংলা (ভারত)",
    "bg": "Български",
    "ca": "Català",
    "zh_CN": "中文（中国）",
    "zh_HK": "中文（香港）",
    "zh_TW": "中文（台灣）",
    "hr": "Hrvatski",
    "cs": "Čeština",
    "da": "Dansk",
    "prs_AF": "دری",
    "nl": "Nederlands",
    "nl_BE": "Nederlands (België)",
    "en": "English",
    "en_AE": "English (UAE)",
    "en_AU": "English (Australia)",
    "en_CA": "English (Canada)",
    "en_GB": "English (UK)",
    "en_GH": "English (Ghana)",
    "en_IE": "English (Ireland)",
    "en_IN": "English (India)",
    "en_JM": "English (Jamaica)",
    "en_MY": "English (Malaysia)",
    "en_NZ": "English (New Zealand)",
    "en_QA": "English (Qatar)",
    "en_SG": "English (Singapore)",
    "en_UG": "English (Uganda)",
    "en_US": "English (US)",
    "en_ZA": "English (South Africa)",
    "et": "Eesti",
    "fil": "Filipino",
    "fi": "Suomi",
    "fr": "Français",
    "fr_BE": "Français (Belgique)",
    "fr_CA": "Français (Canada)",
    "fr_CH": "Français (Suisse)",
    "fr_CI": "Français (Côte d’Ivoire)",
    "fr_MA": "Français (Maroc)",
    "ka": "ქართული",
    "de": "Deutsch",
    "de_AT": "Deutsch (Österreich)",
    "de_CH": "Deutsch (Schweiz)",
    "el": "Ελληνικά",
    "gu": "ગુજરાતી",
    "ha": "Hausa",
    "he": "עברית",
    "hi": "हिन्दी",
    "hu": "Magyar",
    "id": "Bahasa Indonesia",
    "ga": "Gaeilge",
    "it": "Italiano",
    "ja": "日本語",
    "kn": "ಕನ್ನಡ",
    "kk": "Қазақ тілі",
    "rw_RW": "Kinyarwanda",
    "ko": "한국어",
    "ky_KG": "Кыргызча",
    "lo": "ລາວ",
    "lv": "Latviešu",
    "lt": "Lietuvių",
    "mk": "Македонски",
    "ms": "Bahasa Melayu",
    "ml": "മലയാളം",
    "mr": "मराठी",
    "nb": "Norsk bokmål",
    "ps_AF": "پښتو",
    "fa": "فارسی",
    "pl": "Polski",
    "pt_BR": "Português (Brasil)",
    "pt_PT": "Português (Portugal)",
    "pa": "ਪੰਜਾਬੀ",
    "ro": "Română",
    "ru": "Русский",
    "sr": "Српски",
    "si_LK": "සිංහල",
    "sk": "Slovenčina",
    "sl": "Slovenščina",
    "es": "Español",
    "es_AR": "Español (Argentina)",
    "es_CL": "Español (Chile)",
    "es_CO": "Español (Colombia)",
    "es_CR": "Español (Costa Rica)",
    "es_DO": "Español (República Dominicana)",
    "es_EC": "Español (Ecuador)",
    "es_ES": "Español (España)",
    "es_HN": "Español (Honduras)",
    "es_MX": "Español (México)",
    "es_PA": "Español (Panamá)",
    "es_PE": "Español (Perú)",
    "es_UY": "Español (Uruguay)",
    "sw": "Kiswahili",
    "sv": "Svenska",
    "ta": "தமிழ்",
    "te": "తెలుగు",
    "th": "ไทย",
    "tr": "Türkçe",
    "uk": "Українська",
    "ur": "اردو",
    "uz": "Oʻzbekcha",
    "vi": "Tiếng Việt",
    "zu": "isiZulu",
}


def language_label(code: str) -> str:
    """``de_AT`` → ``Deutsch (Österreich) · de_AT``; an unknown code stays as it is."""
    name = TEMPLATE_LANGUAGES.get(code)
    return f"{name} · {code}" if name else code


# --- Variables ---------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")
POSITIONAL_TOKEN = re.compile(r"[1-9][0-9]*")
NAMED_TOKEN = re.compile(r"[a-z][a-z0-9_]*")
NAME_RE = re.compile(r"[a-z0-9_]+")
ANDROID_PACKAGE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")
SIGNATURE_HASH = re.compile(r"[A-Za-z0-9+/]{11}")
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Placeholder:
    """One ``{{…}}`` in a text: what is between the braces, and where it stands."""

    inner: str
    start: int
    end: int

    @property
    def shown(self) -> str:
        return "{{" + self.inner + "}}"


def placeholders(text: str) -> list[Placeholder]:
    return [Placeholder(m.group(1), m.start(), m.end()) for m in PLACEHOLDER.finditer(text)]


def variables(text: str) -> list[str]:
    """The variables of a text, each once, in the order they first appear."""
    seen: dict[str, None] = {}
    for p in placeholders(text):
        seen.setdefault(p.inner, None)
    return list(seen)


def variable_order(tokens: Sequence[str], parameter_format: str) -> list[str]:
    """The order Meta reads examples and send parameters in: by number for positional
    variables, by first appearance for named ones."""
    if parameter_format == NAMED:
        return list(tokens)
    return sorted(tokens, key=lambda t: int(t) if t.isdigit() else 10**9)


def shown(token: str) -> str:
    return "{{" + token + "}}"


# --- Components --------------------------------------------------------------------------


def component(components: Any, kind: str) -> dict[str, Any] | None:
    """The first component of ``kind`` (HEADER, BODY, FOOTER, BUTTONS), or None."""
    if not isinstance(components, list):
        return None
    for comp in components:
        if isinstance(comp, dict) and str(comp.get("type", "")).upper() == kind:
            return comp
    return None


def buttons_of(components: Any) -> list[dict[str, Any]]:
    comp = component(components, BUTTONS)
    items = comp.get("buttons") if comp else None
    return [b for b in items if isinstance(b, dict)] if isinstance(items, list) else []


def header_format(components: Any) -> str | None:
    """The header's format (TEXT, IMAGE, …), or None when there is no header."""
    comp = component(components, HEADER)
    return str(comp.get("format") or "TEXT").upper() if comp else None


class Problems:
    """``{field path: [messages]}``, in the order found."""

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        messages = self.items.setdefault(field, [])
        if message not in messages:
            messages.append(message)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _suggest_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower())
    return re.sub(r"_+", "_", slug).strip("_")[:NAME_MAX]


def _suggest_variable(token: str) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "_", token.strip().lower()).strip("_")
    if slug and not slug[0].isalpha():
        slug = "v_" + slug
    return slug or "value"


def _date(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "DATE_FORMAT")


# --- The checks --------------------------------------------------------------------------


def template_problems(
    *,
    name: Any,
    language: Any,
    category: Any,
    parameter_format: Any,
    components: Any,
    waba: WhatsAppAccount | None = None,
    existing: Any = None,
) -> dict[str, list[str]]:
    """Every reason Meta would refuse this template that we can check, by field.

    With ``waba``, the name is also checked against the WABA's templates: taken in this
    language, or deleted in it less than 30 days ago. ``existing`` is the template being
    edited (its own name and language are not a clash).
    """
    problems = Problems()
    name = _text(name).strip() if isinstance(name, str) else name
    language = _text(language).strip()
    category = _text(category).strip().upper()
    fmt = _text(parameter_format).strip().upper() or POSITIONAL

    _check_name(problems, name)
    _check_language(problems, language)
    if category not in CATEGORIES:
        problems.add("category", _("Choose the category: Marketing, Utility or Authentication."))
    if fmt not in PARAMETER_FORMATS:
        problems.add(
            "parameter_format",
            _("Choose how variables are written: numbered ({{1}}) or named ({{first_name}})."),
        )
        fmt = POSITIONAL
    by_type = _check_structure(problems, components, category)
    if by_type is not None:
        if category == AUTHENTICATION:
            _check_authentication(problems, by_type)
        else:
            _check_header(problems, by_type.get(HEADER), fmt, category)
            _check_body(problems, by_type.get(BODY), fmt)
            _check_footer(problems, by_type.get(FOOTER))
            _check_buttons(problems, by_type, category)
    if (
        waba is not None
        and isinstance(name, str)
        and "name" not in problems.items
        and "language" not in problems.items
    ):
        _check_name_free(problems, waba, name, language, existing)
    return problems.items


def _check_name(problems: Problems, name: Any) -> None:
    if not isinstance(name, str) or not name:
        problems.add("name", _("Enter a name for the template."))
        return
    if len(name) > NAME_MAX:
        problems.add(
            "name",
            _("The name is %(count)s characters long; Meta allows at most %(limit)s.")
            % {"count": len(name), "limit": NAME_MAX},
        )
    if not NAME_RE.fullmatch(name):
        suggestion = _suggest_name(name)
        if suggestion:
            problems.add(
                "name",
                _(
                    "The name may contain only lower-case letters, digits and underscores: "
                    "try “%(suggestion)s”."
                )
                % {"suggestion": suggestion},
            )
        else:
            problems.add(
                "name",
                _(
                    "The name may contain only lower-case letters, digits and underscores, "
                    "for example order_update."
                ),
            )


def _check_language(problems: Problems, language: str) -> None:
    if not language:
        problems.add("language", _("Choose the template's language."))
        return
    if language in TEMPLATE_LANGUAGES:
        return
    underscored = language.replace("-", "_")
    if underscored in TEMPLATE_LANGUAGES:
        problems.add(
            "language",
            _("Write the language code with an underscore, as Meta does: %(code)s.")
            % {"code": underscored},
        )
        return
    problems.add(
        "language",
        _(
            "Meta has no template language “%(code)s”. Choose one from the list "
            "(for example en_US, de or pt_BR)."
        )
        % {"code": language},
    )


def _check_name_free(
    problems: Problems, waba: WhatsAppAccount, name: str, language: str, existing: Any
) -> None:
    if existing is not None and (existing.name, existing.language) == (name, language):
        return
    exclude_pk = existing.pk if existing is not None else None
    if selectors.name_language_taken(waba, name, language, exclude_pk=exclude_pk):
        problems.add(
            "name",
            _(
                "A template “%(name)s” already exists in %(language)s in this WhatsApp "
                "Business Account. Edit it, or choose another name."
            )
            % {"name": name, "language": language},
        )
        return
    deleted_at = selectors.recently_deleted(waba, name, language)
    if deleted_at is not None:
        problems.add(
            "name",
            _(
                "“%(name)s” in %(language)s was deleted on %(date)s. Meta lets you use this "
                "name in this language again from %(available)s; choose another name "
                "until then."
            )
            % {
                "name": name,
                "language": language,
                "date": _date(deleted_at),
                "available": _date(deleted_at + REUSE_AFTER),
            },
        )


def _check_structure(
    problems: Problems, components: Any, category: str
) -> dict[str, dict[str, Any]] | None:
    """The components by type, or None when they cannot be read at all."""
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        problems.add(
            "components",
            _(
                "The template content cannot be read: send components as a list of "
                "objects, as Meta's API has them."
            ),
        )
        return None
    by_type: dict[str, dict[str, Any]] = {}
    for comp in components:
        kind = str(comp.get("type", "")).upper()
        if kind in UNSUPPORTED_COMPONENTS:
            problems.add(
                "components",
                _(
                    "%(kind)s templates cannot be created here yet: create them in "
                    "WhatsApp Manager, then sync the templates."
                )
                % {"kind": kind.replace("_", " ").lower()},
            )
            continue
        if kind not in (HEADER, BODY, FOOTER, BUTTONS):
            problems.add(
                "components",
                _("Unknown component “%(kind)s”: use HEADER, BODY, FOOTER or BUTTONS.")
                % {"kind": comp.get("type", "")},
            )
            continue
        if kind in by_type:
            problems.add(
                "components",
                _("The template has two %(kind)s components; keep one.") % {"kind": kind},
            )
            continue
        by_type[kind] = comp
    if BODY not in by_type and category != AUTHENTICATION:
        problems.add("components.body.text", _("Write the message body; every template has one."))
    return by_type


# --- Header ------------------------------------------------------------------------------


def _check_header(
    problems: Problems, header: dict[str, Any] | None, fmt: str, category: str
) -> None:
    if header is None:
        return
    hformat = str(header.get("format") or "").upper()
    example = header.get("example")
    if hformat not in HEADER_FORMATS:
        problems.add(
            "components.header.format",
            _("Choose the header: none, text, image, video, document or location."),
        )
        return
    if hformat == "TEXT":
        _check_header_text(problems, header, fmt)
        return
    if header.get("text"):
        problems.add(
            "components.header.text",
            _("A %(kind)s header has no text: remove it, or choose a text header.")
            % {"kind": hformat.lower()},
        )
    if hformat == "GIF" and category != MARKETING:
        problems.add(
            "components.header.format",
            _("GIF headers are for Marketing templates only: choose an image or a video."),
        )
    if hformat in MEDIA_FORMATS:
        handles = example.get("header_handle") if isinstance(example, dict) else None
        if (
            not isinstance(handles, list)
            or len(handles) != 1
            or not isinstance(handles[0], str)
            or not handles[0].strip()
        ):
            problems.add(
                "components.header.example",
                _("Upload a sample %(kind)s for the header: Meta reviews the template with it.")
                % {"kind": _media_word(hformat)},
            )
    elif example:
        problems.add(
            "components.header.example",
            _("A location header takes no example: the location is given when you send."),
        )


def _media_word(hformat: str) -> str:
    return {
        "IMAGE": _("image"),
        "VIDEO": _("video"),
        "GIF": _("GIF"),
        "DOCUMENT": _("document"),
    }.get(hformat, hformat.lower())


def _check_header_text(problems: Problems, header: dict[str, Any], fmt: str) -> None:
    field = "components.header.text"
    text = header.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.add(field, _("Write the header text, or choose no header."))
        return
    if len(text) > HEADER_TEXT_MAX:
        problems.add(
            field,
            _("The header is %(count)s characters long; Meta allows at most %(limit)s.")
            % {"count": len(text), "limit": HEADER_TEXT_MAX},
        )
    if "\n" in text or "\r" in text:
        problems.add(field, _("The header is one line: remove the line breaks."))
    tokens = _check_tokens(problems, field, text, fmt)
    if len(tokens) > 1:
        problems.add(
            field,
            _("The header may contain one variable at most; it has %(count)s.")
            % {"count": len(tokens)},
        )
        return
    if fmt == POSITIONAL and tokens and tokens != ["1"] and POSITIONAL_TOKEN.fullmatch(tokens[0]):
        problems.add(
            field,
            _("The header's variable is numbered on its own: write {{1}}, not %(variable)s.")
            % {"variable": shown(tokens[0])},
        )
    _check_examples(
        problems,
        "components.header.example",
        header.get("example"),
        tokens,
        fmt,
        positional_key="header_text",
        named_key="header_text_named_params",
        nested=False,
        where=_("header"),
    )


# --- Body --------------------------------------------------------------------------------


def _check_body(problems: Problems, body: dict[str, Any] | None, fmt: str) -> None:
    if body is None:
        return
    field = "components.body.text"
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.add(field, _("Write the message body; every template has one."))
        return
    if len(text) > BODY_MAX:
        problems.add(
            field,
            _("The body is %(count)s characters long; Meta allows at most %(limit)s.")
            % {"count": len(text), "limit": BODY_MAX},
        )
    tokens = _check_tokens(problems, field, text, fmt)
    marks = placeholders(text)
    if fmt == POSITIONAL:
        numbers = sorted({int(t) for t in tokens if POSITIONAL_TOKEN.fullmatch(t)})
        if numbers:
            missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
            if missing:
                problems.add(
                    field,
                    _(
                        "Number the variables from {{1}} to %(last)s without gaps: "
                        "%(missing)s is missing."
                    )
                    % {
                        "last": shown(str(numbers[-1])),
                        "missing": ", ".join(shown(str(n)) for n in missing),
                    },
                )
    if marks:
        stripped = text.strip()
        lead = len(text) - len(text.lstrip())
        if marks[0].start == lead:
            problems.add(
                field,
                _("The body may not start with a variable: put a word before %(variable)s.")
                % {"variable": marks[0].shown},
            )
        if marks[-1].end == lead + len(stripped):
            problems.add(
                field,
                _(
                    "The body may not end with a variable: add a word or a full stop after "
                    "%(variable)s."
                )
                % {"variable": marks[-1].shown},
            )
        for first, second in itertools.pairwise(marks):
            if not text[first.end : second.start].strip():
                problems.add(
                    field,
                    _(
                        "The variables %(first)s and %(second)s stand next to each other: "
                        "put words between them."
                    )
                    % {"first": first.shown, "second": second.shown},
                )
        words = len(WORD.findall(PLACEHOLDER.sub(" ", text)))
        needed = 2 * len(marks) + 1
        if words < needed:
            problems.add(
                field,
                ngettext(
                    "The body has %(variables)s variable but too few words around it, and "
                    "Meta rejects such templates. Write at least %(needed)s words besides "
                    "the variables (there are %(words)s), or use fewer variables.",
                    "The body has %(variables)s variables but too few words around them, and "
                    "Meta rejects such templates. Write at least %(needed)s words besides "
                    "the variables (there are %(words)s), or use fewer variables.",
                    len(marks),
                )
                % {"variables": len(marks), "words": words, "needed": needed},
            )
    _check_examples(
        problems,
        "components.body.example",
        body.get("example"),
        tokens,
        fmt,
        positional_key="body_text",
        named_key="body_text_named_params",
        nested=True,
        where=_("body"),
    )


def _check_tokens(problems: Problems, field: str, text: str, fmt: str) -> list[str]:
    """The text's well-formed variables for ``fmt``; a problem for each one that is not."""
    rest = PLACEHOLDER.sub("", text)
    if "{{" in rest or "}}" in rest:
        problems.add(
            field,
            _("Write variables with two braces on each side, such as %(example)s.")
            % {"example": "{{1}}" if fmt == POSITIONAL else "{{first_name}}"},
        )
    good: list[str] = []
    for token in variables(text):
        if token != token.strip() and token.strip():
            problems.add(
                field,
                _("Write %(fixed)s without spaces inside the braces.")
                % {"fixed": shown(token.strip())},
            )
            continue
        if fmt == POSITIONAL:
            if POSITIONAL_TOKEN.fullmatch(token):
                good.append(token)
            elif NAMED_TOKEN.fullmatch(token):
                problems.add(
                    field,
                    _(
                        "%(variable)s is a named variable, but this template numbers its "
                        "variables: write {{1}}, {{2}}… or choose named variables."
                    )
                    % {"variable": shown(token)},
                )
            else:
                problems.add(
                    field,
                    _("%(variable)s is not a variable: number variables as {{1}}, {{2}}…")
                    % {"variable": shown(token)},
                )
        else:
            if NAMED_TOKEN.fullmatch(token):
                good.append(token)
            elif token.isdigit():
                problems.add(
                    field,
                    _(
                        "%(variable)s is numbered, but this template names its variables: "
                        "give it a name such as {{order_id}}, or choose numbered variables."
                    )
                    % {"variable": shown(token)},
                )
            else:
                problems.add(
                    field,
                    _(
                        "Variable names use lower-case letters, digits and underscores and "
                        "start with a letter: write %(suggestion)s instead of %(variable)s."
                    )
                    % {"variable": shown(token), "suggestion": shown(_suggest_variable(token))},
                )
    return good


def _check_examples(
    problems: Problems,
    field: str,
    example: Any,
    tokens: list[str],
    fmt: str,
    *,
    positional_key: str,
    named_key: str,
    nested: bool,
    where: str,
) -> None:
    """Meta's examples: one per variable, in the shape of the variable format."""
    example = example if isinstance(example, dict) else {}
    wrong_key, right_key = (
        (named_key, positional_key) if fmt == POSITIONAL else (positional_key, named_key)
    )
    if not tokens:
        if example.get(positional_key) or example.get(named_key):
            problems.add(
                field,
                _("The %(where)s has no variables, so it takes no examples: remove them.")
                % {"where": where},
            )
        return
    if example.get(wrong_key) and not example.get(right_key):
        problems.add(
            field,
            _("The examples are in the other variable format: give them as %(key)s.")
            % {"key": right_key},
        )
        return
    if fmt == POSITIONAL:
        values = example.get(positional_key)
        if nested:
            values = values[0] if isinstance(values, list) and values else None
        order = variable_order(tokens, fmt)
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.add(
                field,
                _("Give an example for every variable of the %(where)s: %(missing)s.")
                % {"where": where, "missing": ", ".join(shown(t) for t in order)},
            )
            return
        for token, value in zip(order, values, strict=False):
            if not value.strip():
                problems.add(
                    field,
                    _("The example for %(variable)s is empty: write a realistic value.")
                    % {"variable": shown(token)},
                )
        if len(values) < len(order):
            problems.add(
                field,
                _("Give an example for every variable of the %(where)s: %(missing)s has none.")
                % {
                    "where": where,
                    "missing": ", ".join(shown(t) for t in order[len(values) :]),
                },
            )
        elif len(values) > len(order):
            problems.add(
                field,
                _(
                    "The %(where)s has %(expected)s variables but %(given)s examples: give "
                    "one example per variable."
                )
                % {"where": where, "expected": len(order), "given": len(values)},
            )
        return
    items = example.get(named_key)
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("param_name"), str) for i in items
    ):
        problems.add(
            field,
            _("Give an example for every variable of the %(where)s: %(missing)s.")
            % {"where": where, "missing": ", ".join(shown(t) for t in tokens)},
        )
        return
    given = {i["param_name"]: i.get("example") for i in items}
    missing = [t for t in tokens if t not in given]
    if missing:
        problems.add(
            field,
            _("Give an example for every variable of the %(where)s: %(missing)s has none.")
            % {"where": where, "missing": ", ".join(shown(t) for t in missing)},
        )
    for param in given:
        if param not in tokens:
            problems.add(
                field,
                _(
                    "There is an example for %(variable)s, which the %(where)s does not use: "
                    "remove it."
                )
                % {"variable": shown(param), "where": where},
            )
    for token in tokens:
        value = given.get(token)
        if token in given and (not isinstance(value, str) or not value.strip()):
            problems.add(
                field,
                _("The example for %(variable)s is empty: write a realistic value.")
                % {"variable": shown(token)},
            )


# --- Footer ------------------------------------------------------------------------------


def _check_footer(problems: Problems, footer: dict[str, Any] | None) -> None:
    if footer is None:
        return
    field = "components.footer.text"
    text = footer.get("text")
    if "code_expiration_minutes" in footer:
        problems.add(
            "components.footer.code_expiration_minutes",
            _("Only authentication templates have a code expiry time: remove it."),
        )
    if not isinstance(text, str) or not text.strip():
        problems.add(field, _("Write the footer text, or remove the footer."))
        return
    if len(text) > FOOTER_MAX:
        problems.add(
            field,
            _("The footer is %(count)s characters long; Meta allows at most %(limit)s.")
            % {"count": len(text), "limit": FOOTER_MAX},
        )
    marks = placeholders(text)
    if marks:
        problems.add(
            field,
            _("The footer cannot contain variables: remove %(variable)s.")
            % {"variable": ", ".join(p.shown for p in marks)},
        )


# --- Buttons -----------------------------------------------------------------------------


def _n(index: int) -> int:
    return index + 1


def _check_buttons(problems: Problems, by_type: dict[str, dict[str, Any]], category: str) -> None:
    comp = by_type.get(BUTTONS)
    if comp is None:
        return
    field = "components.buttons"
    items = comp.get("buttons")
    if not isinstance(items, list) or not items:
        problems.add(field, _("Add at least one button, or remove the buttons."))
        return
    if len(items) > BUTTONS_MAX:
        problems.add(
            field,
            _("A template has at most %(limit)s buttons; this one has %(count)s.")
            % {"limit": BUTTONS_MAX, "count": len(items)},
        )
    kinds = [str(b.get("type", "")).upper() if isinstance(b, dict) else "" for b in items]
    for kind, limit, message in (
        (URL, URL_BUTTONS_MAX, _("A template has at most %(limit)s web address buttons.")),
        (PHONE_NUMBER, PHONE_BUTTONS_MAX, _("A template has at most %(limit)s call button.")),
        (COPY_CODE, COPY_CODE_BUTTONS_MAX, _("A template has at most %(limit)s copy-code button.")),
    ):
        if kinds.count(kind) > limit:
            problems.add(field, message % {"limit": limit})
    quick = [k == QUICK_REPLY for k in kinds]
    if sum(1 for a, b in itertools.pairwise(quick) if a != b) > 1:
        problems.add(
            field,
            _(
                "Keep the quick-reply buttons together, before or after the other buttons: "
                "WhatsApp shows them as one group."
            ),
        )
    if OTP in kinds:
        problems.add(
            field,
            _(
                "One-time password buttons belong to Authentication templates: choose that "
                "category, or remove the button."
            ),
        )
    for single, word in ((CATALOG, _("catalog")), (MPM, _("multi-product"))):
        if single in kinds and len(items) > 1:
            problems.add(
                field,
                _("A template with a %(kind)s button has no other buttons.") % {"kind": word},
            )
    texts: dict[str, int] = {}
    for index, button in enumerate(items):
        if not isinstance(button, dict):
            problems.add(
                f"{field}.{index}.type",
                _("Button %(n)s cannot be read: give it a type and a text.") % {"n": _n(index)},
            )
            continue
        kind = kinds[index]
        if kind not in BUTTON_TYPES:
            problems.add(
                f"{field}.{index}.type",
                _(
                    "Button %(n)s: “%(kind)s” is not a kind of button this editor knows; use "
                    "quick reply, web address, call, copy code, catalog or multi-product."
                )
                % {"n": _n(index), "kind": button.get("type", "")},
            )
            continue
        if kind in (QUICK_REPLY, URL, PHONE_NUMBER, CATALOG, MPM):
            text = _check_button_text(problems, index, button.get("text"))
            if text:
                if text.lower() in texts:
                    problems.add(
                        f"{field}.{index}.text",
                        _(
                            "Buttons %(first)s and %(n)s have the same text: give each "
                            "button its own."
                        )
                        % {"first": _n(texts[text.lower()]), "n": _n(index)},
                    )
                else:
                    texts[text.lower()] = index
        if kind == URL:
            _check_url_button(problems, index, button)
        elif kind == PHONE_NUMBER:
            _check_phone_button(problems, index, button)
        elif kind == COPY_CODE:
            _check_copy_code_button(problems, index, button, category)
        elif kind == CATALOG and category not in (MARKETING, UTILITY):
            problems.add(
                f"{field}.{index}.type",
                _("Button %(n)s: catalog buttons are for Marketing and Utility templates.")
                % {"n": _n(index)},
            )
        elif kind == MPM:
            if category != MARKETING:
                problems.add(
                    f"{field}.{index}.type",
                    _("Button %(n)s: multi-product buttons are for Marketing templates only.")
                    % {"n": _n(index)},
                )
            if header_format(list(by_type.values())) != "TEXT":
                problems.add(
                    "components.header.format",
                    _("A multi-product template needs a text header."),
                )


def _check_button_text(problems: Problems, index: int, text: Any) -> str:
    field = f"components.buttons.{index}.text"
    if not isinstance(text, str) or not text.strip():
        problems.add(field, _("Button %(n)s: write its text.") % {"n": _n(index)})
        return ""
    if len(text) > BUTTON_TEXT_MAX:
        problems.add(
            field,
            _("Button %(n)s: the text is %(count)s characters long; at most %(limit)s fit.")
            % {"n": _n(index), "count": len(text), "limit": BUTTON_TEXT_MAX},
        )
    if placeholders(text):
        problems.add(
            field, _("Button %(n)s: a button's text cannot contain variables.") % {"n": _n(index)}
        )
    if "\n" in text:
        problems.add(field, _("Button %(n)s: the text is one line.") % {"n": _n(index)})
    return text.strip()


def _check_url_button(problems: Problems, index: int, button: dict[str, Any]) -> None:
    field = f"components.buttons.{index}.url"
    url = button.get("url")
    n = _n(index)
    if not isinstance(url, str) or not url.strip():
        problems.add(field, _("Button %(n)s: enter the web address it opens.") % {"n": n})
        return
    url = url.strip()
    if len(url) > URL_MAX:
        problems.add(
            field,
            _("Button %(n)s: the web address may be at most %(limit)s characters long.")
            % {"n": n, "limit": URL_MAX},
        )
    marks = placeholders(url)
    fixed = PLACEHOLDER.sub("x", url)
    parts = urlsplit(fixed)
    if parts.scheme.lower() not in ("http", "https"):
        problems.add(
            field,
            _("Button %(n)s: the web address must start with https:// or http://.") % {"n": n},
        )
    elif not parts.hostname or "." not in parts.hostname or " " in fixed:
        problems.add(
            field, _("Button %(n)s: “%(url)s” is not a web address.") % {"n": n, "url": url}
        )
    if len(marks) > 1:
        problems.add(
            field,
            _("Button %(n)s: the web address may contain one variable, at its end.") % {"n": n},
        )
    elif marks:
        mark = marks[0]
        if mark.inner != "1":
            problems.add(
                field,
                _("Button %(n)s: write the web address's variable as {{1}}.") % {"n": n},
            )
        if mark.end != len(url):
            problems.add(
                field,
                _(
                    "Button %(n)s: the variable must be at the end of the web address, as in "
                    "https://example.com/orders/{{1}}."
                )
                % {"n": n},
            )
        elif urlsplit(url[: mark.start]).path == "" and not urlsplit(url[: mark.start]).query:
            problems.add(
                field,
                _(
                    "Button %(n)s: the domain must be fixed; only the end of the address can "
                    "change, as in https://example.com/orders/{{1}}."
                )
                % {"n": n},
            )
    example = button.get("example")
    example_field = f"components.buttons.{index}.example"
    if marks:
        values = example if isinstance(example, list) else [example] if example else []
        if len(values) != 1 or not isinstance(values[0], str) or not values[0].strip():
            problems.add(
                example_field,
                _("Button %(n)s: give an example of the end of the address, such as summer2025.")
                % {"n": n},
            )
    elif example:
        problems.add(
            example_field,
            _("Button %(n)s: the address has no variable, so it takes no example.") % {"n": n},
        )


def phone_number_problem(value: str) -> str | None:
    """Why ``value`` is not a phone number WhatsApp can call (E.164), or None."""
    raw = value.strip()
    digits = re.sub(r"[\s().-]", "", raw)
    if not re.fullmatch(r"\+?[0-9]{6,15}", digits):
        return "format"
    try:
        parsed = phonenumbers.parse("+" + digits.lstrip("+"), None)
    except phonenumbers.NumberParseException:
        return "format"
    if not phonenumbers.is_valid_number(parsed):
        return "invalid"
    return None


def _check_phone_button(problems: Problems, index: int, button: dict[str, Any]) -> None:
    field = f"components.buttons.{index}.phone_number"
    n = _n(index)
    phone = button.get("phone_number")
    if not isinstance(phone, str) or not phone.strip():
        problems.add(
            field,
            _("Button %(n)s: enter the phone number to call, with its country code.") % {"n": n},
        )
        return
    if phone_number_problem(phone):
        problems.add(
            field,
            _(
                "Button %(n)s: “%(phone)s” is not a valid phone number; write it with the "
                "country code, such as +14155550123."
            )
            % {"n": n, "phone": phone},
        )


def _check_copy_code_button(
    problems: Problems, index: int, button: dict[str, Any], category: str
) -> None:
    n = _n(index)
    if category != MARKETING:
        problems.add(
            f"components.buttons.{index}.type",
            _("Button %(n)s: copy-code buttons are for Marketing templates only.") % {"n": n},
        )
    example = button.get("example")
    field = f"components.buttons.{index}.example"
    if isinstance(example, list):
        example = example[0] if len(example) == 1 else None
    if not isinstance(example, str) or not example.strip():
        problems.add(field, _("Button %(n)s: enter an example offer code.") % {"n": n})
        return
    if len(example) > COUPON_CODE_MAX:
        problems.add(
            field,
            _("Button %(n)s: an offer code has at most %(limit)s characters.")
            % {"n": n, "limit": COUPON_CODE_MAX},
        )
    if not example.isalnum():
        problems.add(
            field,
            _("Button %(n)s: an offer code has letters and digits only.") % {"n": n},
        )


# --- Authentication ----------------------------------------------------------------------


def _check_authentication(problems: Problems, by_type: dict[str, dict[str, Any]]) -> None:
    if HEADER in by_type:
        problems.add(
            "components.header.format",
            _("Authentication templates have no header: remove it."),
        )
    if BODY not in by_type:
        problems.add(
            "components",
            _(
                "Add a BODY component: in an authentication template it says whether to "
                "add the security recommendation, and Meta writes the text."
            ),
        )
    body = by_type.get(BODY) or {}
    if _text(body.get("text")).strip():
        problems.add(
            "components.body.text",
            _(
                "Meta writes the text of authentication templates itself (“123456 is your "
                "verification code.”): remove your text. You can add the security "
                "recommendation and a code expiry time."
            ),
        )
    if "add_security_recommendation" in body and not isinstance(
        body["add_security_recommendation"], bool
    ):
        problems.add(
            "components.body.add_security_recommendation",
            _("Say yes or no to the security recommendation."),
        )
    footer = by_type.get(FOOTER)
    if footer is not None:
        if _text(footer.get("text")).strip():
            problems.add(
                "components.footer.text",
                _(
                    "Authentication templates have no footer text: Meta writes the expiry "
                    "note from the code expiry time."
                ),
            )
        minutes = footer.get("code_expiration_minutes")
        if minutes is not None and (
            isinstance(minutes, bool)
            or not isinstance(minutes, int)
            or not CODE_EXPIRATION_MIN <= minutes <= CODE_EXPIRATION_MAX
        ):
            problems.add(
                "components.footer.code_expiration_minutes",
                _("The code expiry time is a whole number of minutes from %(min)s to %(max)s.")
                % {"min": CODE_EXPIRATION_MIN, "max": CODE_EXPIRATION_MAX},
            )
    buttons = (by_type.get(BUTTONS) or {}).get("buttons")
    if not isinstance(buttons, list) or not buttons:
        problems.add(
            "components.buttons",
            _(
                "Authentication templates need a one-time password button: copy code, "
                "one-tap autofill or zero-tap."
            ),
        )
        return
    if len(buttons) != 1:
        problems.add(
            "components.buttons",
            _("Authentication templates have exactly one button: the one-time password button."),
        )
    for index, button in enumerate(buttons):
        if not isinstance(button, dict) or str(button.get("type", "")).upper() != OTP:
            problems.add(
                f"components.buttons.{index}.type",
                _("Button %(n)s: authentication templates take a one-time password button only.")
                % {"n": _n(index)},
            )
            continue
        _check_otp_button(problems, index, button)


def _check_otp_button(problems: Problems, index: int, button: dict[str, Any]) -> None:
    n = _n(index)
    prefix = f"components.buttons.{index}"
    otp_type = str(button.get("otp_type", "")).upper()
    if otp_type not in OTP_TYPES:
        problems.add(
            f"{prefix}.otp_type",
            _("Button %(n)s: choose copy code, one-tap autofill or zero-tap.") % {"n": n},
        )
        return
    for key in ("text", "autofill_text"):
        value = button.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > BUTTON_TEXT_MAX):
            problems.add(
                f"{prefix}.{key}",
                _("Button %(n)s: the text may be at most %(limit)s characters long.")
                % {"n": n, "limit": BUTTON_TEXT_MAX},
            )
    if otp_type == "COPY_CODE":
        return
    apps = button.get("supported_apps")
    if apps is None and (button.get("package_name") or button.get("signature_hash")):
        apps = [
            {
                "package_name": button.get("package_name"),
                "signature_hash": button.get("signature_hash"),
            }
        ]
    if not isinstance(apps, list) or not apps:
        problems.add(
            f"{prefix}.supported_apps",
            _(
                "Button %(n)s: one-tap and zero-tap buttons need your Android app: its "
                "package name and its signature hash."
            )
            % {"n": n},
        )
    else:
        if len(apps) > SUPPORTED_APPS_MAX:
            problems.add(
                f"{prefix}.supported_apps",
                _("Button %(n)s: list at most %(limit)s apps.")
                % {"n": n, "limit": SUPPORTED_APPS_MAX},
            )
        for app in apps:
            app = app if isinstance(app, dict) else {}
            package = _text(app.get("package_name"))
            signature = _text(app.get("signature_hash"))
            if not ANDROID_PACKAGE.fullmatch(package) or len(package) > 224:
                problems.add(
                    f"{prefix}.supported_apps",
                    _(
                        "Button %(n)s: “%(value)s” is not an Android package name (such as "
                        "com.example.app)."
                    )
                    % {"n": n, "value": package},
                )
            if not SIGNATURE_HASH.fullmatch(signature):
                problems.add(
                    f"{prefix}.supported_apps",
                    _(
                        "Button %(n)s: the app's signature hash is 11 characters: letters, "
                        "digits, + and /."
                    )
                    % {"n": n},
                )
    if otp_type == "ZERO_TAP" and button.get("zero_tap_terms_accepted") is not True:
        problems.add(
            f"{prefix}.zero_tap_terms_accepted",
            _("Button %(n)s: zero-tap needs you to accept Meta's zero-tap terms.") % {"n": n},
        )


# --- Warnings ----------------------------------------------------------------------------

# Words that make Meta read a text as Marketing (promotions, offers, sales), in the
# languages most templates here are written in.
MARKETING_WORDS = re.compile(
    r"(?i)(?<!\w)("
    r"sale|discount\w*|offer|offers|promo\w*|coupon\w*|deals?|buy now|shop now|"
    r"limited time|exclusive|new arrivals?|free shipping|black friday|special price|"
    r"don'?t miss|\d+\s?% off|"
    r"rabatt\w*|angebot\w*|gutschein\w*|aktion\w*|sonderangebot\w*|schnäppchen|"
    r"jetzt kaufen|gratis versand|"
    r"скидк\w*|акци\w*|распродаж\w*|промокод\w*|купон\w*|спецпредложени\w*|"
    r"descuento\w*|oferta\w*|promoci\w*|cupón|rebajas"
    r")(?!\w)"
)


def _all_text(components: Any) -> str:
    parts: list[str] = []
    for kind in (HEADER, BODY, FOOTER):
        comp = component(components, kind)
        if comp:
            parts.append(_text(comp.get("text")))
    parts.extend(_text(b.get("text")) for b in buttons_of(components))
    return "\n".join(parts)


def template_warnings(
    *,
    name: Any = "",
    language: Any = "",
    category: Any,
    parameter_format: Any = POSITIONAL,
    components: Any,
    waba: WhatsAppAccount | None = None,
) -> list[str]:
    """What Meta accepts but may act on: shown to the user, never a refusal."""
    warnings: list[str] = []
    if _text(category).upper() == UTILITY:
        found: dict[str, None] = {}
        for match in MARKETING_WORDS.finditer(_all_text(components)):
            found.setdefault(match.group(1).lower(), None)
        if found:
            warnings.append(
                _(
                    "This text reads like Marketing (%(words)s). Meta changes the category "
                    "of such Utility templates to Marketing, which is priced and limited as "
                    "Marketing; choose Marketing if the message promotes something."
                )
                % {"words": ", ".join(f"“{w}”" for w in list(found)[:5])}
            )
    return warnings


def problems_flat(problems: Mapping[str, list[str]]) -> list[str]:
    """Every message, once, for a summary above a form."""
    seen: dict[str, None] = {}
    for messages in problems.values():
        for message in messages:
            seen.setdefault(message, None)
    return list(seen)
