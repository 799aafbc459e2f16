"""Submitting, editing and deleting templates: checked here, carried out at Meta by tasks.

A person's action (``template_submit``, ``template_edit``, ``template_delete``) checks
every rule we can check before Meta sees anything — the validator
(``templates_app.validation``), the 250-template cap, one template per name and
language, the 30-day reuse rule, Meta's edit rules — saves what was asked with
:attr:`Template.submission` saying what is under way, and queues a task after commit.
The task makes the one call to Meta (``*_at_meta``) and records Meta's answer: the
template's id and status, or Meta's refusal with its troubleshooting entry. Until
``message_template_status_update`` (or a sync) decides, a submitted template is
``PENDING``.

Each ``*_at_meta`` is safe to run twice: it acts only while the row still says the
change is under way, and a submission whose answer was lost is found at Meta by name
and language before it is sent again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.permissions import require_manager
from accounts.services.audit import audit_record
from accounts.tenancy import require_tenant
from senders import troubleshooting as ts
from senders.models import WhatsAppAccount
from senders.services import graph
from templates_app import selectors, tasks
from templates_app import troubleshooting as tts
from templates_app.models import (
    EDITABLE_STATUSES,
    TEMPLATES_PER_WABA,
    ChangeKind,
    ChangeSource,
    ParameterFormat,
    Submission,
    Template,
    TemplateCategory,
    TemplateStatus,
    component_text,
)
from templates_app.services import apply
from templates_app.validation import template_problems
from waba_portal.errors import Conflict, Invalid
from waba_portal.graph import errors as ge

logger = logging.getLogger(__name__)

# Errors after which the task tries again later; any other error is Meta's final answer.
RETRYABLE_ERRORS = (
    ge.GraphTransientError,
    ge.GraphRateLimitError,
    ge.GraphOutcomeUnknown,
)
# What is read back when a submission's answer was lost.
LOOKUP_FIELDS = "id,name,language,status,category,components"


def _refuse_unless_manager(actor: Membership) -> None:
    require_manager(actor, message=_("Only owners and admins can manage message templates."))


def _when(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "DATE_FORMAT")


def _require_connected(waba: WhatsAppAccount) -> None:
    if not waba.is_connected or not waba.access_token:
        raise Conflict(
            _("%(account)s is not connected, so Meta cannot be asked. Connect it again first.")
            % {"account": waba},
            code="waba_not_connected",
        )


def _refuse_problems(problems: dict[str, list[str]]) -> None:
    """The validator's field problems as one refusal: the first message, every field."""
    if not problems:
        return
    first = next(iter(problems.values()))
    message = str(first[0]) if first else _("The template has problems; see each field.")
    raise Invalid(message, code="template_invalid", details={"fields": problems})


def _normalised(
    *, name: str, language: str, category: str, parameter_format: str
) -> tuple[str, str, str, str]:
    return (
        (name or "").strip(),
        (language or "").strip(),
        (category or "").strip().upper(),
        (parameter_format or ParameterFormat.POSITIONAL).strip().upper(),
    )


# --- Submit -----------------------------------------------------------------------------


def template_submit(
    *,
    actor: Membership,
    waba: WhatsAppAccount,
    name: str,
    language: str,
    category: str,
    components: list[dict[str, Any]],
    parameter_format: str = ParameterFormat.POSITIONAL,
    message_send_ttl_seconds: int | None = None,
) -> Template:
    """Submit a new template (one name in one language) to Meta for review.

    Refuses (``Invalid``, with ``details["fields"]`` naming each field and its fix) what
    Meta would refuse for a reason we can check; the call to Meta is queued after commit.
    """
    _refuse_unless_manager(actor)
    _require_connected(waba)
    name, language, category, parameter_format = _normalised(
        name=name, language=language, category=category, parameter_format=parameter_format
    )
    _refuse_problems(
        template_problems(
            name=name,
            language=language,
            category=category,
            parameter_format=parameter_format,
            components=components,
            waba=waba,
        )
    )
    with transaction.atomic():
        # One submission at a time per WABA: the cap and the uniqueness are counted once.
        WhatsAppAccount.objects.select_for_update().filter(pk=waba.pk).first()
        _check_name_free(waba, name, language)
        at_cap = selectors.template_names_count(waba) >= TEMPLATES_PER_WABA
        if at_cap and not selectors.name_exists(waba, name):
            raise Invalid(
                _(
                    "%(account)s has %(limit)s message templates, the most Meta allows. "
                    "Delete one you no longer send, or add this text as another "
                    "language of an existing template."
                )
                % {"account": waba, "limit": TEMPLATES_PER_WABA},
                code=tts.TEMPLATE_LIMIT,
                field="name",
            )
        template = Template.objects.create(
            waba=waba,
            name=name,
            language=language,
            category=category,
            parameter_format=parameter_format,
            components=components,
            message_send_ttl_seconds=message_send_ttl_seconds,
            submission=Submission.CREATING,
            created_by=actor.user,
            updated_by=actor.user,
        )
        apply.history_record(
            template=template,
            kind=ChangeKind.CREATED,
            source=ChangeSource.USER,
            actor=actor.user,
            new=category,
        )
        audit_record(
            actor=actor.user,
            action="template.submitted",
            target=template,
            metadata={"waba": str(waba), "category": category},
        )
        tasks.template_create_task.delay_on_commit(require_tenant().pk, template.pk)
    return template


