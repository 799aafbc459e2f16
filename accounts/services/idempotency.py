"""Idempotent POSTs: the first answer to an ``Idempotency-Key``, kept and given again.

Stripe's semantics, per workspace and credential (an API key, or a signed-in member):

- a key is 1 to 255 characters (else 400 ``idempotency_key_invalid``);
- the first request with a key runs, and its answer (status, body) is kept for
  ``IDEMPOTENCY_KEY_TTL_HOURS`` (24);
- the same key with the same request (method, path and body; JSON compared in canonical
  form) answers that kept response again, marked ``Idempotent-Replayed: true``;
- the same key with another request answers 422 ``idempotency_key_reused``;
- while the first still runs, a second answers 409 ``idempotency_key_in_use``;
- an answer of 5xx (our fault; nothing was written) is not kept: a retry runs again.

The rows live in PostgreSQL (``accounts.IdempotencyKey``), so they hold across web
processes and restarts; the row is committed before the view runs, which is what makes
the concurrent second request see it. The beat task ``accounts.tasks.
idempotency_keys_expire`` deletes expired rows. The DRF side is ``accounts.idempotency``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import IdempotencyKeyInUse, IdempotencyKeyInvalid, IdempotencyKeyReused
from accounts.models import IdempotencyKey, IdempotencyState
from accounts.tenancy import require_tenant, unscoped

KEY_MAX = 255
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Replay:
    """The kept answer of the first request with this key."""

    status: int
    body: Any
    headers: dict[str, str]


def idempotency_key_check(key: str) -> str:
    """The header's value, if it is a usable key; else ``IdempotencyKeyInvalid`` (400)."""
    if not key or not key.strip():
        raise IdempotencyKeyInvalid(
            _("The Idempotency-Key header is empty: send a unique value, such as a UUID.")
        )
    if len(key) > KEY_MAX:
        raise IdempotencyKeyInvalid(
            _("An Idempotency-Key has at most %(max)d characters; this one has %(length)d.")
            % {"max": KEY_MAX, "length": len(key)}
        )
    return key


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    """SHA-256 of what makes two requests the same: method, path and body.

    A JSON body counts by its content, not its spacing or key order.
    """
    try:
        canonical = json.dumps(
            json.loads(body or b"null"), sort_keys=True, separators=(",", ":")
        ).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def idempotency_begin(
    *, credential: str, key: str, method: str, path: str, fingerprint: str
) -> IdempotencyKey | Replay:
    """Hold ``key`` for this request (the row, committed), or the first request's answer.

    Raises ``IdempotencyKeyReused`` (422) for another request under the same key and
    ``IdempotencyKeyInUse`` (409) while the first one runs.
    """
    key = idempotency_key_check(key)
    tenant = require_tenant()
    for _attempt in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    tenant=tenant,
                    credential=credential,
                    key=key,
                    fingerprint=fingerprint,
                    method=method.upper(),
                    path=path[:512],
                    locked_until=now + timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS),
                    expires_at=now + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
                )
        except IntegrityError:
            pass  # the key is known: look at what it holds
        with transaction.atomic():
            existing = (
                IdempotencyKey.objects.select_for_update()
                .filter(credential=credential, key=key)
                .first()
            )
            if existing is None:
                continue  # deleted meanwhile (expired): hold it anew
            if existing.expires_at <= now:
                existing.delete()
                continue
            if existing.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    _(
                        "This Idempotency-Key was used for another request (%(method)s "
                        "%(path)s with another body). Use a new key for a new request."
                    )
                    % {"method": existing.method, "path": existing.path}
                )
            if existing.state == IdempotencyState.DONE:
                return Replay(
                    status=existing.response_status or 200,
                    body=json.loads(existing.response_body or "null"),
                    headers=dict(existing.response_headers or {}),
                )
            if existing.locked_until > now:
                raise IdempotencyKeyInUse(
                    _(
                        "A request with this Idempotency-Key is still running. Wait for its "
                        "answer, then send this again to get the same answer."
                    )
                )
            # The request that held it died without an answer: this one runs instead.
            existing.locked_until = now + timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS)
            existing.save(update_fields=["locked_until"])
            return existing
    raise IdempotencyKeyInUse(_("This Idempotency-Key is busy; try again in a moment."))


def idempotency_finish(
    *, record: IdempotencyKey, status: int, body: Any, headers: dict[str, str]
) -> None:
    """Keep the answer of the request that held ``record``."""
    IdempotencyKey.objects.filter(pk=record.pk).update(
        state=IdempotencyState.DONE,
        response_status=status,
        response_body=json.dumps(body),
        response_headers=headers,
        locked_until=timezone.now(),
    )


def idempotency_release(*, record: IdempotencyKey) -> None:
    """Forget ``record`` (the request failed on our side): the next try runs again."""
    IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyState.RUNNING).delete()


def idempotency_keys_expire() -> int:
    """Delete every workspace's kept answers past their time."""
    with unscoped():
        deleted, _rows = IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
