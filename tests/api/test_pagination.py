"""Cursor pagination (stable under inserts, opaque cursor, next/previous links, a limit)
and django-filter filters, on the delivery log of an event subscription."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import error_of, key_client
from tests.factories import World, api_key_for, event_delivery_for, event_subscription_for

pytestmark = pytest.mark.django_db


def ids(page: dict[str, Any]) -> list[int]:
    return [d["id"] for d in page["results"]]


def test_pages_stay_whole_when_rows_are_added_meanwhile(world: World) -> None:
    subscription = event_subscription_for(world.tenant)
    made = [event_delivery_for(subscription).pk for _ in range(7)]
    _key, secret = api_key_for(world.tenant, scopes={"events": "read"})
    client = key_client(secret)
    path = f"/api/v1/t/acme/event-subscriptions/{subscription.pk}/deliveries/"

    first = client.get(path, {"limit": 3}).json()
    assert set(first) == {"next", "previous", "results"}
    assert ids(first) == made[::-1][:3] and first["previous"] is None
    # New deliveries arrive while the client reads on: the next pages do not shift.
    for _ in range(4):
        event_delivery_for(subscription)
    second = client.get(first["next"]).json()
    assert ids(second) == made[::-1][3:6]
    third = client.get(second["next"]).json()
    assert ids(third) == made[::-1][6:] and third["next"] is None
    back = client.get(second["previous"]).json()
    assert ids(back) == made[::-1][:3]
    assert "cursor=" in first["next"] and str(made[3]) not in first["next"].split("cursor=")[1]


def test_a_bad_cursor_or_limit_answers_400(world: World) -> None:
    subscription = event_subscription_for(world.tenant)
    _key, secret = api_key_for(world.tenant, scopes={"events": "read"})
    client = key_client(secret)
    path = f"/api/v1/t/acme/event-subscriptions/{subscription.pk}/deliveries/"
    bad_cursor = client.get(path, {"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 400 and error_of(bad_cursor)["code"] == "invalid_cursor"
    for limit in ("0", "-1", "lots"):
        assert client.get(path, {"limit": limit}).status_code == 400, limit
    assert len(client.get(path, {"limit": 10_000}).json()["results"]) == 0  # capped, empty


def test_the_log_filters_by_status_and_event_type(world: World) -> None:
    subscription = event_subscription_for(world.tenant)
    ok = event_delivery_for(subscription)
    failed = event_delivery_for(subscription, status="failed")
    _key, secret = api_key_for(world.tenant, scopes={"events": "read"})
    client = key_client(secret)
    path = f"/api/v1/t/acme/event-subscriptions/{subscription.pk}/deliveries/"
    assert ids(client.get(path, {"status": "failed"}).json()) == [failed.pk]
    assert ids(client.get(path, {"status": "succeeded"}).json()) == [ok.pk]
    assert ids(client.get(path, {"event_type": "message.received"}).json()) == []
    assert len(ids(client.get(path, {"event_type": "number.status_changed"}).json())) == 2
    wrong = client.get(path, {"status": "lost"})
    assert wrong.status_code == 400 and "status" in error_of(wrong)["details"]["fields"]
    subs = client.get("/api/v1/t/acme/event-subscriptions/", {"enabled": "false"}).json()
    assert subs["results"] == []
