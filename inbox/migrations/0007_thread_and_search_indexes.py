"""The thread index of messages, and the full-text search indexes (PostgreSQL).

``inbox_message`` is written on every webhook: its indexes are built CONCURRENTLY on
PostgreSQL (``waba_portal.migration_ops``), so webhooks keep being stored meanwhile.

The search indexes are GIN indexes over the very expressions the inbox's search filters
by (``inbox.selectors.SEARCH_CONFIG``, Django's ``SearchVector``): the message text, and a
contact's name and WhatsApp profile name. PostgreSQL only: SQLite (the local demo)
searches with a plain ``LIKE`` instead and gets no index here.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

from waba_portal.migration_ops import AddIndexConcurrently

SEARCH_INDEXES = {
    "inbox_message_text_search": (
        "inbox_message",
        "to_tsvector('simple'::regconfig, COALESCE(\"text\", ''))",
    ),
    "inbox_contact_name_search": (
        "inbox_contact",
        "to_tsvector('simple'::regconfig, "
        "COALESCE(\"name\", '') || ' ' || COALESCE(\"profile_name\", ''))",
    ),
}


def _postgres(schema_editor: Any) -> bool:
    return bool(schema_editor.connection.vendor == "postgresql")


def search_indexes_create(apps: Any, schema_editor: Any) -> None:
    if not _postgres(schema_editor):
        return
    for name, (table, expression) in SEARCH_INDEXES.items():
        with schema_editor.connection.cursor() as cursor:
            # A failed concurrent build leaves an invalid index behind: drop it first.
            cursor.execute(
                "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = %s AND NOT i.indisvalid",
                [name],
            )
            if cursor.fetchone():
                schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{table}" '
            f"USING gin (({expression}))"
        )


def search_indexes_drop(apps: Any, schema_editor: Any) -> None:
    if not _postgres(schema_editor):
        return
    for name in SEARCH_INDEXES:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run in a transaction

    dependencies = [("inbox", "0006_threads_from_messages")]

    operations = [
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(
                fields=["conversation", "meta_timestamp", "id"], name="message_conversation"
            ),
        ),
        migrations.RunPython(search_indexes_create, search_indexes_drop),
    ]
