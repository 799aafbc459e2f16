"""The three benchmarks. They run in the orchestrating process, after ``django.setup()``.

Reads of the results go straight to the tables with SQL (they look across tenants and
must not disturb the run); seeding uses the models, inside the tenant's scope.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg2
from django.db import connection

from accounts.models import Tenant
from accounts.tenancy import tenant_scope
from bench import loadgen, payloads
from bench.infra import BenchError
from inbox.models import (
    Contact,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    MessageStatusEvent,
)
from senders.models import ConnectionStatus, MetaAsset, MetaAssetKind, PhoneNumber, WhatsAppAccount
from waba_portal.webhooks.models import WebhookChange, WebhookDelivery

HELLO_PATH = "/bench/hello/"
WEBHOOK_PATH = "/webhooks/meta/"
# The same view behind Django's middleware, for comparison (bench/urls.py).
WEBHOOK_VIA_DJANGO_PATH = "/bench/webhook-via-django/"
DELIVERY = WebhookDelivery._meta.db_table
CHANGE = WebhookChange._meta.db_table
MESSAGE = Message._meta.db_table
STATUS_EVENT = MessageStatusEvent._meta.db_table
CONTACT = Contact._meta.db_table
CONVERSATION = Conversation._meta.db_table


@dataclass
class Context:
    port: int
    secret: str
    database_url: str
    processes: int
    threads: int
    routing: payloads.Routing = field(default_factory=payloads.Routing)
    tenant: Tenant | None = None
    host: str = "127.0.0.1"

    def spec(self, path: str, **kwargs: Any) -> loadgen.LoadSpec:
        kwargs.setdefault("processes", self.processes)
        kwargs.setdefault("threads", self.threads)
        return loadgen.LoadSpec(
            host=self.host,
            port=self.port,
            path=path,
            secret=self.secret,
            extra_headers={"X-Forwarded-Proto": "https"},
            **kwargs,
        )


# --- Set-up and reads ----------------------------------------------------------------


def tenant_seed(ctx: Context) -> None:
    """One tenant holding the bench's WABA and phone number (webhooks route to it),
    connected before the stream's first event, so every inbound message joins a thread
    of the inbox (a contact and a conversation on that channel)."""
    tenant = Tenant.objects.create(name="Bench", slug="bench")
    with tenant_scope(tenant):
        MetaAsset.objects.create(kind=MetaAssetKind.WABA, meta_id=ctx.routing.waba_id)
        MetaAsset.objects.create(
            kind=MetaAssetKind.PHONE_NUMBER,
            meta_id=ctx.routing.phone_number_id,
            waba_id=ctx.routing.waba_id,
        )
        connected = datetime.fromtimestamp(time.time() - 7 * 86_400, tz=UTC)
        waba = WhatsAppAccount.objects.create(
            waba_id=ctx.routing.waba_id,
            name="Bench",
            connection_status=ConnectionStatus.CONNECTED,
            connected_at=connected,
        )
        PhoneNumber.objects.create(
            waba=waba,
            phone_number_id=ctx.routing.phone_number_id,
            display_phone_number="+49 30 1234567",
            verified_name="Bench",
            is_primary=True,
        )
    ctx.tenant = tenant


def outbound_seed(ctx: Context, stream: payloads.Stream) -> None:
    """The rows the portal wrote when it sent the stream's outbound messages."""
    assert ctx.tenant is not None
    with tenant_scope(ctx.tenant):
        Message.objects.bulk_create(
            [
                Message(
                    tenant=ctx.tenant,
                    wamid=wamid,
                    direction=Direction.OUTBOUND,
                    phone_number_id=ctx.routing.phone_number_id,
                    wa_id=recipient,
                    type="text",
                    text="Your order has shipped.",
                    status=MessageStatus.QUEUED,
                    status_rank=0,
                )
                for wamid, (recipient, _, _) in stream.outbound.items()
            ],
            batch_size=1000,
        )


def queue_length() -> int:
    from waba_portal.celery import app

    with app.connection_for_write() as conn:
        return int(conn.default_channel.client.llen("webhooks"))


def pipeline_reset(*, drain: bool = True, drain_timeout: float = 120.0) -> None:
    """Empty the webhook and inbox tables and the queue (first let a worker drain it)."""
    from waba_portal.celery import app

    if drain:
        deadline = time.monotonic() + drain_timeout
        while queue_length() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)  # the last task in flight
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("webhooks")
    with connection.cursor() as cur:
        # CASCADE: the inbox's media and consent rows point at messages (inbox, I1).
        cur.execute(
            f"TRUNCATE {CHANGE}, {DELIVERY}, {STATUS_EVENT}, {MESSAGE}, {CONVERSATION}, "
            f"{CONTACT} CASCADE"
        )


