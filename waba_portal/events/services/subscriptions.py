"""Subscriptions: create (the secret shown once), change, rotate the secret, delete.

Managers only (owners and admins, or an API key with the events scope, which acts as an
admin); each change audited. The URL is checked when saved (``url_safety``) and again
at every send.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant
from waba_portal.errors import Conflict, Invalid
from waba_portal.events import signing, url_safety
from waba_portal.events.models import EVENT_TYPES, EventSubscription

SUBSCRIPTIONS_MAX = 20
URL_MAX = 2000
DESCRIPTION_MAX = 255


def _manager(actor: Membership) -> None:
    require_manager(actor, message=_("Only owners and admins can manage event webhooks."))


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > URL_MAX:
        raise Invalid(
            _("The address has at most %(max)d characters.") % {"max": URL_MAX}, field="url"
        )
    problem = url_safety.url_problem(url)
    if problem:
        raise Invalid(problem, field="url")
    return url


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise Invalid(_("Choose at least one event to receive."), field="events")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise Invalid(
            _("There is no event %(event)s; the events are: %(events)s.")
            % {"event": unknown[0], "events": ", ".join(EVENT_TYPES)},
            field="events",
        )
    return [e for e in EVENT_TYPES if e in events]  # known order, each once


def _clean_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise Invalid(
            _("The description has at most %(max)d characters.") % {"max": DESCRIPTION_MAX},
            field="description",
        )
    return description


def subscription_create(
    *,
    actor: Membership,
    url: str,
    events: list[str],
    description: str = "",
    enabled: bool = True,
) -> tuple[EventSubscription, str]:
    """A new subscription, and its signing secret: shown this once."""
    _manager(actor)
    url, events, description = (
        _clean_url(url),
        _clean_events(events),
        _clean_description(description),
    )
    secret = signing.secret_new()
    with transaction.atomic():
        if EventSubscription.objects.count() >= SUBSCRIPTIONS_MAX:
            raise Conflict(
                _("A workspace has at most %(max)d event webhooks; delete one first.")
                % {"max": SUBSCRIPTIONS_MAX}
            )
        subscription = EventSubscription.objects.create(
            tenant=require_tenant(),
            url=url,
            events=events,
            description=description,
            enabled=enabled,
            secret=secret,
            created_by=actor.user,
        )
        audit_record(
            actor=actor.user,
            action="event_subscription.created",
            target=subscription,
            metadata={"url": url, "events": ", ".join(events)},
        )
    return subscription, secret


def subscription_update(
    *, actor: Membership, subscription: EventSubscription, **changes: Any
) -> EventSubscription:
    """Change any of ``url``, ``events``, ``description`` and ``enabled``."""
    _manager(actor)
    unknown = set(changes) - {"url", "events", "description", "enabled"}
    if unknown:
        raise Invalid(_("These cannot be changed: %(fields)s.") % {"fields": ", ".join(unknown)})
    clean: dict[str, Any] = {}
    if "url" in changes:
        clean["url"] = _clean_url(changes["url"])
    if "events" in changes:
        clean["events"] = _clean_events(changes["events"])
    if "description" in changes:
        clean["description"] = _clean_description(changes["description"])
    if "enabled" in changes:
        clean["enabled"] = bool(changes["enabled"])
    with transaction.atomic():
        subscription = EventSubscription.objects.select_for_update().get(pk=subscription.pk)
        changed = {k: v for k, v in clean.items() if getattr(subscription, k) != v}
        if not changed:
            return subscription
        for name, value in changed.items():
            setattr(subscription, name, value)
        if changed.get("enabled"):
            subscription.disabled_reason = ""
        subscription.save()
        audit_record(
            actor=actor.user,
            action="event_subscription.changed",
            target=subscription,
            metadata={
                "url": subscription.url,
                "fields": ", ".join(sorted(changed)),
            },
        )
    return subscription


def subscription_rotate_secret(
    *, actor: Membership, subscription: EventSubscription
) -> tuple[EventSubscription, str]:
    """A new signing secret, shown once; the old one signs too for the grace time."""
    _manager(actor)
    secret = signing.secret_new()
    with transaction.atomic():
        subscription = EventSubscription.objects.select_for_update().get(pk=subscription.pk)
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_expires_at = timezone.now() + timedelta(
            hours=settings.EVENT_SECRET_ROTATION_GRACE_HOURS
        )
        subscription.secret = secret
        subscription.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
        audit_record(
            actor=actor.user,
            action="event_subscription.secret_rotated",
            target=subscription,
            metadata={"url": subscription.url},
        )
    return subscription, secret


def subscription_delete(*, actor: Membership, subscription: EventSubscription) -> None:
    """Delete the subscription and its delivery log."""
    _manager(actor)
    with transaction.atomic():
        audit_record(
            actor=actor.user,
            action="event_subscription.deleted",
            target=subscription,
            metadata={"url": subscription.url},
        )
        subscription.delete()


def signing_secrets(subscription: EventSubscription) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the old one in grace."""
    secrets = [str(subscription.secret)]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires is not None and expires > timezone.now():
        secrets.append(str(subscription.previous_secret))
    return secrets
