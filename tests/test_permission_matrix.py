"""Role × method × URL for every tenant page and API endpoint, generated from the URL conf.

Every pattern with a ``tenant_slug`` (``/t/<slug>/...`` and ``/api/v1/t/<slug>/...``)
is filled with ids of real objects of Acme, and separately of Globex, and tried with GET
and POST (and any other method an API view implements) by:

- nobody signed in: a page sends to the login page, the API answers 401/403;
- Acme's owner and admin: never refused, never "not found" (so the ids are real);
- Acme's agent: 403 exactly where AGENT_REFUSED says, and nowhere else;
- Globex's owner, at Acme's URL: 404, as for a workspace that does not exist;
- Acme's owner, with Globex's ids in Acme's URL: 404.

No answer is a 500 (the test client re-raises a view's exception). A new URL is in the
matrix as soon as it is in the URL conf; if it has a URL argument this file has no
value for, its cases fail and say where to register one. The hand-written tests in
tests/accounts/test_permissions.py check what specific actions do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from accounts.models import ApiKey, Invitation, Membership, Role, Team, Tenant
from accounts.tenancy import tenant_scope
from senders.models import Onboarding, PhoneNumber, QrCode, WhatsAppAccount
from templates_app.models import Template
from tests.factories import (
    OnboardingFactory,
    PhoneNumberFactory,
    QrCodeFactory,
    TemplateFactory,
    WhatsAppAccountFactory,
    World,
    api_key_for,
    conversation_for,  # inbox (I1)
    event_delivery_for,
    event_subscription_for,
    make_world,
    team,
)
from waba_portal.events.models import EventDelivery, EventSubscription

TENANT_KWARG = "tenant_slug"


@dataclass
class TenantObjects:
    """One tenant's rows whose ids go into URLs."""

    tenant: Tenant
    membership: Membership
    invitation: Invitation
    team: Team
    waba: WhatsAppAccount
    phone: PhoneNumber
    onboarding: Onboarding
    template: Template
    qr: QrCode
    api_key: ApiKey  # REST API (A1)
    subscription: EventSubscription  # REST API (A1)
    delivery: EventDelivery  # REST API (A1)
    conversation: Any = None  # inbox (I1): with its contact and a media file


# The value of each URL argument, from a tenant's objects. A URL whose argument is not
# here fails every case of the matrix until its value is registered.
URL_VALUES: dict[str, Callable[[TenantObjects], object]] = {
    "membership_id": lambda o: o.membership.pk,
    "invitation_id": lambda o: o.invitation.pk,
    "action": lambda o: "revoke",
    "team_id": lambda o: o.team.pk,
    "onboarding_pk": lambda o: o.onboarding.pk,
    "waba_pk": lambda o: o.waba.pk,
    "phone_pk": lambda o: o.phone.pk,
    "membership_pk": lambda o: o.membership.pk,  # channel roles (H5)
    "template_pk": lambda o: o.template.pk,  # templates (T1/T2)
    "qr_pk": lambda o: o.qr.pk,  # QR codes (H3)
    "api_key_pk": lambda o: o.api_key.pk,  # REST API (A1)
    "subscription_pk": lambda o: o.subscription.pk,  # REST API (A1)
    "delivery_pk": lambda o: o.delivery.pk,  # REST API (A1)
    "conversation_pk": lambda o: o.conversation.pk,  # inbox (I1)
    "contact_pk": lambda o: o.conversation.contact_id,  # inbox (I1)
    "media_pk": lambda o: o.conversation.media.pk,  # inbox (I1)
}

# URL arguments that are not ids: the same value for both tenants.
NOT_IDS = {"action"}

