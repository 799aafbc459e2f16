from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TemplatesAppConfig(AppConfig):
    name = "templates_app"
    verbose_name = _("Message templates")

    def ready(self) -> None:
        from templates_app import (
            events,  # noqa: F401 - registers the webhook handlers
            troubleshooting,  # noqa: F401 - joins senders' catalogue
        )
        from templates_app.services import notifications  # noqa: F401 - notification kinds
