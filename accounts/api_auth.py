"""API keys at the door of the REST API: who is asking, as whom it acts, how often.

A program sends ``Authorization: Bearer wbp_live_...``. :func:`api_key_of_request` finds
the key once per request (by its prefix, the SHA-256 compared in constant time, see
``accounts.selectors.api_key_by_secret``) and remembers it on the request, for

- ``accounts.middleware.TenantMiddleware``, which resolves ``/api/v1/t/<slug>/`` from the
  key instead of a session: a key of another workspace answers 404 there, an unknown,
  revoked or expired key 401 with the one error body;
- :class:`ApiKeyAuthentication`, DRF's view of the same key (``request.auth`` is the key,
  ``request.user`` an :class:`ApiKeyUser`), for every API view.

A key acts as an admin of its workspace (:class:`ApiKeyActor`, given to services as
``actor=``), never beyond its scopes: ``waba_portal.api.CredentialScope`` checks the
view's resource group on every request. Browser sessions keep DRF's
``SessionAuthentication`` and its CSRF check, and their member's role.

Throttles (:class:`CredentialThrottle`, :class:`TenantThrottle`) count requests per
credential and per workspace in fixed windows (``accounts.services.throttling``).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.throttling import BaseThrottle

from accounts import lockout
from accounts.models import ApiKey, Role, Tenant
from accounts.services import api_keys, throttling
from waba_portal.errors import error_body

INVALID_KEY_CODE = "invalid_api_key"
BEARER_CHALLENGE = 'Bearer realm="api"'
_NOT_RESOLVED = object()


class InvalidApiKey(Exception):
    """A Bearer credential was sent, and it is no usable key."""


def invalid_key_message() -> str:
    return _(
        "The API key is not valid: it is unknown, revoked or expired. Create a new key "
        "under Settings → API keys and send it as “Authorization: Bearer <key>”."
    )


def invalid_key_response() -> JsonResponse:
    """The 401 a request with an unusable key gets, before any view runs."""
    response = JsonResponse(error_body(INVALID_KEY_CODE, invalid_key_message()), status=401)
    response["WWW-Authenticate"] = BEARER_CHALLENGE
    return response


def bearer_token(request: HttpRequest) -> str | None:
    """The credential of an ``Authorization: Bearer ...`` header, else None."""
    scheme, _sep, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def api_key_of_request(request: HttpRequest) -> ApiKey | None:
    """The usable key the request carries; None without a Bearer header.

    Raises :class:`InvalidApiKey` for a Bearer credential that is no usable key. The
    answer is kept on the request, so the middleware and DRF look it up once.
    """
    found = getattr(request, "_api_key_found", _NOT_RESOLVED)
    if found is _NOT_RESOLVED:
        token = bearer_token(request)
        if token is None:
            found = None
        else:
            key = api_keys.api_key_authenticate(secret=token, ip=lockout.client_ip(request))
            found = key if key is not None else InvalidApiKey()
        request._api_key_found = found  # type: ignore[attr-defined]
    if isinstance(found, InvalidApiKey):
        raise found
    return found  # type: ignore[return-value]


class ApiKeyActor:
    """Who a key acts as: an admin of its workspace who is no user.

    Passed to services as ``actor=`` where a member's ``Membership`` goes: it has the
    ``tenant``, the ``role`` (admin) and ``user`` (None: rows record no person, and the
    audit log names the key instead, see ``accounts.acting``).
    """

    role = Role.ADMIN
    user = None
    pk = None
    can_manage = True

    def __init__(self, key: ApiKey) -> None:
        self.api_key = key
        self.tenant: Tenant = key.tenant
        self.tenant_id = key.tenant_id

    def get_role_display(self) -> str:
        return str(Role.ADMIN.label)

    def __str__(self) -> str:
        return f"API key {self.api_key}"


class ApiKeyUser:
    """``request.user`` of a request made with a key: authenticated, no person, no staff."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: ApiKey) -> None:
        self.api_key = key

    def __str__(self) -> str:
        return f"API key {self.api_key}"

    def get_full_name(self) -> str:
        return str(self)

    def get_short_name(self) -> str:
        return self.api_key.name

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perms: Any, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, module: str) -> bool:
        return False

    def is_verified(self) -> bool:  # django-otp: a key is no session that gave a code
        return False


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <key>``; without such a header the next class (the session)."""

    def authenticate(self, request: Any) -> tuple[ApiKeyUser, ApiKey] | None:
        try:
            key = api_key_of_request(request._request)
        except InvalidApiKey:
            raise exceptions.AuthenticationFailed(
                invalid_key_message(), code=INVALID_KEY_CODE
            ) from None
        if key is None:
            return None
        return ApiKeyUser(key), key

    def authenticate_header(self, request: Any) -> str:
        return BEARER_CHALLENGE


def credential_of(request: Any) -> str | None:
    """Who sends an API request: ``key:<id>``, ``user:<id>``, or None (nobody)."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        return f"key:{auth.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and getattr(user, "pk", None) is not None:
        return f"user:{user.pk}"
    return None


class _WindowThrottle(BaseThrottle):
    """At most ``settings.<setting>`` requests per ``API_THROTTLE_WINDOW_SECONDS`` by one key."""

    name = ""
    setting = ""

    def key_of(self, request: Any) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Any, view: Any) -> bool:
        count = int(getattr(settings, self.setting))
        key = self.key_of(request)
        if count <= 0 or key is None:
            return True
        window = timedelta(seconds=settings.API_THROTTLE_WINDOW_SECONDS)
        retry_at = throttling.limit_hit(limit=throttling.Limit(self.name, count, window), key=key)
        if retry_at is None:
            return True
        self.retry_after = max(1, math.ceil((retry_at - timezone.now()).total_seconds()))
        return False

    def wait(self) -> float | None:
        return getattr(self, "retry_after", None)


class CredentialThrottle(_WindowThrottle):
    """Per API key, or per signed-in member: ``API_THROTTLE_PER_CREDENTIAL``."""

    name = "api_credential"
    setting = "API_THROTTLE_PER_CREDENTIAL"

    def key_of(self, request: Any) -> str | None:
        return credential_of(request)


class TenantThrottle(_WindowThrottle):
    """Per workspace, all its keys and members together: ``API_THROTTLE_PER_TENANT``."""

    name = "api_tenant"
    setting = "API_THROTTLE_PER_TENANT"

    def key_of(self, request: Any) -> str | None:
        tenant = getattr(request._request, "tenant", None)
        return f"tenant:{tenant.pk}" if tenant is not None else None
