"""``python -m bench.send_pacing``: a burst of replies from one number, paced to Meta's cap.

A workspace with one registered number (seeded in the mock Meta server, run as its own
process, with its throughput cap at ``--cap`` messages a second, Meta's 80 by default)
and ``--contacts`` customers whose windows are open (one inbound message each, on the
mock too) gets ``--messages`` replies (10,000 by default; ``--quick``: 2,000) stored
through the inbox's service (``outbound.reply_text``, so each is a queued row and a
task on the ``send`` queue), spread over the customers in turn, all before the Celery
worker starts (``--while-sending``: with it running). Then the worker
(``--worker-concurrency`` processes, the Procfile's worker command) sends them, paced by
``inbox/services/pacing.py``, and the bench waits until none is queued.

Measured, from the mock's request log and its stored messages against our rows:

- the achieved send rate (messages Meta accepted, first to last) against the cap;
- the share of sends Meta answered 130429 (throughput) and the count answered 131056
  (pair rate);
- that the burst drained with every message sent exactly once: each text accepted by
  the mock once (its request log), each of our rows sent, with the wamid the mock
  stored (checked for the last 5,000 its state lists), none failed.

The database is the bench's own (``BENCH_DATABASE_URL``, default
``postgres://$USER@127.0.0.1:5432/waba_bench``, dropped and created) and the Redis
database ``BENCH_REDIS_URL`` (flushed). It prints a table with the goals (rate >= 0.9 x
cap, <= 1 % 130429, no 131056, drained with none lost or doubled) and writes JSON to
``bench/results/send-pacing-<time>.json``. Exit 0 whether or not the goals are met, 2
when it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import infra
from waba_portal.celery import worker_concurrency

RESULTS = Path(__file__).resolve().parent / "results"
APP_ID = "100000000000001"
MOCK_SECRET = "bench-mock-secret"  # noqa: S105 - the mock's own app secret


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.send_pacing", description=__doc__)
    p.add_argument("--messages", type=int, default=10_000, help="replies in the burst (10000)")
    p.add_argument("--contacts", type=int, default=1000, help="customers they go to (1000)")
    p.add_argument("--cap", type=int, default=80, help="the mock's messages/s per number (80)")
    p.add_argument("--quick", action="store_true", help="2,000 messages to 500 customers")
    p.add_argument(
        "--worker-concurrency",
        type=int,
        default=worker_concurrency(),
        help="Celery processes (the worker's default: $WORKER_CONCURRENCY or twice the cores)",
    )
    p.add_argument("--worker-loglevel", default="INFO")
    p.add_argument(
        "--while-sending",
        action="store_true",
        help="queue the replies with the worker running (default: all queued, then the "
        "worker starts: a burst that is all there at once)",
    )
    return p


def _log(message: str) -> None:
    print(f"[bench.send_pacing {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _seed(mock: Any, contacts: int) -> dict[str, Any]:
    """The mock's business, WABA and number; our workspace, owner, rows and customers,
    each with an open window on both sides."""
    from django.utils import timezone

    from accounts.models import Membership, Role, Tenant, User
    from accounts.tenancy import tenant_scope
    from inbox.models import Contact, Conversation
    from senders.models import PhoneNumber, WhatsAppAccount

    seed = mock.seed(
        businesses=[
            {
                "name": "Bench business",
                "verification_status": "verified",
                "messaging_limit": "TIER_10K",
                "wabas": [{"name": "Bench WABA", "phone_numbers": [{"phone": "+15550100999"}]}],
            }
        ]
    )
    business = seed["businesses"][0]
    waba_seed = business["wabas"][0]
    phone_id = waba_seed["phone_numbers"][0]["id"]
    now = timezone.now()
    tenant = Tenant.objects.create(name="Acme", slug="acme")
    with tenant_scope(tenant):
        owner = Membership.objects.create(
            user=User.objects.create_user("bench-owner@example.test", "bench-password-123"),
            role=Role.OWNER,
        )
        waba = WhatsAppAccount.objects.create(
            waba_id=waba_seed["id"],
            business_id=business["id"],
            name="Bench WABA",
            access_token=seed["token"],
            messaging_limit="TIER_10K",
            connected_at=now,
        )
        phone = PhoneNumber.objects.create(
            waba=waba,
            phone_number_id=phone_id,
            display_phone_number="+1 555-0100999",
            throughput_level="STANDARD",
            is_primary=True,
        )
        people = Contact.objects.bulk_create(
            [
                Contact(tenant=tenant, wa_id=f"49170{i:07d}", phone=f"+49170{i:07d}")
                for i in range(contacts)
            ]
        )
        conversations = Conversation.objects.bulk_create(
            [
                Conversation(
                    tenant=tenant,
                    channel=phone,
                    contact=c,
                    last_inbound_at=now,
                    last_message_at=now,
                    last_activity_at=now,
                    changed_at=now,
                )
                for c in people
            ]
        )
    for c in people:  # Meta's side of the window
        mock.inbound(phone_number_id=phone_id, **{"from": c.wa_id}, text="Hallo")
    return {
        "tenant": tenant,
        "owner": owner,
        "phone_number_id": phone_id,
        "conversations": conversations,
    }


def _queue(seeded: dict[str, Any], n: int) -> float:
    """``n`` replies through the service; the seconds it took."""
    from accounts.tenancy import tenant_scope
    from inbox.models import Conversation
    from inbox.services import outbound

    tenant, owner = seeded["tenant"], seeded["owner"]
    started = time.monotonic()
    with tenant_scope(tenant):
        rows = list(
            Conversation.objects.filter(pk__in=[c.pk for c in seeded["conversations"]])
            .select_related("contact", "channel__waba")
            .order_by("pk")
        )
        for i in range(n):
            outbound.reply_text(
                actor=owner, conversation=rows[i % len(rows)], text=f"Bench reply {i}"
            )
    return time.monotonic() - started


def _counts(tenant: Any) -> dict[str, int]:
    from django.db.models import Count

    from accounts.tenancy import tenant_scope
    from inbox.models import Direction, Message

    with tenant_scope(tenant):
        rows = (
            Message.objects.filter(direction=Direction.OUTBOUND)
            .values("status")
            .annotate(n=Count("id"))
        )
        return {r["status"]: r["n"] for r in rows}


def _drain(tenant: Any, n: int, deadline: float, worker: infra.Started) -> float:
    started = time.monotonic()
    last_log = started
    while time.monotonic() < deadline:
        counts = _counts(tenant)
        if counts.get("queued", 0) == 0 and sum(counts.values()) >= n:
            return time.monotonic() - started
        if not worker.alive():
            raise infra.BenchError(f"the worker exited:\n{worker.tail()}")
        if time.monotonic() - last_log > 10:
            _log(f"draining: {counts}")
            last_log = time.monotonic()
        time.sleep(0.5)
    return time.monotonic() - started


def _verify(mock: Any, seeded: dict[str, Any], n: int) -> dict[str, Any]:
    """Meta's side (the request log, the stored messages) against our rows."""
    from accounts.tenancy import tenant_scope
    from inbox.models import Direction, Message

    sends = [
        r
        for r in mock.requests()
        if r["method"] == "POST" and str(r.get("path", "")).endswith("/messages")
    ]
    codes = Counter((r.get("error") or {}).get("code") for r in sends if r.get("status") != 200)
    accepted = sorted(float(r["at"]) for r in sends if r.get("status") == 200)
    stored = [
        m
        for m in mock.state()["messages"]
        if m.get("direction") == "outbound"
        and m.get("phone_number_id") == seeded["phone_number_id"]
    ]
    # What Meta accepted: each answer 200 is one message it stored. The request log holds
    # every call; the mock's state lists only its last 5,000 messages, so the wamids of
    # our rows are checked against those.
    texts = Counter(
        ((r.get("body") or {}).get("text") or {}).get("body")
        for r in sends
        if r.get("status") == 200
    )
    stored_ids = {m["id"] for m in stored}
    stored_texts = {((m.get("payload") or {}).get("text") or {}).get("body") for m in stored}
    with tenant_scope(seeded["tenant"]):
        ours = list(
            Message.objects.filter(direction=Direction.OUTBOUND).values_list(
                "wamid", "status", "text", "payload"
            )
        )
    ours_texts = {text for _, _, text, _ in ours}
    lost = [t for t in ours_texts if texts.get(t, 0) == 0]
    doubled = [t for t, k in texts.items() if k > 1]
    not_ours = [t for t in texts if t not in ours_texts]
    unmatched = [
        w
        for w, status, text, _ in ours
        if status != "queued" and text in stored_texts and w not in stored_ids
    ]
    states = Counter(((p or {}).get("send") or {}).get("state") for _, _, _, p in ours)
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    # The densest second at Meta: the most sends it accepted in any 1 s window.
    densest, j = 0, 0
    for i, at in enumerate(accepted):
        while accepted[j] <= at - 1.0:
            j += 1
        densest = max(densest, i - j + 1)
    return {
        "requests": len(sends),
        "accepted": len(accepted),
        "answered": {str(k): v for k, v in codes.items()},
        "rate": (len(accepted) - 1) / span if span else 0.0,
        "span_seconds": span,
        "densest_second": densest,
        "our_rows": len(ours),
        "our_statuses": dict(Counter(status for _, status, _, _ in ours)),
        "our_states": {str(k): v for k, v in states.items()},
        "mock_accepted_texts": sum(texts.values()),
        "mock_state_checked": len(stored),
        "lost": len(lost),
        "doubled": len(doubled),
        "not_ours": len(not_ours),
        "sent_rows_not_at_meta": len(unmatched),
    }


