"""WhatsApp senders: the WABAs and phone numbers a tenant connected, and their history.

Meta's ids are global; :class:`MetaAsset` records which tenant holds each one right
now. :class:`WhatsAppAccount` and :class:`PhoneNumber` are the tenant's own records;
they outlive a disconnect (history is kept) and are updated in place when the same
WABA is connected again.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant, User
from accounts.tenancy import TenantOwnedModel
from waba_portal.crypto import EncryptedTextField


class MetaAssetKind(models.TextChoices):
    WABA = "waba", _("WhatsApp Business Account")
    PHONE_NUMBER = "phone_number", _("Phone number")


class MetaAsset(TenantOwnedModel):
    """A global Meta id (a WABA id, a phone number id) claimed by one tenant.

    Each belongs to at most one tenant at a time, which the unique constraint
    enforces. Webhooks are routed to a tenant through this table, and a claim that
    fails is how "connected to another provider" is detected. Disconnecting releases
    the claim; the tenant's own records of the account stay as history.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="meta_assets")
    kind = models.CharField(max_length=16, choices=MetaAssetKind.choices)
    meta_id = models.CharField(max_length=32)
    waba_id = models.CharField(
        max_length=32, blank=True, help_text="For a phone number: the WABA it belongs to."
    )
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "meta_id"], name="meta_asset_one_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.meta_id}"


class ConnectionStatus(models.TextChoices):
    """Our view of a WABA's or a number's connection, shown to the user."""

    REGISTERING = "registering", _("Registering")
    CONNECTED = "connected", _("Connected")
    PENDING = "pending", _("Pending")
    ACTION_REQUIRED = "action_required", _("Action required")
    RESTRICTED = "restricted", _("Restricted")
    DISABLED = "disabled", _("Disabled by Meta")
    DISCONNECTED = "disconnected", _("Disconnected")


class MessagingLimit(models.TextChoices):
    """Unique users reachable outside a service window per rolling 24 hours."""

    TIER_50 = "TIER_50", "50"
    TIER_250 = "TIER_250", "250"
    TIER_1K = "TIER_1K", "1,000"
    TIER_2K = "TIER_2K", "2,000"
    TIER_10K = "TIER_10K", "10,000"
    TIER_100K = "TIER_100K", "100,000"
    TIER_UNLIMITED = "TIER_UNLIMITED", _("Unlimited")

    @classmethod
    def rank(cls, value: str) -> int:
        order = [c.value for c in cls]
        return order.index(value) if value in order else -1


# --- Meta's values ------------------------------------------------------------------
# What Meta reports is stored as Meta spells it; these name the values the code
# compares, and their labels are what pages show (``senders_labels.meta_label``).
# The fields take no ``choices``: Meta adds values, and an unknown one is kept and
# shown as Meta sent it rather than refused.


class WabaStatus(models.TextChoices):
    """``status`` of a WABA at Meta (:attr:`WhatsAppAccount.meta_status`)."""

    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    BANNED = "BANNED"


class AccountReviewStatus(models.TextChoices):
    """``account_review_status`` of a WABA, and the decisions of ``account_review_update``."""

    PENDING = "PENDING", _("Pending")
    APPROVED = "APPROVED", _("Approved")
    REJECTED = "REJECTED", _("Rejected")
    RESTRICTED = "RESTRICTED", _("Restricted")
    DEFERRED = "DEFERRED", _("Deferred")


class BusinessVerificationStatus(models.TextChoices):
    """``business_verification_status``, kept in lower case whatever case Meta sends."""

    VERIFIED = "verified", _("Verified")
    NOT_VERIFIED = "not_verified", _("Not verified")
    UNVERIFIED = "unverified", _("Not verified")
    PENDING = "pending", _("Pending")
    PENDING_NEED_MORE_INFO = "pending_need_more_info", _("More information needed")
    PENDING_SUBMISSION = "pending_submission", _("Not submitted yet")
    REJECTED = "rejected", _("Rejected")
    REVOKED = "revoked", _("Revoked")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")
    INELIGIBLE = "ineligible", _("Not eligible")


class BanState(models.TextChoices):
    """``waba_ban_state`` of an ``account_update`` DISABLED_UPDATE event."""

    DISABLE = "DISABLE"
    SCHEDULE_FOR_DISABLE = "SCHEDULE_FOR_DISABLE"
    REINSTATE = "REINSTATE"