def _scalar(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        row = cur.fetchone()
    return int(row[0] or 0) if row else 0


def delivery_counts() -> dict[str, int]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT status, count(*) FROM {DELIVERY} GROUP BY status")  # noqa: S608
        return {status: int(n) for status, n in cur.fetchall()}


@dataclass
class Wait:
    done: bool
    at: float
    detail: str = ""


def wait_processed(*, deliveries: int, timeout: float, poll: float = 0.2) -> Wait:
    """Until ``deliveries`` deliveries exist and all are processed (or one fails)."""
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = delivery_counts()
        if counts.get("dead") or counts.get("retrying"):
            return Wait(False, time.time(), f"deliveries failed: {counts}")
        if counts.get("processed", 0) >= deliveries and sum(counts.values()) == counts.get(
            "processed", 0
        ):
            return Wait(True, time.time())
        time.sleep(poll)
    return Wait(False, time.time(), f"timed out after {timeout:.0f} s: {counts}")


def stream_state(ctx: Context) -> dict[str, Any]:
    """What the pipeline wrote, in the terms of :class:`payloads.Stream`'s expectations."""
    assert ctx.tenant is not None
    tid = ctx.tenant.pk
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT status, count(*) FROM {MESSAGE} "  # noqa: S608
            "WHERE tenant_id = %s AND direction = 'out' GROUP BY status",
            [tid],
        )
        outbound = {status: int(n) for status, n in cur.fetchall()}
    return {
        "changes_processed": _scalar(
            f"SELECT count(*) FROM {CHANGE} WHERE status = 'processed'"  # noqa: S608
        ),
        "status_events": _scalar(
            f"SELECT count(*) FROM {STATUS_EVENT} WHERE tenant_id = %s",  # noqa: S608
            [tid],
        ),
        "inbound": _scalar(
            f"SELECT count(*) FROM {MESSAGE} WHERE tenant_id = %s AND direction = 'in'",  # noqa: S608
            [tid],
        ),
        # The inbox's rows: each inbound message in a thread, one contact and one open
        # conversation per customer who wrote.
        "inbound_in_threads": _scalar(
            f"SELECT count(*) FROM {MESSAGE} WHERE tenant_id = %s AND direction = 'in' "  # noqa: S608
            "AND conversation_id IS NOT NULL",
            [tid],
        ),
        "contacts": _scalar(
            f"SELECT count(*) FROM {CONTACT} WHERE tenant_id = %s",  # noqa: S608
            [tid],
        ),
        "conversations": _scalar(
            f"SELECT count(*) FROM {CONVERSATION} WHERE tenant_id = %s",  # noqa: S608
            [tid],
        ),
        "outbound": outbound,
    }


def stream_expected(stream: payloads.Stream) -> dict[str, Any]:
    return {
        "changes_processed": stream.changes,
        "status_events": stream.statuses,
        "inbound": len(stream.inbound),
        "inbound_in_threads": len(stream.inbound),
        "contacts": len(stream.customers),
        "conversations": len(stream.customers),
        "outbound": stream.expected_outbound_statuses(),
    }


@dataclass
class Snapshot:
    digest: str
    rows: dict[str, tuple[str, int, int | None]]
    messages: int
    status_events: int
    distinct_status_events: int
    deliveries: int
    duplicates_answered: int


def snapshot(ctx: Context) -> Snapshot:
    assert ctx.tenant is not None
    tid = ctx.tenant.pk
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT wamid, status, status_rank, error_code FROM {MESSAGE} "  # noqa: S608
            "WHERE tenant_id = %s ORDER BY wamid",
            [tid],
        )
        rows = cur.fetchall()
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    return Snapshot(
        digest=digest,
        rows={wamid: (status, rank, code) for wamid, status, rank, code in rows},
        messages=len(rows),
        status_events=_scalar(
            f"SELECT count(*) FROM {STATUS_EVENT} WHERE tenant_id = %s",  # noqa: S608
            [tid],
        ),
        distinct_status_events=_scalar(
            f"SELECT count(DISTINCT (wamid, status)) FROM {STATUS_EVENT} "  # noqa: S608
            "WHERE tenant_id = %s",
            [tid],
        ),
        deliveries=_scalar(f"SELECT count(*) FROM {DELIVERY}"),  # noqa: S608
        duplicates_answered=_scalar(f"SELECT sum(duplicates) FROM {DELIVERY}"),  # noqa: S608
    )


# --- Intake ---------------------------------------------------------------------------


