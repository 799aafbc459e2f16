"""Connecting a WABA through Embedded Signup: one service function per step.

The browser hands us Embedded Signup's session info (WABA id, phone number id) and an
OAuth code. :func:`onboarding_start` stores them as an :class:`Onboarding` with its
steps and queues :func:`onboarding_run`, which a worker runs. Each step is safe to run
again: it checks what is already done (a token already exchanged, a number already
registered, a PIN already generated) before calling Meta. A transient Meta error
stops the run with the step marked "retrying" and the task retries with backoff; a
permanent one fails the onboarding with the troubleshooting entry that fixes it and
a Retry that resumes from the failed step.

The ids in the session info are hints, never the authority: the browser hands them
over and anyone who runs the page can change them. The WABA is one the token of this
signup was granted (``debug_token``'s granular scopes), read from Meta with that token
before it is claimed; the number is one Meta lists in that WABA. A claim routes the
id's webhooks to this workspace and keeps every other workspace from connecting it,
so an onboarding that ends failed (a permanent error, retries that run out, or
abandoned half-way) gives back the claims it took (:func:`_claims_release`).

A signup started from an account's "Add number" page targets that account
(``Onboarding.target_account``): Meta's window must be completed with the same WABA.
When another one was chosen, the onboarding stops with "choose the WABA that is
already connected" before anything of the other WABA is kept: at the start when the
session info names it, else when ``debug_token`` shows the grant (``confirm_waba``,
before any claim or account row), and the token of that signup is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Tenant
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant, tenant_scope
from senders import selectors, tasks
from senders import troubleshooting as ts
from senders.models import (
    BusinessProfile,
    ConnectionStatus,
    HistoryKind,
    MetaAssetKind,
    Onboarding,
    OnboardingStatus,
    OnboardingStep,
    PhoneNumber,
    PhoneStatus,
    PlatformType,
    SignupEvent,
    StepStatus,
    WhatsAppAccount,
)
from senders.services import assets, graph, integration_events, phone_numbers, rules, snapshots
from waba_portal.errors import Conflict, Invalid
from waba_portal.graph import errors as ge
from waba_portal.graph.client import GraphClient

logger = logging.getLogger(__name__)

STEPS = (
    "exchange_token",
    "confirm_waba",  # the WABA the token was granted: the session's id is only a hint
    "claim_waba",  # before fetch_waba: nothing of ours changes for a WABA held elsewhere
    "fetch_waba",
    "subscribe",
    "credit_line",
    "fetch_numbers",
    "register_number",
    "fetch_profile",
)
FINISH_EVENTS = frozenset(
    {
        SignupEvent.FINISH,
        SignupEvent.FINISH_ONLY_WABA,
        SignupEvent.FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING,
    }
)


class StepFailed(Exception):
    """A step failed for good: ``problem`` is the troubleshooting entry."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem, self.message = problem, message


