"""The suite's fixtures: ``world`` here, the rest in plugin modules beside this file.

Conftests do not import each other. Helpers and fixtures that more than one folder
uses live in ``tests/factories.py`` (rows) or in a ``tests/fixtures_*.py`` plugin
registered below, and test modules import names from there.
"""

from __future__ import annotations

import pytest

from tests.factories import World, make_world

pytest_plugins = [
    "tests.fixtures_network",
    "tests.fixtures_celery",
    "tests.fixtures_browser",
    "tests.fixtures_mock_meta",
    "tests.fixtures_senders",
    "tests.fixtures_webhooks",
]


@pytest.fixture
def world(db: None) -> World:
    """Two tenants with a member of every role each (see ``tests.factories.World``)."""
    return make_world()
