"""Settings → WhatsApp: connecting, the sender information page, troubleshooting.

Views call services without ``try``: a refusal is answered by
``waba_portal.middleware.ServiceErrorMiddleware`` (403, 404, or its message on the
page the user came from; JSON for the connect endpoint).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
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
from waba_portal.guards import parse_id
from waba_portal.middleware import back_url
from waba_portal.security_headers import CspSources, csp_update_for_request, origin


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


# What Meta's JavaScript SDK needs to run Embedded Signup on the connect page: the SDK
# itself, and Facebook's login frames, calls and form posts.
META_SDK_HOSTS = ("https://www.facebook.com", "https://web.facebook.com")
META_SDK_CSP: dict[str, tuple[str, ...]] = {
    "script-src": ("https://connect.facebook.net",),
    "frame-src": META_SDK_HOSTS,
    "connect-src": META_SDK_HOSTS,
    "form-action": META_SDK_HOSTS,
}


def _is_meta(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("facebook.com", "facebook.net") or host.endswith(
        (".facebook.com", ".facebook.net")
    )


def _embedded_signup_csp(request: HttpRequest) -> CspSources | None:
    """The connect page's additions to the Content-Security-Policy, for those who connect.

    Meta's origins, and in Meta's place the configured Embedded Signup and Graph origins
    that are not Meta's (the mock Meta server in tests and the local demo).
    """
    if not _membership(request).can_manage:
        return None  # the page loads no signup script for them
    urls = (settings.EMBEDDED_SIGNUP_URL, settings.GRAPH_API_BASE_URL)
    stand_ins = tuple(sorted({origin(url) for url in urls if url and not _is_meta(url)} - {""}))
    return {
        directive: hosts if directive == "script-src" else hosts + stand_ins
        for directive, hosts in META_SDK_CSP.items()
    }


@tenant_view()
@csp_update_for_request(_embedded_signup_csp)
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "senders/index.html",
        {
            "wabas": selectors.waba_list(),
            "onboardings": selectors.onboardings_open(),
            "failed_onboardings": selectors.onboardings_failed(),
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
        # A form or multipart body was read by the CSRF check already: it is not JSON.
        payload = json.loads(request.body or b"{}")
    except (ValueError, RawPostDataException):
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
        # "Connected to another provider" is the portal's own check, not Meta's words.
        "detail_is_ours": item.problem == ts.ANOTHER_PROVIDER,
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
@require_POST
def onboarding_dismiss(request: HttpRequest, onboarding_pk: int) -> HttpResponse:
    item = selectors.onboarding_access(onboarding_pk=onboarding_pk)
    onboarding_services.onboarding_dismiss(actor=_membership(request), onboarding=item)
    messages.success(request, _("The failed attempt is dismissed."))
    return redirect("senders:index", tenant_slug=_slug(request))


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
            # Resubmit only where registering again can help (not for a quality flag).
            "resubmittable": selectors.phones_resubmittable(phones=numbers),
            "primary_blocked": selectors.primary_sender_blocked(waba=waba),
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


# How long "Sync now" shows its progress in place before it says to reload instead.
SYNC_POLL_SECONDS = 60


def _sync_box(request: HttpRequest, waba: Any, since: float | None) -> HttpResponse:
    """The "Sync now" button and the state of the sync asked for at ``since`` (epoch s)."""
    synced = waba.last_synced_at.timestamp() if waba.last_synced_at else 0.0
    if since is None:
        state = "idle"
    elif synced >= since:
        state = "failed" if waba.sync_error else "done"
    elif time.time() - since > SYNC_POLL_SECONDS:
        state = "slow"
    else:
        state = "running"
    response = render(
        request,
        "senders/_sync_now.html",
        {
            "waba": waba,
            "sync_state": state,
            "sync_polling": state == "running",
            "sync_since": f"{since or 0:.6f}",
        },
    )
    if state in ("done", "failed") and request.htmx:  # type: ignore[attr-defined]
        # The whole page shows what the sync changed: htmx reloads it, with the result
        # as a message at the top, so nobody has to reload by hand.
        if state == "done":
            messages.success(request, _("The account was read from Meta just now."))
        else:
            messages.error(request, _("Last sync failed:") + " " + waba.sync_error[:200])
        response["HX-Refresh"] = "true"
    return response


@tenant_view()
@require_POST
def waba_sync(request: HttpRequest, waba_pk: int) -> HttpResponse:
    waba = selectors.waba_access(waba_pk=waba_pk)
    since = time.time()
    wabas.waba_sync_request(actor=_membership(request), waba=waba)
    if request.htmx:  # type: ignore[attr-defined]
        return _sync_box(request, waba, since)
    messages.success(request, _("Sync started; this page shows the result in a moment."))
    return _to_waba(request, waba.pk)


@tenant_view()
def waba_sync_status(request: HttpRequest, waba_pk: int) -> HttpResponse:
    """What became of the sync "Sync now" asked for (polled by the box it answered)."""
    waba = selectors.waba_access(waba_pk=waba_pk)
    since: float | None
    try:
        since = float(request.GET.get("since", ""))
    except ValueError:
        since = None
    if since is not None and (not math.isfinite(since) or since <= 0):
        since = None  # nothing asked for: the button alone
    return _sync_box(request, waba, since)


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
    messages.success(
        request,
        _("%(number)s is being resubmitted to Meta. A notification will say what it changed.")
        % {"number": phone},
    )
    return _to_waba(request, phone.waba.pk)


@tenant_view()
@require_POST
def primary_switch(request: HttpRequest) -> HttpResponse:
    """The warning of a primary sender that cannot send: send from the number chosen."""
    # Checked before the form is read, so an agent gets 403 whatever it posts.
    require_manager(
        _membership(request), message=_("Only owners and admins can change WhatsApp settings.")
    )
    phone_pk = parse_id(request.POST.get("phone"))
    if phone_pk is None:
        messages.error(request, _("Choose the number that should send messages."))
        return redirect(back_url(request))
    phone = selectors.phone_access(phone_pk=phone_pk)
    phone_numbers.phone_number_set_primary(actor=_membership(request), phone=phone)
    messages.success(request, _("%(number)s is now the primary sender.") % {"number": phone})
    return redirect(back_url(request))


@tenant_view()
def troubleshooting(request: HttpRequest) -> HttpResponse:
    return render(request, "senders/troubleshooting.html", {"problems": ts.CATALOGUE.values()})
