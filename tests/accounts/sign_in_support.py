"""Helpers of the sign-in tests: a clock to travel with, fresh people and addresses, codes.

The counters live in Redis, which outlives a test run, so each test uses addresses and
client IPs of its own and a moment of its own (at 09:00 UTC of a day years ahead): no
two runs, and no two tests, share a count.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from base64 import b32decode
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django_otp.oath import TOTP

from accounts.models import User
from tests.factories import PASSWORD, UserFactory


def a_moment() -> datetime:
    """09:00 UTC on a day of its own (a whole number of windows since the epoch)."""
    return datetime(2031, 3, 4, 9, 0, tzinfo=UTC) + timedelta(days=random.randrange(20_000))


def an_ip() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def an_email() -> str:
    return f"p-{uuid.uuid4().hex[:12]}@example.test"


def a_person() -> User:
    return UserFactory(email=an_email())


def client_from(ip: str | None = None, **headers: str) -> Client:
    return Client(REMOTE_ADDR=ip or an_ip(), **headers)


def log_in(client: Client, email: str, password: str = PASSWORD, next_url: str = "") -> object:
    path = f"/login/?next={next_url}" if next_url else "/login/"
    return client.post(path, {"username": email, "password": password})


def totp_code(key: bytes, *, steps_ahead: int = 0) -> str:
    """The app's code now (or ``steps_ahead`` 30-second steps later) for a secret key."""
    totp = TOTP(key)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def secret_on_page(html: str) -> bytes:
    """The key the set-up page shows as text, as an app would read it."""
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html)
    assert match, "the set-up page shows no secret"
    text = match.group(1).replace(" ", "")
    return b32decode(text + "=" * (-len(text) % 8))


def without_tokens(html: str) -> str:
    """A page without its per-request tokens (CSRF, CSP nonce), to compare two answers."""
    html = re.sub(r'(csrfmiddlewaretoken" value=")[^"]+', r"\1", html)
    html = re.sub(r'("X-CSRFToken": ")[^"]+', r"\1", html)
    return re.sub(r'nonce="[^"]+"', 'nonce=""', html)


def forget_counts() -> None:
    """Drop every sign-in and throttle count from the cache (it outlives test runs).

    Pages of other tests sign up, reset passwords and log in from 127.0.0.1 with fixed
    addresses; without this, a few runs within the hour would exhaust those limits.
    """
    if settings.CACHES["default"]["BACKEND"] != "django.core.cache.backends.redis.RedisCache":
        cache.clear()  # the file cache of a run without Redis: only this run's
        return
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    try:
        for pattern in (cache.make_key("throttle:*"), cache.make_key("axes-*")):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
    finally:
        client.close()
