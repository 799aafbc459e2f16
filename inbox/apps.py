from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = _("Inbox")

    def ready(self) -> None:
        from inbox import (
            audit_labels,  # noqa: F401 - the audit log's sentences
            events,  # noqa: F401 - registers the webhook handlers
        )
