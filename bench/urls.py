"""The project's URLs plus the bench's own two, served by the same gunicorn process.

``/bench/webhook-via-django/`` is the webhook view at a path the intake wrapper does not
take, so it runs behind Django's middleware: what the endpoint cost before the wrapper.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from waba_portal.urls import urlpatterns as project_urlpatterns
from waba_portal.webhooks.views import meta_webhook


@csrf_exempt
def hello(request: HttpRequest) -> HttpResponse:
    """The cheapest Django view: what the server and the middleware cost on their own."""
    return HttpResponse("hello", content_type="text/plain")


urlpatterns = [
    path("bench/hello/", hello, name="bench_hello"),
    path("bench/webhook-via-django/", meta_webhook, name="bench_webhook_via_django"),
    *project_urlpatterns,
]
