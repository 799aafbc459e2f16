"""Celery tasks of the inbox: each one call into a service, and its retry decision.

Services import this module and enqueue with ``task.delay_on_commit(tenant_pk, ...)``;
each task imports its service inside its body (``accounts.tasking`` says why).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from accounts.models import Tenant
from accounts.tasking import tenant_task
from waba_portal.task_retry import TaskRetryPolicy

# Fetching a media file: Meta or the network failing for a while is waited out.
MEDIA_RETRY = TaskRetryPolicy(
    base="INBOX_MEDIA_RETRY_BASE_SECONDS", cap=600, max_retries="INBOX_MEDIA_MAX_RETRIES"
)


@tenant_task(name="inbox.media_fetch", queue="default", bind=True, max_retries=None)
def media_fetch_task(task: Any, tenant: Tenant, message_pk: int) -> None:
    """Download a media message's file from Meta into storage (media id → URL → bytes)."""
    from inbox.services import media

    try:
        media.media_fetch(message_pk=message_pk)
    except media.MediaRetry as exc:
        reason = str(exc)
        MEDIA_RETRY.retry_task(
            task,
            exc.__cause__ or exc,
            give_up=lambda: media.media_give_up(message_pk=message_pk, error=reason),
        )


@shared_task(name="inbox.auto_resolve", queue="default")
def auto_resolve_task() -> int:
    """Beat: resolve the conversations left idle in New or Pending past their channel's
    number of days, every workspace, in batches (``services.auto_resolve``)."""
    from inbox.services import auto_resolve

    return auto_resolve.conversations_auto_resolve()


# -- replies (I2) ----------------------------------------------------------------------------
# Sending a reply: a person waits for it, so the retries are quick and few; each try is
# visible on the message ("retrying"), and the last failure marks it failed with why.
SEND_RETRY = TaskRetryPolicy(base=2, cap=60, max_retries=5, max_hint=60)
# Meta's "too fast" (130429, 131056, 131057): nothing is wrong with the message, so it
# waits longer, about an hour in all (19 retries: 2 s doubling to 5 minutes), before it
# is failed; these retries are counted apart from the ones above.
SEND_THROTTLE_RETRY = TaskRetryPolicy(
    base="INBOX_SEND_THROTTLE_BASE_SECONDS",
    cap="INBOX_SEND_THROTTLE_CAP_SECONDS",
    max_retries="INBOX_SEND_THROTTLE_MAX_RETRIES",
    max_hint="INBOX_SEND_THROTTLE_CAP_SECONDS",
)


@tenant_task(name="inbox.message_send", queue="send", bind=True, max_retries=None)
def message_send_task(
    task: Any,
    tenant: Tenant,
    message_pk: int,
    tries: int = 0,
    throttled: int = 0,
    turn: str = "",
) -> None:
    """Send a queued outbound message through the Graph client (``services.outbound``).

    Three ways back to the queue, each counted apart (in the task's own arguments, not
    Celery's one retry count): ``SendLater``, the message's turn of the number's
    throughput comes later, so it comes back then holding it (``turn``), no retry
    spent (or holding the pair's turn only, ``turn="pair"``: the pair rate was what made
    it wait); ``SendThrottled``, Meta said "too fast" (``throttled``, the longer bound);
    ``SendRetry``, another transient failure (``tries``, today's five).
    """
    from inbox.services import outbound

    def again(countdown: float, **counts: Any) -> Any:
        kwargs = {"tries": tries, "throttled": throttled, "turn": "", **counts}
        return task.retry(countdown=countdown, kwargs=kwargs)

    try:
        outbound.message_send(message_pk=message_pk, attempt=tries + throttled, holds=turn)
    except outbound.SendLater as exc:
        raise again(exc.wait, turn=exc.holds) from None
    except outbound.SendThrottled as exc:
        policy = SEND_THROTTLE_RETRY
        if policy.exhausted(throttled):
            outbound.message_give_up(message_pk=message_pk, error=str(exc))
            return
        raise again(policy.delay(throttled, hint=exc.retry_after), throttled=throttled + 1) from exc
    except outbound.SendRetry as exc:
        policy = SEND_RETRY
        if policy.exhausted(tries):
            outbound.message_give_up(message_pk=message_pk, error=str(exc))
            return
        cause = exc.__cause__
        hint = getattr(cause, "retry_after", None)
        raise again(policy.delay(tries, hint=hint), tries=tries + 1) from exc
