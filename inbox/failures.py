"""Why a message failed, in words: Meta's error codes (NOTES §6) as the inbox shows them.

A failed message keeps Meta's ``error_code`` and title; :func:`failure_reason` is the
sentence a member reads beside the failed tick: what happened, and what to do when there
is something to do. A code not listed here reads as Meta's own title.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

REASONS: dict[int, Any] = {
    # 130429, 131056, 131057 are retried for about an hour (inbox/tasks.py) before a
    # message fails with them: these say so.
    130429: gettext_lazy(
        "Too many messages at once from this number: WhatsApp kept refusing it for an hour, "
        "so it was not sent. Send it again."
    ),
    130472: gettext_lazy("Meta held the message back: the customer takes part in an experiment."),
    130497: gettext_lazy("This business may not message customers in the customer's country."),
    131000: gettext_lazy("Something went wrong at Meta. Try again."),
    131005: gettext_lazy("Access denied: check the number's permissions in Meta."),
    131008: gettext_lazy("A required part of the message was missing."),
    131009: gettext_lazy("A value in the message was not valid."),
    131016: gettext_lazy("WhatsApp was unavailable for a moment. Try again."),
    131021: gettext_lazy("The customer's number is this business number itself."),
    131026: gettext_lazy(
        "Not delivered: the customer may not have WhatsApp, may use an old version, or "
        "has not accepted WhatsApp's latest terms."
    ),
    131030: gettext_lazy("The number is not on the test number's list of allowed recipients."),
    131031: gettext_lazy("The WhatsApp account is locked by Meta."),
    131042: gettext_lazy("A payment problem with the WhatsApp account: check its payment method."),
    131045: gettext_lazy("The number is not registered: register it again."),
    131047: gettext_lazy(
        "More than 24 hours since the customer's last message: only a template can be sent."
    ),
    131048: gettext_lazy("Held back: too many recent messages from this number were reported."),
    131049: gettext_lazy(
        "Meta did not deliver this marketing message, to keep the customer from getting too "
        "many. Try again later."
    ),
    131050: gettext_lazy("The customer stopped marketing messages from this business."),
    131051: gettext_lazy("WhatsApp does not support this kind of message."),
    131052: gettext_lazy("WhatsApp could not download the customer's file."),
    131053: gettext_lazy("The file could not be uploaded to WhatsApp."),
    131056: gettext_lazy(
        "Too many messages to this customer in a short time: WhatsApp kept refusing it for "
        "an hour, so it was not sent. Send it again."
    ),
    131057: gettext_lazy(
        "The WhatsApp account was in maintenance for over an hour, so the message was not "
        "sent. Send it again."
    ),
    132000: gettext_lazy("The template's values do not match its variables."),
    132001: gettext_lazy("The template does not exist in this language, or is not approved."),
    132005: gettext_lazy("The template's text is too long with these values."),
    132007: gettext_lazy("The template's content breaks WhatsApp's policies."),
    132012: gettext_lazy("A template value has the wrong format."),
    132015: gettext_lazy("The template is paused because of low quality."),
    132016: gettext_lazy("The template is disabled."),
    133010: gettext_lazy("The number is not registered: register it again."),
    368: gettext_lazy("The number is blocked for a while for breaking WhatsApp's policies."),
}


def failure_reason(code: int | None, title: str = "") -> str:
    """The readable reason of a failure with Meta's ``code`` (and its ``title``)."""
    if code is not None and code in REASONS:
        return str(REASONS[code])
    if title:
        return _("WhatsApp: %(title)s") % {"title": title}
    return _("WhatsApp did not say why.")


# What a queued message on its way says (``payload["send"]["state"]``, set by
# inbox/services/outbound.py); "retrying" and "unknown" are worded in the message's template.
SEND_STATES: dict[str, Any] = {
    "waiting": gettext_lazy(
        "Waiting for its turn: this number sends only as fast as WhatsApp takes messages."
    ),
    "throttled": gettext_lazy(
        "Held back by WhatsApp (too many messages at once, or maintenance): it is sent "
        "again shortly."
    ),
}


def send_state_words(state: str) -> str:
    """The words for a queued message's ``state``; empty for a state without its own."""
    return str(SEND_STATES.get(state) or "")


# Why a media file could not be fetched (``Media.problem``, inbox/services/media.py).
MEDIA_PROBLEMS: dict[str, Any] = {
    "too_large": gettext_lazy("the file is larger than the inbox keeps."),
    "host_refused": gettext_lazy("WhatsApp named a place to download it from that is not Meta's."),
    "gone": gettext_lazy("WhatsApp no longer has it (files are kept for 30 days)."),
    "no_access": gettext_lazy("the account's access to WhatsApp has ended: reconnect it."),
    "meta_error": gettext_lazy("WhatsApp refused to give it."),
    "unavailable": gettext_lazy("WhatsApp did not answer, even after several tries."),
}


def media_problem(problem: str) -> str:
    return str(MEDIA_PROBLEMS.get(problem) or _("WhatsApp did not say why."))
