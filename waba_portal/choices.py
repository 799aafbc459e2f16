"""A stored choice in words, also for a value the code does not know (yet)."""

from __future__ import annotations

from django.db import models


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """The label of ``value``, or the value as stored when it is none of ``choices`` (a
    value Meta sent that is new to us, a row from before a choice was renamed)."""
    return str(choices(value).label) if value in choices.values else value
