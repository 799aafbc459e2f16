"""Connecting a WABA: the onboarding pipeline against the mock Meta server over HTTP.

Tasks run in-process here (eager); tests/senders/test_onboarding_worker.py runs the
same pipeline on a real worker, and tests/browser/ drives it from the browser.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from accounts.models import AuditEvent, Membership
from accounts.tenancy import tenant_scope, unscoped
from senders import troubleshooting as ts
from senders.models import (
    ConnectionStatus,
    MetaAsset,
    Onboarding,
    OnboardingStatus,
    PhoneNumber,
    WhatsAppAccount,
)
from tests.factories import World

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def graph_at_mock(settings, mock_meta):  # type: ignore[no-untyped-def]
    settings.GRAPH_API_BASE_URL = mock_meta.base_url
    settings.ONBOARDING_RETRY_BASE_SECONDS = 0
    return mock_meta


def login(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def connect(c: Client, signup: dict[str, Any], slug: str = "acme", **session_overrides: Any):  # type: ignore[no-untyped-def]
    session = {**signup["session_info"], **session_overrides}
    return c.post(
        f"/t/{slug}/settings/whatsapp/connect/",
        json.dumps({"code": signup.get("code"), "session": session}),
        content_type="application/json",
    )


def onboarding_of(world: World, pk: int) -> Onboarding:
    with tenant_scope(world.tenant):
        return Onboarding.objects.get(pk=pk)


def steps(world: World, ob: Onboarding) -> dict[str, str]:
    with tenant_scope(world.tenant):
        return dict(ob.steps.values_list("name", "status"))


def test_connect_registers_the_number_and_lands_connected(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(
        business_name="Acme GmbH",
        waba_name="Acme Support",
        phone="+4915112345678",
        display_name="Acme Support",
    )
    response = connect(login(world.owner), signup)
    assert response.status_code == 201, response.content
    ob = onboarding_of(world, response.json()["onboarding"])
    assert ob.status == OnboardingStatus.SUCCEEDED, ob.error_message
    assert set(steps(world, ob).values()) <= {"done", "skipped"}
    assert steps(world, ob)["credit_line"] == "skipped"  # tech provider: no credit line

    with tenant_scope(world.tenant):
        waba = WhatsAppAccount.objects.get()
        phone = PhoneNumber.objects.get()
        assert (waba.waba_id, waba.name, waba.connection_status) == (
            signup["waba_id"],
            "Acme Support",
            ConnectionStatus.CONNECTED,
        )
        assert waba.subscribed and waba.access_token
        assert phone.phone_number_id == signup["phone_number_id"]
        assert (phone.meta_status, phone.platform_type, phone.is_primary) == (
            "CONNECTED",
            "CLOUD_API",
            True,
        )
        assert phone.business_profiles.get().fetched_at is not None
        assert {a.meta_id for a in MetaAsset.objects.all()} == {waba.waba_id, phone.phone_number_id}
        assert "waba.connected" in AuditEvent.objects.values_list("action", flat=True)
        pin = str(phone.pin)
        token = str(waba.access_token)
    # Meta now has the number registered with our PIN and our app subscribed.
    state = mock_meta.state()
    (mock_phone,) = [p for p in state["phone_numbers"] if p["id"] == phone.phone_number_id]
    assert (mock_phone["status"], mock_phone["pin"]) == ("CONNECTED", pin)
    assert _subscriptions(mock_meta, waba.waba_id)
    # Secrets are encrypted at rest: neither the PIN nor the token is in the table.
    with connection.cursor() as cur:
        cur.execute("SELECT pin FROM senders_phonenumber")
        (stored_pin,) = cur.fetchone()
        cur.execute("SELECT access_token FROM senders_whatsappaccount")
        (stored_token,) = cur.fetchone()
    assert pin not in stored_pin and len(pin) == 6
    assert token not in stored_token


def test_progress_and_result_pages(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915112345679", display_name="Acme Care")
    c = login(world.admin)
    url = connect(c, signup).json()["url"]
    page = c.get(url).content.decode()
    assert 'data-status="succeeded"' in page and 'id="open-waba"' in page
    partial = c.get(url, headers={"HX-Request": "true"})
    assert partial.has_header("HX-Redirect")
    detail = c.get(partial["HX-Redirect"]).content.decode()
    assert "Acme Care" in detail and "+49" in detail
    assert 'data-status="connected"' in detail


def test_only_waba_shared_skips_registration(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(business_name="No Number Co")
    assert signup["session_info"]["event"] == "FINISH_ONLY_WABA"
    ob = onboarding_of(world, connect(login(world.owner), signup).json()["onboarding"])
    assert ob.status == OnboardingStatus.SUCCEEDED
    assert steps(world, ob)["register_number"] == "skipped"


def test_without_session_info_the_waba_is_found_with_debug_token(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(business_name="Quiet Co")
    ob = onboarding_of(world, connect(login(world.owner), signup, data={}).json()["onboarding"])
    assert ob.status == OnboardingStatus.SUCCEEDED
    assert ob.waba_id == signup["waba_id"]
    assert steps(world, ob)["confirm_waba"] == "done"


def test_agents_cannot_connect_and_nothing_is_stored(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915112345670")
    response = connect(login(world.agent), signup)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    with tenant_scope(world.tenant):
        assert not Onboarding.objects.exists()


def test_malformed_signup_result_gets_a_clear_error(world: World) -> None:
    c = login(world.owner)
    bad = c.post("/t/acme/settings/whatsapp/connect/", b"{nope", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "malformed_json"
    no_code = c.post(
        "/t/acme/settings/whatsapp/connect/",
        json.dumps({"session": {"event": "FINISH", "data": {"waba_id": "1"}}}),
        content_type="application/json",
    )
    assert no_code.status_code == 400
    assert "authorisation code" in no_code.json()["error"]["message"]


@pytest.mark.parametrize(
    ("session", "problem"),
    [
        ({"event": "CANCEL", "data": {"current_step": "PHONE_NUMBER_SETUP"}}, ts.SIGNUP_INCOMPLETE),
        (
            {
                "event": "ERROR",
                "data": {
                    "error_message": (
                        "You don't have permission to create a WhatsApp Business Account"
                    )
                },
            },
            ts.NO_RIGHT_CREATE_WABA,
        ),
        (
            {
                "event": "ERROR",
                "data": {
                    "error_message": "Phone number limit reached for this WhatsApp Business Account"
                },
            },
            ts.WABA_NUMBER_LIMIT,
        ),
        (
            {
                "event": "ERROR",
                "data": {"error_message": "This phone number is already registered on WhatsApp"},
            },
            ts.NUMBER_OTHER_WABA,
        ),
    ],
)
def test_signup_cancelled_or_failed_at_meta_shows_its_fix(
    world: World, session: dict, problem: str
) -> None:
    c = login(world.owner)
    response = c.post(
        "/t/acme/settings/whatsapp/connect/",
        json.dumps({"code": None, "session": {"type": "WA_EMBEDDED_SIGNUP", **session}}),
        content_type="application/json",
    )
    assert response.status_code == 201
    ob = onboarding_of(world, response.json()["onboarding"])
    assert (ob.status, ob.problem) == (OnboardingStatus.FAILED, problem)
    page = c.get(response.json()["url"]).content.decode()
    assert f'data-problem="{problem}"' in page
    assert f"/t/acme/settings/whatsapp/troubleshooting/#{problem}" in page


def test_a_waba_taken_by_another_workspace_leaves_our_disconnected_record_alone(
    world: World, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    first = mock_meta.signup(business_name="Moved On", phone="+4915112345681")
    c = login(world.owner)
    connect(c, first)
    with tenant_scope(world.tenant):
        waba = WhatsAppAccount.objects.get()
    c.post(f"/t/acme/settings/whatsapp/accounts/{waba.pk}/disconnect/")
    taken = mock_meta.signup(business_id=first["business_id"], waba_id=first["waba_id"])
    connect(login(world.other_owner), taken, slug="globex")
    # Acme tries to connect it again: refused, and its own record stays as it was.
    again = mock_meta.signup(business_id=first["business_id"], waba_id=first["waba_id"])
    ob = onboarding_of(world, connect(c, again).json()["onboarding"])
    assert (ob.status, ob.problem) == (OnboardingStatus.FAILED, ts.ANOTHER_PROVIDER)
    with tenant_scope(world.tenant):
        waba.refresh_from_db()
        assert waba.connection_status == ConnectionStatus.DISCONNECTED
        assert waba.access_token is None


def test_two_tenants_racing_for_one_waba_one_wins(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    first = mock_meta.signup(business_name="Shared", phone="+4915112345671")
    won = onboarding_of(world, connect(login(world.owner), first).json()["onboarding"])
    assert won.status == OnboardingStatus.SUCCEEDED
    # The same WABA handed to another workspace.
    second = mock_meta.signup(business_id=first["business_id"], waba_id=first["waba_id"])
    response = connect(login(world.other_owner), second, slug="globex")
    with tenant_scope(world.other_tenant):
        ob = Onboarding.objects.get(pk=response.json()["onboarding"])
        assert (ob.status, ob.problem) == (OnboardingStatus.FAILED, ts.ANOTHER_PROVIDER)
        assert not WhatsAppAccount.objects.filter(
            connection_status=ConnectionStatus.CONNECTED
        ).exists()
    with unscoped():
        assert MetaAsset.objects.get(meta_id=first["waba_id"]).tenant_id == world.tenant.pk


def test_two_step_pin_at_previous_provider_then_retry(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    seeded = mock_meta.seed(
        businesses=[
            {
                "name": "Moved Co",
                "wabas": [
                    {
                        "name": "Moved",
                        "phone_numbers": [
                            {
                                "phone": "+4915199990000",
                                "registered": False,
                                "verified": True,
                                "pin": "424242",
                                "pin_set_by": "previous-bsp",
                            }
                        ],
                    }
                ],
            }
        ]
    )
    signup = mock_meta.signup(business_id=seeded["business_id"], waba_id=seeded["waba_id"])
    c = login(world.owner)
    response = connect(
        c,
        signup,
        event="FINISH",
        data={
            "waba_id": seeded["waba_id"],
            "phone_number_id": seeded["phone_number_id"],
            "business_id": seeded["business_id"],
        },
    )
    ob = onboarding_of(world, response.json()["onboarding"])
    assert (ob.status, ob.problem) == (OnboardingStatus.FAILED, ts.TWO_STEP_VERIFICATION)
    assert steps(world, ob)["register_number"] == "failed"
    assert "Turn off two-step verification" in c.get(response.json()["url"]).content.decode()
    # The customer turns the PIN off at the previous provider, then clicks Retry.
    mock_meta.patch("phone", seeded["phone_number_id"], pin=None, pin_set_by=None)
    c.post(f"/t/acme/settings/whatsapp/onboarding/{ob.pk}/retry/")
    ob = onboarding_of(world, ob.pk)
    assert ob.status == OnboardingStatus.SUCCEEDED, ob.error_message
    with tenant_scope(world.tenant):
        assert PhoneNumber.objects.get().meta_status == "CONNECTED"


def test_credit_line_attached_for_solution_partners(world: World, mock_meta, settings) -> None:  # type: ignore[no-untyped-def]
    settings.META_CREDIT_LINE_ID = "700000000000001"
    ok = mock_meta.signup(business_name="Euro Co", currency="EUR")
    ob = onboarding_of(world, connect(login(world.owner), ok).json()["onboarding"])
    assert steps(world, ob)["credit_line"] == "done"
    with tenant_scope(world.tenant):
        assert WhatsAppAccount.objects.get().credit_line_attached


def test_credit_line_that_cannot_be_attached(world: World, mock_meta, settings) -> None:  # type: ignore[no-untyped-def]
    settings.META_CREDIT_LINE_ID = "700000000000001"
    yen = mock_meta.signup(business_name="Yen Co", currency="JPY")
    c = login(world.owner)
    response = connect(c, yen)
    ob = onboarding_of(world, response.json()["onboarding"])
    assert (ob.status, ob.problem) == (OnboardingStatus.FAILED, ts.CREDIT_LINE)
    assert (
        "Create a new WhatsApp Business Account" in c.get(response.json()["url"]).content.decode()
    )


def test_rate_limit_on_registration_is_its_own_problem(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915112345674")
    mock_meta.fault("POST", r"/register$", code=133016, http_status=400, times=1)
    ob = onboarding_of(world, connect(login(world.owner), signup).json()["onboarding"])
    assert (ob.status, ob.problem) == (OnboardingStatus.FAILED, ts.REGISTRATION_LIMIT)


def test_a_used_code_cannot_connect_twice(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915112345675")
    connect(login(world.owner), signup)
    again = onboarding_of(world, connect(login(world.owner), signup).json()["onboarding"])
    assert (again.status, again.problem) == (OnboardingStatus.FAILED, ts.SIGNUP_INCOMPLETE)
    # What Meta said is kept for the user, without the code or the app secret in it.
    assert again.error_message
    assert signup["code"] not in again.error_message
    assert "test-app-secret" not in again.error_message


def test_token_without_access_to_numbers(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915112345676")
    mock_meta.fault(
        "GET",
        r"/phone_numbers$",
        code=200,
        http_status=403,
        times=1,
        message="(#200) Permissions error",
    )
    ob = onboarding_of(world, connect(login(world.owner), signup).json()["onboarding"])
    assert (ob.status, ob.problem) == (OnboardingStatus.FAILED, ts.NO_PERMISSION_ADD_NUMBERS)


def test_disconnect_then_reconnect_keeps_the_same_records(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(business_name="Loop Co", phone="+4915112345677")
    c = login(world.owner)
    connect(c, signup)
    with tenant_scope(world.tenant):
        waba = WhatsAppAccount.objects.get()
        first_connected_at = waba.connected_at
        # The account holds the token; the finished onboarding keeps no copy.
        assert waba.access_token and Onboarding.objects.get().access_token is None
    response = c.post(f"/t/acme/settings/whatsapp/accounts/{waba.pk}/disconnect/", follow=True)
    assert "is disconnected" in response.content.decode()
    with tenant_scope(world.tenant):
        waba.refresh_from_db()
        assert waba.connection_status == ConnectionStatus.DISCONNECTED
        assert waba.access_token is None
        assert not Onboarding.objects.exclude(access_token=None).exists()
        assert not MetaAsset.objects.exists()
        assert PhoneNumber.objects.get().connection_status == ConnectionStatus.DISCONNECTED
        assert "waba.disconnected" in AuditEvent.objects.values_list("action", flat=True)
    assert _subscriptions(mock_meta, signup["waba_id"]) == []
    # Connect the same WABA again: the same rows come back to life.
    again = mock_meta.signup(business_id=signup["business_id"], waba_id=signup["waba_id"])
    ob = onboarding_of(world, connect(c, again).json()["onboarding"])
    assert ob.status == OnboardingStatus.SUCCEEDED, ob.error_message
    with tenant_scope(world.tenant):
        assert list(WhatsAppAccount.objects.values_list("pk", "connection_status")) == [
            (waba.pk, ConnectionStatus.CONNECTED)
        ]
        assert PhoneNumber.objects.count() == 1
        history = list(
            waba.history.filter(kind="connection")
            .order_by("pk")
            .values_list("old_value", "new_value")
        )
        assert [new for _, new in history] == ["connected", "disconnected", "connected"]
        assert history[-1][0] == "disconnected"  # not "registering": it was a reconnection
        waba.refresh_from_db()
        assert waba.connected_at > first_connected_at


def _subscriptions(mock_meta, waba_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    (waba,) = [w for w in mock_meta.state()["wabas"] if w["id"] == waba_id]
    return list((waba.get("subscriptions") or {}).values())


def test_agents_and_other_tenants_cannot_touch_the_account(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(phone="+4915112345678")
    ob_id = connect(login(world.owner), signup).json()["onboarding"]
    with tenant_scope(world.tenant):
        waba = WhatsAppAccount.objects.get()
        phone = PhoneNumber.objects.get()
    agent = login(world.agent)
    assert agent.get(f"/t/acme/settings/whatsapp/accounts/{waba.pk}/").status_code == 200
    assert (
        agent.post(f"/t/acme/settings/whatsapp/accounts/{waba.pk}/disconnect/").status_code == 403
    )
    assert agent.post(f"/t/acme/settings/whatsapp/accounts/{waba.pk}/sync/").status_code == 403
    assert agent.post(f"/t/acme/settings/whatsapp/numbers/{phone.pk}/primary/").status_code == 403
    assert agent.post(f"/t/acme/settings/whatsapp/onboarding/{ob_id}/retry/").status_code == 403
    other = login(world.other_owner)
    for path in (
        f"/t/acme/settings/whatsapp/accounts/{waba.pk}/",
        f"/t/globex/settings/whatsapp/accounts/{waba.pk}/",
        f"/t/globex/settings/whatsapp/onboarding/{ob_id}/",
    ):
        assert other.get(path).status_code == 404, path
    for path in (
        f"/t/globex/settings/whatsapp/accounts/{waba.pk}/disconnect/",
        f"/t/globex/settings/whatsapp/accounts/{waba.pk}/sync/",
        f"/t/globex/settings/whatsapp/numbers/{phone.pk}/primary/",
        f"/t/globex/settings/whatsapp/numbers/{phone.pk}/resubmit/",
        f"/t/globex/settings/whatsapp/onboarding/{ob_id}/retry/",
    ):
        assert other.post(path).status_code == 404, path
    with tenant_scope(world.tenant):
        waba.refresh_from_db()
        assert waba.connection_status == ConnectionStatus.CONNECTED
        assert PhoneNumber.objects.get().is_primary
        assert Onboarding.objects.get(pk=ob_id).status == OnboardingStatus.SUCCEEDED


def test_primary_sender_switches_and_stays_unique(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    first = mock_meta.signup(business_name="Two Numbers", phone="+4915100000001")
    c = login(world.owner)
    connect(c, first)
    second = mock_meta.signup(
        business_id=first["business_id"],
        waba_id=first["waba_id"],
        phone="+4915100000002",
        display_name="Second",
    )
    connect(c, second)
    with tenant_scope(world.tenant):
        one, two = PhoneNumber.objects.order_by("created_at")
        assert (one.is_primary, two.is_primary) == (True, False)
    c.post(f"/t/acme/settings/whatsapp/numbers/{two.pk}/primary/")
    with tenant_scope(world.tenant):
        assert list(PhoneNumber.objects.filter(is_primary=True).values_list("pk", flat=True)) == [
            two.pk
        ]
        assert "phone_number.primary_set" in AuditEvent.objects.values_list("action", flat=True)


def test_resubmit_a_number_after_fixing_it_at_meta(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(business_name="Resubmit Co", phone="+4915188887777")
    c = login(world.owner)
    connect(c, signup)
    with tenant_scope(world.tenant):
        phone = PhoneNumber.objects.get()
        phone.name_status, phone.problem = "DECLINED", ts.DISPLAY_NAME_REJECTED
        phone.connection_status = ConnectionStatus.ACTION_REQUIRED
        phone.save()
    page = c.get(f"/t/acme/settings/whatsapp/accounts/{phone.waba_id}/").content.decode()
    assert 'data-problem="display_name_rejected"' in page and "data-resubmit" in page
    # Meta approved the new name; the admin resubmits.
    mock_meta.patch("phone", phone.phone_number_id, name_status="APPROVED")
    response = c.post(f"/t/acme/settings/whatsapp/numbers/{phone.pk}/resubmit/", follow=True)
    assert "is being resubmitted" in response.content.decode()
    with tenant_scope(world.tenant):
        phone.refresh_from_db()
    assert (phone.connection_status, phone.problem, phone.name_status) == (
        ConnectionStatus.CONNECTED,
        "",
        "APPROVED",
    )
    assert agent_cannot_resubmit(world, phone.pk)


def test_a_resubmit_that_registers_clears_the_registration_problem(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    signup = mock_meta.signup(business_name="Two Step Co", phone="+4915188887778")
    c = login(world.owner)
    connect(c, signup)
    with tenant_scope(world.tenant):
        phone = PhoneNumber.objects.get()
        phone.problem, phone.problem_detail = ts.TWO_STEP_VERIFICATION, "old"
        phone.connection_status, phone.registered_at = ConnectionStatus.ACTION_REQUIRED, None
        phone.save()
    c.post(f"/t/acme/settings/whatsapp/numbers/{phone.pk}/resubmit/")
    with tenant_scope(world.tenant):
        phone.refresh_from_db()
    assert (phone.connection_status, phone.problem, phone.problem_detail) == (
        ConnectionStatus.CONNECTED,
        "",
        "",
    )
    assert phone.registered_at is not None


def agent_cannot_resubmit(world: World, phone_pk: int) -> bool:
    return (
        login(world.agent)
        .post(f"/t/acme/settings/whatsapp/numbers/{phone_pk}/resubmit/")
        .status_code
        == 403
    )


def test_the_pin_is_kept_when_registration_fails_for_a_moment(
    world: World, mock_meta, settings
) -> None:  # type: ignore[no-untyped-def]
    """Registering is not idempotent: the PIN of a failed attempt must survive it, so the
    retry sends the PIN Meta may already have set."""
    settings.ONBOARDING_MAX_RETRIES = 0  # give up at once: the state after one attempt
    signup = mock_meta.signup(phone="+4915112345679")
    mock_meta.fault("POST", r"/register$", http_status=503, code=2, times=1)
    c = login(world.owner)
    response = connect(c, signup)
    ob = onboarding_of(world, response.json()["onboarding"])
    assert ob.status == OnboardingStatus.FAILED
    with tenant_scope(world.tenant):
        pin = PhoneNumber.objects.get().pin
    assert pin and len(str(pin)) == 6
    c.post(f"/t/acme/settings/whatsapp/onboarding/{ob.pk}/retry/")
    assert onboarding_of(world, ob.pk).status == OnboardingStatus.SUCCEEDED
    with tenant_scope(world.tenant):
        assert PhoneNumber.objects.get().pin == pin
    (mock_phone,) = [
        p for p in mock_meta.state()["phone_numbers"] if p["id"] == signup["phone_number_id"]
    ]
    assert mock_phone["pin"] == pin


def test_a_step_that_breaks_unexpectedly_fails_with_retry_not_forever(
    world: World, mock_meta, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from senders.services import onboarding as pipeline

    def broken(onboarding: Onboarding) -> None:
        raise KeyError("id")  # e.g. an answer without a field we rely on

    monkeypatch.setitem(pipeline.STEP_FUNCTIONS, "fetch_profile", broken)
    signup = mock_meta.signup(phone="+4915112345680")
    c = login(world.owner)
    response = connect(c, signup)
    ob = onboarding_of(world, response.json()["onboarding"])
    assert (ob.status, ob.problem) == (OnboardingStatus.FAILED, ts.UNEXPECTED)
    assert steps(world, ob)["fetch_profile"] == "failed"
    assert "Click Retry" in c.get(response.json()["url"]).content.decode()
    monkeypatch.undo()  # fixed: Retry finishes the connection
    c.post(f"/t/acme/settings/whatsapp/onboarding/{ob.pk}/retry/")
    assert onboarding_of(world, ob.pk).status == OnboardingStatus.SUCCEEDED
