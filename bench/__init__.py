"""Benchmarks of the webhook pipeline (``make bench``); never part of the test suite.

``python -m bench`` runs three stages against a database and a Redis database of its
own, a gunicorn server and a Celery worker it starts and stops itself:

- intake: signed webhook POSTs vs a hello-world view on the same server;
- end to end: events through intake, queue and worker into PostgreSQL vs a
  single-row INSERT loop on the same database;
- replay: every delivery redelivered 3x, shuffled, split and merged, compared with
  the in-order run.

See bench/README.md.
"""
