"""The Graph operations, one mixin per resource area, composed into ``GraphClient``.

Each mixin builds on :class:`~waba_portal.graph.transport.GraphTransport` and says, per
call, whether the operation is idempotent.
"""
