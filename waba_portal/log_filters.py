"""Logging filters: what a log line says about a request the portal answered on purpose.

Django logs every 4xx answer of a view with the exception that caused it, traceback
included. A refusal (403) or a missing page (404) is the portal working as designed,
not an error: it is logged as one line, without the traceback. 5xx answers keep
theirs.
"""

from __future__ import annotations

import logging


class RefusalsWithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True
