"""Settings → WhatsApp: connecting, the sender information page, troubleshooting."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.errors import AccountsError, NotAllowed
from accounts.models import Membership
from accounts.permissions import tenant_view
from senders import onboarding as onboarding_services
from senders import selectors, services
from senders import troubleshooting as ts
from senders.forms import SignupResultForm
from senders.models import ConnectionStatus, OnboardingStatus, PhoneNumber, WhatsAppAccount


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
    if not _membership(request).can_manage:
        return _json_error(
            403, "permission_denied", _("Only owners and admins can connect WhatsApp.")
        )
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
    try:
        onboarding = onboarding_services.onboarding_start(
            actor=_membership(request), code=form.cleaned_data["code"], session=form.session()
        )
    except AccountsError as exc:
        return _json_error(400, exc.code, exc.message)
    url = reverse(
        "senders:onboarding", kwargs={"tenant_slug": _slug(request), "onboarding_id": onboarding.pk}
    )
    return JsonResponse(
        {"onboarding": onboarding.pk, "status": onboarding.status, "url": url}, status=201
    )


def _json_error(status: int, code: str, message: str, details: Any = None) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "details": details or {}}}, status=status
    )


@tenant_view()
def onboarding(request: HttpRequest, onboarding_id: int) -> HttpResponse:
    item = selectors.onboarding_get(onboarding_pk=onboarding_id)
    if item is None:
        raise Http404
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
            kwargs={"tenant_slug": _slug(request), "waba_id": item.account_id},
        )
    return response


@tenant_view()
@require_POST
def onboarding_retry(request: HttpRequest, onboarding_id: int) -> HttpResponse:
    item = selectors.onboarding_get(onboarding_pk=onboarding_id)
    if item is None:
        raise Http404
    try:
        onboarding_services.onboarding_retry(actor=_membership(request), onboarding=item)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except AccountsError as exc:
        messages.error(request, exc.message)
    return redirect("senders:onboarding", tenant_slug=_slug(request), onboarding_id=item.pk)


@tenant_view()
def waba_detail(request: HttpRequest, waba_id: int) -> HttpResponse:
    waba = _waba_or_404(waba_id)
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


def _act(request: HttpRequest, action: Callable[[], str]) -> HttpResponse | None:
    """Run a user's action: its message on success, 403 for a role problem, else the error."""
    try:
        messages.success(request, action())
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except AccountsError as exc:
        messages.error(request, exc.message)
    return None


def _waba_or_404(waba_id: int) -> WhatsAppAccount:
    waba = selectors.waba_get(waba_pk=waba_id)
    if waba is None:
        raise Http404
    return waba


def _phone_or_404(phone_id: int) -> PhoneNumber:
    phone = selectors.phone_get(phone_pk=phone_id)
    if phone is None:
        raise Http404
    return phone


def _back_to(request: HttpRequest, waba_pk: int) -> HttpResponse:
    return redirect("senders:waba_detail", tenant_slug=_slug(request), waba_id=waba_pk)


@tenant_view()
@require_POST
def waba_disconnect(request: HttpRequest, waba_id: int) -> HttpResponse:
    waba = _waba_or_404(waba_id)

    def action() -> str:
        services.waba_disconnect(actor=_membership(request), waba=waba)
        return _("%(name)s is disconnected. Sending stopped until you connect it again.") % {
            "name": waba
        }

    return _act(request, action) or _back_to(request, waba.pk)


@tenant_view()
@require_POST
def waba_sync(request: HttpRequest, waba_id: int) -> HttpResponse:
    waba = _waba_or_404(waba_id)

    def action() -> str:
        services.waba_sync_request(actor=_membership(request), waba=waba)
        return _("Sync started; this page shows the result in a moment.")

    return _act(request, action) or _back_to(request, waba.pk)


@tenant_view()
@require_POST
def phone_set_primary(request: HttpRequest, phone_id: int) -> HttpResponse:
    phone = _phone_or_404(phone_id)

    def action() -> str:
        services.phone_number_set_primary(actor=_membership(request), phone=phone)
        return _("%(number)s is now the primary sender.") % {"number": phone}

    return _act(request, action) or _back_to(request, phone.waba_id)


@tenant_view()
@require_POST
def phone_resubmit(request: HttpRequest, phone_id: int) -> HttpResponse:
    phone = _phone_or_404(phone_id)

    def action() -> str:
        services.phone_number_resubmit(actor=_membership(request), phone=phone)
        return _("%(number)s was resubmitted to Meta.") % {"number": phone}

    return _act(request, action) or _back_to(request, phone.waba_id)


@tenant_view()
def troubleshooting(request: HttpRequest) -> HttpResponse:
    return render(request, "senders/troubleshooting.html", {"problems": ts.CATALOGUE.values()})
