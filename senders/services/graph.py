"""How senders reaches Meta: the Graph client as configured (it knows Meta's field lists)."""

from __future__ import annotations

from waba_portal.graph.client import GraphClient


def graph_client(*, token: str | None = None) -> GraphClient:
    """The Graph client as configured in settings, with this token."""
    return GraphClient.from_settings(token=token or "")
