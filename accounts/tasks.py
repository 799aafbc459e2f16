"""Celery tasks of accounts: thin wrappers over services."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

from accounts import services
from accounts.models import Tenant
from waba_portal.tasks import tenant_task


@tenant_task(
    name="accounts.tasks.invitation_send_email",
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=6,
)
def invitation_send_email_task(tenant: Tenant, invitation_id: int) -> bool:
    return services.invitation_send_email(invitation_id=invitation_id)


@shared_task(name="accounts.tasks.invitations_expire")
def invitations_expire() -> int:
    return services.invitations_expire()


@tenant_task(
    name="accounts.tasks.notification_send_emails",
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=10,
    max_retries=6,
)
def notification_send_emails_task(tenant: Tenant, notification_ids: list[int]) -> int:
    return services.notification_send_emails(notification_ids=notification_ids)