def _summary(results: list[loadgen.LoadResult]) -> dict[str, Any]:
    merged = loadgen.LoadResult()
    elapsed = 0.0
    for r in results:
        elapsed += r.elapsed
        merged.merge(r)
    cores = os.cpu_count() or 1
    return {
        "requests": merged.ok,
        "errors": merged.errors,
        "first_error": merged.first_error,
        "seconds": round(elapsed, 2),
        "rps": merged.ok / elapsed if elapsed else 0.0,
        "p50_ms": merged.percentile(50) * 1000,
        "p99_ms": merged.percentile(99) * 1000,
        "max_ms": max(merged.latencies, default=0.0) * 1000,
        "connects": merged.connects,
        "loadgen_cpu_share": merged.cpu_seconds / (elapsed * cores) if elapsed else 0.0,
    }


def intake_stage(ctx: Context, *, rounds: int, duration: float, warmup: float) -> dict[str, Any]:
    """Hello-world, the webhook endpoint, and the same view behind Django's middleware,
    in turn (the order rotating each round), with the same load."""
    templates = payloads.intake_templates(ctx.routing)
    targets = [
        ("hello", HELLO_PATH),
        ("intake", WEBHOOK_PATH),
        ("via_django", WEBHOOK_VIA_DJANGO_PATH),
    ]
    for _, path in targets:
        loadgen.run(ctx.spec(path, duration=warmup, templates=templates))
    before = _scalar(f"SELECT count(*) FROM {DELIVERY}")  # noqa: S608
    results: dict[str, list[loadgen.LoadResult]] = {name: [] for name, _ in targets}
    for r in range(rounds):
        shift = r % len(targets)
        for name, path in targets[shift:] + targets[:shift]:
            results[name].append(
                loadgen.run(ctx.spec(path, duration=duration, templates=templates))
            )
    hello, intake = _summary(results["hello"]), _summary(results["intake"])
    via_django = _summary(results["via_django"])
    stored = _scalar(f"SELECT count(*) FROM {DELIVERY}") - before  # noqa: S608
    return {
        "hello": hello,
        "intake": intake,
        "via_django": via_django,
        "ratio": intake["rps"] / hello["rps"] if hello["rps"] else 0.0,
        "ratio_via_django": via_django["rps"] / hello["rps"] if hello["rps"] else 0.0,
        "stored_deliveries": stored,
        "stored_matches_answers": stored == intake["requests"] + via_django["requests"],
        "bytes_per_body_avg": sum(map(len, templates)) / len(templates),
        "rounds": rounds,
        "seconds_per_phase": duration,
        "connections": ctx.processes * ctx.threads,
    }


# --- Baseline -------------------------------------------------------------------------


def baseline_stage(ctx: Context, *, rows: int) -> dict[str, Any]:
    """One INSERT per row, autocommit, into a copy of inbox_message (same shape, indexes)."""
    assert ctx.tenant is not None
    conn = psycopg2.connect(ctx.database_url)
    conn.autocommit = True
    payload = json.dumps(
        payloads.intake_templates(ctx.routing, count=1)[0].decode()[:400], separators=(",", ":")
    )
    try:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_baseline_message")
            cur.execute(f"CREATE TABLE bench_baseline_message (LIKE {MESSAGE} INCLUDING ALL)")
            sql = (
                "INSERT INTO bench_baseline_message (tenant_id, wamid, direction, "
                "phone_number_id, wa_id, contact_name, type, text, payload, status, "
                "status_rank, error_title, error_details, meta_timestamp, created_at) "
                "VALUES (%s, %s, 'in', %s, %s, 'Kunde', 'text', %s, %s, 'received', 0, "
                "'', '', %s, now())"
            )
            now = datetime.now(UTC)
            t0 = time.perf_counter()
            for i in range(rows):
                cur.execute(
                    sql,
                    [
                        ctx.tenant.pk,
                        f"wamid.BASELINE{i:012d}",
                        ctx.routing.phone_number_id,
                        f"4915100{i:06d}",
                        "hello, where is my order?",
                        payload,
                        now,
                    ],
                )
            elapsed = time.perf_counter() - t0
            cur.execute("DROP TABLE bench_baseline_message")
    finally:
        conn.close()
    return {"rows": rows, "seconds": round(elapsed, 3), "rows_per_s": rows / elapsed}


# --- End to end -------------------------------------------------------------------------


def _post_in_background(
    spec: loadgen.LoadSpec,
) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = loadgen.run(spec)
        except Exception as exc:  # reported by the caller
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def _posted(thread: threading.Thread, box: dict[str, Any]) -> loadgen.LoadResult:
    thread.join()
    if "error" in box:
        raise BenchError(f"the load generator failed: {box['error']}") from box["error"]
    result: loadgen.LoadResult = box["result"]
    return result