class StepRetry(Exception):
    """A step hit a transient error; the task retries after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# The steps that take claims: they run again on Retry, since a failure gave them back.
CLAIM_STEPS = ("claim_waba", "fetch_numbers")
# An onboarding still unfinished this long after it started is abandoned: it ends
# failed and gives back its claims. Its retries end within hours (at most
# ONBOARDING_MAX_RETRIES waits of ONBOARDING_MAX_RETRY_DELAY_SECONDS per run).
ABANDONED_AFTER_SECONDS = 24 * 3600

_SKIPPED = "skipped"


# --- Start, retry ---------------------------------------------------------------------


@transaction.atomic
def onboarding_start(
    *,
    actor: Membership,
    code: str,
    session: dict[str, Any],
    target: WhatsAppAccount | None = None,
) -> Onboarding:
    """Record a finished (or failed) Embedded Signup and queue the pipeline.

    With ``target``, the signup adds a number to that connected account: a session that
    names another WABA stops here, and nothing of it is kept (see the module's docstring).
    """
    require_manager(actor, message=_("Only owners and admins can connect WhatsApp."))
    if target is not None and target.connection_status in (
        ConnectionStatus.DISCONNECTED,
        ConnectionStatus.REGISTERING,
    ):
        raise Conflict(
            _("Numbers can be added only to a connected account. Connect it again first.")
        )
    event = str(session.get("event") or "")
    raw = session.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    onboarding = Onboarding(
        started_by=actor.user,
        signup_event=event[:48],
        waba_id=str(data.get("waba_id") or "")[:32],
        phone_number_id=str(data.get("phone_number_id") or "")[:32],
        business_id=str(data.get("business_id") or "")[:32],
        target_account=target,
    )
    if (
        target is not None
        and event in FINISH_EVENTS
        and onboarding.waba_id
        and onboarding.waba_id != target.waba_id
    ):
        return _stop_other_waba(actor=actor, onboarding=onboarding, target=target)
    if event not in FINISH_EVENTS:
        message = str(data.get("error_message") or data.get("current_step") or event)
        onboarding.status = OnboardingStatus.FAILED
        onboarding.problem = (
            ts.problem_for_signup_error(message)
            if event == SignupEvent.ERROR
            else ts.SIGNUP_INCOMPLETE
        )
        onboarding.error_message = message[:2000]
        onboarding.finished_at = timezone.now()
        onboarding.save()
        audit_record(
            actor=actor.user,
            action="onboarding.signup_failed",
            target=onboarding,
            metadata={"event": event, "problem": onboarding.problem},
        )
        return onboarding
    if not code:
        raise Invalid(_("Meta did not hand over an authorisation code. Connect again."))
    onboarding.code = code
    onboarding.save()
    OnboardingStep.objects.bulk_create(
        [
            OnboardingStep(tenant=require_tenant(), onboarding=onboarding, position=i, name=name)
            for i, name in enumerate(STEPS)
        ]
    )
    audit_record(
        actor=actor.user,
        action="onboarding.started",
        target=onboarding,
        metadata={
            "event": event,
            "waba_id": onboarding.waba_id,
            "phone_number_id": onboarding.phone_number_id,
        },
    )
    _enqueue(onboarding)
    return onboarding


@transaction.atomic
def onboarding_retry(*, actor: Membership, onboarding: Onboarding) -> Onboarding:
    """Resume a failed onboarding from the step that failed."""
    require_manager(actor, message=_("Only owners and admins can connect WhatsApp."))
    if onboarding.status != OnboardingStatus.FAILED or not onboarding.steps.exists():
        raise Conflict(_("Only a failed connection can be retried; connect again instead."))
    if onboarding.problem == ts.SIGNUP_OTHER_WABA:
        # Its token, of the other account, is gone: only a new signup can add the number.
        raise Conflict(
            _(
                "This attempt cannot be retried: open the account's page, click Add number "
                "and go through Meta's window again with the connected account."
            )
        )
    onboarding.steps.filter(
        status__in=[StepStatus.FAILED, StepStatus.RETRYING, StepStatus.RUNNING]
    ).update(status=StepStatus.PENDING, error="")
    # The failure gave back the claims; the steps that took them take them again.
    onboarding.steps.filter(name__in=CLAIM_STEPS).update(status=StepStatus.PENDING, error="")
    onboarding.status, onboarding.problem, onboarding.error_message = (
        OnboardingStatus.QUEUED,
        "",
        "",
    )
    onboarding.finished_at = None
    onboarding.save()
    audit_record(actor=actor.user, action="onboarding.retried", target=onboarding)
    _enqueue(onboarding)
    return onboarding


@transaction.atomic
def onboarding_dismiss(*, actor: Membership, onboarding: Onboarding) -> Onboarding:
    """Hide a failed attempt from the WhatsApp page (it stays in the audit log)."""
    require_manager(actor, message=_("Only owners and admins can connect WhatsApp."))
    if onboarding.status != OnboardingStatus.FAILED:
        raise Conflict(_("Only a failed connection attempt can be dismissed."))
    if onboarding.dismissed_at is None:
        onboarding.dismissed_at = timezone.now()
        onboarding.save(update_fields=["dismissed_at", "updated_at"])
        audit_record(actor=actor.user, action="onboarding.dismissed", target=onboarding)
    return onboarding


def _other_waba_message(chosen: str, target: WhatsAppAccount) -> str:
    return (
        f"WhatsApp Business Account {chosen or '(not named)'} was chosen in the signup "
        f"window; numbers are added here to the connected account {target.waba_id}."
    )


def _stop_other_waba(
    *, actor: Membership, onboarding: Onboarding, target: WhatsAppAccount
) -> Onboarding:
    """The session names another WABA than the target: fail at once, keeping no code."""
    onboarding.status, onboarding.problem = OnboardingStatus.FAILED, ts.SIGNUP_OTHER_WABA
    onboarding.error_message = _other_waba_message(onboarding.waba_id, target)
    onboarding.finished_at = timezone.now()
    _forget_other_waba(onboarding)
    onboarding.save()
    audit_record(
        actor=actor.user,
        action="onboarding.signup_failed",
        target=onboarding,
        metadata={"event": onboarding.signup_event, "problem": onboarding.problem},
    )
    return onboarding


def _forget_other_waba(onboarding: Onboarding) -> None:
    """Keep nothing of the WABA chosen instead of the target: its token, code and ids
    (the message still names it)."""
    onboarding.code = onboarding.access_token = None
    target = onboarding.target_account
    if target is None or onboarding.waba_id != target.waba_id:
        onboarding.waba_id = onboarding.phone_number_id = onboarding.business_id = ""


def _enqueue(onboarding: Onboarding) -> None:
    tasks.onboarding_run_task.delay_on_commit(onboarding.tenant_id, onboarding.pk)


# --- The run --------------------------------------------------------------------------


def onboarding_run(*, onboarding_pk: int) -> Onboarding | None:
    """Run every step not yet done. Raises StepRetry on a transient error.

    One run at a time per onboarding (a cache lock): a resumed run that finds another
    one alive leaves it alone.
    """
    with _run_lock(onboarding_pk) as mine:
        if not mine:
            logger.info("onboarding %s is being run by another worker", onboarding_pk)
            return None
        return _run(onboarding_pk)


@contextmanager
def _run_lock(onboarding_pk: int) -> Iterator[bool]:
    """Whether this process may act on the onboarding: no other runs it right now."""
    lock = f"onboarding-run:{onboarding_pk}"
    mine = bool(cache.add(lock, 1, timeout=settings.ONBOARDING_STALE_SECONDS))
    try:
        yield mine
    finally:
        if mine:
            cache.delete(lock)


def _run(onboarding_pk: int) -> Onboarding | None:
    onboarding = Onboarding.objects.filter(pk=onboarding_pk).first()
    if onboarding is None or onboarding.status in (
        OnboardingStatus.SUCCEEDED,
        OnboardingStatus.FAILED,
    ):
        return onboarding
    if onboarding.status != OnboardingStatus.RUNNING:
        onboarding.status = OnboardingStatus.RUNNING
        onboarding.save(update_fields=["status", "updated_at"])
    for step in onboarding.steps.order_by("position"):
        if step.status in (StepStatus.DONE, StepStatus.SKIPPED):
            continue
        _run_step(onboarding, step)
    _finish(onboarding)
    return onboarding


def _run_step(onboarding: Onboarding, step: OnboardingStep) -> None:
    step.status, step.started_at = StepStatus.RUNNING, step.started_at or timezone.now()
    step.attempts += 1
    step.save(update_fields=["status", "started_at", "attempts"])
    try:
        with transaction.atomic():
            outcome = STEP_FUNCTIONS[step.name](onboarding)
    except StepFailed as exc:
        _fail(onboarding, step, exc.problem, exc.message)
        raise
    except (ge.GraphTransientError, ge.GraphOutcomeUnknown) as exc:
        _mark_retrying(step, exc)
        raise StepRetry(str(exc), getattr(exc, "retry_after", None)) from exc
    except ge.GraphRateLimitError as exc:
        if isinstance(exc, ge.RegistrationLimitError):
            _fail(onboarding, step, ts.REGISTRATION_LIMIT, str(exc))
            raise StepFailed(ts.REGISTRATION_LIMIT, str(exc)) from exc
        _mark_retrying(step, exc)
        raise StepRetry(str(exc), exc.retry_after) from exc
    except ge.GraphError as exc:
        problem = ts.problem_for_graph_error(exc, step=step.name)
        _fail(onboarding, step, problem, str(exc))
        raise StepFailed(problem, str(exc)) from exc
    except SoftTimeLimitExceeded:
        raise  # the task ends; the resume job starts the step again
    except Exception as exc:
        # A bug or a value we did not expect: the user sees a failure with Retry, not a
        # step that runs forever; the traceback is in the log, not on the page.
        logger.exception("onboarding %s: step %s failed", onboarding.pk, step.name)
        message = f"{type(exc).__name__} in step {step.name}"
        _fail(onboarding, step, ts.UNEXPECTED, message)
        raise StepFailed(ts.UNEXPECTED, message) from exc
    step.status = StepStatus.SKIPPED if outcome == _SKIPPED else StepStatus.DONE
    step.finished_at, step.error = timezone.now(), ""
    step.save(update_fields=["status", "finished_at", "error"])


def _mark_retrying(step: OnboardingStep, exc: Exception) -> None:
    step.status, step.error = StepStatus.RETRYING, str(exc)[:2000]
    step.save(update_fields=["status", "error"])


@transaction.atomic
def _fail(onboarding: Onboarding, step: OnboardingStep, problem: str, message: str) -> None:
    step.status, step.error, step.finished_at = StepStatus.FAILED, message[:2000], timezone.now()
    step.save(update_fields=["status", "error", "finished_at"])
    onboarding.status, onboarding.problem = OnboardingStatus.FAILED, problem
    onboarding.error_message, onboarding.finished_at = message[:2000], timezone.now()
    if problem == ts.SIGNUP_OTHER_WABA:
        _forget_other_waba(onboarding)
    onboarding.save()
    if onboarding.waba_id:
        waba = (
            onboarding.account or WhatsAppAccount.objects.filter(waba_id=onboarding.waba_id).first()
        )
        if waba is not None and waba.connection_status == ConnectionStatus.REGISTERING:
            waba.problem, waba.problem_detail = problem, message[:2000]
            waba.save(update_fields=["problem", "problem_detail"])
    released = _claims_release(onboarding)
    integration_events.onboarding_emit(onboarding)
    audit_record(
        actor=None,
        action="onboarding.failed",
        target=onboarding,
        metadata={"step": step.name, "problem": problem, "released": released},
    )


def _claims_release(onboarding: Onboarding) -> list[str]:
    """Give back the claims a failed onboarding took; answers the Meta ids released.

    It took claims if its claim_waba step ran. They stay when the workspace held the
    WABA before this onboarding: its account of it is live (connected, or connected
    with a problem), as when it connects its own WABA again; disconnecting released
    the claims, and a new or reconnecting account is "registering". They stay, too,
    while another unfinished onboarding of the workspace works on the same WABA.
    """
    waba_id = onboarding.waba_id
    if (
        not waba_id
        or not onboarding.steps.filter(name="claim_waba", status=StepStatus.DONE).exists()
    ):
        return []
    account = WhatsAppAccount.objects.filter(waba_id=waba_id).first()
    if account is not None and account.connection_status not in (
        ConnectionStatus.REGISTERING,
        ConnectionStatus.DISCONNECTED,
    ):
        return []
    if (
        Onboarding.objects.filter(
            waba_id=waba_id, status__in=[OnboardingStatus.QUEUED, OnboardingStatus.RUNNING]
        )
        .exclude(pk=onboarding.pk)
        .exists()
    ):
        return []
    return assets.meta_assets_release_waba(waba_id=waba_id)


def onboarding_give_up(
    *, onboarding_pk: int, message: str, problem: str = ts.META_UNAVAILABLE
) -> None:
    """Retries are exhausted: fail the running step with "Meta did not answer".

    An abandoned onboarding (:func:`onboardings_resume_stale`) ends here too, with
    ``problem`` "unexpected".
    """
    onboarding = Onboarding.objects.filter(pk=onboarding_pk).first()
    if onboarding is None or onboarding.status == OnboardingStatus.SUCCEEDED:
        return
    step = (
        onboarding.steps.filter(status=StepStatus.RETRYING).first()
        or onboarding.steps.exclude(status__in=[StepStatus.DONE, StepStatus.SKIPPED])
        .order_by("position")
        .first()
    )
    if step is not None:
        _fail(onboarding, step, problem, message)


def _finish(onboarding: Onboarding) -> None:
    waba = onboarding.account
    assert waba is not None
    now = timezone.now()
    # A reconnection (fetch_waba has already moved a disconnected account on) is
    # recognised by the time of its disconnection.
    reconnected = waba.disconnected_at is not None
    was = ConnectionStatus.DISCONNECTED if reconnected else waba.connection_status
    waba.connection_status = ConnectionStatus.CONNECTED
    waba.problem, waba.problem_detail = "", ""
    waba.connected_at = now if reconnected or not waba.connected_at else waba.connected_at
    waba.disconnected_at = None
    rules.waba_derive_state(waba)
    waba.save()
    snapshots.history_record(
        waba=waba, kind=HistoryKind.CONNECTION, old=was, new="connected", source="onboarding"
    )
    phone_numbers.primary_ensure()
    onboarding.status, onboarding.finished_at = OnboardingStatus.SUCCEEDED, now
    onboarding.code = onboarding.access_token = None  # the account keeps the token
    onboarding.save()
    integration_events.onboarding_emit(onboarding)
    audit_record(
        actor=onboarding.started_by,
        action="waba.connected",
        target=waba,
        metadata={"waba_id": waba.waba_id, "onboarding": onboarding.pk},
    )


# --- The steps --------------------------------------------------------------------------


def _client(onboarding: Onboarding) -> GraphClient:
    return graph.graph_client(token=str(onboarding.access_token or ""))


def step_exchange_token(onboarding: Onboarding) -> str | None:
    if onboarding.access_token:
        return _SKIPPED
    answer = graph.graph_client().exchange_code(str(onboarding.code or ""))
    token = answer.get("access_token")
    if not token:
        raise StepFailed(ts.SIGNUP_INCOMPLETE, "Meta returned no access token for the code.")
    onboarding.access_token, onboarding.code = token, None
    onboarding.save(update_fields=["access_token", "code", "updated_at"])
    return None


def step_confirm_waba(onboarding: Onboarding) -> str | None:
    """Ask Meta which WABAs the token was granted; the session's WABA must be one of them.

    Never skipped: the session info came through the browser. Without it, the first
    WABA granted is the one connected.
    """
    info = graph.graph_client().debug_token(str(onboarding.access_token))
    if not info.is_valid:
        raise StepFailed(ts.SIGNUP_INCOMPLETE, "Meta says the token of this signup is not valid.")
    granted = list(info.waba_ids)
    if not granted:
        raise StepFailed(
            ts.SIGNUP_INCOMPLETE, "Meta did not share a WhatsApp Business Account with our app."
        )
    target = onboarding.target_account
    if target is not None and target.waba_id not in granted:
        raise StepFailed(
            ts.SIGNUP_OTHER_WABA,
            _other_waba_message(
                onboarding.waba_id if onboarding.waba_id in granted else granted[0], target
            ),
        )
    if onboarding.waba_id and onboarding.waba_id not in granted:
        raise StepFailed(
            ts.NOT_SHARED_IN_SIGNUP,
            f"WhatsApp Business Account {onboarding.waba_id} was not shared with our app "
            "in this signup.",
        )
    if not onboarding.waba_id:
        onboarding.waba_id = target.waba_id if target is not None else granted[0]
        onboarding.save(update_fields=["waba_id", "updated_at"])
    return None


def step_fetch_waba(onboarding: Onboarding) -> str | None:
    data = _client(onboarding).waba_get(onboarding.waba_id)
    waba, created = WhatsAppAccount.objects.get_or_create(waba_id=onboarding.waba_id)
    if not created and waba.connection_status == ConnectionStatus.DISCONNECTED:
        waba.connection_status = ConnectionStatus.REGISTERING  # reconnecting: same records
    waba.access_token = onboarding.access_token
    waba.business_id = onboarding.business_id or waba.business_id
    waba.last_synced_at = timezone.now()
    snapshots.waba_apply_snapshot(waba=waba, data=data, source="onboarding")
    onboarding.account = waba
    onboarding.save(update_fields=["account", "updated_at"])
    return None


def step_claim_waba(onboarding: Onboarding) -> str | None:
    """Claim the WABA once the token has read it at Meta: never an id it cannot reach."""
    try:
        _client(onboarding).waba_get(onboarding.waba_id, fields=("id",))
    except ge.GraphPermissionError as exc:
        raise StepFailed(
            ts.NOT_SHARED_IN_SIGNUP,
            f"The token of this signup cannot read WhatsApp Business Account "
            f"{onboarding.waba_id}: {exc}",
        ) from exc
    try:
        assets.meta_asset_claim(kind=MetaAssetKind.WABA, meta_id=onboarding.waba_id)
    except assets.AssetTaken as exc:
        raise StepFailed(
            ts.ANOTHER_PROVIDER,
            f"WhatsApp Business Account {onboarding.waba_id} is connected to another provider.",
        ) from exc
    return None


def step_subscribe(onboarding: Onboarding) -> str | None:
    waba = onboarding.account
    assert waba is not None
    _client(onboarding).subscribed_apps_subscribe(
        waba.waba_id,
        override_callback_uri=settings.META_WEBHOOK_CALLBACK_URL or None,
        verify_token=(settings.META_WEBHOOK_VERIFY_TOKEN or None)
        if settings.META_WEBHOOK_CALLBACK_URL
        else None,
    )
    waba.subscribed = True
    waba.save(update_fields=["subscribed"])
    return None


def step_credit_line(onboarding: Onboarding) -> str | None:
    """Solution partners share their credit line; tech providers' clients pay Meta."""
    waba = onboarding.account
    assert waba is not None
    if not settings.META_CREDIT_LINE_ID:
        return _SKIPPED
    if waba.credit_line_attached:
        return _SKIPPED
    token = settings.META_SYSTEM_USER_TOKEN or str(onboarding.access_token)
    try:
        graph.graph_client(token=token).credit_line_attach(
            settings.META_CREDIT_LINE_ID, waba.waba_id, waba.currency or "USD"
        )
    except (ge.GraphInvalidRequestError, ge.GraphPermissionError) as exc:
        raise StepFailed(ts.CREDIT_LINE, str(exc)) from exc
    waba.credit_line_attached = True
    waba.save(update_fields=["credit_line_attached"])
    return None


def step_fetch_numbers(onboarding: Onboarding) -> str | None:
    waba = onboarding.account
    assert waba is not None
    listed = list(_client(onboarding).phone_numbers_list(waba.waba_id))
    # The session's number must be one Meta lists in the WABA, before anything is kept.
    if onboarding.phone_number_id and onboarding.phone_number_id not in {
        str(data.get("id")) for data in listed
    }:
        raise StepFailed(
            ts.NOT_SHARED_IN_SIGNUP,
            f"Phone number {onboarding.phone_number_id} is not in WhatsApp Business Account "
            f"{waba.waba_id}.",
        )
    seen: list[PhoneNumber] = []
    for data in listed:
        phone, _changes = snapshots.phone_apply_snapshot(waba=waba, data=data, source="onboarding")
        if phone.connection_status == ConnectionStatus.DISCONNECTED:
            phone.connection_status = ConnectionStatus.PENDING
            rules.phone_derive_state(phone)
            phone.save()
        seen.append(phone)
    for phone in seen:
        try:
            assets.meta_asset_claim(
                kind=MetaAssetKind.PHONE_NUMBER, meta_id=phone.phone_number_id, waba_id=waba.waba_id
            )
        except assets.AssetTaken as exc:
            raise StepFailed(
                ts.ANOTHER_PROVIDER,
                f"Phone number {phone.display_phone_number} is connected to another provider.",
            ) from exc
    # The PIN the next step registers with is committed with this step, so that a
    # retry of the registration sends the same one (registering is not idempotent).
    for phone in seen:
        if (
            onboarding.signup_event == SignupEvent.FINISH
            and phone.phone_number_id == onboarding.phone_number_id
        ):
            phone_numbers.phone_pin_ensure(phone)
    return None


def step_register_number(onboarding: Onboarding) -> str | None:
    if onboarding.signup_event != SignupEvent.FINISH or not onboarding.phone_number_id:
        return _SKIPPED  # only a WABA was shared, or a coexistence number (already on the app)
    phone = PhoneNumber.objects.get(
        waba=onboarding.account, phone_number_id=onboarding.phone_number_id
    )
    if phone.meta_status == PhoneStatus.CONNECTED and phone.platform_type == PlatformType.CLOUD_API:
        return _SKIPPED
    pin = phone_numbers.phone_pin_ensure(phone)  # saved by the previous step already
    _client(onboarding).register(phone.phone_number_id, pin)
    old = phone.meta_status
    phone.meta_status, phone.platform_type = PhoneStatus.CONNECTED, PlatformType.CLOUD_API
    phone.registered_at, phone.problem = timezone.now(), ""
    rules.phone_derive_state(phone)
    phone.save()
    snapshots.history_record(
        waba=phone.waba,
        phone=phone,
        kind=HistoryKind.STATUS,
        old=old,
        new=PhoneStatus.CONNECTED,
        source="onboarding",
    )
    return None


def step_fetch_profile(onboarding: Onboarding) -> str | None:
    phone = PhoneNumber.objects.filter(
        waba=onboarding.account, phone_number_id=onboarding.phone_number_id
    ).first()
    if phone is None:
        return _SKIPPED
    data = _client(onboarding).business_profile_get(phone.phone_number_id)
    profile, _created = BusinessProfile.objects.get_or_create(phone_number=phone)
    profile_update_from(profile, data)
    return None


def profile_update_from(profile: BusinessProfile, data: dict[str, Any]) -> None:
    for attr in ("about", "address", "description", "email", "vertical", "profile_picture_url"):
        value = data.get(attr)
        if value is not None:
            setattr(profile, attr, str(value))
    websites = data.get("websites")
    if isinstance(websites, list):
        profile.websites = [str(w) for w in websites]
    profile.fetched_at = timezone.now()
    profile.save()


STEP_FUNCTIONS: dict[str, Callable[[Onboarding], str | None]] = {
    "exchange_token": step_exchange_token,
    "confirm_waba": step_confirm_waba,
    "fetch_waba": step_fetch_waba,
    "claim_waba": step_claim_waba,
    "subscribe": step_subscribe,
    "credit_line": step_credit_line,
    "fetch_numbers": step_fetch_numbers,
    "register_number": step_register_number,
    "fetch_profile": step_fetch_profile,
}


def onboardings_resume_stale(*, older_than_seconds: int = 120) -> int:
    """Queue onboardings that nobody is running (a worker died mid-way), in every tenant.

    One started more than :data:`ABANDONED_AFTER_SECONDS` ago is not queued again: it
    ends failed, with Retry, and gives back its claims. Answers how many were queued.
    """
    abandoned_before = timezone.now() - timedelta(seconds=ABANDONED_AFTER_SECONDS)
    queued = 0
    for stale in selectors.stale_onboardings(older_than_seconds=older_than_seconds):
        if stale.created_at <= abandoned_before:
            _abandon(tenant_pk=stale.tenant_pk, onboarding_pk=stale.onboarding_pk)
            continue
        tasks.onboarding_run_task.delay_on_commit(stale.tenant_pk, stale.onboarding_pk)
        queued += 1
    return queued


def _abandon(*, tenant_pk: int, onboarding_pk: int) -> None:
    """End an onboarding that never finished, in its tenant's scope (beat has none)."""
    tenant = Tenant.objects.filter(pk=tenant_pk, is_active=True).first()
    if tenant is None:
        return
    with tenant_scope(tenant), _run_lock(onboarding_pk) as mine:
        if not mine:
            return  # a worker is on it right now; the next round looks again
        logger.warning("onboarding %s abandoned unfinished", onboarding_pk)
        onboarding_give_up(
            onboarding_pk=onboarding_pk,
            message=f"The connection did not finish within {ABANDONED_AFTER_SECONDS // 3600} "
            "hours of its start.",
            problem=ts.UNEXPECTED,
        )
