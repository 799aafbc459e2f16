"""The primary sender: exactly one per workspace, also when two people change it at once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from accounts.tenancy import tenant_scope
from senders.models import ConnectionStatus, PhoneNumber
from senders.services import phone_numbers
from tests.factories import World
from tests.fixtures_senders import Connected

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_changes_of_the_primary_sender_at_once_are_made_in_turn(
    world: World, connected_waba: Connected
) -> None:
    tenant = world.tenant
    with tenant_scope(tenant):
        b, c = (
            PhoneNumber.objects.create(
                waba=connected_waba.waba,
                phone_number_id=f"29900000000000{i}",
                connection_status=ConnectionStatus.CONNECTED,
            )
            for i in (1, 2)
        )
    errors: list[BaseException] = []
    first_done, release = threading.Event(), threading.Event()

    def first() -> None:  # makes B primary, and holds its transaction open a moment
        try:
            with tenant_scope(tenant), transaction.atomic():
                phone_numbers.phone_number_set_primary(actor=world.owner, phone=b)
                first_done.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)
            first_done.set()
        finally:
            connection.close()

    def second() -> None:  # meanwhile, someone else makes C primary
        try:
            with tenant_scope(tenant):
                phone_numbers.phone_number_set_primary(actor=world.owner, phone=c)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert first_done.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.5)  # the second waits for the first rather than reading its old state
    release.set()
    one.join(10)
    two.join(10)
    assert errors == []
    with tenant_scope(tenant):
        primary = list(PhoneNumber.objects.filter(is_primary=True).values_list("pk", flat=True))
    assert primary == [c.pk]
