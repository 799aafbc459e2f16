#!/usr/bin/env python
"""Run the test suite against PostgreSQL and Redis.

Uses DATABASE_URL and REDIS_URL (defaults: 127.0.0.1:5432 database ``test`` as the
current user, and 127.0.0.1:6379 database 15). With CI=true an unreachable server is
a failure; on a developer's machine without them, the suite falls back to SQLite and
the file-system broker, and says so.

With ``-n`` (pytest-xdist; ``make test`` passes ``-n auto``) the workers share the
servers but not their databases: tests/settings.py gives worker gwN Redis database
first + N of ``TEST_REDIS_DBS`` (default 8-13; see tests/parallel.py), so this script
caps the workers at the size of that range, and schedules with ``--dist loadgroup`` so
tests marked ``xdist_group`` stay on one worker. ``-n 0`` runs serially.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.parallel import DEFAULT_REDIS_DBS, redis_dbs

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
    args = [sys.executable, "-m", "pytest", *xdist_options(sys.argv[1:]), *sys.argv[1:]]
    return subprocess.call(args)


def _option(args: list[str], *names: str) -> str | None:
    """The last value given for an option (``-n 2``, ``-n2``, ``--numprocesses=2``)."""
    value = None
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                value = args[i + 1]
            elif arg.startswith(name + "="):
                value = arg[len(name) + 1 :]
            elif len(name) == 2 and arg.startswith(name) and arg != name:  # -n2
                value = arg[2:]
    return value


def xdist_options(args: list[str]) -> list[str]:
    """Options that go with ``-n``: no more workers than Redis databases, grouped tests."""
    workers = _option(args, "-n", "--numprocesses")
    if workers in (None, "0"):
        return []
    extra = []
    if _option(args, "--maxprocesses") is None:
        dbs = redis_dbs(os.environ.get("TEST_REDIS_DBS", DEFAULT_REDIS_DBS))
        extra.append(f"--maxprocesses={len(dbs)}")
    if _option(args, "--dist", "-d") is None:
        extra.append("--dist=loadgroup")
    return extra


if __name__ == "__main__":
    sys.exit(main())
