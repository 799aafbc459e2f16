"""The Celery application: queues, routing, the beat schedule, and delivery guarantees.

Queues:
- ``default``: housekeeping and anything not routed elsewhere;
- ``webhooks``: processing of stored Meta webhook deliveries;
- ``send``: outbound messages (never blocked behind a slow sync);
- ``sync``: polling Meta for WABA, number and template state, onboarding steps.

Each task names its queue on its decorator (``queue="sync"``); nothing is routed by
name. Tasks that must not be lost run with ``acks_late`` and ``reject_on_worker_lost``
(the defaults here), so a worker killed mid-task leaves the message on the broker
and another worker runs it again; their handlers are written to be safe to re-run.
"""

import os

from celery import Celery
from celery.schedules import crontab
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waba_portal.settings")

app = Celery("waba_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = ("default", "webhooks", "send", "sync")

app.conf.update(
    task_queues=[Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
    task_default_queue="default",
    task_default_exchange="default",
    task_default_routing_key="default",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_acks_on_failure_or_timeout=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_time_limit=300,
    task_soft_time_limit=240,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    beat_schedule={
        "resume-onboardings": {
            "task": "senders.onboardings_resume",
            "schedule": 60.0,
        },
        "sync-wabas": {
            "task": "senders.sync_fan_out",
            "schedule": 300.0,
        },
        "sweep-webhook-deliveries": {
            "task": "webhooks.sweep_deliveries",
            "schedule": 30.0,
        },
        "expire-invitations": {
            "task": "accounts.tasks.invitations_expire",
            "schedule": crontab(minute="*/15"),
        },
    },
)

app.autodiscover_tasks()
