"""The Celery application: queues, routing, the beat schedule, and delivery guarantees.

Queues:
- ``default``: housekeeping and anything not routed elsewhere;
- ``webhooks``: processing of stored Meta webhook deliveries;
- ``send``: outbound messages (never blocked behind a slow sync);
- ``sync``: polling Meta for WABA, number and template state, onboarding steps;
- ``events``: integrators' event webhooks (``waba_portal.events``), whose slow or
  failing endpoints must not hold up our own work.

Each task names its queue on its decorator (``queue="sync"``); nothing is routed by
name. Tasks that must not be lost run with ``acks_late`` and ``reject_on_worker_lost``
(the defaults here), so a worker killed mid-task leaves the message on the broker
and another worker runs it again; their handlers are written to be safe to re-run.

Workers survive a Redis restart. With the Redis transport, a worker that consumes a
broadcast queue (remote control's pidbox, gossip) exited with "Unrecoverable error:
AttributeError: 'NoneType' object has no attribute 'hostname'" when Redis died while
a task ran: the broadcast connection failed first, kombu closed the transport, then
tried to put the unacknowledged message back through the closed transport (celery 5.7,
kombu 5.7: in 14 trials of 14; without broadcast consumers in none of 16; see
docs/webhooks.md, "Faults"). So remote control is off here, and every worker command
runs with ``--without-gossip --without-mingle --without-heartbeat`` (a test checks the
Procfiles and docker-compose.yml). Nothing here uses broadcast commands; the price is
``celery inspect`` / ``celery control``. Every long-running process still runs under a
supervisor that restarts it (docker-compose's restart policy, scripts/supervise.py).
"""

import gc
import os
import warnings

from celery import Celery, signals
from celery.exceptions import CPendingDeprecationWarning
from celery.schedules import crontab
from django.conf import settings
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waba_portal.settings")

# What each worker command passes (Procfile, Procfile.dev, docker-compose.yml, bench).
WORKER_FLAGS = ("--without-gossip", "--without-mingle", "--without-heartbeat")


def worker_concurrency() -> int:
    """Worker processes when the command names none: ``WORKER_CONCURRENCY``, else twice
    the cores. The tasks mostly wait (on Meta, on PostgreSQL's commits), so one process
    per core leaves the cores idle: with two, a burst of replies left at 71 a second
    (each send waits some 28 ms), under the 76 its number's pacing allows; with four,
    at 73 (bench.send_pacing)."""
    configured = os.environ.get("WORKER_CONCURRENCY", "").strip()
    if configured:
        return max(1, int(configured))
    return 2 * (os.cpu_count() or 1)


app = Celery("waba_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = ("default", "webhooks", "send", "sync", "events")

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
    # A broker outage, however long, is waited out (kombu's default gives up after 100
    # attempts, some 45 minutes, and the worker exits).
    broker_connection_max_retries=None,
    # See the module's docstring: no broadcast consumer, so a Redis restart is survived.
    worker_enable_remote_control=False,
    # Tasks running when the broker connection drops finish their work (the drain's
    # writes are committed); their messages are redelivered if the ack is lost, and
    # every task is safe to run twice. Celery 6 changes this default; we keep it.
    worker_cancel_long_running_tasks_on_connection_loss=False,
    worker_hijack_root_logger=False,
    worker_concurrency=worker_concurrency(),
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
            "schedule": 5.0,  # WEBHOOK_SWEEP_SECONDS, set below once settings are loaded
        },
        "expire-invitations": {
            "task": "accounts.tasks.invitations_expire",
            "schedule": crontab(minute="*/15"),
        },
        # -- display name, OBA, QR codes (H3)
        "refresh-official-business-requests": {
            # Meta sends no webhook for the badge's decision: read the requests in review.
            "task": "senders.oba_refresh_fan_out",
            "schedule": 1800.0,
        },
        # -- business profile and logo (H4)
        # -- templates (T1/T2)
        # -- REST API (A1)
        "send-due-event-deliveries": {
            "task": "waba_portal.events.deliveries_sweep",
            "schedule": 10.0,  # EVENT_DELIVERY_SWEEP_SECONDS, set below once settings load
        },
        "prune-events": {
            "task": "waba_portal.events.events_prune",
            "schedule": crontab(minute=7),
        },
        "expire-idempotency-keys": {
            "task": "accounts.tasks.idempotency_keys_expire",
            "schedule": crontab(minute="*/15"),
        },
        "sync-templates": {
            "task": "templates_app.templates_sync_fan_out",
            "schedule": 600.0,  # each WABA is read once per TEMPLATE_SYNC_INTERVAL_SECONDS
        },
        # -- inbox (I1)
        "auto-resolve-conversations": {
            # Every workspace's idle New and Pending conversations, in batches.
            "task": "inbox.auto_resolve",
            "schedule": 300.0,
        },
    },
)


@signals.celeryd_after_setup.connect
def _quiet_connection_loss_notice(**kwargs: object) -> None:
    """Celery warns at every lost broker connection while
    ``worker_cancel_long_running_tasks_on_connection_loss`` is False, which is our
    choice (above), not a default we missed. Added once the worker has set up its
    logging, which turns every Celery deprecation warning on."""
    warnings.filterwarnings(
        "ignore",
        message=r"\s*In Celery 5\.1 we introduced an optional breaking change",
        category=CPendingDeprecationWarning,
    )


# A worker process's garbage collector, as the web server's (waba_portal/wsgi.py): what
# is loaded when the process starts (Django, the apps) is frozen out of its way, and a
# young collection waits for this many new objects rather than 700. A webhook batch makes
# tens of thousands (rows, parsed events), nearly all freed by reference counting when
# it ends; with the defaults the collector walked them some 800 times per 8,000 events,
# a quarter of the batch's time (1.15 of 4.3 s; 0.15 s with these).
GC_YOUNG_THRESHOLD = 10_000


@signals.worker_process_init.connect
def _collector_for_batches(**kwargs: object) -> None:
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


@app.on_after_configure.connect
def _sweep_interval(sender: Celery, **kwargs: object) -> None:
    """The sweeper's interval is a setting: read when the configuration is (Django's
    settings may still be loading when this module is imported)."""
    schedule = sender.conf.beat_schedule["sweep-webhook-deliveries"]
    schedule["schedule"] = float(settings.WEBHOOK_SWEEP_SECONDS)
    events = sender.conf.beat_schedule.get("send-due-event-deliveries")
    if events is not None:
        events["schedule"] = float(settings.EVENT_DELIVERY_SWEEP_SECONDS)


app.autodiscover_tasks()
