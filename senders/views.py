"""Settings → WhatsApp: connecting, the sender information page, troubleshooting.

Views call services without ``try``: a refusal is answered by
``waba_portal.middleware.ServiceErrorMiddleware`` (403, 404, or its message on the
page the user came from; JSON for the connect endpoint).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.permissions import require_manager, tenant_view
from senders import selectors
from senders import troubleshooting as ts
from senders.forms import SignupResultForm
from senders.models import ConnectionStatus, OnboardingStatus
from senders.services import onboarding as onboarding_services
from senders.services import phone_numbers, wabas
from waba_portal.errors import error_body


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _slug(request: HttpRequest) -> str:
    return request.tenant.slug  # type: ignore[attr-defined,no-any-return]


def _signup_config(request: HttpRequest) -> dict[str, Any]:
    """What the front end needs to open Embedded Signup: Meta's SDK or the mock dialog."""
    return {
        "appId": settings.META_APP_ID,
        "configId": settings.META_CONFIG_ID,
        "graphVersion": settings.GRAPH_API_VERSION,
        "dialogUrl": settings.EMBEDDED_SIGNUP_URL,
        "connectUrl": reverse("senders:connect", kwargs={"tenant_slug": _slug(request)}),
        "messages": {
            "opened": _("Complete the steps in the Meta window…"),
            "saving": _("Connecting…"),
            "failed": _("The connection could not be started. Try again."),
            "popupBlocked": _(
                "Your browser blocked the Meta window. Allow pop-ups for this site and try again."
            ),
            "sdkMissing": _(
                "Meta's sign-up could not load. Check your connection and reload the page."
            ),
            "cancelled": _("The Meta window was closed before the end. Nothing was connected."),
        },
    }


@tenant_view()
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "senders/index.html",
        {
            "wabas": selectors.waba_list(),
            "onboardings": selectors.onboardings_open(),
            "signup_config": _signup_config(request),
        },
    )


@tenant_view()
@require_POST
def connect(request: HttpRequest) -> HttpResponse:
    """The browser posts Embedded Signup's result here (JSON); answers where to go next."""
    # Checked before the body is read, so an agent gets 403 whatever it posts.
    require_manager(_membership(request), message=_("Only owners and admins can connect WhatsApp."))
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        return _json_error(400, "malformed_json", _("The request body is not JSON."))
    if not isinstance(payload, dict):
        return _json_error(400, "malformed_json", _("The request body is not a JSON object."))
    form = SignupResultForm.from_payload(payload)
    if not form.is_valid():
        first = (form.non_field_errors() or [_("The signup result is incomplete; connect again.")])[
            0
        ]
        return _json_error(400, "invalid", str(first), details=form.errors.get_json_data())
    onboarding = onboarding_services.onboarding_start(
        actor=_membership(request), code=form.cleaned_data["code"], session=form.session()
    )
    url = reverse(
        "senders:onboarding", kwargs={"tenant_slug": _slug(request), "onboarding_pk": onboarding.pk}
    )
    return JsonResponse(
        {"onboarding": onboarding.pk, "status": onboarding.status, "url": url}, status=201
    )


def _json_error(status: int, code: str, message: str, details: Any = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


@tenant_view()
def onboarding(request: HttpRequest, onboarding_pk: int) -> HttpResponse:
    item = selectors.onboarding_access(onboarding_pk=onboarding_pk)
    context = {
        "onboarding": item,
        "steps": item.steps.all(),
        "problem": ts.get(item.problem) if item.problem else None,
        "problem_url": ts.get(item.problem).url(_slug(request)) if item.problem else "",
        "running": item.status in (OnboardingStatus.QUEUED, OnboardingStatus.RUNNING),
    }
    template = "senders/_onboarding_progress.html" if request.htmx else "senders/onboarding.html"  # type: ignore[attr-defined]
    response = render(request, template, context)
    if request.htmx and item.status == OnboardingStatus.SUCCEEDED and item.account_id:  # type: ignore[attr-defined]
        response["HX-Redirect"] = reverse(
            "senders:waba_detail",
            kwargs={"tenant_slug": _slug(request), "waba_pk": item.account_id},
        )
    return response


@tenant_view()
@require_POST
def onboarding_retry(request: HttpRequest, onboarding_pk: int) -> HttpResponse:
    item = selectors.onboarding_access(onboarding_pk=onboarding_pk)
    onboarding_services.onboarding_retry(actor=_membership(request), onboarding=item)
    return redirect("senders:onboarding", tenant_slug=_slug(request), onboarding_pk=item.pk)


@tenant_view()
def waba_detail(request: HttpRequest, waba_pk: int) -> HttpResponse:
    waba = selectors.waba_access(waba_pk=waba_pk)
    slug = _slug(request)
    numbers = list(waba.phone_numbers.all())
    return render(
        request,
        "senders/waba_detail.html",
        {
            "waba": waba,
            "numbers": numbers,
            "number_problems": {p.pk: ts.get(p.problem) for p in numbers if p.problem},
            "problem": ts.get(waba.problem) if waba.problem else None,
            "problem_url": ts.get(waba.problem).url(slug) if waba.problem else "",
            "troubleshooting_url": reverse("senders:troubleshooting", kwargs={"tenant_slug": slug}),
            "history": selectors.waba_history(waba=waba),
            "trial": selectors.waba_trial(waba=waba),
            "actions": selectors.waba_required_actions(waba=waba),
            "connected": waba.connection_status != ConnectionStatus.DISCONNECTED,
        },
    )


def _to_waba(request: HttpRequest, waba_pk: int) -> HttpResponse:
    return redirect("senders:waba_detail", tenant_slug=_slug(request), waba_pk=waba_pk)


@tenant_view()
@require_POST
def waba_disconnect(request: HttpRequest, waba_pk: int) -> HttpResponse:
    waba = selectors.waba_access(waba_pk=waba_pk)
    wabas.waba_disconnect(actor=_membership(request), waba=waba)
    messages.success(
        request,
        _("%(name)s is disconnected. Sending stopped until you connect it again.") % {"name": waba},
    )
    return _to_waba(request, waba.pk)


@tenant_view()
@require_POST
def waba_sync(request: HttpRequest, waba_pk: int) -> HttpResponse:
    waba = selectors.waba_access(waba_pk=waba_pk)
    wabas.waba_sync_request(actor=_membership(request), waba=waba)
    messages.success(request, _("Sync started; this page shows the result in a moment."))
    return _to_waba(request, waba.pk)


@tenant_view()
@require_POST
def phone_set_primary(request: HttpRequest, phone_pk: int) -> HttpResponse:
    phone = selectors.phone_access(phone_pk=phone_pk)
    phone_numbers.phone_number_set_primary(actor=_membership(request), phone=phone)
    messages.success(request, _("%(number)s is now the primary sender.") % {"number": phone})
    return _to_waba(request, phone.waba.pk)


@tenant_view()
@require_POST
def phone_resubmit(request: HttpRequest, phone_pk: int) -> HttpResponse:
    phone = selectors.phone_access(phone_pk=phone_pk)
    phone_numbers.phone_number_resubmit(actor=_membership(request), phone=phone)
    messages.success(request, _("%(number)s was resubmitted to Meta.") % {"number": phone})
    return _to_waba(request, phone.waba.pk)


@tenant_view()
def troubleshooting(request: HttpRequest) -> HttpResponse:
    return render(request, "senders/troubleshooting.html", {"problems": ts.CATALOGUE.values()})
