"""Indexes on the large tables are built CONCURRENTLY on PostgreSQL, plainly on SQLite.

waba_portal/migration_ops.py, used by webhooks 0004 (the one migration that adds an index
to an existing hot table: webhook deliveries and changes, inbox messages and status
events got theirs when their tables were created). Every migration applies from zero on
both databases (scratch databases: tests/scratch_databases.py).
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, NotSupportedError, migrations, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from tests.scratch_databases import VENDORS, migrate, scratch_database
from waba_portal.migration_ops import AddIndexConcurrently, RemoveIndexConcurrently

pytestmark = pytest.mark.django_db

OPEN_INDEX = ("webhooks", "0004_open_index_by_id")
BEFORE_OPEN_INDEX = ("webhooks", "0003_hot_path_indexes")


def migration_sql(conn: BaseDatabaseWrapper, node: tuple[str, str], backwards: bool) -> str:
    """What ``sqlmigrate`` prints for one migration on ``conn``."""
    loader = MigrationLoader(conn)
    return "\n".join(loader.collect_sql([(loader.get_migration(*node), backwards)]))


def test_postgres_builds_and_drops_the_index_concurrently() -> None:
    with scratch_database("postgresql") as pg:  # sqlmigrate's connection: no transaction
        forwards = migration_sql(pg, OPEN_INDEX, backwards=False)
        backwards = migration_sql(pg, OPEN_INDEX, backwards=True)
    assert (
        'CREATE INDEX CONCURRENTLY "webhook_delivery_open_new" ON "webhooks_webhookdelivery" '
        '("status", "id") WHERE NOT ("status" = \'processed\')'
    ) in forwards
    assert 'DROP INDEX CONCURRENTLY IF EXISTS "webhook_delivery_open"' in forwards
    assert 'ALTER INDEX "webhook_delivery_open_new" RENAME TO "webhook_delivery_open"' in forwards
    assert "BEGIN" not in forwards  # atomic = False: no transaction around it

    assert 'CREATE INDEX CONCURRENTLY "webhook_delivery_open" ON "webhooks_webhookdelivery" ' in (
        backwards
    )
    assert 'DROP INDEX CONCURRENTLY IF EXISTS "webhook_delivery_open_new"' in backwards


def test_sqlite_gets_a_plain_index() -> None:
    with scratch_database("sqlite") as sqlite:
        forwards = migration_sql(sqlite, OPEN_INDEX, backwards=False)
    assert "CONCURRENTLY" not in forwards
    assert (
        'CREATE INDEX "webhook_delivery_open_new" ON "webhooks_webhookdelivery" '
        '("status", "id") WHERE NOT ("status" = \'processed\')'
    ) in forwards
    assert 'DROP INDEX "webhook_delivery_open"' in forwards


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize(
    "operation",
    [
        AddIndexConcurrently(
            model_name="webhookdelivery",
            index=models.Index(fields=["attempts"], name="webhook_delivery_try"),
        ),
        RemoveIndexConcurrently(model_name="webhookdelivery", name="webhook_delivery_open"),
    ],
    ids=["add", "remove"],
)
def test_an_atomic_migration_is_refused_on_every_database(
    vendor: str, operation: migrations.operations.base.Operation
) -> None:
    # SQLite needs no CONCURRENTLY, but the migration must run on PostgreSQL too: the
    # mistake shows on a local run, before the deploy.
    migration = type(
        "Migration",
        (migrations.Migration,),
        {"dependencies": [OPEN_INDEX], "operations": [operation]},
    )("0099_atomic", "webhooks")
    assert migration.atomic
    with scratch_database(vendor) as conn:
        state = MigrationLoader(conn).project_state(OPEN_INDEX)
        with (
            pytest.raises(NotSupportedError, match="set atomic = False"),
            conn.schema_editor(collect_sql=True, atomic=migration.atomic) as editor,
        ):
            migration.apply(state, editor, collect_sql=True)


def _index(conn: BaseDatabaseWrapper, name: str) -> tuple[bool, str] | None:
    """(valid, definition) of the index ``name`` on PostgreSQL, or None."""
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
            [name],
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def test_a_failed_concurrent_build_is_dropped_when_the_migration_runs_again() -> None:
    with scratch_database("postgresql") as pg:
        migrate(pg, BEFORE_OPEN_INDEX)
        with pg.cursor() as cursor:
            for digest in ("a" * 64, "b" * 64):
                cursor.execute(
                    "INSERT INTO webhooks_webhookdelivery (received_at, body, body_sha256, "
                    "duplicates, status, attempts, last_error) "
                    "VALUES (now(), '\\x7b7d', %s, 0, 'received', 0, '')",
                    [digest],
                )
        # A build that fails half-way (here: a unique index over duplicates) leaves an
        # invalid index under the name the migration is about to use.
        with pytest.raises(IntegrityError), pg.cursor() as cursor:
            cursor.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY webhook_delivery_open_new "
                "ON webhooks_webhookdelivery (status)"
            )
        assert _index(pg, "webhook_delivery_open_new") == (
            False,
            "CREATE UNIQUE INDEX webhook_delivery_open_new ON public.webhooks_webhookdelivery "
            "USING btree (status)",
        )

        migrate(pg, OPEN_INDEX)

        valid, definition = _index(pg, "webhook_delivery_open") or (False, "")
        assert valid
        assert "(status, id) WHERE" in definition
        assert _index(pg, "webhook_delivery_open_new") is None


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_migration_applies_from_zero_and_the_index_goes_back_and_forth(vendor: str) -> None:
    with scratch_database(vendor) as conn:
        migrate(conn)
        executor = MigrationExecutor(conn)
        leaves = executor.loader.graph.leaf_nodes()
        assert set(leaves) <= executor.loader.applied_migrations.keys()
        assert not executor.migration_plan(leaves)

        migrate(conn, BEFORE_OPEN_INDEX)
        if vendor == "postgresql":
            valid, definition = _index(conn, "webhook_delivery_open") or (False, "")
            assert valid
            assert "(status, received_at) WHERE" in definition

        migrate(conn, OPEN_INDEX)
        if vendor == "postgresql":
            valid, definition = _index(conn, "webhook_delivery_open") or (False, "")
            assert valid
            assert "(status, id) WHERE" in definition
            assert _index(conn, "webhook_delivery_open_new") is None
