from django.urls import path

from waba_portal import guards  # noqa: F401 - registers the <id:...> path converter
from waba_portal.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("webhooks/meta/", views.meta_webhook, name="meta"),
    path("staff/webhooks/", views.delivery_list, name="delivery_list"),
    path("staff/webhooks/replay/", views.delivery_replay, name="delivery_replay"),
    path("staff/webhooks/<id:delivery_id>/", views.delivery_detail, name="delivery_detail"),
]
