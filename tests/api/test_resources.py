"""The resources of /api/v1/ as an integrator uses them: every list pages stably while
rows arrive and filters by its fields; accounts are synced, disconnected and connected
again; connection attempts are listed, retried and dismissed; a template is previewed
with values; the POSTs that create or send take an Idempotency-Key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.mixins import ListModelMixin

from accounts.models import AuditEvent
from accounts.tenancy import tenant_scope
from senders.models import (
    AccountHistory,
    ConnectionStatus,
    Onboarding,
    PhoneNumber,
    WhatsAppAccount,
)
from templates_app.models import TemplateSync
from tests.api.support import error_of, key_client, post_json, session_client
from tests.api.test_conventions import API_ROUTES, assert_matches_schema, view_class
from tests.factories import (
    OnboardingFactory,
    OnboardingStepFactory,
    PhoneNumberFactory,
    QrCodeFactory,
    TemplateFactory,
    WhatsAppAccountFactory,
    api_key_for,
    event_delivery_for,
    event_subscription_for,
    make_world,
    member,
)
from tests.test_permission_matrix import TenantObjects, World, objects_of

BASE = "/api/v1/t/acme/"


@dataclass
class Acme:
    world: World
    o: TenantObjects
    client: Client  # with a read/write key of every group


@pytest.fixture
def acme(db: None) -> Acme:
    world = make_world()
    objects = objects_of(world.tenant, world.agent)
    objects_of(world.other_tenant, world.other_owner)  # rows that must never show
    _key, secret = api_key_for(world.tenant)
    return Acme(world, objects, key_client(secret))


def in_acme(acme: Acme, make: Callable[[], Any]) -> Any:
    with tenant_scope(acme.world.tenant):
        return make()


# --- Lists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListSpec:
    path: Callable[[TenantObjects], str]
    make: Callable[[TenantObjects], int]  # a new row of the list; its id
    id_key: str = "id"


def _template_sync(o: TenantObjects) -> int:
    with tenant_scope(o.tenant):
        return TemplateSync.objects.create(waba=o.waba).pk


LISTS: dict[str, ListSpec] = {
    "api-waba-list": ListSpec(
        lambda o: "wabas/", lambda o: WhatsAppAccountFactory(tenant=o.tenant).pk
    ),
    "api-phone-number-list": ListSpec(
        lambda o: "phone-numbers/", lambda o: PhoneNumberFactory(waba=o.waba).pk
    ),
    "api-onboarding-list": ListSpec(
        lambda o: "onboardings/", lambda o: OnboardingFactory(account=o.waba, failed=True).pk
    ),
    "api-phone-number-qr-codes": ListSpec(
        lambda o: f"phone-numbers/{o.phone.pk}/qr-codes/",
        lambda o: QrCodeFactory(phone_number=o.phone).pk,
    ),
    "api-phone-number-channel-members": ListSpec(
        lambda o: f"phone-numbers/{o.phone.pk}/channel/members/",
        lambda o: member(o.tenant).pk,
        id_key="membership",
    ),
    "api-template-list": ListSpec(
        lambda o: "templates/", lambda o: TemplateFactory(waba=o.waba).pk
    ),
    "api-template-sync": ListSpec(lambda o: "templates/sync/", _template_sync),
    "api-event-subscription-list": ListSpec(
        lambda o: "event-subscriptions/", lambda o: event_subscription_for(o.tenant).pk
    ),
    "api-event-delivery-list": ListSpec(
        lambda o: f"event-subscriptions/{o.subscription.pk}/deliveries/",
        lambda o: event_delivery_for(o.subscription).pk,
    ),
}
# The inbox's lists are the inbox's to test (tests/inbox/).
NOT_HERE = ("inbox.",)


def test_every_list_of_the_api_is_tested_here() -> None:
    lists = {
        r.name
        for r in API_ROUTES
        if issubclass(view_class(r), ListModelMixin)
        and not view_class(r).__module__.startswith(NOT_HERE)
    }
    assert lists == set(LISTS), f"add a ListSpec for: {lists - set(LISTS)}"


def ids(page: dict[str, Any], key: str = "id") -> list[int]:
    assert set(page) == {"next", "previous", "results"}, page
    return [row[key] for row in page["results"]]


def walk(client: Client, path: str, params: dict[str, Any], between: Callable[[], None]) -> Any:
    """Every page from the first, calling ``between`` before each next one (rows arrive
    while the client reads)."""
    pages = [client.get(path, params).json()]
    while pages[-1]["next"]:
        between()
        response = client.get(pages[-1]["next"])
        assert response.status_code == 200, response.content[:300]
        pages.append(response.json())
    return pages


@pytest.mark.parametrize("name", sorted(LISTS))
def test_every_list_pages_stably_while_rows_are_added(acme: Acme, name: str) -> None:
    spec = LISTS[name]
    path = BASE + spec.path(acme.o)
    for _ in range(5):
        spec.make(acme.o)
    everything = ids(acme.client.get(path, {"limit": 200}).json(), spec.id_key)
    assert len(everything) >= 5 and everything == sorted(everything, reverse=True)

    added: list[int] = []
    pages = walk(acme.client, path, {"limit": 2}, lambda: added.append(spec.make(acme.o)))
    newest_first = [i for page in pages for i in ids(page, spec.id_key)]
    assert newest_first == everything  # nothing skipped, nothing twice, nothing new
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    back = acme.client.get(pages[1]["previous"]).json()
    assert ids(back, spec.id_key) == ids(pages[0], spec.id_key)

    more: list[int] = []
    pages = walk(
        acme.client,
        path,
        {"limit": 2, "ordering": "id"},
        lambda: more.append(spec.make(acme.o)),
    )
    oldest_first = [i for page in pages for i in ids(page, spec.id_key)]
    # Oldest first, the rows added meanwhile come at the end, each once.
    assert oldest_first == sorted({*everything, *added, *more})
    assert len(oldest_first) == len(set(oldest_first))

    for params in ({"ordering": "name"}, {"cursor": "bogus"}, {"limit": "0"}):
        refused = acme.client.get(path, params)
        assert refused.status_code == 400, (params, refused.content)
        assert set(error_of(refused)["details"]["fields"]) == set(params)


def listed(acme: Acme, path: str, key: str = "id", **params: Any) -> list[int]:
    response = acme.client.get(BASE + path, {"limit": 200, **params})
    assert response.status_code == 200, response.content[:300]
    return ids(response.json(), key)


def refused_filter(acme: Acme, path: str, **params: Any) -> dict[str, Any]:
    response = acme.client.get(BASE + path, params)
    assert response.status_code == 400, response.content[:300]
    return error_of(response)["details"]["fields"]  # type: ignore[no-any-return]


def test_accounts_filter_by_status_and_meta_id(acme: Acme) -> None:
    gone = WhatsAppAccountFactory(
        tenant=acme.world.tenant,
        connection_status=ConnectionStatus.DISCONNECTED,
        meta_status="DISABLED",
        access_token=None,
    )
    assert listed(acme, "wabas/", connection_status="disconnected") == [gone.pk]
    assert listed(acme, "wabas/", connection_status="connected") == [acme.o.waba.pk]
    assert listed(acme, "wabas/", meta_status="DISABLED") == [gone.pk]
    assert listed(acme, "wabas/", waba_id=acme.o.waba.waba_id) == [acme.o.waba.pk]
    assert "connection_status" in refused_filter(acme, "wabas/", connection_status="gone")


def test_numbers_filter_by_account_status_quality_and_primary(acme: Acme, world_ids: Any) -> None:
    other_waba = WhatsAppAccountFactory(tenant=acme.world.tenant)
    red = PhoneNumberFactory(waba=other_waba, quality_rating="RED", meta_status="FLAGGED")
    with tenant_scope(acme.world.tenant):
        PhoneNumber.objects.filter(pk=acme.o.phone.pk).update(is_primary=True)
    assert listed(acme, "phone-numbers/", waba=other_waba.pk) == [red.pk]
    assert listed(acme, "phone-numbers/", quality_rating="RED") == [red.pk]
    assert listed(acme, "phone-numbers/", meta_status="FLAGGED") == [red.pk]
    assert listed(acme, "phone-numbers/", is_primary="true") == [acme.o.phone.pk]
    assert listed(acme, "phone-numbers/", phone_number_id=red.phone_number_id) == [red.pk]
    assert listed(acme, "phone-numbers/", connection_status="connected") == sorted(
        [red.pk, acme.o.phone.pk], reverse=True
    )
    # Another workspace's account matches nothing, like a missing one.
    assert listed(acme, "phone-numbers/", waba=world_ids["globex_waba"]) == []
    for bad in ("abc", "0", str(2**64)):
        assert "waba" in refused_filter(acme, "phone-numbers/", waba=bad), bad
    assert "quality_rating" in refused_filter(acme, "phone-numbers/", quality_rating="PINK")


@pytest.fixture
def world_ids(acme: Acme) -> dict[str, int]:
    with tenant_scope(acme.world.other_tenant):
        return {"globex_waba": WhatsAppAccount.objects.get().pk}


def test_onboardings_filter_by_status_account_and_dismissal(acme: Acme) -> None:
    queued = OnboardingFactory(account=acme.o.waba)
    failed = acme.o.onboarding
    with tenant_scope(acme.world.tenant):
        Onboarding.objects.filter(pk=failed.pk).update(dismissed_at=timezone.now())
    assert listed(acme, "onboardings/", status="queued") == [queued.pk]
    assert listed(acme, "onboardings/", status="failed") == [failed.pk]
    assert listed(acme, "onboardings/", dismissed="true") == [failed.pk]
    assert listed(acme, "onboardings/", dismissed="false") == [queued.pk]
    assert listed(acme, "onboardings/", waba=acme.o.waba.pk) == [queued.pk, failed.pk]
    assert "status" in refused_filter(acme, "onboardings/", status="lost")


def test_channel_members_filter_by_workspace_role(acme: Acme) -> None:
    path = f"phone-numbers/{acme.o.phone.pk}/channel/members/"
    assert listed(acme, path, "membership", workspace_role="agent") == [acme.world.agent.pk]
    managers = listed(acme, path, "membership", workspace_role="owner")
    assert managers == [acme.world.owner.pk]
    assert "workspace_role" in refused_filter(acme, path, workspace_role="boss")


def test_template_reads_filter_by_account_and_state(acme: Acme) -> None:
    with tenant_scope(acme.world.tenant):
        done = TemplateSync.objects.create(waba=acme.o.waba, state="done")
        failed = TemplateSync.objects.create(waba=acme.o.waba, state="failed")
    assert listed(acme, "templates/sync/", state="failed") == [failed.pk]
    assert listed(acme, "templates/sync/", waba=acme.o.waba.pk) == [failed.pk, done.pk]
    assert listed(acme, "templates/sync/", waba=acme.o.waba.pk, limit=1) == [failed.pk]


# --- Accounts: sync, disconnect, reconnect --------------------------------------------------


def waba_path(acme: Acme, action: str = "") -> str:
    return f"{BASE}wabas/{acme.o.waba.pk}/{action}"


def reload_waba(acme: Acme) -> WhatsAppAccount:
    with tenant_scope(acme.world.tenant):
        return WhatsAppAccount.objects.get(pk=acme.o.waba.pk)


def actions(acme: Acme) -> list[str]:
    with tenant_scope(acme.world.tenant):
        return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_an_account_is_synced_on_request_and_only_when_connected(acme: Acme) -> None:
    started = post_json(acme.client, waba_path(acme, "sync/"))
    assert started.status_code == 202, started.content
    assert started.json()["id"] == acme.o.waba.pk
    assert "waba.sync_requested" in actions(acme)
    with tenant_scope(acme.world.tenant):
        WhatsAppAccount.objects.filter(pk=acme.o.waba.pk).update(
            connection_status=ConnectionStatus.DISCONNECTED
        )
    refused = post_json(acme.client, waba_path(acme, "sync/"))
    assert refused.status_code == 409 and error_of(refused)["code"] == "conflict"
    agent = post_json(session_client(acme.world.agent), waba_path(acme, "sync/"))
    assert agent.status_code == 403


def test_an_account_is_disconnected_then_says_it_needs_reconnecting(acme: Acme) -> None:
    before = acme.client.get(waba_path(acme, "reconnect/")).json()
    assert (before["needs_reconnect"], before["steps"]) == (False, [])
    answer = post_json(acme.client, waba_path(acme, "disconnect/"))
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["connection_status"], body["needs_reconnect"]) == ("disconnected", True)
    assert all(n["connection_status"] == "disconnected" for n in body["phone_numbers"])
    waba = reload_waba(acme)
    assert waba.access_token is None and waba.disconnected_at is not None
    assert "waba.disconnected" in actions(acme)
    with tenant_scope(acme.world.tenant):
        history = AccountHistory.objects.filter(waba=waba, kind="connection").last()
        assert history is not None and history.new_value == "disconnected"

    how = acme.client.get(waba_path(acme, "reconnect/")).json()
    assert how["needs_reconnect"] is True and how["waba_id"] == waba.waba_id
    assert how["embedded_signup"]["app_id"] == settings.META_APP_ID
    assert how["embedded_signup"]["config_id"] == settings.META_CONFIG_ID
    assert how["post_result_to"].endswith(waba_path(acme, "reconnect/"))
    assert any(waba.waba_id in step for step in how["steps"])


def signup_body(waba_id: str, event: str = "FINISH", code: str = "AQB-code") -> dict[str, Any]:
    return {"code": code, "session": {"event": event, "data": {"waba_id": waba_id}}}


def onboardings(acme: Acme) -> int:
    with tenant_scope(acme.world.tenant):
        return Onboarding.objects.count()


def test_reconnecting_holds_the_signup_to_the_same_account(acme: Acme) -> None:
    path = waba_path(acme, "reconnect/")
    healthy = post_json(acme.client, path, signup_body(acme.o.waba.waba_id))
    assert healthy.status_code == 409 and error_of(healthy)["code"] == "waba_connected"
    post_json(acme.client, waba_path(acme, "disconnect/"))
    count = onboardings(acme)

    other = post_json(acme.client, path, signup_body("999000111222"))
    assert other.status_code == 400
    error = error_of(other)
    assert error["code"] == "signup_other_waba" and "session" in error["details"]["fields"]
    assert acme.o.waba.waba_id in error["message"]
    no_code = post_json(acme.client, path, {"session": {"event": "FINISH"}})
    assert no_code.status_code == 400 and error_of(no_code)["details"]["fields"]
    assert onboardings(acme) == count  # nothing kept of either

    # A session that names no account is held to this one.
    started = post_json(
        acme.client,
        path,
        {"code": "AQB-code", "session": {"event": "FINISH"}},
        HTTP_IDEMPOTENCY_KEY="reconnect-1",
    )
    assert started.status_code == 201, started.content
    onboarding = started.json()
    assert (onboarding["status"], onboarding["waba_id"]) == ("queued", acme.o.waba.waba_id)
    replay = post_json(
        acme.client,
        path,
        {"code": "AQB-code", "session": {"event": "FINISH"}},
        HTTP_IDEMPOTENCY_KEY="reconnect-1",
    )
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == onboarding and onboardings(acme) == count + 1
    running = post_json(acme.client, path, signup_body(acme.o.waba.waba_id))
    assert running.status_code == 409 and error_of(running)["code"] == "onboarding_running"
    assert error_of(running)["details"]["onboarding"] == onboarding["id"]

    agent = post_json(session_client(acme.world.agent), path, signup_body(acme.o.waba.waba_id))
    assert agent.status_code == 403


def test_a_cancelled_reconnection_is_recorded_as_a_failed_attempt(acme: Acme) -> None:
    post_json(acme.client, waba_path(acme, "disconnect/"))
    cancelled = post_json(
        acme.client, waba_path(acme, "reconnect/"), {"session": {"event": "CANCEL"}}
    )
    assert cancelled.status_code == 201, cancelled.content
    assert cancelled.json()["status"] == "failed"
    assert cancelled.json()["problem"]["code"] == "signup_incomplete"


# --- Connection attempts: retry, dismiss -----------------------------------------------------


def test_a_failed_attempt_is_retried_or_dismissed_and_nothing_else(acme: Acme) -> None:
    failed = acme.o.onboarding
    OnboardingStepFactory(onboarding=failed, name="exchange_token", status="failed")
    path = f"{BASE}onboardings/{failed.pk}/"
    retried = post_json(acme.client, path + "retry/")
    assert retried.status_code == 200, retried.content
    assert (retried.json()["status"], retried.json()["problem"]) == ("queued", None)
    again = post_json(acme.client, path + "retry/")
    assert again.status_code == 409 and error_of(again)["code"] == "conflict"
    not_failed = post_json(acme.client, path + "dismiss/")
    assert not_failed.status_code == 409

    other = OnboardingFactory(account=acme.o.waba, failed=True)
    dismissed = post_json(acme.client, f"{BASE}onboardings/{other.pk}/dismiss/")
    assert dismissed.status_code == 200 and dismissed.json()["dismissed_at"]
    assert listed(acme, "onboardings/", dismissed="true") == [other.pk]
    assert [a for a in actions(acme) if a.startswith("onboarding.")] == [
        "onboarding.retried",
        "onboarding.dismissed",
    ]
    agent = session_client(acme.world.agent)
    assert post_json(agent, f"{BASE}onboardings/{other.pk}/dismiss/").status_code == 403
    assert agent.get(f"{BASE}onboardings/").status_code == 200


def test_a_number_is_added_through_the_signup_window_of_its_account(
    acme: Acme, world_ids: dict[str, int]
) -> None:
    path = BASE + "onboardings/"
    other = post_json(
        acme.client, path, {**signup_body("999000111222"), "target_waba": acme.o.waba.pk}
    )
    assert other.status_code == 201, other.content
    assert (other.json()["status"], other.json()["target_waba"]) == ("failed", acme.o.waba.pk)
    assert other.json()["problem"]["code"] == "signup_other_waba"
    same = post_json(
        acme.client, path, {**signup_body(acme.o.waba.waba_id), "target_waba": acme.o.waba.pk}
    )
    assert same.status_code == 201 and same.json()["status"] == "queued", same.content
    foreign = post_json(
        acme.client, path, {**signup_body("1"), "target_waba": world_ids["globex_waba"]}
    )
    assert foreign.status_code == 404
    for bad in ("abc", True, [1]):
        refused = post_json(acme.client, path, {**signup_body("1"), "target_waba": bad})
        assert refused.status_code == 400, bad
        assert "target_waba" in error_of(refused)["details"]["fields"]
    post_json(acme.client, waba_path(acme, "disconnect/"))
    gone = post_json(
        acme.client, path, {**signup_body(acme.o.waba.waba_id), "target_waba": acme.o.waba.pk}
    )
    assert gone.status_code == 409


# --- Templates: a preview with values -----------------------------------------------------------


def test_a_template_is_previewed_with_the_values_given(acme: Acme) -> None:
    path = f"{BASE}templates/{acme.o.template.pk}/preview/"
    preview = post_json(acme.client, path, {"parameters": {"body.1": "Ann"}})
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["body"] == "Hello Ann, your order {{2}} is on its way."
    assert body["missing"] == ["body.2"]
    assert [s["key"] for s in body["slots"]] == ["body.1", "body.2"]
    nested = post_json(acme.client, path, {"parameters": {"body": ["Ann", "A-7"]}}).json()
    assert (nested["body"], nested["missing"]) == ("Hello Ann, your order A-7 is on its way.", [])
    # A read: a key with the read scope and an agent may preview.
    _key, reader = api_key_for(acme.world.tenant, scopes={"templates": "read"}, name="r")
    assert post_json(key_client(reader), path, {}).status_code == 200
    assert post_json(session_client(acme.world.agent), path, {}).status_code == 200
    bad = post_json(acme.client, path, {"parameters": ["Ann"]})
    assert bad.status_code == 400 and "parameters" in error_of(bad)["details"]["fields"]


# --- Idempotency-Key on the POSTs that create or send ------------------------------------------

CREATES_OR_SENDS = {
    "/phone-numbers/",
    "/phone-numbers/{phone_pk}/qr-codes/",
    "/phone-numbers/{phone_pk}/channel/members/",
    "/phone-numbers/{phone_pk}/request-code/",
    "/phone-numbers/{phone_pk}/pin/",
    "/phone-numbers/{phone_pk}/display-name/",
    "/phone-numbers/{phone_pk}/official-business-account/",
    "/onboardings/",
    "/wabas/{waba_pk}/reconnect/",
    "/templates/",
    "/event-subscriptions/",
    "/event-subscriptions/{subscription_pk}/test/",
    "/event-subscriptions/{subscription_pk}/rotate-secret/",
    "/event-subscriptions/{subscription_pk}/deliveries/{delivery_pk}/redeliver/",
}
NEVER_KEPT = {"/phone-numbers/{phone_pk}/pin/reveal/"}  # the PIN is stored nowhere


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return Client().get("/api/schema/", {"format": "json"}).json()  # type: ignore[no-any-return]


def test_the_posts_that_create_or_send_take_an_idempotency_key(schema: dict[str, Any]) -> None:
    prefix = "/api/v1/t/{tenant_slug}"
    marked = {
        path.removeprefix(prefix)
        for path, item in schema["paths"].items()
        if any(p["name"] == "Idempotency-Key" for p in item.get("post", {}).get("parameters", []))
    }
    assert marked >= CREATES_OR_SENDS, CREATES_OR_SENDS - marked
    assert not marked & NEVER_KEPT


def test_a_retried_create_answers_the_first_answer_again(acme: Acme) -> None:
    path = f"{BASE}phone-numbers/{acme.o.phone.pk}/channel/members/"
    body = {"membership": acme.world.agent.pk, "role": "viewer"}
    first = post_json(acme.client, path, body, HTTP_IDEMPOTENCY_KEY="add-agent")
    assert first.status_code == 201, first.content
    again = post_json(acme.client, path, body, HTTP_IDEMPOTENCY_KEY="add-agent")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = post_json(
        acme.client, path, {**body, "role": "supervisor"}, HTTP_IDEMPOTENCY_KEY="add-agent"
    )
    assert other.status_code == 422 and error_of(other)["code"] == "idempotency_key_reused"
    without = post_json(acme.client, path, body)
    assert without.status_code == 409 and error_of(without)["code"] == "channel_member_exists"


# --- Answers match the schema -----------------------------------------------------------------


def test_the_actions_answer_what_the_schema_says(acme: Acme, schema: dict[str, Any]) -> None:
    cases = [
        ("POST", f"wabas/{acme.o.waba.pk}/sync/", "/wabas/{waba_pk}/sync/", {}),
        ("GET", f"wabas/{acme.o.waba.pk}/reconnect/", "/wabas/{waba_pk}/reconnect/", None),
        ("POST", f"wabas/{acme.o.waba.pk}/disconnect/", "/wabas/{waba_pk}/disconnect/", {}),
        (
            "POST",
            f"wabas/{acme.o.waba.pk}/reconnect/",
            "/wabas/{waba_pk}/reconnect/",
            signup_body(acme.o.waba.waba_id),
        ),
        (
            "POST",
            f"onboardings/{acme.o.onboarding.pk}/dismiss/",
            "/onboardings/{onboarding_pk}/dismiss/",
            {},
        ),
        (
            "POST",
            f"templates/{acme.o.template.pk}/preview/",
            "/templates/{template_pk}/preview/",
            {"parameters": {"body.1": "Ann"}},
        ),
        ("POST", "templates/sync/", "/templates/sync/", {"waba": "x"}),
    ]
    for method, path, documented, body in cases:
        if method == "GET":
            response = acme.client.get(BASE + path)
        else:
            response = post_json(acme.client, BASE + path, body)
        assert response.status_code < 500, (path, response.content[:300])
        assert_matches_schema(schema, "/api/v1/t/{tenant_slug}" + documented, method, response)


def test_json_is_written_with_iso_times_and_our_ids(acme: Acme) -> None:
    waba = acme.client.get(waba_path(acme)).json()
    assert waba["id"] == acme.o.waba.pk and waba["waba_id"] == acme.o.waba.waba_id
    assert waba["connected_at"].endswith(("Z", "+00:00")) and "T" in waba["connected_at"]
    (number,) = [n for n in waba["phone_numbers"] if n["id"] == acme.o.phone.pk]
    assert number["phone_number_id"] == acme.o.phone.phone_number_id
    assert number["e164"] == "+" + "".join(c for c in number["display_phone_number"] if c.isdigit())
    assert str(acme.o.waba.access_token) not in json.dumps(waba)


# --- The whole way, against the mock Meta server --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_account_is_synced_disconnected_and_connected_again_through_the_api(
    world: World, mock_meta: Any, settings: Any
) -> None:
    settings.GRAPH_API_BASE_URL = mock_meta.base_url
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    signup = mock_meta.signup(phone="+4915122225555", display_name="Again Co")
    created = post_json(
        client, BASE + "onboardings/", {"code": signup["code"], "session": signup["session_info"]}
    )
    assert created.status_code == 201 and created.json()["status"] == "succeeded", created.content
    waba_pk = created.json()["waba"]
    path = f"{BASE}wabas/{waba_pk}/"
    first_sync = client.get(path).json()["last_synced_at"]

    assert post_json(client, path + "sync/").status_code == 202  # the worker reads it now
    synced = client.get(path).json()
    assert synced["last_synced_at"] > first_sync and synced["sync_error"] == ""

    assert post_json(client, path + "disconnect/").status_code == 200
    again = mock_meta.signup(business_id=signup["business_id"], waba_id=signup["waba_id"])
    reconnected = post_json(
        client, path + "reconnect/", {"code": again["code"], "session": again["session_info"]}
    )
    assert reconnected.status_code == 201, reconnected.content
    assert (reconnected.json()["status"], reconnected.json()["waba"]) == ("succeeded", waba_pk)
    account = client.get(path).json()
    assert (account["connection_status"], account["needs_reconnect"]) == ("connected", False)
    assert [n["connection_status"] for n in account["phone_numbers"]] == ["connected"]
    with tenant_scope(world.tenant):
        assert WhatsAppAccount.objects.count() == 1  # the same records came back
        history = AccountHistory.objects.filter(waba_id=waba_pk, kind="connection")
        assert [h.new_value for h in history.order_by("pk")] == [
            "connected",
            "disconnected",
            "connected",
        ]
