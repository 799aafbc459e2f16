"""API keys: made on the settings page (shown once, kept hashed), used as Bearer
credentials within their scopes and their workspace, revoked or expired at once."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, Role
from accounts.services import api_keys
from accounts.services.audit import audit_describe
from accounts.tenancy import tenant_scope
from tests.api.support import error_of, key_client, post_json, session_client
from tests.factories import (
    PhoneNumberFactory,
    WhatsAppAccountFactory,
    World,
    api_key_for,
    event_subscription_for,
    member,
)
from waba_portal.api import RESOURCE_GROUP_BY_PACKAGE, resource_group_of
from waba_portal.errors import Invalid, NotAllowed

pytestmark = pytest.mark.django_db

PAGE = "/t/acme/settings/api-keys/"


def create_on_page(client: Client, name: str = "CRM sync", **scopes: str) -> str:
    form = {"name": name, "expires": "0"}
    form.update({f"scope_{group}": scope for group, scope in scopes.items()})
    response = client.post(PAGE, form)
    assert response.status_code == 302, response.content[:500]
    page = client.get(PAGE)
    shown = page.context["new_key"]
    assert shown is not None
    return str(shown["key"])


# --- Making a key ---------------------------------------------------------------------


def test_a_new_key_is_shown_once_and_kept_only_as_a_hash(world: World) -> None:
    owner = session_client(world.owner)
    response = owner.post(
        PAGE, {"name": "CRM sync", "scope_senders": "read", "scope_inbox": "write", "expires": "30"}
    )
    assert response.status_code == 302
    page = owner.get(PAGE)
    secret = page.context["new_key"]["key"]
    assert secret.startswith("wbp_live_") and len(secret) == len("wbp_live_") + 40
    assert secret in page.content.decode()
    again = owner.get(PAGE)
    assert again.context["new_key"] is None and secret not in again.content.decode()
    with tenant_scope(world.tenant):
        key = ApiKey.objects.get()
    assert key.prefix == secret[:17] and key.prefix in again.content.decode()
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = " ".join(str(getattr(key, f.attname)) for f in ApiKey._meta.fields)
    assert secret not in stored
    assert key.scopes == {"senders": "read", "inbox": "write"}
    assert key.expires_at is not None
    assert timedelta(days=29) < key.expires_at - timezone.now() <= timedelta(days=30)
    assert key.created_by == world.owner.user


def test_an_admin_makes_keys_and_an_agent_may_not(world: World) -> None:
    assert create_on_page(session_client(world.admin), events="read")
    agent = session_client(world.agent)
    assert agent.get(PAGE).status_code == 403
    assert (
        agent.post(PAGE, {"name": "x", "scope_events": "read", "expires": "0"}).status_code == 403
    )
    with tenant_scope(world.tenant), pytest.raises(NotAllowed):
        api_keys.api_key_create(actor=world.agent, name="x", scopes={"events": "read"})


def test_a_key_needs_a_name_and_a_scope(world: World) -> None:
    owner = session_client(world.owner)
    response = owner.post(PAGE, {"name": "No access", "expires": "0"})
    assert response.status_code == 400
    assert "at least one group" in response.content.decode()
    with tenant_scope(world.tenant):
        with pytest.raises(Invalid) as blank:
            api_keys.api_key_create(actor=world.owner, name="  ", scopes={"events": "read"})
        assert blank.value.field == "name"
        with pytest.raises(Invalid) as bad_scope:
            api_keys.api_key_create(actor=world.owner, name="k", scopes={"events": "admin"})
        assert bad_scope.value.field == "scopes"
        with pytest.raises(Invalid) as past:
            api_keys.api_key_create(
                actor=world.owner,
                name="k",
                scopes={"events": "read"},
                expires_at=timezone.now() - timedelta(minutes=1),
            )
        assert past.value.field == "expires_at"
        assert not ApiKey.objects.exists()


def test_making_and_revoking_a_key_is_audited(world: World) -> None:
    owner = session_client(world.owner)
    create_on_page(owner, senders="write")
    with tenant_scope(world.tenant):
        key = ApiKey.objects.get()
    assert owner.post(f"{PAGE}{key.pk}/revoke/").status_code == 302
    with tenant_scope(world.tenant):
        rows = list(AuditEvent.objects.filter(action__startswith="api_key.").order_by("id"))
        assert [r.action for r in rows] == ["api_key.created", "api_key.revoked"]
        assert all(r.actor == world.owner.user for r in rows)
        assert rows[0].metadata["prefix"] == key.prefix
        assert rows[0].metadata["scopes"] == {"senders": "write"}
        assert "CRM sync" in audit_describe(rows[1]) and key.prefix in audit_describe(rows[1])


# --- Using a key ----------------------------------------------------------------------


def test_a_key_reads_its_workspace_and_its_use_is_recorded(world: World) -> None:
    key, secret = api_key_for(world.tenant, scopes={"senders": "read"}, name="Reader")
    response = key_client(secret).get("/api/v1/t/acme/", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["slug"], body["name"]) == ("acme", "Acme")
    assert body["credential"] == {
        "type": "api_key",
        "role": "admin",
        "name": "Reader",
        "prefix": key.prefix,
        "scopes": {"senders": "read"},
        "expires_at": None,
    }
    assert secret not in response.content.decode() and key.key_hash not in response.content.decode()
    key.refresh_from_db()
    assert key.last_used_ip == "203.0.113.9"
    assert key.last_used_at is not None and timezone.now() - key.last_used_at < timedelta(minutes=1)


def test_the_last_use_is_written_once_a_minute_or_from_a_new_address(world: World) -> None:
    key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.get("/api/v1/t/acme/", REMOTE_ADDR="203.0.113.9")
        with tenant_scope(world.tenant):
            first_at = ApiKey.objects.get(pk=key.pk).last_used_at
        clock.shift(timedelta(seconds=20))
        client.get("/api/v1/t/acme/", REMOTE_ADDR="203.0.113.9")
        with tenant_scope(world.tenant):
            assert ApiKey.objects.get(pk=key.pk).last_used_at == first_at
        client.get("/api/v1/t/acme/", REMOTE_ADDR="198.51.100.4")
        with tenant_scope(world.tenant):
            moved = ApiKey.objects.get(pk=key.pk)
        assert moved.last_used_ip == "198.51.100.4" and moved.last_used_at > first_at
    page = session_client(world.owner).get(PAGE).content.decode()
    assert "198.51.100.4" in page


def test_a_session_reads_the_workspace_with_its_role(world: World) -> None:
    body = session_client(world.agent).get("/api/v1/t/acme/").json()
    assert body["credential"] == {"type": "session", "role": "agent"}


def test_a_revoked_key_stops_at_its_next_request(world: World) -> None:
    key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    assert client.get("/api/v1/t/acme/wabas/").status_code == 200
    with tenant_scope(world.tenant):
        api_keys.api_key_revoke(actor=world.owner, key=key)
    refused = client.get("/api/v1/t/acme/wabas/")
    assert refused.status_code == 401
    assert error_of(refused)["code"] == "invalid_api_key"
    assert refused["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_key_stops_at_its_expiry(world: World) -> None:
    _key, secret = api_key_for(world.tenant, expires_at=timezone.now() + timedelta(hours=1))
    client = key_client(secret)
    assert client.get("/api/v1/t/acme/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        refused = client.get("/api/v1/t/acme/")
    assert refused.status_code == 401 and error_of(refused)["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    "credential",
    ["wbp_live_" + "A" * 40, "wbp_live_short", "not-a-key", ""],
    ids=["unknown", "malformed", "foreign-format", "empty"],
)
def test_an_unknown_key_answers_401_with_the_one_error_body(world: World, credential: str) -> None:
    key, _secret = api_key_for(world.tenant)
    for path in ("/api/v1/t/acme/", "/api/v1/t/acme/wabas/", "/api/v1/t/globex/"):
        refused = key_client(credential).get(path)
        assert refused.status_code == 401, (path, refused.content)
        assert error_of(refused)["code"] == "invalid_api_key"
    # A known prefix with the rest wrong is no key either.
    guessed = key.prefix + "B" * 32
    assert key_client(guessed).get("/api/v1/t/acme/").status_code == 401


def test_a_key_of_a_switched_off_workspace_is_no_key(world: World) -> None:
    _key, secret = api_key_for(world.tenant)
    world.tenant.is_active = False
    world.tenant.save(update_fields=["is_active"])
    assert key_client(secret).get("/api/v1/t/acme/").status_code == 401


def test_a_key_on_another_workspaces_path_finds_nothing(world: World) -> None:
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    for path in ("/api/v1/t/globex/", "/api/v1/t/globex/wabas/", "/api/v1/t/nowhere/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"


def test_another_workspaces_objects_are_not_found_with_a_key(world: World) -> None:
    _key, secret = api_key_for(world.tenant)
    client = key_client(secret)
    theirs = WhatsAppAccountFactory(tenant=world.other_tenant)
    their_phone = PhoneNumberFactory(waba=theirs)
    their_subscription = event_subscription_for(world.other_tenant)
    assert client.get(f"/api/v1/t/acme/wabas/{theirs.pk}/").status_code == 404
    assert (
        post_json(client, f"/api/v1/t/acme/phone-numbers/{their_phone.pk}/primary/").status_code
        == 404
    )
    for path in (
        f"/api/v1/t/acme/event-subscriptions/{their_subscription.pk}/",
        f"/api/v1/t/acme/event-subscriptions/{their_subscription.pk}/deliveries/",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get("/api/v1/t/acme/wabas/").json()["results"] == []


def test_a_key_needs_read_to_read_and_write_to_change_each_group(world: World) -> None:
    phone = PhoneNumberFactory(waba=WhatsAppAccountFactory(tenant=world.tenant))
    primary = f"/api/v1/t/acme/phone-numbers/{phone.pk}/primary/"
    _r, reader = api_key_for(world.tenant, scopes={"senders": "read", "events": "write"})
    _w, writer = api_key_for(world.tenant, scopes={"senders": "write"})
    _n, none = api_key_for(world.tenant, scopes={"templates": "read"})

    assert key_client(reader).get("/api/v1/t/acme/wabas/").status_code == 200
    refused = post_json(key_client(reader), primary)
    assert refused.status_code == 403
    error = error_of(refused)
    assert error["code"] == "insufficient_scope"
    assert error["details"] == {"resource_group": "senders", "needs": "write"}

    assert post_json(key_client(writer), primary).status_code == 200
    assert key_client(writer).get("/api/v1/t/acme/event-subscriptions/").status_code == 403

    no_read = key_client(none).get("/api/v1/t/acme/wabas/")
    assert no_read.status_code == 403
    assert error_of(no_read)["details"] == {"resource_group": "senders", "needs": "read"}
    assert key_client(reader).get("/api/v1/t/acme/event-subscriptions/").status_code == 200
    # The workspace itself answers every key, whatever its scopes.
    assert key_client(none).get("/api/v1/t/acme/").status_code == 200


def test_a_key_acts_as_an_admin_and_the_log_names_it(world: World) -> None:
    phone = PhoneNumberFactory(waba=WhatsAppAccountFactory(tenant=world.tenant))
    _key, secret = api_key_for(world.tenant, scopes={"senders": "write"}, name="Ops bot")
    response = post_json(key_client(secret), f"/api/v1/t/acme/phone-numbers/{phone.pk}/primary/")
    assert response.status_code == 200, response.content
    assert response.json()["is_primary"] is True
    with tenant_scope(world.tenant):
        row = AuditEvent.objects.get(action="phone_number.primary_set")
    assert row.actor is None and row.metadata["api_key"]["name"] == "Ops bot"
    assert audit_describe(row).startswith("API key Ops bot")


def test_a_key_works_where_members_must_sign_in_with_a_second_factor(world: World) -> None:
    world.tenant.two_factor_required = True
    world.tenant.save(update_fields=["two_factor_required"])
    _key, secret = api_key_for(world.tenant)
    assert key_client(secret).get("/api/v1/t/acme/wabas/").status_code == 200
    refused = session_client(world.owner).get("/api/v1/t/acme/wabas/")
    assert refused.status_code == 403 and error_of(refused)["code"] == "two_factor_required"


def test_each_apps_views_have_their_resource_group() -> None:
    def view_in(module: str) -> object:
        return type("View", (), {"__module__": module})()

    assert resource_group_of(view_in("senders.api.numbers")) == "senders"
    assert resource_group_of(view_in("templates_app.api")) == "templates"
    assert resource_group_of(view_in("inbox.api.conversations")) == "inbox"
    assert resource_group_of(view_in("waba_portal.events.api")) == "events"
    assert resource_group_of(view_in("somewhere.else")) is None
    named = type("Contacts", (), {"__module__": "inbox.api", "resource_group": "contacts"})()
    assert resource_group_of(named) == "contacts"
    assert set(RESOURCE_GROUP_BY_PACKAGE.values()) <= {
        "senders",
        "templates",
        "inbox",
        "contacts",
        "events",
    }


# --- Sessions keep working, with CSRF ---------------------------------------------------


def test_a_browser_session_still_needs_its_csrf_token_to_write(world: World) -> None:
    phone = PhoneNumberFactory(waba=WhatsAppAccountFactory(tenant=world.tenant))
    path = f"/api/v1/t/acme/phone-numbers/{phone.pk}/primary/"
    browser = session_client(world.owner, csrf=True)
    assert browser.get("/api/v1/t/acme/wabas/").status_code == 200
    refused = post_json(browser, path)
    assert refused.status_code == 403
    assert "CSRF" in error_of(refused)["message"]
    browser.get("/t/acme/")  # a page sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    accepted = post_json(browser, path, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200, accepted.content


def test_an_agent_session_keeps_its_role(world: World) -> None:
    phone = PhoneNumberFactory(waba=WhatsAppAccountFactory(tenant=world.tenant))
    agent = session_client(world.agent)
    assert agent.get("/api/v1/t/acme/wabas/").status_code == 200
    assert post_json(agent, f"/api/v1/t/acme/phone-numbers/{phone.pk}/primary/").status_code == 403
    assert agent.get("/api/v1/t/acme/event-subscriptions/").status_code == 403
    newcomer = member(world.tenant, Role.AGENT)
    assert session_client(newcomer).get("/api/v1/t/acme/").json()["credential"]["role"] == "agent"
