from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "waba_portal.events"
    label = "events"
    verbose_name = _("Event webhooks")

    def ready(self) -> None:
        from waba_portal.events.services import notifications  # noqa: F401 - registers kinds
