"""Auto-resolve: idle New and Pending conversations past their channel's days, in batches
of one UPDATE each, by one periodic task for every workspace."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from accounts.tenancy import tenant_scope
from inbox import tasks
from inbox.models import Conversation, Queue
from senders.models import ChannelSettings
from tests.factories import PhoneNumberFactory, World
from waba_portal.celery import app as celery_app

from .threads import thread

pytestmark = pytest.mark.django_db


def queues(world: World, tenant: Any = None) -> dict[str, str]:
    with tenant_scope(tenant or world.tenant):
        return dict(Conversation.objects.values_list("contact__profile_name", "queue"))


def test_idle_conversations_are_resolved_after_their_channels_days(world: World) -> None:
    strict = PhoneNumberFactory(waba__tenant=world.tenant)
    default = PhoneNumberFactory(waba=strict.waba)
    with tenant_scope(world.tenant):
        ChannelSettings.objects.create(
            phone_number=strict, name="Strict", auto_resolve_new_days=3, auto_resolve_pending_days=7
        )
    days = timedelta(days=1)
    thread(strict, name="new, 4 days", last_inbound=4 * days)
    thread(strict, name="new, 2 days", last_inbound=2 * days)
    thread(strict, name="pending, 8 days", queue=Queue.PENDING, last_inbound=8 * days)
    thread(strict, name="pending, 6 days", queue=Queue.PENDING, last_inbound=6 * days)
    thread(default, name="default, 29 days", last_inbound=29 * days)
    thread(default, name="default, 31 days", queue=Queue.PENDING, last_inbound=31 * days)
    other = thread(
        PhoneNumberFactory(waba__tenant=world.other_tenant),
        name="globex, 40 days",
        last_inbound=40 * days,
    )

    assert tasks.auto_resolve_task.delay().get() == 4
    assert queues(world) == {
        "new, 4 days": "resolved",
        "new, 2 days": "new",
        "pending, 8 days": "resolved",
        "pending, 6 days": "pending",
        "default, 29 days": "new",
        "default, 31 days": "resolved",
    }
    assert queues(world, world.other_tenant) == {"globex, 40 days": "resolved"}
    with tenant_scope(world.tenant):
        row = Conversation.objects.filter(queue=Queue.RESOLVED).first()
        assert row is not None and row.resolved_at is not None
        audit = list(AuditEvent.objects.filter(action="conversation.auto_resolved"))
    assert sorted(a.metadata["count"] for a in audit) == [1, 1, 1]
    assert other.pk


def test_many_are_resolved_in_batches_of_one_update_each(world: World, settings: Any) -> None:
    settings.INBOX_AUTO_RESOLVE_BATCH = 2
    phone = PhoneNumberFactory(waba__tenant=world.tenant)
    for i in range(5):
        thread(phone, name=f"idle {i}", last_inbound=timedelta(days=40))
    thread(phone, name="active", last_inbound=timedelta(hours=1))
    with CaptureQueriesContext(connection) as queries:
        assert tasks.auto_resolve_task.delay().get() == 5
    updates = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "inbox_conversation"')
    ]
    assert len(updates) == 3  # 2 + 2 + 1, never one statement per conversation
    assert all("LIMIT 2" in sql for sql in updates)
    assert queues(world)["active"] == "new"
    with tenant_scope(world.tenant):
        counts = sorted(
            AuditEvent.objects.filter(action="conversation.auto_resolved").values_list(
                "metadata__count", flat=True
            )
        )
    assert counts == [1, 2, 2]


def test_a_run_resolves_at_most_its_share_and_the_next_run_goes_on(
    world: World, settings: Any
) -> None:
    settings.INBOX_AUTO_RESOLVE_BATCH = 2
    settings.INBOX_AUTO_RESOLVE_MAX_PER_RUN = 3
    phone = PhoneNumberFactory(waba__tenant=world.tenant)
    for i in range(5):
        thread(phone, name=f"idle {i}", last_inbound=timedelta(days=40))
    assert tasks.auto_resolve_task.delay().get() == 3
    assert list(queues(world).values()).count("resolved") == 3
    assert tasks.auto_resolve_task.delay().get() == 2
    assert tasks.auto_resolve_task.delay().get() == 0


def test_beat_runs_the_one_task() -> None:
    entries = [
        e for e in celery_app.conf.beat_schedule.values() if e["task"] == "inbox.auto_resolve"
    ]
    assert len(entries) == 1 and entries[0]["schedule"] == 300.0
