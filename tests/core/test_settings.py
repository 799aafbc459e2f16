"""Settings from the environment: safe defaults, refusals, and a clean deploy check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The suite's own switches (tests/settings.py puts them in this process's
    # environment) would hide the production defaults.
    dropped = {
        "DEBUG",
        "SECRET_KEY",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
    }
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "waba_portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check_without_warnings() -> None:
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "SECRET_KEY": "a-production-secret-" + "k" * 50,
            "ALLOWED_HOSTS": "portal.example.com",
            "DATABASE_URL": "postgres://waba@db.example.com:5432/waba",
            "REDIS_URL": "redis://cache.example.com:6379/0",
            "FIELD_ENCRYPTION_KEYS": "Qk3kGkL4pWm0g6l1c2n9n1pX1f9b8u3j2n5q7r0t6yE=",
            "META_APP_SECRET": "app-secret",
            "META_WEBHOOK_VERIFY_TOKEN": "verify-token",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_says_which_secret_is_missing_and_how_to_set_it() -> None:
    result = run_manage(
        "check",
        "--deploy",
        env={
            "SECRET_KEY": "a-production-secret-" + "k" * 50,
            "ALLOWED_HOSTS": "portal.example.com",
            "FIELD_ENCRYPTION_KEYS": "",
            "META_APP_SECRET": "",
        },
    )
    assert "waba_portal.W001" in result.stderr and "Fernet.generate_key" in result.stderr
    assert "waba_portal.W002" in result.stderr and "App Dashboard" in result.stderr


def test_missing_secret_key_is_refused_when_debug_is_off() -> None:
    result = run_manage("check", env={"ALLOWED_HOSTS": "x", "DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_a_developer_shell_is_a_local_run() -> None:
    """manage.py with neither SECRET_KEY nor DEBUG (a developer's shell) runs locally."""
    result = run_manage("check", env={})
    assert result.returncode == 0, result.stderr


def test_local_defaults_need_no_server(tmp_path: Path) -> None:
    """DEBUG on, nothing set: SQLite and the file-system broker under the var dir."""
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE']);"
        "print(s.CELERY_BROKER_URL);"
        "print(len(s.SECRET_KEY) > 40)"
    )
    env = {
        "DEBUG": "1",
        "WABA_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
    }
    result = run_manage("shell", "-v", "0", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://", "True"]
    # The generated key is kept (owner-only), so a second start uses the same one.
    key_code = "from django.conf import settings as s; print(s.SECRET_KEY)"
    first = run_manage("shell", "-v", "0", "-c", key_code, env=env).stdout.strip()
    second = run_manage("shell", "-v", "0", "-c", key_code, env=env).stdout.strip()
    assert first == second == (tmp_path / "secret_key").read_text().strip()
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.django_db
def test_postgresql_connections_run_without_jit_unless_asked() -> None:
    """The pages' short queries pay for JIT compiling and gain nothing: it is off on the
    app's connections; DB_JIT=1 leaves it to the server."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's JIT")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
    code = "from django.conf import settings as s; print(s.DATABASES['default']['OPTIONS'])"
    env = {"DEBUG": "1", "DATABASE_URL": "postgres://u@127.0.0.1:5432/x"}
    assert "jit=off" in run_manage("shell", "-v", "0", "-c", code, env=env).stdout
    asked = run_manage("shell", "-v", "0", "-c", code, env={**env, "DB_JIT": "1"})
    assert asked.returncode == 0, asked.stderr
    assert "jit" not in asked.stdout
