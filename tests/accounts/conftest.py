"""Each test here starts with no sign-in or throttle counts (see sign_in_support)."""

from __future__ import annotations

import pytest

from tests.accounts.sign_in_support import forget_counts


@pytest.fixture(autouse=True)
def _no_counts_from_before() -> None:
    forget_counts()
