from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from waba_portal.api_docs import ApiDocsView
from waba_portal.views import favicon, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico on every page, whatever the page links.
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("", include("waba_portal.webhooks.urls")),
    path("t/<slug:tenant_slug>/settings/whatsapp/", include("senders.urls")),
    path("t/<slug:tenant_slug>/templates/", include("templates_app.urls")),
    path("api/v1/t/<slug:tenant_slug>/templates/", include("templates_app.api_urls")),
    path("api/v1/t/<slug:tenant_slug>/", include("senders.api_urls")),
    # -- inbox (I1): the shared inbox's pages and its REST API
    path("t/<slug:tenant_slug>/inbox/", include("inbox.urls")),
    path("api/v1/t/<slug:tenant_slug>/", include("inbox.api_urls")),
    # -- REST API (A1): the tenant, event webhooks, the schema and its docs
    path("api/v1/t/<slug:tenant_slug>/", include("waba_portal.events.api_urls")),
    path("api/v1/t/<slug:tenant_slug>/", include("accounts.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(), name="api-docs"),
    path(
        "t/<slug:tenant_slug>/settings/event-webhooks/",
        include("waba_portal.events.urls"),
    ),
    path("", include("accounts.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
