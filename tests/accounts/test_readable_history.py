"""Issue #10: the audit log and notifications in words, in the reader's language and zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from accounts import services
from accounts.models import AuditEvent, Notification, Role
from accounts.services.audit import audit_describe
from accounts.services.notifications import notification_title
from accounts.templatetags.portal_dates import when_text
from accounts.tenancy import tenant_scope
from senders.services import notifications as senders_notifications
from tests.factories import World


def _page(world: World, url: str, language: str = "en") -> str:
    user = world.owner.user
    user.language = language
    user.save()
    c = Client()
    c.force_login(user)
    return c.get(url).content.decode()


def test_a_role_change_reads_as_a_sentence_with_role_names(world: World) -> None:
    world.owner.user.full_name = "Anna"
    world.owner.user.save()
    with tenant_scope(world.tenant):
        services.members.membership_change_role(
            actor=world.owner, membership=world.agent, role=Role.ADMIN
        )
        event = AuditEvent.objects.get(action="member.role_changed")
    with translation.override("en"):
        assert audit_describe(event) == (
            "Anna changed the role of agent@acme.test from Agent to Admin"
        )
    with translation.override("ru"):  # the parameters follow the reader's language
        assert "Оператор" in audit_describe(event)
        assert "Администратор" in audit_describe(event)
    page = _page(world, "/t/acme/settings/audit/")
    assert "member.role_changed" not in page
    assert "from=agent" not in page
    assert "Anna changed the role of agent@acme.test from Agent to Admin" in page


def test_an_unknown_action_is_readable_and_never_the_raw_metadata(world: World) -> None:
    with tenant_scope(world.tenant):
        event = AuditEvent.objects.create(
            tenant=world.tenant, actor=None, action="waba.frobbed", metadata={"x": 1}
        )
    text = audit_describe(event)
    assert "waba.frobbed" not in text
    assert "frobbed" in text
    assert "{" not in text and "x=1" not in text


def test_a_kind_notification_is_stored_as_kind_and_params_and_read_in_the_readers_language(
    world: World, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    world.owner.user.language = "ru"
    world.owner.user.save()
    with tenant_scope(world.tenant), django_capture_on_commit_callbacks(execute=True):
        ids = services.notifications.notify_managers_of(
            kind=senders_notifications.KIND_PHONE_REMOVED,
            params={"number": "+49 30 1234", "account": "Acme WABA"},
            url="/t/acme/",
        )
        n = Notification.objects.get(pk=ids[0])
        assert n.kind == "phone_number.removed"
        assert n.params == {"number": "+49 30 1234", "account": "Acme WABA"}
        rows = list(Notification.objects.filter(pk__in=ids).select_related("user"))
    for row in rows:
        with translation.override("en"):
            assert notification_title(row) == "+49 30 1234 was removed from Acme WABA"
        with translation.override("ru"):
            assert notification_title(row).startswith("Номер +49 30 1234 удалён")
    # Each e-mail in its recipient's language.
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects["owner@acme.test"].startswith("Номер")
    assert subjects["admin@acme.test"].startswith("+49 30 1234 was removed")


def test_the_notifications_page_renders_the_kind_in_the_readers_language(
    world: World,
) -> None:
    with tenant_scope(world.tenant):
        services.notifications.notify_managers_of(
            kind=senders_notifications.KIND_PHONE_REMOVED,
            params={"number": "+49 30 1234", "account": "Acme WABA"},
            url="/t/acme/",
            email=False,
        )
    assert "Номер +49 30 1234 удалён" in _page(world, "/t/acme/notifications/", "ru")


def test_one_date_format_in_the_users_time_zone_without_a_doubled_period(world: World) -> None:
    moment = datetime(2026, 12, 1, 19, 37, tzinfo=UTC)
    with translation.override("en"), timezone.override("Europe/Berlin"):
        assert when_text(moment) == "Dec. 1, 2026, 20:37"
    assert "p.m." not in when_text(moment)
    user = world.owner.user
    user.time_zone = "Asia/Tokyo"
    user.save()
    with tenant_scope(world.tenant):
        AuditEvent.objects.create(
            tenant=world.tenant, actor=user, action="team.created", created_at=moment
        )
    page = _page(world, "/t/acme/settings/audit/")
    assert "Dec. 2, 2026, 04:37" in page


def test_the_german_audit_filter_placeholder_fits_its_box(world: World) -> None:
    page = _page(world, "/t/acme/settings/audit/", "de")
    tag = re.search(r'<input[^>]*id="action-filter"[^>]*>', page)
    assert tag is not None
    placeholder = re.search(r'placeholder="([^"]*)"', tag.group(0))
    size = re.search(r'size="(\d+)"', tag.group(0))
    assert placeholder is not None and size is not None
    assert len(placeholder.group(1)) <= int(size.group(1))


def test_the_profile_page_keeps_the_chosen_time_zone(world: World) -> None:
    c = Client()
    user = world.owner.user
    c.force_login(user)
    assert 'name="time_zone"' in c.get("/account/").content.decode()
    response = c.post(
        "/account/",
        {"full_name": "Anna", "language": "en", "time_zone": "Europe/Berlin"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.time_zone == "Europe/Berlin"
