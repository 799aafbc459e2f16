"""Which URLs an event webhook may point at, and a connection that keeps to them.

A target is refused when it is not http(s), carries a user name or password, is plain
http while ``EVENT_WEBHOOK_REQUIRE_HTTPS`` is on (production), or resolves to an
address that is not public (private, loopback, link-local such as a cloud metadata
service, multicast, reserved, shared or unspecified; IPv4 inside IPv6 included) while
``EVENT_WEBHOOK_ALLOW_PRIVATE_URLS`` is off. Checked at save (:func:`url_problem`) and
again at every send, after DNS resolution, by the connection itself
(:func:`guarded_session`): it connects to the address it checked, so a name that
resolves to a public address at save and to a private one later (DNS rebinding) is
refused too. Redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager


class UnsafeTarget(Exception):
    """The target resolves to an address we do not send to. Deliberately no OSError."""


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def allowed_addresses(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, each one allowed; else :class:`UnsafeTarget`."""
    try:
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]  # an address: no lookup
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnsafeTarget(
                _("The host name %(host)s could not be found.") % {"host": host}
            ) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeTarget(_("The host name %(host)s could not be found.") % {"host": host})
    if settings.EVENT_WEBHOOK_ALLOW_PRIVATE_URLS:
        return addresses
    refused = [a for a in addresses if not _address_allowed(a)]
    if refused:
        raise UnsafeTarget(
            _(
                "%(host)s points at a private, loopback or otherwise internal address "
                "(%(address)s); event webhooks go to public addresses only."
            )
            % {"host": host, "address": refused[0]}
        )
    return addresses


def url_problem(url: str, *, resolve: bool = True) -> str | None:
    """Why ``url`` cannot receive event webhooks, in words; None when it can.

    With ``resolve=False`` the host's addresses are left to the connection to check.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Enter a full web address, such as https://example.com/webhooks.")
    if parts.scheme != "https" and settings.EVENT_WEBHOOK_REQUIRE_HTTPS:
        return _("Use an https:// address: events are only sent over an encrypted connection.")
    if parts.username or parts.password:
        return _("Leave the user name and password out of the address.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return _("The port in the address is not a number from 1 to 65535.")
    if not resolve:
        return None
    try:
        allowed_addresses(parts.hostname, port)
    except UnsafeTarget as exc:
        return str(exc)
    return None


class _GuardedConnectionMixin:
    _dns_host: str
    port: int

    def _new_conn(self) -> socket.socket:
        # Resolve and check here, then connect to the checked address; TLS still names
        # and verifies the host of the URL (urllib3 uses self.host for that).
        address = allowed_addresses(self._dns_host, self.port)[0]
        host, self._dns_host = self._dns_host, address
        try:
            return super()._new_conn()  # type: ignore[misc, no-any-return]
        finally:
            self._dns_host = host


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedPoolManager(PoolManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self.poolmanager = _GuardedPoolManager(
            num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )


def guarded_session() -> requests.Session:
    """A session that connects only to allowed addresses, through no proxy."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: we connect ourselves
    adapter = _GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
