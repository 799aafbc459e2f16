"""The REST API of a number's steps: the same rules and refusals as the page.

Every refusal is ``{"error": {"code", "message", "details"}}``; Meta's refusals carry
the troubleshooting entry in ``details.problem``. The PIN leaves only through
``pin/reveal/``, once.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import ConnectionStatus, PhoneNumber
from tests.factories import World
from tests.fixtures_senders import Connected
from tests.senders.numbers_support import (
    api_url,
    calls,
    code_of,
    login,
    pending_number,
    reload,
    wrong_code,
)

pytestmark = pytest.mark.django_db(transaction=True)

ACTIONS = ("request-code", "verify", "register", "pin", "pin/reveal", "resubmit", "remove")


def post(client: Client, phone: PhoneNumber, action: str, body: Any = None) -> Any:
    return client.post(
        api_url(phone, action), json.dumps(body or {}), content_type="application/json"
    )


def error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


def test_the_detail_has_the_steps_and_the_verification_but_never_the_pin(
    world: World, connected_waba: Connected
) -> None:
    phone = pending_number(connected_waba, number_type="fixed_line")
    body = login(world.agent).get(api_url(phone)).json()
    assert body["id"] == phone.pk and body["connection_status"] == "pending"
    assert [s["key"] for s in body["steps"]] == ["name", "verification", "registration", "payment"]
    assert body["steps"][1]["state"] == "todo"
    assert body["verification"]["suggested_method"] == "VOICE"
    assert body["verification"]["attempts_left"] == 3
    assert body["two_step_verification"]["pin_set"] is False
    assert "pin" not in body and body["removed_at"] is None


def test_verify_register_reveal_and_change_the_pin_through_the_api(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    admin = login(world.admin)

    asked = post(admin, phone, "request-code", {"method": "SMS", "language": "ru_RU"})
    assert asked.status_code == 200, asked.content
    assert asked.json()["verification"]["language"] == "ru_RU"
    assert asked.json()["verification"]["code_expires_at"]
    verified = post(admin, phone, "verify", {"code": code_of(mock_meta, phone)})
    assert verified.status_code == 200 and verified.json()["verification"]["verified"]
    registered = post(admin, phone, "register")
    assert registered.status_code == 200, registered.content
    assert registered.json()["connection_status"] == "connected"
    pin = str(reload(connected_waba, phone).pin)
    assert pin not in registered.content.decode()

    shown = post(admin, phone, "pin/reveal")
    assert shown.json() == {"pin": pin} and shown["Cache-Control"] == "no-store"
    again = post(admin, phone, "pin/reveal")
    assert again.status_code == 409 and error(again)["code"] == "pin_shown_already"

    changed = post(admin, phone, "pin")
    assert changed.status_code == 200 and changed.json()["two_step_verification"]["pin_set"]
    new = str(reload(connected_waba, phone).pin)
    assert new != pin and post(admin, phone, "pin/reveal").json() == {"pin": new}


def test_a_wrong_code_and_a_lockout_answer_with_the_entry_and_when_to_try_again(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)
    with time_machine.travel(timezone.now(), tick=True):
        post(owner, phone, "request-code", {"method": "SMS", "language": "en_US"})
        wrong = wrong_code(code_of(mock_meta, phone))
        first = post(owner, phone, "verify", {"code": wrong})
        assert first.status_code == 400
        body = error(first)
        assert body["code"] == ts.VERIFICATION_CODE_WRONG
        assert body["details"]["attempts_left"] == 2
        assert body["details"]["fields"] == {"code": [body["message"]]}
        problem = body["details"]["problem"]
        assert problem["code"] == ts.VERIFICATION_CODE_WRONG
        assert problem["url"].endswith(f"/troubleshooting/#{ts.VERIFICATION_CODE_WRONG}")
        assert problem["steps"] == [str(s) for s in ts.get(ts.VERIFICATION_CODE_WRONG).steps]
        assert "Verify code error" in body["details"]["meta_detail"]
        post(owner, phone, "verify", {"code": wrong})
        third = error(post(owner, phone, "verify", {"code": wrong}))
        assert third["details"]["locked_until"]
        locked = post(owner, phone, "verify", {"code": wrong})
        assert locked.status_code == 409
        body = error(locked)
        assert body["code"] == ts.VERIFICATION_LOCKED and "try again at" in body["message"]
        until = body["details"]["locked_until"]
        assert abs(
            datetime.fromisoformat(until) - (timezone.now() + timedelta(hours=4))
        ) < timedelta(minutes=1)
        assert error(post(owner, phone, "request-code"))["code"] == ts.VERIFICATION_LOCKED
    assert len(calls(mock_meta, phone, "verify_code")) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": ["123456"]}, "code"),
        ({"code": True}, "code"),
        ({"code": "12 34"}, "code"),
        ([1, 2], "code"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    world: World, connected_waba: Connected, mock_meta, body: Any, field: str
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)
    post(owner, phone, "request-code", {"method": "SMS", "language": "en_US"})
    response = post(owner, phone, "verify", body)
    assert response.status_code == 400
    assert field in error(response)["details"]["fields"]


def test_a_numeric_code_is_taken_as_its_digits(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    owner = login(world.owner)
    post(owner, phone, "request-code", {"method": "VOICE", "language": "en_US"})
    code = code_of(mock_meta, phone)
    response = post(owner, phone, "verify", {"code": int(code)})
    if code.startswith("0"):  # a number loses its leading zero: 5 digits, refused as such
        assert response.status_code == 400 and error(response)["details"]["fields"]["code"]
    else:
        assert response.status_code == 200, response.content


def test_registering_an_unverified_number_is_refused_with_the_entry(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    response = post(login(world.owner), phone, "register")
    assert response.status_code == 409
    assert error(response)["details"]["problem"]["code"] == ts.NUMBER_NOT_VERIFIED
    assert calls(mock_meta, phone, "register") == []


def test_removing_the_primary_needs_new_primary_then_hands_it_over(
    world: World, connect_waba, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    primary, other = c.phones
    owner = login(world.owner)

    refused = owner.delete(api_url(primary), "{}", content_type="application/json")
    assert refused.status_code == 400
    body = error(refused)
    assert body["code"] == "new_primary_required" and "new_primary" in body["details"]["fields"]

    done = owner.delete(
        api_url(primary), json.dumps({"new_primary": other.pk}), content_type="application/json"
    )
    assert done.status_code == 200, done.content
    assert done.json()["connection_status"] == ConnectionStatus.DISCONNECTED
    assert done.json()["removed_at"]
    assert reload(c, other).is_primary


def test_post_remove_works_like_delete(world: World, connect_waba, mock_meta) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    response = post(login(world.admin), c.phones[1], "remove")
    assert response.status_code == 200 and response.json()["removed_at"]
    assert len(calls(mock_meta, c.phones[1], "deregister")) == 1


def test_resubmit_is_accepted_where_it_helps_and_refused_for_a_quality_flag(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = connected_waba.phone
    owner = login(world.owner)
    with tenant_scope(connected_waba.tenant):
        PhoneNumber.objects.filter(pk=phone.pk).update(
            meta_status="FLAGGED", connection_status=ConnectionStatus.RESTRICTED
        )
    refused = post(owner, phone, "resubmit")
    assert (
        refused.status_code == 409 and "Resubmitting cannot fix this" in error(refused)["message"]
    )
    with tenant_scope(connected_waba.tenant):
        PhoneNumber.objects.filter(pk=phone.pk).update(
            meta_status="PENDING",
            problem=ts.TWO_STEP_VERIFICATION,
            connection_status=ConnectionStatus.ACTION_REQUIRED,
        )
    assert post(owner, phone, "resubmit").status_code == 202


def test_an_agent_reads_and_is_refused_every_action(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = connected_waba.phone
    agent = login(world.agent)
    assert agent.get(api_url(phone)).status_code == 200
    for action in ACTIONS:
        assert post(agent, phone, action).status_code == 403, action
    assert agent.delete(api_url(phone)).status_code == 403
    assert calls(mock_meta, phone, "deregister") == []


def test_another_workspaces_number_is_not_found_on_every_endpoint(
    world: World, connected_waba: Connected, other_connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    foreign = other_connected_waba.phone
    owner = login(world.owner)
    assert owner.get(api_url(foreign)).status_code == 404
    assert owner.delete(api_url(foreign)).status_code == 404
    for action in ACTIONS:
        assert post(owner, foreign, action).status_code == 404, action
    # Nor as the replacement of our primary.
    response = owner.delete(
        api_url(connected_waba.phone),
        json.dumps({"new_primary": foreign.pk}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not [r for r in mock_meta.requests() if foreign.phone_number_id in r["path"]]
