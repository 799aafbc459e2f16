import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waba_portal.settings")
django_application = get_wsgi_application()

# Meta's webhook POSTs skip Django's middleware chain: see waba_portal/webhooks/intake.py.
from waba_portal.webhooks.intake import WebhookIntake  # noqa: E402

application = WebhookIntake(django_application)
