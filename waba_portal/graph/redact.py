"""Scrub secrets from anything that may end up in a log line or an exception.

Secrets in Graph calls: access tokens (``Authorization`` header, ``access_token`` /
``input_token`` query parameters, ``Bearer``/``OAuth`` strings), the app secret
(``client_secret``, ``APP_ID|APP_SECRET`` app tokens), the OAuth ``code`` of Embedded
Signup, verification codes (``code``) and two-step PINs (``pin``).

:func:`redact` works on strings (URLs, query strings, JSON text, header values),
mappings and sequences, recursively, and also replaces any literal ``secrets`` passed
in (the client passes the tokens and app secret it knows, which catches a token echoed
inside an error message).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, overload

__all__ = ["REDACTED", "SENSITIVE_HEADERS", "SENSITIVE_KEYS", "redact", "redact_headers"]

REDACTED = "[REDACTED]"

#: Parameter / JSON field names whose values are secret.
SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "access_token",
        "input_token",
        "client_secret",
        "app_secret",
        "appsecret_proof",
        "fb_exchange_token",
        "code",
        "pin",
        "password",
        "verify_token",
        "hub.verify_token",
        "authorization",
    }
)

SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-hub-signature-256"}
)

_KEYS_RE = "|".join(re.escape(k) for k in sorted(SENSITIVE_KEYS, key=len, reverse=True))
# key=value in URLs, query strings and form bodies
_QUERY_RE = re.compile(rf"(?i)((?:^|[?&;\s])(?:{_KEYS_RE})=)[^&#\s;]*")
# "key": "value" in JSON text
_JSON_RE = re.compile(rf'(?i)("(?:{_KEYS_RE})"\s*:\s*)"(?:[^"\\]|\\.)*"')
# Authorization header values
_AUTH_RE = re.compile(r"(?i)\b(Bearer|OAuth)\s+[^\s,;\"']+")
# App access tokens: APP_ID|APP_SECRET
_APP_TOKEN_RE = re.compile(r"\b(\d{6,})\|[A-Za-z0-9_\-]{8,}")


def _redact_str(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _AUTH_RE.sub(rf"\1 {REDACTED}", text)
    text = _APP_TOKEN_RE.sub(rf"\1|{REDACTED}", text)
    text = _QUERY_RE.sub(rf"\1{REDACTED}", text)
    text = _JSON_RE.sub(rf'\1"{REDACTED}"', text)
    return text


@overload
def redact(value: str, *, secrets: Iterable[str] = ()) -> str: ...


@overload
def redact(value: Any, *, secrets: Iterable[str] = ()) -> Any: ...


def redact(value: Any, *, secrets: Iterable[str] = ()) -> Any:
    """Return a copy of ``value`` with secrets replaced by ``[REDACTED]``.

    Strings are scanned for ``key=value`` pairs, JSON ``"key": "value"`` pairs,
    ``Bearer``/``OAuth`` credentials, ``APP_ID|SECRET`` app tokens and the literal
    ``secrets``. In mappings, values under a sensitive key are replaced, except integer
    ``code`` values (Graph error codes are not secret).
    """
    secrets = tuple(s for s in secrets if s)
    if isinstance(value, str):
        return _redact_str(value, secrets)
    if isinstance(value, bytes):
        return _redact_str(value.decode("utf-8", "replace"), secrets)
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            lkey = key.lower() if isinstance(key, str) else key
            if lkey in SENSITIVE_KEYS and item is not None:
                if lkey == "code" and isinstance(item, int) and not isinstance(item, bool):
                    out[key] = item
                elif isinstance(item, Mapping | list | tuple):
                    out[key] = redact(item, secrets=secrets)
                else:
                    out[key] = REDACTED
            else:
                out[key] = redact(item, secrets=secrets)
        return out
    if isinstance(value, list | tuple):
        return type(value)(redact(item, secrets=secrets) for item in value)
    return value


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with credential-bearing values replaced."""
    return {
        k: (REDACTED if k.lower() in SENSITIVE_HEADERS else redact(v)) for k, v in headers.items()
    }
