"""Resolves the tenant once per request and scopes everything after it.

Tenant pages live under ``/t/<tenant_slug>/``. For those, the middleware looks up the
signed-in user's membership of that tenant; a tenant that does not exist and a tenant
the user does not belong to both answer 404. It then sets ``request.tenant`` and
``request.membership`` and activates the tenant scope for the rest of the request,
including template rendering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.tenancy import _scope
from waba_portal.errors import error_body

TENANT_KWARG = "tenant_slug"


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        token = _scope.set(None)
        try:
            return self.get_response(request)
        finally:
            _scope.reset(token)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        slug = view_kwargs.pop(TENANT_KWARG, None)
        if slug is None:
            return None
        if not request.user.is_authenticated:
            if request.path.startswith("/api/"):
                return JsonResponse(
                    error_body(
                        "not_authenticated", _("Authentication credentials were not provided.")
                    ),
                    status=401,
                )
            return redirect_to_login(request.get_full_path())
        membership = selectors.membership_for_user(user=request.user, tenant_slug=slug)
        if membership is None:
            if request.path.startswith("/api/"):
                return JsonResponse(error_body("not_found", _("Not found.")), status=404)
            raise Http404("No such workspace.")
        request.tenant = membership.tenant  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        # Scope the rest of this request (view and rendering); __call__ resets it.
        _scope.set(membership.tenant)
        return None


class UserLanguageMiddleware:
    """A signed-in user sees the UI in the language kept on the account."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)
