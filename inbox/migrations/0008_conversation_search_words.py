"""The words each conversation is found by, and the numbers' trigram indexes (PostgreSQL).

- ``Conversation.search_words`` (``inbox.search_words``): the lexemes of its contact's
  names and its messages' distinct words (the earliest first, at most 50,000 in about
  1 MB: a ``tsvector`` holds no more), filled here from the rows already stored, in
  batches of conversations, then a GIN index over it. A search reads that index beside the
  list's own filters, so the message text index of 0007 is no longer read: it is
  dropped (one index less to write on every webhook). 0007's index of contacts' names
  stays, for the contacts page's search.
- A search that looks like a phone number matches contacts whose ``phone`` or ``mobile``
  holds its digits anywhere (``LIKE '%…%'``), which a B-tree cannot answer: ``pg_trgm``'s
  GIN indexes answer it from the digits' trigrams. The extension is created here
  (PostgreSQL 13 and later trust it to a database owner).

Both tables are written on every inbound message: the indexes are built CONCURRENTLY, as
0007's. SQLite (the local demo) gets the empty column and none of the rest: its search
matches with ``LIKE``.
"""

from __future__ import annotations

from typing import Any

import django.contrib.postgres.search
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from waba_portal.migration_ops import index_create_postgres, index_drop_postgres

BATCH = 2000  # conversations per UPDATE of the backfill

INDEXES = {
    "conversation_search_words": ("inbox_conversation", "gin (search_words)"),
    "inbox_contact_phone_digits": ("inbox_contact", "gin (phone gin_trgm_ops)"),
    "inbox_contact_mobile_digits": ("inbox_contact", "gin (mobile gin_trgm_ops)"),
}
MESSAGE_TEXT_INDEX = (
    "inbox_message_text_search",
    "inbox_message",
    "gin ((to_tsvector('simple'::regconfig, COALESCE(\"text\", ''))))",
)

WORDS = """
UPDATE inbox_conversation c SET search_words = strip(
    to_tsvector('simple'::regconfig, COALESCE(ct.name, '') || ' ' || COALESCE(ct.profile_name, ''))
    || COALESCE((
        SELECT array_to_tsvector(array_agg(kept.lexeme))
        FROM (
            SELECT found.lexeme,
                   sum(octet_length(found.lexeme) + 4) OVER earliest AS upto,
                   row_number() OVER earliest AS n
            FROM (
                SELECT word.lexeme, min(m.id) AS first_id
                FROM inbox_message m
                CROSS JOIN LATERAL unnest(to_tsvector('simple'::regconfig, m.text)) word
                WHERE m.conversation_id = c.id AND m.text <> ''
                GROUP BY word.lexeme
            ) found
            WINDOW earliest AS (ORDER BY found.first_id, found.lexeme)
        ) kept
        WHERE kept.upto <= 1000000 AND kept.n <= 50000
    ), ''::tsvector)
)
FROM inbox_contact ct
WHERE ct.id = c.contact_id AND c.id >= %s AND c.id < %s
"""


def words_fill(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM inbox_conversation")
        low, high = cursor.fetchone()
        if low is None:
            return
        for start in range(low, high + 1, BATCH):
            cursor.execute(WORDS, [start, start + BATCH])


def indexes_create(apps: Any, schema_editor: Any) -> None:
    for name, (table, using) in INDEXES.items():
        index_create_postgres(schema_editor, name, table, using)
    index_drop_postgres(schema_editor, MESSAGE_TEXT_INDEX[0])


def indexes_drop(apps: Any, schema_editor: Any) -> None:
    index_create_postgres(schema_editor, *MESSAGE_TEXT_INDEX)
    for name in INDEXES:
        index_drop_postgres(schema_editor, name)


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run in a transaction

    dependencies = [("inbox", "0007_thread_and_search_indexes")]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="search_words",
            field=django.contrib.postgres.search.SearchVectorField(
                blank=True, editable=False, null=True
            ),
        ),
        TrigramExtension(),
        migrations.RunPython(words_fill, migrations.RunPython.noop),
        migrations.RunPython(indexes_create, indexes_drop),
    ]
