"""Members, invitations, the last-owner rule and the audit rows they leave."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.http import HttpResponse
from django.test import Client, TestCase
from django.utils import timezone

from accounts import services
from accounts.errors import InvitationError, LastOwnerError, NotAllowed
from accounts.models import (
    AuditEvent,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    Tenant,
    User,
)
from accounts.tenancy import tenant_scope, unscoped
from tests.factories import PASSWORD, UserFactory, World

pytestmark = pytest.mark.django_db(transaction=False)


def audit_actions(tenant) -> list[str]:  # type: ignore[no-untyped-def]
    with tenant_scope(tenant):
        return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def invite(world: World, email: str = "new@acme.test", role: str = Role.AGENT) -> Invitation:
    with tenant_scope(world.tenant):
        return services.invitations.invitation_create(actor=world.owner, email=email, role=role)


# The e-mail's link: the token is the fragment, which a browser never sends.
INVITATION_LINK = re.compile(r"http://\S+/invitations/accept/#(?P<token>\S+)")


def invite_by_mail(
    world: World, email: str = "new@acme.test", role: str = Role.AGENT
) -> tuple[Invitation, str]:
    """Invite, send the e-mail (as after commit), and read the token from its link."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        invitation = invite(world, email, role)
    match = INVITATION_LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return invitation, match["token"]


def open_invitation(client: Client, token: str) -> HttpResponse:
    """What the page's script does with the link's fragment: post it to the page."""
    response = client.post("/invitations/accept/", {"token": token})
    if response.status_code == 302:
        assert response["Location"] == "/invitations/accept/"
    return response  # type: ignore[return-value]


SIGN_UP = {"full_name": "Newbie", "password1": PASSWORD, "password2": PASSWORD}


# --- Sign-up ------------------------------------------------------------------------