class CanSendMessage(models.TextChoices):
    """``health_status.can_send_message`` of a WABA."""

    AVAILABLE = "AVAILABLE"
    LIMITED = "LIMITED"
    BLOCKED = "BLOCKED"


class PhoneStatus(models.TextChoices):
    """``status`` of a phone number at Meta (:attr:`PhoneNumber.meta_status`)."""

    CONNECTED = "CONNECTED", _("Connected")
    PENDING = "PENDING", _("Pending")
    FLAGGED = "FLAGGED", _("Flagged")
    RESTRICTED = "RESTRICTED", _("Restricted")
    RATE_LIMITED = "RATE_LIMITED", _("Rate limited")
    BANNED = "BANNED", _("Banned")
    DISCONNECTED = "DISCONNECTED", _("Disconnected")
    DELETED = "DELETED", _("Deleted")
    MIGRATED = "MIGRATED", _("Migrated")
    UNVERIFIED = "UNVERIFIED", _("Not verified")
    UNKNOWN = "UNKNOWN", _("Unknown")


class NameStatus(models.TextChoices):
    """``name_status`` of a number's display name.

    A ``phone_number_name_update`` decision is APPROVED, REJECTED, PENDING or DEFERRED;
    it is stored as APPROVED, DECLINED or PENDING_REVIEW, as Meta's reads say.
    """

    APPROVED = "APPROVED", _("Approved")
    AVAILABLE_WITHOUT_REVIEW = "AVAILABLE_WITHOUT_REVIEW", _("Available without review")
    PENDING_REVIEW = "PENDING_REVIEW", _("In review")
    DECLINED = "DECLINED", _("Rejected")
    REJECTED = "REJECTED", _("Rejected")
    EXPIRED = "EXPIRED", _("Expired")
    NONE = "NONE", _("None")


class QualityRating(models.TextChoices):
    """``quality_rating`` of a number; the label is the quality score pages show."""

    GREEN = "GREEN", _("High")
    YELLOW = "YELLOW", _("Medium")
    RED = "RED", _("Low")
    UNKNOWN = "UNKNOWN", _("Unknown")


class PlatformType(models.TextChoices):
    """``platform_type`` of a number: where it is registered."""

    CLOUD_API = "CLOUD_API"
    ON_PREMISE = "ON_PREMISE"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class ThroughputLevel(models.TextChoices):
    """``throughput.level`` of a number."""

    STANDARD = "STANDARD"
    HIGH = "HIGH"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class AccountUpdateEvent(models.TextChoices):
    """``event`` of an ``account_update`` webhook."""

    PARTNER_ADDED = "PARTNER_ADDED"
    PARTNER_APP_INSTALLED = "PARTNER_APP_INSTALLED"
    PARTNER_APP_UNINSTALLED = "PARTNER_APP_UNINSTALLED"
    PARTNER_REMOVED = "PARTNER_REMOVED"
    ACCOUNT_DELETED = "ACCOUNT_DELETED"
    ACCOUNT_OFFBOARDED = "ACCOUNT_OFFBOARDED"
    ACCOUNT_RECONNECTED = "ACCOUNT_RECONNECTED"
    DISABLED_UPDATE = "DISABLED_UPDATE"
    ACCOUNT_RESTRICTION = "ACCOUNT_RESTRICTION"
    ACCOUNT_VIOLATION = "ACCOUNT_VIOLATION"


class QualityUpdateEvent(models.TextChoices):
    """``event`` of a ``phone_number_quality_update`` webhook (the others change the limit)."""

    FLAGGED = "FLAGGED"
    UNFLAGGED = "UNFLAGGED"
    THROUGHPUT_UPGRADE = "THROUGHPUT_UPGRADE"


class SignupEvent(models.TextChoices):
    """``event`` of Embedded Signup's session info (:attr:`Onboarding.signup_event`)."""

    FINISH = "FINISH"
    FINISH_ONLY_WABA = "FINISH_ONLY_WABA"
    FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING = "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"
    CANCEL = "CANCEL"
    ERROR = "ERROR"


# An unverified business may use WhatsApp this long before its connection breaks.
UNVERIFIED_TRIAL_DAYS = 30


