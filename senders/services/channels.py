"""Channel settings: how the portal uses each number as an inbox channel (DESIGN §2).

Every number has one :class:`ChannelSettings` row, made when it is first needed: when
the number is first recorded (``snapshots.phone_apply_snapshot``) and whenever its
settings are read (:func:`channel_ensure`). A new channel takes the number's verified
name (or the number) as its internal name, made unique in the workspace, the first
tariff of ``settings.WHATSAPP_TARIFFS``, auto-assignment on, auto-resolve of the New
and Pending queues after 30 days, and access for all users and all teams.

Owners and admins change the settings (:func:`channel_update`) and the roles of agents
on the channel (:func:`channel_member_add`, :func:`channel_member_set`,
:func:`channel_member_remove`); every change is one audit row per field, with the old
and the new value in words. Who may do what on a channel is read by
``senders.selectors.channel_role_for`` and its neighbours; the inbox enforces it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import MANAGER_ROLES, Membership, Team
from accounts.permissions import require_manager
from accounts.services import audit
from accounts.services.audit import audit_record
from senders.models import ChannelMember, ChannelRole, ChannelSettings, ChannelTeam, PhoneNumber
from waba_portal.errors import Conflict, Invalid
from waba_portal.guards import MAX_ID

AUTO_RESOLVE_DEFAULT_DAYS = 30
AUTO_RESOLVE_MIN_DAYS = 1
AUTO_RESOLVE_MAX_DAYS = 365
NAME_MAX_LENGTH = 100  # ChannelSettings.name
DISPLAY_NAME_MAX_LENGTH = 255  # Sparkcentral's limit for the name shown in channel pickers

# What ``channel_update`` takes; ``teams`` is the ids of the teams with access.
UPDATABLE_FIELDS = (
    "name",
    "display_name",
    "tariff",
    "auto_assign",
    "auto_resolve_new_days",
    "auto_resolve_pending_days",
    "all_users",
    "all_teams",
    "teams",
)

# The audit log reads each change in words (accounts.services.audit.audit_describe).
# ``from``/``to`` hold the values as they were shown (yes/no for switches, the tariff's
# and the role's label); ``old``/``new`` keep the stored codes.
AUDIT_LABELS = {
    "channel.renamed": gettext_lazy("%(actor)s renamed the channel %(from)s to %(to)s"),
    "channel.display_name_changed": gettext_lazy(
        "%(actor)s changed the display name of the channel %(target)s from %(from)s to %(to)s"
    ),
    "channel.tariff_changed": gettext_lazy(
        "%(actor)s changed the tariff of the channel %(target)s from %(from)s to %(to)s"
    ),
    "channel.auto_assign_changed": gettext_lazy(
        "%(actor)s changed “assign to the agent who replies” on the channel %(target)s "
        "from %(from)s to %(to)s"
    ),
    "channel.auto_resolve_new_changed": gettext_lazy(
        "%(actor)s changed when the channel %(target)s resolves New conversations from "
        "%(from)s to %(to)s days"
    ),
    "channel.auto_resolve_pending_changed": gettext_lazy(
        "%(actor)s changed when the channel %(target)s resolves Pending conversations from "
        "%(from)s to %(to)s days"
    ),
    "channel.all_users_changed": gettext_lazy(
        "%(actor)s changed “all users” on the channel %(target)s from %(from)s to %(to)s"
    ),
    "channel.all_teams_changed": gettext_lazy(
        "%(actor)s changed “all teams” on the channel %(target)s from %(from)s to %(to)s"
    ),
    "channel.team_added": gettext_lazy(
        "%(actor)s gave the team %(team)s access to the channel %(target)s"
    ),
    "channel.team_removed": gettext_lazy(
        "%(actor)s took the access to the channel %(target)s away from the team %(team)s"
    ),
    "channel.member_added": gettext_lazy(
        "%(actor)s gave %(email)s the role %(to)s on the channel %(target)s"
    ),
    "channel.member_role_changed": gettext_lazy(
        "%(actor)s changed the role of %(email)s on the channel %(target)s from %(from)s to %(to)s"
    ),
    "channel.member_removed": gettext_lazy(
        "%(actor)s took the role %(from)s on the channel %(target)s away from %(email)s"
    ),
}
audit.audit_labels_register(AUDIT_LABELS)

# The audit action of each scalar field.
_FIELD_ACTIONS = {
    "name": "channel.renamed",
    "display_name": "channel.display_name_changed",
    "tariff": "channel.tariff_changed",
    "auto_assign": "channel.auto_assign_changed",
    "auto_resolve_new_days": "channel.auto_resolve_new_changed",
    "auto_resolve_pending_days": "channel.auto_resolve_pending_changed",
    "all_users": "channel.all_users_changed",
    "all_teams": "channel.all_teams_changed",
}


def _manager_message() -> str:
    return _("Only owners and admins can change channel settings.")


# --- Tariffs (the operator's list, settings.WHATSAPP_TARIFFS) ---------------------------


def tariff_choices() -> list[tuple[str, str]]:
    """The tariffs offered, as (code, label in the active language)."""
    return [(str(code), str(label)) for code, label in settings.WHATSAPP_TARIFFS]


def tariff_label(code: str) -> str:
    """The tariff's label; a code no longer offered reads as itself, and none as a dash."""
    return dict(tariff_choices()).get(code, code) or "—"


