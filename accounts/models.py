"""Tenants, users, memberships and roles, teams, invitations and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import TenantOwnedModel
from waba_portal.crypto import EncryptedTextField


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: Any) -> User:
        if not email:
            raise ValueError("an e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


def person_name(full_name: str, email: str) -> str:
    """A user as the pages name them: their name, else their e-mail address."""
    return full_name or email


class User(AbstractBaseUser, PermissionsMixin):
    """A person. The e-mail address is the login; one user may belong to many tenants."""

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    # An IANA name ("Europe/Berlin"); blank means settings.TIME_ZONE.
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    is_active = models.BooleanField(default=True)  # type: ignore[misc]
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return person_name(self.full_name, self.email)

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Tenant(models.Model):
    """A business using the portal. Everything it owns carries its id."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    is_active = models.BooleanField(default=True)
    # Set by an owner: every member signs in with a second factor (accounts.services.two_factor).
    two_factor_required = models.BooleanField(_("two-factor sign-in required"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    AGENT = "agent", _("Agent")


MANAGER_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class Membership(TenantOwnedModel):
    """A user's place in a tenant, with the tenant-wide role."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user"),
        ]
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant_id} as {self.role}"

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES


class Team(TenantOwnedModel):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=100)
    members = models.ManyToManyField(
        Membership, through="TeamMember", related_name="teams", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="team_unique_name"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMember(TenantOwnedModel):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="team_members")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="team_members")
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="team_members"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "team", "membership"], name="team_member_unique"
            ),
        ]


# An invitation link carries a token; the table keeps only its SHA-256 (a leaked table
# or backup opens no invitation). The prefix lets people and secret scanners recognise
# a token when they see one; tokens issued before it have none and still work.
INVITATION_TOKEN_PREFIX = "inv_"  # noqa: S105 (a marker, not a secret)


def invitation_token_new() -> str:
    """A fresh invitation token: 256 random bits, URL-safe, with the recognisable prefix."""
    return INVITATION_TOKEN_PREFIX + secrets.token_urlsafe(32)


def invitation_token_hash(token: str) -> str:
    """What the table keeps of a token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def _invitation_token() -> str:  # the default of the old clear-text column (migration 0001)
    return secrets.token_urlsafe(32)


def _invitation_token_hash() -> str:
    # A new row gets the hash of a token nobody is given; sending its e-mail replaces it
    # with the hash of the token in the link (accounts.services.invitations).
    return invitation_token_hash(invitation_token_new())


def _invitation_expiry() -> Any:
    return timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class Invitation(TenantOwnedModel):
    """A single-use invitation to join a tenant with a role."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    token_hash = models.CharField(
        max_length=64, unique=True, default=_invitation_token_hash, editable=False
    )
    status = models.CharField(
        max_length=16, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=models.Q(status="pending"),
                name="invitation_one_pending_per_email",
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.role})"

    @property
    def is_usable(self) -> bool:
        return self.status == InvitationStatus.PENDING and self.expires_at > timezone.now()


class AuditEvent(TenantOwnedModel):
    """One row per state change: who did what to which object, and with which details."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_time")]

    def __str__(self) -> str:
        return f"{self.action} {self.target_repr}"


class NotificationLevel(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")
    DANGER = "danger", _("Problem")


class Notification(TenantOwnedModel):
    """An in-app notification for one member (its e-mail twin is sent by a task)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    level = models.CharField(
        max_length=16, choices=NotificationLevel.choices, default=NotificationLevel.INFO
    )
    # What happened, rendered in the reader's language when read (accounts.services.
    # notifications.NOTIFICATION_KINDS). Rows from before keep only title and body.
    kind = models.CharField(max_length=64, blank=True)
    params = models.JSONField(default=dict, blank=True)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=512, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set as each e-mail leaves, so a retried sending task skips the ones already sent.
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "user", "read_at"], name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.title


# --- API keys and idempotent requests (the REST API, docs/api.md) -------------------------

# The groups of API resources a key is given access to, one scope each.
API_RESOURCE_GROUPS: dict[str, Any] = {
    "senders": _("WhatsApp accounts and numbers"),
    "templates": _("Message templates"),
    "inbox": _("Conversations and messages"),
    "contacts": _("Contacts"),
    "events": _("Event webhooks"),
}

# A key reads "wbp_live_" and 40 random letters and digits; the first 8 of them stay
# readable in the table (the prefix), so people and secret scanners recognise a key,
# and the key is found by them. The table keeps the SHA-256 of the whole key.
API_KEY_PREFIX = "wbp_live_"  # a marker, not a secret
API_KEY_PREFIX_CHARS = 8


class ApiScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


class ApiKey(TenantOwnedModel):
    """A workspace's key to the REST API: acts as an admin of it, within its scopes."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    # "wbp_live_" and the key's first 8 random characters: shown in lists and found by.
    prefix = models.CharField(max_length=32, db_index=True)
    key_hash = models.CharField(max_length=64)
    # Resource group -> "read" or "write" (ApiScope); a group not named: no access.
    scopes = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key_hash"], name="api_key_unique_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired

    def allows(self, group: str, *, write: bool) -> bool:
        """Whether this key may read (or, with ``write``, change) the resource ``group``."""
        scope = (self.scopes or {}).get(group)
        return scope == ApiScope.WRITE or (scope == ApiScope.READ and not write)

    def scope_list(self) -> list[tuple[str, str]]:
        """(group label, scope label) of each group the key may use, in the groups' order."""
        scopes = self.scopes or {}
        return [
            (str(label), str(ApiScope(scopes[group]).label))
            for group, label in API_RESOURCE_GROUPS.items()
            if scopes.get(group) in ApiScope.values
        ]


class IdempotencyState(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class IdempotencyKey(TenantOwnedModel):
    """The first answer to a POST sent with an ``Idempotency-Key`` (accounts/idempotency.py).

    One row per workspace, credential and key; the same key and body answer the stored
    response again until ``expires_at``.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="idempotency_keys")
    # Who sent it: "key:<ApiKey id>" or "user:<User id>".
    credential = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    # SHA-256 of the method, the path and the body (JSON bodies in canonical form).
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    state = models.CharField(
        max_length=8, choices=IdempotencyState.choices, default=IdempotencyState.RUNNING
    )
    # A running request holds the key until then; after it (its process died) it is free.
    locked_until = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The answer's JSON, encrypted: a first answer may show a secret once (a new
    # webhook secret), and its replay shows it again.
    response_body = EncryptedTextField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "credential", "key"], name="idempotency_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key[:40]})"
