"""Adding a number from the account's page (senders/services/number_add.py), against the
mock Meta server over HTTP; and adding one through Embedded Signup to the same account.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db.models import Q
from django.test import Client

from accounts.models import AuditEvent, Membership
from accounts.tenancy import tenant_scope, unscoped
from senders import troubleshooting as ts
from senders.models import (
    AccountHistory,
    ConnectionStatus,
    MetaAsset,
    MetaAssetKind,
    NumberVerification,
    Onboarding,
    OnboardingStatus,
    PhoneNumber,
    PhoneNumberDetails,
    WhatsAppAccount,
)
from senders.services import number_add
from tests.factories import PhoneNumberFactory, World
from tests.fixtures_senders import Connected, ConnectWaba

pytestmark = pytest.mark.django_db(transaction=True)

BERLIN = {"country": "DE", "number": "030 123456", "display_name": "Acme Berlin"}
BERLIN_E164 = "+4930123456"
BERLIN_SHOWN = "+49 30 123456"


def errors_on(page: str) -> list[str]:
    """The messages a page shows beside its fields and above its form (for failures)."""
    return re.findall(r'class="invalid-feedback"[^>]*>(.*?)</div></div>', page, re.S) + re.findall(
        r'role="alert"[^>]*>(.*?)</div>', page, re.S
    )


def login(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def add_url(connected: Connected | WhatsAppAccount, slug: str = "acme") -> str:
    pk = connected.waba.pk if isinstance(connected, Connected) else connected.pk
    return f"/t/{slug}/settings/whatsapp/accounts/{pk}/numbers/add/"


def adds_at_meta(mock_meta: Any) -> list[dict[str, Any]]:  # type: ignore[misc]
    return [
        r
        for r in mock_meta.requests()
        if r["method"] == "POST" and r["path"].endswith("/phone_numbers")
    ]


def numbers_of(world: World, connected: Connected) -> list[PhoneNumber]:
    with tenant_scope(world.tenant):
        return list(PhoneNumber.objects.filter(waba=connected.waba).order_by("pk"))


# --- The page ---------------------------------------------------------------------------


def test_the_page_shows_the_form_beside_the_prerequisites(
    world: World, connected_waba: Connected
) -> None:
    page = login(world.owner).get(add_url(connected_waba)).content.decode()
    assert 'id="number-add-form"' in page and 'id="number-prerequisites"' in page
    for words in (
        "belong to your business",
        "receive an SMS or a voice call",
        "not behind a voice menu (IVR)",
        "not be in use on WhatsApp or in the WhatsApp Business app",
        "Settings → Account → Delete account",
        "not a short code",
    ):
        assert words in page, words
    assert '<option value="DE">Germany (+49)</option>' in page
    assert 'id="connect-whatsapp"' in page  # the signup window, secondary
    assert "This account has 1 of 20 numbers" in page  # verified: Meta's starting 20


def test_countries_are_named_in_the_user_s_language(
    world: World, connected_waba: Connected
) -> None:
    world.owner.user.language = "de"
    world.owner.user.save(update_fields=["language"])
    page = login(world.owner).get(add_url(connected_waba)).content.decode()
    assert '<option value="DE">Deutschland (+49)</option>' in page
    assert '<option value="GB">Vereinigtes Königreich (+44)</option>' in page


def test_the_page_may_open_meta_s_signup_window(world: World, connected_waba: Connected) -> None:
    policy = login(world.owner).get(add_url(connected_waba))["Content-Security-Policy"]
    assert "https://connect.facebook.net" in policy and "https://www.facebook.com" in policy


def test_the_account_page_has_the_button_for_managers_only(
    world: World, connected_waba: Connected
) -> None:
    url = f"/t/acme/settings/whatsapp/accounts/{connected_waba.waba.pk}/"
    assert add_url(connected_waba) in login(world.admin).get(url).content.decode()
    assert add_url(connected_waba) not in login(world.agent).get(url).content.decode()


def test_adding_a_number_lands_on_its_page_with_every_row_written(
    world: World, connected_waba: Connected, mock_meta: Any
) -> None:
    response = login(world.owner).post(add_url(connected_waba), BERLIN)
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_scope(world.tenant):
        phone = PhoneNumber.objects.get(display_phone_number=BERLIN_SHOWN)
        assert response["Location"] == f"/t/acme/settings/whatsapp/numbers/{phone.pk}/"
        assert (phone.waba_id, phone.connection_status, phone.meta_status) == (
            connected_waba.waba.pk,
            ConnectionStatus.PENDING,
            "PENDING",
        )
        assert (phone.name_status, phone.code_verification_status, phone.verified_name) == (
            "PENDING_REVIEW",
            "NOT_VERIFIED",
            "Acme Berlin",
        )
        assert not phone.is_primary
        details = PhoneNumberDetails.objects.get(phone_number=phone)
        assert (details.e164, details.region, details.number_type) == (
            BERLIN_E164,
            "DE",
            "fixed_line",
        )
        assert details.added_in_portal and details.added_by == world.owner.user
        assert NumberVerification.objects.filter(phone_number=phone).exists()
        assert MetaAsset.objects.filter(
            kind=MetaAssetKind.PHONE_NUMBER,
            meta_id=phone.phone_number_id,
            waba_id=connected_waba.waba_id,
        ).exists()
        history = AccountHistory.objects.get(phone_number=phone)
        assert (history.kind, history.new_value, history.source) == (
            "connection",
            "pending",
            "user",
        )
        audit = AuditEvent.objects.get(action="phone_number.added")
        assert audit.actor == world.owner.user and audit.metadata["number"] == BERLIN_SHOWN
    # Meta got the calling code and the national number, and has the number pending.
    (call,) = adds_at_meta(mock_meta)
    assert call["body"] == {"cc": "49", "phone_number": "30123456", "verified_name": "Acme Berlin"}
    (at_meta,) = [p for p in mock_meta.state()["phone_numbers"] if p["id"] == phone.phone_number_id]
    assert (at_meta["status"], at_meta["code_verification_status"]) == ("PENDING", "NOT_VERIFIED")
    # The account page shows it in international format.
    page = login(world.agent).get(f"/t/acme/settings/whatsapp/accounts/{phone.waba_id}/")
    assert BERLIN_SHOWN in page.content.decode()


def test_field_errors_are_shown_together_and_meta_is_not_asked(
    world: World, connected_waba: Connected, mock_meta: Any
) -> None:
    response = login(world.owner).post(
        add_url(connected_waba),
        {"country": "US", "number": "33669", "display_name": "WhatsApp Official"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "33669 is a short code" in page
    assert "must not name Meta or its products" in page
    assert page.count('aria-invalid="true"') == 2
    assert adds_at_meta(mock_meta) == []
    assert len(numbers_of(world, connected_waba)) == 1


def test_an_empty_form_says_what_each_field_needs(world: World, connected_waba: Connected) -> None:
    page = login(world.owner).post(add_url(connected_waba), {}).content.decode()
    assert "Choose the country of the number from the list." in page
    assert "Enter a display name" in page
    assert page.count('aria-invalid="true"') == 2  # the number waits for its country


def test_a_number_on_this_account_already_is_refused(
    world: World, connected_waba: Connected, mock_meta: Any
) -> None:
    c = login(world.owner)
    assert c.post(add_url(connected_waba), BERLIN).status_code == 302
    page = c.post(add_url(connected_waba), {**BERLIN, "number": "+49 30 123456"}).content.decode()
    assert "is already on this account" in page, errors_on(page)
    assert len(adds_at_meta(mock_meta)) == 1


def test_a_number_on_another_account_of_the_workspace_is_refused(
    world: World, connected_waba: Connected, connect_waba: ConnectWaba, mock_meta: Any
) -> None:
    second = connect_waba(world.tenant, name="Acme Second")
    PhoneNumberFactory(waba=second.waba, display_phone_number=BERLIN_SHOWN)
    page = login(world.owner).post(add_url(connected_waba), BERLIN).content.decode()
    assert 'data-problem="number_other_waba"' in page
    assert "on another account of this workspace (Acme Second)" in page
    assert "disable two-step verification" in page
    assert adds_at_meta(mock_meta) == []


def test_a_number_another_workspace_holds_is_refused(
    world: World, connected_waba: Connected, other_connected_waba: Connected, mock_meta: Any
) -> None:
    PhoneNumberFactory(waba=other_connected_waba.waba, display_phone_number="+49 30 12 34 56")
    page = login(world.owner).post(add_url(connected_waba), BERLIN).content.decode()
    assert 'data-problem="number_other_waba"' in page
    assert "another workspace or provider holds" in page
    assert adds_at_meta(mock_meta) == []


def test_a_number_another_workspace_gave_up_is_for_meta_to_judge(
    world: World, connected_waba: Connected, other_connected_waba: Connected, mock_meta: Any
) -> None:
    # Disconnected there: its claim is released and only its history stays.
    PhoneNumberFactory(
        waba=other_connected_waba.waba,
        display_phone_number=BERLIN_SHOWN,
        connection_status=ConnectionStatus.DISCONNECTED,
    )
    assert login(world.owner).post(add_url(connected_waba), BERLIN).status_code == 302
    assert len(adds_at_meta(mock_meta)) == 1


def test_a_number_meta_has_on_another_waba_gets_the_entry_and_nothing_is_written(
    world: World, connected_waba: Connected, mock_meta: Any
) -> None:
    mock_meta.seed(
        businesses=[{"name": "Elsewhere", "wabas": [{"phone_numbers": [{"phone": BERLIN_E164}]}]}],
        tokens=[],
    )
    page = login(world.owner).post(add_url(connected_waba), BERLIN).content.decode()
    assert 'data-problem="number_other_waba"' in page
    assert "Meta says this number is registered to another WhatsApp Business Account" in page
    assert "Disable two-step verification for the number in the other account." in page
    assert len(numbers_of(world, connected_waba)) == 1
    with tenant_scope(world.tenant):
        assert not PhoneNumberDetails.objects.exists()
        assert MetaAsset.objects.filter(kind=MetaAssetKind.PHONE_NUMBER).count() == 1


# --- The cap --------------------------------------------------------------------------------


def test_the_cap_meta_reported_is_checked_before_meta_is_asked(
    world: World, connect_waba: ConnectWaba, mock_meta: Any
) -> None:
    connected = connect_waba(world.tenant, numbers=2, max_phone_numbers=2)
    page = login(world.owner).post(add_url(connected), BERLIN).content.decode()
    assert 'data-problem="waba_number_limit"' in page
    assert "This account has 2 of the 2 phone numbers it may have" in page
    assert adds_at_meta(mock_meta) == []


@pytest.mark.parametrize(
    ("verification", "cap"), [("verified", 20), ("not_verified", 2), ("pending", 2)]
)
def test_without_a_reported_cap_meta_s_starting_caps_apply(
    world: World, verification: str, cap: int
) -> None:
    waba = WhatsAppAccount(business_verification_status=verification, max_phone_numbers=None)
    assert number_add.number_cap(waba=waba) == cap
    waba.max_phone_numbers = 25  # business_capability_update said so
    assert number_add.number_cap(waba=waba) == 25


def test_an_unverified_business_adds_its_second_number_but_not_a_third(
    world: World, connect_waba: ConnectWaba, mock_meta: Any
) -> None:
    connected = connect_waba(world.tenant, verification="not_verified")
    c = login(world.owner)
    assert c.post(add_url(connected), BERLIN).status_code == 302
    page = c.post(
        add_url(connected), {**BERLIN, "number": "+44 7400 123456", "country": "GB"}
    ).content.decode()
    assert "This account has 2 of the 2 phone numbers it may have" in page
    assert len(adds_at_meta(mock_meta)) == 1


def test_removed_numbers_do_not_count_toward_the_cap(
    world: World, connect_waba: ConnectWaba, mock_meta: Any
) -> None:
    connected = connect_waba(world.tenant, numbers=2, verification="not_verified")
    with tenant_scope(world.tenant):
        PhoneNumber.objects.filter(pk=connected.phones[1].pk).update(
            connection_status=ConnectionStatus.DISCONNECTED
        )
    mock_meta.patch("business", connected.business_id, max_phone_numbers=3)
    assert login(world.owner).post(add_url(connected), BERLIN).status_code == 302


def test_meta_s_own_cap_maps_to_the_entry(
    world: World, connect_waba: ConnectWaba, mock_meta: Any
) -> None:
    connected = connect_waba(world.tenant, numbers=2)
    mock_meta.patch("business", connected.business_id, max_phone_numbers=2)
    page = login(world.owner).post(add_url(connected), BERLIN).content.decode()
    assert 'data-problem="waba_number_limit"' in page
    assert "Meta says this account has the maximum number of phone numbers" in page
    assert len(adds_at_meta(mock_meta)) == 1
    assert len(numbers_of(world, connected)) == 2


# --- Meta unavailable, roles, tenants ---------------------------------------------------------


@pytest.mark.parametrize("fault", [{"drop": True}, {"code": 2}, {"code": 4}])
def test_meta_not_answering_adds_nothing(
    world: World, connected_waba: Connected, mock_meta: Any, fault: dict[str, Any]
) -> None:
    mock_meta.fault("POST", r"/phone_numbers$", times=5, **fault)
    page = login(world.owner).post(add_url(connected_waba), BERLIN).content.decode()
    assert 'data-problem="meta_unavailable"' in page
    assert len(numbers_of(world, connected_waba)) == 1
    with tenant_scope(world.tenant):
        assert not PhoneNumberDetails.objects.exists()
    # A later try goes through, and the lock of the first one is gone.
    mock_meta.clear_faults()
    assert login(world.owner).post(add_url(connected_waba), BERLIN).status_code == 302


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_add(world: World, connected_waba: Connected, role: str) -> None:
    c = login(world.by_role(role))
    assert c.get(add_url(connected_waba)).status_code == 200
    assert c.post(add_url(connected_waba), BERLIN).status_code == 302


def test_agents_are_refused(world: World, connected_waba: Connected, mock_meta: Any) -> None:
    c = login(world.agent)
    assert c.get(add_url(connected_waba)).status_code == 403
    assert c.post(add_url(connected_waba), BERLIN).status_code == 403
    assert adds_at_meta(mock_meta) == []


def test_another_workspace_s_account_is_not_found(
    world: World, connected_waba: Connected, other_connected_waba: Connected, mock_meta: Any
) -> None:
    c = login(world.owner)
    assert c.get(add_url(other_connected_waba)).status_code == 404
    assert c.post(add_url(other_connected_waba), BERLIN).status_code == 404
    # Globex's owner at Acme's URL: no such workspace for them.
    assert login(world.other_owner).get(add_url(connected_waba)).status_code == 404
    assert adds_at_meta(mock_meta) == []


def test_a_disconnected_account_takes_no_numbers(
    world: World, connected_waba: Connected, mock_meta: Any
) -> None:
    with tenant_scope(world.tenant):
        WhatsAppAccount.objects.filter(pk=connected_waba.waba.pk).update(
            connection_status=ConnectionStatus.DISCONNECTED
        )
    c = login(world.owner)
    assert 'id="not-connected"' in c.get(add_url(connected_waba)).content.decode()
    page = c.post(add_url(connected_waba), BERLIN).content.decode()
    assert 'id="not-connected"' in page and 'id="number-add-form"' not in page
    assert adds_at_meta(mock_meta) == []


def test_the_service_refuses_agents_too(world: World, connected_waba: Connected) -> None:
    from waba_portal.errors import NotAllowed

    with tenant_scope(world.tenant), pytest.raises(NotAllowed):
        number_add.number_add(actor=world.agent, waba=connected_waba.reload(), **BERLIN)


# --- Through Embedded Signup ------------------------------------------------------------------


def signup_post(c: Client, connected: Connected, signup: dict[str, Any], **session: Any) -> Any:
    return c.post(
        f"/t/acme/settings/whatsapp/accounts/{connected.waba.pk}/numbers/add/signup/",
        json.dumps({"code": signup.get("code"), "session": {**signup["session_info"], **session}}),
        content_type="application/json",
    )


def assert_nothing_kept_of(world: World, waba_id: str, onboarding: Onboarding) -> None:
    with tenant_scope(world.tenant):
        assert not WhatsAppAccount.objects.filter(waba_id=waba_id).exists()
        assert not MetaAsset.objects.filter(q_waba(waba_id)).exists()
        onboarding.refresh_from_db()
        assert onboarding.access_token is None and onboarding.code is None
        assert waba_id not in (onboarding.waba_id, onboarding.business_id)
        assert onboarding.status == OnboardingStatus.FAILED
        assert onboarding.problem == ts.SIGNUP_OTHER_WABA
    with unscoped():
        assert not MetaAsset.objects.filter(q_waba(waba_id)).exists()


def q_waba(waba_id: str) -> Q:
    """The claims on a WABA and on the numbers claimed with it."""
    return Q(meta_id=waba_id) | Q(waba_id=waba_id)


@pytest.fixture
def graph_settings(settings: Any) -> None:
    settings.ONBOARDING_RETRY_BASE_SECONDS = 0


def test_signup_with_the_connected_account_adds_its_number(
    world: World, connected_waba: Connected, mock_meta: Any, graph_settings: None
) -> None:
    signup = mock_meta.signup(
        business_id=connected_waba.business_id,
        waba_id=connected_waba.waba_id,
        phone="+4930123457",
        display_name="Acme Berlin",
    )
    response = signup_post(login(world.owner), connected_waba, signup)
    assert response.status_code == 201, response.content
    with tenant_scope(world.tenant):
        onboarding = Onboarding.objects.get(pk=response.json()["onboarding"])
        assert onboarding.status == OnboardingStatus.SUCCEEDED, onboarding.error_message
        assert onboarding.target_account_id == connected_waba.waba.pk
        assert WhatsAppAccount.objects.count() == 1
    assert {p.phone_number_id for p in numbers_of(world, connected_waba)} == {
        connected_waba.phone_number_id,
        signup["phone_number_id"],
    }


def test_signup_naming_another_waba_stops_at_once_keeping_nothing(
    world: World, connected_waba: Connected, mock_meta: Any, graph_settings: None
) -> None:
    signup = mock_meta.signup(business_name="Other Co", phone="+4930123457")
    response = signup_post(login(world.owner), connected_waba, signup)
    assert response.status_code == 201, response.content
    with tenant_scope(world.tenant):
        onboarding = Onboarding.objects.get(pk=response.json()["onboarding"])
        assert not onboarding.steps.exists()  # the code was never exchanged
    assert_nothing_kept_of(world, signup["waba_id"], onboarding)
    page = login(world.owner).get(response.json()["url"]).content.decode()
    assert 'data-problem="signup_other_waba"' in page
    assert "choose the WhatsApp Business Account that is already connected" in page


@pytest.mark.parametrize("session", [{"data": {}}, {"event": "FINISH_ONLY_WABA", "data": {}}])
def test_signup_granting_another_waba_stops_before_anything_is_kept(
    world: World,
    connected_waba: Connected,
    mock_meta: Any,
    graph_settings: None,
    session: dict[str, Any],
) -> None:
    signup = mock_meta.signup(business_name="Other Co", phone="+4930123457")
    response = signup_post(login(world.owner), connected_waba, signup, **session)
    with tenant_scope(world.tenant):
        onboarding = Onboarding.objects.get(pk=response.json()["onboarding"])
        assert dict(onboarding.steps.values_list("name", "status"))["confirm_waba"] == "failed"
    assert_nothing_kept_of(world, signup["waba_id"], onboarding)
    page = login(world.owner).get(response.json()["url"]).content.decode()
    assert 'id="add-number-again"' in page and 'id="retry"' not in page
    assert "Meta said:" not in page  # the check is ours
    # Its token is gone, so Retry cannot resume it: a new signup is the way.
    retry = login(world.owner).post(f"/t/acme/settings/whatsapp/onboarding/{onboarding.pk}/retry/")
    assert retry.status_code == 302
    with tenant_scope(world.tenant):
        onboarding.refresh_from_db()
        assert onboarding.status == OnboardingStatus.FAILED


def test_signup_claiming_the_connected_waba_but_granting_another_stops_too(
    world: World, connected_waba: Connected, mock_meta: Any, graph_settings: None
) -> None:
    signup = mock_meta.signup(business_name="Other Co", phone="+4930123457")
    data = {"waba_id": connected_waba.waba_id, "phone_number_id": signup["phone_number_id"]}
    response = signup_post(login(world.owner), connected_waba, signup, data=data)
    with tenant_scope(world.tenant):
        onboarding = Onboarding.objects.get(pk=response.json()["onboarding"])
    assert_nothing_kept_of(world, signup["waba_id"], onboarding)
    with tenant_scope(world.tenant):
        waba = WhatsAppAccount.objects.get(pk=connected_waba.waba.pk)
        assert waba.connection_status == ConnectionStatus.CONNECTED and not waba.problem
        assert str(waba.access_token) == connected_waba.token  # not the other signup's
        assert len(numbers_of(world, connected_waba)) == 1


def test_the_signup_endpoint_is_for_managers_of_this_workspace(
    world: World, connected_waba: Connected, other_connected_waba: Connected, mock_meta: Any
) -> None:
    signup = mock_meta.signup(
        business_id=connected_waba.business_id, waba_id=connected_waba.waba_id
    )
    assert signup_post(login(world.agent), connected_waba, signup).status_code == 403
    foreign = login(world.owner).post(
        f"/t/acme/settings/whatsapp/accounts/{other_connected_waba.waba.pk}/numbers/add/signup/",
        json.dumps({"code": signup["code"], "session": signup["session_info"]}),
        content_type="application/json",
    )
    assert foreign.status_code == 404
    with tenant_scope(world.tenant):
        assert not Onboarding.objects.exists()
