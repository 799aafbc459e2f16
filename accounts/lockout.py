"""Wrong passwords lock sign-in for a while: django-axes, counting in our cache by the clock.

django-axes does the plumbing: its backend (first in ``AUTHENTICATION_BACKENDS``) refuses
a locked sign-in before the password is checked, its signal handlers see every failed and
successful sign-in, and its middleware answers a locked one with
``accounts.views.sign_in_locked_out``. This module is the handler it calls
(``AXES_HANDLER``), which keeps the counts as streaks in ``accounts.services.throttling``:

- every parameter set of ``AXES_LOCKOUT_PARAMETERS`` ("username" and "ip_address") has its
  own streak; a set with the account locks at ``AXES_FAILURE_LIMIT`` failures, the client
  address alone (shared by an office) at ``SIGN_IN_IP_FAILURE_LIMIT``;
- a lock lasts ``AXES_COOLOFF_TIME`` after the failure that set it; tries while locked are
  refused without extending it (``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT`` off), so
  the time the page gives is the truth;
- an address that has no account is counted like one that has, so a lock tells nothing
  about which addresses exist;
- a successful sign-in clears the account's streak, not the client address's (else one
  good account would reset the counter for guessing at others).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.base import AbstractAxesHandler, AxesBaseHandler
from axes.helpers import (
    get_client_parameters,
    get_client_username,
    get_cool_off,
    get_failure_limit,
    make_cache_key_list,
)
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.http import HttpRequest

from accounts.services import throttling

log = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    """The client's address, the same for every limit (``AXES_CLIENT_IP_CALLABLE``).

    Behind ``TRUSTED_PROXY_COUNT`` reverse proxies it is the address the outermost one saw
    (that many entries from the right of X-Forwarded-For); otherwise the connection's.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return str(request.META.get("REMOTE_ADDR") or "")


def sign_in_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The address typed on the login form, as accounts are looked up (AXES_USERNAME_CALLABLE)."""
    if credentials:
        value = credentials.get("username") or credentials.get("email") or ""
    else:
        value = request.POST.get("username", "")
    return str(value).strip().lower()


def _cool_off(request: HttpRequest | None) -> timedelta:
    cool_off = get_cool_off(request)
    if cool_off is None:
        raise ValueError("AXES_COOLOFF_TIME must be set: locks end by themselves")
    return cool_off


def _streak_keys(
    request: HttpRequest, credentials: dict[str, Any] | None
) -> list[tuple[str, int, bool]]:
    """(cache key, failure limit, counts the account) for each lockout parameter set."""
    username = get_client_username(request, credentials)
    parameter_sets = get_client_parameters(
        username,
        request.axes_ip_address,  # type: ignore[attr-defined]
        request.axes_user_agent,  # type: ignore[attr-defined]
        request,
        credentials,
    )
    account_limit = get_failure_limit(request, credentials)
    keys = []
    for params, key in zip(parameter_sets, make_cache_key_list(parameter_sets), strict=True):
        has_account = "username" in params
        limit = account_limit if has_account else settings.SIGN_IN_IP_FAILURE_LIMIT
        keys.append((key, limit, has_account))
    return keys


def locked_until(request: HttpRequest, credentials: dict[str, Any] | None) -> datetime | None:
    """When the latest lock on this sign-in (account or client address) ends; None if none."""
    cool_off = _cool_off(request)
    ends = []
    for key, limit, _account in _streak_keys(request, credentials):
        streak = throttling.streak_get(key=key, cool_off=cool_off)
        if streak.failures >= limit and streak.last_at is not None:
            ends.append(streak.last_at + cool_off)
    return max(ends) if ends else None


class SignInFailureHandler(AbstractAxesHandler, AxesBaseHandler):
    """django-axes' handler: streaks in the cache, a limit per parameter set."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        cool_off = _cool_off(request)
        return max(
            (
                throttling.streak_get(key=key, cool_off=cool_off).failures
                for key, _limit, _account in _streak_keys(request, credentials)
            ),
            default=0,
        )

    def is_locked(self, request: Any, credentials: dict[str, Any] | None = None) -> bool:
        return locked_until(request, credentials) is not None

    def user_login_failed(
        self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
    ) -> None:
        if request is None:  # authenticate() outside a request (the shell): no client
            return
        username = get_client_username(request, credentials)
        if request.axes_locked_out:  # refused by the backend: the lock stays as it is
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes", request=request, username=username, ip_address=request.axes_ip_address
            )
            return
        if self.is_whitelisted(request, credentials):
            return
        cool_off = _cool_off(request)
        locked = False
        for key, limit, _account in _streak_keys(request, credentials):
            streak = throttling.streak_record(key=key, cool_off=cool_off)
            locked = locked or streak.failures >= limit
        if locked:
            log.warning("sign-in locked after repeated failures")
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes", request=request, username=username, ip_address=request.axes_ip_address
            )

    def user_logged_in(self, sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        if request is None:
            return
        credentials = {"username": user.get_username()}
        for key, _limit, counts_account in _streak_keys(request, credentials):
            if counts_account:
                throttling.streak_clear(key=key)

    def user_logged_out(self, sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        return None

    def reset_attempts(
        self,
        *,
        ip_address: str | None = None,
        username: str | None = None,
        ip_or_username: bool = False,
    ) -> int:
        """``manage.py axes_reset_ip`` / ``axes_reset_username``: lift the locks named."""
        if ip_address is None and username is None:
            raise NotImplementedError("name an address or a username: the cache cannot be listed")
        attempt = AccessAttempt(username=username, ip_address=ip_address)
        parameter_sets = get_client_parameters(
            attempt.username, attempt.ip_address, attempt.user_agent, attempt
        )
        keys = make_cache_key_list(parameter_sets)
        for key in keys:
            throttling.streak_clear(key=key)
        return len(keys)


class SignInBackend(AxesStandaloneBackend):
    """django-axes' backend; ``authenticate()`` without a request (the shell, the test
    client's ``login()``) has no client to count and is left to the next backend."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[no-any-return]