class WhatsAppAccount(TenantOwnedModel):
    """A WhatsApp Business Account (WABA) the tenant connected."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="wabas")
    waba_id = models.CharField(max_length=32)
    business_id = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    timezone_id = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True)
    ownership_type = models.CharField(max_length=32, blank=True)
    meta_status = models.CharField(max_length=32, blank=True)
    account_review_status = models.CharField(max_length=32, blank=True)
    business_verification_status = models.CharField(max_length=32, blank=True)
    unverified_since = models.DateTimeField(null=True, blank=True)
    messaging_limit = models.CharField(max_length=20, blank=True)
    max_phone_numbers = models.PositiveIntegerField(null=True, blank=True)
    can_send_message = models.CharField(max_length=16, blank=True)
    health = models.JSONField(default=dict, blank=True)
    ban_state = models.CharField(max_length=32, blank=True)
    restrictions = models.JSONField(default=list, blank=True)
    connection_status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.REGISTERING
    )
    problem = models.CharField(max_length=48, blank=True)
    problem_detail = models.TextField(blank=True)
    subscribed = models.BooleanField(default=False)
    credit_line_attached = models.BooleanField(default=False)
    access_token = EncryptedTextField(blank=True, null=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    sync_error = models.TextField(blank=True)
    # When each kind of account event was last applied, so older events lose.
    event_clock = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("WhatsApp Business Account")
        verbose_name_plural = _("WhatsApp Business Accounts")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "waba_id"], name="waba_unique_per_tenant"),
        ]
        ordering = ["name", "waba_id"]

    def __str__(self) -> str:
        return self.name or self.waba_id

    @property
    def is_connected(self) -> bool:
        return self.connection_status not in (
            ConnectionStatus.DISCONNECTED,
            ConnectionStatus.REGISTERING,
        )


def number_label(display_phone_number: str, phone_number_id: str) -> str:
    """A number as people read it: as Meta displays it, else its id at Meta."""
    return display_phone_number or phone_number_id


class PhoneNumber(TenantOwnedModel):
    """A business phone number of a connected WABA."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="phone_numbers")
    waba = models.ForeignKey(
        WhatsAppAccount, on_delete=models.CASCADE, related_name="phone_numbers"
    )
    phone_number_id = models.CharField(max_length=32)
    display_phone_number = models.CharField(max_length=32, blank=True)
    verified_name = models.CharField(max_length=255, blank=True)
    meta_status = models.CharField(max_length=32, blank=True)
    quality_rating = models.CharField(max_length=16, blank=True)
    name_status = models.CharField(max_length=32, blank=True)
    requested_name = models.CharField(max_length=255, blank=True)
    name_rejection_reason = models.TextField(blank=True)
    code_verification_status = models.CharField(max_length=32, blank=True)
    platform_type = models.CharField(max_length=32, blank=True)
    throughput_level = models.CharField(max_length=16, blank=True)
    messaging_limit = models.CharField(max_length=20, blank=True)
    is_official_business_account = models.BooleanField(default=False)
    connection_status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING
    )
    problem = models.CharField(max_length=48, blank=True)
    problem_detail = models.TextField(blank=True)
    # The number that sends right now. ``primary_chosen`` is the tenant's choice: it stays
    # on the row (found again by its Meta id) while the number is disconnected, when
    # another number stands in as the sender, and makes it the sender again when it is
    # back (``phone_numbers.primary_ensure``).
    is_primary = models.BooleanField(default=False)
    primary_chosen = models.BooleanField(default=False)
    pin = EncryptedTextField(blank=True, null=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    # Per aspect (``status``, ``quality``, ``name``, ``limit``), the time of the
    # information last applied: a webhook's event time or a read's start (see
    # ``snapshots.ReadStamp``). Older information about the same aspect changes nothing.
    event_clock = models.JSONField(default=dict, blank=True)
    # A read of this number from Meta is queued (``sync.phone_refresh_request``): the
    # events that arrive meanwhile wait for it instead of queueing reads of their own.
    refresh_requested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "phone_number_id"], name="phone_unique_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_primary=True), name="one_primary_sender"
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(primary_chosen=True),
                name="one_chosen_primary_sender",
            ),
        ]
        ordering = ["-is_primary", "display_phone_number"]

    def __str__(self) -> str:
        return number_label(self.display_phone_number, self.phone_number_id)

    @property
    def quality_label(self) -> str:
        if self.quality_rating in QualityRating.values:
            return str(QualityRating(self.quality_rating).label)
        return str(QualityRating.UNKNOWN.label)


