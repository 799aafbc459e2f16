"""Pytest plugin: webhooks as Meta sends them, to our endpoint and our WSGI application.

``routed`` gives each of ``world``'s two tenants one claimed WABA with one number;
``post_signed`` posts a body signed with the app secret as Meta signs it; ``WsgiClient``
calls the production WSGI application (``waba_portal.wsgi``) as a server would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from werkzeug.test import Client as WerkzeugClient

from tests.factories import World, claim
from waba_portal.graph.webhooks import sign_payload
from waba_portal.webhooks.samples import dumps


@dataclass
class Routed:
    """Two tenants, each holding one WABA with one number."""

    world: World
    waba_a: str = "111000000000001"
    phone_a: str = "211000000000001"
    waba_b: str = "111000000000002"
    phone_b: str = "211000000000002"


@pytest.fixture
def routed(world: World) -> Routed:
    r = Routed(world)
    claim(world.tenant, r.waba_a, r.phone_a)
    claim(world.other_tenant, r.waba_b, r.phone_b)
    return r


def post_signed(client: Client, payload: dict | bytes, secret: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    body = payload if isinstance(payload, bytes) else dumps(payload)
    signature = sign_payload(body, secret or settings.META_APP_SECRET)
    return client.post(
        "/webhooks/meta/",
        body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature, **headers},
    )


class WsgiResponse:
    """The bits of Django's test response that the endpoint tests read."""

    def __init__(self, status_code: int, content: bytes, headers: dict[str, str]) -> None:
        self.status_code = status_code
        self.content = content
        self.headers = headers

    def __getitem__(self, name: str) -> str:
        return self.headers[name]

    def json(self) -> Any:
        return json.loads(self.content)


class WsgiClient:
    """Calls the production WSGI application (``waba_portal.wsgi``) as a server would.

    Like Django's test client, it keeps ``close_old_connections`` off the request
    signals, so the test's transaction and connection survive the request.
    """

    def __init__(self, host: str = "testserver", scheme: str = "http", fresh: bool = False) -> None:
        from waba_portal.wsgi import application

        if fresh:  # Django's middleware reads its settings when the handler is built
            from django.core.wsgi import get_wsgi_application

            from waba_portal.webhooks.intake import WebhookIntake

            application = WebhookIntake(get_wsgi_application())
        self._client = WerkzeugClient(application)
        self.base_url = f"{scheme}://{host}/"

    @contextmanager
    def _request_signals_quiet(self) -> Iterator[None]:
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            yield
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)

    def _open(self, method: str, path: str, **kwargs: Any) -> WsgiResponse:
        with self._request_signals_quiet():
            response = self._client.open(path, method=method, base_url=self.base_url, **kwargs)
            try:  # Django's handler sends request_finished when the response is closed
                return WsgiResponse(
                    response.status_code, response.get_data(), dict(response.headers)
                )
            finally:
                response.close()

    def get(self, path: str, data: dict[str, str] | None = None) -> WsgiResponse:
        return self._open("GET", path, query_string=data)

    def post(
        self,
        path: str,
        data: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> WsgiResponse:
        return self._open("POST", path, data=data, content_type=content_type, headers=headers)

    def put(self, path: str, data: bytes) -> WsgiResponse:
        return self._open("PUT", path, data=data)
