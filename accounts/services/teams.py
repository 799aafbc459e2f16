"""Teams of a workspace and their members."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.errors import Invalid
from accounts.models import (
    Membership,
    Team,
    TeamMember,
)
from accounts.permissions import require_manager
from accounts.services.audit import audit_record


@transaction.atomic
def team_create(*, actor: Membership, name: str) -> Team:
    require_manager(actor, message=_("Only owners and admins can manage teams."))
    name = name.strip()
    if not name:
        raise Invalid(_("Enter a team name."), field="name")
    if Team.objects.filter(name__iexact=name).exists():
        raise Invalid(_("A team with this name exists already."), field="name")
    team = Team.objects.create(name=name)
    audit_record(actor=actor.user, action="team.created", target=team)
    return team


@transaction.atomic
def team_rename(*, actor: Membership, team: Team, name: str) -> Team:
    require_manager(actor, message=_("Only owners and admins can manage teams."))
    name = name.strip()
    if not name:
        raise Invalid(_("Enter a team name."), field="name")
    if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
        raise Invalid(_("A team with this name exists already."), field="name")
    old = team.name
    team.name = name
    team.save(update_fields=["name"])
    audit_record(actor=actor.user, action="team.renamed", target=team, metadata={"from": old})
    return team


@transaction.atomic
def team_delete(*, actor: Membership, team: Team) -> None:
    require_manager(actor, message=_("Only owners and admins can manage teams."))
    audit_record(actor=actor.user, action="team.deleted", target=team)
    team.delete()


@transaction.atomic
def team_member_add(*, actor: Membership, team: Team, membership: Membership) -> None:
    require_manager(actor, message=_("Only owners and admins can manage teams."))
    _row, created = TeamMember.objects.get_or_create(team=team, membership=membership)
    if created:
        audit_record(
            actor=actor.user,
            action="team.member_added",
            target=team,
            metadata={"email": membership.user.email},
        )


@transaction.atomic
def team_member_remove(*, actor: Membership, team: Team, membership: Membership) -> None:
    require_manager(actor, message=_("Only owners and admins can manage teams."))
    deleted, _rows = TeamMember.objects.filter(team=team, membership=membership).delete()
    if deleted:
        audit_record(
            actor=actor.user,
            action="team.member_removed",
            target=team,
            metadata={"email": membership.user.email},
        )
