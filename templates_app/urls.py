from django.urls import path

from templates_app import views, views_editor
from waba_portal import guards  # noqa: F401 - registers the <id:...> path converter

app_name = "templates_app"

urlpatterns = [
    path("", views.template_list, name="list"),
    path("sync/", views.templates_sync, name="sync"),
    path("sync/status/", views.templates_sync_status, name="sync_status"),
    path("<id:template_pk>/", views.template_detail, name="detail"),
    path("<id:template_pk>/state/", views.template_state, name="state"),
    path("<id:template_pk>/delete/", views.template_delete, name="delete"),
    path("<id:template_pk>/delete-name/", views.template_delete_name, name="delete_name"),
    # -- editor (T2): templates_app/views_editor.py, names "create" and "edit"
    path("create/", views_editor.template_create, name="create"),
    path("<id:template_pk>/edit/", views_editor.template_edit, name="edit"),
]
