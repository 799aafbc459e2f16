from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SendersConfig(AppConfig):
    name = "senders"
    verbose_name = _("WhatsApp senders")

    def ready(self) -> None:
        from senders import events  # noqa: F401 - registers the webhook handlers
