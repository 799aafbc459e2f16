"""Members of a workspace: changing a role, removing a member (never the last owner)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.errors import Invalid, LastOwnerError, NotAllowed
from accounts.models import (
    Membership,
    Role,
)
from accounts.permissions import require_manager
from accounts.services.audit import audit_record


def _owner_count() -> int:
    return Membership.objects.filter(role=Role.OWNER).count()


@transaction.atomic
def membership_change_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    """Change a member's tenant role. The last owner cannot be demoted."""
    require_manager(actor, message=_("Only owners and admins can manage members."))
    if role not in Role.values:
        raise Invalid(_("Choose one of the roles offered."), field="role")
    touches_owner = Role.OWNER in (role, membership.role)
    if touches_owner and actor.role != Role.OWNER:
        raise NotAllowed(_("Only an owner can make someone an owner or change an owner's role."))
    # Lock the tenant's owners so two demotions cannot both pass the check.
    list(Membership.objects.select_for_update().filter(role=Role.OWNER))
    membership.refresh_from_db()
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and _owner_count() <= 1:
        raise LastOwnerError(
            _("This is the workspace's last owner. Make another member an owner first.")
        )
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor.user,
        action="member.role_changed",
        target=membership,
        metadata={"from": old, "to": role, "email": membership.user.email},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Membership, membership: Membership) -> None:
    """Remove a member from the workspace. The last owner cannot be removed."""
    if actor.pk != membership.pk:
        require_manager(actor, message=_("Only owners and admins can manage members."))
    if membership.role == Role.OWNER and actor.role != Role.OWNER:
        raise NotAllowed(_("Only an owner can remove an owner."))
    list(Membership.objects.select_for_update().filter(role=Role.OWNER))
    if membership.role == Role.OWNER and _owner_count() <= 1:
        raise LastOwnerError(
            _("This is the workspace's last owner. Make another member an owner first.")
        )
    email = membership.user.email
    audit_record(
        actor=actor.user,
        action="member.removed",
        target=membership,
        metadata={"email": email, "role": membership.role},
    )
    membership.delete()
