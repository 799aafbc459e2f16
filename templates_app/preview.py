"""The template editor's draft, its preview, and the header sample upload.

- :class:`EditorDraft` is the editor's form: read from a POST (:meth:`from_post`) or a
  template (:meth:`from_template`), turned into Meta's components (:meth:`components`).
  Every validator problem is shown at the form field :func:`form_field` names.
- :func:`preview_context` draws the draft as WhatsApp shows it, its examples filled in
  (``templates_app/sending.template_render``), with the validator's live problems and
  warnings beside it.
- :func:`sample_upload` sends a media header's sample through Meta's resumable upload
  and answers its header handle (what ``example.header_handle`` takes); an image's
  thumbnail is kept in the cache for the preview.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.permissions import require_manager
from senders import troubleshooting as ts
from senders.models import WhatsAppAccount
from senders.services import graph
from templates_app import sending
from templates_app import troubleshooting as tts
from templates_app import validation as v
from templates_app.models import ParameterFormat, Template, TemplateCategory
from waba_portal.errors import Invalid
from waba_portal.graph import errors as graph_errors

# The editor's header choices (a GIF header is a short MP4 video, for Marketing).
HEADER_CHOICES = ("", "TEXT", "IMAGE", "VIDEO", "GIF", "DOCUMENT", "LOCATION")
MEDIA_HEADERS = ("IMAGE", "VIDEO", "GIF", "DOCUMENT")
BUTTON_KINDS = (v.QUICK_REPLY, v.URL, v.PHONE_NUMBER, v.COPY_CODE, v.CATALOG, v.MPM)
MAX_BUTTON_ROWS = v.BUTTONS_MAX
# What a form field may carry at most; the validator says where Meta's limit is lower.
FIELD_MAX = 4096

# Meta's limits for header samples, and how each kind of file is recognised.
SAMPLE_LIMITS = {
    "IMAGE": 5 * 2**20,
    "VIDEO": 16 * 2**20,
    "GIF": 3_500_000,
    "DOCUMENT": 100 * 2**20,
}
THUMBNAIL_SIZE = 480
THUMBNAIL_TTL = 24 * 3600


def _sniff(data: bytes) -> str | None:
    """The MIME type Meta takes for a header sample, read from the file's first bytes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[4:8] == b"ftyp":
        return "video/3gpp" if data[8:11] == b"3gp" else "video/mp4"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


SAMPLE_TYPES = {
    "IMAGE": ("image/jpeg", "image/png"),
    "VIDEO": ("video/mp4", "video/3gpp"),
    "GIF": ("video/mp4",),
    "DOCUMENT": ("application/pdf",),
}


@dataclass
class ButtonRow:
    kind: str = v.QUICK_REPLY
    text: str = ""
    url: str = ""
    example: str = ""
    phone: str = ""
    code: str = ""

    def component(self) -> dict[str, Any]:
        """The button as Meta's JSON."""
        button: dict[str, Any] = {"type": self.kind}
        if self.kind != v.COPY_CODE:
            button["text"] = self.text
        if self.kind == v.URL:
            button["url"] = self.url
            if v.placeholders(self.url):
                button["example"] = [self.example]
        elif self.kind == v.PHONE_NUMBER:
            button["phone_number"] = self.phone
        elif self.kind == v.COPY_CODE:
            button["example"] = self.code
        return button


@dataclass(frozen=True)
class Draft:
    """What sending and the validator read of a template: the draft as Meta has it."""

    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]