# (URL name, method) pairs that only owners and admins may use: the agent gets 403.
# Everywhere else the agent must not be refused.
AGENT_REFUSED: dict[str, set[str]] = {
    "accounts:members": {"POST"},  # invite
    "accounts:member_role": {"GET", "POST"},
    "accounts:invitation_action": {"GET", "POST"},
    "accounts:teams": {"POST"},
    "accounts:team_detail": {"POST"},
    "accounts:audit_log": {"GET", "POST"},
    "accounts:security": {"GET", "POST"},
    "senders:connect": {"POST"},
    "senders:onboarding_retry": {"POST"},
    "senders:onboarding_dismiss": {"POST"},
    "senders:waba_disconnect": {"POST"},
    "senders:waba_sync": {"POST"},
    "senders:phone_set_primary": {"POST"},
    "senders:phone_resubmit": {"POST"},
    "senders:primary_switch": {"POST"},
    "api-phone-number-primary": {"POST"},
    "api-onboarding-list": {"POST"},  # GET lists them for everyone
    # -- numbers: add, verify, register, PIN, remove
    "senders:number_add": {"GET", "POST"},
    "senders:number_add_signup": {"POST"},
    "api-phone-number-list": {"POST"},  # adding a number (GET lists them for everyone)
    # -- numbers: verify, register, PIN, remove (H2)
    "senders:number_code_request": {"POST"},
    "senders:number_code_verify": {"POST"},
    "senders:number_register": {"POST"},
    "senders:number_pin_change": {"POST"},
    "senders:number_pin_reveal": {"POST"},
    "senders:number_resubmit": {"POST"},
    "senders:number_remove": {"POST"},
    "api-phone-number-detail": {"DELETE"},
    "api-phone-number-request-code": {"POST"},
    "api-phone-number-verify": {"POST"},
    "api-phone-number-register": {"POST"},
    "api-phone-number-pin": {"POST"},
    "api-phone-number-pin-reveal": {"POST"},
    "api-phone-number-resubmit": {"POST"},
    "api-phone-number-remove": {"POST"},
    # -- display name and Official Business Account
    "senders:number_name": {"POST"},
    "senders:number_name_register": {"POST"},
    "senders:number_oba_request": {"POST"},
    "senders:number_oba_refresh": {"POST"},
    "api-phone-number-display-name": {"POST"},
    "api-phone-number-display-name-register": {"POST"},
    "api-phone-number-oba": {"POST"},
    "api-phone-number-oba-refresh": {"POST"},
    # -- QR codes and message links
    "senders:number_qr_codes": {"POST"},
    "senders:number_qr_codes_sync": {"POST"},
    "senders:qr_code_edit": {"POST"},
    "senders:qr_code_delete": {"POST"},
    "api-phone-number-qr-codes": {"POST"},
    "api-phone-number-qr-codes-sync": {"POST"},
    "api-phone-number-qr-code": {"POST", "PATCH", "DELETE"},
    # -- business profile and logo
    "senders:number_profile": {"POST"},
    "senders:number_profile_picture": {"POST"},
    "senders:number_profile_retry": {"POST"},
    "senders:number_profile_refresh": {"POST"},
    # POST is no method of this view, but a write: refused (403) before the method (405).
    "api-phone-number-profile": {"POST", "PUT", "PATCH"},
    "api-phone-number-profile-picture": {"POST"},
    "api-phone-number-profile-retry": {"POST"},
    "api-phone-number-profile-refresh": {"POST"},
    # -- channel settings
    "senders:number_channel": {"POST"},
    "senders:number_channel_members": {"POST"},
    "senders:number_channel_member_remove": {"POST"},
    "api-phone-number-channel": {"POST", "PATCH"},
    "api-phone-number-channel-members": {"POST"},
    "api-phone-number-channel-member": {"POST", "PATCH", "DELETE"},
    # -- templates (T1/T2)
    "templates_app:create": {"GET", "POST"},  # the editor (T2)
    "templates_app:edit": {"GET", "POST"},
    "templates_app:sync": {"POST"},
    "templates_app:delete": {"POST"},
    "templates_app:delete_name": {"POST"},
    "api-template-list": {"POST"},
    "api-template-detail": {"POST", "PATCH", "DELETE"},  # POST: a write, refused before 405
    "api-template-sync": {"POST"},
    # -- REST API (A2): the pages' actions on accounts and connection attempts
    "api-waba-sync": {"POST"},
    "api-waba-disconnect": {"POST"},
    "api-waba-reconnect": {"POST"},
    "api-onboarding-retry": {"POST"},
    "api-onboarding-dismiss": {"POST"},
    # -- REST API (A1)
    "accounts:api_keys": {"GET", "POST"},
    "accounts:api_key_revoke": {"GET", "POST"},
    "events:subscriptions": {"GET", "POST"},
    "events:subscription_detail": {"GET", "POST"},
    "events:subscription_deliveries": {"GET", "POST"},
    "events:subscription_test": {"GET", "POST"},
    "events:subscription_rotate_secret": {"GET", "POST"},
    "events:subscription_delete": {"GET", "POST"},
    "events:delivery_redeliver": {"GET", "POST"},
    "api-event-subscription-list": {"GET", "POST"},
    "api-event-subscription-detail": {"GET", "POST", "PATCH", "DELETE"},
    "api-event-subscription-rotate-secret": {"GET", "POST"},
    "api-event-subscription-test": {"GET", "POST"},
    "api-event-delivery-list": {"GET", "POST"},
    "api-event-delivery-detail": {"GET", "POST"},
    "api-event-delivery-redeliver": {"GET", "POST"},
    # -- inbox (I1)
    "inbox:settings": {"POST"},  # the workspace's consent keywords
    "inbox:contact_delete": {"POST"},  # a contact with their conversations
    "api-contact-detail": {"DELETE"},  # a contact goes with their conversations
}

