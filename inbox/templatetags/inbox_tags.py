"""How the inbox's pages show a message, a file and a number.

``{% message_parts message as parts %}`` and ``{% tick message as t %}`` are
``inbox.display``'s (which the list and the thread use, worked out once per page); the
filters say a file's size, why a file could not be fetched and a number as people
write it. ``{% thread_items %}`` and ``{% list_items %}`` place a thread's messages and
the list's rows, rendered by Jinja2 (``waba_portal/jinja.py``).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template import engines
from django.template.context import Context
from django.utils.safestring import SafeString, mark_safe

from inbox import display, failures, phones
from inbox.models import Message

register = template.Library()


def _jinja(name: str, context: dict[str, Any]) -> SafeString:
    """A template repeated per item of a long page, rendered by Jinja2
    (``waba_portal/jinja.py`` says why), into a Django page."""
    html = engines["jinja2"].get_template(name).render(context)
    return mark_safe(html)  # noqa: S308 - Jinja2 escaped every value (waba_portal/jinja.py)


@register.simple_tag(takes_context=True)
def thread_items(context: Context) -> SafeString:
    """The thread's messages and notes (``bubbles``): ``inbox/jinja2/inbox/_items.html``."""
    return _jinja(
        "inbox/_items.html",
        {
            "bubbles": context["bubbles"],
            "words": context["bubble_words"],
            "media_href": display.path_by_id(
                "inbox:media_file", "media_pk", tenant_slug=context["tenant"].slug
            ),
        },
    )


@register.simple_tag(takes_context=True)
def list_items(context: Context) -> SafeString:
    """The list's conversations (``list_rows``): ``inbox/jinja2/inbox/_list_rows.html``."""
    return _jinja(
        "inbox/_list_rows.html", {"rows": context["list_rows"], "words": context["list_words"]}
    )


@register.simple_tag
def message_parts(message: Message) -> dict[str, Any]:
    """The parts of ``message`` the thread shows, by kind (``display.message_parts``)."""
    return display.message_parts(message)


@register.simple_tag
def tick(message: Message) -> dict[str, str]:
    """The tick of an outbound message: its sign, its class and its status in words."""
    return display.tick(message)


@register.filter
def filesize(value: int | None) -> str:
    if not value:
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


@register.filter(name="media_problem")
def media_problem_words(problem: str) -> str:
    """Why a media file could not be fetched, in words."""
    return failures.media_problem(problem)


@register.filter
def phone_international(value: str | None) -> str:
    """An E.164 number as people write it ("+49 1511 2345678"); anything else as it is."""
    return phones.international(value)
