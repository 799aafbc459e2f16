"""The number's page: its state in words and the step that is missing, for every role.

Another workspace's number is "not found" on every page and action of it; an agent sees
everything and acts on nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import ConnectionStatus, PhoneNumber
from senders.services import rules
from tests.factories import PhoneNumberFactory, World
from tests.fixtures_senders import Connected
from tests.senders.numbers_support import htmx, login, number_url, pending_number, reload

pytestmark = pytest.mark.django_db(transaction=True)

ACTIONS = (
    "code/request",
    "code/verify",
    "register",
    "pin",
    "pin/reveal",
    "resubmit-steps",
    "remove",
)


def step_state(html: str, key: str) -> str:
    return html.split(f'data-step="{key}" data-step-state="')[1].split('"')[0]


def set_phone(c: Connected, phone: PhoneNumber, **values: Any) -> PhoneNumber:
    with tenant_scope(c.tenant):
        PhoneNumber.objects.filter(pk=phone.pk).update(**values)
    return reload(c, phone)


def test_each_number_row_of_the_account_links_to_its_page(world: World, connect_waba) -> None:  # type: ignore[no-untyped-def]
    c = connect_waba(world.tenant, numbers=2)
    html = (
        login(world.agent).get(f"/t/acme/settings/whatsapp/accounts/{c.waba.pk}/").content.decode()
    )
    for phone in c.phones:
        assert f'href="{number_url(phone)}" data-number-link="{phone.pk}"' in html


def test_a_connected_number_shows_its_state_in_words(
    world: World, connected_waba: Connected
) -> None:
    phone = set_phone(
        connected_waba, connected_waba.phone, quality_rating="YELLOW", messaging_limit="TIER_10K"
    )
    response = login(world.agent).get(number_url(phone))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('id="number-heading"') == 1  # the number's nav
    assert 'data-quality="YELLOW">Medium<' in html
    assert "10,000" in html.split('id="number-limit"')[1][:80]
    assert 'data-status="connected"' in html
    assert {step_state(html, k) for k in ("name", "verification", "registration", "payment")} == {
        "done"
    }


def test_a_pending_number_says_which_step_is_missing_and_what_to_do(
    world: World, connected_waba: Connected
) -> None:
    phone = pending_number(connected_waba)
    html = login(world.owner).get(number_url(phone)).content.decode()
    assert step_state(html, "name") == "waiting"
    assert "Meta reviews “Acme Support”" in html
    assert step_state(html, "verification") == "todo"
    assert "Ask for a 6-digit code by SMS or voice call" in html
    assert step_state(html, "registration") == "later"
    assert step_state(html, "payment") == "done"
    assert 'id="code-request-form"' in html and 'id="register-number"' not in html


def test_a_rejected_name_is_a_step_to_do_with_its_fix(
    world: World, connected_waba: Connected
) -> None:
    phone = set_phone(
        connected_waba,
        connected_waba.phone,
        name_status="DECLINED",
        name_rejection_reason="Does not match the business",
        problem=ts.DISPLAY_NAME_REJECTED,
        connection_status=ConnectionStatus.ACTION_REQUIRED,
    )
    html = login(world.owner).get(number_url(phone)).content.decode()
    assert step_state(html, "name") == "todo"
    assert "Reason: Does not match the business" in html
    assert f'#{ts.DISPLAY_NAME_REJECTED}">What to do' in html
    assert f'data-problem="{ts.DISPLAY_NAME_REJECTED}"' in html
    assert f'data-resubmit="{phone.phone_number_id}"' in html  # registering again helps


@pytest.mark.parametrize(
    ("waba_values", "problem"),
    [
        (
            {"health": {"entities": [{"entity_type": "WABA", "errors": [{"error_code": 141006}]}]}},
            "",
        ),
        ({"problem": ts.CREDIT_LINE, "connection_status": ConnectionStatus.ACTION_REQUIRED}, "cl"),
    ],
)
def test_a_payment_method_or_credit_line_problem_is_the_step_to_do(
    world: World, connected_waba: Connected, waba_values: dict[str, Any], problem: str
) -> None:
    with tenant_scope(connected_waba.tenant):
        type(connected_waba.waba).objects.filter(pk=connected_waba.waba.pk).update(**waba_values)
    html = login(world.owner).get(number_url(connected_waba.phone)).content.decode()
    assert step_state(html, "payment") == "todo"
    if problem:
        assert str(ts.get(ts.CREDIT_LINE).title) in html
    else:
        assert "WhatsApp Manager → Payment settings" in html


def test_a_quality_flag_offers_no_resubmit_and_says_why(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = set_phone(
        connected_waba,
        connected_waba.phone,
        meta_status="FLAGGED",
        connection_status=ConnectionStatus.RESTRICTED,
    )
    owner = login(world.owner)
    html = owner.get(number_url(phone)).content.decode()
    assert "data-resubmit" not in html and 'id="flag-note"' in html
    mock_meta.requests(clear=True)
    refused = htmx(owner, number_url(phone, "resubmit-steps")).content.decode()
    assert "Resubmitting cannot fix this" in refused
    assert not [r for r in mock_meta.requests() if r["path"].endswith("/register")]


def test_resubmit_of_a_number_meta_has_not_verified_registers_nothing_and_says_so(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    """Only the steps not done yet: verification needs the owner's code, so it stops."""
    phone = pending_number(connected_waba)
    # Our records say verified and a PIN failed; Meta still has the number unverified.
    phone = set_phone(
        connected_waba,
        phone,
        code_verification_status="VERIFIED",
        problem=ts.TWO_STEP_VERIFICATION,
        connection_status=ConnectionStatus.ACTION_REQUIRED,
    )
    mock_meta.requests(clear=True)
    html = htmx(login(world.owner), number_url(phone, "resubmit-steps")).content.decode()
    assert "only the steps not done yet are run" in html
    assert not [r for r in mock_meta.requests() if r["path"].endswith("/register")]
    phone = reload(connected_waba, phone)
    assert phone.problem == ts.NUMBER_NOT_VERIFIED
    assert phone.code_verification_status == "NOT_VERIFIED"  # read back from Meta
    assert not rules.phone_resubmit_can_help(phone)  # the page offers Verify instead


