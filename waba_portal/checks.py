"""Deployment checks (``manage.py check --deploy``) for settings Django does not know."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def secrets_configured(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    if not settings.FIELD_ENCRYPTION_KEYS:
        found.append(
            Warning(
                "FIELD_ENCRYPTION_KEYS is not set: Meta tokens and PINs are encrypted with a "
                "key derived from SECRET_KEY, so rotating SECRET_KEY makes them unreadable.",
                hint="Generate a key with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'` and set FIELD_ENCRYPTION_KEYS to it.",
                id="waba_portal.W001",
            )
        )
    if not settings.META_APP_SECRET or not settings.META_WEBHOOK_VERIFY_TOKEN:
        found.append(
            Warning(
                "META_APP_SECRET or META_WEBHOOK_VERIFY_TOKEN is not set: Meta's webhook "
                "handshake and signatures cannot be checked, so every webhook is refused.",
                hint="Set both to the values of your Meta app (App Dashboard > App settings "
                "> Basic, and the Webhooks product's verify token).",
                id="waba_portal.W002",
            )
        )
    return found
