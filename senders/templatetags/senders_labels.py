"""Words for Meta's status values, so pages do not show raw enums like ``not_verified``."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

LABELS = {
    # account_review_status, name_status
    "APPROVED": _("Approved"),
    "PENDING": _("Pending"),
    "PENDING_REVIEW": _("In review"),
    "REJECTED": _("Rejected"),
    "DECLINED": _("Rejected"),
    "RESTRICTED": _("Restricted"),
    "DEFERRED": _("Deferred"),
    "AVAILABLE_WITHOUT_REVIEW": _("Available without review"),
    "EXPIRED": _("Expired"),
    "NONE": _("None"),
    # business_verification_status (lower case)
    "verified": _("Verified"),
    "not_verified": _("Not verified"),
    "unverified": _("Not verified"),
    "pending": _("Pending"),
    "pending_need_more_info": _("More information needed"),
    "pending_submission": _("Not submitted yet"),
    "rejected": _("Rejected"),
    "revoked": _("Revoked"),
    "failed": _("Failed"),
    "expired": _("Expired"),
    "ineligible": _("Not eligible"),
    # phone number status
    "CONNECTED": _("Connected"),
    "DISCONNECTED": _("Disconnected"),
    "FLAGGED": _("Flagged"),
    "RATE_LIMITED": _("Rate limited"),
    "BANNED": _("Banned"),
    "DELETED": _("Deleted"),
    "MIGRATED": _("Migrated"),
    "UNVERIFIED": _("Not verified"),
    "UNKNOWN": _("Unknown"),
}


@register.filter
def meta_label(value: str | None) -> str:
    """The words for a Meta status value; unknown values are shown as Meta sent them."""
    if not value:
        return "—"
    return str(LABELS.get(value, value))