def _check_name_free(
    waba: WhatsAppAccount, name: str, language: str, *, exclude_pk: int | None = None
) -> None:
    if selectors.name_language_taken(waba, name, language, exclude_pk=exclude_pk):
        raise Invalid(
            _(
                "%(account)s already has a template named %(name)s in %(language)s. Edit "
                "that one, or choose another name or language."
            )
            % {"account": waba, "name": name, "language": language},
            code=tts.TEMPLATE_EXISTS,
            field="name",
        )
    until = selectors.reusable_at(waba, name, language)
    if until is not None:
        raise Invalid(
            _(
                "A template named %(name)s in %(language)s was deleted less than 30 days "
                "ago; Meta lets the name be used again from %(date)s. Choose another name."
            )
            % {"name": name, "language": language, "date": _when(until)},
            code=tts.TEMPLATE_NAME_RECENTLY_DELETED,
            field="name",
            details={"reusable_at": until.isoformat()},
        )


def template_create_at_meta(*, template_pk: int) -> Template | None:
    """The task's work: send the submission to Meta and record its answer.

    Raises a :data:`RETRYABLE_ERRORS` error while Meta is unavailable (the task retries).
    """
    template = Template.objects.select_related("waba").filter(pk=template_pk).first()
    if template is None or template.submission != Submission.CREATING:
        return template  # done already, or deleted meanwhile
    waba = template.waba
    if not waba.access_token:
        return _refused(template_pk, problem=ts.TOKEN_INVALID, detail="", action="create")
    started = timezone.now()
    client = graph.graph_client(token=str(waba.access_token))
    try:
        found = _find_at_meta(client, waba.waba_id, template.name, template.language)
        if found is not None:
            if component_text(found.get("components"), "BODY") != template.body_text:
                return _refused(
                    template_pk,
                    problem=tts.TEMPLATE_EXISTS,
                    detail=_("Meta already holds a different template with this name."),
                    action="create",
                )
            answer = found  # our submission reached Meta before; its answer was lost
        else:
            answer = client.template_create(
                waba.waba_id,
                name=template.name,
                language=template.language,
                category=template.category,
                components=template.components,
                parameter_format=template.parameter_format,
                message_send_ttl_seconds=template.message_send_ttl_seconds,
            )
    except RETRYABLE_ERRORS:
        raise
    except ge.GraphError as exc:
        return _refused(
            template_pk,
            problem=tts.problem_for_template_error(exc, action="create"),
            detail=tts.meta_words(exc),
            action="create",
        )
    finally:
        client.close()
    return _created(template_pk, answer=answer, started=started)


def _find_at_meta(client: Any, waba_id: str, name: str, language: str) -> dict[str, Any] | None:
    for item in client.templates_list(waba_id, name=name, fields=LOOKUP_FIELDS, limit=100):
        if item.get("name") == name and item.get("language") == language:
            return dict(item)
    return None


@transaction.atomic
def _created(template_pk: int, *, answer: dict[str, Any], started: datetime) -> Template | None:
    template = Template.objects.select_for_update().filter(pk=template_pk).first()
    if template is None or template.submission != Submission.CREATING:
        return template
    template.meta_template_id = str(answer.get("id") or "")
    template.submission = Submission.NONE
    template.problem, template.problem_detail = "", ""
    # Meta may put a template in another category when it accepts it.
    category = str(answer.get("category") or "").upper()
    if category and category != template.category:
        apply.category_apply(
            template=template,
            category=category,
            source=ChangeSource.USER,
            stamp=apply.call_stamp(started),
        )
    apply.status_apply(
        template=template,
        status=str(answer.get("status") or TemplateStatus.PENDING),
        source=ChangeSource.USER,
        stamp=apply.call_stamp(started),
    )
    template.save()
    return template


