"""Settings for the test suite: the production settings with test-only switches.

Tests run against real PostgreSQL and Redis (127.0.0.1 by default; override with
DATABASE_URL / REDIS_URL). Only switches that a test run needs differ here. Values are
put into the environment before the production settings read it, so a test that starts
a process (the Celery worker) can still override them for that process.

Under pytest-xdist every worker (``PYTEST_XDIST_WORKER`` = gw0, gw1, ...) gets its own
Redis database, cache key prefix and, without Redis, its own var/ directory;
pytest-django gives it its own test database and the mock Meta server its own port. A
process started by a worker inherits the variable and arrives at the same values.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from tests.parallel import DEFAULT_REDIS_DBS, NoRedisDatabase, with_redis_db, worker_redis_db

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("DATABASE_URL", "postgres://root@127.0.0.1:5432/test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("META_APP_ID", "100000000000001")
os.environ.setdefault("META_APP_SECRET", "test-app-secret")
os.environ.setdefault("META_CONFIG_ID", "200000000000002")
os.environ.setdefault("META_WEBHOOK_VERIFY_TOKEN", "test-verify-token")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("CACHE_KEY_PREFIX", "waba-test")

# No Meta unless a test starts the mock: nothing listens on this port, so a call that
# was not pointed at the mock fails at once instead of reaching graph.facebook.com
# (and tests/network.py refuses any address that is not this machine anyway).
CLOSED_LOCAL_URL = "http://127.0.0.1:9"
os.environ.setdefault("GRAPH_API_BASE_URL", CLOSED_LOCAL_URL)
# Without a dialog URL the page loads Meta's SDK from the internet.
os.environ.setdefault("EMBEDDED_SIGNUP_URL", CLOSED_LOCAL_URL + "/dialog/embedded-signup")

# Waits that exist only to pace production. Those a test's assertions rely on stay as
# they are: WEBHOOK_RETRY_BASE_SECONDS ("a retry is not due before its time"), the
# stale and drain limits, and the timeouts.
for _name, _value in {
    "WEBHOOK_BATCH_WAIT_SECONDS": "0",  # the pause after a batch that was not full
    "WEBHOOK_KICK_LOCAL_SECONDS": "0",  # a process skipping Redis for a moment
    "ONBOARDING_RETRY_BASE_SECONDS": "0",  # eager retries ignore it; worker tests set it
    "SYNC_RETRY_BASE_SECONDS": "0",
    "GRAPH_API_RETRY_BACKOFF_BASE": "0",  # the client's own retries of one call
}.items():
    os.environ.setdefault(_name, _value)

# --- One set of servers' databases per xdist worker ---------------------------------
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TEST_REDIS_DBS = os.environ.get("TEST_REDIS_DBS", DEFAULT_REDIS_DBS)  # see tests/parallel.py

if XDIST_WORKER:
    try:
        _db = worker_redis_db(XDIST_WORKER, TEST_REDIS_DBS)
    except NoRedisDatabase as exc:
        raise ImproperlyConfigured(str(exc)) from None
    for _name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        if os.environ.get(_name, "").startswith(("redis://", "rediss://")):
            os.environ[_name] = with_redis_db(os.environ[_name], _db)
    _prefix = os.environ["CACHE_KEY_PREFIX"]
    if not _prefix.endswith(f"-{XDIST_WORKER}"):
        os.environ["CACHE_KEY_PREFIX"] = f"{_prefix}-{XDIST_WORKER}"
    # Without Redis the broker and cache are files under var/: one directory each.
    _var = os.environ.get("WABA_VAR_DIR")
    if _var and not os.environ.get("REDIS_URL") and os.path.basename(_var) != XDIST_WORKER:
        os.environ["WABA_VAR_DIR"] = os.path.join(_var, XDIST_WORKER)

if os.environ.get("TEST_BLOCK_INTERNET") == "1":  # a process started by a test
    from tests import network

    network.install()

from waba_portal.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The suite's own process keeps mail in memory; a worker process started by the
# tests writes it to files the test can read (see tests/fixtures_celery.py).
EMAIL_BACKEND = os.environ.get(
    "TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
EMAIL_FILE_PATH = os.environ.get("TEST_EMAIL_FILE_PATH", "")
# Unit tests run tasks in-process; tests marked `worker` switch this off and use a
# real worker process (tests/fixtures_celery.py).
CELERY_TASK_ALWAYS_EAGER = os.environ.get("TEST_CELERY_EAGER", "1") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# Live-server threads must not keep connections open past their request, or the test
# database cannot be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
