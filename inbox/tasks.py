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


@tenant_task(name="inbox.message_send", queue="send", bind=True, max_retries=None)
def message_send_task(task: Any, tenant: Tenant, message_pk: int) -> None:
    """Send a queued outbound message through the Graph client (``services.outbound``)."""
    from inbox.services import outbound

    try:
        outbound.message_send(message_pk=message_pk, attempt=task.request.retries or 0)
    except outbound.SendRetry as exc:
        reason = str(exc)
        SEND_RETRY.retry_task(
            task,
            exc.__cause__ or exc,
            give_up=lambda: outbound.message_give_up(message_pk=message_pk, error=reason),
        )
