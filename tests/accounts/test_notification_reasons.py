"""Issue #10: a notification never says "Reason: —" with nothing after it."""

from __future__ import annotations

import pytest

from tests.fixtures_senders import Connected
from tests.senders.test_events import name_update, notifications, post

pytestmark = pytest.mark.django_db(transaction=True)  # processing is queued at commit


def test_a_rejected_name_without_a_reason_says_no_empty_reason(connected_waba: Connected) -> None:
    c = connected_waba
    post(c, name_update(c, "REJECTED", requested_verified_name="Acme!!!"))
    notes = notifications(c)
    assert notes
    assert all("Reason: —" not in n.body and "Reason:" not in n.body for n in notes)
    assert all(n.url for n in notes)  # each one links to the account it is about
