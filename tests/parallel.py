"""Which Redis database a pytest-xdist worker uses (read by tests/settings.py and
scripts/run_tests.py; imports nothing of Django, so the runner can use it too).

``TEST_REDIS_DBS`` is a range "first-last" of Redis databases the workers may use;
worker gwN takes first + N. The default leaves 0-7 to people's own runs, 14 to the
benchmark and 15 to a serial run.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

DEFAULT_REDIS_DBS = "8-13"


class NoRedisDatabase(ValueError):
    pass


def redis_dbs(spec: str) -> range:
    first, _, last = spec.partition("-")
    try:
        dbs = range(int(first), int(last or first) + 1)
    except ValueError:
        dbs = range(0)
    if not dbs or dbs.start < 0:
        raise NoRedisDatabase(f"TEST_REDIS_DBS={spec!r} is not a range like 8-13")
    return dbs


def worker_redis_db(worker: str, spec: str) -> int:
    """The database of xdist worker ``worker`` ("gw3"), refused beyond the range."""
    dbs = redis_dbs(spec)
    index = int(worker.removeprefix("gw"))
    if index >= len(dbs):
        raise NoRedisDatabase(
            f"xdist worker {worker} has no Redis database of its own: TEST_REDIS_DBS={spec} "
            f"holds {len(dbs)}. Run fewer workers (-n {len(dbs)}, or --maxprocesses) or "
            "widen TEST_REDIS_DBS."
        )
    return dbs[index]


def with_redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))
