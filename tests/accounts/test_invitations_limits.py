"""Invitation e-mails, created or resent, are limited per inviting account and per
workspace in any hour, counted in the cache; a refusal says when to try again.

The clock stands still (time-machine) and travels; the counts live in the suite's Redis.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client, TestCase

from accounts import services
from accounts.errors import Invalid, InvitationLimitError, RateLimited
from accounts.models import AuditEvent, Invitation, Membership, Role
from accounts.services.invitations import LIMIT_SLICE_SECONDS
from accounts.tenancy import tenant_scope
from tests.factories import World

pytestmark = pytest.mark.django_db

SLICE = timedelta(seconds=LIMIT_SLICE_SECONDS)


@pytest.fixture
def clock(world: World) -> Iterator[time_machine.Traveller]:
    """The clock, standing at the start of the next slice of the limit's hour.

    The counters are named by the account's and the workspace's ids and creation times,
    and the cache outlives the test database: rows that count are made before the clock
    stops (``world`` here, other fixtures requested before this one), or two runs could
    give the same row the same id and creation time.
    """
    start = (math.floor(time.time() / LIMIT_SLICE_SECONDS) + 1) * LIMIT_SLICE_SECONDS
    with time_machine.travel(datetime.fromtimestamp(start, UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def limits(settings):  # type: ignore[no-untyped-def]
    def set_limits(*, account: int, tenant: int) -> None:
        settings.INVITATION_EMAILS_PER_ACCOUNT_PER_HOUR = account
        settings.INVITATION_EMAILS_PER_TENANT_PER_HOUR = tenant

    return set_limits


def invite(actor: Membership, email: str) -> Invitation:
    with tenant_scope(actor.tenant), TestCase.captureOnCommitCallbacks(execute=True):
        return services.invitations.invitation_create(actor=actor, email=email, role=Role.AGENT)


def resend(actor: Membership, invitation: Invitation) -> None:
    with tenant_scope(actor.tenant), TestCase.captureOnCommitCallbacks(execute=True):
        services.invitations.invitation_resend(actor=actor, invitation=invitation)


def refused(actor: Membership, email: str) -> InvitationLimitError:
    with pytest.raises(InvitationLimitError) as caught:
        invite(actor, email)
    return caught.value


def test_an_account_sends_so_many_in_any_hour_and_is_told_when_to_try_again(
    world: World, clock: time_machine.Traveller, limits
) -> None:  # type: ignore[no-untyped-def]
    limits(account=3, tenant=0)
    start = datetime.now(UTC)
    for n in range(3):
        invite(world.owner, f"n{n}@acme.test")
    assert len(mail.outbox) == 3

    refusal = refused(world.owner, "fourth@acme.test")
    assert isinstance(refusal, RateLimited)
    assert (refusal.status, refusal.code) == (429, "invitation_limit")
    # Counted in slices of five minutes: a sending counts for an hour and at most one
    # slice more; these were sent at the start of a slice.
    retry_at = start + timedelta(hours=1) + SLICE
    assert refusal.retry_at == retry_at
    assert refusal.message.startswith(
        "You have sent 3 invitation e-mails in the last hour, the most one person may send. "
        "Try again in 1\xa0hour, 5\xa0minutes (at "
    )
    assert refusal.message.endswith(" UTC).")  # the time, as the language writes it
    assert refusal.details == {"retry_at": retry_at.isoformat(), "limit": 3, "per": "account"}
    with tenant_scope(world.tenant):
        assert not Invitation.objects.filter(email="fourth@acme.test").exists()
        assert AuditEvent.objects.filter(action="invitation.created").count() == 3
    assert len(mail.outbox) == 3

    clock.move_to(retry_at - timedelta(seconds=1))
    refused(world.owner, "fourth@acme.test")
    clock.move_to(retry_at)
    invite(world.owner, "fourth@acme.test")
    assert len(mail.outbox) == 4


def test_the_hour_rolls_instead_of_starting_afresh(
    world: World, clock: time_machine.Traveller, limits
) -> None:  # type: ignore[no-untyped-def]
    limits(account=3, tenant=0)
    start = datetime.now(UTC)
    invite(world.owner, "early@acme.test")
    clock.shift(timedelta(minutes=50))
    invite(world.owner, "late1@acme.test")
    invite(world.owner, "late2@acme.test")
    # A fixed hour would start afresh at start + 60 minutes and allow three more.
    clock.move_to(start + timedelta(minutes=64))
    refused(world.owner, "x@acme.test")
    clock.move_to(start + timedelta(minutes=65))  # the early one no longer counts
    invite(world.owner, "x@acme.test")
    refusal = refused(world.owner, "y@acme.test")
    assert refusal.retry_at == start + timedelta(minutes=50 + 65)


@pytest.fixture
def in_second_workspace(world: World) -> Membership:
    """Acme's owner as the owner of a second workspace too."""
    second = services.tenants.tenant_create(owner=world.owner.user, name="Acme Two")
    with tenant_scope(second):
        return Membership.objects.get(user=world.owner.user)


