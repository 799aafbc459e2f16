"""Resolves the tenant once per request and scopes everything after it.

Tenant pages live under ``/t/<tenant_slug>/``. For those, the middleware looks up the
signed-in user's membership of that tenant; a tenant that does not exist and a tenant
the user does not belong to both answer 404. It then sets ``request.tenant`` and
``request.membership`` and activates the tenant scope for the rest of the request,
including template rendering.

An API request with ``Authorization: Bearer <key>`` is resolved from the key instead
(``accounts.api_auth``): an unknown, revoked or expired key answers 401, a key of another
workspace than the URL's 404; ``request.membership`` is then the key's admin stand-in
(``ApiKeyActor``) and ``request.api_key`` the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import api_auth, selectors
from accounts.acting import reset_acting_key, set_acting_key
from accounts.tenancy import _scope
from waba_portal.errors import error_body

TENANT_KWARG = "tenant_slug"


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.api_key = None  # type: ignore[attr-defined]
        token = _scope.set(None)
        acting = set_acting_key(None)
        try:
            return self.get_response(request)
        finally:
            reset_acting_key(acting)
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
        if request.path.startswith("/api/") and api_auth.bearer_token(request) is not None:
            return self._by_api_key(request, slug)
        if not request.user.is_authenticated:
            if request.path.startswith("/api/"):
                response = JsonResponse(
                    error_body(
                        "not_authenticated", _("Authentication credentials were not provided.")
                    ),
                    status=401,
                )
                # A 401 names the scheme that would do (RFC 9110): an API key.
                response["WWW-Authenticate"] = api_auth.BEARER_CHALLENGE
                return response
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

    def _by_api_key(self, request: HttpRequest, slug: str) -> HttpResponse | None:
        try:
            key = api_auth.api_key_of_request(request)
        except api_auth.InvalidApiKey:
            return api_auth.invalid_key_response()
        if key is None or key.tenant.slug != slug:  # another workspace's key: no such one
            return JsonResponse(error_body("not_found", _("Not found.")), status=404)
        request.tenant = key.tenant  # type: ignore[attr-defined]
        request.membership = api_auth.ApiKeyActor(key)  # type: ignore[attr-defined]
        request.api_key = key  # type: ignore[attr-defined]
        _scope.set(key.tenant)
        set_acting_key({"id": key.pk, "name": key.name, "prefix": key.prefix})
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


class TwoFactorRequiredMiddleware:
    """A workspace whose owners require two-factor sign-in opens only to sessions that gave a code.

    Runs after ``TenantMiddleware`` (it reads ``request.membership``) and after
    django-otp's ``OTPMiddleware`` (``request.user.is_verified()``). A member without
    two-factor sign-in is sent to set it up, one whose session gave no code yet to enter
    one, each with ``next`` back to the page; the API answers 403
    ``two_factor_required``. Pages outside the workspace (the set-up page, the account,
    logging out, the language switch) are not the workspace's and stay open.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        membership = getattr(request, "membership", None)
        if membership is None or not membership.tenant.two_factor_required:
            return None
        if getattr(request, "api_key", None) is not None:  # a key is no member's session
            return None
        is_verified = getattr(request.user, "is_verified", None)
        if is_verified is not None and is_verified():
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                error_body(
                    "two_factor_required",
                    _(
                        "This workspace requires two-factor sign-in. Turn it on for your "
                        "account and sign in with a code."
                    ),
                ),
                status=403,
            )
        if selectors.two_factor_enabled(user=membership.user):
            target = "accounts:login_code"
            messages.info(
                request,
                _("%(workspace)s asks for a code from your app. Enter it to go on.")
                % {"workspace": membership.tenant.name},
            )
        else:  # the set-up page names the workspaces that require it
            target = "accounts:two_factor"
        url = f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)


class UserTimeZoneMiddleware:
    """A signed-in user sees dates and times in the time zone kept on the account."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        name = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
        try:
            zone = ZoneInfo(name) if name else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
