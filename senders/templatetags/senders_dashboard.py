"""The WhatsApp card of the workspace dashboard (``accounts`` must not import ``senders``).

``{% load senders_dashboard %}{% whatsapp_card %}`` renders the workspace's accounts,
their state and the next useful step, or what to have ready before connecting.
"""

from __future__ import annotations

from typing import Any

from django import template

from senders import selectors
from senders import troubleshooting as ts
from senders.models import ConnectionStatus

register = template.Library()


@register.inclusion_tag("senders/_dashboard_whatsapp.html", takes_context=True)
def whatsapp_card(context: template.Context) -> dict[str, Any]:
    wabas = [
        w for w in selectors.waba_list() if w.connection_status != ConnectionStatus.DISCONNECTED
    ]
    accounts = []
    for waba in wabas:
        numbers = list(waba.phone_numbers.all())
        actions = selectors.waba_required_actions(waba=waba)
        accounts.append(
            {
                "waba": waba,
                "primary": next((p for p in numbers if p.is_primary), None),
                "number_count": len(numbers),
                "problem": ts.get(waba.problem) if waba.problem else None,
                "action": actions[0] if actions else None,
            }
        )
    return {
        "tenant": context.get("tenant"),
        "membership": context.get("membership"),
        "accounts": accounts,
        "in_progress": selectors.onboardings_open().exists(),
        "primary_blocked": selectors.primary_sender_blocked() if wabas else None,
    }
