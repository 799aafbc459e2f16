#!/usr/bin/env python
"""Run the test suite against PostgreSQL and Redis.

Uses DATABASE_URL and REDIS_URL (defaults: 127.0.0.1:5432 database ``test`` as the
current user, and 127.0.0.1:6379 database 15). With CI=true an unreachable server is
a failure; on a developer's machine without them, the suite falls back to SQLite and
the file-system broker, and says so.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from urllib.parse import urlparse

DEFAULT_DB = "postgres://{user}@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 3
        ):
            return True
    except OSError:
        return False


def main() -> int:
    ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    user = os.environ.get("PGUSER") or os.environ.get("USER") or "postgres"
    db_url = os.environ.setdefault("DATABASE_URL", DEFAULT_DB.format(user=user))
    redis_url = os.environ.setdefault("REDIS_URL", DEFAULT_REDIS)
    missing = [
        name
        for name, url, port in (("PostgreSQL", db_url, 5432), ("Redis", redis_url, 6379))
        if url.startswith(("postgres", "redis")) and not reachable(url, port)
    ]
    if missing:
        if ci:
            print(
                f"FAIL: {' and '.join(missing)} unreachable ({db_url}, {redis_url}); "
                "CI never falls back to SQLite.",
                file=sys.stderr,
            )
            return 2
        tmp = tempfile.mkdtemp(prefix="waba-test-")
        print(
            f"WARNING: {' and '.join(missing)} unreachable; running on SQLite and the "
            f"file-system broker in {tmp}. CI uses the real servers.",
            file=sys.stderr,
        )
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/test.sqlite3"
        os.environ["REDIS_URL"] = ""
        os.environ["WABA_VAR_DIR"] = tmp
    args = [sys.executable, "-m", "pytest", *sys.argv[1:]]
    return subprocess.call(args)


if __name__ == "__main__":
    sys.exit(main())
