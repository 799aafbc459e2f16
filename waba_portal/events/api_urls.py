from django.urls import path

from waba_portal import guards  # noqa: F401 - registers the <id:...> path converter
from waba_portal.events import api

urlpatterns = [
    path(
        "event-subscriptions/", api.SubscriptionList.as_view(), name="api-event-subscription-list"
    ),
    path(
        "event-subscriptions/<id:subscription_pk>/",
        api.SubscriptionDetail.as_view(),
        name="api-event-subscription-detail",
    ),
    path(
        "event-subscriptions/<id:subscription_pk>/rotate-secret/",
        api.SubscriptionRotateSecret.as_view(),
        name="api-event-subscription-rotate-secret",
    ),
    path(
        "event-subscriptions/<id:subscription_pk>/test/",
        api.SubscriptionTest.as_view(),
        name="api-event-subscription-test",
    ),
    path(
        "event-subscriptions/<id:subscription_pk>/deliveries/",
        api.DeliveryList.as_view(),
        name="api-event-delivery-list",
    ),
    path(
        "event-subscriptions/<id:subscription_pk>/deliveries/<id:delivery_pk>/",
        api.DeliveryDetail.as_view(),
        name="api-event-delivery-detail",
    ),
    path(
        "event-subscriptions/<id:subscription_pk>/deliveries/<id:delivery_pk>/redeliver/",
        api.DeliveryRedeliver.as_view(),
        name="api-event-delivery-redeliver",
    ),
]
