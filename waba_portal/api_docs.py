"""The API's interactive docs (/api/docs/): Swagger UI from our own static files.

drf-spectacular-sidecar ships Swagger UI; :class:`ApiDocsView` serves it with its
start-up script as a separate same-origin file (``?script``) and no inline style, so the
page runs under the site's Content-Security-Policy unchanged (``'self'`` only).
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "api_docs/swagger_ui.html"
    url_name = "api-schema"
    title = "WABA Portal API"
