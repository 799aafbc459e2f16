"""Queries a page runs on every request, compiled by the ORM once per process.

The ORM turns a queryset into SQL on every evaluation. For most queries that is a
fraction of a millisecond; for a rule of several subqueries (the numbers a member may
see: ``senders.selectors.phones_visible_to``) it took 4 ms of Python for 0.5 ms of
database work, on every page of the inbox. ``rows(key, build)`` compiles
``build()`` the first time a key is asked for and afterwards runs the same statement
with the same parameters, reading the data afresh each time.

So the key must hold everything the statement is built from: the ids and the role the
queryset's filters use, and the tenant scope active while it is built (the scoped
manager adds its own ``tenant_id`` filter). ``rows`` adds the scope to the key itself.
The cache is a bounded LRU per process: a key is a few ints, a statement a few hundred
bytes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from threading import Lock
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from accounts.tenancy import scope_key

STATEMENTS_KEPT = 2048

Converters = dict[int, tuple[list[Any], Any]]


@dataclass(frozen=True)
class Statement:
    sql: str  # "" when no row can match
    params: tuple[Any, ...]
    # What turns a column's database value into the field's (SQLite's datetimes into
    # aware ones, say): the compiler's, by column position; PostgreSQL needs none here.
    converters: Converters


_compiled: OrderedDict[Hashable, Statement] = OrderedDict()
_lock = Lock()


def statement(key: Hashable, build: Callable[[], QuerySet[Any, Any]]) -> Statement:
    """The SQL, parameters and converters of ``build()`` for ``key`` (in the active
    tenant scope), compiled on the first call."""
    full = (scope_key(), connection.alias, key)
    with _lock:
        found = _compiled.get(full)
        if found is not None:
            _compiled.move_to_end(full)
            return found
    compiler = build().query.get_compiler(connection=connection)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a filter no row can pass (``pk__in=[]``): nothing to ask
        found = Statement("", (), {})
    else:
        columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
        found = Statement(sql, tuple(params), compiler.get_converters(columns))
    with _lock:
        _compiled[full] = found
        while len(_compiled) > STATEMENTS_KEPT:
            _compiled.popitem(last=False)
    return found


def rows(key: Hashable, build: Callable[[], QuerySet[Any, Any]]) -> list[tuple[Any, ...]]:
    """The rows of ``build()`` (a ``values_list`` queryset) as tuples, its SQL compiled
    once per ``key``."""
    found = statement(key, build)
    if not found.sql:
        return []
    with connection.cursor() as cursor:
        cursor.execute(found.sql, found.params)
        fetched = cursor.fetchall()
    if not found.converters:
        return [tuple(row) for row in fetched]
    return [_converted(row, found.converters) for row in fetched]


def _converted(row: Any, converters: Converters) -> tuple[Any, ...]:
    values = list(row)
    for position, (functions, expression) in converters.items():
        value = values[position]
        for function in functions:
            value = function(value, expression, connection)
        values[position] = value
    return tuple(values)
