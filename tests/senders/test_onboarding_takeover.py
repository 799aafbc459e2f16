"""Issue #11: an onboarding claims only what its token reaches, and gives back what it took.

The browser hands over Embedded Signup's session info, and a manager can change it
before it is posted. The ids in it are hints: the WABA must be one the token of this
signup was granted (``debug_token``'s granular scopes), the number one Meta lists in
that WABA. An onboarding that fails (at once, after its retries, or abandoned) releases
the claims it took, so the WABA's owner can connect it again; a claim the workspace held
before the onboarding stays. Tasks run in-process (eager) against the mock Meta server.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Membership, Tenant
from accounts.tenancy import tenant_scope, unscoped
from senders import selectors
from senders import troubleshooting as ts
from senders.models import (
    ConnectionStatus,
    MetaAsset,
    Onboarding,
    OnboardingStatus,
    WhatsAppAccount,
)
from senders.services import onboarding as pipeline
from tests.factories import World

pytestmark = pytest.mark.django_db(transaction=True)

VIA = ("api", "page")


@pytest.fixture(autouse=True)
def graph_at_mock(settings, mock_meta):  # type: ignore[no-untyped-def]
    settings.GRAPH_API_BASE_URL = mock_meta.base_url
    settings.ONBOARDING_RETRY_BASE_SECONDS = 0
    return mock_meta


def start(
    m: Membership, signup: dict[str, Any], *, via: str = "page", **data: Any
) -> dict[str, Any]:
    """Post Embedded Signup's result as the browser would, ``data`` changed in its session.

    Answers the onboarding as the API shows it (its id, status and problem).
    """
    session = dict(signup["session_info"])
    session["data"] = {**session["data"], **data}
    body = {"code": signup["code"], "session": session}
    slug = m.tenant.slug
    api = APIClient()
    api.force_authenticate(m.user)
    api.force_login(m.user)  # the tenant middleware resolves the membership from the session
    if via == "api":
        response = api.post(f"/api/v1/t/{slug}/onboardings/", body, format="json")
        assert response.status_code == 201, response.content
        return dict(response.json())
    page = Client()
    page.force_login(m.user)
    response = page.post(
        f"/t/{slug}/settings/whatsapp/connect/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return dict(api.get(f"/api/v1/t/{slug}/onboardings/{response.json()['onboarding']}/").json())


def claims_of(tenant: Tenant) -> set[str]:
    with tenant_scope(tenant):
        return set(MetaAsset.objects.values_list("meta_id", flat=True))


def holder(meta_id: str) -> int | None:
    with unscoped():
        return MetaAsset.objects.filter(meta_id=meta_id).values_list("tenant_id", flat=True).first()


def seq(mock_meta) -> int:  # type: ignore[no-untyped-def]
    return max((r["seq"] for r in mock_meta.requests()), default=0)


def paths_since(mock_meta, mark: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["path"] for r in mock_meta.requests() if r["seq"] > mark]


def problem_page(m: Membership, onboarding_pk: int) -> str:
    page = Client()
    page.force_login(m.user)
    url = f"/t/{m.tenant.slug}/settings/whatsapp/onboarding/{onboarding_pk}/"
    return page.get(url).content.decode()


def b_disconnected(world: World, mock_meta) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Globex connected a WABA with a number and disconnected it: nobody holds its ids."""
    signup = mock_meta.signup(business_name="Globex Ltd", phone="+4915140000001")
    assert start(world.other_owner, signup)["status"] == OnboardingStatus.SUCCEEDED
    with tenant_scope(world.other_tenant):
        waba = WhatsAppAccount.objects.get(waba_id=signup["waba_id"])
    page = Client()
    page.force_login(world.other_owner.user)
    page.post(f"/t/globex/settings/whatsapp/accounts/{waba.pk}/disconnect/")
    assert holder(signup["waba_id"]) is None and holder(signup["phone_number_id"]) is None
    return signup


