"""The benchmark's traffic has the shape its report claims (bench/payloads.py)."""

from __future__ import annotations

import json

import pytest

from bench.payloads import Batching, Routing, conversation_stream


def _events(body: bytes) -> int:
    count = 0
    for entry in json.loads(body)["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            count += len(value.get("statuses", [])) + len(value.get("messages", []))
    return count


@pytest.mark.parametrize(("name", "low", "high"), [("1", 1, 1), ("10-100", 10, 100)])
def test_each_post_carries_the_asked_number_of_events(name: str, low: int, high: int) -> None:
    stream = conversation_stream(Routing(), events=3000, batching=Batching.parse(name))
    sizes = [_events(d.body) for d in stream.deliveries]
    assert sum(sizes) == stream.events
    assert all(low <= n <= high for n in sizes[:-1])  # the last takes what is left
    assert 0 < sizes[-1] <= high


def test_light_batching_is_mostly_single_events() -> None:
    stream = conversation_stream(Routing(), events=4000, batching=Batching.parse("light"))
    sizes = [_events(d.body) for d in stream.deliveries]
    assert max(sizes) <= 5
    assert 0.55 < sizes.count(1) / len(sizes) < 0.65


@pytest.mark.parametrize("name", ["", "many", "5-x", "-3", "0", "9-2"])
def test_a_batching_that_is_not_one_is_refused_with_its_name(name: str) -> None:
    with pytest.raises(ValueError, match="not a batching"):
        Batching.parse(name)