def test_resubmit_of_a_verified_number_registers_it(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = set_phone(
        connected_waba,
        connected_waba.phone,
        problem=ts.TWO_STEP_VERIFICATION,
        connection_status=ConnectionStatus.ACTION_REQUIRED,
    )
    mock_meta.requests(clear=True)
    htmx(login(world.owner), number_url(phone, "resubmit-steps"))
    assert len([r for r in mock_meta.requests() if r["path"].endswith("/register")]) == 1
    assert reload(connected_waba, phone).connection_status == ConnectionStatus.CONNECTED


def test_without_htmx_a_step_redirects_back_to_the_page_with_its_message(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    response = login(world.owner).post(
        number_url(phone, "code/request"), {"method": "SMS", "language": "en_US"}, follow=True
    )
    assert response.redirect_chain[-1][0] == number_url(phone)
    assert "Meta sent the code to" in response.content.decode()
    refused = login(world.owner).post(number_url(phone, "code/verify"), {"code": "12"}, follow=True)
    assert refused.redirect_chain[-1][0] == number_url(phone)
    assert "Enter the 6 digits of the code you received." in refused.content.decode()


@pytest.mark.parametrize("role", ["owner", "admin", "agent"])
def test_every_role_sees_the_page(world: World, connected_waba: Connected, role: str) -> None:
    html = login(world.by_role(role)).get(number_url(connected_waba.phone)).content.decode()
    assert 'id="number-steps"' in html
    assert ('id="open-remove"' in html) == (role != "agent")
    assert ('id="agent-note"' in html) == (role == "agent")


def test_an_agent_is_refused_every_action(
    world: World, connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    phone = pending_number(connected_waba)
    agent = login(world.agent)
    for action in ACTIONS:
        assert agent.post(number_url(phone, action)).status_code == 403, action
        assert htmx(agent, number_url(phone, action)).status_code == 403, action


def test_another_workspaces_number_is_not_found_on_the_page_and_every_action(
    world: World, connected_waba: Connected, other_connected_waba: Connected, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    foreign = other_connected_waba.phone
    for role in ("owner", "admin", "agent"):
        client = login(world.by_role(role))
        assert client.get(number_url(foreign)).status_code == 404
        for action in ACTIONS:
            expected = 404 if role != "agent" else 403
            assert client.post(number_url(foreign, action)).status_code == expected, action
    # Globex's own owner sees it at Globex.
    globex = login(world.other_owner)
    url = reverse("senders:number_detail", kwargs={"tenant_slug": "globex", "phone_pk": foreign.pk})
    assert globex.get(url).status_code == 200
    assert globex.get(number_url(connected_waba.phone)).status_code == 404
    assert not [r for r in mock_meta.requests() if foreign.phone_number_id in r["path"]]


def test_a_number_of_a_disconnected_account_offers_no_steps(
    world: World, connected_waba: Connected
) -> None:
    with tenant_scope(connected_waba.tenant):
        type(connected_waba.waba).objects.filter(pk=connected_waba.waba.pk).update(
            connection_status=ConnectionStatus.DISCONNECTED
        )
    phone = PhoneNumberFactory(
        waba=reload(connected_waba, connected_waba.phone).waba,
        code_verification_status="NOT_VERIFIED",
        meta_status="PENDING",
        platform_type="NOT_APPLICABLE",
        connection_status=ConnectionStatus.PENDING,
    )
    html = login(world.owner).get(number_url(phone)).content.decode()
    assert 'id="code-request-form"' not in html and 'id="register-number"' not in html
