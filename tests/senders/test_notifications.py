"""Notifications reach each owner and admin in their own language, in the app and by e-mail."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Notification
from accounts.tenancy import tenant_scope
from senders.models import HistoryKind
from senders.services import notifications, snapshots
from tests.fixtures_senders import Connected

pytestmark = pytest.mark.django_db


def test_a_downgrade_is_told_to_managers_in_their_language(
    connected_waba: Connected, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    world_owner = connected_waba.tenant.memberships
    with tenant_scope(connected_waba.tenant):
        owner, admin, agent = (
            world_owner.get(role="owner"),
            world_owner.get(role="admin"),
            world_owner.get(role="agent"),
        )
        admin.user.language = "de"
        admin.user.save()
        with django_capture_on_commit_callbacks(execute=True):
            change = snapshots.history_record(
                waba=connected_waba.waba,
                phone=connected_waba.phone,
                kind=HistoryKind.QUALITY,
                old="GREEN",
                new="RED",
                source="webhook",
            )
            notifications.notify_for_changes(waba=connected_waba.waba, changes=[change])
        titles = dict(Notification.objects.values_list("user__email", "title"))
    assert set(titles) == {owner.user.email, admin.user.email}  # not the agent
    assert titles[owner.user.email].startswith("Quality of ")
    assert "Hoch → Niedrig" in titles[admin.user.email]  # values in words, not GREEN → RED
    assert not titles[admin.user.email].startswith("Quality of ")  # German
    assert sorted(m.to[0] for m in mail.outbox) == sorted(titles)
    assert agent.user.email not in {m.to[0] for m in mail.outbox}

    c = Client()
    c.force_login(owner.user)
    page = c.get(f"/t/{connected_waba.tenant.slug}/notifications/").content.decode()
    assert 'id="unread-count">1<' in page
    assert titles[owner.user.email] in page
    assert titles[admin.user.email] not in page  # each sees their own
    c.post(f"/t/{connected_waba.tenant.slug}/notifications/")
    assert 'id="unread-count"' not in c.get(f"/t/{connected_waba.tenant.slug}/").content.decode()
    # Marking read is the owner's own: the admin's notification is still unread.
    with tenant_scope(connected_waba.tenant):
        unread = Notification.objects.filter(read_at=None)
        assert list(unread.values_list("user__email", flat=True)) == [admin.user.email]


def test_every_senders_notification_is_stored_as_a_kind_and_read_in_the_readers_language(
    connected_waba,
) -> None:  # type: ignore[no-untyped-def]
    """Written while the manager reads English, read after switching to German."""
    from django.utils import translation

    from accounts.models import Notification
    from accounts.services.notifications import notification_body, notification_title
    from senders.services import notifications as sn

    phone = connected_waba.phone
    with tenant_scope(connected_waba.tenant):
        sn.name_decided_notify(
            waba=connected_waba.waba, phone=phone, name="Acme", approved=False, reason="x"
        )
        sn.waba_reinstated_notify(waba=connected_waba.waba)
        sn.phone_resubmit_notify(phone=phone, before="connected", registered=True)
        rows = list(Notification.objects.exclude(kind="").order_by("pk"))
    assert {r.kind for r in rows} == {
        sn.KIND_NAME_REJECTED,
        sn.KIND_WABA_REINSTATED,
        sn.KIND_RESUBMITTED,
    }
    for row in rows:
        with translation.override("en"):
            english = notification_title(row)
        with translation.override("de"):
            german = notification_title(row), notification_body(row)
        assert german[0] and german[0] != english, row.kind
    with translation.override("de"):
        rejected = next(r for r in rows if r.kind == sn.KIND_NAME_REJECTED)
        assert "abgelehnt" in notification_title(rejected)
        assert "x" in notification_body(rejected)
