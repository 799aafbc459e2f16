"""Words for Meta's status values, so pages do not show raw enums like ``not_verified``."""

from __future__ import annotations

from django import template
from django.db.models import TextChoices
from django.utils.functional import Promise

from senders.models import AccountReviewStatus, BusinessVerificationStatus, NameStatus, PhoneStatus

register = template.Library()

# The fields pages show through ``meta_label``. Where two of them share a value
# (PENDING, APPROVED, REJECTED, RESTRICTED) their labels are the same words.
LABELLED: tuple[type[TextChoices], ...] = (
    AccountReviewStatus,
    NameStatus,
    BusinessVerificationStatus,
    PhoneStatus,
)
LABELS: dict[str, str | Promise] = {
    choice.value: choice.label for choices in LABELLED for choice in choices
}


@register.filter
def meta_label(value: str | None) -> str:
    """The words for a Meta status value; unknown values are shown as Meta sent them."""
    if not value:
        return "—"
    return str(LABELS.get(value, value))
