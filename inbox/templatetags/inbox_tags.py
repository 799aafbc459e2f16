"""How the inbox's pages show a message, a file and a number.

``{% message_parts message as parts %}`` and ``{% tick message as t %}`` are
``inbox.display``'s (which the list and the thread use, worked out once per page); the
filters say a file's size, why a file could not be fetched and a number as people
write it.
"""

from __future__ import annotations

from typing import Any

from django import template

from inbox import display, failures, phones
from inbox.models import Message

register = template.Library()


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
