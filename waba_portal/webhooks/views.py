"""The one URL Meta calls for every tenant and WABA, and the staff pages behind it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from waba_portal.graph.webhooks import verify_subscription
from waba_portal.guards import parse_id
from waba_portal.webhooks import intake, selectors, services


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

    answer = intake.answer_post(
        declared_length=intake.declared_length(request.META.get("CONTENT_LENGTH")),
        read=request.read,
        signature=request.headers.get("X-Hub-Signature-256"),
    )
    return JsonResponse(answer.body, status=answer.status)


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
    given = {name: request.POST.get(name, "") for name in ("delivery_id", "from_id", "to_id")}
    # An id that no row can have (not ASCII digits, or beyond 64 bits, which SQLite
    # cannot even bind) refuses the replay instead of being skipped.
    if any(text and parse_id(text) is None for text in given.values()):
        ids = None
    else:
        ids = selectors.replay_selection(**given, status=request.POST.get("status", ""))
    if ids is None:
        messages.error(request, _("Give one delivery, or a range of ids (from and to), to replay."))
    else:
        count = services.deliveries_replay(delivery_ids=ids, actor=request.user)
        messages.success(request, _("%(count)s deliveries queued for replay.") % {"count": count})
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = ""
    return redirect(back or "webhooks:delivery_list")
