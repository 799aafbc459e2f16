"""The template validator: a matrix of bad templates (each with its field and message),
every good kind accepted by the validator and by the mock Meta server, the rules that
read the database (a taken name, the 30-day reuse rule) and the category warning."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone, translation

from accounts.tenancy import tenant_scope
from templates_app.models import Template
from templates_app.validation import (
    TEMPLATE_LANGUAGES,
    language_label,
    template_problems,
    template_warnings,
)
from tests.factories import World
from tests.fixtures_senders import Connected
from waba_portal.graph import GraphClient, RetryPolicy

BODY_POSITIONAL = {
    "type": "BODY",
    "text": "Hi {{1}}, your order {{2}} is on its way to you today.",
    "example": {"body_text": [["Ann", "A-1001"]]},
}
BODY_NAMED = {
    "type": "BODY",
    "text": "Hi {{first_name}}, your order {{order_id}} is on its way to you today.",
    "example": {
        "body_text_named_params": [
            {"param_name": "first_name", "example": "Ann"},
            {"param_name": "order_id", "example": "A-1001"},
        ]
    },
}
HANDLE = "4::aW1hZ2UvanBlZw==:ARb-sample-handle"


def base(**overrides: Any) -> dict[str, Any]:
    """A valid Utility template; ``overrides`` replace its top-level fields."""
    tpl: dict[str, Any] = {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [copy.deepcopy(BODY_POSITIONAL)],
    }
    tpl.update(overrides)
    return tpl


def body(text: str, examples: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    comp: dict[str, Any] = {"type": "BODY", "text": text, **extra}
    if examples is not None:
        comp["example"] = {"body_text": [examples]}
    return comp


def with_buttons(*buttons: dict[str, Any], category: str = "UTILITY") -> dict[str, Any]:
    return base(
        category=category,
        components=[copy.deepcopy(BODY_POSITIONAL), {"type": "BUTTONS", "buttons": list(buttons)}],
    )


def header(name: str = "order_update", **fields: Any) -> dict[str, Any]:
    return base(
        name=name, components=[{"type": "HEADER", **fields}, copy.deepcopy(BODY_POSITIONAL)]
    )


def auth(*components: dict[str, Any]) -> dict[str, Any]:
    return base(name="login_code", category="AUTHENTICATION", components=list(components))


OTP_COPY = {"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}
AUTH_BODY = {"type": "BODY", "add_security_recommendation": True}
QR = {"type": "QUICK_REPLY", "text": "Yes"}
QR2 = {"type": "QUICK_REPLY", "text": "No"}
URL_STATIC = {"type": "URL", "text": "Open", "url": "https://example.com/help"}
PHONE = {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+14155550123"}
APP = {"package_name": "com.example.app", "signature_hash": "K8a/AINcGX7"}

# (id, template, field, a fragment of the message expected at that field)
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    # name
    ("name empty", base(name=""), "name", "Enter a name"),
    ("name upper case", base(name="Order_Update"), "name", "try “order_update”"),
    ("name spaces", base(name="order update"), "name", "try “order_update”"),
    ("name dash", base(name="order-update"), "name", "try “order_update”"),
    ("name symbols only", base(name="!!!"), "name", "for example order_update"),
    ("name too long", base(name="a" * 513), "name", "513 characters long"),
    ("name not text", base(name=42), "name", "Enter a name"),
    # language, category, variable format
    ("language empty", base(language=""), "language", "Choose the template's language"),
    ("language hyphen", base(language="en-US"), "language", "underscore, as Meta does: en_US"),
    ("language unknown", base(language="xx_YY"), "language", "no template language “xx_YY”"),
    ("category empty", base(category=""), "category", "Marketing, Utility or Authentication"),
    ("category unknown", base(category="SERVICE"), "category", "Marketing, Utility or"),
    ("format unknown", base(parameter_format="MIXED"), "parameter_format", "numbered ({{1}})"),
    # structure
    ("components not a list", base(components={"type": "BODY"}), "components", "cannot be read"),
    ("component not an object", base(components=["BODY"]), "components", "cannot be read"),
    (
        "unknown component",
        base(components=[copy.deepcopy(BODY_POSITIONAL), {"type": "SIDEBAR"}]),
        "components",
        "Unknown component “SIDEBAR”",
    ),
    (
        "two bodies",
        base(components=[copy.deepcopy(BODY_POSITIONAL), copy.deepcopy(BODY_POSITIONAL)]),
        "components",
        "two BODY components",
    ),
    (
        "carousel",
        base(components=[copy.deepcopy(BODY_POSITIONAL), {"type": "CAROUSEL", "cards": []}]),
        "components",
        "carousel templates cannot be created here",
    ),
    (
        "no body",
        base(components=[{"type": "FOOTER", "text": "Bye"}]),
        "components.body.text",
        "every template has one",
    ),
    # header
    (
        "header format unknown",
        header(format="AUDIO"),
        "components.header.format",
        "none, text, image",
    ),
    (
        "header text empty",
        header(format="TEXT", text=" "),
        "components.header.text",
        "Write the header text",
    ),
    (
        "header text too long",
        header(format="TEXT", text="x" * 61),
        "components.header.text",
        "61 characters long",
    ),
    (
        "header line break",
        header(format="TEXT", text="Hello\nthere"),
        "components.header.text",
        "one line",
    ),
    (
        "header two variables",
        header(format="TEXT", text="{{1}} and {{2}}", example={"header_text": ["a", "b"]}),
        "components.header.text",
        "one variable at most; it has 2",
    ),
    (
        "header variable not 1",
        header(format="TEXT", text="Sale on {{2}}", example={"header_text": ["shoes"]}),
        "components.header.text",
        "write {{1}}, not {{2}}",
    ),
    (
        "header example missing",
        header(format="TEXT", text="Our {{1}} sale"),
        "components.header.example",
        "header: {{1}}",
    ),
    (
        "header example empty",
        header(format="TEXT", text="Our {{1}} sale", example={"header_text": [" "]}),
        "components.header.example",
        "example for {{1}} is empty",
    ),
    (
        "header example without variable",
        header(format="TEXT", text="Our sale", example={"header_text": ["x"]}),
        "components.header.example",
        "takes no examples",
    ),
    ("image without sample", header(format="IMAGE"), "components.header.example", "sample image"),
    (
        "video without sample",
        header(format="VIDEO", example={"header_handle": []}),
        "components.header.example",
        "sample video",
    ),
    (
        "document without sample",
        header(format="DOCUMENT", example={"header_handle": [""]}),
        "components.header.example",
        "sample document",
    ),
    (
        "GIF in utility",
        header(format="GIF", example={"header_handle": [HANDLE]}),
        "components.header.format",
        "GIF headers are for Marketing",
    ),
    (
        "media header with text",
        header(format="IMAGE", text="x", example={"header_handle": [HANDLE]}),
        "components.header.text",
        "image header has no text",
    ),
    (
        "location with example",
        header(format="LOCATION", example={"header_text": ["x"]}),
        "components.header.example",
        "location header takes no example",
    ),
    # body
    (
        "body empty",
        base(components=[body("   ")]),
        "components.body.text",
        "Write the message body",
    ),
    (
        "body too long",
        base(components=[body("word " * 205)]),
        "components.body.text",
        "1025 characters long",
    ),
    (
        "body starts with variable",
        base(components=[body("{{1}} is your order number for today, thanks.", ["A-1"])]),
        "components.body.text",
        "may not start with a variable",
    ),
    (
        "body ends with variable",
        base(components=[body("Thanks for shopping with us, your order is {{1}}", ["A-1"])]),
        "components.body.text",
        "may not end with a variable",
    ),
    (
        "variables adjacent",
        base(components=[body("Hello there {{1}} {{2}} and welcome to our shop.", ["a", "b"])]),
        "components.body.text",
        "{{1}} and {{2}} stand next to each other",
    ),
    (
        "numbering gap",
        base(components=[body("Hi {{1}}, your code {{3}} works for one week.", ["a", "b"])]),
        "components.body.text",
        "{{2}} is missing",
    ),
    (
        "numbering starts at 2",
        base(components=[body("Hi {{2}}, thanks for your order with us.", ["a"])]),
        "components.body.text",
        "{{1}} is missing",
    ),
    (
        "too many variables for the words",
        base(components=[body("Hi {{1}}, {{2}}, {{3}} ok.", ["a", "b", "c"])]),
        "components.body.text",
        "too few words",
    ),
    (
        "named variable in numbered template",
        base(components=[body("Hi {{name}}, thanks for your order with us.")]),
        "components.body.text",
        "{{name}} is a named variable",
    ),
    (
        "number in named template",
        base(
            parameter_format="NAMED", components=[body("Hi {{1}}, thanks for your order with us.")]
        ),
        "components.body.text",
        "{{1}} is numbered",
    ),
    (
        "bad named variable",
        base(
            parameter_format="NAMED", components=[body("Hi {{First Name}}, thanks for your order.")]
        ),
        "components.body.text",
        "write {{first_name}} instead of {{First Name}}",
    ),
    (
        "spaces inside braces",
        base(components=[body("Hi {{ 1 }}, thanks for your order with us.", ["a"])]),
        "components.body.text",
        "Write {{1}} without spaces",
    ),
    (
        "single braces",
        base(components=[body("Hi {{1}, thanks for your order with us.")]),
        "components.body.text",
        "two braces on each side",
    ),
    (
        "body examples missing",
        base(components=[body("Hi {{1}}, your order {{2}} ships today from us.")]),
        "components.body.example",
        "{{1}}, {{2}}",
    ),
    (
        "body example short",
        base(components=[body("Hi {{1}}, your order {{2}} ships today from us.", ["Ann"])]),
        "components.body.example",
        "{{2}} has none",
    ),
    (
        "body examples too many",
        base(components=[body("Hi {{1}}, your order ships today from us.", ["Ann", "x"])]),
        "components.body.example",
        "1 variables but 2 examples",
    ),
    (
        "body example empty",
        base(components=[body("Hi {{1}}, your order ships today from us.", [""])]),
        "components.body.example",
        "example for {{1}} is empty",
    ),
    (
        "named examples in positional template",
        base(
            components=[
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, your order ships today from us.",
                    "example": {"body_text_named_params": [{"param_name": "a", "example": "b"}]},
                }
            ]
        ),
        "components.body.example",
        "give them as body_text",
    ),
    (
        "named example missing",
        base(
            parameter_format="NAMED",
            components=[
                {
                    **BODY_NAMED,
                    "example": {
                        "body_text_named_params": [{"param_name": "first_name", "example": "Ann"}]
                    },
                }
            ],
        ),
        "components.body.example",
        "{{order_id}} has none",
    ),
    (
        "named example for an unused name",
        base(
            parameter_format="NAMED",
            components=[
                {
                    **BODY_NAMED,
                    "example": {
                        "body_text_named_params": [
                            *BODY_NAMED["example"]["body_text_named_params"],
                            {"param_name": "city", "example": "Rome"},
                        ]
                    },
                }
            ],
        ),
        "components.body.example",
        "example for {{city}}, which the body does not use",
    ),
    # footer
    (
        "footer empty",
        base(components=[copy.deepcopy(BODY_POSITIONAL), {"type": "FOOTER", "text": ""}]),
        "components.footer.text",
        "Write the footer text",
    ),
    (
        "footer too long",
        base(components=[copy.deepcopy(BODY_POSITIONAL), {"type": "FOOTER", "text": "f" * 61}]),
        "components.footer.text",
        "61 characters long",
    ),
    (
        "footer variable",
        base(components=[copy.deepcopy(BODY_POSITIONAL), {"type": "FOOTER", "text": "Ref {{1}}"}]),
        "components.footer.text",
        "cannot contain variables",
    ),
    (
        "expiry in a utility footer",
        base(
            components=[
                copy.deepcopy(BODY_POSITIONAL),
                {"type": "FOOTER", "text": "x", "code_expiration_minutes": 5},
            ]
        ),
        "components.footer.code_expiration_minutes",
        "Only authentication templates",
    ),
    # buttons
    ("buttons empty", with_buttons(), "components.buttons", "Add at least one button"),
    (
        "eleven buttons",
        with_buttons(*[{"type": "QUICK_REPLY", "text": f"Option {i}"} for i in range(11)]),
        "components.buttons",
        "at most 10 buttons; this one has 11",
    ),
    (
        "three URL buttons",
        with_buttons(*[{**URL_STATIC, "text": f"Link {i}"} for i in range(3)]),
        "components.buttons",
        "at most 2 web address buttons",
    ),
    (
        "two phone buttons",
        with_buttons(PHONE, {**PHONE, "text": "Call 2"}),
        "components.buttons",
        "at most 1 call button",
    ),
    (
        "two copy code buttons",
        with_buttons(
            {"type": "COPY_CODE", "example": "SAVE10"},
            {"type": "COPY_CODE", "example": "SAVE20"},
            category="MARKETING",
        ),
        "components.buttons",
        "at most 1 copy-code button",
    ),
    (
        "quick replies interleaved",
        with_buttons(QR, URL_STATIC, QR2),
        "components.buttons",
        "Keep the quick-reply buttons together",
    ),
    (
        "unknown button",
        with_buttons({"type": "HOLOGRAM", "text": "x"}),
        "components.buttons.0.type",
        "“HOLOGRAM” is not a kind of button",
    ),
    (
        "button not an object",
        with_buttons("Yes"),
        "components.buttons.0.type",
        "Button 1 cannot be read",
    ),
    (
        "button text empty",
        with_buttons({"type": "QUICK_REPLY", "text": ""}),
        "components.buttons.0.text",
        "Button 1: write its text",
    ),
    (
        "button text too long",
        with_buttons({"type": "QUICK_REPLY", "text": "x" * 26}),
        "components.buttons.0.text",
        "26 characters long; at most 25",
    ),
    (
        "button text variable",
        with_buttons({"type": "QUICK_REPLY", "text": "Hi {{1}}"}),
        "components.buttons.0.text",
        "cannot contain variables",
    ),
    (
        "duplicate button texts",
        with_buttons(QR, {"type": "QUICK_REPLY", "text": "yes"}),
        "components.buttons.1.text",
        "Buttons 1 and 2 have the same text",
    ),
    (
        "URL missing",
        with_buttons({"type": "URL", "text": "Open"}),
        "components.buttons.0.url",
        "enter the web address",
    ),
    (
        "URL ftp",
        with_buttons({**URL_STATIC, "url": "ftp://example.com/a"}),
        "components.buttons.0.url",
        "must start with https://",
    ),
    (
        "URL not an address",
        with_buttons({**URL_STATIC, "url": "https://localhost"}),
        "components.buttons.0.url",
        "is not a web address",
    ),
    (
        "URL too long",
        with_buttons({**URL_STATIC, "url": "https://example.com/" + "a" * 2000}),
        "components.buttons.0.url",
        "at most 2000 characters",
    ),
    (
        "URL two variables",
        with_buttons({**URL_STATIC, "url": "https://example.com/{{1}}/{{2}}", "example": ["a"]}),
        "components.buttons.0.url",
        "one variable, at its end",
    ),
    (
        "URL variable in the middle",
        with_buttons({**URL_STATIC, "url": "https://example.com/{{1}}/track", "example": ["a"]}),
        "components.buttons.0.url",
        "must be at the end of the web address",
    ),
    (
        "URL variable named 2",
        with_buttons({**URL_STATIC, "url": "https://example.com/o/{{2}}", "example": ["a"]}),
        "components.buttons.0.url",
        "variable as {{1}}",
    ),
    (
        "URL variable in the domain",
        with_buttons({**URL_STATIC, "url": "https://example.com{{1}}", "example": ["a"]}),
        "components.buttons.0.url",
        "the domain must be fixed",
    ),
    (
        "URL example missing",
        with_buttons({**URL_STATIC, "url": "https://example.com/o/{{1}}"}),
        "components.buttons.0.example",
        "example of the end of the address",
    ),
    (
        "URL example without variable",
        with_buttons({**URL_STATIC, "example": ["x"]}),
        "components.buttons.0.example",
        "takes no example",
    ),
    (
        "phone missing",
        with_buttons({"type": "PHONE_NUMBER", "text": "Call"}),
        "components.buttons.0.phone_number",
        "enter the phone number",
    ),
    (
        "phone letters",
        with_buttons({**PHONE, "phone_number": "call-me"}),
        "components.buttons.0.phone_number",
        "“call-me” is not a valid phone number",
    ),
    (
        "phone invalid",
        with_buttons({**PHONE, "phone_number": "+1 000 000 0000"}),
        "components.buttons.0.phone_number",
        "not a valid phone number",
    ),
    (
        "copy code in utility",
        with_buttons({"type": "COPY_CODE", "example": "SAVE10"}),
        "components.buttons.0.type",
        "copy-code buttons are for Marketing",
    ),
    (
        "copy code without example",
        with_buttons({"type": "COPY_CODE"}, category="MARKETING"),
        "components.buttons.0.example",
        "enter an example offer code",
    ),
    (
        "copy code too long",
        with_buttons({"type": "COPY_CODE", "example": "C" * 16}, category="MARKETING"),
        "components.buttons.0.example",
        "at most 15 characters",
    ),
    (
        "copy code symbols",
        with_buttons({"type": "COPY_CODE", "example": "SAVE-10"}, category="MARKETING"),
        "components.buttons.0.example",
        "letters and digits only",
    ),
    (
        "OTP outside authentication",
        with_buttons(OTP_COPY),
        "components.buttons",
        "belong to Authentication templates",
    ),
    (
        "catalog with other buttons",
        with_buttons({"type": "CATALOG", "text": "View"}, QR, category="MARKETING"),
        "components.buttons",
        "catalog button has no other buttons",
    ),
    (
        "MPM in utility",
        with_buttons({"type": "MPM", "text": "View items"}),
        "components.buttons.0.type",
        "multi-product buttons are for Marketing",
    ),
    (
        "MPM without text header",
        with_buttons({"type": "MPM", "text": "View items"}, category="MARKETING"),
        "components.header.format",
        "multi-product template needs a text header",
    ),
    # authentication
    (
        "auth without button",
        auth(AUTH_BODY),
        "components.buttons",
        "need a one-time password button",
    ),
    (
        "auth with quick reply",
        auth(AUTH_BODY, {"type": "BUTTONS", "buttons": [QR]}),
        "components.buttons.0.type",
        "one-time password button only",
    ),
    (
        "auth two buttons",
        auth(AUTH_BODY, {"type": "BUTTONS", "buttons": [OTP_COPY, OTP_COPY]}),
        "components.buttons",
        "exactly one button",
    ),
    (
        "auth with own text",
        auth(
            {"type": "BODY", "text": "Your code is here"},
            {"type": "BUTTONS", "buttons": [OTP_COPY]},
        ),
        "components.body.text",
        "Meta writes the text",
    ),
    (
        "auth with header",
        auth(
            {"type": "HEADER", "format": "TEXT", "text": "Code"},
            AUTH_BODY,
            {"type": "BUTTONS", "buttons": [OTP_COPY]},
        ),
        "components.header.format",
        "have no header",
    ),
    (
        "auth footer text",
        auth(
            AUTH_BODY, {"type": "FOOTER", "text": "Bye"}, {"type": "BUTTONS", "buttons": [OTP_COPY]}
        ),
        "components.footer.text",
        "no footer text",
    ),
    (
        "auth expiry 0",
        auth(
            AUTH_BODY,
            {"type": "FOOTER", "code_expiration_minutes": 0},
            {"type": "BUTTONS", "buttons": [OTP_COPY]},
        ),
        "components.footer.code_expiration_minutes",
        "from 1 to 90",
    ),
    (
        "auth expiry 91",
        auth(
            AUTH_BODY,
            {"type": "FOOTER", "code_expiration_minutes": 91},
            {"type": "BUTTONS", "buttons": [OTP_COPY]},
        ),
        "components.footer.code_expiration_minutes",
        "from 1 to 90",
    ),
    (
        "auth expiry text",
        auth(
            AUTH_BODY,
            {"type": "FOOTER", "code_expiration_minutes": "10"},
            {"type": "BUTTONS", "buttons": [OTP_COPY]},
        ),
        "components.footer.code_expiration_minutes",
        "whole number",
    ),
    (
        "auth recommendation not yes/no",
        auth(
            {"type": "BODY", "add_security_recommendation": "yes"},
            {"type": "BUTTONS", "buttons": [OTP_COPY]},
        ),
        "components.body.add_security_recommendation",
        "yes or no",
    ),
    (
        "auth without body",
        auth({"type": "BUTTONS", "buttons": [OTP_COPY]}),
        "components",
        "Add a BODY component",
    ),
    (
        "OTP type unknown",
        auth(AUTH_BODY, {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "SMS"}]}),
        "components.buttons.0.otp_type",
        "copy code, one-tap autofill or zero-tap",
    ),
    (
        "one tap without app",
        auth(AUTH_BODY, {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "ONE_TAP"}]}),
        "components.buttons.0.supported_apps",
        "need your Android app",
    ),
    (
        "one tap bad package",
        auth(
            AUTH_BODY,
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "OTP",
                        "otp_type": "ONE_TAP",
                        "supported_apps": [{**APP, "package_name": "example"}],
                    }
                ],
            },
        ),
        "components.buttons.0.supported_apps",
        "“example” is not an Android package name",
    ),
    (
        "one tap bad signature",
        auth(
            AUTH_BODY,
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "OTP",
                        "otp_type": "ONE_TAP",
                        "supported_apps": [{**APP, "signature_hash": "short"}],
                    }
                ],
            },
        ),
        "components.buttons.0.supported_apps",
        "signature hash is 11 characters",
    ),
    (
        "six apps",
        auth(
            AUTH_BODY,
            {
                "type": "BUTTONS",
                "buttons": [{"type": "OTP", "otp_type": "ONE_TAP", "supported_apps": [APP] * 6}],
            },
        ),
        "components.buttons.0.supported_apps",
        "at most 5 apps",
    ),
    (
        "zero tap without terms",
        auth(
            AUTH_BODY,
            {
                "type": "BUTTONS",
                "buttons": [{"type": "OTP", "otp_type": "ZERO_TAP", "supported_apps": [APP]}],
            },
        ),
        "components.buttons.0.zero_tap_terms_accepted",
        "accept Meta's zero-tap terms",
    ),
    (
        "OTP text too long",
        auth(AUTH_BODY, {"type": "BUTTONS", "buttons": [{**OTP_COPY, "text": "t" * 26}]}),
        "components.buttons.0.text",
        "at most 25 characters",
    ),
]


def test_the_matrix_is_large_enough() -> None:
    assert len(BAD) >= 60
    assert len({case[0] for case in BAD}) == len(BAD)


@pytest.mark.parametrize(("case", "template", "field", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_template_is_refused_at_its_field(
    case: str, template: dict[str, Any], field: str, fragment: str
) -> None:
    with translation.override("en"):
        problems = template_problems(**template)
    assert field in problems, f"{case}: {problems}"
    assert any(fragment in message for message in problems[field]), (case, problems[field])


# --- Every good kind: our validator and the mock Meta server accept it --------------------


def good_templates(handle: str) -> dict[str, dict[str, Any]]:
    media = {"example": {"header_handle": [handle]}}
    return {
        "text only": base(name="text_only"),
        "text header with a variable, footer, quick replies": base(
            name="summer_sale",
            category="MARKETING",
            components=[
                {
                    "type": "HEADER",
                    "format": "TEXT",
                    "text": "Our {{1}} is on!",
                    "example": {"header_text": ["Summer Sale"]},
                },
                copy.deepcopy(BODY_POSITIONAL),
                {"type": "FOOTER", "text": "Reply STOP to opt out"},
                {"type": "BUTTONS", "buttons": [QR, QR2]},
            ],
        ),
        "image header": header(name="with_image", format="IMAGE", **media),
        "video header": header(name="with_video", format="VIDEO", **media),
        "document header": header(name="with_document", format="DOCUMENT", **media),
        "location header": header(name="with_location", format="LOCATION"),
        "GIF header": {
            **header(format="GIF", **media),
            "name": "with_gif",
            "category": "MARKETING",
        },
        "named variables in header and body": base(
            name="named_vars",
            parameter_format="NAMED",
            components=[
                {
                    "type": "HEADER",
                    "format": "TEXT",
                    "text": "Order {{order_id}}",
                    "example": {
                        "header_text_named_params": [{"param_name": "order_id", "example": "A-1"}]
                    },
                },
                copy.deepcopy(BODY_NAMED),
            ],
        ),
        "URL static and with a suffix, phone, quick replies after": {
            **with_buttons(
                URL_STATIC,
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://example.com/track/{{1}}",
                    "example": ["A-1001"],
                },
                PHONE,
                QR,
                QR2,
            ),
            "name": "all_ctas",
        },
        "copy code": {
            **with_buttons({"type": "COPY_CODE", "example": "SAVE10"}, category="MARKETING"),
            "name": "coupon",
        },
        "catalog": {
            **with_buttons({"type": "CATALOG", "text": "View catalog"}, category="MARKETING"),
            "name": "catalog_offer",
        },
        "multi-product": base(
            name="mpm_offer",
            category="MARKETING",
            components=[
                {"type": "HEADER", "format": "TEXT", "text": "Picked for you"},
                copy.deepcopy(BODY_POSITIONAL),
                {"type": "BUTTONS", "buttons": [{"type": "MPM", "text": "View items"}]},
            ],
        ),
        "authentication, copy code": auth(
            AUTH_BODY,
            {"type": "FOOTER", "code_expiration_minutes": 10},
            {"type": "BUTTONS", "buttons": [OTP_COPY]},
        ),
        "authentication, one tap": {
            **auth(
                {"type": "BODY"},
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {
                            "type": "OTP",
                            "otp_type": "ONE_TAP",
                            "text": "Copy code",
                            "autofill_text": "Autofill",
                            "supported_apps": [APP],
                        }
                    ],
                },
            ),
            "name": "login_one_tap",
        },
        "authentication, zero tap": {
            **auth(
                AUTH_BODY,
                {"type": "FOOTER", "code_expiration_minutes": 90},
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {
                            "type": "OTP",
                            "otp_type": "ZERO_TAP",
                            "zero_tap_terms_accepted": True,
                            "supported_apps": [APP],
                        }
                    ],
                },
            ),
            "name": "login_zero_tap",
        },
    }


@pytest.mark.parametrize("kind", sorted(good_templates(HANDLE)))
def test_every_good_kind_passes_the_validator(kind: str) -> None:
    template = good_templates(HANDLE)[kind]
    assert template_problems(**template) == {}
    assert template_warnings(**template) == []


def test_every_good_kind_is_accepted_by_the_mock(mock_meta: Any) -> None:
    seeded = mock_meta.seed()
    client = GraphClient(
        base_url=mock_meta.base_url,
        token=seeded["token"],
        app_id=mock_meta.app_id,
        app_secret=mock_meta.app_secret,
        retry_policy=RetryPolicy(max_attempts=1),
    )
    handle = client.resumable_upload(b"\xff\xd8\xff\xe0 a jpeg", "image/jpeg", file_name="a.jpg")
    templates = good_templates(handle)
    assert len(templates) >= 15
    for kind, template in templates.items():
        assert template_problems(**template) == {}, kind
        answer = client.template_create(seeded["waba_id"], **template)
        assert answer["id"] and answer["status"] in ("PENDING", "APPROVED"), (kind, answer)
    names = {t["name"] for t in client.templates_list(seeded["waba_id"], fields=["name"])}
    assert {t["name"] for t in templates.values()} <= names


# --- Rules that read the WABA's templates --------------------------------------------------


@pytest.mark.django_db
def test_a_taken_name_and_the_30_day_rule(world: World, connected_waba: Connected) -> None:
    waba = connected_waba.waba
    with tenant_scope(world.tenant):
        Template.objects.create(
            tenant=world.tenant,
            waba=waba,
            name="order_update",
            language="en_US",
            category="UTILITY",
            status="APPROVED",
            meta_template_id="900000000000001",
            components=[BODY_POSITIONAL],
        )
        taken = template_problems(**base(), waba=waba)
        assert "already exists in en_US" in taken["name"][0]
        # the same name in another language is a translation, not a clash
        assert template_problems(**base(language="de"), waba=waba) == {}
        # the template being edited does not clash with itself
        existing = Template.objects.get(name="order_update")
        assert template_problems(**base(), waba=waba, existing=existing) == {}

        deleted_at = timezone.now() - timedelta(days=10)
        Template.objects.create(
            tenant=world.tenant,
            waba=waba,
            name="old_offer",
            language="en_US",
            category="MARKETING",
            status="DELETED",
            ever_approved=True,
            deleted_at=deleted_at,
            components=[BODY_POSITIONAL],
        )
        with translation.override("en"):
            blocked = template_problems(**base(name="old_offer"), waba=waba)
        message = blocked["name"][0]
        assert "was deleted on" in message and "again from" in message
        from django.utils import formats

        reusable = timezone.localtime(deleted_at + timedelta(days=30))
        assert formats.date_format(reusable, "DATE_FORMAT") in message
        # in another language, or another tenant's WABA, the name is free
        assert template_problems(**base(name="old_offer", language="de"), waba=waba) == {}
    with tenant_scope(world.other_tenant):
        from tests.factories import WhatsAppAccountFactory

        other = WhatsAppAccountFactory(tenant=world.other_tenant)
        assert template_problems(**base(name="old_offer"), waba=other) == {}
        assert template_problems(**base(), waba=other) == {}


# --- The category hint ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Hi {{1}}, enjoy 20% off everything in our summer sale this week.",
        "Hallo {{1}}, nur heute: 20 Rabatt auf alles in unserem Laden.",
        "Привет, {{1}}! Только сегодня скидка на все товары в магазине.",
    ],
)
def test_marketing_words_in_a_utility_template_are_a_warning_not_a_refusal(text: str) -> None:
    template = base(components=[body(text, ["Ann"])])
    assert template_problems(**template) == {}
    with translation.override("en"):
        warnings = template_warnings(**template)
    assert len(warnings) == 1 and "reads like Marketing" in warnings[0]
    assert template_warnings(**{**template, "category": "MARKETING"}) == []


def test_languages_are_meta_codes_with_their_own_names() -> None:
    assert {"en_US", "de", "ru", "pt_BR", "zh_CN", "es_MX"} <= set(TEMPLATE_LANGUAGES)
    assert all("-" not in code for code in TEMPLATE_LANGUAGES)
    assert language_label("de") == "Deutsch · de"
    assert language_label("xx") == "xx"
