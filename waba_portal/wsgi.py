import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waba_portal.settings")
django_application = get_wsgi_application()

# Meta's webhook POSTs skip Django's middleware chain: see waba_portal/webhooks/intake.py.
from waba_portal.webhooks.intake import WebhookIntake  # noqa: E402

application = WebhookIntake(django_application)

# What is loaded by now (Django, the apps, their modules) lives as long as the worker:
# kept out of the garbage collector's way. Otherwise every full collection walks all of
# it, 60 ms in the middle of a request, one page in ten (bench/inbox_scale.py).
gc.freeze()
