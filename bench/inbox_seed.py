"""What the inbox benchmarks share: timing a call, and a workspace filled with set-based SQL.

:func:`timed` runs a call after a warm-up and gives p50 / p95 / mean in ms.

:func:`inbox_seed` fills two workspaces (``acme``, the one measured, and ``globex``, as
many rows again, so that every query has to keep to its tenant) with what an inbox
holds after a year or so: ``conversations`` contacts with one conversation each on two
numbers, ``messages`` messages among them (texts of a small vocabulary, a reference
token in every tenth, either direction, some failed), tags, notes, members assigned and
teams. A few conversations are longer: ``LONG_THREADS`` with ``LONG_THREAD`` messages
each, and one with ``huge`` messages. The bulk is written by ``INSERT … SELECT`` over
``generate_series`` (a few statements per workspace, a million rows in a minute or so);
the small rows (workspaces, members, numbers, channels) through the ORM, so they are
what the application would write.

The channel rules are exercised: the measured workspace's first number is open to its
agent (a channel role), the second is not, so an agent's lists and searches go through
``phones_visible_to``.
"""

# ruff: noqa: S608 - the SQL here is built from this module's own constants, never input

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LONG_THREADS = 20
LONG_THREAD = 150


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Ana Ben Carla Dmitri Erika Farid Greta Hugo Ines Jonas Karin Lupe Mateo Nadia Omar "
    "Paula Quentin Rosa Sven Tamara Umberto Vera Wim Xenia Yusuf Zoe"
)
LAST_NAMES = _words(
    "Lima Schmidt Fernandez Ivanova Novak Rossi Dubois Jansen Silva Kowalski Meyer Costa "
    "Popescu Horvat Berg Moreau Nagy Lindqvist Santos Weber"
)
WORDS = _words(
    "hello where is my parcel order delivery today tomorrow thanks please help invoice "
    "payment refund address change cancel status tracking number package arrived late "
    "broken size colour return store opening hours price discount voucher account "
    "password login shipping express courier pickup receipt question answer problem "
    "waiting week monday friday morning evening call back photo label box"
)
TAGS = ("vip", "billing", "complaint", "returns", "wholesale", "spam", "follow-up", "b2b")


@dataclass
class Workspace:
    """The rows of one seeded workspace the benchmark picks its requests from."""

    tenant: Any
    owner: Any
    agent: Any
    phones: list[Any]
    teams: list[Any]
    long_threads: list[int] = field(default_factory=list)  # conversation ids
    huge_thread: int | None = None
    counts: dict[str, int] = field(default_factory=dict)


