from django.urls import path

from inbox import views, views_composer, views_start
from waba_portal import guards  # noqa: F401 - registers the <id:...> path converter

app_name = "inbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("poll/", views.list_poll, name="list_poll"),
    path("new/", views_start.conversation_new, name="conversation_new"),
    path("c/<id:conversation_pk>/", views.conversation, name="conversation"),
    path("c/<id:conversation_pk>/poll/", views.thread_poll, name="thread_poll"),
    path("c/<id:conversation_pk>/assign/", views.assign, name="assign"),
    path("c/<id:conversation_pk>/move/", views.move, name="move"),
    path("c/<id:conversation_pk>/tags/", views.tag_add, name="tag_add"),
    path("c/<id:conversation_pk>/tags/remove/", views.tag_remove, name="tag_remove"),
    path("c/<id:conversation_pk>/notes/", views.note_add, name="note_add"),
    # -- replies (I2)
    path("c/<id:conversation_pk>/reply/", views_composer.reply, name="reply"),
    path("c/<id:conversation_pk>/template/", views_composer.template_send, name="template_send"),
    path("c/<id:conversation_pk>/media/", views_composer.media_send, name="media_send"),
    path(
        "c/<id:conversation_pk>/template/preview/",
        views_composer.template_preview,
        name="template_preview",
    ),
    path("media/<id:media_pk>/", views.media_file, name="media_file"),
    path("contacts/", views.contact_list, name="contacts"),
    path("contacts/<id:contact_pk>/", views.contact_detail, name="contact"),
    path("contacts/<id:contact_pk>/consent/", views.contact_consent, name="contact_consent"),
    path("contacts/<id:contact_pk>/delete/", views.contact_delete, name="contact_delete"),
    path("settings/", views.inbox_settings, name="settings"),
]
