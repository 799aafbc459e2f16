"""Message templates of a tenant's WABAs, as Meta holds them, and their history.

One :class:`Template` row per name and language of a WABA, as Meta counts them (a
name in three languages is three submissions and three rows, one template of the 250
a WABA may have). Meta's values are stored as Meta spells them (``status``,
``category``, ``quality_score``, ``rejected_reason``); the ``TextChoices`` beside them
name the values the code compares, and their labels are what pages show. An unknown
value Meta adds is kept and shown as Meta sent it.

Our own side of a change in flight is :attr:`Template.submission`: a template being
created, edited or deleted at Meta by a task. A deleted template keeps its row
(``deleted_at``): its history stays readable, and the 30-day rule on reusing its name
and language reads it (``selectors.recently_deleted``).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant, User
from accounts.tenancy import TenantOwnedModel
from senders.models import WhatsAppAccount
from waba_portal.choices import choice_label

# A WABA may hold this many template names (every language of a name counts once).
TEMPLATES_PER_WABA = 250
# A deleted template's name cannot be used again in its language for this many days.
NAME_REUSE_DAYS = 30
# Meta lets an approved template be edited once a day and ten times in 30 days.
APPROVED_EDITS_PER_DAY = 1
APPROVED_EDITS_PER_30_DAYS = 10


class TemplateStatus(models.TextChoices):
    """``status`` of a template at Meta, and the events of ``message_template_status_update``."""

    APPROVED = "APPROVED", _("Approved")
    PENDING = "PENDING", _("In review at Meta")
    REJECTED = "REJECTED", _("Rejected")
    PAUSED = "PAUSED", _("Paused")
    DISABLED = "DISABLED", _("Disabled")
    IN_APPEAL = "IN_APPEAL", _("In appeal")
    PENDING_DELETION = "PENDING_DELETION", _("Being deleted")
    DELETED = "DELETED", _("Deleted")
    REINSTATED = "REINSTATED", _("Reinstated")
    FLAGGED = "FLAGGED", _("Flagged for low quality")
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED", _("Over the template limit")
    ARCHIVED = "ARCHIVED", _("Archived")
    UNARCHIVED = "UNARCHIVED", _("Unarchived")
    LOCKED = "LOCKED", _("Locked")
    UNLOCKED = "UNLOCKED", _("Unlocked")


# The statuses a template can send messages in.
SENDABLE_STATUSES = frozenset({TemplateStatus.APPROVED, TemplateStatus.REINSTATED})
# Meta lets only these be edited.
EDITABLE_STATUSES = frozenset(
    {TemplateStatus.APPROVED, TemplateStatus.REJECTED, TemplateStatus.PAUSED}
)


class TemplateCategory(models.TextChoices):
    MARKETING = "MARKETING", _("Marketing")
    UTILITY = "UTILITY", _("Utility")
    AUTHENTICATION = "AUTHENTICATION", _("Authentication")


class ParameterFormat(models.TextChoices):
    """How the template's variables are written: ``{{1}}`` or ``{{order_id}}``."""

    POSITIONAL = "POSITIONAL", _("Numbered variables ({{1}})")
    NAMED = "NAMED", _("Named variables ({{name}})")


class QualityScore(models.TextChoices):
    """``quality_score.score`` of a template; a new template starts UNKNOWN."""

    GREEN = "GREEN", _("High")
    YELLOW = "YELLOW", _("Medium")
    RED = "RED", _("Low")
    UNKNOWN = "UNKNOWN", _("Not rated yet")


class RejectionReason(models.TextChoices):
    """``rejected_reason`` of a template, and the ``reason`` of a REJECTED event."""

    ABUSIVE_CONTENT = "ABUSIVE_CONTENT", _("Abusive content")
    INCORRECT_CATEGORY = "INCORRECT_CATEGORY", _("Wrong category")
    INVALID_FORMAT = "INVALID_FORMAT", _("Invalid format")
    PROMOTIONAL = "PROMOTIONAL", _("Promotional content")
    SCAM = "SCAM", _("Possible scam")
    TAG_CONTENT_MISMATCH = "TAG_CONTENT_MISMATCH", _("Content does not match the category")
    NONE = "NONE", _("No reason given")


class Submission(models.TextChoices):
    """What our side is doing with the template at Meta right now."""

    NONE = "", _("Up to date")
    CREATING = "creating", _("Being submitted to Meta")
    EDITING = "editing", _("Edit being sent to Meta")
    DELETING = "deleting", _("Being deleted at Meta")
    FAILED = "failed", _("Meta refused the last change")


