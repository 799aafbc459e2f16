"""Celery tasks of accounts: each one call into a service (imported in the task body)."""

from __future__ import annotations

import logging
from functools import partial
from smtplib import SMTPException
from typing import Any

from celery import shared_task

from accounts.models import Tenant
from accounts.tasking import tenant_task
from waba_portal.task_retry import TaskRetryPolicy

logger = logging.getLogger(__name__)

# Mail servers that refuse or time out: try for about half an hour, then log and stop.
EMAIL_RETRY = TaskRetryPolicy(base=10, cap=600, max_retries=6)
MAIL_ERRORS = (SMTPException, ConnectionError, TimeoutError)


def _gave_up(what: str, task: Any, exc: BaseException) -> None:
    logger.error("gave up sending %s after %d tries: %s", what, task.request.retries + 1, exc)


@tenant_task(
    name="accounts.tasks.invitation_send_email", queue="default", bind=True, max_retries=None
)
def invitation_send_email_task(task: Any, tenant: Tenant, invitation_id: int) -> bool:
    from accounts.services import invitations

    try:
        return invitations.invitation_send_email(invitation_id=invitation_id)
    except MAIL_ERRORS as exc:
        EMAIL_RETRY.retry_task(task, exc, give_up=partial(_gave_up, "an invitation", task, exc))
        return False


@shared_task(name="accounts.tasks.invitations_expire", queue="default")
def invitations_expire() -> int:
    from accounts.services import invitations

    return invitations.invitations_expire()


@tenant_task(
    name="accounts.tasks.notification_send_emails", queue="default", bind=True, max_retries=None
)
def notification_send_emails_task(task: Any, tenant: Tenant, notification_ids: list[int]) -> int:
    from accounts.services import notifications

    try:
        return notifications.notification_send_emails(notification_ids=notification_ids)
    except MAIL_ERRORS as exc:
        EMAIL_RETRY.retry_task(task, exc, give_up=partial(_gave_up, "notifications", task, exc))
        return 0


@shared_task(name="accounts.tasks.idempotency_keys_expire", queue="default")
def idempotency_keys_expire() -> int:
    from accounts.services import idempotency

    return idempotency.idempotency_keys_expire()
