from django.urls import path

from senders import api

urlpatterns = [
    path("wabas/", api.WabaList.as_view(), name="api-waba-list"),
    path("wabas/<int:waba_pk>/", api.WabaDetail.as_view(), name="api-waba-detail"),
    path("phone-numbers/", api.PhoneNumberList.as_view(), name="api-phone-number-list"),
    path("onboardings/", api.OnboardingCreate.as_view(), name="api-onboarding-create"),
    path(
        "onboardings/<int:onboarding_pk>/",
        api.OnboardingDetail.as_view(),
        name="api-onboarding-detail",
    ),
]
