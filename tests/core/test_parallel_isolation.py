"""Under pytest-xdist each worker has Redis, cache keys and files of its own (tests/settings.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.parallel import NoRedisDatabase, worker_redis_db

ROOT = Path(__file__).resolve().parents[2]

SHOW = (
    "import json, tests.settings as s; print(json.dumps({'redis': s.REDIS_URL, "
    "'broker': s.CELERY_BROKER_URL, 'prefix': s.CACHES['default'].get('KEY_PREFIX'), "
    "'var': str(s.VAR_DIR)}))"
)


def settings_seen_by(**env: str) -> dict[str, str]:
    """tests.settings as a process with this environment (and nothing of ours) sees it."""
    ours = ("PYTEST_XDIST_WORKER", "REDIS_URL", "CACHE_KEY_PREFIX", "WABA_VAR_DIR")
    base = {k: v for k, v in os.environ.items() if k not in ours and k != "CELERY_BROKER_URL"}
    result = subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_each_worker_takes_the_next_redis_database_of_the_range() -> None:
    assert [worker_redis_db(f"gw{i}", "8-13") for i in range(6)] == [8, 9, 10, 11, 12, 13]
    assert worker_redis_db("gw0", "3") == 3


def test_a_worker_beyond_the_range_is_refused_with_what_to_do() -> None:
    with pytest.raises(NoRedisDatabase, match=r"gw6 .*TEST_REDIS_DBS=8-13 holds 6.*-n 6"):
        worker_redis_db("gw6", "8-13")
    for spec in ("", "x", "9-2", "-3"):
        with pytest.raises(NoRedisDatabase, match="is not a range like 8-13"):
            worker_redis_db("gw0", spec)


def test_a_worker_gets_its_own_redis_database_cache_prefix_and_broker() -> None:
    seen = settings_seen_by(
        PYTEST_XDIST_WORKER="gw1",
        REDIS_URL="redis://:pw@127.0.0.1:6379/5",
        CACHE_KEY_PREFIX="h5",
    )
    assert seen["redis"] == seen["broker"] == "redis://:pw@127.0.0.1:6379/9"
    assert seen["prefix"] == "h5-gw1"


def test_a_process_a_worker_starts_arrives_at_the_same_values() -> None:
    # The Celery worker inherits the worker's (already adjusted) environment.
    first = settings_seen_by(PYTEST_XDIST_WORKER="gw2", REDIS_URL="redis://127.0.0.1:6379/15")
    again = settings_seen_by(
        PYTEST_XDIST_WORKER="gw2", REDIS_URL=first["redis"], CACHE_KEY_PREFIX=first["prefix"]
    )
    assert again == first
    assert first["redis"].endswith("/10")


def test_without_redis_each_worker_keeps_its_files_apart(tmp_path: Path) -> None:
    seen = settings_seen_by(PYTEST_XDIST_WORKER="gw3", REDIS_URL="", WABA_VAR_DIR=str(tmp_path))
    assert seen["var"] == str(tmp_path / "gw3")
    assert seen["broker"] == "filesystem://"
    assert (
        settings_seen_by(PYTEST_XDIST_WORKER="gw3", REDIS_URL="", WABA_VAR_DIR=seen["var"]) == seen
    )


def test_a_serial_run_keeps_the_configured_database() -> None:
    seen = settings_seen_by(REDIS_URL="redis://127.0.0.1:6379/5", CACHE_KEY_PREFIX="h5")
    assert (seen["redis"], seen["prefix"]) == ("redis://127.0.0.1:6379/5", "h5")


def test_this_run_is_isolated_as_described(db: None) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        pytest.skip("a serial run: nothing to keep apart")
    db = worker_redis_db(worker, settings.TEST_REDIS_DBS)
    assert settings.REDIS_URL.endswith(f"/{db}")
    assert settings.CACHES["default"]["KEY_PREFIX"].endswith(f"-{worker}")
    assert settings.DATABASES["default"]["NAME"].endswith(f"_{worker}")
