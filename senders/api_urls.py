from django.urls import path

from senders import api
from waba_portal import guards  # noqa: F401 - registers the <id:...> path converter

urlpatterns = [
    path("wabas/", api.WabaList.as_view(), name="api-waba-list"),
    path("wabas/<id:waba_pk>/", api.WabaDetail.as_view(), name="api-waba-detail"),
    path("phone-numbers/", api.PhoneNumberList.as_view(), name="api-phone-number-list"),
    path(
        "phone-numbers/<id:phone_pk>/primary/",
        api.PhoneNumberPrimary.as_view(),
        name="api-phone-number-primary",
    ),
    path("onboardings/", api.OnboardingCreate.as_view(), name="api-onboarding-create"),
    path(
        "onboardings/<id:onboarding_pk>/",
        api.OnboardingDetail.as_view(),
        name="api-onboarding-detail",
    ),
]
