"""Accounts tasks run by a real Celery worker process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, InvitationStatus, Role, invitation_token_hash
from accounts.tasks import invitations_expire
from accounts.tenancy import tenant_scope
from tests.accounts.test_services import INVITATION_LINK
from tests.factories import World
from tests.fixtures_celery import WorkerProcess, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_invitation_email_is_sent_by_the_worker_after_commit(
    world: World, celery_worker_process: WorkerProcess
) -> None:
    with tenant_scope(world.tenant):
        invitation = services.invitations.invitation_create(
            actor=world.owner, email="worker@acme.test", role=Role.AGENT
        )
    # A mail file is created before it is written: wait for one with its headers.
    mails = wait_for(
        lambda: [m for m in celery_worker_process.mails() if m["To"]],
        message="no mail from the worker",
    )
    assert mails[0]["To"] == "worker@acme.test"
    link = INVITATION_LINK.search(mails[0].get_payload(decode=True).decode())
    assert link, "no invitation link in the mail"
    # The worker commits the new token's hash once the mail is out: wait for that commit.

    def hash_committed() -> bool:
        with tenant_scope(world.tenant):
            invitation.refresh_from_db()
        return invitation.token_hash == invitation_token_hash(link["token"])

    wait_for(hash_committed, message="the mailed token's hash was never committed")


def test_beat_task_expires_invitations_in_every_tenant(
    world: World, celery_worker_process: WorkerProcess
) -> None:
    past = timezone.now() - timedelta(days=1)
    for tenant, owner in ((world.tenant, world.owner), (world.other_tenant, world.other_owner)):
        with tenant_scope(tenant):
            inv = services.invitations.invitation_create(
                actor=owner, email=f"x@{tenant.slug}.test", role="agent"
            )
            Invitation.objects.filter(pk=inv.pk).update(expires_at=past)
    invitations_expire.delay()

    def expired() -> bool:
        with tenant_scope(world.tenant):
            a = Invitation.objects.filter(status=InvitationStatus.EXPIRED).count()
        with tenant_scope(world.other_tenant):
            b = Invitation.objects.filter(status=InvitationStatus.EXPIRED).count()
        return a == b == 1

    wait_for(expired, message="invitations were not expired by the worker")


def test_task_for_a_deleted_tenant_ends_quietly(
    world: World, celery_worker_process: WorkerProcess
) -> None:
    from accounts.tasks import invitation_send_email_task

    with tenant_scope(world.tenant):
        invitation = services.invitations.invitation_create(
            actor=world.owner, email="gone@acme.test", role="agent"
        )
    wait_for(celery_worker_process.mails)
    world.tenant.is_active = False
    world.tenant.save()
    invitation_send_email_task.delay(world.tenant.pk, invitation.pk)
    wait_for(
        lambda: (
            "invitation_send_email" in celery_worker_process.log()
            and celery_worker_process.log().count("succeeded") >= 2
        ),
        message=celery_worker_process.log(),
    )
    assert len(celery_worker_process.mails()) == 1
