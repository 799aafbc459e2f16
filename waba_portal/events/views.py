"""Pages of event webhooks (Settings → Event webhooks), for owners and admins.

The delivery log is a fragment (``_deliveries.html``) that refreshes itself while a
delivery is open; "Send test event", "Redeliver" and "Rotate secret" answer htmx with
the fragment they change, and a plain form post with a redirect back.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Membership
from accounts.permissions import managers_only
from waba_portal.errors import ServiceError, form_add_error
from waba_portal.events import selectors
from waba_portal.events.forms import SubscriptionForm
from waba_portal.events.models import EVENT_TYPES, EventSubscription
from waba_portal.events.services import outbox, subscriptions
from waba_portal.middleware import refusals_return_to

# The secret just made, shown once on the page the browser is sent to, then forgotten.
NEW_SECRET = "new_event_secret"  # noqa: S105 (a session key, not a secret)
LOG_PAGE = 25


def _actor(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined, no-any-return]


def _slug(request: HttpRequest) -> str:
    return request.tenant.slug  # type: ignore[attr-defined, no-any-return]


def _secret_id() -> str:
    return secrets.token_hex(4)


def _log_context(request: HttpRequest, subscription: EventSubscription) -> dict[str, object]:
    page = Paginator(selectors.delivery_list(subscription=subscription), LOG_PAGE).get_page(
        request.GET.get("page")
    )
    return {
        "subscription": subscription,
        "page": page,
        "open": selectors.deliveries_have_open(subscription=subscription),
    }


@managers_only
@require_http_methods(["GET", "POST"])
def subscriptions_page(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription, secret = subscriptions.subscription_create(
                actor=_actor(request), **form.changes()
            )
        except ServiceError as exc:
            form_add_error(form, exc)
        else:
            request.session[NEW_SECRET] = {"id": subscription.pk, "secret": str(secret)}
            messages.success(
                request, _("Subscribed %(url)s to events.") % {"url": subscription.url}
            )
            return redirect(
                "events:subscription_detail",
                tenant_slug=_slug(request),
                subscription_pk=subscription.pk,
            )
    return render(
        request,
        "events/subscriptions.html",
        {"form": form, "subscriptions": selectors.subscription_list(), "event_types": EVENT_TYPES},
        status=400 if form.errors else 200,
    )


@managers_only
@require_http_methods(["GET", "POST"])
def subscription_detail(request: HttpRequest, subscription_pk: int) -> HttpResponse:
    subscription = selectors.subscription_access(subscription_pk=subscription_pk)
    initial = {
        "url": subscription.url,
        "events": subscription.events,
        "description": subscription.description,
        "enabled": subscription.enabled,
    }
    form = SubscriptionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            subscriptions.subscription_update(
                actor=_actor(request), subscription=subscription, **form.changes()
            )
        except ServiceError as exc:
            form_add_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(
                "events:subscription_detail",
                tenant_slug=_slug(request),
                subscription_pk=subscription.pk,
            )
    shown = request.session.get(NEW_SECRET)
    new_secret = None
    if shown and shown.get("id") == subscription.pk:
        new_secret = request.session.pop(NEW_SECRET)["secret"]
    context = {
        "form": form,
        "new_secret": new_secret,
        "new_secret_id": _secret_id(),
        **_log_context(request, subscription),
    }
    return render(
        request, "events/subscription_detail.html", context, status=400 if form.errors else 200
    )


@managers_only
@require_GET
def subscription_deliveries(request: HttpRequest, subscription_pk: int) -> HttpResponse:
    subscription = selectors.subscription_access(subscription_pk=subscription_pk)
    return render(request, "events/_deliveries.html", _log_context(request, subscription))


def _back_to_log(request: HttpRequest, subscription: EventSubscription) -> HttpResponse:
    if getattr(request, "htmx", False):
        return render(request, "events/_deliveries.html", _log_context(request, subscription))
    return redirect(
        "events:subscription_detail", tenant_slug=_slug(request), subscription_pk=subscription.pk
    )


@refusals_return_to("events:subscription_detail", "subscription_pk")
@managers_only
@require_POST
def subscription_test(request: HttpRequest, subscription_pk: int) -> HttpResponse:
    subscription = selectors.subscription_access(subscription_pk=subscription_pk)
    outbox.subscription_send_test(actor=_actor(request), subscription=subscription)
    if not getattr(request, "htmx", False):
        messages.success(request, _("Test event sent; its delivery is in the log below."))
    return _back_to_log(request, subscription)


@refusals_return_to("events:subscription_detail", "subscription_pk")
@managers_only
@require_POST
def delivery_redeliver(
    request: HttpRequest, subscription_pk: int, delivery_pk: int
) -> HttpResponse:
    subscription = selectors.subscription_access(subscription_pk=subscription_pk)
    delivery = selectors.delivery_access(subscription=subscription, delivery_pk=delivery_pk)
    outbox.delivery_redeliver(actor=_actor(request), delivery=delivery)
    if not getattr(request, "htmx", False):
        messages.success(request, _("Sent again; the new delivery is at the top of the log."))
    return _back_to_log(request, subscription)


@refusals_return_to("events:subscription_detail", "subscription_pk")
@managers_only
@require_POST
def subscription_rotate_secret(request: HttpRequest, subscription_pk: int) -> HttpResponse:
    subscription = selectors.subscription_access(subscription_pk=subscription_pk)
    subscription, secret = subscriptions.subscription_rotate_secret(
        actor=_actor(request), subscription=subscription
    )
    if getattr(request, "htmx", False):
        return render(
            request,
            "events/_secret.html",
            {
                "subscription": subscription,
                "new_secret": str(secret),
                "new_secret_id": _secret_id(),
            },
        )
    request.session[NEW_SECRET] = {"id": subscription.pk, "secret": str(secret)}
    return redirect(
        "events:subscription_detail", tenant_slug=_slug(request), subscription_pk=subscription.pk
    )


@refusals_return_to("events:subscription_detail", "subscription_pk")
@managers_only
@require_POST
def subscription_delete(request: HttpRequest, subscription_pk: int) -> HttpResponse:
    subscription = selectors.subscription_access(subscription_pk=subscription_pk)
    url = subscription.url
    subscriptions.subscription_delete(actor=_actor(request), subscription=subscription)
    messages.success(request, _("Deleted the event webhook %(url)s.") % {"url": url})
    return redirect("events:subscriptions", tenant_slug=_slug(request))
