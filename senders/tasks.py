"""Celery tasks of senders: thin wrappers over the onboarding and sync services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from accounts.models import Tenant
from senders import onboarding, services
from waba_portal.graph import errors as ge
from waba_portal.tasks import tenant_task


def _backoff(retries: int, hint: float | None) -> float:
    """Exponential backoff, at least Meta's retry hint, at most the configured ceiling."""
    base = settings.ONBOARDING_RETRY_BASE_SECONDS
    delay = max(hint or 0.0, base * (2**retries))
    return min(delay, settings.ONBOARDING_MAX_RETRY_DELAY_SECONDS)


@tenant_task(name="senders.onboarding_run", bind=True, max_retries=None)
def onboarding_run_task(task: Any, tenant: Tenant, onboarding_id: int) -> None:
    try:
        onboarding.onboarding_run(onboarding_id=onboarding_id)
    except onboarding.StepFailed:
        return  # recorded on the onboarding, with its troubleshooting entry
    except onboarding.StepRetry as exc:
        if task.request.retries >= settings.ONBOARDING_MAX_RETRIES:
            onboarding.onboarding_give_up(onboarding_id=onboarding_id, message=str(exc))
            return
        raise task.retry(countdown=_backoff(task.request.retries, exc.retry_after)) from exc


@tenant_task(
    name="senders.waba_unsubscribe",
    autoretry_for=(ge.GraphTransientError, ge.GraphRateLimitError),
    retry_backoff=30,
    max_retries=5,
)
def waba_unsubscribe_task(tenant: Tenant, waba_id: str, encrypted_token: str) -> None:
    try:
        services.waba_unsubscribe(waba_id=waba_id, encrypted_token=encrypted_token)
    except (ge.GraphAuthError, ge.GraphPermissionError, ge.GraphInvalidRequestError):
        return  # the app has no access any more: nothing is left to unsubscribe


@shared_task(name="senders.onboardings_resume")
def onboardings_resume_task() -> int:
    return onboarding.onboardings_resume_stale(older_than_seconds=settings.ONBOARDING_STALE_SECONDS)


# --- Sync -------------------------------------------------------------------------------


@shared_task(name="senders.sync_fan_out")
def sync_fan_out_task() -> int:
    """Beat: queue a sync of every WABA that is due (across tenants)."""
    from senders import sync

    return sync.sync_fan_out()


@tenant_task(name="senders.sync_waba", bind=True, max_retries=None)
def sync_waba_task(task: Any, tenant: Tenant, waba_id: int) -> None:
    """Read one WABA and its numbers from Meta; retry while Meta is unavailable."""
    from senders import sync

    try:
        sync.waba_sync(waba_id=waba_id)
    except sync.RETRYABLE_ERRORS as exc:
        if task.request.retries >= settings.SYNC_MAX_RETRIES:
            sync.waba_sync_give_up(waba_id=waba_id, message=str(exc))
            return
        hint = getattr(exc, "retry_after", None)
        countdown = max(
            hint or 0.0, min(settings.SYNC_RETRY_BASE_SECONDS * (2**task.request.retries), 900.0)
        )
        raise task.retry(countdown=countdown, exc=exc) from exc


@tenant_task(name="senders.phone_number_register", bind=True, max_retries=None)
def phone_number_register_task(task: Any, tenant: Tenant, phone_id: int) -> None:
    """Resubmit: register a number again; transient errors retry with backoff."""
    try:
        services.phone_number_register(phone_pk=phone_id)
    except (ge.GraphTransientError, ge.GraphOutcomeUnknown, ge.GraphRateLimitError) as exc:
        if task.request.retries >= settings.ONBOARDING_MAX_RETRIES:
            services.phone_number_register_give_up(phone_pk=phone_id, message=str(exc))
            return
        hint = getattr(exc, "retry_after", None)
        raise task.retry(countdown=_backoff(task.request.retries, hint)) from exc
