"""The senders part of the REST API (/api/v1/t/<slug>/...), one module per topic."""