# Known holes, each failing its case until fixed (strict: a fix makes the case XPASS,
# which fails too, so the entry is removed with the fix).
KNOWN_GAPS: dict[tuple[str, str], str] = {}

_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the route itself when the pattern has no name
    route: str  # e.g. "t/<slug:tenant_slug>/settings/whatsapp/accounts/<int:waba_id>/"
    fillable: bool  # False for a regex (re_path) pattern
    methods: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def kwargs(self) -> list[str]:
        return [m["parameter"] for m in _PARAMETER.finditer(self.route)]

    def url(self, slug: str, objects: TenantObjects) -> str:
        if not self.fillable:
            pytest.fail(
                f"{self.name}: a regex URL pattern ({self.route}) cannot be filled by "
                f"{__file__}; write it with path() converters, or extend the generator."
            )
        missing = [k for k in self.kwargs if k != TENANT_KWARG and k not in URL_VALUES]
        if missing:
            pytest.fail(
                f"{self.name} ({self.route}) has URL arguments {missing} that the "
                f"permission matrix cannot fill: register a value for each in URL_VALUES "
                f"in {__file__}."
            )

        def value(m: re.Match[str]) -> str:
            kwarg = m["parameter"]
            return slug if kwarg == TENANT_KWARG else str(URL_VALUES[kwarg](objects))

        path = "/" + _PARAMETER.sub(value, self.route)
        match = resolve(path)
        if match.route != self.route:
            pytest.fail(
                f"{self.name}: the values registered in URL_VALUES for {self.kwargs} give "
                f"{path}, which is not this URL (it resolves to {match.route!r}): fix the "
                "registered value for its converter."
            )
        return path


def _methods(callback: Any) -> tuple[str, ...]:
    # An API view says which handlers it has; a function view is tried with GET and POST.
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    extra = []
    if view_class is not None:
        extra = [m.upper() for m in ("put", "patch", "delete") if hasattr(view_class, m)]
    return ("GET", "POST", *extra)


def _walk(
    patterns: list[Any], prefix: str = "", namespace: str = "", fillable: bool = True
) -> Iterator[Route]:
    for entry in patterns:
        part_fillable = fillable and isinstance(entry.pattern, RoutePattern)
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace or ""]))
            yield from _walk(entry.url_patterns, route, inner, part_fillable)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield Route(name or route, route, part_fillable, _methods(entry.callback))


def tenant_routes() -> list[Route]:
    """Every URL pattern that takes a tenant slug, as the URL conf has it now."""
    return [r for r in _walk(get_resolver().url_patterns) if TENANT_KWARG in r.route]


ROUTES = tenant_routes()
CASES = [(route, method) for route in ROUTES for method in route.methods]


def case_id(case: tuple[Route, str]) -> str:
    route, method = case
    return f"{method} {route.name}"


# --- The two tenants -------------------------------------------------------------------


@dataclass
class Tenants:
    world: World
    acme: TenantObjects
    globex: TenantObjects


def objects_of(tenant: Tenant, membership: Membership) -> TenantObjects:
    waba = WhatsAppAccountFactory(tenant=tenant, name=f"{tenant.name} WABA")
    with tenant_scope(tenant):
        invitation = Invitation.objects.create(email=f"new@{tenant.slug}.test", role=Role.AGENT)
    phone = PhoneNumberFactory(waba=waba)
    return TenantObjects(
        tenant=tenant,
        membership=membership,
        invitation=invitation,
        team=team(tenant, "Support"),
        waba=waba,
        phone=phone,
        qr=QrCodeFactory(phone_number=phone),
        onboarding=OnboardingFactory(account=waba, failed=True),
        template=TemplateFactory(waba=waba),
        api_key=api_key_for(tenant)[0],  # REST API (A1)
        subscription=(subscription := event_subscription_for(tenant)),
        delivery=event_delivery_for(subscription),
        conversation=conversation_for(phone),  # inbox (I1)
    )


@pytest.fixture
def tenants(db: None) -> Tenants:
    world = make_world()
    return Tenants(
        world=world,
        # Acme's member in URLs is the agent: a manager may act on them, and the agent
        # on themself (leaving the workspace), so no one is refused for the target.
        acme=objects_of(world.tenant, world.agent),
        globex=objects_of(world.other_tenant, world.other_owner),
    )


def send(client: Client, route: Route, method: str, path: str) -> Any:
    if route.is_api:
        return client.generic(method, path, "{}", content_type="application/json")
    return client.generic(method, path, "", content_type="application/x-www-form-urlencoded")


