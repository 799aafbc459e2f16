"""Shared pieces of the REST API: the error body every endpoint answers with.

Every error is ``waba_portal.errors.error_body()``:
``{"error": {"code": "...", "message": "...", "details": {...}}}``, a stable
machine-readable code, a sentence a person can act on, and field errors where there
are any. A service's refusal (``ServiceError``) is answered here, with its status, so
API views call services without ``try``.

Every tenant API view names its resource group (``TenantAPIView.resource_group``,
defaulted from the view's app: senders, templates, inbox, events). A request made with
an API key is let through only within the key's scope for that group: read for GET,
HEAD and OPTIONS, read/write for the rest (:class:`CredentialScope`); a session keeps
its member's role. A key acts as an admin of its workspace (``accounts.api_auth``).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from waba_portal.errors import NotAllowed, ServiceError, error_body

_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
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
        # Field errors are under details.fields, as a service's Invalid(field=...) has them.
        message = _("The request has invalid fields; see details.")
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        details: Any = {"fields": fields}
    elif isinstance(data, dict) and "detail" in data:
        message = str(data["detail"])
        code = getattr(data["detail"], "code", None) or code
        details = {}
    else:
        message = str(data)
        details = {}
    response.data = error_body(code, message, details)
    return response


# The resource group of a view whose class does not name one, by the package it is in.
RESOURCE_GROUP_BY_PACKAGE = {
    "senders": "senders",
    "templates_app": "templates",
    "inbox": "inbox",
    "waba_portal.events": "events",
}
# A view for every credential of the workspace, whatever its scopes (the tenant itself).
ANY_GROUP = "*"


def resource_group_of(view: Any) -> str | None:
    """The view's resource group: its ``resource_group``, else its package's, else None."""
    group = getattr(view, "resource_group", None)
    if group:
        return str(group)
    module = type(view).__module__
    for package, package_group in RESOURCE_GROUP_BY_PACKAGE.items():
        if module == package or module.startswith(package + "."):
            return package_group
    return None


class CredentialScope(BasePermission):
    """A credential that carries scopes (an API key) may use the view's group only as they say.

    The credential is ``request.auth`` with an ``allows(group, write=...)`` method
    (``accounts.models.ApiKey``); a session has none and is judged by its role alone.
    A view without a group is closed to keys.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        allows = getattr(request.auth, "allows", None)
        if allows is None:
            return True
        group = resource_group_of(view)
        if group == ANY_GROUP:
            return True
        # A view that only reads but takes its input as a POST body (a preview, a
        # check) says ``reads_only``: the read scope is enough for it.
        write = request.method not in SAFE_METHODS and not getattr(view, "reads_only", False)
        if group is None or not allows(group, write=write):
            if write:
                message = _(
                    "This API key may not change %(group)s: give it the “%(group)s: read "
                    "and write” scope under Settings → API keys, or use another key."
                )
            else:
                message = _(
                    "This API key may not read %(group)s: give it the “%(group)s” scope "
                    "under Settings → API keys, or use another key."
                )
            raise NotAllowed(
                message % {"group": group or "?"},
                code="insufficient_scope",
                details={"resource_group": group, "needs": "write" if write else "read"},
            )
        return True


class TenantAPIView(APIView):
    """Base of tenant API views: the tenant and membership come from TenantMiddleware.

    ``resource_group`` names the scope an API key needs (None: the package's default,
    see :data:`RESOURCE_GROUP_BY_PACKAGE`); :class:`CredentialScope` is added to the
    view's own permission classes, whatever they are. ``reads_only`` marks a view whose
    POST changes nothing (its body is only its input): the read scope is enough.
    """

    resource_group: str | None = None
    reads_only = False

    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), CredentialScope()]

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
