"""Pytest plugin: the whole run is offline (see ``tests/network.py``).

The guard goes in before the first session fixture starts and stays for the run; after
each test, any refused attempt, even one the code under test caught and swallowed, fails
that test with the address it tried.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import network


@pytest.fixture(scope="session", autouse=True)
def _internet_blocked() -> Iterator[None]:
    network.install()
    yield
    network.uninstall()


@pytest.fixture(autouse=True)
def _no_internet_attempts(_internet_blocked: None) -> Iterator[None]:
    before = len(network.attempts)
    yield
    tried = network.attempts[before:]
    if tried:
        del network.attempts[before:]
        pytest.fail(
            "this test tried to reach the internet: "
            + ", ".join(tried)
            + ". Use the mock Meta server (the `mock_meta` fixture) or a local server.",
            pytrace=False,
        )
