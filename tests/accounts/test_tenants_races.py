"""Check-then-create races on a workspace's slug and a new account's e-mail address.

Each service checks first (is the slug free, is the address new) and inserts after; a
second request can commit the same slug or address in between. The tests make that
happen for real: a hook between the check and the insert commits the conflicting row
from another thread (its own connection and transaction). The answer is the one the form
gives without a race, never an IntegrityError (a 500).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from accounts.models import Membership, Tenant, User, UserManager
from accounts.services import tenants
from accounts.tenancy import unscoped
from tests.factories import PASSWORD, World

pytestmark = pytest.mark.django_db(transaction=True)


def commit_in_another_transaction(work: Callable[[], object]) -> None:
    """Run ``work`` in a thread with its own connection, committed before this returns."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with transaction.atomic():
                work()
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    if failures:
        raise failures[0]


@pytest.fixture
def slug_taken_after_check(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first slug found free is taken by another request before the insert."""
    taken: list[str] = []
    find = tenants._unique_slug

    def racing(name: str) -> str:
        slug = find(name)
        if not taken:
            taken.append(slug)
            commit_in_another_transaction(
                lambda: Tenant.objects.create(name=f"{name} (other tab)", slug=slug)
            )
        return slug

    monkeypatch.setattr(tenants, "_unique_slug", racing)
    return taken


@pytest.fixture
def address_taken_after_check(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first address found new signs up in another request before the insert."""
    taken: list[str] = []
    create_user = UserManager.create_user

    def racing(self: UserManager, email: str, password: str | None = None, **fields: Any) -> User:
        if not taken:
            taken.append(email)
            commit_in_another_transaction(
                lambda: User.objects.create(email=email, full_name="Other tab")
            )
        return create_user(self, email, password, **fields)

    monkeypatch.setattr(UserManager, "create_user", racing)
    return taken


SIGNUP = {
    "full_name": "Ada Lovelace",
    "email": "ada@example.test",
    "tenant_name": "Analytical Engines",
    "password1": PASSWORD,
    "password2": PASSWORD,
}


def test_a_workspace_whose_slug_is_taken_meanwhile_gets_the_next_one(
    world: World, slug_taken_after_check: list[str]
) -> None:
    c = Client()
    c.force_login(world.owner.user)
    response = c.post("/workspaces/new/", {"name": "Race Co"})
    assert slug_taken_after_check == ["race-co"]
    assert (response.status_code, response["Location"]) == (302, "/t/race-co-2/")
    assert Tenant.objects.get(slug="race-co").name == "Race Co (other tab)"
    with unscoped():
        assert Membership.objects.get(tenant__slug="race-co-2").user == world.owner.user
    assert c.get("/t/race-co-2/").status_code == 200


def test_a_sign_up_whose_slug_is_taken_meanwhile_gets_the_next_one(
    db: None, slug_taken_after_check: list[str]
) -> None:
    response = Client().post("/signup/", SIGNUP)
    assert slug_taken_after_check == ["analytical-engines"]
    assert (response.status_code, response["Location"]) == (302, "/t/analytical-engines-2/")
    with unscoped():
        owner = Membership.objects.get(tenant__slug="analytical-engines-2").user
    assert owner.email == "ada@example.test"


def test_an_address_that_signs_up_meanwhile_is_answered_as_the_form_does(
    db: None, address_taken_after_check: list[str]
) -> None:
    response = Client().post("/signup/", SIGNUP)
    assert address_taken_after_check == ["ada@example.test"]
    assert response.status_code == 200
    assert b"An account with this e-mail address exists already. Log in instead." in (
        response.content
    )
    assert b'value="Analytical Engines"' in response.content  # the input is kept
    assert list(User.objects.values_list("full_name", flat=True)) == ["Other tab"]
    assert not Tenant.objects.exists()  # the sign-up left nothing behind


def test_a_slug_lost_race_after_race_ends_in_the_forms_answer(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    find = tenants._unique_slug
    lost: list[str] = []

    def always_taken(name: str) -> str:
        slug = find(name)
        lost.append(slug)
        commit_in_another_transaction(lambda: Tenant.objects.create(name=name, slug=slug))
        return slug

    monkeypatch.setattr(tenants, "_unique_slug", always_taken)
    c = Client()
    c.force_login(world.owner.user)
    response = c.post("/workspaces/new/", {"name": "Busy"})
    assert lost == ["busy", "busy-2", "busy-3", "busy-4", "busy-5"]
    assert response.status_code == 200
    assert b"Workspaces with this name are being created right now." in response.content
    with unscoped():
        assert not Membership.objects.filter(tenant__slug__startswith="busy").exists()
