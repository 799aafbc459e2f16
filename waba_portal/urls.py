from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from waba_portal.views import favicon, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico on every page, whatever the page links.
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("", include("waba_portal.webhooks.urls")),
    path("t/<slug:tenant_slug>/settings/whatsapp/", include("senders.urls")),
    path("api/v1/t/<slug:tenant_slug>/", include("senders.api_urls")),
    path("", include("accounts.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