def test_signup_page_creates_tenant_owner_and_logs_in(db: None) -> None:
    c = Client()
    response = c.post(
        "/signup/",
        {
            "full_name": "Ada Lovelace",
            "email": "Ada@Example.test",
            "tenant_name": "Analytical Engines",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/t/analytical-engines/"
    user = User.objects.get(email="ada@example.test")
    with unscoped():
        (membership,) = Membership.objects.filter(user=user)
    assert (membership.role, membership.tenant.name) == (Role.OWNER, "Analytical Engines")
    page = c.get("/t/analytical-engines/")
    assert page.status_code == 200
    assert b"Analytical Engines" in page.content


def test_signup_with_taken_email_says_log_in_instead(world: World) -> None:
    response = Client().post(
        "/signup/",
        {
            "full_name": "Copy",
            "email": "owner@acme.test",
            "tenant_name": "Copy Inc",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert b"exists already. Log in instead." in response.content
    assert User.objects.filter(email="owner@acme.test").count() == 1


def test_signup_form_errors_say_what_to_fix_and_keep_input(db: None) -> None:
    response = Client().post(
        "/signup/",
        {
            "full_name": "Bo",
            "email": "bo@x.test",
            "tenant_name": "Bo Co",
            "password1": PASSWORD,
            "password2": PASSWORD + "x",
        },
    )
    assert b"The two passwords differ" in response.content
    assert b'value="bo@x.test"' in response.content
    assert b'value="Bo Co"' in response.content
    assert not User.objects.exists()


def test_slugs_are_unique(db: None) -> None:
    u1 = UserFactory()
    u2 = UserFactory()
    t1 = services.tenants.tenant_create(owner=u1, name="Same Name")
    t2 = services.tenants.tenant_create(owner=u2, name="Same Name")
    assert (t1.slug, t2.slug) == ("same-name", "same-name-2")


# --- Invitations ------------------------------------------------------------------


def test_invitation_sends_email_after_commit_and_audits(
    world: World, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        inv = invite(world)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@acme.test"]
    match = INVITATION_LINK.search(mail.outbox[0].body)
    assert match
    with tenant_scope(world.tenant):
        inv.refresh_from_db()
    assert inv.token_hash == hashlib.sha256(match["token"].encode()).hexdigest()
    assert "invitation.created" in audit_actions(world.tenant)


def test_new_user_accepts_invitation(world: World) -> None:
    inv, token = invite_by_mail(world, role=Role.ADMIN)
    c = Client()
    assert open_invitation(c, token).status_code == 302
    page = c.get("/invitations/accept/")
    assert page.status_code == 200
    assert b"Create your account for new@acme.test" in page.content
    response = c.post("/invitations/accept/", SIGN_UP)
    assert response.status_code == 302
    assert response["Location"] == "/t/acme/"
    with tenant_scope(world.tenant):
        m = Membership.objects.get(user__email="new@acme.test")
        assert m.role == Role.ADMIN
        inv.refresh_from_db()
        assert inv.status == InvitationStatus.ACCEPTED
    assert "invitation.accepted" in audit_actions(world.tenant)


def test_invitation_to_a_deactivated_workspace_answers_404_and_joins_nobody(
    world: World,
) -> None:
    inv, token = invite_by_mail(world)
    opened_before = Client()
    assert open_invitation(opened_before, token).status_code == 302
    world.tenant.is_active = False
    world.tenant.save(update_fields=["is_active"])
    assert open_invitation(Client(), token).status_code == 404
    assert opened_before.get("/invitations/accept/").status_code == 404
    response = opened_before.post("/invitations/accept/", SIGN_UP)
    assert response.status_code == 400  # the session forgot it: open the link again
    with tenant_scope(world.tenant):
        assert not Membership.objects.filter(user__email="new@acme.test").exists()
        inv.refresh_from_db()
        assert inv.status == InvitationStatus.PENDING


def test_demo_seed_refuses_to_run_outside_a_local_run(db: None, settings) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import CommandError, call_command

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("seed_demo")
    assert not Tenant.objects.filter(slug="demo").exists()
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    assert Tenant.objects.filter(slug="demo").exists()


def test_existing_user_of_another_tenant_accepts_and_gets_both(world: World) -> None:
    _, token = invite_by_mail(world, email="owner@globex.test")
    c = Client()
    # Not logged in: asked to log in, not to create an account; the log-in comes back
    # to the page, which still knows the invitation (no token in any URL).
    open_invitation(c, token)
    page = c.get("/invitations/accept/")
    assert b"Log in to accept" in page.content
    assert b'href="/login/?next=/invitations/accept/"' in page.content
    login = c.post(
        "/login/?next=/invitations/accept/",
        {"username": "owner@globex.test", "password": PASSWORD},
    )
    assert login["Location"] == "/invitations/accept/"
    assert b'id="accept"' in c.get("/invitations/accept/").content
    response = c.post("/invitations/accept/")
    assert response.status_code == 302
    assert c.get("/t/acme/").status_code == 200
    assert c.get("/t/globex/").status_code == 200


def test_invitation_cannot_be_used_twice(world: World) -> None:
    inv, token = invite_by_mail(world)
    c = Client()
    open_invitation(c, token)
    assert c.post("/invitations/accept/", SIGN_UP).status_code == 302
    other_browser = Client()
    open_invitation(other_browser, token)
    again = other_browser.get("/invitations/accept/")
    assert again.status_code == 410
    assert b"used already" in again.content
    with pytest.raises(InvitationError):
        services.invitations.invitation_accept(invitation=inv, user=world.agent.user)


def test_expired_invitation_is_refused_with_what_to_do(world: World) -> None:
    inv, token = invite_by_mail(world)
    c = Client()
    open_invitation(c, token)
    with tenant_scope(world.tenant):
        Invitation.objects.filter(pk=inv.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    response = c.post("/invitations/accept/", SIGN_UP)
    assert response.status_code == 410
    assert b"has expired. Ask an admin" in response.content
    assert not User.objects.filter(email="new@acme.test").exists()


def test_revoked_invitation_is_refused(world: World) -> None:
    inv, token = invite_by_mail(world)
    with tenant_scope(world.tenant):
        services.invitations.invitation_revoke(actor=world.admin, invitation=inv)
    c = Client()
    open_invitation(c, token)
    page = c.get("/invitations/accept/")
    assert page.status_code == 410
    assert b"was revoked. Ask an admin" in page.content
    assert "invitation.revoked" in audit_actions(world.tenant)


def test_invitation_for_another_address_is_refused(world: World) -> None:
    _, token = invite_by_mail(world, email="someone@acme.test")
    c = Client()
    c.force_login(world.other_owner.user)
    open_invitation(c, token)
    response = c.post("/invitations/accept/")
    assert response.status_code == 400
    assert b"was sent to someone@acme.test" in response.content


def test_unknown_token_is_404(db: None) -> None:
    response = open_invitation(Client(), "nope")
    assert response.status_code == 404
    assert b"This link does not open an invitation." in response.content


def test_duplicate_invitation_and_existing_member_are_refused(world: World) -> None:
    invite(world)
    c = Client()
    c.force_login(world.owner.user)
    dup = c.post("/t/acme/settings/members/", {"email": "NEW@acme.test", "role": "agent"})
    assert dup.status_code == 400
    assert b"has a pending invitation" in dup.content
    member = c.post("/t/acme/settings/members/", {"email": "agent@acme.test", "role": "agent"})
    assert b"is a member already" in member.content


def test_expire_task_marks_and_audits(world: World) -> None:
    inv = invite(world)
    with tenant_scope(world.tenant):
        Invitation.objects.filter(pk=inv.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert services.invitations.invitations_expire() == 1
    with tenant_scope(world.tenant):
        inv.refresh_from_db()
    assert inv.status == InvitationStatus.EXPIRED
    assert "invitation.expired" in audit_actions(world.tenant)


def test_admin_cannot_invite_an_owner(world: World) -> None:
    with tenant_scope(world.tenant), pytest.raises(NotAllowed):
        services.invitations.invitation_create(
            actor=world.admin, email="boss@acme.test", role=Role.OWNER
        )


# --- Roles and the last owner ----------------------------------------------------------


def test_last_owner_cannot_be_demoted_or_removed(world: World) -> None:
    with tenant_scope(world.tenant):
        with pytest.raises(LastOwnerError):
            services.members.membership_change_role(
                actor=world.owner, membership=world.owner, role="admin"
            )
        with pytest.raises(LastOwnerError):
            services.members.membership_remove(actor=world.owner, membership=world.owner)
        assert Membership.objects.get(pk=world.owner.pk).role == Role.OWNER


def test_last_owner_rule_through_the_page(world: World) -> None:
    c = Client()
    c.force_login(world.owner.user)
    response = c.post(
        f"/t/acme/settings/members/{world.owner.pk}/role/", {"role": "agent"}, follow=True
    )
    assert "last owner" in response.content.decode()
    with tenant_scope(world.tenant):
        assert Membership.objects.get(pk=world.owner.pk).role == Role.OWNER


def test_owner_can_step_down_once_another_owner_exists(world: World) -> None:
    with tenant_scope(world.tenant):
        services.members.membership_change_role(
            actor=world.owner, membership=world.admin, role="owner"
        )
        services.members.membership_change_role(
            actor=world.owner, membership=world.owner, role="admin"
        )
        assert Membership.objects.filter(role=Role.OWNER).count() == 1
    actions = audit_actions(world.tenant)
    assert actions.count("member.role_changed") == 2


def test_admin_cannot_touch_owners(world: World) -> None:
    with tenant_scope(world.tenant):
        with pytest.raises(NotAllowed):
            services.members.membership_change_role(
                actor=world.admin, membership=world.owner, role="agent"
            )
        with pytest.raises(NotAllowed):
            services.members.membership_change_role(
                actor=world.admin, membership=world.agent, role="owner"
            )
        with pytest.raises(NotAllowed):
            services.members.membership_remove(actor=world.admin, membership=world.owner)


def test_removing_a_member_audits_and_locks_them_out(world: World) -> None:
    with tenant_scope(world.tenant):
        services.members.membership_remove(actor=world.admin, membership=world.agent)
    assert "member.removed" in audit_actions(world.tenant)
    c = Client()
    c.force_login(world.agent.user)
    assert c.get("/t/acme/").status_code == 404


# --- Teams -------------------------------------------------------------------------


def test_team_lifecycle_is_audited(world: World) -> None:
    with tenant_scope(world.tenant):
        team = services.teams.team_create(actor=world.admin, name="Support")
        services.teams.team_member_add(actor=world.admin, team=team, membership=world.agent)
        services.teams.team_member_add(
            actor=world.admin, team=team, membership=world.agent
        )  # twice
        assert team.members.count() == 1
        services.teams.team_rename(actor=world.admin, team=team, name="Care")
        services.teams.team_member_remove(actor=world.admin, team=team, membership=world.agent)
        services.teams.team_delete(actor=world.admin, team=team)
    assert [a for a in audit_actions(world.tenant) if a.startswith("team.")] == [
        "team.created",
        "team.member_added",
        "team.renamed",
        "team.member_removed",
        "team.deleted",
    ]


def test_audit_log_page_shows_only_this_tenants_events(world: World) -> None:
    with tenant_scope(world.other_tenant):
        services.teams.team_create(actor=world.other_owner, name="Secret Team")
    with tenant_scope(world.tenant):
        services.teams.team_create(actor=world.owner, name="Visible Team")
    c = Client()
    c.force_login(world.owner.user)
    page = c.get("/t/acme/settings/audit/").content.decode()
    assert "Visible Team" in page
    assert "Secret Team" not in page


def test_a_retried_notification_mail_task_does_not_mail_anyone_twice(
    world: World, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with tenant_scope(world.tenant), django_capture_on_commit_callbacks(execute=True):
        ids = services.notifications.notify_managers(title="Quality dropped", url="/t/acme/")
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [world.owner.user.email, world.admin.user.email]
    )
    # The task runs again (a retry after a later e-mail failed): nobody gets a second one.
    with tenant_scope(world.tenant):
        assert services.notifications.notification_send_emails(notification_ids=ids) == 0
    assert len(mail.outbox) == 2
