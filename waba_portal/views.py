from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and compose health checks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not healthy"
        return JsonResponse({"status": "unavailable", "database": False}, status=503)
    return JsonResponse({"status": "ok", "database": True})


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every page: send them to the shipped icon."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
