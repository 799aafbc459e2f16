"""Celery tasks of message templates: each one call into a service, and its retry decision.

Services import this module and enqueue with ``task.delay_on_commit(tenant_pk, ...)``;
each task imports its service inside its body (``accounts.tasking`` says why).
Creates, edits and deletions run on ``default`` (a person waits for them); reads of
Meta run on ``sync``.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from accounts.models import Tenant
from accounts.tasking import tenant_task
from waba_portal.task_retry import TaskRetryPolicy

# A person waits for a submission, an edit or a deletion: Meta's hints are bounded too.
TEMPLATE_WRITE_RETRY = TaskRetryPolicy(
    base="SYNC_RETRY_BASE_SECONDS", cap=600, max_retries="SYNC_MAX_RETRIES", max_hint=900
)
# The read of a WABA's templates: a hint from Meta may make it wait past the cap.
TEMPLATE_SYNC_RETRY = TaskRetryPolicy(
    base="SYNC_RETRY_BASE_SECONDS", cap=900, max_retries="SYNC_MAX_RETRIES"
)


@tenant_task(name="templates_app.template_create", queue="default", bind=True, max_retries=None)
def template_create_task(task: Any, tenant: Tenant, template_pk: int) -> None:
    """Submit a new template to Meta; transient errors retry with backoff."""
    from templates_app.services import lifecycle

    try:
        lifecycle.template_create_at_meta(template_pk=template_pk)
    except lifecycle.RETRYABLE_ERRORS as exc:
        message = str(exc)
        TEMPLATE_WRITE_RETRY.retry_task(
            task,
            exc,
            give_up=lambda: lifecycle.template_write_give_up(
                template_pk=template_pk, action="create", message=message
            ),
        )


@tenant_task(name="templates_app.template_edit", queue="default", bind=True, max_retries=None)
def template_edit_task(
    task: Any, tenant: Tenant, template_pk: int, actor_pk: int | None = None
) -> None:
    """Send an edit of a template to Meta."""
    from templates_app.services import lifecycle

    try:
        lifecycle.template_edit_at_meta(template_pk=template_pk, actor_pk=actor_pk)
    except lifecycle.RETRYABLE_ERRORS as exc:
        message = str(exc)
        TEMPLATE_WRITE_RETRY.retry_task(
            task,
            exc,
            give_up=lambda: lifecycle.template_write_give_up(
                template_pk=template_pk, action="edit", message=message
            ),
        )


@tenant_task(name="templates_app.template_delete", queue="default", bind=True, max_retries=None)
def template_delete_task(
    task: Any,
    tenant: Tenant,
    waba_pk: int,
    name: str,
    template_pks: list[int],
    all_languages: bool,
    actor_pk: int | None = None,
) -> None:
    """Delete one language of a template at Meta, or every language of its name."""
    from templates_app.services import lifecycle

    try:
        lifecycle.template_delete_at_meta(
            waba_pk=waba_pk,
            name=name,
            template_pks=template_pks,
            all_languages=all_languages,
            actor_pk=actor_pk,
        )
    except lifecycle.RETRYABLE_ERRORS as exc:
        message = str(exc)

        def give_up() -> None:
            for pk in template_pks:
                lifecycle.template_write_give_up(template_pk=pk, action="delete", message=message)

        TEMPLATE_WRITE_RETRY.retry_task(task, exc, give_up=give_up)


@shared_task(name="templates_app.templates_sync_fan_out", queue="sync")
def templates_sync_fan_out_task() -> int:
    """Beat: queue a template sync of every connected WABA that is due (across tenants)."""
    from templates_app.services import sync

    return sync.templates_sync_fan_out()


@tenant_task(name="templates_app.templates_sync", queue="sync", bind=True, max_retries=None)
def templates_sync_task(
    task: Any, tenant: Tenant, waba_pk: int, sync_pk: int | None = None
) -> None:
    """Read every template of one WABA from Meta and apply what changed."""
    from templates_app.services import sync

    try:
        sync.templates_sync_run(waba_pk=waba_pk, sync_pk=sync_pk)
    except sync.RETRYABLE_ERRORS as exc:
        message = str(exc)
        TEMPLATE_SYNC_RETRY.retry_task(
            task,
            exc,
            give_up=lambda: sync.templates_sync_give_up(
                waba_pk=waba_pk, sync_pk=sync_pk, message=message
            ),
        )
