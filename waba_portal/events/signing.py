"""The Standard Webhooks signature (https://www.standardwebhooks.com/), as integrators check it.

A secret is ``whsec_`` and the base64 of 32 random bytes. Each delivery carries

- ``webhook-id``: the event's id (the same on every retry, so receivers drop repeats);
- ``webhook-timestamp``: seconds since the epoch, when this attempt was signed;
- ``webhook-signature``: ``v1,`` and the base64 of HMAC-SHA256 over
  ``{id}.{timestamp}.{body}`` with the secret's bytes; during a rotation's grace time a
  second signature (the old secret's) follows, separated by a space.

Any Standard Webhooks library verifies it (a test does, with the PyPI package).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 (a marker, not a secret)


def secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(
    secrets_: Iterable[str], *, msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The headers of one attempt, signed with each of ``secrets_`` (newest first)."""
    return {
        "content-type": "application/json",
        "user-agent": "WABA-Portal-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_
        ),
    }
