"""Pages answer a service's refusal in one place.

A view calls its service without ``try``; when the service raises a
:class:`~waba_portal.errors.ServiceError`, this middleware answers:

- ``NotAllowed``: the portal's 403 page (the same as a role check on the view);
- ``NotFound``: the 404 page;
- any other refusal: its message as a flash message and a redirect back, so the user
  sees what to fix where they were: to the page the view names with
  ``@refusals_return_to(...)``, else the Referer when it is one of ours, else the same
  URL for a GET and the tenant's dashboard for anything else. Requests that ask for JSON get
  ``error_body()`` with the error's status instead, and htmx requests are told where
  to go with ``HX-Redirect``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from waba_portal.errors import NotAllowed, NotFound, ServiceError


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.content_type == "application/json" or (
        "application/json" in accept and "text/html" not in accept
    )


RefusalTarget = Callable[[HttpRequest, dict[str, Any]], str]


def refusals_return_to(viewname: str, *kwarg_names: str) -> Callable[[Any], Any]:
    """A refused action of this view sends the user to ``viewname``.

    The URL is reversed with the request's tenant and the view's own URL kwargs named in
    ``kwarg_names`` (``@refusals_return_to("senders:waba_detail", "waba_pk")``).
    """

    def target(request: HttpRequest, view_kwargs: dict[str, Any]) -> str:
        kwargs = {name: view_kwargs[name] for name in kwarg_names}
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            kwargs["tenant_slug"] = tenant.slug
        return reverse(viewname, kwargs=kwargs)

    def decorator(view: Any) -> Any:
        view.refusal_target = target
        return view

    return decorator


def back_url(request: HttpRequest) -> str:
    """Where to send the user after a refused action (see the module's docstring)."""
    declared: tuple[RefusalTarget, dict[str, Any]] | None = getattr(
        request, "_refusal_target", None
    )
    if declared is not None:
        return declared[0](request, declared[1])
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    tenant = getattr(request, "tenant", None)
    if tenant is not None:
        return reverse("accounts:dashboard", kwargs={"tenant_slug": tenant.slug})
    return "/"


class ServiceErrorMiddleware:
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
    ) -> None:
        target = getattr(view_func, "refusal_target", None)
        if target is not None:
            request._refusal_target = (target, dict(view_kwargs))  # type: ignore[attr-defined]

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, ServiceError) or request.path.startswith("/api/"):
            return None  # the API's exception handler answers its own errors
        if wants_json(request):
            return JsonResponse(exc.body(), status=exc.status)
        if isinstance(exc, NotAllowed):
            raise PermissionDenied(exc.message) from exc
        if isinstance(exc, NotFound):
            raise Http404(exc.message) from exc
        messages.error(request, exc.message)
        target = back_url(request)
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)