class Template(TenantOwnedModel):
    """One name and language of a WABA's message template."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="templates")
    waba = models.ForeignKey(WhatsAppAccount, on_delete=models.CASCADE, related_name="templates")
    # Meta's id; empty until Meta accepted the submission.
    meta_template_id = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    category = models.CharField(max_length=32)
    parameter_format = models.CharField(max_length=16, default=ParameterFormat.POSITIONAL)
    components = models.JSONField(default=list, blank=True)
    # The BODY component's text, kept beside the JSON for search (set on save).
    body_text = models.TextField(blank=True, editable=False)
    message_send_ttl_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Meta's status; empty while the template is not at Meta yet.
    status = models.CharField(max_length=32, blank=True)
    quality_score = models.CharField(max_length=16, blank=True)
    rejected_reason = models.CharField(max_length=64, blank=True)
    # What Meta said beside a rejection, pause or disable (``rejection_info``,
    # ``other_info``, ``disable_info``), in Meta's words.
    status_detail = models.JSONField(default=dict, blank=True)
    previous_category = models.CharField(max_length=32, blank=True)
    # A category change Meta announced and will make at ``category_change_at``.
    correct_category = models.CharField(max_length=32, blank=True)
    category_change_at = models.DateTimeField(null=True, blank=True)
    # Ever approved: a deleted template that was keeps its name from reuse for 30 days.
    ever_approved = models.BooleanField(default=False)
    submission = models.CharField(
        max_length=16, choices=Submission.choices, default=Submission.NONE, blank=True
    )
    # The edit being sent ({"components", "category", "message_send_ttl_seconds"}): the
    # row keeps what Meta holds until Meta took it.
    pending_change = models.JSONField(default=dict, blank=True)
    # Why Meta refused the last change: a troubleshooting key, and Meta's words.
    problem = models.CharField(max_length=48, blank=True)
    problem_detail = models.TextField(blank=True)
    # Per aspect (``status``, ``category``, ``quality``), the time of the information
    # last applied (a webhook's event time, a read's start): older information loses.
    event_clock = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who made the last change here; None when Meta did (a webhook, a sync).
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "waba", "name", "language"],
                condition=models.Q(deleted_at__isnull=True),
                name="template_one_per_name_language",
            ),
            models.UniqueConstraint(
                fields=["tenant", "meta_template_id"],
                condition=~models.Q(meta_template_id="") & models.Q(deleted_at__isnull=True),
                name="template_meta_id_once",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "waba", "status"], name="template_by_status")]
        ordering = ["name", "language"]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.body_text = component_text(self.components, "BODY")
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "components" in update_fields:
            kwargs["update_fields"] = {*update_fields, "body_text"}
        super().save(*args, **kwargs)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def at_meta(self) -> bool:
        return bool(self.meta_template_id)

    @property
    def status_label(self) -> str:
        return status_label(self.status, self.submission)

    @property
    def category_label(self) -> str:
        return choice_label(TemplateCategory, self.category)

    @property
    def quality_label(self) -> str:
        return choice_label(QualityScore, self.quality_score or QualityScore.UNKNOWN)


def status_label(status: str, submission: str = "") -> str:
    """The status in words: our side's change in flight first, then Meta's status."""
    if not status:
        if submission == Submission.FAILED:
            return str(_("Not submitted: Meta refused it"))
        return str(_("Being submitted to Meta"))
    return choice_label(TemplateStatus, status)


def component_text(components: Any, kind: str) -> str:
    """The ``text`` of the first component of type ``kind`` (``BODY``, ``HEADER``, ...)."""
    for comp in components if isinstance(components, list) else []:
        if isinstance(comp, dict) and str(comp.get("type", "")).upper() == kind:
            return str(comp.get("text") or "")
    return ""


class ChangeKind(models.TextChoices):
    CREATED = "created", _("Submitted")
    STATUS = "status", _("Status")
    CATEGORY = "category", _("Category")
    QUALITY = "quality", _("Quality")
    EDITED = "edited", _("Edited")
    DELETED = "deleted", _("Deleted")
    IMPORTED = "imported", _("Imported from Meta")
    REFUSED = "refused", _("Refused by Meta")


class ChangeSource(models.TextChoices):
    USER = "user", _("In the portal")
    WEBHOOK = "webhook", _("Meta (notification)")
    SYNC = "sync", _("Meta (sync)")


class TemplateStatusChange(TenantOwnedModel):
    """One change of a template: its status history, and its edits, category and quality."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="template_status_changes"
    )
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    old_value = models.CharField(max_length=64, blank=True)
    new_value = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=16, choices=ChangeSource.choices)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    # When it happened: Meta's event time for a webhook, else when it was recorded.
    occurred_at = models.DateTimeField()
    # The status of an approved template before an edit: counts against Meta's edit limits.
    counts_as_approved_edit = models.BooleanField(default=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "template", "kind"], name="template_change_by_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.old_value} → {self.new_value}"


class SyncState(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Reading templates from Meta")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class TemplateSync(TenantOwnedModel):
    """One read of a WABA's templates from Meta (periodic or "Sync now"), with its counts."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="template_syncs")
    waba = models.ForeignKey(
        WhatsAppAccount, on_delete=models.CASCADE, related_name="template_syncs"
    )
    requested_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=16, choices=SyncState.choices, default=SyncState.QUEUED)
    read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    samples_skipped = models.PositiveIntegerField(default=0)
    problem = models.CharField(max_length=48, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "waba", "state"], name="template_sync_by_state")]

    def __str__(self) -> str:
        return f"template sync {self.pk} of {self.waba_id} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (SyncState.DONE, SyncState.FAILED)