@transaction.atomic
def _refused(template_pk: int, *, problem: str, detail: str, action: str) -> Template | None:
    """Meta refused the change (or it could not be made): keep why, and what Meta said."""
    template = Template.objects.select_for_update().filter(pk=template_pk).first()
    if template is None:
        return None
    template.submission = Submission.FAILED
    template.problem, template.problem_detail = problem, detail
    template.save()
    apply.history_record(
        template=template,
        kind=ChangeKind.REFUSED,
        source=ChangeSource.USER,
        new=problem,
        reason=detail[:255],
        detail={"action": action},
    )
    return template


def template_write_give_up(*, template_pk: int, action: str, message: str) -> None:
    """Meta stayed unavailable through every retry of a create, edit or delete."""
    _refused(template_pk, problem=ts.META_UNAVAILABLE, detail=message[:1000], action=action)


# --- Resubmit a refused submission ------------------------------------------------------


def _resubmit(
    *,
    actor: Membership,
    template: Template,
    components: list[dict[str, Any]],
    category: str,
    message_send_ttl_seconds: int | None,
) -> Template:
    """A submission Meta refused never reached it: change it and send it again."""
    _refuse_problems(
        template_problems(
            name=template.name,
            language=template.language,
            category=category,
            parameter_format=template.parameter_format,
            components=components,
            waba=template.waba,
            existing=template,
        )
    )
    with transaction.atomic():
        locked = Template.objects.select_for_update().get(pk=template.pk)
        if locked.submission != Submission.FAILED or locked.at_meta:
            raise Conflict(_("The template changed meanwhile; reload the page."))
        _check_name_free(locked.waba, locked.name, locked.language, exclude_pk=locked.pk)
        locked.components = components
        locked.category = category
        locked.message_send_ttl_seconds = message_send_ttl_seconds
        locked.submission = Submission.CREATING
        locked.problem, locked.problem_detail = "", ""
        locked.updated_by = actor.user
        locked.save()
        apply.history_record(
            template=locked,
            kind=ChangeKind.CREATED,
            source=ChangeSource.USER,
            actor=actor.user,
            new=category,
            detail={"resubmitted": True},
        )
        audit_record(actor=actor.user, action="template.resubmitted", target=locked)
        tasks.template_create_task.delay_on_commit(require_tenant().pk, locked.pk)
    return locked


# --- Edit -------------------------------------------------------------------------------


def template_edit(
    *,
    actor: Membership,
    template: Template,
    components: list[dict[str, Any]],
    category: str | None = None,
    message_send_ttl_seconds: int | None = None,
) -> Template:
    """Change a template's content (and, where Meta allows, its category); Meta reviews it.

    Meta's rules, checked here first: only an approved, rejected or paused template can be
    edited; an approved one keeps its category and is edited at most once in 24 hours and
    ten times in 30 days; the name, language and kind of variables never change.
    """
    _refuse_unless_manager(actor)
    if template.is_deleted:
        raise Conflict(_("This template was deleted; create a new one."), code="template_deleted")
    _require_connected(template.waba)
    category = (category or template.category).strip().upper()
    ttl = (
        message_send_ttl_seconds
        if message_send_ttl_seconds is not None
        else template.message_send_ttl_seconds
    )
    if template.submission in (Submission.CREATING, Submission.EDITING, Submission.DELETING):
        raise Conflict(
            _("A change of this template is being sent to Meta; wait for Meta's answer."),
            code="template_busy",
        )
    if not template.at_meta:
        return _resubmit(
            actor=actor,
            template=template,
            components=components,
            category=category,
            message_send_ttl_seconds=ttl,
        )
    _check_edit_allowed(template, category)
    if (
        components == template.components
        and category == template.category
        and ttl == template.message_send_ttl_seconds
    ):
        raise Invalid(
            _("Nothing changed: Meta would count an edit for the same content."),
            code="template_unchanged",
        )
    _refuse_problems(
        template_problems(
            name=template.name,
            language=template.language,
            category=category,
            parameter_format=template.parameter_format,
            components=components,
            waba=template.waba,
            existing=template,
        )
    )
    with transaction.atomic():
        locked = Template.objects.select_for_update().select_related("waba").get(pk=template.pk)
        if locked.submission in (Submission.CREATING, Submission.EDITING, Submission.DELETING):
            raise Conflict(
                _("A change of this template is being sent to Meta; wait for Meta's answer."),
                code="template_busy",
            )
        _check_edit_allowed(locked, category)
        change: dict[str, Any] = {"components": components}
        if category != locked.category:
            change["category"] = category
        if ttl != locked.message_send_ttl_seconds:
            change["message_send_ttl_seconds"] = ttl
        locked.pending_change = change
        locked.submission = Submission.EDITING
        locked.problem, locked.problem_detail = "", ""
        locked.updated_by = actor.user
        locked.save()
        audit_record(
            actor=actor.user,
            action="template.edited",
            target=locked,
            metadata={"status": locked.status},
        )
        tasks.template_edit_task.delay_on_commit(
            require_tenant().pk, locked.pk, actor.user.pk if actor.user else None
        )
    return locked


