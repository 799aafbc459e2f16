from django.urls import path

from templates_app import api
from waba_portal import guards  # noqa: F401 - registers the <id:...> path converter

urlpatterns = [
    path("", api.TemplateList.as_view(), name="api-template-list"),
    path("sync/", api.TemplateSyncView.as_view(), name="api-template-sync"),
    path("<id:template_pk>/", api.TemplateDetail.as_view(), name="api-template-detail"),
    # -- REST API (A2): a preview with parameters filled in
    path("<id:template_pk>/preview/", api.TemplatePreview.as_view(), name="api-template-preview"),
]
