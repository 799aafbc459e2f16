"""Writes of the inbox, one module per topic (callers name it: ``services.contacts.…``).

- ``inbound``: customers' messages into threads, statuses onto messages (webhooks);
- ``contacts``: contacts and their consent, the workspace's consent keywords;
- ``conversations``: assign, move, tag, note, mark read; the change marks;
- ``media``: fetching a media message's file from Meta into storage;
- ``auto_resolve``: resolving idle conversations, in batches;
- ``integrations``: events for integrators' webhooks (``waba_portal.events``).

The webhook pipeline's two entry points stay importable from here.
"""

from inbox.services.inbound import message_statuses_apply, messages_store_inbound

__all__ = ["message_statuses_apply", "messages_store_inbound"]
