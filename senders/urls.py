from django.urls import path

from senders import views

app_name = "senders"

urlpatterns = [
    path("", views.index, name="index"),
    path("connect/", views.connect, name="connect"),
    path("troubleshooting/", views.troubleshooting, name="troubleshooting"),
    path("onboarding/<int:onboarding_id>/", views.onboarding, name="onboarding"),
    path("onboarding/<int:onboarding_id>/retry/", views.onboarding_retry, name="onboarding_retry"),
    path("accounts/<int:waba_id>/", views.waba_detail, name="waba_detail"),
    path("accounts/<int:waba_id>/disconnect/", views.waba_disconnect, name="waba_disconnect"),
    path("accounts/<int:waba_id>/sync/", views.waba_sync, name="waba_sync"),
    path("numbers/<int:phone_id>/primary/", views.phone_set_primary, name="phone_set_primary"),
    path("numbers/<int:phone_id>/resubmit/", views.phone_resubmit, name="phone_resubmit"),
]
