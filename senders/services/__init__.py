"""Business actions of senders, one module per topic; callers import the topic module.

- ``graph``: the configured Graph client and the fields read for WABAs and numbers;
- ``assets``: claims on Meta ids (which tenant holds a WABA or number);
- ``rules``: our state from Meta's, and which changes are for the worse (no writes);
- ``snapshots``: Meta's answers applied to our rows, and the history they write;
- ``notifications``: what owners and admins are told about their accounts;
- ``wabas``: disconnecting a WABA, "Sync now";
- ``phone_numbers``: the primary sender, resubmitting and registering numbers;
- ``onboarding``: connecting a WABA through Embedded Signup, step by step;
- ``sync``: the periodic read of every connected WABA;
- ``account_events``: account and number webhooks applied as they arrive.
"""