def signed_in(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def describe(response: Any) -> str:
    return f"{response.status_code} {response.content[:300]!r}"


# --- The matrix -----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_nobody_signed_in_is_sent_to_log_in(tenants: Tenants, case: tuple[Route, str]) -> None:
    route, method = case
    path = route.url("acme", tenants.acme)
    response = send(Client(), route, method, path)
    if route.is_api:
        assert response.status_code in (401, 403), describe(response)
    else:
        assert response.status_code == 302, describe(response)
        assert response["Location"].startswith("/login/?next="), response["Location"]


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_managers_are_never_refused_and_find_their_objects(
    tenants: Tenants, case: tuple[Route, str], role: str
) -> None:
    route, method = case
    path = route.url("acme", tenants.acme)
    response = send(signed_in(tenants.world.by_role(role)), route, method, path)
    assert response.status_code not in (403, 404), describe(response)
    assert response.status_code < 500, describe(response)


AGENT_CASES = [
    pytest.param(
        c,
        id=case_id(c),
        marks=[pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[(c[0].name, c[1])])]
        if (c[0].name, c[1]) in KNOWN_GAPS
        else [],
    )
    for c in CASES
]


@pytest.mark.parametrize("case", AGENT_CASES)
def test_an_agent_is_refused_exactly_where_only_managers_may(
    tenants: Tenants, case: tuple[Route, str]
) -> None:
    route, method = case
    path = route.url("acme", tenants.acme)
    response = send(signed_in(tenants.world.agent), route, method, path)
    if method in AGENT_REFUSED.get(route.name, set()):
        assert response.status_code == 403, describe(response)
    else:
        assert response.status_code not in (403, 404), (
            f"{describe(response)}: if only owners and admins may {method} {route.name}, "
            "add it to AGENT_REFUSED"
        )
        assert response.status_code < 500, describe(response)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_member_of_another_workspace_finds_nothing(
    tenants: Tenants, case: tuple[Route, str]
) -> None:
    route, method = case
    path = route.url("acme", tenants.acme)
    response = send(signed_in(tenants.world.other_owner), route, method, path)
    assert response.status_code == 404, describe(response)


ID_CASES = [c for c in CASES if set(c[0].kwargs) - {TENANT_KWARG, *NOT_IDS}]


@pytest.mark.parametrize("case", ID_CASES, ids=case_id)
def test_another_workspaces_ids_are_not_found_in_ours(
    tenants: Tenants, case: tuple[Route, str]
) -> None:
    route, method = case
    owner = signed_in(tenants.world.owner)
    response = send(owner, route, method, route.url("acme", tenants.globex))
    if response.status_code == 405:
        # A method the view never takes is refused before any id is read: the same
        # answer for our ids, so it tells nothing about Globex's.
        own = send(owner, route, method, route.url("acme", tenants.acme))
        assert own.status_code == 405, describe(own)
    else:
        assert response.status_code == 404, describe(response)


# --- The generator itself ---------------------------------------------------------------


def test_every_tenant_url_is_in_the_matrix() -> None:
    names = {r.name for r in ROUTES}
    # One page and one API endpoint of each URL conf that mounts tenant URLs: if the
    # walk found none of them, the matrix above would pass by testing nothing.
    assert {"accounts:dashboard", "senders:index", "api-waba-list"} <= names, names


def test_every_url_argument_has_a_registered_value() -> None:
    unknown = {
        r.name: [k for k in r.kwargs if k != TENANT_KWARG and k not in URL_VALUES] for r in ROUTES
    }
    unknown = {name: kwargs for name, kwargs in unknown.items() if kwargs}
    unfillable = [r.name for r in ROUTES if not r.fillable]
    assert not unknown, f"register a value in URL_VALUES ({__file__}) for: {unknown}"
    assert not unfillable, f"regex URL patterns the matrix cannot fill: {unfillable}"


def test_agent_refusals_name_urls_that_exist() -> None:
    known = {(r.name, m) for r, m in CASES}
    listed = {(n, m) for n, methods in AGENT_REFUSED.items() for m in methods} | set(KNOWN_GAPS)
    stale = sorted(listed - known)
    assert not stale, f"AGENT_REFUSED or KNOWN_GAPS name URLs or methods that do not exist: {stale}"


def test_a_url_argument_without_a_value_fails_its_cases() -> None:
    new = Route("senders:webhook_test", "t/<slug:tenant_slug>/hooks/<int:hook_id>/", True, ())
    with pytest.raises(pytest.fail.Exception, match=r"\['hook_id'\].*register a value"):
        new.url("acme", None)  # type: ignore[arg-type]
