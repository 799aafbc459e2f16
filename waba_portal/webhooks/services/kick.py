"""The processing kick: one draining task queued or running, whatever the traffic.

Under load thousands of deliveries arrive per minute; one task that drains them in
batches beats one task per delivery (each would find its delivery already taken by a
neighbour's batch). A flag says that a drain is queued or running; only the request
that sets it queues one. A running drain holds the flag (:meth:`_KickFlag.held`): it
takes it, a heartbeat keeps its short expiry from running out while the drain works,
and it is released when the drain ends, however it ends. Then the drain looks once
more (:mod:`.drain`), so nothing that arrived meanwhile waits for the sweeper.

A drain that dies without a word (killed, its machine gone) stops its heartbeat: the
flag expires ``WEBHOOK_KICK_TTL_SECONDS`` later, and the next POST, or the sweeper,
queues a new drain.

This module is also the one place that queues ``process_deliveries``
(:func:`deliveries_enqueue`): replay and the sweeper go through it too.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import cache

from waba_portal.webhooks.tasks import process_deliveries

logger = logging.getLogger(__name__)

KICK_KEY = "webhooks:processing-kick"

# Deletes the flag only while it still holds the given value: a drain never releases a
# flag that someone set after its own had expired.
_RELEASE_IF_HELD = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


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
        self._skip_until = float("-inf")

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
        if now < self._skip_until:
            return False
        ttl = settings.WEBHOOK_KICK_TTL_SECONDS
        if self._redis is None:
            claimed = bool(cache.add(KICK_KEY, "1", timeout=ttl))
        else:
            claimed = bool(self._redis.set(self._key, "1", nx=True, ex=ttl))
        self._skip_until = now + settings.WEBHOOK_KICK_LOCAL_SECONDS
        return claimed

    def back_off(self) -> None:
        """After a failed check: do not pay the connection timeout on every request. For
        a second the POSTs skip the kick (stored all the same; the sweeper takes them)."""
        self._skip_until = time.monotonic() + max(settings.WEBHOOK_KICK_LOCAL_SECONDS, 1.0)

    def refresh(self, value: str = "1") -> None:
        """Set the flag (to ``value``) for another ``WEBHOOK_KICK_TTL_SECONDS``."""
        ttl = settings.WEBHOOK_KICK_TTL_SECONDS
        if self._redis is None:
            cache.set(KICK_KEY, value, timeout=ttl)
        else:
            self._redis.set(self._key, value, ex=ttl)

    def release(self, value: str | None = None) -> None:
        """Clear the flag; with ``value``, only while the flag still holds it."""
        if self._redis is None:
            if value is None or cache.get(KICK_KEY) == value:
                cache.delete(KICK_KEY)
        elif value is None:
            self._redis.delete(self._key)
        else:
            self._redis.eval(_RELEASE_IF_HELD, 1, self._key, value)

    @contextmanager
    def held(self) -> Iterator[_Hold]:
        """Hold the flag while the block runs: taken, kept alive, released at the end.

        The block can let go of it before the end (:meth:`_Hold.release`) and take it
        again (:meth:`_Hold.take`), or leave it set for a successor it queues
        (:meth:`_Hold.hand_over`). However the block ends, an exception included, the
        flag is released unless it was let go of or handed over already.
        """
        hold = _Hold(self)
        hold.take()
        try:
            yield hold
        finally:
            hold.end()


class _Hold:
    """A drain's hold on the flag, with the heartbeat thread that keeps it alive.

    The flag carries the holder's own token, so that releasing it never clears a flag
    that another holder set after this one's had expired. Redis errors never reach the
    drain: without the flag a second drain may be queued, which is harmless (batches
    are claimed with ``SKIP LOCKED``), while stopping the drain would leave deliveries
    waiting.
    """

    def __init__(self, flag: _KickFlag) -> None:
        self.flag = flag
        self.token = secrets.token_hex(8)
        self.holding = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    @property
    def interval(self) -> float:
        """A third of the expiry: two beats can fail before the flag runs out."""
        return max(settings.WEBHOOK_KICK_TTL_SECONDS / 3, 0.05)

    def take(self) -> None:
        """Set the flag to this holder's token and keep it set until released."""
        self._beat()
        self.holding = True
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="webhook-kick-heartbeat", daemon=True
            )
            self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat and clear the flag (if it is still this holder's)."""
        self._stop_heartbeat()
        self.holding = False
        try:
            self.flag.release(self.token)
        except Exception:  # it expires on its own within WEBHOOK_KICK_TTL_SECONDS
            logger.warning("could not release the webhook processing flag; it expires on its own")

    def hand_over(self) -> None:
        """Stop the heartbeat but leave the flag set, for a successor this drain queues:
        until it takes the flag (or the flag expires), no POST queues another drain."""
        self._stop_heartbeat()
        self.holding = False
        try:
            self.flag.refresh(self.token)
        except Exception:
            logger.warning("could not hand the webhook processing flag over; it expires on its own")

    def end(self) -> None:
        if self.holding:
            self.release()

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._beat()

    def _beat(self) -> None:
        try:
            self.flag.refresh(self.token)
        except Exception:
            if not self._failing:  # once per outage, not once per beat
                logger.warning("could not refresh the webhook processing flag; processing goes on")
            self._failing = True
        else:
            if self._failing:
                logger.info("the webhook processing flag is refreshed again")
            self._failing = False


class Outage:
    """A failure that is logged when it starts and when it ends, not at every attempt:
    during an outage every POST meets it, and a line each would bury everything else."""

    def __init__(self, failure: str, recovery: str, *, log: logging.Logger = logger) -> None:
        self.failure, self.recovery, self.log = failure, recovery, log
        self.active = False

    def failed(self, *, exc_info: bool = False) -> None:
        if not self.active:
            self.log.warning(self.failure, exc_info=exc_info)
        self.active = True

    def succeeded(self) -> None:
        if self.active:
            self.log.info(self.recovery)
        self.active = False


kick_flag = _KickFlag()
redis_outage = Outage(
    "could not reach Redis to kick webhook processing; the sweeper will",
    "Redis is reachable again for the webhook processing kick",
)
broker_outage = Outage(
    "could not queue webhook processing; the sweeper will retry",
    "webhook processing is queued again",
)


def processing_kick() -> None:
    """Queue one draining task, unless one is queued or running already.

    Runs once the delivery is committed (``delivery_store`` hands it to ``on_commit``;
    the intake has no transaction, so that is at once) and queues right away: the POST
    is answered only after this, and must not wait for anything more. The sweeper
    kicks through here too.
    """
    try:
        claimed = kick_flag.claim()
    except Exception:  # Redis is down: the delivery is stored; the sweeper will take it
        redis_outage.failed()
        kick_flag.back_off()
        return
    redis_outage.succeeded()
    if claimed and not deliveries_enqueue():
        try:
            kick_flag.release()  # or every POST would skip the kick until the flag expires
        except Exception:
            logger.warning("could not release the webhook processing flag; it expires on its own")


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
        broker_outage.failed(exc_info=True)
        return False
    broker_outage.succeeded()
    return True