@dataclass
class EditorDraft:
    waba_pk: str = ""
    name: str = ""
    language: str = ""
    category: str = TemplateCategory.UTILITY
    parameter_format: str = ParameterFormat.POSITIONAL
    header_format: str = ""
    header_text: str = ""
    header_example: str = ""
    header_handle: str = ""
    header_sample_name: str = ""
    header_sample_key: str = ""
    body_text: str = ""
    body_examples: dict[str, str] = field(default_factory=dict)
    footer_text: str = ""
    buttons: list[ButtonRow] = field(default_factory=list)
    auth_security: bool = True
    auth_expiry: str = ""
    auth_otp_type: str = "COPY_CODE"
    auth_button_text: str = ""
    auth_autofill_text: str = ""
    auth_package: str = ""
    auth_signature: str = ""
    auth_zero_tap_terms: bool = False

    # --- reading the form and a template ---------------------------------------------------

    @classmethod
    def from_post(cls, data: Mapping[str, Any]) -> EditorDraft:
        def text(key: str) -> str:
            value = data.get(key, "")
            return str(value)[:FIELD_MAX] if isinstance(value, str) else ""

        def upper(key: str, allowed: tuple[str, ...], default: str) -> str:
            value = text(key).strip().upper()
            return value if value in allowed else default

        try:
            count = max(0, min(int(text("buttons-count") or 0), MAX_BUTTON_ROWS + 2))
        except ValueError:
            count = 0
        rows = []
        for i in range(count):
            kind = text(f"buttons-{i}-kind").strip().upper()
            rows.append(
                ButtonRow(
                    kind=kind or v.QUICK_REPLY,
                    text=text(f"buttons-{i}-text"),
                    url=text(f"buttons-{i}-url").strip(),
                    example=text(f"buttons-{i}-example").strip(),
                    phone=text(f"buttons-{i}-phone").strip(),
                    code=text(f"buttons-{i}-code").strip(),
                )
            )
        draft = cls(
            waba_pk=text("waba").strip(),
            name=text("name").strip(),
            language=text("language").strip(),
            category=text("category").strip().upper() or TemplateCategory.UTILITY,
            parameter_format=upper(
                "parameter_format", tuple(ParameterFormat.values), ParameterFormat.POSITIONAL
            ),
            header_format=upper("header_format", HEADER_CHOICES, ""),
            header_text=text("header_text"),
            header_example=text("header_example"),
            header_handle=text("header_handle").strip(),
            header_sample_name=text("header_sample_name").strip(),
            header_sample_key=text("header_sample_key").strip(),
            body_text=text("body_text"),
            footer_text=text("footer_text"),
            buttons=rows,
            auth_security=data.get("auth_security") in ("on", "1", "true"),
            auth_expiry=text("auth_expiry").strip(),
            auth_otp_type=upper("auth_otp_type", v.OTP_TYPES, "COPY_CODE"),
            auth_button_text=text("auth_button_text"),
            auth_autofill_text=text("auth_autofill_text"),
            auth_package=text("auth_package").strip(),
            auth_signature=text("auth_signature").strip(),
            auth_zero_tap_terms=data.get("auth_zero_tap_terms") in ("on", "1", "true"),
        )
        for token in draft.body_tokens():
            draft.body_examples[token] = text(f"example-body-{token}")
        return draft

    @classmethod
    def from_template(cls, template: Template, *, copy: bool = False) -> EditorDraft:
        """The editor's fields for ``template`` (``copy``: as a new language of it)."""
        comps = template.components if isinstance(template.components, list) else []
        fmt = str(template.parameter_format or ParameterFormat.POSITIONAL).upper()
        draft = cls(
            waba_pk=str(template.waba_id),
            name=template.name,
            language="" if copy else template.language,
            category=template.category,
            parameter_format=fmt,
        )
        header = v.component(comps, v.HEADER) or {}
        if header:
            draft.header_format = str(header.get("format") or "TEXT").upper()
            draft.header_text = str(header.get("text") or "")
            example = header.get("example") if isinstance(header.get("example"), dict) else {}
            examples = sending.component_examples(
                header, v.variables(draft.header_text), fmt, nested=False
            )
            draft.header_example = str(next(iter(examples.values()), "") or "")
            handles = (example or {}).get("header_handle")
            if isinstance(handles, list) and handles and not copy:
                draft.header_handle = str(handles[0])
                draft.header_sample_name = _("sample on file at Meta")
        body = v.component(comps, v.BODY) or {}
        draft.body_text = str(body.get("text") or "")
        tokens = draft.body_tokens()
        for token, value in sending.component_examples(body, tokens, fmt, nested=True).items():
            draft.body_examples[token] = str(value or "")
        draft.auth_security = bool(body.get("add_security_recommendation", True))
        footer = v.component(comps, v.FOOTER) or {}
        draft.footer_text = str(footer.get("text") or "")
        if footer.get("code_expiration_minutes") is not None:
            draft.auth_expiry = str(footer["code_expiration_minutes"])
        for button in v.buttons_of(comps):
            kind = str(button.get("type", "")).upper()
            if kind == v.OTP:
                draft.auth_otp_type = str(button.get("otp_type", "COPY_CODE")).upper()
                draft.auth_button_text = str(button.get("text") or "")
                draft.auth_autofill_text = str(button.get("autofill_text") or "")
                apps = button.get("supported_apps") or [button]
                first = apps[0] if isinstance(apps, list) and apps else {}
                draft.auth_package = str(first.get("package_name") or "")
                draft.auth_signature = str(first.get("signature_hash") or "")
                draft.auth_zero_tap_terms = bool(button.get("zero_tap_terms_accepted"))
                continue
            example = button.get("example")
            first_example = example[0] if isinstance(example, list) and example else example
            draft.buttons.append(
                ButtonRow(
                    kind=kind,
                    text=str(button.get("text") or ""),
                    url=str(button.get("url") or ""),
                    example=str(first_example or "") if kind == v.URL else "",
                    phone=str(button.get("phone_number") or ""),
                    code=str(first_example or "") if kind == v.COPY_CODE else "",
                )
            )
        return draft

    # --- what it means ------------------------------------------------------------------

    @property
    def is_auth(self) -> bool:
        return self.category == v.AUTHENTICATION

    def body_tokens(self) -> list[str]:
        return v.variable_order(v.variables(self.body_text), self.parameter_format)

    def header_tokens(self) -> list[str]:
        return v.variables(self.header_text) if self.header_format == "TEXT" else []

    def examples_signature(self) -> str:
        """Changes when the example fields the body needs change (re-drawn then only)."""
        return self.parameter_format + ":" + ",".join(self.body_tokens())

    def components(self) -> list[dict[str, Any]]:
        """The draft as Meta's components."""
        if self.is_auth:
            return self._auth_components()
        fmt = self.parameter_format
        comps: list[dict[str, Any]] = []
        if self.header_format == "TEXT":
            header: dict[str, Any] = {"type": v.HEADER, "format": "TEXT", "text": self.header_text}
            tokens = self.header_tokens()
            if tokens:
                if fmt == v.NAMED:
                    header["example"] = {
                        "header_text_named_params": [
                            {"param_name": tokens[0], "example": self.header_example}
                        ]
                    }
                else:
                    header["example"] = {"header_text": [self.header_example]}
            comps.append(header)
        elif self.header_format in MEDIA_HEADERS:
            header = {"type": v.HEADER, "format": self.header_format}
            if self.header_handle:
                header["example"] = {"header_handle": [self.header_handle]}
            comps.append(header)
        elif self.header_format == "LOCATION":
            comps.append({"type": v.HEADER, "format": "LOCATION"})
        body: dict[str, Any] = {"type": v.BODY, "text": self.body_text}
        tokens = self.body_tokens()
        if tokens:
            if fmt == v.NAMED:
                body["example"] = {
                    "body_text_named_params": [
                        {"param_name": t, "example": self.body_examples.get(t, "")} for t in tokens
                    ]
                }
            else:
                body["example"] = {"body_text": [[self.body_examples.get(t, "") for t in tokens]]}
        comps.append(body)
        if self.footer_text.strip():
            comps.append({"type": v.FOOTER, "text": self.footer_text})
        if self.buttons:
            comps.append({"type": v.BUTTONS, "buttons": [b.component() for b in self.buttons]})
        return comps

    def _auth_components(self) -> list[dict[str, Any]]:
        comps: list[dict[str, Any]] = [
            {"type": v.BODY, "add_security_recommendation": self.auth_security}
        ]
        if self.auth_expiry:
            minutes: Any = int(self.auth_expiry) if self.auth_expiry.isdigit() else self.auth_expiry
            comps.append({"type": v.FOOTER, "code_expiration_minutes": minutes})
        button: dict[str, Any] = {"type": v.OTP, "otp_type": self.auth_otp_type}
        if self.auth_button_text.strip():
            button["text"] = self.auth_button_text
        if self.auth_otp_type in ("ONE_TAP", "ZERO_TAP"):
            if self.auth_autofill_text.strip():
                button["autofill_text"] = self.auth_autofill_text
            button["supported_apps"] = [
                {"package_name": self.auth_package, "signature_hash": self.auth_signature}
            ]
            if self.auth_otp_type == "ZERO_TAP":
                button["zero_tap_terms_accepted"] = self.auth_zero_tap_terms
        comps.append({"type": v.BUTTONS, "buttons": [button]})
        return comps

    def as_template(self) -> Draft:
        return Draft(
            name=self.name,
            language=self.language,
            category=self.category,
            parameter_format=self.parameter_format,
            components=self.components(),
        )

    def problems(
        self, *, waba: WhatsAppAccount | None = None, existing: Template | None = None
    ) -> dict[str, list[str]]:
        return v.template_problems(
            name=self.name,
            language=self.language,
            category=self.category,
            parameter_format=self.parameter_format,
            components=self.components(),
            waba=waba,
            existing=existing,
        )

    def warnings(self) -> list[str]:
        return v.template_warnings(category=self.category, components=self.components())


