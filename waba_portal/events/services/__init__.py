"""Business actions of event webhooks, one module per topic.

- ``subscriptions``: create, change, rotate the secret, delete (audited);
- ``outbox``: ``event_emit`` (the event and its deliveries in the caller's transaction),
  the test event and redelivery;
- ``delivery``: one signed attempt, the retry decision, the sweeper and the clean-up;
- ``notifications``: the notification kind of a subscription switched off.

Beside them: ``waba_portal.events.signing`` (the Standard Webhooks signature) and
``waba_portal.events.url_safety`` (which target URLs are allowed, and the connection
that keeps to them).
"""
