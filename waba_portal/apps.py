from django.apps import AppConfig


class WabaPortalConfig(AppConfig):
    name = "waba_portal"
    verbose_name = "WABA Portal"

    def ready(self) -> None:
        from waba_portal import checks  # noqa: F401 - registers the deployment checks
