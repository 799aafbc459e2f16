"""Tags by name with their conversation in the index (``inbox.selectors._tagged`` reads a
tag's conversations from the index alone); it takes the place of the index by name,
whose every use it serves. Built CONCURRENTLY on PostgreSQL (``waba_portal.migration_ops``):
tags keep being written meanwhile."""

from __future__ import annotations

from django.db import migrations, models

from waba_portal.migration_ops import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run in a transaction

    dependencies = [("inbox", "0008_conversation_search_words")]

    operations = [
        AddIndexConcurrently(
            model_name="conversationtag",
            index=models.Index(
                fields=["tenant", "name", "conversation"], name="conversation_tag_ids"
            ),
        ),
        RemoveIndexConcurrently(model_name="conversationtag", name="conversation_tag_name"),
    ]