def e2e_stage(
    ctx: Context, *, events: int, timeout: float, batching: payloads.Batching
) -> dict[str, Any]:
    """N events through the endpoint, the queue and the worker into the inbox tables."""
    stream = payloads.conversation_stream(
        ctx.routing, events=events, prefix="E2E", batching=batching
    )
    pipeline_reset()
    outbound_seed(ctx, stream)
    bodies = [d.body for d in stream.deliveries]
    thread, box = _post_in_background(ctx.spec(WEBHOOK_PATH, bodies=bodies, timeout=timeout))
    wait = wait_processed(deliveries=len(bodies), timeout=timeout + 30)
    backlog = queue_length()
    posted = _posted(thread, box)
    state, expected = stream_state(ctx), stream_expected(stream)
    seconds = wait.at - posted.start
    return {
        "batching": batching.name,
        "events": stream.events,
        "deliveries": len(bodies),
        "changes": stream.changes,
        "events_per_delivery": stream.events / len(bodies),
        "complete": wait.done and state == expected,
        "detail": wait.detail or ("" if state == expected else f"{state} != {expected}"),
        "seconds": round(seconds, 3),
        "events_per_s": stream.events / seconds if wait.done else 0.0,
        "intake_seconds": round(posted.elapsed, 3),
        "intake_rps": posted.rate,
        "intake_p99_ms": posted.percentile(99) * 1000,
        "post_errors": posted.errors,
        "drain_after_last_post_s": round(wait.at - posted.end, 3),
        "tasks_queued_when_done": backlog,
        "state": state,
    }


# --- Replay -----------------------------------------------------------------------------


def _compare(reference: Snapshot, other: Snapshot) -> dict[str, Any]:
    downgrades = sum(
        1
        for wamid, (_, rank, _) in reference.rows.items()
        if wamid in other.rows and other.rows[wamid][1] < rank
    )
    return {
        "messages": other.messages,
        "duplicate_messages": other.messages - len(set(other.rows)),
        "extra_messages": other.messages - reference.messages,
        "missing_messages": len(set(reference.rows) - set(other.rows)),
        "status_events": other.status_events,
        "extra_status_events": other.status_events - reference.status_events,
        "duplicate_status_events": other.status_events - other.distinct_status_events,
        "status_downgrades": downgrades,
        "digest": other.digest,
        "identical": other.digest == reference.digest,
        "deliveries_stored": other.deliveries,
        "duplicates_answered_by_dedup": other.duplicates_answered,
    }


def _post_and_wait(ctx: Context, bodies: list[bytes], timeout: float, **spec: Any) -> Wait:
    thread, box = _post_in_background(
        ctx.spec(WEBHOOK_PATH, bodies=bodies, timeout=timeout, **spec)
    )
    posted = _posted(thread, box)
    if posted.errors:
        raise BenchError(f"{posted.errors} POSTs failed: {posted.first_error}")
    return wait_processed(deliveries=0, timeout=timeout)


def replay_stage(ctx: Context, *, events: int, timeout: float) -> dict[str, Any]:
    """In order once; then every delivery 3x more, shuffled, split and merged."""
    stream = payloads.conversation_stream(ctx.routing, events=events, prefix="RPL", seed=21)
    chaos = payloads.chaos_bodies(stream)
    pipeline_reset()
    outbound_seed(ctx, stream)
    bodies = [d.body for d in stream.deliveries]
    waits = {"in_order": _post_and_wait(ctx, bodies, timeout, processes=1, threads=1)}
    reference = snapshot(ctx)
    in_order_correct = stream_state(ctx) == stream_expected(stream)

    # Meta redelivers: the same deliveries again, on top of what is stored.
    waits["on_top"] = _post_and_wait(ctx, chaos.bodies, timeout)
    on_top = _compare(reference, snapshot(ctx))

    # The redeliveries alone, from empty tables: any order ends in the same state.
    pipeline_reset()
    outbound_seed(ctx, stream)
    waits["from_scratch"] = _post_and_wait(ctx, chaos.bodies, timeout)
    from_scratch = _compare(reference, snapshot(ctx))

    failed = {name: w.detail for name, w in waits.items() if not w.done}
    return {
        "events": stream.events,
        "deliveries": len(stream.deliveries),
        "redelivery_posts": len(chaos.bodies),
        "identical_copies": chaos.identical,
        "split_posts": chaos.split,
        "merged_posts": chaos.merged,
        "in_order": {
            "messages": reference.messages,
            "status_events": reference.status_events,
            "digest": reference.digest,
            "matches_expected": in_order_correct,
        },
        "on_top": on_top,
        "from_scratch": from_scratch,
        "complete": not failed,
        "detail": "; ".join(f"{k}: {v}" for k, v in failed.items()),
    }
