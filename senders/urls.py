from django.urls import path

from senders.views import accounts as views
from senders.views import channels as channel_views
from senders.views import names as name_views
from senders.views import number_add as number_add_views
from senders.views import numbers_detail
from senders.views import profile as profile_views
from senders.views import qr_codes as qr_views
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
    # -- numbers: add, verify, register, PIN, remove (senders/views/numbers.py)
    path("accounts/<id:waba_pk>/numbers/add/", number_add_views.number_add, name="number_add"),
    path(
        "accounts/<id:waba_pk>/numbers/add/signup/",
        number_add_views.number_add_signup,
        name="number_add_signup",
    ),
    # -- numbers: verify, register, PIN, remove (H2: senders/views/numbers_detail.py)
    path("numbers/<id:phone_pk>/", numbers_detail.number_detail, name="number_detail"),
    path(
        "numbers/<id:phone_pk>/code/request/",
        numbers_detail.number_code_request,
        name="number_code_request",
    ),
    path(
        "numbers/<id:phone_pk>/code/verify/",
        numbers_detail.number_code_verify,
        name="number_code_verify",
    ),
    path("numbers/<id:phone_pk>/register/", numbers_detail.number_register, name="number_register"),
    path("numbers/<id:phone_pk>/pin/", numbers_detail.number_pin_change, name="number_pin_change"),
    path(
        "numbers/<id:phone_pk>/pin/reveal/",
        numbers_detail.number_pin_reveal,
        name="number_pin_reveal",
    ),
    path(
        "numbers/<id:phone_pk>/resubmit-steps/",
        numbers_detail.number_resubmit,
        name="number_resubmit",
    ),
    path("numbers/<id:phone_pk>/remove/", numbers_detail.number_remove, name="number_remove"),
    # -- display name and Official Business Account (senders/views/names.py)
    path("numbers/<id:phone_pk>/name/", name_views.number_name, name="number_name"),
    path(
        "numbers/<id:phone_pk>/name/register/",
        name_views.number_name_register,
        name="number_name_register",
    ),
    path(
        "numbers/<id:phone_pk>/name/official/",
        name_views.number_oba_request,
        name="number_oba_request",
    ),
    path(
        "numbers/<id:phone_pk>/name/official/refresh/",
        name_views.number_oba_refresh,
        name="number_oba_refresh",
    ),
    # -- QR codes and message links (senders/views/qr_codes.py)
    path("numbers/<id:phone_pk>/qr-codes/", qr_views.number_qr_codes, name="number_qr_codes"),
    path(
        "numbers/<id:phone_pk>/qr-codes/sync/",
        qr_views.number_qr_codes_sync,
        name="number_qr_codes_sync",
    ),
    path(
        "numbers/<id:phone_pk>/qr-codes/<id:qr_pk>/edit/",
        qr_views.qr_code_edit,
        name="qr_code_edit",
    ),
    path(
        "numbers/<id:phone_pk>/qr-codes/<id:qr_pk>/delete/",
        qr_views.qr_code_delete,
        name="qr_code_delete",
    ),
    path(
        "numbers/<id:phone_pk>/qr-codes/<id:qr_pk>/qr.svg", qr_views.qr_code_svg, name="qr_code_svg"
    ),
    path(
        "numbers/<id:phone_pk>/qr-codes/<id:qr_pk>/qr.png", qr_views.qr_code_png, name="qr_code_png"
    ),
    # -- business profile and logo (senders/views/profile.py)
    path("numbers/<id:phone_pk>/profile/", profile_views.number_profile, name="number_profile"),
    path(
        "numbers/<id:phone_pk>/profile/state/",
        profile_views.number_profile_state,
        name="number_profile_state",
    ),
    path(
        "numbers/<id:phone_pk>/profile/picture/",
        profile_views.number_profile_picture,
        name="number_profile_picture",
    ),
    path(
        "numbers/<id:phone_pk>/profile/retry/",
        profile_views.number_profile_retry,
        name="number_profile_retry",
    ),
    path(
        "numbers/<id:phone_pk>/profile/refresh/",
        profile_views.number_profile_refresh,
        name="number_profile_refresh",
    ),
    # -- channel settings (senders/views/channels.py)
    path("numbers/<id:phone_pk>/channel/", channel_views.number_channel, name="number_channel"),
    path(
        "numbers/<id:phone_pk>/channel/members/",
        channel_views.number_channel_members,
        name="number_channel_members",
    ),
    path(
        "numbers/<id:phone_pk>/channel/members/remove/",
        channel_views.number_channel_member_remove,
        name="number_channel_member_remove",
    ),
]
