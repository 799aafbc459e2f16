"""Celery tasks of senders: each one call into a service, and its retry decision.

Services import this module and enqueue with ``task.delay_on_commit(tenant_pk, ...)``;
each task imports its service inside its body (``accounts.tasking`` says why).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import shared_task
from django.conf import settings

from accounts.models import Tenant
from accounts.tasking import tenant_task
from waba_portal.graph import errors as ge
from waba_portal.task_retry import TaskRetryPolicy

logger = logging.getLogger(__name__)

# Onboarding steps and the registration of a resubmitted number.
# A person is waiting for onboarding: Meta's hints are bounded by the same cap.
ONBOARDING_RETRY = TaskRetryPolicy(
    base="ONBOARDING_RETRY_BASE_SECONDS",
    cap="ONBOARDING_MAX_RETRY_DELAY_SECONDS",
    max_retries="ONBOARDING_MAX_RETRIES",
    max_hint="ONBOARDING_MAX_RETRY_DELAY_SECONDS",
)
# The periodic read of one WABA: a hint from Meta may make it wait past the cap.
SYNC_RETRY = TaskRetryPolicy(
    base="SYNC_RETRY_BASE_SECONDS", cap=900, max_retries="SYNC_MAX_RETRIES"
)


# --- Onboarding ---------------------------------------------------------------------


@tenant_task(name="senders.onboarding_run", queue="sync", bind=True, max_retries=None)
def onboarding_run_task(task: Any, tenant: Tenant, onboarding_pk: int) -> None:
    from senders.services import onboarding

    try:
        onboarding.onboarding_run(onboarding_pk=onboarding_pk)
    except onboarding.StepFailed:
        return  # recorded on the onboarding, with its troubleshooting entry
    except onboarding.StepRetry as exc:
        message = str(exc)
        ONBOARDING_RETRY.retry_task(
            task,
            exc,
            give_up=lambda: onboarding.onboarding_give_up(
                onboarding_pk=onboarding_pk, message=message
            ),
        )


@shared_task(name="senders.onboardings_resume", queue="default")
def onboardings_resume_task() -> int:
    """Beat: queue the onboardings a dead worker left half-way (across tenants)."""
    from senders.services import onboarding

    return onboarding.onboardings_resume_stale(older_than_seconds=settings.ONBOARDING_STALE_SECONDS)


# --- Numbers and accounts ---------------------------------------------------------------


@tenant_task(name="senders.phone_number_register", queue="default", bind=True, max_retries=None)
def phone_number_register_task(task: Any, tenant: Tenant, phone_pk: int) -> None:
    """Resubmit: register a number again; transient errors retry with backoff."""
    from senders.services import phone_numbers

    try:
        phone_numbers.phone_number_register(phone_pk=phone_pk)
    except (ge.GraphTransientError, ge.GraphOutcomeUnknown, ge.GraphRateLimitError) as exc:
        message = str(exc)
        ONBOARDING_RETRY.retry_task(
            task,
            exc,
            give_up=lambda: phone_numbers.phone_number_register_give_up(
                phone_pk=phone_pk, message=message
            ),
        )


# Unsubscribing after a disconnect: nobody waits for it; Meta keeps sending until it lands.
UNSUBSCRIBE_RETRY = TaskRetryPolicy(base=30, cap=600, max_retries=5)


@tenant_task(name="senders.waba_unsubscribe", queue="default", bind=True, max_retries=None)
def waba_unsubscribe_task(task: Any, tenant: Tenant, waba_id: str, encrypted_token: str) -> None:
    """Unsubscribe the app from WABA ``waba_id`` (Meta's id) after a disconnect."""
    from senders.services import wabas

    try:
        wabas.waba_unsubscribe(waba_id=waba_id, encrypted_token=encrypted_token)
    except (ge.GraphAuthError, ge.GraphPermissionError, ge.GraphInvalidRequestError):
        return  # the app has no access any more: nothing is left to unsubscribe
    except (ge.GraphTransientError, ge.GraphRateLimitError) as exc:
        UNSUBSCRIBE_RETRY.retry_task(
            task,
            exc,
            give_up=partial(
                logger.warning,
                "gave up unsubscribing from WABA %s after %d tries: %s",
                waba_id,
                task.request.retries + 1,
                type(exc).__name__,
            ),
        )


# --- Sync -------------------------------------------------------------------------------


@shared_task(name="senders.sync_fan_out", queue="sync")
def sync_fan_out_task() -> int:
    """Beat: queue a sync of every WABA that is due (across tenants)."""
    from senders.services import sync

    return sync.sync_fan_out()


@tenant_task(name="senders.sync_waba", queue="sync", bind=True, max_retries=None)
def sync_waba_task(task: Any, tenant: Tenant, waba_pk: int) -> None:
    """Read one WABA and its numbers from Meta; retry while Meta is unavailable."""
    from senders.services import sync

    try:
        sync.waba_sync(waba_pk=waba_pk)
    except sync.RETRYABLE_ERRORS as exc:
        message = str(exc)
        SYNC_RETRY.retry_task(
            task, exc, give_up=lambda: sync.waba_sync_give_up(waba_pk=waba_pk, message=message)
        )


@tenant_task(name="senders.phone_refresh", queue="sync", bind=True, max_retries=None)
def phone_refresh_task(task: Any, tenant: Tenant, phone_pk: int) -> None:
    """Read one number from Meta after a webhook named a change but not its values."""
    from senders.services import sync

    try:
        sync.phone_refresh(phone_pk=phone_pk)
    except sync.RETRYABLE_ERRORS as exc:
        message = str(exc)
        SYNC_RETRY.retry_task(
            task,
            exc,
            give_up=lambda: sync.phone_refresh_give_up(phone_pk=phone_pk, message=message),
        )


# -- numbers: add (H1)
# -- numbers: verify, register, PIN, remove (H2)
# -- display name, OBA, QR codes (H3)


@shared_task(name="senders.oba_refresh_fan_out", queue="sync")
def oba_refresh_fan_out_task() -> int:
    """Beat: queue a read of every Official Business Account request in review."""
    from senders.services import official_business

    return official_business.oba_fan_out()


@tenant_task(name="senders.oba_refresh", queue="sync", bind=True, max_retries=None)
def oba_refresh_task(task: Any, tenant: Tenant, request_pk: int) -> None:
    """Read Meta's decision on one badge request; retry while Meta is unavailable (the
    request stays in review and the next round reads it again if retries run out)."""
    from senders.services import official_business

    try:
        official_business.oba_refresh(request_pk=request_pk)
    except (ge.GraphTransientError, ge.GraphRateLimitError) as exc:
        SYNC_RETRY.retry_task(
            task,
            exc,
            give_up=partial(
                logger.warning, "OBA request %s: Meta did not answer; next round", request_pk
            ),
        )


# -- business profile and logo (H4)
# Sending a profile edit: the page shows its state, so the waits stay short; after the
# last try the edit fails with why (and Retry), it never stays "sent".
PROFILE_SYNC_RETRY = TaskRetryPolicy(
    base="PROFILE_SYNC_RETRY_BASE_SECONDS",
    cap=300,
    max_retries="PROFILE_SYNC_MAX_RETRIES",
    max_hint=900,
)


@tenant_task(name="senders.business_profile_sync", queue="sync", bind=True, max_retries=None)
def business_profile_sync_task(task: Any, tenant: Tenant, sync_pk: int, version: str) -> None:
    """Send one version of a number's business profile edit to Meta and mark it live."""
    from senders.services import business_profile

    try:
        business_profile.profile_push(sync_pk=sync_pk, version=version)
    except business_profile.RETRYABLE_ERRORS as exc:
        PROFILE_SYNC_RETRY.retry_task(
            task,
            exc,
            give_up=partial(
                business_profile.profile_push_give_up, sync_pk=sync_pk, version=version, error=exc
            ),
        )


# -- channel settings (H5)
# -- templates (T1/T2)
