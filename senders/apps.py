from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SendersConfig(AppConfig):
    name = "senders"
    verbose_name = _("WhatsApp senders")

    def ready(self) -> None:
        from senders import (
            audit_labels,  # noqa: F401 - the audit log's sentences
            events,  # noqa: F401 - registers the webhook handlers
        )
        from senders.selectors import tenants_for_meta_ids
        from waba_portal.webhooks.registry import register_tenant_router

        # Webhooks arrive for every tenant at one URL; senders knows who holds which id.
        register_tenant_router(tenants_for_meta_ids)
