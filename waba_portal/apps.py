from django.apps import AppConfig


class WabaPortalConfig(AppConfig):
    name = "waba_portal"
    verbose_name = "WABA Portal"
