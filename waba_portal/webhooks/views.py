"""The one URL Meta calls for every tenant and WABA, and the staff pages behind it."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from waba_portal.graph.webhooks import SignatureResult, check_signature, verify_subscription
from waba_portal.webhooks import selectors, services


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        challenge = verify_subscription(
            request.GET.get("hub.mode"),
            request.GET.get("hub.verify_token"),
            request.GET.get("hub.challenge"),
            settings.META_WEBHOOK_VERIFY_TOKEN,
        )
        if challenge is None:
            return HttpResponse("verification failed", status=403, content_type="text/plain")
        return HttpResponse(challenge, content_type="text/plain")

    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _error(413, "too_large", f"bodies above {limit} bytes are refused")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(413, "too_large", f"bodies above {limit} bytes are refused")

    result = check_signature(
        body, request.headers.get("X-Hub-Signature-256"), settings.META_APP_SECRET
    )
    if result is not SignatureResult.VALID:
        services.signature_failure_count(reason=result.value)
        status = 401 if result is SignatureResult.MISSING else 403
        return _error(status, f"signature_{result.value}", "X-Hub-Signature-256 is not valid")
    try:
        payload = json.loads(body)
    except ValueError:
        return _error(400, "malformed_json", "the body is not JSON")
    if not isinstance(payload, dict):
        return _error(400, "malformed_json", "the body is not a JSON object")

    delivery_id, created = services.delivery_store(body=body)
    return JsonResponse({"stored": created, "id": delivery_id})


# --- Staff ---------------------------------------------------------------------------


def _staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff pages answer 404 to everyone else: they are not a tenant's business."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (request.user.is_authenticated and request.user.is_staff):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


@_staff_only
def delivery_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    deliveries = selectors.delivery_list(status=status)
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "webhooks/delivery_list.html",
        {
            "page": page,
            "status": status,
            "counts": selectors.delivery_counts(),
            "change_counts": selectors.change_counts(),
            "signature_failures": selectors.signature_failures(),
        },
    )


@_staff_only
def delivery_detail(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = selectors.delivery_get(delivery_id=delivery_id)
    if delivery is None:
        raise Http404
    return render(
        request,
        "webhooks/delivery_detail.html",
        {
            "delivery": delivery,
            "changes": delivery.changes.select_related("tenant").order_by(
                "entry_index", "change_index"
            ),
            "body": selectors.pretty_body(delivery),
        },
    )


@_staff_only
@require_POST
def delivery_replay(request: HttpRequest) -> HttpResponse:
    ids = selectors.replay_selection(
        delivery_id=request.POST.get("delivery_id", ""),
        from_id=request.POST.get("from_id", ""),
        to_id=request.POST.get("to_id", ""),
        status=request.POST.get("status", ""),
    )
    if ids is None:
        messages.error(request, _("Give one delivery, or a range of ids (from and to), to replay."))
    else:
        count = services.deliveries_replay(delivery_ids=ids, actor=request.user)
        messages.success(request, _("%(count)s deliveries queued for replay.") % {"count": count})
    return redirect(request.POST.get("next") or "webhooks:delivery_list")
