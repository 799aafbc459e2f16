"""Shared pieces of the REST API: the error body every endpoint answers with.

Every error is ``waba_portal.errors.error_body()``:
``{"error": {"code": "...", "message": "...", "details": {...}}}``, a stable
machine-readable code, a sentence a person can act on, and field errors where there
are any. A service's refusal (``ServiceError``) is answered here, with its status, so
API views call services without ``try``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from waba_portal.errors import ServiceError, error_body

_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        return Response(exc.body(), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = _CODES.get(response.status_code, "error")
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        message = "The request has invalid fields; see details."
        details: Any = data
    elif isinstance(data, dict) and "detail" in data:
        message = str(data["detail"])
        code = getattr(data["detail"], "code", None) or code
        details = {}
    else:
        message = str(data)
        details = {}
    response.data = error_body(code, message, details)
    return response


class TenantAPIView(APIView):
    """Base of tenant API views: the tenant and membership come from TenantMiddleware."""

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if getattr(request._request, "membership", None) is None:
            raise Http404

    @property
    def membership(self) -> Any:
        return self.request._request.membership  # type: ignore[attr-defined]

    def context(self) -> dict[str, Any]:
        return {"request": self.request, "tenant_slug": self.request._request.tenant.slug}  # type: ignore[attr-defined]

    @staticmethod
    def error(status_code: int, code: str, message: str, details: Any = None) -> Response:
        return Response(error_body(code, message, details), status=status_code)
