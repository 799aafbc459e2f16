"""A stateful mock of Meta's WhatsApp Business Platform Graph API (tests and local demo).

Run it with ``python -m waba_portal.mock_meta --port 0 ...``; drive it with
:class:`waba_portal.mock_meta.control_client.MockMeta`. The contract it follows is
``docs/meta/NOTES.md`` (which wins over the OpenAPI spec beside it).

Modules: ``state`` (the world and its rules), ``errors`` (Graph error catalogue), ``graph_app``
(Graph routing), ``control`` (``/_mock/`` API + HTML page), ``webhooks`` (signing, delivery),
``signup`` (Embedded Signup dialog), ``server`` (wiring, in-process server, subprocess helper),
``control_client`` (a Python client for the control API).
"""
