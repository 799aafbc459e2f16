from django.urls import path

from senders import views
from waba_portal import guards  # noqa: F401 - registers the <id:...> path converter

app_name = "senders"

urlpatterns = [
    path("", views.index, name="index"),
    path("connect/", views.connect, name="connect"),
    path("troubleshooting/", views.troubleshooting, name="troubleshooting"),
    path("onboarding/<id:onboarding_pk>/", views.onboarding, name="onboarding"),
    path("onboarding/<id:onboarding_pk>/retry/", views.onboarding_retry, name="onboarding_retry"),
    path(
        "onboarding/<id:onboarding_pk>/dismiss/",
        views.onboarding_dismiss,
        name="onboarding_dismiss",
    ),
    path("accounts/<id:waba_pk>/", views.waba_detail, name="waba_detail"),
    path("accounts/<id:waba_pk>/disconnect/", views.waba_disconnect, name="waba_disconnect"),
    path("accounts/<id:waba_pk>/sync/", views.waba_sync, name="waba_sync"),
    path("accounts/<id:waba_pk>/sync/status/", views.waba_sync_status, name="waba_sync_status"),
    path("numbers/<id:phone_pk>/primary/", views.phone_set_primary, name="phone_set_primary"),
    path("numbers/<id:phone_pk>/resubmit/", views.phone_resubmit, name="phone_resubmit"),
    path("numbers/primary/", views.primary_switch, name="primary_switch"),
]
