"""Templates tests: a connected WABA in the mock Meta server, and the helpers around it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_senders import Connected


@pytest.fixture
def c(connected_waba: Connected, mock_meta: Any) -> Connected:
    """``world.tenant``'s connected WABA; the mock reviews templates in 0.2 s."""
    mock_meta.config(review_delay=0.2)
    return connected_waba
