"""How the inbox's pages show a file and a number, and place their Jinja2 parts.

The filters say a file's size, why a file could not be fetched and a number as people
write it (in both engines: ``waba_portal/jinja.py`` registers them). ``{% jinja name %}``
places a Jinja2 template in a Django page: the inbox's list, thread and side panel.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template import engines
from django.template.context import Context
from django.utils.safestring import SafeString, mark_safe

from inbox import failures, phones

register = template.Library()


@register.simple_tag(takes_context=True)
def jinja(context: Context, name: str) -> SafeString:
    """``{% jinja "inbox/_page.html" %}``: a Jinja2 template of ``<app>/jinja2/`` placed
    in a Django page, with the page's context and request (``waba_portal/jinja.py`` says
    why the inbox's pages are rendered by Jinja2)."""
    template = engines["jinja2"].get_template(name)
    values: dict[str, Any] = {str(k): v for k, v in context.flatten().items()}
    html = template.render(values, request=context.get("request"))
    return mark_safe(html)  # noqa: S308 - Jinja2 escaped every value (waba_portal/jinja.py)


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