def _check_edit_allowed(template: Template, category: str) -> None:
    if template.status not in EDITABLE_STATUSES:
        raise Conflict(
            _(
                "Meta edits only approved, rejected or paused templates; this one is "
                "%(status)s. Create a new template instead."
            )
            % {"status": template.status_label.lower()},
            code=tts.TEMPLATE_EDIT_REFUSED,
        )
    if category not in TemplateCategory.values:
        raise Invalid(
            _("Choose the category: Marketing, Utility or Authentication."),
            code="template_invalid",
            field="category",
        )
    if template.status != TemplateStatus.APPROVED:
        return
    if category != template.category:
        raise Invalid(
            _(
                "Meta does not change the category of an approved template. Keep "
                "%(category)s, or create a new template in the other category."
            )
            % {"category": template.category_label},
            code=tts.TEMPLATE_EDIT_REFUSED,
            field="category",
        )
    allowance = selectors.approved_edit_allowance(template=template)
    if not allowance.allowed and allowance.next_at is not None:
        raise Conflict(
            _(
                "Meta allows an approved template one edit in 24 hours and ten in 30 days; "
                "this one can be edited again from %(date)s."
            )
            % {
                "date": formats.date_format(
                    timezone.localtime(allowance.next_at), "DATETIME_FORMAT"
                )
            },
            code=tts.TEMPLATE_EDIT_REFUSED,
            details={"next_edit_at": allowance.next_at.isoformat()},
        )


def template_edit_at_meta(*, template_pk: int, actor_pk: int | None = None) -> Template | None:
    """The task's work: send the edit to Meta; on success the row takes the new content."""
    template = Template.objects.select_related("waba").filter(pk=template_pk).first()
    if template is None or template.submission != Submission.EDITING:
        return template
    change = dict(template.pending_change or {})
    waba = template.waba
    if not waba.access_token:
        return _refused(template_pk, problem=ts.TOKEN_INVALID, detail="", action="edit")
    started = timezone.now()
    client = graph.graph_client(token=str(waba.access_token))
    try:
        client.template_edit(
            template.meta_template_id,
            components=change.get("components"),
            category=change.get("category"),
            message_send_ttl_seconds=change.get("message_send_ttl_seconds"),
        )
    except RETRYABLE_ERRORS:
        raise
    except ge.GraphError as exc:
        return _refused(
            template_pk,
            problem=tts.problem_for_template_error(exc, action="edit"),
            detail=tts.meta_words(exc),
            action="edit",
        )
    finally:
        client.close()
    return _edited(template_pk, change=change, started=started, actor_pk=actor_pk)


@transaction.atomic
def _edited(
    template_pk: int, *, change: dict[str, Any], started: datetime, actor_pk: int | None
) -> Template | None:
    template = Template.objects.select_for_update().filter(pk=template_pk).first()
    if template is None or template.submission != Submission.EDITING:
        return template
    was = template.status
    if "components" in change:
        template.components = change["components"]
    if "message_send_ttl_seconds" in change:
        template.message_send_ttl_seconds = change["message_send_ttl_seconds"]
    old_category = template.category
    if change.get("category") and change["category"] != template.category:
        template.category = str(change["category"])
    template.pending_change = {}
    template.submission = Submission.NONE
    template.problem, template.problem_detail = "", ""
    apply.history_record(
        template=template,
        kind=ChangeKind.EDITED,
        source=ChangeSource.USER,
        actor=User.objects.filter(pk=actor_pk).first() if actor_pk else None,
        old=old_category,
        new=template.category,
        detail={"status_before": was},
        counts_as_approved_edit=was == TemplateStatus.APPROVED,
    )
    # Meta reviews every edit: the template is in review until it decides.
    apply.status_apply(
        template=template,
        status=TemplateStatus.PENDING,
        source=ChangeSource.USER,
        stamp=apply.call_stamp(started),
    )
    template.save()
    return template