def timed(fn: Callable[[], Any], rounds: int, *, warmup: int | None = None) -> dict[str, float]:
    """``fn`` run ``rounds`` times after a warm-up: p50 / p95 / mean in ms."""
    for _ in range(warmup if warmup is not None else max(rounds // 10, 20)):
        fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return summary(samples)


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": ordered[len(ordered) // 2],
        "p95_ms": ordered[max(int(len(ordered) * 0.95) - 1, 0)],
        "mean_ms": statistics.fmean(ordered),
        "rounds": len(ordered),
    }


def _array(values: tuple[str, ...] | list[str]) -> str:
    """A text array literal of our own constants (quotes doubled all the same)."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"ARRAY[{quoted}]::text[]"


def _word(expr: str) -> str:
    return f"(w.words)[1 + (({expr}) % {len(WORDS)})]"


def _body(k: str) -> str:
    """A message text of four words (and a reference token in every tenth) for ``k``."""
    return (
        f"{_word(f'{k} * 7')} || ' ' || {_word(f'{k} * 13 + 3')} || ' ' || {_word(f'{k} * 31 + 5')}"
        f" || ' ' || {_word(f'{k} / 3 + {k} * 17')}"
        f" || CASE WHEN {k} % 10 = 0 THEN ' ref' || ({k} % 20011)::text ELSE '' END"
    )


def inbox_seed(
    *, slug: str, conversations: int, messages: int, huge: int, email_prefix: str = ""
) -> Workspace:
    """One workspace filled as the module says (call inside no tenant scope)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Membership, Role, Team, TeamMember, Tenant, User
    from accounts.tenancy import tenant_scope
    from inbox.search_words import words_refresh
    from senders.models import (
        ChannelMember,
        ChannelRole,
        ChannelSettings,
        PhoneNumber,
        WhatsAppAccount,
    )

    now = timezone.now()
    prefix = email_prefix or slug
    tenant = Tenant.objects.create(name=slug.title(), slug=slug)
    with tenant_scope(tenant), transaction.atomic():
        owner = Membership.objects.create(
            user=User.objects.create_user(f"{prefix}-owner@example.test", "bench-password-123"),
            role=Role.OWNER,
        )
        agent = Membership.objects.create(
            user=User.objects.create_user(f"{prefix}-agent@example.test", "bench-password-123"),
            role=Role.AGENT,
        )
        others = [
            Membership.objects.create(
                user=User.objects.create_user(
                    f"{prefix}-agent{i}@example.test", "bench-password-123", full_name=f"Agent {i}"
                ),
                role=Role.AGENT,
            )
            for i in range(4)
        ]
        teams = [Team.objects.create(name=name) for name in ("Support", "Sales", "Returns")]
        TeamMember.objects.create(team=teams[0], membership=agent)
        waba = WhatsAppAccount.objects.create(waba_id=f"1{tenant.pk:014d}", connected_at=now)
        phones = [
            PhoneNumber.objects.create(
                waba=waba,
                phone_number_id=f"{2 + i}{tenant.pk:014d}",
                display_phone_number=f"+1 555-010{i}",
            )
            for i in range(2)
        ]
        channels = [
            ChannelSettings.objects.create(
                phone_number=p, name=f"Line {i + 1}", all_users=False, all_teams=False
            )
            for i, p in enumerate(phones)
        ]
        ChannelMember.objects.create(
            channel=channels[0], membership=agent, role=ChannelRole.CONTRIBUTOR
        )
    members = [owner.pk, agent.pk, *(m.pk for m in others)]
    n = conversations
    long_ids = [2 * (k + 1) for k in range(LONG_THREADS)]  # even: the agent's first number
    huge_index = 1  # odd: the second number, an owner's
    bulk = max(messages - LONG_THREADS * LONG_THREAD - huge, n)
    params = {
        "tenant": tenant.pk,
        "n": n,
        "now": now,
        "p0": phones[0].pk,
        "p1": phones[1].pk,
        "pid0": phones[0].phone_number_id,
        "pid1": phones[1].phone_number_id,
        "bulk": bulk,
    }
    words = _array(WORDS)
    member_ids = _array([str(m) for m in members])
    with connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO inbox_contact (tenant_id, wa_id, phone, mobile, bsuid, username,
                profile_name, name, consent, consent_source, consent_at, created_at, updated_at)
            SELECT %(tenant)s, '49' || lpad(i::text, 11, '0'), '+49' || lpad(i::text, 11, '0'),
                CASE WHEN i %% 50 = 0 THEN '+43' || lpad(i::text, 10, '0') ELSE '' END,
                NULL, '',
                ({_array(FIRST_NAMES)})[1 + i %% {len(FIRST_NAMES)}] || ' '
                    || ({_array(LAST_NAMES)})[1 + (i / {len(FIRST_NAMES)}) %% {len(LAST_NAMES)}],
                CASE WHEN i %% 4 = 0
                    THEN ({_array(FIRST_NAMES)})[1 + (i / 7) %% {len(FIRST_NAMES)}] ELSE '' END,
                CASE i %% 5 WHEN 0 THEN 'opted_in' WHEN 1 THEN 'opted_out' ELSE 'unknown' END,
                CASE WHEN i %% 5 < 2 THEN 'keyword' ELSE '' END,
                CASE WHEN i %% 5 < 2 THEN %(now)s - i * interval '3 minutes' END,
                %(now)s - i * interval '3 minutes' - interval '1 day',
                %(now)s - i * interval '3 minutes'
            FROM generate_series(0, %(n)s - 1) AS i
            ORDER BY i DESC
            """,
            params,
        )
        cur.execute("SELECT min(id) FROM inbox_contact WHERE tenant_id = %s", [tenant.pk])
        params["contact0"] = cur.fetchone()[0]
        # Conversation i is contact i's; newest first by i (i = 0 the latest).
        cur.execute(
            f"""
            INSERT INTO inbox_conversation (tenant_id, channel_id, contact_id, queue,
                assignee_id, team_id, last_inbound_at, last_message_at, last_activity_at,
                unread_count, version, changed_at, resolved_at, created_at)
            SELECT %(tenant)s, CASE WHEN i %% 2 = 0 THEN %(p0)s ELSE %(p1)s END, c.id,
                CASE WHEN i %% 10 = 0 THEN 'new' WHEN i %% 10 IN (1, 2) THEN 'pending'
                    ELSE 'resolved' END,
                CASE WHEN i %% 3 = 0 THEN NULL
                    ELSE ({member_ids})[1 + (i / 2) %% {len(members)}]::bigint END,
                CASE WHEN i %% 4 = 0
                    THEN ({_array([str(t.pk) for t in teams])})[1 + (i / 4) %% 3]::bigint END,
                at - interval '1 minute' * (i %% 2), at, at,
                CASE WHEN i %% 10 < 3 THEN i %% 4 ELSE 0 END, 12, at,
                CASE WHEN i %% 10 >= 3 THEN at + interval '1 hour' END, at - interval '2 hours'
            FROM (
                SELECT id, (%(n)s - 1) - (id - %(contact0)s) AS i,
                    %(now)s - ((%(n)s - 1) - (id - %(contact0)s)) * interval '3 minutes' AS at
                FROM inbox_contact WHERE tenant_id = %(tenant)s
            ) AS c
            ORDER BY i DESC
            """,
            params,
        )
        cur.execute("SELECT min(id) FROM inbox_conversation WHERE tenant_id = %s", [tenant.pk])
        params["conv0"] = cur.fetchone()[0]
        # Messages, written in time order as a live inbox writes them: ``bulk`` spread
        # over every conversation (about bulk / n each), then the long threads.
        message_rows = """
            SELECT %(tenant)s, c.id, 'wamid.bench.' || %(tenant)s || '.' || k.tag || k.k,
                CASE WHEN k.k %% 2 = 0 THEN 'in' ELSE 'out' END,
                CASE WHEN c.channel_id = %(p0)s THEN %(pid0)s ELSE %(pid1)s END,
                ct.wa_id, '', 'text', k.body,
                jsonb_build_object('type', 'text', 'text', jsonb_build_object('body', k.body)),
                CASE WHEN k.k %% 2 = 0 THEN 'received'
                    WHEN k.k %% 97 = 1 THEN 'failed' WHEN k.k %% 5 = 1 THEN 'delivered'
                    ELSE 'read' END,
                CASE WHEN k.k %% 2 = 0 THEN 0 WHEN k.k %% 97 = 1 THEN 9
                    WHEN k.k %% 5 = 1 THEN 3 ELSE 4 END,
                CASE WHEN k.k %% 2 = 1 AND k.k %% 97 = 1 THEN 131047 END,
                CASE WHEN k.k %% 2 = 1 AND k.k %% 97 = 1 THEN 'Re-engagement message' ELSE '' END,
                '', k.at, NULL, k.at, '', NULL
            FROM k
            JOIN inbox_conversation c ON c.id = %(conv0)s + (%(n)s - 1) - k.i
            JOIN inbox_contact ct ON ct.id = c.contact_id
            ORDER BY k.at, k.k
        """
        columns = """(tenant_id, conversation_id, wamid, direction, phone_number_id, wa_id,
                contact_name, type, text, payload, status, status_rank, error_code,
                error_title, error_details, meta_timestamp, status_updated_at, created_at,
                context_wamid, bsuid)"""
        body = _body("r.k").replace("%", "%%")
        cur.execute(
            f"""
            INSERT INTO inbox_message {columns}
            WITH w AS (SELECT {words} AS words),
            r AS (SELECT k, k %% %(n)s AS i, k / %(n)s AS round,
                    %(bulk)s / %(n)s + CASE WHEN k %% %(n)s < %(bulk)s %% %(n)s THEN 1 ELSE 0 END
                        AS rounds
                FROM generate_series(0, %(bulk)s - 1) AS k),
            k AS (SELECT r.k, r.i, 'b' AS tag, {body} AS body,
                    %(now)s - r.i * interval '3 minutes'
                        - (r.rounds - 1 - r.round) * interval '7 minutes' AS at
                FROM r, w)
            {message_rows}
            """,
            params,
        )
        long_params = {
            **params,
            "long": long_ids,
            "per": LONG_THREAD,
            "huge_i": huge_index,
            "huge": huge,
        }
        long_sql = f"""
            INSERT INTO inbox_message {columns}
            WITH w AS (SELECT {words} AS words),
            t AS (SELECT unnest(%(long)s::int[]) AS i, %(per)s AS size
                  UNION ALL SELECT %(huge_i)s, %(huge)s),
            k AS (SELECT j AS k, t.i, 'l' || t.i || '.' AS tag,
                    {_body("j").replace("%", "%%")} AS body,
                    %(now)s - t.i * interval '3 minutes' - interval '2 hours'
                        - (t.size - 1 - j) * interval '20 seconds' AS at
                FROM t, w, generate_series(0, t.size - 1) AS j)
            {message_rows}
        """
        cur.execute(long_sql, long_params)
        cur.execute(
            """
            UPDATE inbox_conversation c SET last_message_id = m.id
            FROM (SELECT DISTINCT ON (conversation_id) conversation_id, id FROM inbox_message
                  WHERE tenant_id = %(tenant)s
                  ORDER BY conversation_id, meta_timestamp DESC, id DESC) AS m
            WHERE m.conversation_id = c.id
            """,
            params,
        )
        cur.execute(
            f"""
            INSERT INTO inbox_conversationtag (tenant_id, conversation_id, name)
            SELECT %(tenant)s, c.id, t.name
            FROM (SELECT id, (%(n)s - 1) - (id - %(conv0)s) AS i FROM inbox_conversation
                  WHERE tenant_id = %(tenant)s) AS c,
                LATERAL (SELECT ({_array(TAGS)})[1 + (c.i / 3) %% {len(TAGS)}] WHERE c.i %% 3 = 2
                         UNION SELECT 'vip' WHERE c.i %% 7 = 0) AS t(name)
            """,
            params,
        )
        cur.execute(
            f"""
            INSERT INTO inbox_note (tenant_id, conversation_id, author_id, author_label, body,
                created_at)
            SELECT %(tenant)s, c.id,
                ({member_ids})[1 + (c.id %% {len(members)})]::bigint,
                '', 'Called the customer back, ' || {_word("c.id").replace("%", "%%")},
                c.last_message_at - interval '5 minutes'
            FROM inbox_conversation c, (SELECT {words} AS words) AS w
            WHERE c.tenant_id = %(tenant)s AND (c.id - %(conv0)s) %% 20 = 0
            """,
            params,
        )
        with tenant_scope(tenant):  # the words a search finds each one by, from its messages
            words_refresh(range(params["conv0"], params["conv0"] + n))
        counts = {}
        for table in ("contact", "conversation", "message", "conversationtag", "note"):
            cur.execute(f"SELECT count(*) FROM inbox_{table} WHERE tenant_id = %s", [tenant.pk])
            counts[table] = cur.fetchone()[0]
    to_id = lambda i: params["conv0"] + (n - 1) - i  # noqa: E731
    return Workspace(
        tenant=tenant,
        owner=owner,
        agent=agent,
        phones=phones,
        teams=teams,
        long_threads=[to_id(i) for i in long_ids],
        huge_thread=to_id(huge_index),
        counts=counts,
    )


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE") if connection.get_autocommit() else cur.execute("ANALYZE")