def unsupported_parts(template: Template) -> list[str]:
    """What of ``template`` the editor cannot show (so an edit here would drop it)."""
    parts: list[str] = []
    comps = template.components if isinstance(template.components, list) else []
    for comp in comps:
        kind = str(comp.get("type", "")).upper() if isinstance(comp, dict) else ""
        if kind not in (v.HEADER, v.BODY, v.FOOTER, v.BUTTONS):
            parts.append(kind.replace("_", " ").lower() or "?")
    header = v.header_format(comps)
    if header is not None and header not in HEADER_CHOICES:
        parts.append(header.lower())
    allowed = (v.OTP,) if template.category == v.AUTHENTICATION else BUTTON_KINDS
    for button in v.buttons_of(comps):
        kind = str(button.get("type", "")).upper()
        if kind not in allowed:
            parts.append(kind.replace("_", " ").lower())
    return list(dict.fromkeys(parts))


# --- Where a problem is shown --------------------------------------------------------------

_FIELD_OF = {
    "components.header.format": "header_format",
    "components.header.text": "header_text",
    "components.body.text": "body_text",
    "components.body.example": "body_examples",
    "components.body.add_security_recommendation": "auth_security",
    "components.footer.text": "footer_text",
    "components.footer.code_expiration_minutes": "auth_expiry",
    "components.buttons": "buttons",
}
_BUTTON_KEY = re.compile(r"components\.buttons\.(\d+)\.(\w+)")
_BUTTON_FIELD = {
    "type": "kind",
    "text": "text",
    "url": "url",
    "example": "example",
    "phone_number": "phone",
}
_AUTH_BUTTON_FIELD = {
    "type": "auth_otp_type",
    "otp_type": "auth_otp_type",
    "text": "auth_button_text",
    "autofill_text": "auth_autofill_text",
    "supported_apps": "auth_package",
    "zero_tap_terms_accepted": "auth_zero_tap_terms",
}


