"""API keys of a workspace: create (the key shown once), revoke, and recognise one in use.

A key is ``wbp_live_`` and 40 random letters and digits (some 238 bits). The table keeps
its first 8 (the prefix, to recognise and find it) and the SHA-256 of the whole key,
never the key; ``accounts.selectors.api_key_by_secret`` compares hashes in constant
time. Keys are made and revoked by owners and admins, each change audited; a revoked
key stops working at its next request. A key acts as an admin of its workspace within
its scopes (``accounts.api_auth``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import string
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.models import (
    API_KEY_PREFIX,
    API_KEY_PREFIX_CHARS,
    API_RESOURCE_GROUPS,
    ApiKey,
    ApiScope,
    Membership,
)
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant, tenant_scope
from waba_portal.errors import Conflict, Invalid

API_KEY_RANDOM_CHARS = 40
_ALPHABET = string.ascii_letters + string.digits
NAME_MAX = 100


def api_key_hash(secret: str) -> str:
    """What the table keeps of a key: its SHA-256 in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_secret_new() -> str:
    """A new key: the prefix and 40 random letters and digits."""
    return API_KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(API_KEY_RANDOM_CHARS))


def _clean_scopes(scopes: dict[str, Any]) -> dict[str, str]:
    clean: dict[str, str] = {}
    for group, scope in (scopes or {}).items():
        if group not in API_RESOURCE_GROUPS:
            raise Invalid(
                _("There is no resource group %(group)s.") % {"group": group}, field="scopes"
            )
        if scope in ("", None, "none"):
            continue
        if scope not in ApiScope.values:
            raise Invalid(
                _("A scope is “read” or “write”, not %(scope)s.") % {"scope": scope},
                field="scopes",
            )
        clean[group] = str(scope)
    if not clean:
        raise Invalid(
            _("Give the key read or read/write access to at least one group."), field="scopes"
        )
    return clean


def api_key_create(
    *,
    actor: Membership,
    name: str,
    scopes: dict[str, Any],
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key of the actor's workspace, and the key itself: shown once, never again."""
    require_manager(actor, message=_("Only owners and admins can create API keys."))
    name = (name or "").strip()
    if not name:
        raise Invalid(_("Give the key a name, such as the program that will use it."), field="name")
    if len(name) > NAME_MAX:
        raise Invalid(
            _("A key's name has at most %(max)d characters.") % {"max": NAME_MAX}, field="name"
        )
    clean = _clean_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise Invalid(_("The expiry date must be in the future."), field="expires_at")
    secret = api_key_secret_new()
    with transaction.atomic():
        key = ApiKey.objects.create(
            tenant=require_tenant(),
            name=name,
            prefix=secret[: len(API_KEY_PREFIX) + API_KEY_PREFIX_CHARS],
            key_hash=api_key_hash(secret),
            scopes=clean,
            expires_at=expires_at,
            created_by=actor.user,
        )
        audit_record(
            actor=actor.user,
            action="api_key.created",
            target=key,
            metadata={
                "name": key.name,
                "prefix": key.prefix,
                "scopes": clean,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return key, secret


def api_key_revoke(*, actor: Membership, key: ApiKey) -> ApiKey:
    """Stop ``key`` at once: its next request answers 401."""
    require_manager(actor, message=_("Only owners and admins can revoke API keys."))
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is not None:
            raise Conflict(_("This key is already revoked."))
        key.revoked_at = timezone.now()
        key.revoked_by = actor.user
        key.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            actor=actor.user,
            action="api_key.revoked",
            target=key,
            metadata={"name": key.name, "prefix": key.prefix},
        )
    return key


def _address(ip: str) -> str | None:
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def api_key_record_use(*, key: ApiKey, ip: str) -> None:
    """Note when and from where ``key`` was last used (at most once a minute per address)."""
    now = timezone.now()
    address = _address(ip)
    interval = timedelta(seconds=settings.API_KEY_LAST_USE_INTERVAL_SECONDS)
    if (
        key.last_used_at is not None
        and now - key.last_used_at < interval
        and key.last_used_ip == address
    ):
        return
    with tenant_scope(key.tenant):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=address)
    key.last_used_at, key.last_used_ip = now, address


def api_key_authenticate(*, secret: str, ip: str) -> ApiKey | None:
    """The usable key ``secret`` is (its use recorded), else None: unknown, revoked, expired."""
    key = selectors.api_key_by_secret(secret=secret, secret_hash=api_key_hash(secret))
    if key is None:
        return None
    api_key_record_use(key=key, ip=ip)
    return key
