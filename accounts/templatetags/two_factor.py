"""The set-up page's QR code and secret, drawn on the server (no script, no image request)."""

from __future__ import annotations

from base64 import b32encode

import segno
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def totp_qr(device: object) -> SafeString:
    """The device's otpauth:// link as an inline SVG QR code, for the app to scan."""
    qr = segno.make(device.config_url, error="m")  # type: ignore[attr-defined]
    # segno writes the markup itself from the link's bits: nothing in it comes from a person.
    return mark_safe(  # noqa: S308
        qr.svg_inline(scale=4, dark="#000", light="#fff", svgclass="two-factor-qr", lineclass=None)
    )


@register.filter
def totp_secret(device: object) -> str:
    """The secret as people type it into an app: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")  # type: ignore[attr-defined]
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
