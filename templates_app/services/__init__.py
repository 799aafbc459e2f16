"""Business actions of message templates, one module per topic; callers import the topic.

- ``lifecycle``: submitting, editing and deleting templates (checked here, carried out
  at Meta by tasks);
- ``sync``: reading a WABA's templates from Meta, periodically and on demand;
- ``events``: the template webhooks (status, category, quality) applied as they arrive;
- ``apply``: what Meta says about one template applied to its row, with its history,
  order-safe (shared by the three above);
- ``notifications``: what owners and admins are told (rejections, pauses, disables,
  recategorisations).
"""
