"""Browser security headers beside django-csp's Content-Security-Policy.

- :class:`PermissionsPolicyMiddleware` sends ``Permissions-Policy`` on every answer,
  built from ``settings.PERMISSIONS_POLICY`` (feature → allowed origins; an empty list
  switches the feature off for the page and every frame in it).
- :func:`csp_update_for_request` widens the policy of one view with sources worked out
  for each request, from the settings as they are then: django-csp's ``csp_update``
  takes its sources once, when the module is imported.

The policy itself (``settings.CONTENT_SECURITY_POLICY``) allows our own origin only; a
page that needs another origin names it on its view, never in the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

PERMISSIONS_POLICY_HEADER = "Permissions-Policy"

CspSources = Mapping[str, Sequence[str]]
View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def permissions_policy(policy: Mapping[str, Sequence[str]]) -> str:
    """The header value: ``camera=(), fullscreen=(self "https://a.example")``."""

    def allowlist(origins: Sequence[str]) -> str:
        if "*" in origins:
            return "*"
        items = ["self" if o == "self" else f'"{o}"' for o in origins]
        return "(" + " ".join(items) + ")"

    return ", ".join(f"{feature}={allowlist(origins)}" for feature, origins in policy.items())


class PermissionsPolicyMiddleware:
    """Adds ``Permissions-Policy`` to every answer that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        policy: Mapping[str, Sequence[str]] = getattr(settings, "PERMISSIONS_POLICY", {})
        if policy and PERMISSIONS_POLICY_HEADER not in response:
            response[PERMISSIONS_POLICY_HEADER] = permissions_policy(policy)
        return response


def origin(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL (no user or password); else empty."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def csp_update_for_request(
    sources: Callable[[HttpRequest], CspSources | None],
) -> Callable[[View], View]:
    """Add ``sources(request)`` to the view's Content-Security-Policy (None adds nothing).

    The sources are appended to the directives of ``settings.CONTENT_SECURITY_POLICY``
    by django-csp's middleware, as its ``csp_update`` decorator does.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            update = sources(request)
            if update:
                merged = dict(getattr(response, "_csp_update", None) or {})
                for directive, values in update.items():
                    merged[directive] = [*merged.get(directive, ()), *values]
                response._csp_update = merged  # type: ignore[attr-defined]
            return response

        return cast(View, wrapper)

    return decorator
