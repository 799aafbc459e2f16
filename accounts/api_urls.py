from django.urls import path

from accounts import api

urlpatterns = [
    path("", api.TenantDetail.as_view(), name="api-tenant-detail"),
]
