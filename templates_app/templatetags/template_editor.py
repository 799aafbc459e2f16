"""Filters of the template editor's pages (templates_app/templates/templates_app/editor*)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def errors_at(errors: dict[str, list[str]] | None, field: str) -> list[str]:
    """The messages shown at ``field`` (``{{ errors|errors_at:"name" }}``)."""
    return list((errors or {}).get(str(field), []))


@register.filter
def item(mapping: dict[str, Any] | None, key: Any) -> Any:
    """``mapping[key]``, or "" (``{{ draft.body_examples|item:token }}``)."""
    return (mapping or {}).get(str(key), "")


@register.simple_tag
def button_field(index: int, name: str) -> str:
    """The form name of a button row's field: ``buttons-<index>-<name>``."""
    return f"buttons-{index}-{name}"