class BusinessProfile(TenantOwnedModel):
    """The WhatsApp business profile of a number, as last read from Meta."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="business_profiles")
    # One profile per number; a foreign key with the unique rule below (rather than a
    # one-to-one field) so that the rule includes the tenant (docs/scaling.md).
    phone_number = models.ForeignKey(
        PhoneNumber, on_delete=models.CASCADE, related_name="business_profiles"
    )
    about = models.CharField(max_length=139, blank=True)
    address = models.CharField(max_length=256, blank=True)
    description = models.CharField(max_length=512, blank=True)
    email = models.CharField(max_length=128, blank=True)
    websites = models.JSONField(default=list, blank=True)
    vertical = models.CharField(max_length=32, blank=True)
    profile_picture_url = models.URLField(max_length=1024, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "phone_number"], name="business_profile_one_per_number"
            ),
        ]

    def __str__(self) -> str:
        return f"profile of {self.phone_number_id}"


class OnboardingStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Connected")
    FAILED = "failed", _("Failed")


class Onboarding(TenantOwnedModel):
    """One run of connecting a WABA through Embedded Signup, step by step."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="onboardings")
    started_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    signup_event = models.CharField(max_length=48, blank=True)
    code = EncryptedTextField(blank=True, null=True)
    access_token = EncryptedTextField(blank=True, null=True)
    waba_id = models.CharField(max_length=32, blank=True)
    phone_number_id = models.CharField(max_length=32, blank=True)
    business_id = models.CharField(max_length=32, blank=True)
    account = models.ForeignKey(
        WhatsAppAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set when the signup adds a number to an account already connected: the WABA the
    # person must choose in Meta's window; choosing another one stops the onboarding.
    target_account = models.ForeignKey(
        WhatsAppAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=OnboardingStatus.choices, default=OnboardingStatus.QUEUED
    )
    problem = models.CharField(max_length=48, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A failed attempt the workspace dismissed: no longer listed on the WhatsApp page.
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("connection attempt")
        verbose_name_plural = _("connection attempts")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"onboarding {self.pk} ({self.status})"


class StepStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("In progress")
    RETRYING = "retrying", _("Retrying")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Not needed")
    FAILED = "failed", _("Failed")


class OnboardingStep(TenantOwnedModel):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="onboarding_steps")
    onboarding = models.ForeignKey(Onboarding, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "onboarding", "name"], name="step_unique"),
        ]
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"


class HistoryKind(models.TextChoices):
    CONNECTION = "connection", _("Connection")
    STATUS = "status", _("Status")
    QUALITY = "quality", _("Quality")
    NAME = "name", _("Display name")
    LIMIT = "limit", _("Messaging limit")
    REVIEW = "review", _("Account review")
    VERIFICATION = "verification", _("Business verification")
    RESTRICTION = "restriction", _("Restriction")
    BAN = "ban", _("Ban")
    VIOLATION = "violation", _("Policy violation")
    PRIMARY = "primary", _("Primary sender")
    OFFICIAL = "official", _("Official business account")
    VERIFICATION_CODE = "code", _("Number verification")
    REGISTRATION = "registration", _("Registration")
    PROFILE = "profile", _("Business profile")


class AccountHistory(TenantOwnedModel):
    """One change of a WABA or a number: the timeline on the sender information page."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="account_history")
    waba = models.ForeignKey(WhatsAppAccount, on_delete=models.CASCADE, related_name="history")
    phone_number = models.ForeignKey(
        PhoneNumber, on_delete=models.CASCADE, null=True, blank=True, related_name="history"
    )
    kind = models.CharField(max_length=16, choices=HistoryKind.choices)
    old_value = models.CharField(max_length=255, blank=True)
    new_value = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=16)  # sync | webhook | user | onboarding
    detail = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.old_value} → {self.new_value}"


# --- Numbers added in the portal -----------------------------------------------------


class VerificationMethod(models.TextChoices):
    SMS = "SMS", _("Text message (SMS)")
    VOICE = "VOICE", _("Voice call")


class NumberVerification(TenantOwnedModel):
    """Verifying that the business owns a number it added: codes asked for and tried.

    One row per number. Wrong codes are counted here and the lockout is enforced by
    us before Meta is asked again: three failures lock the number for four hours,
    each failure after a lockout locks it for a day; a success resets the count.
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="number_verifications"
    )
    phone_number = models.ForeignKey(
        PhoneNumber, on_delete=models.CASCADE, related_name="verifications"
    )
    method = models.CharField(max_length=8, choices=VerificationMethod.choices, blank=True)
    language = models.CharField(max_length=16, blank=True)
    code_requested_at = models.DateTimeField(null=True, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    lockouts = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "phone_number"], name="verification_one_per_number"
            ),
        ]

    def __str__(self) -> str:
        return f"verification of {self.phone_number_id}"


