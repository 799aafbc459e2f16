"""The notification kinds of event webhooks, read in each reader's language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from accounts.services.notifications import notification_kind_register

SUBSCRIPTION_DISABLED = "events.subscription_disabled"


def _disabled_title(params: dict[str, Any]) -> str:
    return _("Event webhook switched off: %(url)s") % {"url": params["url"]}


def _disabled_body(params: dict[str, Any]) -> str:
    return _(
        "Deliveries to %(url)s failed for about a day (last answer: %(error)s), so we "
        "stopped sending to it. Fix the endpoint, then switch the subscription on again "
        "and redeliver what it missed."
    ) % {"url": params["url"], "error": params.get("error") or "—"}


notification_kind_register(SUBSCRIPTION_DISABLED, title=_disabled_title, body=_disabled_body)
