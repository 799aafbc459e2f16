from django.urls import path

from senders.api import accounts as api
from senders.api import channels as channel_api
from senders.api import names as names_api
from senders.api import numbers as numbers_api
from senders.api import profile as profile_api
from senders.api import qr_codes as qr_api
from senders.api import registration as registration_api
from waba_portal import guards  # noqa: F401 - registers the <id:...> path converter

urlpatterns = [
    path("wabas/", api.WabaList.as_view(), name="api-waba-list"),
    path("wabas/<id:waba_pk>/", api.WabaDetail.as_view(), name="api-waba-detail"),
    # GET lists the numbers; POST adds one (numbers: add, senders/api/numbers.py).
    path(
        "phone-numbers/",
        numbers_api.PhoneNumberListCreate.as_view(),
        name="api-phone-number-list",
    ),
    path(
        "phone-numbers/<id:phone_pk>/primary/",
        api.PhoneNumberPrimary.as_view(),
        name="api-phone-number-primary",
    ),
    # GET lists the connection attempts; POST starts one.
    path("onboardings/", api.OnboardingList.as_view(), name="api-onboarding-list"),
    path(
        "onboardings/<id:onboarding_pk>/",
        api.OnboardingDetail.as_view(),
        name="api-onboarding-detail",
    ),
    # -- REST API (A2): the pages' actions on accounts and connection attempts
    path("wabas/<id:waba_pk>/sync/", api.WabaSync.as_view(), name="api-waba-sync"),
    path(
        "wabas/<id:waba_pk>/disconnect/", api.WabaDisconnect.as_view(), name="api-waba-disconnect"
    ),
    path("wabas/<id:waba_pk>/reconnect/", api.WabaReconnect.as_view(), name="api-waba-reconnect"),
    path(
        "onboardings/<id:onboarding_pk>/retry/",
        api.OnboardingRetry.as_view(),
        name="api-onboarding-retry",
    ),
    path(
        "onboardings/<id:onboarding_pk>/dismiss/",
        api.OnboardingDismiss.as_view(),
        name="api-onboarding-dismiss",
    ),
    # -- numbers: add, verify, register, PIN, remove (senders/api/numbers.py)
    # -- numbers: verify, register, PIN, remove (H2: senders/api/registration.py)
    path(
        "phone-numbers/<id:phone_pk>/",
        registration_api.PhoneNumberDetail.as_view(),
        name="api-phone-number-detail",
    ),
    path(
        "phone-numbers/<id:phone_pk>/request-code/",
        registration_api.PhoneNumberRequestCode.as_view(),
        name="api-phone-number-request-code",
    ),
    path(
        "phone-numbers/<id:phone_pk>/verify/",
        registration_api.PhoneNumberVerify.as_view(),
        name="api-phone-number-verify",
    ),
    path(
        "phone-numbers/<id:phone_pk>/register/",
        registration_api.PhoneNumberRegister.as_view(),
        name="api-phone-number-register",
    ),
    path(
        "phone-numbers/<id:phone_pk>/pin/",
        registration_api.PhoneNumberPin.as_view(),
        name="api-phone-number-pin",
    ),
    path(
        "phone-numbers/<id:phone_pk>/pin/reveal/",
        registration_api.PhoneNumberPinReveal.as_view(),
        name="api-phone-number-pin-reveal",
    ),
    path(
        "phone-numbers/<id:phone_pk>/resubmit/",
        registration_api.PhoneNumberResubmit.as_view(),
        name="api-phone-number-resubmit",
    ),
    path(
        "phone-numbers/<id:phone_pk>/remove/",
        registration_api.PhoneNumberRemove.as_view(),
        name="api-phone-number-remove",
    ),
    # -- display name and Official Business Account (senders/api/names.py)
    path(
        "phone-numbers/<id:phone_pk>/display-name/",
        names_api.DisplayNameDetail.as_view(),
        name="api-phone-number-display-name",
    ),
    path(
        "phone-numbers/<id:phone_pk>/display-name/check/",
        names_api.DisplayNameCheck.as_view(),
        name="api-phone-number-display-name-check",
    ),
    path(
        "phone-numbers/<id:phone_pk>/display-name/register/",
        names_api.DisplayNameRegister.as_view(),
        name="api-phone-number-display-name-register",
    ),
    path(
        "phone-numbers/<id:phone_pk>/official-business-account/",
        names_api.OfficialBusinessDetail.as_view(),
        name="api-phone-number-oba",
    ),
    path(
        "phone-numbers/<id:phone_pk>/official-business-account/refresh/",
        names_api.OfficialBusinessRefresh.as_view(),
        name="api-phone-number-oba-refresh",
    ),
    # -- QR codes and message links (senders/api/qr_codes.py)
    path(
        "phone-numbers/<id:phone_pk>/qr-codes/",
        qr_api.QrCodeList.as_view(),
        name="api-phone-number-qr-codes",
    ),
    path(
        "phone-numbers/<id:phone_pk>/qr-codes/sync/",
        qr_api.QrCodeSync.as_view(),
        name="api-phone-number-qr-codes-sync",
    ),
    path(
        "phone-numbers/<id:phone_pk>/qr-codes/<id:qr_pk>/",
        qr_api.QrCodeDetail.as_view(),
        name="api-phone-number-qr-code",
    ),
    path(
        "phone-numbers/<id:phone_pk>/qr-codes/<id:qr_pk>/image/",
        qr_api.QrCodeImage.as_view(),
        name="api-phone-number-qr-code-image",
    ),
    # -- business profile and logo (senders/api/profile.py)
    path(
        "phone-numbers/<id:phone_pk>/business-profile/",
        profile_api.PhoneNumberProfile.as_view(),
        name="api-phone-number-profile",
    ),
    path(
        "phone-numbers/<id:phone_pk>/business-profile/picture/",
        profile_api.PhoneNumberProfilePicture.as_view(),
        name="api-phone-number-profile-picture",
    ),
    path(
        "phone-numbers/<id:phone_pk>/business-profile/retry/",
        profile_api.PhoneNumberProfileRetry.as_view(),
        name="api-phone-number-profile-retry",
    ),
    path(
        "phone-numbers/<id:phone_pk>/business-profile/refresh/",
        profile_api.PhoneNumberProfileRefresh.as_view(),
        name="api-phone-number-profile-refresh",
    ),
    # -- channel settings (senders/api/channels.py)
    path(
        "phone-numbers/<id:phone_pk>/channel/",
        channel_api.ChannelDetail.as_view(),
        name="api-phone-number-channel",
    ),
    path(
        "phone-numbers/<id:phone_pk>/channel/members/",
        channel_api.ChannelMemberList.as_view(),
        name="api-phone-number-channel-members",
    ),
    path(
        "phone-numbers/<id:phone_pk>/channel/members/<id:membership_pk>/",
        channel_api.ChannelMemberDetail.as_view(),
        name="api-phone-number-channel-member",
    ),
]
