"""How fast the inbox sends, and to how many customers it may write first: Meta's limits.

Two limits of Meta's (docs/meta NOTES §8, §4) are kept here, in Redis, so that every
worker process on every machine sees the same count:

**Throughput, per number.** Meta takes 80 messages a second from a number (inbound and
outbound counted together), 1,000 once it reports the number's ``throughput.level`` as
``HIGH`` (``PhoneNumber.throughput_level``: ``STANDARD``, ``HIGH``, ``NOT_APPLICABLE`` or
empty; anything but ``HIGH`` is the standard 80); past that it answers 130429. And
about one message every 6 s from a number to the same customer, after a burst of 45;
past that it answers 131056.

A message takes its *turn* (:func:`turn_take`) as it is stored, from two buckets at once,
the number's and the pair's (number, customer). The buckets are GCRA ("virtual
scheduling"), the token bucket written as one time per key, the *theoretical arrival
time*: a send is due at ``TAT - tolerance``, and taking a turn moves the TAT on by one
emission interval. A turn that is not due yet is still **reserved**: the caller is told
how long to wait, and its send task is queued for that time holding the turn (no
second ask, no race with the messages that arrived meanwhile). So a burst of 10,000
replies is spread over the seconds it needs at once, one task run per message, instead
of all of them asking again every few milliseconds. A retry, or a turn further off than
``INBOX_PACING_MAX_WAIT_SECONDS``, asks again in the task. When the pair rate is what
makes a message wait, only the pair's turn is reserved: a turn of the number taken that
far ahead would hold back every other customer's message. One Lua script does both buckets, so two
workers never take the same turn. The clock is Redis' own (``TIME``): one clock for all
workers; tests pass ``now``.

The number's bucket runs at ``INBOX_PACING_SHARE`` (95 %) of Meta's rate, with a burst
of the remaining 5 % (4 messages at 80/s): in any second at most Meta's rate leaves,
and the gap between two sends is wide enough that a send a few milliseconds late does
not meet the one before it in Meta's one-second window.

**Departures.** A turn is a plan: when the workers fall behind (a backlog, workers
down for a while), the sends whose turns have passed would all leave at once. So each
send also takes a place at the door just before its request (:func:`departure_take`):
a second bucket per number at the same rate, with a burst of
``INBOX_PACING_DEPARTURE_BURST``, taken only by sends actually leaving. Only running
sends hold places there, so the wait it answers is short (at most the number of worker
processes sending for the number, times the interval: 25 ms for two at 80/s) and the
send sleeps it out in the task; a backlog then leaves at the number's rate, not faster.
A late send keeps its turn: taking a new one would queue it behind every turn reserved
since, and the reserved one is spent already.

**Messaging limit, per business portfolio.** A business may reach only so many
customers *outside* a customer service window in a moving 24 hours (Meta's tier:
``TIER_250``, ``TIER_2K``, ``TIER_10K``, ``TIER_100K``, ``TIER_UNLIMITED``; the older
``TIER_50``, ``TIER_1K``), shared by every number of the portfolio
(``WhatsAppAccount.business_id``; the WABA when Meta gave none). :func:`reach_take`
counts them in a sorted set per workspace and portfolio (customer → the time they were
last reached this way; entries older than 24 h fall out), and refuses the next new
customer once the tier is full, saying when a place frees up. A customer already
counted is not counted again. Redis rather than a query on ``Message``: the check and
the count are one atomic step across workers (a query would need a lock and a scan of
the day's messages, which no index of ``Message`` serves). A send that Meta later
refuses keeps its customer counted for the day: the count errs towards the limit, not
past it. An unknown tier (never read from Meta) is not enforced here: Meta decides.

Without Redis (a local run on the file broker), or when Redis fails, nothing is paced
or counted here: Meta's own answers (130429, retried by the task) are the fallback.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

HIGH_LEVEL = "HIGH"  # senders.models.ThroughputLevel.HIGH (NOTES §2: throughput.level)
REACH_WINDOW = timedelta(hours=24)

# Meta's messaging-limit tiers (NOTES §8) as numbers of customers; None: no limit.
TIER_LIMITS: dict[str, int | None] = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}

# Both bucket scripts start here: ``now`` is ARGV[1], or Redis' own clock when it is < 0.
_CLOCK = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# KEYS: the number's bucket, the pair's. ARGV: now (< 0: Redis' clock), then per bucket
# its emission interval and tolerance (seconds), the longest wait to reserve, and "1"
# when the pair's turn is held already. Answers {holds, wait}: "both" when the turns are
# taken (due after ``wait``); "pair" when the pair rate is what makes it wait, so only
# the pair's turn is taken (the number's is taken when it comes back: a turn of the
# number reserved that far ahead would hold back every other customer's message); ""
# when it is further off than the longest wait (nothing taken).
_TURN = (
    _CLOCK
    + """local t1, tau1 = tonumber(ARGV[2]), tonumber(ARGV[3])
