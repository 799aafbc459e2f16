"""The base pattern for tenant work in Celery.

A task takes ids, never model instances. ``tenant_task`` wraps a function whose first
argument is the tenant id: the worker re-loads the tenant and runs the body inside
that tenant's scope, so every query in it is scoped exactly as in a web request.

The one way tasks and services meet (stated here, followed everywhere):

- each task declares its queue on its decorator (``queue="sync"``; the queues are
  ``waba_portal.celery.QUEUES``); there is no routing by name;
- a services module imports its app's tasks at the top and enqueues with
  ``task.delay_on_commit(tenant.pk, ...)`` (Celery's Django task class), so a task
  never runs before the rows it needs are committed;
- a tasks module imports its services *inside* each task body, so the two never form
  an import cycle at load time; a task body is one call into a service, plus the
  retry decision (``waba_portal.task_retry``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from celery import shared_task

from accounts.tenancy import tenant_scope


def tenant_task(*task_args: Any, **task_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Celery task that runs inside the scope of the tenant given as its first arg.

    ``@tenant_task(name=..., queue=..., bind=True, max_retries=None)``; the wrapped function
    is called as ``fn(tenant, *args, **kwargs)`` (``fn(task, tenant, ...)`` with
    ``bind=True``). A tenant that no longer exists ends
    the task quietly: there is nothing left to do for it.
    """

    def decorator(fn: Callable[..., Any]) -> Any:
        bound = bool(task_options.get("bind"))

        def load_and_run(prefix: tuple[Any, ...], tenant_id: int, args: Any, kwargs: Any) -> Any:
            from accounts.models import Tenant  # models load after the task registry

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

        if "queue" not in task_options:
            raise TypeError(f"{fn.__qualname__}: name the queue it runs on (queue=...)")
        options = {"acks_late": True, "reject_on_worker_lost": True, **task_options}
        return shared_task(*task_args, **options)(run)

    return decorator
