"""Encryption at rest for secrets kept in the database (Meta tokens, PINs).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256). Keys come from
``FIELD_ENCRYPTION_KEYS`` (newest first, so keys can be rotated) or, when that is
unset, one key derived from ``SECRET_KEY`` with HKDF. A decrypted value is never put
in ``repr`` and the field refuses to be serialised in clear.
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models


class Secret(str):
    """A decrypted secret: behaves as a str, with a masked ``repr``.

    Only ``repr`` is masked (``%r``, debug output, reprs of objects holding it): as a
    str it still formats as itself, so never pass one to a ``%s`` log argument or an
    f-string. The Graph client's log lines go through ``waba_portal.graph.redact``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"waba-portal", info=b"field-encryption"
        ).derive(settings.SECRET_KEY.encode())
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> Secret:
    try:
        return Secret(_fernet().decrypt(token.encode()).decode())
    except InvalidToken as exc:
        raise ValueError("secret could not be decrypted with the configured keys") from exc


class EncryptedTextField(models.TextField):
    """A text column whose value is stored encrypted and read back as a :class:`Secret`."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Secret | None:
        if value is None or value == "":
            return None if value is None else Secret("")
        return decrypt(value)

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, Secret):
            return value
        return Secret(value)

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def value_to_string(self, obj: Any) -> str:
        # dumpdata and serialisers get the ciphertext, never the secret.
        value = self.value_from_object(obj)
        return "" if value is None else encrypt(str(value))
