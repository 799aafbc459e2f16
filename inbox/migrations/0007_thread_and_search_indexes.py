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

from waba_portal.migration_ops import (
    AddIndexConcurrently,
    index_create_postgres,
    index_drop_postgres,
)

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


def search_indexes_create(apps: Any, schema_editor: Any) -> None:
    for name, (table, expression) in SEARCH_INDEXES.items():
        index_create_postgres(schema_editor, name, table, f"gin (({expression}))")


def search_indexes_drop(apps: Any, schema_editor: Any) -> None:
    for name in SEARCH_INDEXES:
        index_drop_postgres(schema_editor, name)


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