class PhoneNumberDetails(TenantOwnedModel):
    """What the portal knows of a number beyond Meta's fields: how it was added, its
    E.164 form and type, the two-step verification PIN's life, and its removal."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="number_details")
    phone_number = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="details")
    e164 = models.CharField(max_length=20, blank=True)
    region = models.CharField(max_length=2, blank=True)
    # phonenumbers' type name in lower case: mobile, fixed_line, toll_free, voip, ...
    number_type = models.CharField(max_length=24, blank=True)
    added_in_portal = models.BooleanField(default=False)
    added_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pin_set_at = models.DateTimeField(null=True, blank=True)
    # The PIN is shown once, on request; after that it can only be changed.
    pin_revealed_at = models.DateTimeField(null=True, blank=True)
    name_requested_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "phone_number"], name="details_one_per_number"
            ),
        ]

    def __str__(self) -> str:
        return f"details of {self.phone_number_id}"


# --- Official Business Account -------------------------------------------------------


class OfficialBusinessStatus(models.TextChoices):
    """``oba_status`` of a number at Meta, and the state of our request."""

    NOT_STARTED = "NOT_STARTED", _("Not requested")
    PENDING = "PENDING", _("In review")
    APPROVED = "APPROVED", _("Approved")
    REJECTED = "REJECTED", _("Rejected")
    CANCELLED = "CANCELLED", _("Cancelled")


class OfficialBusinessRequest(TenantOwnedModel):
    """A request for the Official Business Account badge, with Meta's required fields."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="oba_requests")
    phone_number = models.ForeignKey(
        PhoneNumber, on_delete=models.CASCADE, related_name="oba_requests"
    )
    status = models.CharField(max_length=16, default=OfficialBusinessStatus.PENDING)
    business_website_url = models.URLField(max_length=256)
    primary_country_of_operation = models.CharField(max_length=2)
    primary_language = models.CharField(max_length=16)
    supporting_links = models.JSONField(default=list, blank=True)
    parent_business_or_brand = models.CharField(max_length=256, blank=True)
    additional_supporting_information = models.TextField(blank=True)
    rejection_reason = models.TextField(blank=True)
    submitted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"OBA request {self.pk} ({self.status})"


# --- QR codes and message links ------------------------------------------------------


