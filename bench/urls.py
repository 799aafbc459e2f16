"""The project's URLs plus ``/bench/hello/``, served by the same gunicorn process."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from waba_portal.urls import urlpatterns as project_urlpatterns


@csrf_exempt
def hello(request: HttpRequest) -> HttpResponse:
    """The cheapest Django view: what the server and the middleware cost on their own."""
    return HttpResponse("hello", content_type="text/plain")


urlpatterns = [path("bench/hello/", hello, name="bench_hello"), *project_urlpatterns]
