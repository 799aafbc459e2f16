"""Webhook intake and processing, one module per step.

- :mod:`.storage`, in the request: a verified body is stored once (deduplicated by its
  SHA-256), a refused one only counted. Nothing else happens before the 200.
- :mod:`.kick`, after that commit: one draining task is queued unless one is queued or
  running already (a flag in Redis); the one place that queues processing.
- :mod:`.dispatch`, in a worker: a batch of deliveries is claimed, split into changes,
  routed to tenants and handed to the handlers registered in
  ``waba_portal.webhooks.registry``; each change records its outcome, and failures
  are retried with backoff, then become dead letters.
- :mod:`.drain`: the draining task's loop (it holds the kick flag while it runs), and
  the guard that turns a delivery which breaks its whole batch into a dead letter and
  replaces a lost database link once.
- :mod:`.replay` (staff) and :mod:`.sweep` (beat): deliveries queued again; the sweeper
  kicks a drain for deliveries nobody has taken a few seconds after they were due.

Callers import from this package; the modules are its layout, not its interface.
"""

from waba_portal.webhooks.services.dispatch import (
    ProcessReport,
    database_link_lost,
    deliveries_process,
)
from waba_portal.webhooks.services.drain import deliveries_drain, deliveries_process_guarded
from waba_portal.webhooks.services.kick import KICK_KEY, Outage, kick_flag, processing_kick
from waba_portal.webhooks.services.replay import deliveries_replay
from waba_portal.webhooks.services.storage import (
    SIGNATURE_FAILURES_KEY,
    delivery_store,
    signature_failure_count,
)
from waba_portal.webhooks.services.sweep import deliveries_sweep

__all__ = [
    "KICK_KEY",
    "SIGNATURE_FAILURES_KEY",
    "Outage",
    "ProcessReport",
    "database_link_lost",
    "deliveries_drain",
    "deliveries_process",
    "deliveries_process_guarded",
    "deliveries_replay",
    "deliveries_sweep",
    "delivery_store",
    "kick_flag",
    "processing_kick",
    "signature_failure_count",
]
