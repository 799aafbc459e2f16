"""The OpenAPI schema (/api/schema/) and its interactive docs (/api/docs/).

drf-spectacular generates the schema from the views; :class:`PortalAutoSchema` adds what
every endpoint shares, so no view repeats it:

- the one error body (``Error``: ``{"error": {"code", "message", "details"}}``) for the
  answers an endpoint can give: 401, 403, 404 and 429 (with ``Retry-After``) everywhere,
  400 and 409 on writes, 422 where an ``Idempotency-Key`` is taken;
- the ``Idempotency-Key`` header on every method marked ``@idempotent``
  (``accounts.idempotency``), and ``Idempotent-Replayed`` on its answers;
- tags by resource group (the scope an API key needs, ``waba_portal.api``).

Authentication is documented by :class:`ApiKeyScheme` (``Authorization: Bearer``) beside
drf-spectacular's own session scheme. The docs page is Swagger UI from
drf-spectacular-sidecar's static files (no CDN) with its start-up script served as a
file (``waba_portal.api_docs.ApiDocsView``), so it runs under the strict
Content-Security-Policy.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from waba_portal.api import ANY_GROUP, resource_group_of

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(
        help_text="A stable code for programs, such as not_found or idempotency_key_reused."
    )
    message = serializers.CharField(
        help_text="What went wrong and what to do, in the language of the request."
    )
    details = serializers.DictField(
        help_text="Facts about the error; field errors as {field: [messages]}.",
    )


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error the API answers."""

    error = ErrorDetailSerializer()


ERRORS = {
    "400": "The request is invalid: the details name each field to fix.",
    "401": "No credential, or an API key that is unknown, revoked or expired.",
    "403": "The member's role or the API key's scope does not allow this.",
    "404": "No such object in this workspace (a missing and a foreign one alike).",
    "409": "The object's state does not allow this now, or a request with the same "
    "Idempotency-Key is still running.",
    "422": "This Idempotency-Key was used for another request.",
    "429": "Too many requests: wait for Retry-After seconds.",
}


def is_idempotent(view: Any, method: str) -> bool:
    handler = getattr(view, method.lower(), None)
    return bool(getattr(handler, "idempotent", False))


class PortalAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        group = resource_group_of(self.view)
        if group == ANY_GROUP:
            return ["tenant"]
        return [group] if group else super().get_tags()

    # Lists are pages only when read: a POST that answers several rows (a sync's) is
    # neither paged nor filtered.
    def _get_paginator(self) -> Any:
        return super()._get_paginator() if self.method == "GET" else None

    def get_filter_backends(self) -> list[Any]:
        return list(super().get_filter_backends()) if self.method == "GET" else []

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if is_idempotent(self.view, self.method):
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    type=str,
                    location=OpenApiParameter.HEADER,
                    required=False,
                    description=(
                        "Up to 255 characters, unique per request (a UUID). The first "
                        "answer is kept for 24 hours: the same key with the same body "
                        "answers it again (with Idempotent-Replayed: true), with another "
                        "body 422, while the first still runs 409."
                    ),
                )
            )
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = dict(super()._get_response_bodies(direction))
        idempotent = is_idempotent(self.view, self.method)
        if idempotent:
            for code, response in responses.items():
                if code.startswith("2"):
                    response.setdefault("headers", {})[REPLAYED_HEADER] = {
                        "schema": {"type": "string", "enum": ["true"]},
                        "description": "Present when this is the kept answer of an "
                        "earlier request with the same Idempotency-Key.",
                    }
        codes = ["401", "403", "404", "429"]
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            codes += ["400", "409"]
        if idempotent:
            codes += ["400", "409", "422"]
        for code in sorted(set(codes)):
            if code in responses:
                continue
            response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
            response["description"] = ERRORS[code]
            if code == "429":
                response["headers"] = {
                    "Retry-After": {
                        "schema": {"type": "integer"},
                        "description": "Seconds until a request is allowed again.",
                    }
                }
            responses[code] = response
        return responses


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "wbp_live_…",
            "description": (
                "An API key from Settings → API keys, sent as `Authorization: Bearer "
                "<key>`. A key belongs to one workspace and acts as one of its admins, "
                "within its scopes: read or read/write per resource group (the tags)."
            ),
        }
