"""Empty databases of their own for tests that run migrations.

The suite's test database has every migration applied and the other tests stand on it;
a test that migrates from zero, or back and forth, does it on a scratch database: a
SQLite database in memory (as the local demo runs) or a new PostgreSQL database beside
the test database (dropped afterwards). The connection is registered under its own
alias, because data migrations reach the database through ``.using(alias)``.

Use it from a test that has database access (``db``): pytest-django blocks every
connection otherwise, these included.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from types import MethodType
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor

VENDORS = ("sqlite", "postgresql")

_aliases = itertools.count(1)


def _ensure_connection(self: BaseDatabaseWrapper) -> None:
    # Django's test cases and pytest-django let a test open only the connections they
    # list, checking in ensure_connection(); a scratch database is the test's own, so its
    # connection opens as Django opens one outside the tests.
    if self.connection is None:
        with self.wrap_database_errors:
            self.connect()


@contextmanager
def scratch_database(vendor: str) -> Iterator[BaseDatabaseWrapper]:
    """A connection to a new, empty database of ``vendor`` ("sqlite" or "postgresql")."""
    alias = f"scratch{next(_aliases)}"
    base = connections["default"]
    if vendor == "sqlite":
        config: dict[str, Any] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    else:
        assert base.vendor == "postgresql", "the suite runs on PostgreSQL"
        name = f"{base.settings_dict['NAME']}_{alias}"
        with base._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        config = {**base.settings_dict, "NAME": name, "CONN_MAX_AGE": 0}
    connections.settings[alias] = connections.configure_settings({"default": config})["default"]
    connection = connections[alias]
    connection.ensure_connection = MethodType(_ensure_connection, connection)  # type: ignore[method-assign]
    try:
        yield connection
    finally:
        connection.close()
        del connections[alias]
        del connections.settings[alias]
        if vendor != "sqlite":
            with base._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}"')


def migrate(connection: BaseDatabaseWrapper, *targets: tuple[str, str | None]) -> None:
    """Migrate ``connection`` to ``targets`` ((app, migration name or None for zero)),
    or with no targets to the latest migration of every app."""
    executor = MigrationExecutor(connection)
    plan_targets = list(targets) or executor.loader.graph.leaf_nodes()
    executor.migrate(plan_targets)  # type: ignore[arg-type]
