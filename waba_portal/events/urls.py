from django.urls import path

from waba_portal import guards  # noqa: F401 - registers the <id:...> path converter
from waba_portal.events import views

app_name = "events"

urlpatterns = [
    path("", views.subscriptions_page, name="subscriptions"),
    path("<id:subscription_pk>/", views.subscription_detail, name="subscription_detail"),
    path(
        "<id:subscription_pk>/deliveries/",
        views.subscription_deliveries,
        name="subscription_deliveries",
    ),
    path("<id:subscription_pk>/test/", views.subscription_test, name="subscription_test"),
    path(
        "<id:subscription_pk>/rotate-secret/",
        views.subscription_rotate_secret,
        name="subscription_rotate_secret",
    ),
    path("<id:subscription_pk>/delete/", views.subscription_delete, name="subscription_delete"),
    path(
        "<id:subscription_pk>/deliveries/<id:delivery_pk>/redeliver/",
        views.delivery_redeliver,
        name="delivery_redeliver",
    ),
]
