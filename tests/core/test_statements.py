"""``waba_portal.statements``: a query compiled once per key, its data read every time."""

from __future__ import annotations

import pytest

from accounts.models import Team
from accounts.tenancy import tenant_scope, unscoped
from inbox.models import Message
from senders.models import PhoneNumber
from tests.factories import PhoneNumberFactory, World, team
from waba_portal import statements

pytestmark = pytest.mark.django_db


def _team_names(key: str) -> list[str]:
    found = statements.rows((key,), lambda: Team.objects.order_by("name").values_list("name"))
    return [name for (name,) in found]


def test_the_statement_is_compiled_once_and_the_rows_are_read_each_time(world: World) -> None:
    team(world.tenant, "Billing")
    with tenant_scope(world.tenant):
        assert _team_names("statements-fresh") == ["Billing"]
        first = statements.statement(("statements-fresh",), lambda: Team.objects.none())
        team(world.tenant, "Aftercare")
        assert _team_names("statements-fresh") == ["Aftercare", "Billing"]
        # The same statement, not the second build's (which would match nothing).
        assert statements.statement(("statements-fresh",), Team.objects.none) is first


def test_the_tenant_scope_is_part_of_the_key(world: World) -> None:
    team(world.tenant, "Acme's team")
    team(world.other_tenant, "Globex's team")
    with tenant_scope(world.tenant):
        assert _team_names("statements-scope") == ["Acme's team"]
    with tenant_scope(world.other_tenant):
        assert _team_names("statements-scope") == ["Globex's team"]
    with unscoped():
        assert _team_names("statements-scope") == ["Acme's team", "Globex's team"]


def test_a_column_is_converted_as_the_orm_converts_it(world: World) -> None:
    phone = PhoneNumberFactory(waba__tenant=world.tenant)
    with tenant_scope(world.tenant):
        Message.objects.create(
            wamid="wamid.statements",
            direction="in",
            phone_number_id=phone.phone_number_id,
            wa_id="4915112345678",
            type="text",
            text="hi",
            payload={"text": {"body": "hi"}},
        )
        (row,) = statements.rows(
            ("statements-json",), lambda: Message.objects.values_list("payload", "created_at")
        )
        expected = Message.objects.values_list("payload", "created_at").get()
    assert row == expected and row[0] == {"text": {"body": "hi"}}  # a dict, not JSON text
    assert row[1].tzinfo is not None


def test_the_cache_keeps_a_bounded_number_of_statements(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statements, "STATEMENTS_KEPT", 3)
    with tenant_scope(world.tenant):
        for i in range(5):
            _team_names(f"statements-bound-{i}")
    assert len(statements._compiled) <= 3


def test_a_filter_no_row_can_pass_reads_nothing(world: World) -> None:
    team(world.tenant, "Billing")
    with tenant_scope(world.tenant):
        found = statements.rows(
            ("statements-empty",), lambda: Team.objects.filter(pk__in=[]).values_list("name")
        )
    assert found == []


def test_arguments_are_compiled_as_stand_ins_and_filled_in_at_each_call(world: World) -> None:
    billing, aftercare = team(world.tenant, "Billing"), team(world.tenant, "Aftercare")

    def name_of(pk: int) -> list[tuple[object, ...]]:
        return statements.rows(
            ("statements-args",), lambda p: Team.objects.filter(pk=p).values_list("name"), (pk,)
        )

    with tenant_scope(world.tenant):
        assert name_of(billing.pk) == [("Billing",)]
        assert name_of(aftercare.pk) == [("Aftercare",)]
        assert name_of(0) == []
        found = statements.statement(("statements-args",), Team.objects.none, 1)
    (position, index), *more = found.slots
    assert found.kept and not more and index == 0
    assert found.params[position] < 0  # the stand-in, not the first call's id


def test_an_argument_the_orm_changes_is_not_kept_and_the_orm_runs_instead(
    world: World,
) -> None:
    team(world.tenant, "Team 12")
    team(world.tenant, "Team 34")

    def containing(number: int) -> list[tuple[object, ...]]:
        return statements.rows(
            ("statements-like",),
            lambda n: Team.objects.filter(name__contains=n).values_list("name"),
            (number,),
        )

    with tenant_scope(world.tenant):
        assert containing(12) == [("Team 12",)]
        assert containing(34) == [("Team 34",)]
        assert not statements.statement(("statements-like",), Team.objects.none, 1).kept


def test_instances_are_built_as_the_orm_builds_them(world: World) -> None:
    phone = PhoneNumberFactory(waba__tenant=world.tenant)
    with tenant_scope(world.tenant):
        whole = statements.instances(
            ("statements-instances",),
            PhoneNumber,
            lambda pk: PhoneNumber.objects.filter(pk=pk),
            (phone.pk,),
        )
        (some,) = statements.instances(
            ("statements-some",),
            PhoneNumber,
            lambda pk: PhoneNumber.objects.filter(pk=pk),
            (phone.pk,),
            fields=("id", "display_phone_number"),
        )
        expected = PhoneNumber.objects.get(pk=phone.pk)
        assert [p.__dict__ | {"_state": None} for p in whole] == [
            expected.__dict__ | {"_state": None}
        ]
        assert not whole[0]._state.adding and whole[0]._state.db == "default"
        assert some.get_deferred_fields() >= {"waba_id", "phone_number_id"}
        assert some.display_phone_number == expected.display_phone_number
        assert some.phone_number_id == expected.phone_number_id  # read when asked for
