"""When the Graph client retries, and how long it waits.

The rules, in order (see :meth:`RetryPolicy.should_retry`):

1. Never more than ``max_attempts`` attempts in total.
2. ``GraphOutcomeUnknown`` is never retried: the first request may have taken effect.
3. A connection that could not be opened (refused, DNS, connect timeout) is retried for
   every call, idempotent or not: the request never left this machine.
4. Idempotent calls (GET, DELETE and the POSTs the client marks idempotent) retry on the
   families in ``retry_on`` (transient errors and rate limits by default), including a
   read timeout or dropped connection.
5. Non-idempotent calls (message sends, code requests, register, creates …) retry on
   nothing else: once Meta may have seen the request, the caller decides.
6. A rate-limit hint longer than ``max_retry_after`` is not waited for; the error is
   raised so a worker can reschedule instead of blocking.

Backoff is exponential with full jitter: ``uniform(0, min(cap, base * 2 ** (n - 1)))``
for the n-th retry, raised to the rate-limit hint when there is one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .errors import (
    RATE_LIMIT,
    TRANSIENT,
    GraphConnectionError,
    GraphError,
    GraphOutcomeUnknown,
)

__all__ = ["DEFAULT_RETRY_POLICY", "NO_RETRY", "RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Retry bounds for Graph calls; immutable, shareable between clients."""

    max_attempts: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    jitter: bool = True
    retry_on: frozenset[str] = field(default_factory=lambda: frozenset({TRANSIENT, RATE_LIMIT}))
    max_retry_after: float = 30.0

    def should_retry(self, exc: GraphError, *, attempt: int, idempotent: bool) -> bool:
        """Whether attempt number ``attempt`` (1-based) that failed with ``exc`` is retried."""
        if attempt >= self.max_attempts:
            return False
        if isinstance(exc, GraphOutcomeUnknown):
            return False
        if isinstance(exc, GraphConnectionError) and not exc.request_sent:
            return True
        if not idempotent:
            return False
        if exc.family not in self.retry_on:
            return False
        return not (exc.retry_after is not None and exc.retry_after > self.max_retry_after)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** max(attempt - 1, 0)))
        wait = random.uniform(0, ceiling) if self.jitter else ceiling
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


DEFAULT_RETRY_POLICY = RetryPolicy()
NO_RETRY = RetryPolicy(max_attempts=1)
