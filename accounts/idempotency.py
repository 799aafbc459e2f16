"""``@idempotent``: the ``Idempotency-Key`` header on a DRF view's POST, in one line.

    class MessageSend(TenantAPIView):
        @idempotent
        def post(self, request, ...): ...

A request without the header runs as before. With it, the first request runs and its
answer is kept (``accounts.services.idempotency`` says for how long and what counts as
the same request); a retry gets that answer again with ``Idempotent-Replayed: true``,
another request under the same key 422, a retry while the first still runs 409. Keys are
per workspace and credential (``accounts.api_auth.credential_of``). The OpenAPI schema
documents the header on every method marked so (``waba_portal.api_schema``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.http.request import RawPostDataException
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from accounts.api_auth import credential_of
from accounts.services import idempotency

F = TypeVar("F", bound=Callable[..., Any])

# Answer headers kept with the body and given again on a replay.
KEPT_HEADERS = ("Location",)


def _body_of(request: Any) -> bytes:
    try:
        return bytes(request._request.body)
    except RawPostDataException:  # the body was read as a stream: its parsed form
        return json.dumps(request.data, cls=JSONEncoder, sort_keys=True).encode()


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=JSONEncoder))


def idempotent(handler: F) -> F:
    """Mark a view method (a POST that creates or sends) as taking ``Idempotency-Key``."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(idempotency.HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        held = idempotency.idempotency_begin(
            credential=credential_of(request) or "anonymous",
            key=key,
            method=request.method,
            path=request.path,
            fingerprint=idempotency.request_fingerprint(
                method=request.method, path=request.path, body=_body_of(request)
            ),
        )
        if isinstance(held, idempotency.Replay):
            return Response(
                held.body,
                status=held.status,
                headers={**held.headers, idempotency.REPLAYED_HEADER: "true"},
            )
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:
            try:
                response = view.handle_exception(exc)  # a refusal becomes its answer
            except Exception:
                idempotency.idempotency_release(record=held)
                raise
        if response.status_code >= 500:
            idempotency.idempotency_release(record=held)
            return response
        idempotency.idempotency_finish(
            record=held,
            status=response.status_code,
            body=_jsonable(getattr(response, "data", None)),
            headers={h: response[h] for h in KEPT_HEADERS if response.has_header(h)},
        )
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
