"""The processing kick: one draining task queued or running, whatever the traffic.

Under load thousands of deliveries arrive per minute; one task that drains them in
batches beats one task per delivery (each would find its delivery already taken by a
neighbour's batch). A flag says that a drain is queued or running; only the request
that sets it queues one. The drain refreshes the flag while it works and releases it
when it ends, then looks once more (:mod:`.drain`), so nothing that arrived meanwhile
waits for the sweeper.

This module is also the one place that queues ``process_deliveries``
(:func:`deliveries_enqueue`): replay and the sweeper go through it too.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

from waba_portal.webhooks.tasks import process_deliveries

logger = logging.getLogger(__name__)

KICK_KEY = "webhooks:processing-kick"


class _KickFlag:
    """The "a drain is queued or running" flag, in Redis when there is one.

    It is checked after every webhook POST, so with Redis it is one ``SET NX EX`` on a
    kept connection (Django's cache API costs several times more per call), and a web
    process that saw the flag set skips the check for ``WEBHOOK_KICK_LOCAL_SECONDS``.
    That skip is safe because a drain, after releasing the flag, waits longer than that
    window (``kick_grace``) before its last look: a delivery whose kick was skipped was
    committed before the window ended, so the last look finds it. Local runs without
    Redis use the cache (a file cache), where the price does not matter.
    """

    def __init__(self) -> None:
        self._seen_set_at = float("-inf")

    @property
    def kick_grace(self) -> float:
        return settings.WEBHOOK_KICK_LOCAL_SECONDS * 5 + 0.05

    @functools.cached_property
    def _redis(self) -> Any:
        if not settings.REDIS_URL:
            return None
        import redis

        return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)

    @property
    def _key(self) -> str:
        return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{KICK_KEY}"

    def claim(self) -> bool:
        """True if this call set the flag (and so must queue a drain)."""
        now = time.monotonic()
        if now - self._seen_set_at < settings.WEBHOOK_KICK_LOCAL_SECONDS:
            return False
        ttl = settings.WEBHOOK_KICK_TTL_SECONDS
        if self._redis is None:
            claimed = bool(cache.add(KICK_KEY, 1, timeout=ttl))
        else:
            claimed = bool(self._redis.set(self._key, 1, nx=True, ex=ttl))
        self._seen_set_at = now
        return claimed

    def back_off(self) -> None:
        """After a failed check: do not pay the connection timeout on every request."""
        self._seen_set_at = time.monotonic()

    def refresh(self) -> None:
        ttl = settings.WEBHOOK_KICK_TTL_SECONDS
        if self._redis is None:
            cache.set(KICK_KEY, 1, timeout=ttl)
        else:
            self._redis.set(self._key, 1, ex=ttl)

    def release(self) -> None:
        if self._redis is None:
            cache.delete(KICK_KEY)
        else:
            self._redis.delete(self._key)


kick_flag = _KickFlag()


def processing_kick() -> None:
    """Queue one draining task, unless one is queued or running already.

    Runs once the delivery is committed (``delivery_store`` hands it to ``on_commit``;
    the intake has no transaction, so that is at once) and queues right away: the POST
    is answered only after this, and must not wait for anything more.
    """
    try:
        claimed = kick_flag.claim()
    except Exception:  # Redis is down: the delivery is stored; the sweeper will take it
        logger.warning("could not reach Redis to kick webhook processing; the sweeper will")
        kick_flag.back_off()
        return
    if claimed and not deliveries_enqueue():
        kick_flag.release()  # or every POST would skip the kick until the flag expires


def deliveries_enqueue(*, delivery_ids: list[int] | None = None, force: bool = False) -> bool:
    """Queue ``process_deliveries`` now: the given deliveries, or (without ids) a drain.

    Callers decide when (the replay hands this to ``on_commit``). Returns False when
    the broker refused the message; that loses nothing, since the deliveries are
    stored and the sweeper queues them later.
    """
    kwargs: dict[str, Any] = {}
    if delivery_ids is not None:
        kwargs["delivery_ids"] = delivery_ids
    if force:
        kwargs["force"] = True
    try:
        process_deliveries.apply_async(kwargs=kwargs)
    except Exception:  # the broker is down: the sweeper picks the delivery up later
        logger.exception("could not queue webhook processing; the sweeper will retry")
        return False
    return True
