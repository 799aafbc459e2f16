"""A refusal is one log line without a traceback; a server error keeps its traceback."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from tests.factories import World
from waba_portal.log_filters import RefusalsWithoutTraceback

pytestmark = pytest.mark.django_db


def test_an_agents_expected_403_is_one_line_without_traceback(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    c = Client()
    c.force_login(world.agent.user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert c.get(f"/t/{world.tenant.slug}/settings/audit/").status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    handler_filter = RefusalsWithoutTraceback()
    assert handler_filter.filter(records[0]) and records[0].exc_info is None
    assert "Forbidden" in records[0].getMessage()


def test_the_filter_keeps_the_traceback_of_a_server_error() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "x", (), exc_info)
    record.status_code = 500
    RefusalsWithoutTraceback().filter(record)
    assert record.exc_info is exc_info


def test_the_portal_logs_through_one_handler_only() -> None:
    from django.conf import settings

    assert settings.LOGGING["loggers"]["django"]["handlers"] == []
    assert logging.getLogger("django").handlers == []
    assert "refusals" in settings.LOGGING["handlers"]["console"]["filters"]


def test_the_favicon_browsers_ask_for_exists(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)  # type: ignore[attr-defined]
