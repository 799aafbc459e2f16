"""Every task of ours names its queue on its decorator; nothing is routed by name."""

from __future__ import annotations

import subprocess
import sys

from waba_portal.celery import QUEUES
from waba_portal.celery import app as celery_app

OUR_PREFIXES = ("accounts.", "senders.", "inbox.", "templates_app.", "webhooks.", "waba_portal.")


def _our_tasks() -> dict[str, object]:
    celery_app.loader.import_default_modules()
    return {name: task for name, task in celery_app.tasks.items() if name.startswith(OUR_PREFIXES)}


def test_every_task_declares_one_of_the_queues() -> None:
    tasks = _our_tasks()
    assert tasks, "no task of ours is registered: autodiscovery is broken"
    undeclared = sorted(
        name for name, task in tasks.items() if getattr(task, "queue", None) is None
    )
    assert undeclared == [], "say queue=... on the task's decorator"
    unknown = sorted(name for name, task in tasks.items() if task.queue not in QUEUES)  # type: ignore[attr-defined]
    assert unknown == []


def test_no_routing_by_name_is_left() -> None:
    assert not celery_app.conf.task_routes


def test_tasks_run_with_late_acks_and_are_redelivered_when_a_worker_dies() -> None:
    for name, task in _our_tasks().items():
        assert task.acks_late, name  # type: ignore[attr-defined]
        assert task.reject_on_worker_lost, name  # type: ignore[attr-defined]


def test_tasks_sent_by_beat_are_ours_and_registered() -> None:
    tasks = _our_tasks()
    for entry in celery_app.conf.beat_schedule.values():
        assert entry["task"] in tasks


def test_a_worker_process_freezes_what_is_loaded_and_collects_young_objects_less_often() -> None:
    """In a process of its own (the collector is the process's): what a prefork child
    gets when it starts, through the signal Celery sends it."""
    script = (
        "import gc, django; django.setup()\n"
        "from celery import signals\n"
        "from waba_portal.celery import GC_YOUNG_THRESHOLD\n"
        "before = (gc.get_threshold()[0], gc.get_freeze_count())\n"
        "signals.worker_process_init.send(sender=None)\n"
        "print(before[0], before[1], gc.get_threshold()[0], gc.get_freeze_count(), "
        "GC_YOUNG_THRESHOLD)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    young_before, frozen_before, young, frozen, wanted = map(int, out)
    assert (young_before, frozen_before) == (700, 0)
    assert young == wanted == 10_000
    assert frozen > 10_000  # Django and the apps, loaded by django.setup()
