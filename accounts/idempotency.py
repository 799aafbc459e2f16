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
import hashlib
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


def _upload_fingerprint(request: Any) -> bytes:
    """A multipart request by what it says: its fields, and each file's name, size and
    SHA-256. The framing (the boundary) changes between a client's tries, and the raw
    body of a large upload is not kept in memory to be read."""
    fields = {key: sorted(request.POST.getlist(key)) for key in sorted(request.POST)}
    files: dict[str, list[Any]] = {}
    for key in sorted(request.FILES):
        for upload in request.FILES.getlist(key):
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            files.setdefault(key, []).append([upload.name, upload.size, digest.hexdigest()])
    return json.dumps({"fields": fields, "files": files}, sort_keys=True).encode()


def _body_of(request: Any) -> bytes:
    if str(request.content_type or "").startswith("multipart/form-data"):
        return _upload_fingerprint(request)
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