def b_reconnects(world: World, mock_meta, b: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """Globex connects its WABA again; its ids, and their webhooks, are Globex's."""
    again = mock_meta.signup(business_id=b["business_id"], waba_id=b["waba_id"])
    result = start(world.other_owner, again)
    assert (result["status"], result["problem"]) == (OnboardingStatus.SUCCEEDED, None)
    by_waba, by_phone = selectors.tenants_for_meta_ids(
        waba_ids=[b["waba_id"]], phone_number_ids=[b["phone_number_id"]]
    )
    assert by_waba[b["waba_id"]].pk == world.other_tenant.pk
    assert by_phone[b["phone_number_id"]].pk == world.other_tenant.pk
    with tenant_scope(world.other_tenant):
        waba = WhatsAppAccount.objects.get(waba_id=b["waba_id"])
        assert waba.connection_status == ConnectionStatus.CONNECTED


@pytest.mark.parametrize("via", VIA)
def test_a_waba_id_changed_in_the_browser_is_not_claimed(world: World, mock_meta, via: str) -> None:  # type: ignore[no-untyped-def]
    b = b_disconnected(world, mock_meta)
    # Acme finishes Embedded Signup for its own new WABA, then names Globex's in the session.
    a = mock_meta.signup(business_name="Acme New", phone="+4915140000002")
    mark = seq(mock_meta)
    result = start(world.owner, a, via=via, waba_id=b["waba_id"])

    assert (result["status"], result["problem"]["code"]) == (
        OnboardingStatus.FAILED,
        ts.NOT_SHARED_IN_SIGNUP,
    )
    assert {s["name"]: s["status"] for s in result["steps"]}["confirm_waba"] == "failed"
    page = problem_page(world.owner, result["id"])
    assert f'data-problem="{ts.NOT_SHARED_IN_SIGNUP}"' in page
    assert f"/t/acme/settings/whatsapp/troubleshooting/#{ts.NOT_SHARED_IN_SIGNUP}" in page
    # Nothing claimed, no record of Globex's WABA, and Meta never asked about it.
    assert claims_of(world.tenant) == set()
    assert holder(b["waba_id"]) is None
    with tenant_scope(world.tenant):
        assert not WhatsAppAccount.objects.exists()
    assert not [p for p in paths_since(mock_meta, mark) if b["waba_id"] in p]

    b_reconnects(world, mock_meta, b)


@pytest.mark.parametrize("via", VIA)
def test_a_phone_number_id_changed_in_the_browser_is_not_claimed(
    world: World, mock_meta, via: str
) -> None:  # type: ignore[no-untyped-def]
    b = b_disconnected(world, mock_meta)
    # Acme's own WABA and number, with Globex's number named in the session instead.
    a = mock_meta.signup(business_name="Acme Two", phone="+4915140000003")
    mark = seq(mock_meta)
    result = start(world.owner, a, via=via, phone_number_id=b["phone_number_id"])

    assert (result["status"], result["problem"]["code"]) == (
        OnboardingStatus.FAILED,
        ts.NOT_SHARED_IN_SIGNUP,
    )
    assert {s["name"]: s["status"] for s in result["steps"]}["fetch_numbers"] == "failed"
    assert f'data-problem="{ts.NOT_SHARED_IN_SIGNUP}"' in problem_page(world.owner, result["id"])
    # The claims the run took on Acme's own WABA were given back with the failure, and
    # Globex's number was never touched at Meta.
    assert claims_of(world.tenant) == set()
    assert holder(b["phone_number_id"]) is None
    assert not [p for p in paths_since(mock_meta, mark) if b["phone_number_id"] in p]

    b_reconnects(world, mock_meta, b)
    # Acme connects its own account as Meta shared it: nothing of the failure is in the way.
    own = mock_meta.signup(business_id=a["business_id"], waba_id=a["waba_id"])
    assert start(world.owner, own, via=via)["status"] == OnboardingStatus.SUCCEEDED
    assert claims_of(world.tenant) == {a["waba_id"], a["phone_number_id"]}


def test_the_claim_waits_for_a_read_the_token_can_make(
    world: World, mock_meta, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Even with the WABA not confirmed (an onboarding started before confirm_waba
    checked the grant), an id the token cannot read is never claimed."""
    monkeypatch.setitem(pipeline.STEP_FUNCTIONS, "confirm_waba", lambda onboarding: "skipped")
    b = b_disconnected(world, mock_meta)
    a = mock_meta.signup(business_name="Acme Old", phone="+4915140000009")
    result = start(world.owner, a, waba_id=b["waba_id"])
    assert (result["status"], result["problem"]["code"]) == (
        OnboardingStatus.FAILED,
        ts.NOT_SHARED_IN_SIGNUP,
    )
    assert {s["name"]: s["status"] for s in result["steps"]}["claim_waba"] == "failed"
    assert claims_of(world.tenant) == set()
    assert holder(b["waba_id"]) is None
    monkeypatch.undo()
    b_reconnects(world, mock_meta, b)


def test_a_waba_held_by_another_workspace_stays_theirs(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    """Globex is connected: Acme naming its WABA neither takes it nor releases Globex's."""
    b = mock_meta.signup(business_name="Globex Live", phone="+4915140000004")
    assert start(world.other_owner, b)["status"] == OnboardingStatus.SUCCEEDED
    a = mock_meta.signup(business_name="Acme Three")
    result = start(world.owner, a, waba_id=b["waba_id"])
    assert result["problem"]["code"] == ts.NOT_SHARED_IN_SIGNUP
    assert holder(b["waba_id"]) == holder(b["phone_number_id"]) == world.other_tenant.pk
    assert claims_of(world.tenant) == set()


def test_a_failure_after_the_claims_releases_them_and_retry_takes_them_again(
    world: World, mock_meta
) -> None:  # type: ignore[no-untyped-def]
    a = mock_meta.signup(business_name="Acme Late", phone="+4915140000005")
    # The last step fails for good, after both claims were taken.
    mock_meta.fault("GET", r"/whatsapp_business_profile$", code=100, http_status=400, times=1)
    result = start(world.owner, a)
    assert result["status"] == OnboardingStatus.FAILED
    assert {s["name"]: s["status"] for s in result["steps"]}["fetch_profile"] == "failed"
    assert claims_of(world.tenant) == set()
    # The WABA's owner elsewhere could connect it now; here, Retry claims it again.
    page = Client()
    page.force_login(world.owner.user)
    page.post(f"/t/acme/settings/whatsapp/onboarding/{result['id']}/retry/")
    with tenant_scope(world.tenant):
        assert Onboarding.objects.get(pk=result["id"]).status == OnboardingStatus.SUCCEEDED
    assert claims_of(world.tenant) == {a["waba_id"], a["phone_number_id"]}
    assert holder(a["waba_id"]) == world.tenant.pk


def test_a_claim_held_before_the_onboarding_survives_its_failure(world: World, mock_meta) -> None:  # type: ignore[no-untyped-def]
    """Reconnecting a WABA the workspace has connected: a failure keeps its claims."""
    a = mock_meta.signup(business_name="Acme Held", phone="+4915140000006")
    assert start(world.owner, a)["status"] == OnboardingStatus.SUCCEEDED
    again = mock_meta.signup(business_id=a["business_id"], waba_id=a["waba_id"])
    mock_meta.fault("GET", r"/phone_numbers$", code=100, http_status=400, times=1)
    assert start(world.owner, again)["status"] == OnboardingStatus.FAILED
    assert claims_of(world.tenant) == {a["waba_id"], a["phone_number_id"]}
    by_waba, _ = selectors.tenants_for_meta_ids(waba_ids=[a["waba_id"]])
    assert by_waba[a["waba_id"]].pk == world.tenant.pk
    with tenant_scope(world.tenant):
        waba = WhatsAppAccount.objects.get()
        assert waba.connection_status == ConnectionStatus.CONNECTED


def test_retries_that_run_out_release_the_claims(world: World, mock_meta, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ONBOARDING_MAX_RETRIES = 0  # give up at once: Meta "never" answers
    a = mock_meta.signup(business_name="Acme Waits", phone="+4915140000007")
    mock_meta.fault("POST", r"/register$", http_status=503, code=2, times=1)
    result = start(world.owner, a)
    assert (result["status"], result["problem"]["code"]) == (
        OnboardingStatus.FAILED,
        ts.META_UNAVAILABLE,
    )
    assert claims_of(world.tenant) == set()


def test_an_abandoned_onboarding_ends_failed_and_releases_its_claims(
    world: World, mock_meta, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    a = mock_meta.signup(business_name="Acme Gone", phone="+4915140000008")

    def killed(onboarding: Onboarding) -> None:
        raise SoftTimeLimitExceeded()  # the worker is stopped mid-step, again and again

    monkeypatch.setitem(pipeline.STEP_FUNCTIONS, "fetch_profile", killed)
    with pytest.raises(SoftTimeLimitExceeded):
        start(world.owner, a)
    with tenant_scope(world.tenant):
        ob = Onboarding.objects.get()
        assert ob.status == OnboardingStatus.RUNNING
    assert claims_of(world.tenant) == {a["waba_id"], a["phone_number_id"]}

    # Stale but young: resumed, not abandoned.
    long_ago = timezone.now() - timedelta(seconds=pipeline.ABANDONED_AFTER_SECONDS + 60)
    with tenant_scope(world.tenant):
        Onboarding.objects.filter(pk=ob.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(SoftTimeLimitExceeded):
        pipeline.onboardings_resume_stale(older_than_seconds=60)
    assert claims_of(world.tenant) == {a["waba_id"], a["phone_number_id"]}

    # Still unfinished long after it started: it ends failed and gives its claims back.
    with tenant_scope(world.tenant):
        Onboarding.objects.filter(pk=ob.pk).update(created_at=long_ago, updated_at=long_ago)
    assert pipeline.onboardings_resume_stale(older_than_seconds=60) == 0
    with tenant_scope(world.tenant):
        ob.refresh_from_db()
        assert (ob.status, ob.problem) == (OnboardingStatus.FAILED, ts.UNEXPECTED)
        assert ob.steps.get(name="fetch_profile").status == "failed"
    assert claims_of(world.tenant) == set()
