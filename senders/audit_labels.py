"""The audit log's sentences for what members do with numbers and business profiles.

Registered with ``accounts.services.audit`` when the app loads (``SendersConfig``);
%(actor)s and %(target)s are always given, the other names are the row's metadata.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from accounts.services.audit import audit_labels_register

audit_labels_register(
    {
        "phone_number.added": gettext_lazy(
            "%(actor)s added %(number)s to the WhatsApp Business Account"
        ),
        "phone_number.code_requested": gettext_lazy(
            "%(actor)s asked Meta for a verification code for %(target)s (%(method)s)"
        ),
        "phone_number.code_rejected": gettext_lazy(
            "A wrong verification code was entered for %(target)s"
        ),
        "phone_number.verified": gettext_lazy("%(actor)s verified %(target)s"),
        "phone_number.registered": gettext_lazy("%(actor)s registered %(target)s"),
        "phone_number.pin_revealed": gettext_lazy(
            "%(actor)s viewed the two-step verification PIN of %(target)s"
        ),
        "phone_number.pin_changed": gettext_lazy(
            "%(actor)s changed the two-step verification PIN of %(target)s"
        ),
        "phone_number.removed": gettext_lazy("%(actor)s removed %(target)s"),
        "onboarding.dismissed": gettext_lazy("%(actor)s dismissed a failed connection attempt"),
        "business_profile.saved": gettext_lazy(
            "%(actor)s changed the business profile of %(target)s (%(fields)s)"
        ),
        "business_profile.picture_uploaded": gettext_lazy(
            "%(actor)s uploaded a profile picture for %(target)s (%(size)s)"
        ),
        "business_profile.retried": gettext_lazy(
            "%(actor)s sent the business profile of %(target)s to Meta again"
        ),
        "business_profile.refreshed": gettext_lazy(
            "%(actor)s read the business profile of %(target)s from Meta"
        ),
    }
)
