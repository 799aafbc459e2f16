"""How senders reaches Meta: the Graph client as configured (it knows Meta's field lists)."""

from __future__ import annotations

from typing import Any

from waba_portal.graph.client import GraphClient


def graph_client(*, token: str | None = None, session: Any = None) -> GraphClient:
    """The Graph client as configured in settings, with this token (on ``session``, a
    ``requests.Session`` kept by the caller, when given)."""
    return GraphClient.from_settings(token=token or "", session=session)
