"""Each browser test starts with no sign-in or throttle counts: its pages sign up and log
in from 127.0.0.1 with fixed addresses, and Redis outlives test runs."""

from __future__ import annotations

import pytest

from tests.accounts.sign_in_support import forget_counts


@pytest.fixture(autouse=True)
def _no_counts_from_before() -> None:
    forget_counts()
