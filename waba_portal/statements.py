"""Queries a page runs on every request, compiled by the ORM once per process.

The ORM turns a queryset into SQL on every evaluation. For most queries that is a
fraction of a millisecond; for a rule of several subqueries (the numbers a member may
see: ``senders.selectors.phones_visible_to``) it took 4 ms of Python for 0.5 ms of
database work, on every page of the inbox. ``rows(key, build)`` compiles ``build()``
the first time a key is asked for and afterwards runs the same statement with the same
parameters, reading the data afresh each time.

So the key must hold everything the statement is built from (the ids and the role the
queryset's filters use), but what is passed as ``args``: ids that change from call to
call (the conversation of a thread). ``build(*args)`` is then compiled once with
stand-ins for them, and each call puts its own in their places. A stand-in the ORM
changes on its way into the SQL (a ``LIKE`` pattern, say) would not be found: such a
statement is not kept, each call runs its queryset as the ORM builds it. The tenant
scope active while it is built is part of the key (the scoped manager adds its own
``tenant_id`` filter). The cache is a bounded LRU per process: a key is a few values, a
statement a few hundred bytes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from threading import Lock
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Model, QuerySet

from accounts.tenancy import scope_key

STATEMENTS_KEPT = 2048
# What an argument is compiled as: ids no row has (ids are positive), each its own.
_STAND_IN = -(2**62)

M = TypeVar("M", bound=Model)
Converters = dict[int, tuple[list[Any], Any]]
Build = Callable[..., QuerySet[Any, Any]]


@dataclass(frozen=True)
class Statement:
    sql: str  # "" when no row can match
    params: tuple[Any, ...]
    # What turns a column's database value into the field's (a JSON column's text into
    # its value, SQLite's datetimes into aware ones): the compiler's, by column position.
    converters: Converters
    # Where each argument goes: (position among the parameters, argument's index).
    slots: tuple[tuple[int, int], ...] = ()
    kept: bool = True  # False: the arguments could not be placed, run the ORM each time

    def parameters(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.slots:
            return self.params
        params = list(self.params)
        for position, index in self.slots:
            params[position] = args[index]
        return tuple(params)


_compiled: OrderedDict[Hashable, Statement] = OrderedDict()
_lock = Lock()


def _compile(build: Build, arity: int) -> Statement:
    stand_ins = tuple(_STAND_IN - i for i in range(arity))
    compiler = build(*stand_ins).query.get_compiler(connection=connection)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a filter no row can pass (``pk__in=[]``): nothing to ask
        return Statement("", (), {})
    columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
    converters = compiler.get_converters(columns)
    where = {value: index for index, value in enumerate(stand_ins)}
    slots = tuple(
        (position, where[value])
        for position, value in enumerate(params)
        if isinstance(value, int) and value in where
    )
    kept = {index for _position, index in slots} == set(range(arity))
    return Statement(sql, tuple(params), converters, slots, kept)


def statement(key: Hashable, build: Build, arity: int = 0) -> Statement:
    """The SQL, parameters and converters of ``build(*args)`` for ``key`` (in the active
    tenant scope), with ``arity`` arguments, compiled on the first call."""
    full = (scope_key(), connection.alias, key, arity)
    with _lock:
        found = _compiled.get(full)
        if found is not None:
            _compiled.move_to_end(full)
            return found
    found = _compile(build, arity)
    with _lock:
        _compiled[full] = found
        while len(_compiled) > STATEMENTS_KEPT:
            _compiled.popitem(last=False)
    return found


def rows(key: Hashable, build: Build, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows of ``build(*args)`` (a ``values_list`` queryset) as tuples, its SQL
    compiled once per ``key``; ``args``: ids (ints) that differ from call to call."""
    found = statement(key, build, len(args))
    if not found.kept:
        return [tuple(row) for row in build(*args)]
    if not found.sql:
        return []
    with connection.cursor() as cursor:
        cursor.execute(found.sql, found.parameters(args))
        fetched = cursor.fetchall()
    if not found.converters:
        return [tuple(row) for row in fetched]
    return [_converted(row, found.converters) for row in fetched]


def instances(
    key: Hashable,
    model: type[M],
    build: Build,
    args: tuple[Any, ...] = (),
    *,
    fields: tuple[str, ...] | None = None,
) -> list[M]:
    """``model`` instances of the rows of ``build(*args)`` (a queryset of ``model``), as
    ``rows`` compiles it: every column, or only ``fields`` (the others deferred, read
    when asked for, as with ``.only()``). Built by ``Model.from_db``, as the ORM does."""
    names = [
        f.attname
        for f in model._meta.concrete_fields
        if fields is None or f.attname in fields or f.name in fields
    ]
    found = rows(key, lambda *a: build(*a).values_list(*names), args)
    return [model.from_db(connection.alias, names, row) for row in found]


def _converted(row: Any, converters: Converters) -> tuple[Any, ...]:
    values = list(row)
    for position, (functions, expression) in converters.items():
        value = values[position]
        for function in functions:
            value = function(value, expression, connection)
        values[position] = value
    return tuple(values)