def form_field(path: str, draft: EditorDraft) -> str:
    """The editor's field for a validator field path ("" for the errors above the form)."""
    if path in ("name", "language", "category", "parameter_format"):
        return path
    if path == "components.header.example":
        return "header_sample" if draft.header_format != "TEXT" else "header_example"
    if draft.is_auth and path == "components.buttons":
        return "auth_otp_type"
    if draft.is_auth and path == "components.header.format":
        return "category"
    if path in _FIELD_OF:
        return _FIELD_OF[path]
    match = _BUTTON_KEY.fullmatch(path)
    if match:
        index, key = int(match.group(1)), match.group(2)
        if draft.is_auth:
            return _AUTH_BUTTON_FIELD.get(key, "auth_otp_type")
        if (
            key == "example"
            and 0 <= index < len(draft.buttons)
            and draft.buttons[index].kind == v.COPY_CODE
        ):
            return f"buttons-{index}-code"
        return f"buttons-{index}-{_BUTTON_FIELD.get(key, 'kind')}"
    return ""


def field_errors(problems: Mapping[str, list[str]], draft: EditorDraft) -> dict[str, list[str]]:
    """The problems by editor field; those without a field under ``""``."""
    errors: dict[str, list[str]] = {}
    for path, messages in problems.items():
        target = errors.setdefault(form_field(path, draft), [])
        target.extend(m for m in messages if m not in target)
    return errors


# --- The preview ---------------------------------------------------------------------------

_FORMATTING = [
    (re.compile(r"```(.+?)```", re.S), "code"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), "strong"),
    (re.compile(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])"), "em"),
    (re.compile(r"(?<![\w~])~(?!\s)(.+?)(?<!\s)~(?![\w~])"), "s"),
]


