"""Migration operations for indexes on the tables that grow large in production.

A plain ``CREATE INDEX`` holds a lock that stops every write to the table until the
index is built: minutes on the webhook deliveries and changes or the inbox's messages
and status events, while Meta's webhooks keep arriving. The operations here build and
drop indexes ``CONCURRENTLY`` on PostgreSQL, where writes go on meanwhile, and fall back
to the plain statement on other databases (SQLite for local runs, where tables are
small):

- :class:`AddIndexConcurrently`: use it instead of ``migrations.AddIndex`` on an
  existing table (a table created in the same migration is empty: ``AddIndex`` is fine);
- :class:`RemoveIndexConcurrently`: instead of ``migrations.RemoveIndex``;
- :func:`index_create_postgres` / :func:`index_drop_postgres`, from ``RunPython``: an
  index no model state describes (over an expression, or of a kind only PostgreSQL has),
  built and dropped CONCURRENTLY on PostgreSQL and not at all elsewhere.

PostgreSQL refuses ``CONCURRENTLY`` inside a transaction, so a migration using them sets
``atomic = False``; they refuse to run in an atomic migration on every database, so the
mistake shows on a local run too. In a non-atomic migration each operation commits on
its own: keep such a migration to its index operations.

A concurrent build that fails or is interrupted leaves an invalid index behind under its
name, which PostgreSQL keeps up to date but never reads; running the migration again
drops that leftover first instead of stopping at "already exists".

The model state is the same as ``AddIndex`` / ``RemoveIndex`` give, so switching an
applied migration to these changes nothing for a database that has applied it, and
``makemigrations`` sees no difference.
"""

from __future__ import annotations

from django.contrib.postgres import operations as postgres_operations
from django.db import NotSupportedError, migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState


def _concurrent(schema_editor: BaseDatabaseSchemaEditor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def _ensure_not_in_transaction(what: str, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.in_atomic_block:
        raise NotSupportedError(
            f"{what} cannot run inside a transaction: set atomic = False "
            "on the migration (PostgreSQL builds the index CONCURRENTLY)."
        )


def _drop_invalid_leftover(schema_editor: BaseDatabaseSchemaEditor, name: str) -> None:
    """Drop an invalid index named ``name`` that a failed concurrent build left."""
    if schema_editor.collect_sql:  # sqlmigrate: print the migration, touch nothing
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s AND NOT i.indisvalid AND pg_table_is_visible(c.oid)",
            [name],
        )
        leftover = cursor.fetchone() is not None
    if leftover:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


class AddIndexConcurrently(postgres_operations.AddIndexConcurrently):
    """``AddIndex`` that builds the index CONCURRENTLY on PostgreSQL (plainly elsewhere)."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        _ensure_not_in_transaction(type(self).__name__, schema_editor)
        if not _concurrent(schema_editor):
            migrations.AddIndex.database_forwards(
                self, app_label, schema_editor, from_state, to_state
            )
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            _drop_invalid_leftover(schema_editor, self.index.name)
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        _ensure_not_in_transaction(type(self).__name__, schema_editor)
        if not _concurrent(schema_editor):
            migrations.AddIndex.database_backwards(
                self, app_label, schema_editor, from_state, to_state
            )
            return
        super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"Create index {self.index.name} on {self.model_name} (concurrently on PostgreSQL)"


class RemoveIndexConcurrently(postgres_operations.RemoveIndexConcurrently):
    """``RemoveIndex`` that drops the index CONCURRENTLY on PostgreSQL (plainly elsewhere)."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        _ensure_not_in_transaction(type(self).__name__, schema_editor)
        if not _concurrent(schema_editor):
            migrations.RemoveIndex.database_forwards(
                self, app_label, schema_editor, from_state, to_state
            )
            return
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        _ensure_not_in_transaction(type(self).__name__, schema_editor)
        if not _concurrent(schema_editor):
            migrations.RemoveIndex.database_backwards(
                self, app_label, schema_editor, from_state, to_state
            )
            return
        # Going back builds the index again: a failed build's leftover is dropped first.
        _drop_invalid_leftover(schema_editor, self.name)
        super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"Remove index {self.name} from {self.model_name} (concurrently on PostgreSQL)"


def index_create_postgres(
    schema_editor: BaseDatabaseSchemaEditor, name: str, table: str, using: str
) -> None:
    """``CREATE INDEX CONCURRENTLY name ON table USING …`` on PostgreSQL (``using``: the
    method and what it indexes, ``gin ((expression))``); nothing on other databases."""
    if not _concurrent(schema_editor):
        return
    _ensure_not_in_transaction("index_create_postgres", schema_editor)
    _drop_invalid_leftover(schema_editor, name)
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {schema_editor.quote_name(name)} "
        f"ON {schema_editor.quote_name(table)} USING {using}"
    )


def index_drop_postgres(schema_editor: BaseDatabaseSchemaEditor, name: str) -> None:
    """``DROP INDEX CONCURRENTLY`` of an index ``index_create_postgres`` built."""
    if not _concurrent(schema_editor):
        return
    _ensure_not_in_transaction("index_drop_postgres", schema_editor)
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


__all__ = [
    "AddIndexConcurrently",
    "RemoveIndexConcurrently",
    "index_create_postgres",
    "index_drop_postgres",
]
