"""``python -m bench.inbox_poll``: what an idle inbox costs while its screens poll.

An agent's open inbox asks every ``INBOX_POLL_SECONDS`` (2 s) whether its list and its
thread changed; when nothing did, the answer is an empty 204, decided by one indexed
query (``inbox.selectors.conversations_changed_at`` for the list, ``conversation_mark``
for a thread). This measures, on the bench's own PostgreSQL database (dropped and
created, as ``python -m bench`` does: ``BENCH_DATABASE_URL``, default
``postgres://$USER@127.0.0.1:5432/waba_bench``) with ``--conversations`` conversations
(default 100,000) in the workspace and as many in another:

- the bare round trip: ``SELECT 1`` on the same connection (the floor of any query);
- each poll's own query, alone: its SQL on the same connection, and through the ORM as
  the view makes it;
- each idle poll as a request through Django and every middleware (in-process, the
  production settings of ``bench.settings``: session, user, membership, then the view),
  beside the bench's hello-world view behind the same middleware.

It prints p50 / p95 / mean in ms and each figure's ratio to the bare ``SELECT 1`` (and
the requests' to hello-world), measured in the same run, and writes them as JSON to
``bench/results/inbox-poll-<time>.json``. A benchmark reports, it does not assert; the
exit status is 2 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench import infra
from bench.inbox_seed import timed

RESULTS = Path(__file__).resolve().parent / "results"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.inbox_poll", description=__doc__)
    p.add_argument("--conversations", type=int, default=100_000, help="per workspace (100000)")
    p.add_argument("--rounds", type=int, default=2000, help="timed calls of each figure (2000)")
    p.add_argument("--quick", action="store_true", help="10,000 conversations, 300 rounds")
    return p


def _log(message: str) -> None:
    print(f"[bench.inbox_poll {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _seed(n: int) -> dict[str, Any]:
    """Two workspaces with ``n`` conversations each (one message each), and a member."""
    from django.utils import timezone

    from accounts.models import Membership, Role, Tenant, User
    from accounts.tenancy import tenant_scope
    from inbox.models import Contact, Conversation, Direction, Message, MessageStatus
    from senders.models import PhoneNumber, WhatsAppAccount

    now = timezone.now()
    user = User.objects.create_user("bench@example.test", "bench-password-123")
    tenants = []
    for slug in ("acme", "globex"):
        tenant = Tenant.objects.create(name=slug.title(), slug=slug)
        tenants.append(tenant)
        with tenant_scope(tenant):
            if slug == "acme":
                Membership.objects.create(user=user, role=Role.AGENT)
            waba = WhatsAppAccount.objects.create(waba_id=f"1{tenant.pk:014d}", connected_at=now)
            phone = PhoneNumber.objects.create(
                waba=waba, phone_number_id=f"2{tenant.pk:014d}", display_phone_number="+1 555"
            )
            for start in range(0, n, 5000):
                size = min(5000, n - start)
                contacts = Contact.objects.bulk_create(
                    [
                        Contact(
                            tenant=tenant, wa_id=f"49{start + i:011d}", phone=f"+49{start + i:011d}"
                        )
                        for i in range(size)
                    ]
                )
                stamps = [now - timedelta(minutes=5, seconds=start + i) for i in range(size)]
                conversations = Conversation.objects.bulk_create(
                    [
                        Conversation(
                            tenant=tenant,
                            channel=phone,
                            contact=c,
                            last_inbound_at=at,
                            last_message_at=at,
                            last_activity_at=at,
                            changed_at=at,
                        )
                        for c, at in zip(contacts, stamps, strict=True)
                    ]
                )
                Message.objects.bulk_create(
                    [
                        Message(
                            tenant=tenant,
                            conversation=conv,
                            wamid=f"wamid.bench.{tenant.pk}.{start + i}",
                            direction=Direction.INBOUND,
                            phone_number_id=phone.phone_number_id,
                            wa_id=conv.contact.wa_id,
                            type="text",
                            text="Hello, where is my parcel?",
                            status=MessageStatus.RECEIVED,
                            meta_timestamp=at,
                        )
                        for i, (conv, at) in enumerate(zip(conversations, stamps, strict=True))
                    ]
                )
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    with tenant_scope(tenants[0]):
        conversation = Conversation.objects.order_by("-last_message_at").first()
    return {"user": user, "tenant": tenants[0], "conversation": conversation}


def run(args: argparse.Namespace) -> dict[str, Any]:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from accounts.tenancy import tenant_scope
    from inbox import selectors

    n = 10_000 if args.quick else args.conversations
    rounds = 300 if args.quick else args.rounds
    _log(f"seeding 2 x {n} conversations")
    seeded = _seed(n)
    tenant, conversation = seeded["tenant"], seeded["conversation"]

    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(seeded["user"])
    hx = {"HTTP_HX_REQUEST": "true"}
    list_stamp = client.get("/t/acme/inbox/poll/", **hx)["ETag"].strip('"')
    thread_stamp = client.get(f"/t/acme/inbox/c/{conversation.pk}/poll/", **hx)["ETag"].strip('"')
    version, window = thread_stamp.split("-")
    # Past the settle time of the last change: the idle answer, as on a quiet evening.
    from inbox.models import Conversation

    with tenant_scope(tenant):
        Conversation.objects.filter(pk=conversation.pk).update(
            changed_at=datetime.fromtimestamp(
                int(list_stamp) / 1e6, tz=conversation.changed_at.tzinfo
            )
        )
    list_url = f"/t/acme/inbox/poll/?since={list_stamp}"
    thread_url = f"/t/acme/inbox/c/{conversation.pk}/poll/?since={version}&w={window}"
    assert client.get(list_url, **hx).status_code == 204, "the list poll is not idle"
    assert client.get(thread_url, **hx).status_code == 204, "the thread poll is not idle"

    def select_one() -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()

    def list_query() -> None:
        with tenant_scope(tenant):
            selectors.conversations_changed_at()

    def thread_query() -> None:
        with tenant_scope(tenant):
            selectors.conversation_mark(conversation_pk=conversation.pk)

    with tenant_scope(tenant):
        list_sql = (
            str(Conversation.objects.order_by("-changed_at").values_list("changed_at").query)
            + " LIMIT 1"
        )
        thread_sql, thread_params = (
            Conversation.objects.filter(pk=conversation.pk)
            .values_list("version", "last_inbound_at")
            .query.sql_with_params()
        )

    def list_sql_only() -> None:
        with connection.cursor() as cur:
            cur.execute(list_sql)
            cur.fetchone()

    def thread_sql_only() -> None:
        with connection.cursor() as cur:
            cur.execute(thread_sql, thread_params)
            cur.fetchone()

    figures: dict[str, dict[str, float]] = {}
    _log(f"timing {rounds} rounds of each")
    figures["select_1"] = timed(select_one, rounds)
    figures["list_poll_sql"] = timed(list_sql_only, rounds)
    figures["thread_poll_sql"] = timed(thread_sql_only, rounds)
    figures["list_poll_query"] = timed(list_query, rounds)
    figures["thread_poll_query"] = timed(thread_query, rounds)
    figures["hello_request"] = timed(lambda: client.get("/bench/hello/"), rounds)
    figures["list_poll_request"] = timed(lambda: client.get(list_url, **hx), rounds)
    figures["thread_poll_request"] = timed(lambda: client.get(thread_url, **hx), rounds)
    with connection.cursor() as cur:
        cur.execute(
            "EXPLAIN SELECT changed_at FROM inbox_conversation WHERE tenant_id = %s "
            "ORDER BY changed_at DESC LIMIT 1",
            [tenant.pk],
        )
        plan = [row[0] for row in cur.fetchall()]
    floor = figures["select_1"]["p50_ms"]
    hello = figures["hello_request"]["p50_ms"]
    for name, figure in figures.items():
        figure["ratio_to_select_1"] = figure["p50_ms"] / floor if floor else 0.0
        if name.endswith("_request"):
            figure["ratio_to_hello"] = figure["p50_ms"] / hello if hello else 0.0
    return {"conversations_per_workspace": n, "figures": figures, "list_query_plan": plan}


def table(results: dict[str, Any]) -> str:
    lines = [
        f"Idle inbox polls, {results['conversations_per_workspace']:,} conversations per "
        "workspace (2 workspaces), PostgreSQL, production settings, in-process requests",
        f"{'figure':<22}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'x SELECT 1':>12}{'x hello':>9}",
    ]
    for name, f in results["figures"].items():
        hello = f"{f['ratio_to_hello']:.2f}" if "ratio_to_hello" in f else ""
        lines.append(
            f"{name:<22}{f['p50_ms']:>9.3f}{f['p95_ms']:>9.3f}{f['mean_ms']:>9.3f}"
            f"{f['ratio_to_select_1']:>12.2f}{hello:>9}"
        )
    lines.append(
        "list poll's query plan: " + " / ".join(p.strip() for p in results["list_query_plan"])
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    servers = infra.servers_from_env()
    env = infra.bench_environment(servers)
    os.environ.update(env)
    try:
        _log(f"database {servers.database_name}: drop, create, migrate")
        infra.database_recreate(servers)
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        infra.database_migrate(env, RESULTS / f"inbox-poll-{stamp}-migrate.log")
        results = run(args)
    except infra.BenchError as exc:
        print(f"bench.inbox_poll could not run: {exc}", file=sys.stderr)
        return 2
    text = table(results)
    print(text)
    (RESULTS / f"inbox-poll-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    (RESULTS / f"inbox-poll-{stamp}.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