class QrCode(TenantOwnedModel):
    """A QR code / wa.me message link of a number, as Meta keeps it (``message_qrdls``)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="qr_codes")
    phone_number = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="qr_codes")
    code = models.CharField(max_length=64)
    prefilled_message = models.CharField(max_length=140)
    deep_link_url = models.URLField(max_length=255)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="qr_code_unique"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.code


# --- The business profile's sync -----------------------------------------------------


class BusinessVertical(models.TextChoices):
    """The business profile's ``vertical`` (industry), in WhatsApp Manager's words.

    An update takes the first 21 (the spec's enum); Meta's answers may also say
    UNDEFINED or NOT_A_BIZ, which cannot be chosen (NOTES §2).
    """

    OTHER = "OTHER", _("Other")
    AUTO = "AUTO", _("Automotive")
    BEAUTY = "BEAUTY", _("Beauty, spa and salon")
    APPAREL = "APPAREL", _("Clothing and apparel")
    EDU = "EDU", _("Education")
    ENTERTAIN = "ENTERTAIN", _("Entertainment")
    EVENT_PLAN = "EVENT_PLAN", _("Event planning and service")
    FINANCE = "FINANCE", _("Finance and banking")
    GROCERY = "GROCERY", _("Food and grocery")
    GOVT = "GOVT", _("Public service")
    HOTEL = "HOTEL", _("Hotel and lodging")
    HEALTH = "HEALTH", _("Medical and health")
    NONPROFIT = "NONPROFIT", _("Non-profit organisation")
    PROF_SERVICES = "PROF_SERVICES", _("Professional services")
    RETAIL = "RETAIL", _("Shopping and retail")
    TRAVEL = "TRAVEL", _("Travel and transport")
    RESTAURANT = "RESTAURANT", _("Restaurant")
    ALCOHOL = "ALCOHOL", _("Alcoholic beverages")
    ONLINE_GAMBLING = "ONLINE_GAMBLING", _("Online gambling and gaming")
    PHYSICAL_GAMBLING = "PHYSICAL_GAMBLING", _("Gambling and gaming (not online)")
    OTC_DRUGS = "OTC_DRUGS", _("Over-the-counter medicines")
    UNDEFINED = "UNDEFINED", _("Not chosen")
    NOT_A_BIZ = "NOT_A_BIZ", _("Not a business")


# Values Meta reports that an update cannot send.
READ_ONLY_VERTICALS = frozenset({BusinessVertical.UNDEFINED, BusinessVertical.NOT_A_BIZ})


class ProfileSyncState(models.TextChoices):
    SAVED = "saved", _("Saved here")
    SENT = "sent", _("Sent to Meta")
    LIVE = "live", _("Live at Meta")
    FAILED = "failed", _("Failed")


class BusinessProfileSync(TenantOwnedModel):
    """The profile as the tenant wants it, and how far it got to Meta.

    :class:`BusinessProfile` is what Meta last reported; this row holds the edit and
    its journey (saved here → sent → live at Meta, or failed with the reason).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="profile_syncs")
    phone_number = models.ForeignKey(
        PhoneNumber, on_delete=models.CASCADE, related_name="profile_syncs"
    )
    about = models.CharField(max_length=139, blank=True)
    address = models.CharField(max_length=256, blank=True)
    description = models.CharField(max_length=512, blank=True)
    email = models.CharField(max_length=128, blank=True)
    websites = models.JSONField(default=list, blank=True)
    vertical = models.CharField(max_length=32, blank=True)
    # The logo as uploaded (a checked JPEG), and the handle Meta's upload gave for it.
    picture = models.ImageField(upload_to="profile-pictures/", blank=True)
    picture_handle = models.TextField(blank=True)
    picture_changed = models.BooleanField(default=False)
    state = models.CharField(
        max_length=8, choices=ProfileSyncState.choices, default=ProfileSyncState.SAVED
    )
    problem = models.CharField(max_length=48, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    edited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    edited_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    live_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "phone_number"], name="profile_sync_one_per_number"
            ),
        ]

    def __str__(self) -> str:
        return f"profile edit of {self.phone_number_id} ({self.state})"


# --- Channel settings ----------------------------------------------------------------


class ChannelSettings(TenantOwnedModel):
    """How the portal uses a number as an inbox channel (the inbox enforces these)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="channels")
    phone_number = models.ForeignKey(
        PhoneNumber, on_delete=models.CASCADE, related_name="channel_settings"
    )
    name = models.CharField(_("internal channel name"), max_length=100)
    display_name = models.CharField(
        _("display name in channel pickers"), max_length=255, blank=True
    )
    tariff = models.CharField(_("tariff"), max_length=64, blank=True)
    auto_assign = models.BooleanField(_("assign to the agent who replies"), default=True)
    auto_resolve_new_days = models.PositiveSmallIntegerField(default=30)
    auto_resolve_pending_days = models.PositiveSmallIntegerField(default=30)
    all_users = models.BooleanField(_("all users"), default=True)
    all_teams = models.BooleanField(_("all teams"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "phone_number"], name="channel_one_per_number"
            ),
            models.UniqueConstraint(fields=["tenant", "name"], name="channel_unique_name"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChannelTeam(TenantOwnedModel):
    """A team with access to a channel (when the channel is not open to all teams)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="channel_teams")
    channel = models.ForeignKey(ChannelSettings, on_delete=models.CASCADE, related_name="teams")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="channels")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "channel", "team"], name="channel_team_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team_id} on {self.channel_id}"


class ChannelRole(models.TextChoices):
    """A user's role on one channel (Sparkcentral's meanings, DESIGN §2)."""

    VIEWER = "viewer", _("Viewer")
    CONTRIBUTOR = "contributor", _("Contributor")
    SUPERVISOR = "supervisor", _("Supervisor")


class ChannelMember(TenantOwnedModel):
    """A user's role on a channel."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="channel_members")
    channel = models.ForeignKey(ChannelSettings, on_delete=models.CASCADE, related_name="members")
    membership = models.ForeignKey(
        "accounts.Membership", on_delete=models.CASCADE, related_name="channel_roles"
    )
    role = models.CharField(
        max_length=16, choices=ChannelRole.choices, default=ChannelRole.CONTRIBUTOR
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "channel", "membership"], name="channel_member_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.role} on {self.channel_id}"
