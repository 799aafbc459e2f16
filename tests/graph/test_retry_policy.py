"""RetryPolicy decisions, independent of HTTP."""

from __future__ import annotations

from waba_portal.graph.errors import (
    GraphConnectionError,
    GraphInvalidRequestError,
    GraphOutcomeUnknown,
    GraphRateLimitError,
    GraphTransientError,
)
from waba_portal.graph.retry import NO_RETRY, RetryPolicy

policy = RetryPolicy(max_attempts=3, backoff_base=1.0, backoff_cap=4.0, max_retry_after=30)


def test_idempotent_calls_retry_transient_and_rate_limits_within_bound() -> None:
    transient = GraphTransientError("x", code=2)
    assert policy.should_retry(transient, attempt=1, idempotent=True)
    assert policy.should_retry(transient, attempt=2, idempotent=True)
    assert not policy.should_retry(transient, attempt=3, idempotent=True)
    limited = GraphRateLimitError("x", code=4, retry_after=5)
    assert policy.should_retry(limited, attempt=1, idempotent=True)


def test_long_rate_limit_hint_is_not_waited_for() -> None:
    limited = GraphRateLimitError("x", code=133016, retry_after=72 * 3600)
    assert not policy.should_retry(limited, attempt=1, idempotent=True)


def test_permanent_errors_never_retry() -> None:
    assert not policy.should_retry(GraphInvalidRequestError("x"), attempt=1, idempotent=True)


def test_non_idempotent_calls() -> None:
    never_sent = GraphConnectionError("refused", request_sent=False, timeout=False)
    maybe_sent = GraphConnectionError("reset", request_sent=True, timeout=False)
    assert policy.should_retry(never_sent, attempt=1, idempotent=False)
    assert not policy.should_retry(maybe_sent, attempt=1, idempotent=False)
    assert not policy.should_retry(GraphTransientError("5xx"), attempt=1, idempotent=False)
    assert not policy.should_retry(
        GraphRateLimitError("x", retry_after=1), attempt=1, idempotent=False
    )
    unknown = GraphOutcomeUnknown("lost", timeout=True)
    assert not policy.should_retry(unknown, attempt=1, idempotent=False)
    assert not policy.should_retry(unknown, attempt=1, idempotent=True)


def test_no_retry_policy() -> None:
    never_sent = GraphConnectionError("refused", request_sent=False, timeout=False)
    assert not NO_RETRY.should_retry(never_sent, attempt=1, idempotent=True)


def test_backoff_is_bounded_and_jittered() -> None:
    for attempt in range(1, 10):
        assert 0 <= policy.delay(attempt) <= 4.0
    fixed = RetryPolicy(backoff_base=1.0, backoff_cap=4.0, jitter=False)
    assert [fixed.delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 4.0]
    assert fixed.delay(1, retry_after=10) == 10
    assert fixed.delay(1, retry_after=1000) == fixed.max_retry_after
