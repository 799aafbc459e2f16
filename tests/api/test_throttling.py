"""Requests per window, per credential and per workspace: 429 with Retry-After."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from tests.accounts.sign_in_support import forget_counts
from tests.api.support import error_of, key_client, session_client
from tests.factories import World, api_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_counts_from_before() -> None:
    forget_counts()


def test_a_key_past_its_share_gets_429_with_retry_after(world: World, settings: Any) -> None:
    settings.API_THROTTLE_PER_CREDENTIAL = 3
    settings.API_THROTTLE_WINDOW_SECONDS = 60
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    start = timezone.now().replace(second=5, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(3):
            assert client.get("/api/v1/t/acme/").status_code == 200
        refused = client.get("/api/v1/t/acme/wabas/")
        assert refused.status_code == 429
        assert error_of(refused)["code"] == "throttled"
        assert int(refused["Retry-After"]) == 55  # the window ends at the next minute
        # Another key of the same workspace has its own share.
        _other, other_secret = api_key_for(world.tenant, name="Other")
        assert key_client(other_secret).get("/api/v1/t/acme/").status_code == 200
        clock.shift(timedelta(seconds=56))
        assert client.get("/api/v1/t/acme/").status_code == 200


def test_a_workspace_past_its_share_gets_429_for_every_credential(
    world: World, settings: Any
) -> None:
    settings.API_THROTTLE_PER_CREDENTIAL = 0  # off: only the workspace counts
    settings.API_THROTTLE_PER_TENANT = 4
    _a, first = api_key_for(world.tenant, name="A")
    _b, second = api_key_for(world.tenant, name="B")
    with time_machine.travel(timezone.now().replace(second=0), tick=False):
        answers = [key_client(s).get("/api/v1/t/acme/").status_code for s in (first, second) * 2]
        assert answers == [200, 200, 200, 200]
        assert key_client(first).get("/api/v1/t/acme/").status_code == 429
        refused = session_client(world.owner).get("/api/v1/t/acme/")
        assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
        # Another workspace is not held up by this one.
        _g, theirs = api_key_for(world.other_tenant)
        assert key_client(theirs).get("/api/v1/t/globex/").status_code == 200


def test_a_limit_of_zero_switches_throttling_off(world: World, settings: Any) -> None:
    settings.API_THROTTLE_PER_CREDENTIAL = 0
    settings.API_THROTTLE_PER_TENANT = 0
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    assert {client.get("/api/v1/t/acme/").status_code for _ in range(10)} == {200}