def tariff_default() -> str:
    choices = tariff_choices()
    return choices[0][0] if choices else ""


# --- The channel row of a number ----------------------------------------------------


def _name_candidates(phone: PhoneNumber) -> Iterator[str]:
    """Internal names for a new channel, best first: the verified name, with the number."""
    number = phone.display_phone_number or phone.phone_number_id
    base = (phone.verified_name or "").strip() or number
    yield base[:NAME_MAX_LENGTH]
    if base != number:
        yield _with_suffix(base, f" ({number})")
    for n in itertools.count(2):
        yield _with_suffix(base, f" ({n})")


def _with_suffix(base: str, suffix: str) -> str:
    return base[: NAME_MAX_LENGTH - len(suffix)].rstrip() + suffix


def channel_ensure(*, phone: PhoneNumber) -> ChannelSettings:
    """The number's channel, made with the defaults if it has none yet (safe to run twice).

    Two callers at once both end with the one row: the loser of the race reads the
    winner's. A name another channel took meanwhile moves on to the next candidate.
    """
    existing = ChannelSettings.objects.filter(phone_number=phone).first()
    if existing is not None:
        return existing
    for name in _name_candidates(phone):
        if ChannelSettings.objects.filter(name__iexact=name).exists():
            continue
        try:
            with transaction.atomic():
                return ChannelSettings.objects.create(
                    tenant_id=phone.tenant_id,
                    phone_number=phone,
                    name=name,
                    tariff=tariff_default(),
                    auto_resolve_new_days=AUTO_RESOLVE_DEFAULT_DAYS,
                    auto_resolve_pending_days=AUTO_RESOLVE_DEFAULT_DAYS,
                )
        except IntegrityError:
            existing = ChannelSettings.objects.filter(phone_number=phone).first()
            if existing is not None:
                return existing
    raise AssertionError("unreachable: the name candidates never run out")  # pragma: no cover


# --- Checking what a manager enters ---------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError
    return value.strip()


def _clean_name(channel: ChannelSettings, value: Any) -> str:
    try:
        name = _text(value)
    except TypeError:
        raise Invalid(_("Enter the internal name as text."), field="name") from None
    if not name:
        raise Invalid(
            _("Enter an internal name for the channel: your team sees it in the inbox."),
            field="name",
        )
    if len(name) > NAME_MAX_LENGTH:
        raise Invalid(
            _("The internal name can have at most %(max)s characters; this one has %(count)s.")
            % {"max": NAME_MAX_LENGTH, "count": len(name)},
            field="name",
        )
    if ChannelSettings.objects.filter(name__iexact=name).exclude(pk=channel.pk).exists():
        raise Invalid(_name_taken(name), field="name")
    return name


def _name_taken(name: str) -> str:
    return _(
        "Another channel of this workspace is already called “%(name)s”. "
        "Choose a name that tells the two apart."
    ) % {"name": name}


def _clean_display_name(value: Any) -> str:
    try:
        name = _text(value)
    except TypeError:
        raise Invalid(_("Enter the display name as text."), field="display_name") from None
    if len(name) > DISPLAY_NAME_MAX_LENGTH:
        raise Invalid(
            _("The display name can have at most %(max)s characters; this one has %(count)s.")
            % {"max": DISPLAY_NAME_MAX_LENGTH, "count": len(name)},
            field="display_name",
        )
    return name


def _clean_tariff(channel: ChannelSettings, value: Any) -> str:
    choices = tariff_choices()
    codes = [code for code, _label in choices]
    offered = _("Choose one of the tariffs offered: %(tariffs)s.") % {
        "tariffs": ", ".join(label for _code, label in choices) or "—"
    }
    if not isinstance(value, str):
        raise Invalid(offered, field="tariff")
    value = value.strip()
    if not value:
        if codes:
            raise Invalid(
                _("Choose a tariff for the channel: %(tariffs)s.")
                % {"tariffs": ", ".join(label for _code, label in choices)},
                field="tariff",
            )
        return ""
    # The channel's own tariff stays valid when the operator stops offering it.
    if value not in codes and value != channel.tariff:
        raise Invalid(offered, field="tariff")
    return value


