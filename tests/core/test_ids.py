"""Ids are what the database can hold: at most a signed 64-bit integer (issue #11).

The suite runs on PostgreSQL, which compares a 30-digit number with a bigint column and
finds nothing; SQLite (the local demo) refuses to bind one and raised ``OverflowError``
out of the view. The tests that need SQLite run against an in-memory SQLite database
beside the suite's, holding the webhook pipeline's tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connections
from django.db.utils import ConnectionHandler
from django.test import Client, override_settings
from django.urls import NoReverseMatch, Resolver404, get_resolver, resolve, reverse

from tests.factories import UserFactory, World, team
from tests.test_permission_matrix import _PARAMETER, _walk
from waba_portal.errors import NotFound, get_or_not_found
from waba_portal.guards import MAX_ID, IdConverter, parse_id
from waba_portal.webhooks.models import WebhookChange, WebhookDelivery

HUGE_ID = 10**29  # 30 digits, as in the issue


# --- The bound ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("007", 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        (str(HUGE_ID), None),
        ("", None),
        (None, None),
        ("-1", None),
        ("1.0", None),
        (" 1", None),
        ("1\n", None),
        ("²", None),  # str.isdigit() says yes, int() refuses it
        ("٣", None),  # an Arabic-Indic three: a digit, but not in our URLs
        ("abc", None),
    ],
)
def test_parse_id_takes_ascii_digits_up_to_the_largest_id(
    text: str | None, expected: int | None
) -> None:
    assert parse_id(text) == expected


def test_the_largest_id_is_a_signed_64_bit_integer() -> None:
    assert MAX_ID == 9_223_372_036_854_775_807


def test_a_url_id_beyond_the_largest_matches_no_url() -> None:
    match = resolve(f"/staff/webhooks/{MAX_ID}/")
    assert match.kwargs == {"delivery_id": MAX_ID}
    for too_big in (MAX_ID + 1, HUGE_ID):
        with pytest.raises(Resolver404):
            resolve(f"/staff/webhooks/{too_big}/")
    with pytest.raises(NoReverseMatch):
        reverse("webhooks:delivery_detail", args=[MAX_ID + 1])
    assert IdConverter().to_url(42) == "42"


def test_every_id_in_our_url_confs_takes_the_id_converter() -> None:
    """`<int:...>` lets any number through to a query: one of ours must say `<id:...>`."""
    ours = [r for r in _walk(get_resolver().url_patterns) if not r.route.startswith("admin/")]
    assert ours, "no URL patterns found"
    converters = {
        (r.name, m["parameter"]): m["converter"] for r in ours for m in _PARAMETER.finditer(r.route)
    }
    ints = sorted(str(key) for key, converter in converters.items() if converter == "int")
    assert not ints, f"use <id:...> for these primary keys: {ints}"
    assert {k for k, c in converters.items() if c == "id"}, "no <id:...> argument found"


# --- SQLite ---------------------------------------------------------------------------------

SQLITE = "sqlite_ids"


class WebhooksOnSQLite:
    """Routes the webhook pipeline's tables to the SQLite database; the rest stays."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return SQLITE if model._meta.app_label == "webhooks" else None

    db_for_write = db_for_read


@pytest.fixture
def sqlite(db: None) -> Iterator[str]:
    """An in-memory SQLite database with the deliveries and changes tables."""
    memory = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    handler = ConnectionHandler({"default": memory, SQLITE: memory})  # it wants a default
    connection = handler[SQLITE]
    connections[SQLITE] = connection
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys = OFF")  # the tenants table is not here
        with connection.schema_editor() as editor:
            editor.create_model(WebhookDelivery)
            editor.create_model(WebhookChange)
        yield SQLITE
    finally:
        connection.close()
        del connections[SQLITE]


def test_sqlite_cannot_bind_an_id_beyond_the_largest(sqlite: str) -> None:
    """Why the bound is MAX_ID: the last number SQLite binds, and the first it cannot."""
    deliveries = WebhookDelivery.objects.using(sqlite)
    assert list(deliveries.filter(pk__in=[MAX_ID])) == []
    with pytest.raises(OverflowError):
        list(deliveries.filter(pk__in=[MAX_ID + 1]))


def test_get_or_not_found_answers_not_found_for_what_sqlite_cannot_bind(sqlite: str) -> None:
    deliveries = WebhookDelivery.objects.using(sqlite)
    for lookup in ({"pk": HUGE_ID}, {"pk": str(HUGE_ID)}, {"pk__in": [HUGE_ID]}, {"pk": MAX_ID}):
        with pytest.raises(NotFound):
            get_or_not_found(deliveries, **lookup)


@pytest.fixture
def staff_on_sqlite(sqlite: str) -> Iterator[Client]:
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    with override_settings(DATABASE_ROUTERS=[WebhooksOnSQLite()]):
        yield client


@pytest.mark.parametrize(
    "form",
    [
        {"delivery_id": str(HUGE_ID)},
        {"delivery_id": str(MAX_ID + 1)},
        {"from_id": "1", "to_id": str(HUGE_ID)},
        {"from_id": str(HUGE_ID), "to_id": str(HUGE_ID)},
        {"delivery_id": "²"},
        {"delivery_id": "²", "from_id": "1", "to_id": "5"},  # not silently a range instead
    ],
)
def test_a_staff_replay_of_an_id_no_row_can_have_is_refused_on_sqlite(
    staff_on_sqlite: Client, form: dict[str, str]
) -> None:
    response = staff_on_sqlite.post("/staff/webhooks/replay/", form)
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Give one delivery, or a range of ids (from and to), to replay."
    ]


def test_a_staff_replay_of_the_largest_id_runs_on_sqlite(staff_on_sqlite: Client) -> None:
    response = staff_on_sqlite.post(
        "/staff/webhooks/replay/", {"from_id": "1", "to_id": str(MAX_ID)}
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "0 deliveries queued for replay."
    ]


def test_a_staff_page_of_a_huge_delivery_id_is_not_found_on_sqlite(
    staff_on_sqlite: Client,
) -> None:
    assert staff_on_sqlite.get(f"/staff/webhooks/{HUGE_ID}/").status_code == 404
    assert staff_on_sqlite.get(f"/staff/webhooks/{MAX_ID}/").status_code == 404


# --- Ids in forms, on the suite's database ------------------------------------------------


def test_removing_a_team_member_by_a_huge_id_is_not_found(world: World) -> None:
    support = team(world.tenant, "Support", world.agent)
    client = Client()
    client.force_login(world.owner.user)
    response = client.post(
        f"/t/acme/settings/teams/{support.pk}/",
        {"action": "remove", "membership": str(HUGE_ID)},
    )
    assert response.status_code == 404
