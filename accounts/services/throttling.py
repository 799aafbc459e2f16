"""How often a thing may be tried: counters in the cache, decided by the clock.

Two kinds of counter, both kept in the default cache (Redis in production) and both
reading the time from ``timezone.now()``, so a test travels in time instead of sleeping:

- a window (:class:`Limit`): at most ``count`` uses per ``per`` by one key (an e-mail
  address, a client address, a user). Windows are fixed slices of the clock; the slice's
  key holds its count and expires with it, so counting is one atomic ``incr``. Used for
  password-reset mails, sign-ups and wrong two-factor codes.
- a streak: failures that follow each other with less than ``cool_off`` between them;
  ``cool_off`` after the last one the streak is over. This is how wrong passwords are
  counted for django-axes (``accounts.lockout``), which locks while a streak is long.

Keys are hashed: no e-mail address or IP address is kept in the cache in clear. The limits
are read from settings at each use (``PASSWORD_RESET_LIMIT_PER_ADDRESS`` and the rest).
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import formats, timezone
from django.utils.timesince import timeuntil

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` uses per ``per``; ``name`` keeps one limit's counts apart."""

    name: str
    count: int
    per: timedelta


def _digest(key: str) -> str:
    return hashlib.sha256(key.strip().lower().encode()).hexdigest()[:32]


def _window(limit: Limit, now: datetime) -> tuple[str, datetime]:
    """The cache key prefix of the window ``now`` falls in, and when that window ends."""
    seconds = limit.per.total_seconds()
    index = math.floor(now.timestamp() / seconds)
    return f"throttle:{limit.name}:{index}", datetime.fromtimestamp((index + 1) * seconds, UTC)


def _window_key(limit: Limit, key: str) -> tuple[str, datetime, int]:
    now = timezone.now()
    prefix, ends = _window(limit, now)
    # The cache forgets a window a little after it ends; the clock decides before that.
    timeout = math.ceil((ends - now).total_seconds()) + 60
    return f"{prefix}:{_digest(key)}", ends, timeout


def limit_hit(*, limit: Limit, key: str) -> datetime | None:
    """Count one use of ``limit`` by ``key``: None if it is allowed, else when to retry."""
    cache_key, ends, timeout = _window_key(limit, key)
    cache.add(cache_key, 0, timeout)
    try:
        used = cache.incr(cache_key)
    except ValueError:  # the key expired between add and incr
        cache.set(cache_key, 1, timeout)
        used = 1
    if used > limit.count:
        log.warning("throttle: %s refused (%d uses of %d)", limit.name, used, limit.count)
        return ends
    return None


def limit_reached(*, limit: Limit, key: str) -> datetime | None:
    """When ``key`` may try again if its window is full, else None; counts nothing."""
    cache_key, ends, _timeout = _window_key(limit, key)
    return ends if (cache.get(cache_key) or 0) >= limit.count else None


def limit_count(*, limit: Limit, key: str) -> None:
    """Count one use (a failure) without deciding anything; see :func:`limit_reached`."""
    limit_hit(limit=limit, key=key)


def limit_clear(*, limit: Limit, key: str) -> None:
    """Forget ``key``'s uses in the current window (after a success)."""
    cache_key, _ends, _timeout = _window_key(limit, key)
    cache.delete(cache_key)


def retry_words(retry_at: datetime) -> dict[str, str]:
    """``wait`` ("15 minutes") and ``time`` ("2:05 p.m. UTC") for a "try again" message.

    Both are rounded up to the minute (so trying at the time given works), in the active
    language; the time is in the active time zone, and named.
    """
    now = timezone.now()
    minutes = max(1, math.ceil((retry_at - now).total_seconds() / 60))
    shown = retry_at
    if shown.second or shown.microsecond:
        shown = shown.replace(second=0, microsecond=0) + timedelta(minutes=1)
    local = timezone.localtime(shown)
    return {
        "wait": timeuntil(now + timedelta(minutes=minutes), now),
        "time": f"{formats.time_format(local)} {local.tzname()}",
    }


# --- Streaks (wrong passwords, for django-axes) ------------------------------------------


@dataclass(frozen=True)
class Streak:
    failures: int
    last_at: datetime | None

    def ends(self, cool_off: timedelta) -> datetime | None:
        return self.last_at + cool_off if self.last_at is not None else None


def streak_get(*, key: str, cool_off: timedelta) -> Streak:
    """The failures of ``key`` still within ``cool_off`` of each other and of now."""
    last = cache.get(f"{key}:at")
    if last is None:
        return Streak(0, None)
    last_at = datetime.fromtimestamp(last, UTC)
    if timezone.now() >= last_at + cool_off:
        return Streak(0, None)
    return Streak(int(cache.get(f"{key}:n") or 0), last_at)


def streak_record(*, key: str, cool_off: timedelta) -> Streak:
    """Add one failure to ``key``'s streak (a new streak if the last one is over)."""
    now = timezone.now()
    timeout = math.ceil(cool_off.total_seconds())
    if streak_get(key=key, cool_off=cool_off).failures == 0:
        cache.set(f"{key}:n", 1, timeout)
        failures = 1
    else:
        try:
            failures = cache.incr(f"{key}:n")
        except ValueError:  # expired in the cache meanwhile
            cache.set(f"{key}:n", 1, timeout)
            failures = 1
        cache.touch(f"{key}:n", timeout)
    cache.set(f"{key}:at", now.timestamp(), timeout)
    return Streak(failures, now)


def streak_clear(*, key: str) -> None:
    cache.delete_many([f"{key}:n", f"{key}:at"])


# --- The limits, read from settings at each use -------------------------------------------


def password_reset_per_address() -> Limit:
    return Limit("password_reset_address", settings.PASSWORD_RESET_LIMIT_PER_ADDRESS, HOUR)


def password_reset_per_client() -> Limit:
    return Limit("password_reset_client", settings.PASSWORD_RESET_LIMIT_PER_IP, HOUR)


def signups_per_client() -> Limit:
    return Limit("signup_client", settings.SIGNUP_LIMIT_PER_IP, HOUR)


def two_factor_failures() -> Limit:
    return Limit(
        "two_factor_failures",
        settings.TWO_FACTOR_FAILURE_LIMIT,
        timedelta(seconds=settings.TWO_FACTOR_FAILURE_WINDOW_SECONDS),
    )


def password_reset_allowed(*, email: str, client_ip: str) -> bool:
    """Count one reset request; False once the address or the client had this hour's share.

    Counted whether or not an account has the address, and the page answers "sent" either
    way: the limit tells nothing about which addresses exist.
    """
    by_address = limit_hit(limit=password_reset_per_address(), key=email)
    by_client = limit_hit(limit=password_reset_per_client(), key=client_ip)
    return by_address is None and by_client is None