def _clean_switch(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(_("Answer this with yes or no (true or false)."), field=field)
    return value


def _clean_days(field: str, value: Any) -> int:
    queue = _("New") if field == "auto_resolve_new_days" else _("Pending")
    if isinstance(value, bool) or not isinstance(value, int):
        valid = False
    else:
        valid = AUTO_RESOLVE_MIN_DAYS <= value <= AUTO_RESOLVE_MAX_DAYS
    if not valid:
        raise Invalid(
            _(
                "Enter after how many days conversations in the %(queue)s queue are resolved: "
                "a whole number from %(min)s to %(max)s."
            )
            % {"queue": queue, "min": AUTO_RESOLVE_MIN_DAYS, "max": AUTO_RESOLVE_MAX_DAYS},
            field=field,
        )
    return int(value)


def _clean_teams(value: Any) -> list[Team]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise Invalid(_("Send the teams as a list of team ids."), field="teams")
    ids: set[int] = set()
    for item in value:
        if isinstance(item, Team):
            item = item.pk
        if isinstance(item, bool) or not isinstance(item, int):
            raise Invalid(_("Send the teams as a list of team ids."), field="teams")
        ids.add(item)
    storable = {i for i in ids if 0 < i <= MAX_ID}  # a larger number is no team's id
    teams = list(Team.objects.filter(pk__in=storable).order_by("name"))  # this workspace's
    missing = sorted(ids - {t.pk for t in teams})
    if missing:
        raise Invalid(
            _("This workspace has no team with the id %(ids)s. Choose teams of this workspace.")
            % {"ids": ", ".join(str(i) for i in missing)},
            field="teams",
        )
    return teams


def _cleaned(channel: ChannelSettings, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Every field checked; all refusals at once (``details.fields``), the first as message."""
    unknown = sorted(set(changes) - set(UPDATABLE_FIELDS))
    errors: dict[str, list[str]] = {field: [_("This setting does not exist.")] for field in unknown}
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field in unknown:
            continue
        try:
            if field == "name":
                clean[field] = _clean_name(channel, value)
            elif field == "display_name":
                clean[field] = _clean_display_name(value)
            elif field == "tariff":
                clean[field] = _clean_tariff(channel, value)
            elif field in ("auto_assign", "all_users", "all_teams"):
                clean[field] = _clean_switch(field, value)
            elif field in ("auto_resolve_new_days", "auto_resolve_pending_days"):
                clean[field] = _clean_days(field, value)
            else:
                clean[field] = _clean_teams(value)
        except Invalid as exc:
            errors[field] = [exc.message]
    if errors:
        field, messages = next(iter(errors.items()))
        raise Invalid(messages[0], field=field, details={"fields": errors})
    return clean


# --- Changing the settings ------------------------------------------------------------


def _words(field: str, value: Any) -> Any:
    """A value as the audit row shows it: switches stay booleans (read as yes/no)."""
    if field == "tariff":
        return tariff_label(value)
    if field == "display_name" and not value:
        return "—"
    return value


@transaction.atomic
def channel_update(
    *, actor: Membership, channel: ChannelSettings, changes: Mapping[str, Any]
) -> ChannelSettings:
    """Change the settings named in ``changes`` (a subset of :data:`UPDATABLE_FIELDS`).

    All of them or none: every refusal is raised at once as one ``Invalid`` whose
    ``details["fields"]`` maps each field to its message. An unchanged value writes no
    audit row.
    """
    require_manager(actor, message=_manager_message())
    locked = ChannelSettings.objects.select_for_update().get(pk=channel.pk)
    clean = _cleaned(locked, changes)
    teams = clean.pop("teams", None)
    changed: list[tuple[str, Any, Any]] = []
    for field, new in clean.items():
        old = getattr(locked, field)
        if new != old:
            changed.append((field, old, new))
            setattr(locked, field, new)
    if changed:
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError:  # the same name saved by someone else a moment ago
            raise Invalid(_name_taken(locked.name), field="name") from None
    for field, old, new in changed:
        audit_record(
            actor=actor.user,
            action=_FIELD_ACTIONS[field],
            target=locked,
            metadata={
                "field": field,
                "old": old,
                "new": new,
                "from": _words(field, old),
                "to": _words(field, new),
            },
        )
    if teams is not None:
        _teams_set(actor=actor, channel=locked, teams=teams)
    channel.refresh_from_db()
    return locked


def _teams_set(*, actor: Membership, channel: ChannelSettings, teams: list[Team]) -> None:
    current = {row.team_id: row for row in channel.teams.select_related("team")}
    wanted = {team.pk: team for team in teams}
    for team_pk, row in current.items():
        if team_pk not in wanted:
            row.delete()
            audit_record(
                actor=actor.user,
                action="channel.team_removed",
                target=channel,
                metadata={"team": row.team.name, "team_id": team_pk},
            )
    for team_pk, team in wanted.items():
        if team_pk not in current:
            ChannelTeam.objects.create(tenant_id=channel.tenant_id, channel=channel, team=team)
            audit_record(
                actor=actor.user,
                action="channel.team_added",
                target=channel,
                metadata={"team": team.name, "team_id": team_pk},
            )


# --- Roles of agents on the channel ---------------------------------------------------


def member_unknown_message() -> str:
    return _("Choose a member of this workspace.")


def _check_member(channel: ChannelSettings, membership: Membership) -> None:
    if membership.tenant_id != channel.tenant_id:
        raise Invalid(member_unknown_message(), field="membership")
    if membership.role in MANAGER_ROLES:
        raise Invalid(
            _(
                "%(email)s is an owner or admin and so a supervisor of every channel already. "
                "Channel roles are for agents."
            )
            % {"email": membership.user.email},
            field="membership",
        )


def _check_role(role: Any) -> str:
    if not isinstance(role, str) or role not in ChannelRole.values:
        raise Invalid(
            _("Choose one of the channel roles: Viewer, Contributor or Supervisor."),
            field="role",
        )
    return role


def _role_words(role: str) -> str:
    return str(ChannelRole(role).label) if role in ChannelRole.values else role


@transaction.atomic
def channel_member_add(
    *, actor: Membership, channel: ChannelSettings, membership: Membership, role: str | None
) -> ChannelMember:
    """Give an agent a role of their own on the channel; refused if they have one already."""
    require_manager(actor, message=_manager_message())
    role = _check_role(role)
    _check_member(channel, membership)
    existing = ChannelMember.objects.filter(channel=channel, membership=membership).first()
    if existing is not None:
        raise _already_member(membership, existing)
    try:
        with transaction.atomic():
            row = ChannelMember.objects.create(
                tenant_id=channel.tenant_id, channel=channel, membership=membership, role=role
            )
    except IntegrityError:  # added by someone else a moment ago
        existing = ChannelMember.objects.filter(channel=channel, membership=membership).first()
        raise _already_member(membership, existing) from None
    _audit_member(actor, channel, membership, old="", new=role)
    return row


def _already_member(membership: Membership, row: ChannelMember | None) -> Conflict:
    return Conflict(
        _("%(email)s has the role %(role)s on this channel already: change it instead.")
        % {"email": membership.user.email, "role": _role_words(row.role) if row else "—"},
        code="channel_member_exists",
    )


@transaction.atomic
def channel_member_set(
    *, actor: Membership, channel: ChannelSettings, membership: Membership, role: str | None
) -> ChannelMember:
    """Give an agent this role on the channel, whether they had one of their own or not."""
    require_manager(actor, message=_manager_message())
    role = _check_role(role)
    _check_member(channel, membership)
    row, created = ChannelMember.objects.select_for_update().get_or_create(
        channel=channel,
        membership=membership,
        defaults={"tenant_id": channel.tenant_id, "role": role},
    )
    if created:
        _audit_member(actor, channel, membership, old="", new=role)
    elif row.role != role:
        old = row.role
        row.role = role
        row.save(update_fields=["role"])
        _audit_member(actor, channel, membership, old=old, new=role)
    return row


@transaction.atomic
def channel_member_remove(
    *, actor: Membership, channel: ChannelSettings, membership: Membership
) -> bool:
    """Take the agent's own role away (they keep what all users or their teams get).

    Safe to run twice: False when they had no role of their own.
    """
    require_manager(actor, message=_manager_message())
    row = (
        ChannelMember.objects.select_for_update()
        .filter(channel=channel, membership=membership)
        .first()
    )
    if row is None:
        return False
    row.delete()
    _audit_member(actor, channel, membership, old=row.role, new="")
    return True


def _audit_member(
    actor: Membership, channel: ChannelSettings, membership: Membership, *, old: str, new: str
) -> None:
    action = (
        "channel.member_added"
        if not old
        else "channel.member_removed"
        if not new
        else "channel.member_role_changed"
    )
    audit_record(
        actor=actor.user,
        action=action,
        target=channel,
        metadata={
            "email": membership.user.email,
            "membership_id": membership.pk,
            "old": old,
            "new": new,
            "from": _role_words(old) if old else "—",
            "to": _role_words(new) if new else "—",
        },
    )
