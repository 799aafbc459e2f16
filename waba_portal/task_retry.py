"""How a Celery task (or a stored job such as a webhook delivery) waits before retrying.

One policy object per kind of work, in the style of ``waba_portal.graph.retry`` (which
is the same idea for a single HTTP call). The rules, in order:

1. The work is retried at most ``max_retries`` times. After that :meth:`exhausted` is
   true and the caller gives up *and records why* (an error on the row, a notification):
   a bounded retry is never a silent drop.
2. The n-th retry (``retries`` retries already made, counting from 0) waits
   ``base * factor ** retries`` seconds, never more than ``cap``.
3. A retry hint from Meta (a rate limit's ``retry_after``) is honoured: the wait is at
   least the hint, even past ``cap``, but never more than ``max_hint`` (a day by
   default; work a person is waiting for sets it to its cap), so a bogus hint cannot
   park work forever.
4. No jitter: tasks are spread by the broker already, and a deterministic delay is
   what a test (and a person reading a log) can check.

``base``, ``cap``, ``max_retries`` and ``max_hint`` are numbers or names of Django
settings, read each time the policy is used, so deployments and the test settings tune
them without code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings

__all__ = ["TaskRetryPolicy"]

Number = int | float


def _value(value: Number | str) -> float:
    return float(getattr(settings, value) if isinstance(value, str) else value)


@dataclass(frozen=True)
class TaskRetryPolicy:
    base: Number | str
    cap: Number | str
    max_retries: Number | str
    factor: float = 2.0
    max_hint: Number | str = 86_400.0

    def exhausted(self, retries: int) -> bool:
        """Whether ``retries`` retries already made are all this policy allows."""
        return retries >= int(_value(self.max_retries))

    def delay(self, retries: int, *, hint: float | None = None) -> float:
        """Seconds to wait before the next try, after ``retries`` retries (0-based)."""
        wait = min(_value(self.cap), _value(self.base) * self.factor ** max(retries, 0))
        if hint:
            wait = max(wait, min(float(hint), _value(self.max_hint)))
        return wait

    def delay_as_timedelta(self, retries: int, *, hint: float | None = None) -> timedelta:
        return timedelta(seconds=self.delay(retries, hint=hint))

    def retry_task(self, task: Any, exc: BaseException, *, give_up: Callable[[], Any]) -> None:
        """Retry the running bound ``task`` after ``exc``, or call ``give_up`` when exhausted.

        Raises Celery's ``Retry`` (re-raise it) unless the policy is exhausted, in which
        case ``give_up()`` records the failure and this returns normally.
        """
        retries = task.request.retries
        if self.exhausted(retries):
            give_up()
            return
        hint = getattr(exc, "retry_after", None)
        raise task.retry(countdown=self.delay(retries, hint=hint), exc=exc)