local t2, tau2 = tonumber(ARGV[4]), tonumber(ARGV[5])
local max_wait, pair_held = tonumber(ARGV[6]), ARGV[7] == '1'
local function put(key, tat)
  redis.call('SET', key, string.format('%.6f', tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
end
local tat1 = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
local tat2 = math.max(tonumber(redis.call('GET', KEYS[2]) or now), now)
local at1 = math.max(now, tat1 - tau1)
local at2 = now
if not pair_held then at2 = math.max(now, tat2 - tau2) end
local at = math.max(at1, at2)
if at - now > max_wait then
  return {'', string.format('%.6f', at - now)}
end
if at2 > at1 then
  put(KEYS[2], math.max(tat2, at2) + t2)
  return {'pair', string.format('%.6f', at2 - now)}
end
put(KEYS[1], math.max(tat1, at1) + t1)
if not pair_held then put(KEYS[2], math.max(tat2, at1) + t2) end
return {'both', string.format('%.6f', at1 - now)}
"""
)

# KEYS: the number's departures. ARGV: now (< 0: Redis' clock), emission interval,
# tolerance. A place is always taken; answers the seconds until it is due.
_DEPART = (
    _CLOCK
    + """local t, tau = tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
local at = math.max(now, tat - tau)
local nxt = math.max(tat, at) + t
redis.call('SET', KEYS[1], string.format('%.6f', nxt), 'PX', math.ceil((nxt - now) * 1000) + 1000)
return string.format('%.6f', at - now)
"""
)

# KEYS: the portfolio's sorted set. ARGV: now, window, limit, customer.
# Answers {taken, new}: taken "1" (new "1" when the customer was not counted yet), or
# {"0", <time the oldest customer was reached>} when the limit is full.
_REACH = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.6f', now - window))
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then
  redis.call('ZADD', KEYS[1], string.format('%.6f', now), ARGV[4])
  return {'1', '0'}
end
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], string.format('%.6f', now), ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 60)
  return {'1', '1'}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {'0', oldest[2]}
"""


@dataclass(frozen=True)
class Rate:
    """A bucket: ``per_second`` turns a second, ``burst`` of them at once."""

    per_second: float
    burst: int

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second

    @property
    def tolerance(self) -> float:
        return (self.burst - 1) * self.interval


def meta_throughput(throughput_level: str) -> float:
    """Meta's messages per second for a number at ``throughput_level`` (NOTES §8)."""
    if (throughput_level or "").upper() == HIGH_LEVEL:
        return float(settings.INBOX_PACING_HIGH_RATE)
    return float(settings.INBOX_PACING_RATE)


def number_rate(throughput_level: str) -> Rate:
    """Our bucket for a number: the share of Meta's rate, the rest as the burst."""
    meta = meta_throughput(throughput_level)
    ours = meta * float(settings.INBOX_PACING_SHARE)
    return Rate(per_second=ours, burst=max(1, math.floor(meta - ours + 1e-9)))


def pair_rate() -> Rate:
    """Our bucket for one number and one customer: Meta's pair rate (NOTES §4)."""
    return Rate(
        per_second=1.0 / float(settings.INBOX_PACING_PAIR_INTERVAL_SECONDS),
        burst=int(settings.INBOX_PACING_PAIR_BURST),
    )


class _Redis:
    """One connection per process, and the scripts registered on it; None without Redis."""

    def __init__(self) -> None:
        self._client: Any = None
        self._url = ""
        self.turn: Any = None
        self.depart: Any = None
        self.reach: Any = None

    def client(self) -> Any:
        url = settings.REDIS_URL
        if not url:
            return None
        if self._client is None or url != self._url:
            self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            self._url = url
            self.turn = self._client.register_script(_TURN)
            self.depart = self._client.register_script(_DEPART)
            self.reach = self._client.register_script(_REACH)
        return self._client


_redis = _Redis()


def _key(*parts: object) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return ":".join([str(prefix), "inbox", *(str(p) for p in parts)])


def number_key(phone_number_id: str) -> str:
    return _key("pace", phone_number_id)


def pair_key(phone_number_id: str, recipient: str) -> str:
    return _key("pace", phone_number_id, recipient)


def departure_key(phone_number_id: str) -> str:
    return _key("depart", phone_number_id)


BOTH = "both"  # the number's turn and the pair's are the message's
PAIR = "pair"  # only the pair's turn is (its number's is taken when it comes back)


@dataclass(frozen=True)
class Turn:
    """``wait`` seconds until the send may leave, and which turns it then ``holds``
    (:data:`BOTH`, :data:`PAIR`, or none: further off than
    ``INBOX_PACING_MAX_WAIT_SECONDS``, it asks again then)."""

    wait: float
    holds: str = BOTH

    @property
    def reserved(self) -> bool:
        return self.holds == BOTH


NOW = Turn(wait=0.0)


def turn_take(
    *,
    phone_number_id: str,
    recipient: str,
    throughput_level: str = "",
    holds: str = "",
    now: float | None = None,
) -> Turn:
    """Take the next turn of the number and of the pair (number, ``recipient``) together
    (only the number's when the message ``holds`` the pair's already)."""
    if holds == BOTH or _redis.client() is None:
        return NOW
    number, pair = number_rate(throughput_level), pair_rate()
    try:
        taken, wait = _redis.turn(
            keys=[number_key(phone_number_id), pair_key(phone_number_id, recipient)],
            args=[
                -1.0 if now is None else now,
                number.interval,
                number.tolerance,
                pair.interval,
                pair.tolerance,
                float(settings.INBOX_PACING_MAX_WAIT_SECONDS),
                "1" if holds == PAIR else "0",
            ],
        )
    except redis.RedisError as exc:  # Redis down: Meta's 130429 paces instead
        logger.warning("pacing unavailable, sending unpaced: %s", exc)
        return NOW
    held = taken.decode() if isinstance(taken, bytes) else str(taken)
    return Turn(wait=max(0.0, float(wait)), holds=held)


def departure_rate(throughput_level: str) -> Rate:
    """The door's bucket for a number: the turns' rate, with a burst of
    ``INBOX_PACING_DEPARTURE_BURST`` (2: smaller than the turns' 4 at 80/s, as a request
    sent a few milliseconds after its place can reach Meta beside the next one)."""
    rate = number_rate(throughput_level)
    burst = int(settings.INBOX_PACING_DEPARTURE_BURST)
    return Rate(per_second=rate.per_second, burst=max(1, burst))


def departure_take(
    *, phone_number_id: str, throughput_level: str = "", now: float | None = None
) -> float:
    """A place at the number's door for a send about to leave: the seconds to wait first
    (taken either way; 0 without Redis, or when it fails)."""
    if _redis.client() is None:
        return 0.0
    rate = departure_rate(throughput_level)
    try:
        wait = _redis.depart(
            keys=[departure_key(phone_number_id)],
            args=[-1.0 if now is None else now, rate.interval, rate.tolerance],
        )
    except redis.RedisError as exc:  # Redis down: Meta's 130429 paces instead
        logger.warning("pacing unavailable, sending unpaced: %s", exc)
        return 0.0
    return max(0.0, float(wait))


# --- The messaging limit ----------------------------------------------------------------


def tier_limit(tier: str) -> int | None:
    """Customers a tier allows per 24 h; None when unlimited or unknown."""
    return TIER_LIMITS.get((tier or "").upper())


def portfolio_key(tenant_pk: int, portfolio: str) -> str:
    return _key("reach", tenant_pk, portfolio)


@dataclass(frozen=True)
class Reach:
    """The answer of :func:`reach_take`: ``taken``, or full until ``frees_at``."""

    taken: bool
    new: bool = False
    frees_at: datetime | None = None
    key: str = ""


def reach_take(
    *, tenant_pk: int, portfolio: str, tier: str, recipient: str, now: datetime | None = None
) -> Reach:
    """Count ``recipient`` as reached outside a window now, unless the tier is full."""
    limit = tier_limit(tier)
    if limit is None or _redis.client() is None:
        return Reach(taken=True)
    at = now or timezone.now()
    key = portfolio_key(tenant_pk, portfolio)
    try:
        taken, value = _redis.reach(
            keys=[key],
            args=[at.timestamp(), REACH_WINDOW.total_seconds(), limit, recipient],
        )
    except redis.RedisError as exc:  # Redis down: Meta keeps its own count
        logger.warning("messaging limit not counted: %s", exc)
        return Reach(taken=True)
    if taken in (b"1", "1"):
        return Reach(taken=True, new=value in (b"1", "1"), key=key)
    oldest = datetime.fromtimestamp(float(value), tz=at.tzinfo or timezone.get_current_timezone())
    return Reach(taken=False, frees_at=oldest + REACH_WINDOW)


def reach_release(reach: Reach, recipient: str) -> None:
    """Undo a new count whose message was not stored after all."""
    client = _redis.client()
    if not reach.new or not reach.key or client is None:
        return
    try:
        client.zrem(reach.key, recipient)
    except redis.RedisError as exc:
        logger.warning("messaging limit count not undone: %s", exc)
