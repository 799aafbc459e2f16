from django.urls import path

from inbox import api
from waba_portal import guards  # noqa: F401 - registers the <id:...> path converter

urlpatterns = [
    path("conversations/", api.ConversationList.as_view(), name="api-conversation-list"),
    path(
        "conversations/<id:conversation_pk>/",
        api.ConversationDetail.as_view(),
        name="api-conversation-detail",
    ),
    path(
        "conversations/<id:conversation_pk>/assign/",
        api.ConversationAssign.as_view(),
        name="api-conversation-assign",
    ),
    path(
        "conversations/<id:conversation_pk>/move/",
        api.ConversationMove.as_view(),
        name="api-conversation-move",
    ),
    path(
        "conversations/<id:conversation_pk>/tags/",
        api.ConversationTags.as_view(),
        name="api-conversation-tags",
    ),
    path(
        "conversations/<id:conversation_pk>/notes/",
        api.ConversationNotes.as_view(),
        name="api-conversation-notes",
    ),
    path(
        "conversations/<id:conversation_pk>/messages/",
        api.ConversationMessages.as_view(),
        name="api-conversation-messages",
    ),
    path(
        "conversations/<id:conversation_pk>/media/",
        api.ConversationMedia.as_view(),
        name="api-conversation-media",
    ),
    path("messages/", api.MessageToPhone.as_view(), name="api-message-to-phone"),
    path("messages/media/", api.MediaToPhone.as_view(), name="api-media-to-phone"),
    path("contacts/", api.ContactList.as_view(), name="api-contact-list"),
    path("contacts/<id:contact_pk>/", api.ContactDetail.as_view(), name="api-contact-detail"),
    path(
        "contacts/<id:contact_pk>/consent/",
        api.ContactConsent.as_view(),
        name="api-contact-consent",
    ),
]
