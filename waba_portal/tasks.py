"""The base pattern for tenant work in Celery.

A task takes ids, never model instances. ``tenant_task`` wraps a function whose first
argument is the tenant id: the worker re-loads the tenant and runs the body inside
that tenant's scope, so every query in it is scoped exactly as in a web request.
Enqueue with :func:`enqueue_on_commit` (or the task's ``delay_on_commit``) so a task
never runs before the rows it needs are committed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.db import transaction

from accounts.tenancy import tenant_scope


def tenant_task(*task_args: Any, **task_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Celery task that runs inside the scope of the tenant given as its first arg.

    ``@tenant_task(name=..., autoretry_for=..., max_retries=...)``; the wrapped function
    is called as ``fn(tenant, *args, **kwargs)`` (``fn(task, tenant, ...)`` with
    ``bind=True``). A tenant that no longer exists ends
    the task quietly: there is nothing left to do for it.
    """

    def decorator(fn: Callable[..., Any]) -> Any:
        bound = bool(task_options.get("bind"))

        def load_and_run(prefix: tuple[Any, ...], tenant_id: int, args: Any, kwargs: Any) -> Any:
            from accounts.models import Tenant

            tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
            if tenant is None:
                return None
            with tenant_scope(tenant):
                return fn(*prefix, tenant, *args, **kwargs)

        if bound:  # fn(task, tenant, ...): the task itself comes first, for self.retry()

            @functools.wraps(fn)
            def run(task: Any, tenant_id: int, *args: Any, **kwargs: Any) -> Any:
                return load_and_run((task,), tenant_id, args, kwargs)

        else:

            @functools.wraps(fn)
            def run(tenant_id: int, *args: Any, **kwargs: Any) -> Any:
                return load_and_run((), tenant_id, args, kwargs)

        options = {"acks_late": True, "reject_on_worker_lost": True, **task_options}
        return shared_task(*task_args, **options)(run)

    return decorator


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send ``task`` with these arguments once the current transaction commits."""
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs))