def run(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    from waba_portal.mock_meta.control_client import MockMeta
    from waba_portal.mock_meta.server import spawn_subprocess

    n = 2000 if args.quick and args.messages == 10_000 else args.messages
    contacts = 500 if args.quick and args.contacts == 1000 else args.contacts
    config = {
        "throughput": args.cap,
        "status_delays": {"sent": None, "delivered": None, "read": None},
        "request_log_limit": n * 3 + 1000,
        "webhook_log_limit": 100,
    }
    _log(f"mock Meta: cap {args.cap}/s")
    try:
        proc, base_url = spawn_subprocess(
            app_id=APP_ID,
            app_secret=MOCK_SECRET,
            verify_token="bench-verify-token",  # noqa: S106
            extra_args=["--config", json.dumps(config)],
        )
    except RuntimeError as exc:
        raise infra.BenchError(f"the mock Meta server did not start: {exc}") from exc
    try:
        return _run(
            args,
            logs,
            n,
            contacts,
            MockMeta(
                base_url,
                app_id=APP_ID,
                app_secret=MOCK_SECRET,
                verify_token="bench-verify-token",  # noqa: S106
                timeout=120,
            ),
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except Exception:  # it is stopped either way
            proc.kill()
            proc.wait(timeout=5)


def _run(args: argparse.Namespace, logs: Path, n: int, contacts: int, mock: Any) -> dict[str, Any]:
    import django

    os.environ["GRAPH_API_BASE_URL"] = mock.base_url
    os.environ["INBOX_PACING_RATE"] = str(args.cap)  # what we know of Meta's cap
    django.setup()
    env = dict(os.environ)
    _log(f"seeding a workspace, one number and {contacts} customers")
    seeded = _seed(mock, contacts)
    mock.requests(clear=True)
    queue_seconds = 0.0
    if not args.while_sending:
        _log(f"queueing {n} replies through outbound.reply_text (no worker yet)")
        queue_seconds = _queue(seeded, n)
        _log(f"queued in {queue_seconds:.1f} s")
    with infra.Processes(env=env, logs=logs) as procs:
        _log(f"starting the worker ({args.worker_concurrency} processes)")
        worker = procs.start_worker(
            concurrency=args.worker_concurrency, loglevel=args.worker_loglevel
        )
        cpu_before = _cpu_times()
        if args.while_sending:
            _log(f"queueing {n} replies through outbound.reply_text, the worker sending")
            queue_seconds = _queue(seeded, n)
            _log(f"queued in {queue_seconds:.1f} s")
        deadline = time.monotonic() + n / (args.cap * 0.3) + 120
        drain_seconds = _drain(seeded["tenant"], n, deadline, worker)
        cpu_share = _cpu_share(cpu_before, _cpu_times())
    _log(f"drained in {drain_seconds:.1f} s; checking Meta's side against ours")
    figures = _verify(mock, seeded, n)
    figures.update(
        messages=n,
        contacts=contacts,
        cap=args.cap,
        worker_concurrency=args.worker_concurrency,
        queued_while_sending=bool(args.while_sending),
        queue_seconds=queue_seconds,
        drain_seconds=drain_seconds,
        cpu_share_while_draining=cpu_share,
        drained=_counts(seeded["tenant"]).get("queued", 0) == 0,
    )
    accepted = max(figures["accepted"], 1)
    figures["share_130429"] = figures["answered"].get("130429", 0) / max(figures["requests"], 1)
    figures["count_131056"] = figures["answered"].get("131056", 0)
    figures["rate_ratio"] = figures["rate"] / args.cap
    figures["goals"] = {
        "rate >= 0.9 x cap": figures["rate_ratio"] >= 0.9,
        "130429 <= 1 %": figures["share_130429"] <= 0.01,
        "131056 = 0": figures["count_131056"] == 0,
        "drained, 0 lost, 0 doubled": bool(
            figures["drained"]
            and figures["lost"] == 0
            and figures["doubled"] == 0
            and figures["sent_rows_not_at_meta"] == 0
            and figures["our_statuses"].get("sent", 0) == n
            and accepted == n
        ),
    }
    return figures


def _cpu_times() -> tuple[int, int]:
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return (0, 0)
    return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0)


def _cpu_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[0] - before[0]
    return 1.0 - (after[1] - before[1]) / total if total > 0 else 0.0


def table(f: dict[str, Any]) -> str:
    def ok(goal: str) -> str:
        return "met" if f["goals"][goal] else "MISSED"

    lines = [
        f"Send pacing: {f['messages']:,} replies from one number to {f['contacts']:,} customers, "
        f"mock Meta capped at {f['cap']}/s, worker concurrency {f['worker_concurrency']}",
        f"{'figure':<34}{'value':>14}  {'goal':<22}{'':>6}",
        f"{'send rate (accepted/s)':<34}{f['rate']:>14.1f}  {'>= 0.9 x cap':<22}"
        f"{ok('rate >= 0.9 x cap'):>6}",
        f"{'  x cap':<34}{f['rate_ratio']:>14.3f}",
        f"{'answered 130429 (share of sends)':<34}{f['share_130429']:>13.2%}  {'<= 1 %':<22}"
        f"{ok('130429 <= 1 %'):>6}",
        f"{'answered 131056 (count)':<34}{f['count_131056']:>14}  {'0':<22}{ok('131056 = 0'):>6}",
        f"{'sent once (ours sent / at Meta)':<34}"
        f"{str(f['our_statuses'].get('sent', 0)) + ' / ' + str(f['mock_accepted_texts']):>14}  "
        f"{'all, 0 lost, 0 doubled':<22}{ok('drained, 0 lost, 0 doubled'):>6}",
        f"{'  lost / doubled / not ours':<34}"
        f"{str(f['lost']) + ' / ' + str(f['doubled']) + ' / ' + str(f['not_ours']):>14}",
        f"{'  wamids checked in mock state':<34}{f['mock_state_checked']:>14}",
        f"{'densest second at Meta':<34}{f['densest_second']:>14}",
        f"{'requests to Meta':<34}{f['requests']:>14}",
        f"{'drain time (s)':<34}{f['drain_seconds']:>14.1f}",
        f"{'queueing through the service (s)':<34}{f['queue_seconds']:>14.1f}",
        f"{'CPU busy while draining':<34}{f['cpu_share_while_draining']:>13.0%}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    servers = infra.servers_from_env()
    env = infra.bench_environment(servers)
    os.environ.update(env)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    logs = RESULTS / f"send-pacing-{stamp}-logs"
    logs.mkdir(exist_ok=True)
    try:
        _log(f"database {servers.database_name}: drop, create, migrate; Redis flushed")
        infra.database_recreate(servers)
        infra.redis_flush(servers)
        infra.database_migrate(env, logs / "migrate.log")
        results = run(args, logs)
    except infra.BenchError as exc:
        print(f"bench.send_pacing could not run: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    results["started"] = stamp
    text = table(results)
    print(text)
    (RESULTS / f"send-pacing-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    (RESULTS / f"send-pacing-{stamp}.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