def whatsapp_html(text: str) -> SafeString:
    """WhatsApp's formatting (*bold*, _italic_, ~strike~, ```mono```), escaped, with the
    variables that have no example yet marked."""
    html = str(escape(text))
    for pattern, tag in _FORMATTING:
        html = pattern.sub(rf"<{tag}>\1</{tag}>", html)
    html = v.PLACEHOLDER.sub(r'<mark class="wa-var">\g<0></mark>', html)
    return mark_safe(html)  # noqa: S308 - built from escaped text only


def thumbnail(key: str) -> str:
    """The data: URL of an uploaded image sample's thumbnail, or ""."""
    if not key or not re.fullmatch(r"[0-9a-f]{64}", key):
        return ""
    return str(cache.get(f"template-sample:{key}") or "")


def preview_context(draft: EditorDraft) -> dict[str, Any]:
    """What ``_editor_preview.html`` draws: the bubble, live problems and warnings."""
    template = draft.as_template()
    examples = sending.template_examples(template)
    rendered = sending.template_render(template, examples)
    problems = draft.problems()
    return {
        "rendered": rendered,
        "header_html": whatsapp_html(rendered.header_text),
        "body_html": whatsapp_html(rendered.body),
        "footer_text": rendered.footer,
        "thumbnail": thumbnail(draft.header_sample_key),
        "sample_name": draft.header_sample_name,
        "live_problems": v.problems_flat(problems),
        "warnings": draft.warnings(),
        "draft": draft,
    }


# --- The header sample ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    handle: str
    name: str
    key: str  # the thumbnail's cache key ("" when there is none)


def sample_upload(
    *, actor: Membership, waba: WhatsAppAccount, header_format: str, upload: UploadedFile | None
) -> Sample:
    """Upload a header sample to Meta (resumable upload) and answer its handle.

    Refuses a missing file, a file of the wrong kind or over Meta's size for the header
    (image 5 MB, video 16 MB, document 100 MB), and Meta's refusal with its entry.
    """
    require_manager(actor, message=_("Only owners and admins can manage message templates."))
    header_format = header_format.upper()
    if header_format not in SAMPLE_LIMITS:
        raise Invalid(_("Choose an image, video or document header first."), field="header_sample")
    if upload is None:
        raise Invalid(_("Choose a file to upload."), field="header_sample")
    limit = SAMPLE_LIMITS[header_format]
    if upload.size is not None and upload.size > limit:
        raise Invalid(
            _("The file is larger than %(size)s MB, Meta's limit for this header.")
            % {"size": round(limit / 2**20, 1)},
            field="header_sample",
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise Invalid(
            _("The file is larger than %(size)s MB, Meta's limit for this header.")
            % {"size": round(limit / 2**20, 1)},
            field="header_sample",
        )
    mime = _sniff(data)
    if mime not in SAMPLE_TYPES[header_format]:
        kinds = {
            "IMAGE": _("a JPEG or PNG image"),
            "VIDEO": _("an MP4 or 3GPP video"),
            "GIF": _("an MP4 video (WhatsApp plays GIFs as short videos)"),
            "DOCUMENT": _("a PDF document"),
        }
        raise Invalid(
            _("This file is not %(kind)s: choose one for this header.")
            % {"kind": kinds[header_format]},
            field="header_sample",
        )
    name = (upload.name or "sample").rsplit("/", 1)[-1][:120]
    client = graph.graph_client(token=str(waba.access_token or ""))
    try:
        handle = client.resumable_upload(data, mime, file_name=name)
    except graph_errors.GraphError as error:
        problem = ts.get(tts.problem_for_template_error(error))
        raise Invalid(
            _("Meta did not take the sample: %(problem)s. %(step)s")
            % {"problem": problem.title, "step": problem.steps[0] if problem.steps else ""},
            field="header_sample",
            code=problem.key,
        ) from error
    key = ""
    if mime.startswith("image/"):
        key = hashlib.sha256(data).hexdigest()
        cache.set(f"template-sample:{key}", _thumbnail_data_url(data), THUMBNAIL_TTL)
    return Sample(handle=handle, name=name, key=key)


def _thumbnail_data_url(data: bytes) -> str:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=80)
    except (UnidentifiedImageError, OSError, ValueError):
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()