def test_the_account_limit_spans_its_workspaces(
    world: World, in_second_workspace: Membership, clock, limits
) -> None:  # type: ignore[no-untyped-def]
    limits(account=2, tenant=0)
    in_second = in_second_workspace
    invite(world.owner, "a@acme.test")
    invite(in_second, "b@acme.test")
    assert refused(world.owner, "c@acme.test").details["per"] == "account"
    assert refused(in_second, "c@acme.test").details["per"] == "account"
    invite(world.other_owner, "c@globex.test")  # another account


def test_a_workspace_limit_counts_every_manager(world: World, clock, limits) -> None:  # type: ignore[no-untyped-def]
    limits(account=0, tenant=2)
    invite(world.owner, "a@acme.test")
    invite(world.admin, "b@acme.test")
    refusal = refused(world.admin, "c@acme.test")
    assert refusal.message.startswith(
        "This workspace has sent 2 invitation e-mails in the last hour, the most it may send. "
        "Try again in 1\xa0hour, 5\xa0minutes"
    )
    assert refusal.details["per"] == "tenant"
    invite(world.other_owner, "c@globex.test")  # another workspace


def test_the_later_of_two_limits_is_the_time_given(world: World, clock, limits) -> None:  # type: ignore[no-untyped-def]
    limits(account=2, tenant=3)
    invite(world.admin, "a@acme.test")
    clock.shift(timedelta(minutes=20))
    invite(world.owner, "b@acme.test")
    invite(world.owner, "c@acme.test")
    # Both are full: the workspace frees a place when the admin's invitation ages out,
    # the owner's account only when the owner's do, later; the refusal gives the later.
    refusal = refused(world.owner, "d@acme.test")
    assert refusal.details["per"] == "account"
    assert refusal.retry_at == datetime.now(UTC) + timedelta(hours=1) + SLICE


def test_resending_counts_and_a_refused_resend_changes_nothing(
    world: World, clock: time_machine.Traveller, limits
) -> None:  # type: ignore[no-untyped-def]
    limits(account=2, tenant=0)
    invitation = invite(world.owner, "a@acme.test")
    clock.shift(timedelta(days=1))  # in another hour
    resend(world.owner, invitation)
    resend(world.owner, invitation)
    with tenant_scope(world.tenant):
        invitation.refresh_from_db()
    expires_at = invitation.expires_at
    with pytest.raises(InvitationLimitError):
        resend(world.owner, invitation)
    assert len(mail.outbox) == 3
    with tenant_scope(world.tenant):
        invitation.refresh_from_db()
        assert invitation.expires_at == expires_at
        assert AuditEvent.objects.filter(action="invitation.resent").count() == 2


def test_other_refusals_and_refused_sendings_use_up_nothing(world: World, clock, limits) -> None:  # type: ignore[no-untyped-def]
    limits(account=2, tenant=0)
    invite(world.owner, "a@acme.test")
    with pytest.raises(Invalid):  # a pending invitation exists: no e-mail, no count
        invite(world.owner, "a@acme.test")
    invite(world.owner, "b@acme.test")
    first = refused(world.owner, "c@acme.test").retry_at
    clock.shift(timedelta(minutes=10))
    for _ in range(3):  # refused tries count nothing: the time stays
        assert refused(world.owner, "c@acme.test").retry_at == first


def test_zero_switches_a_limit_off(world: World, clock, limits) -> None:  # type: ignore[no-untyped-def]
    limits(account=0, tenant=0)
    for n in range(5):
        invite(world.owner, f"n{n}@acme.test")
    assert len(mail.outbox) == 5


def test_the_pages_show_the_refusal(world: World, clock, limits) -> None:  # type: ignore[no-untyped-def]
    limits(account=1, tenant=0)
    c = Client()
    c.force_login(world.owner.user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        first = c.post("/t/acme/settings/members/", {"email": "a@acme.test", "role": "agent"})
    assert first.status_code == 302
    second = c.post("/t/acme/settings/members/", {"email": "b@acme.test", "role": "agent"})
    assert second.status_code == 400
    assert "the most one person may send. Try again in 1\xa0hour, 5\xa0minutes" in (
        second.content.decode()
    )
    with tenant_scope(world.tenant):
        pending = Invitation.objects.get(email="a@acme.test")
    again = c.post(f"/t/acme/settings/invitations/{pending.pk}/resend/", follow=True)
    assert again.redirect_chain[-1][0] == "/t/acme/settings/members/"
    assert "the most one person may send. Try again in" in again.content.decode()
    assert len(mail.outbox) == 1