# --- Delete -----------------------------------------------------------------------------


def template_delete(
    *, actor: Membership, template: Template, all_languages: bool = False
) -> list[Template]:
    """Delete this language of the template, or every language of its name.

    A template Meta never accepted is deleted here at once; the others are deleted at
    Meta by a task (one call for the whole name, or one per language).
    """
    _refuse_unless_manager(actor)
    if template.is_deleted:
        raise Conflict(_("This template is deleted already."), code="template_deleted")
    with transaction.atomic():
        rows = Template.objects.select_for_update().filter(deleted_at__isnull=True)
        if all_languages:
            targets = list(rows.filter(waba_id=template.waba_id, name=template.name))
        else:
            targets = list(rows.filter(pk=template.pk))
        busy = [
            t
            for t in targets
            if t.submission in (Submission.CREATING, Submission.EDITING, Submission.DELETING)
        ]
        if busy:
            raise Conflict(
                _("%(template)s is being sent to Meta right now; delete it once Meta has answered.")
                % {"template": busy[0]},
                code="template_busy",
            )
        at_meta = [t for t in targets if t.at_meta]
        if at_meta:
            _require_connected(template.waba)
        now = timezone.now()
        for t in targets:
            t.updated_by = actor.user
            if t.at_meta:
                t.submission = Submission.DELETING
                t.problem, t.problem_detail = "", ""
            else:
                _mark_deleted(t, source=ChangeSource.USER, at=now, actor=actor.user)
            t.save()
        audit_record(
            actor=actor.user,
            action="template.deleted_all_languages" if all_languages else "template.deleted",
            target=template,
            metadata={"languages": ", ".join(sorted(t.language for t in targets))},
        )
        if at_meta:
            tasks.template_delete_task.delay_on_commit(
                require_tenant().pk,
                template.waba_id,
                template.name,
                [t.pk for t in at_meta],
                all_languages,
                actor.user.pk if actor.user else None,  # an API key is no user
            )
    return targets


def _mark_deleted(
    template: Template, *, source: str, at: datetime, actor: User | None = None
) -> None:
    old = template.status
    template.deleted_at = at
    template.submission = Submission.NONE
    template.pending_change = {}
    if template.at_meta:
        template.status = TemplateStatus.DELETED
    apply.history_record(
        template=template,
        kind=ChangeKind.DELETED,
        source=source,
        old=old,
        new=TemplateStatus.DELETED,
        actor=actor,
        occurred_at=at,
    )


def template_delete_at_meta(
    *,
    waba_pk: int,
    name: str,
    template_pks: list[int],
    all_languages: bool,
    actor_pk: int | None = None,
) -> list[Template]:
    """The task's work: delete at Meta; a template Meta no longer has counts as deleted."""
    waba = WhatsAppAccount.objects.filter(pk=waba_pk).first()
    rows = list(
        Template.objects.filter(
            pk__in=template_pks, submission=Submission.DELETING, deleted_at__isnull=True
        )
    )
    if waba is None or not rows:
        return []
    if not waba.access_token:
        for t in rows:
            _refused(t.pk, problem=ts.TOKEN_INVALID, detail="", action="delete")
        return rows
    client = graph.graph_client(token=str(waba.access_token))
    done: list[int] = []
    try:
        calls = [None] if all_languages else [t.meta_template_id for t in rows]
        for hsm_id in calls:
            try:
                client.template_delete(waba.waba_id, name, hsm_id=hsm_id)
            except RETRYABLE_ERRORS:
                raise
            except ge.GraphError as exc:
                problem = tts.problem_for_template_error(exc, action="delete")
                if problem != tts.TEMPLATE_NOT_AT_META:
                    for t in rows:
                        if hsm_id is None or t.meta_template_id == hsm_id:
                            _refused(
                                t.pk, problem=problem, detail=tts.meta_words(exc), action="delete"
                            )
                    continue
            done.extend(t.pk for t in rows if hsm_id is None or t.meta_template_id == hsm_id)
    finally:
        client.close()
    return _deleted(done, actor_pk=actor_pk)


@transaction.atomic
def _deleted(template_pks: list[int], *, actor_pk: int | None) -> list[Template]:
    actor = User.objects.filter(pk=actor_pk).first() if actor_pk else None
    now = timezone.now()
    rows = list(
        Template.objects.select_for_update().filter(
            pk__in=template_pks, submission=Submission.DELETING, deleted_at__isnull=True
        )
    )
    for t in rows:
        _mark_deleted(t, source=ChangeSource.USER, at=now, actor=actor)
        t.save()
    return rows
