"""The one retry policy for tasks: bounded, capped, Meta's hint honoured, settings read live."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from celery.exceptions import Retry

from waba_portal.task_retry import TaskRetryPolicy


def test_delays_double_from_the_base_up_to_the_cap() -> None:
    policy = TaskRetryPolicy(base=5, cap=30, max_retries=10)
    assert [policy.delay(n) for n in range(5)] == [5, 10, 20, 30, 30]
    assert policy.delay_as_timedelta(1) == timedelta(seconds=10)


def test_metas_hint_wins_even_past_the_cap_but_is_bounded() -> None:
    policy = TaskRetryPolicy(base=5, cap=30, max_retries=10, max_hint=3600)
    assert policy.delay(0, hint=120) == 120
    assert policy.delay(3, hint=1) == 30
    assert policy.delay(0, hint=10**9) == 3600


def test_the_bound_is_a_count_of_retries_already_made() -> None:
    policy = TaskRetryPolicy(base=1, cap=1, max_retries=2)
    assert [policy.exhausted(n) for n in range(4)] == [False, False, True, True]


def test_setting_names_are_read_each_time(settings) -> None:  # type: ignore[no-untyped-def]
    policy = TaskRetryPolicy(base="T_BASE", cap="T_CAP", max_retries="T_MAX")
    settings.T_BASE, settings.T_CAP, settings.T_MAX = 2, 100, 1
    assert policy.delay(2) == 8 and not policy.exhausted(0)
    settings.T_BASE = 0
    assert policy.delay(2) == 0


class _Task:
    def __init__(self, retries: int) -> None:
        self.request = SimpleNamespace(retries=retries)
        self.asked: list[float] = []

    def retry(self, *, countdown: float, exc: BaseException) -> Retry:
        self.asked.append(countdown)
        return Retry(exc=exc, when=countdown)


def test_retry_task_raises_retry_with_the_delay_then_gives_up_once() -> None:
    policy = TaskRetryPolicy(base=3, cap=60, max_retries=2)
    gave_up: list[int] = []
    error = TimeoutError("slow")
    error.retry_after = 40  # type: ignore[attr-defined]
    task = _Task(retries=1)
    with pytest.raises(Retry):
        policy.retry_task(task, error, give_up=lambda: gave_up.append(1))
    assert task.asked == [40] and gave_up == []
    policy.retry_task(_Task(retries=2), error, give_up=lambda: gave_up.append(1))
    assert gave_up == [1]
