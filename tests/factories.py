"""Factories that keep related objects inside one tenant.

A child takes its tenant from its parent (a phone number from its WABA, a step from
its onboarding), so ``PhoneNumberFactory(waba=waba)`` is always in ``waba``'s tenant;
to put a new child and a new parent in a given tenant, say so through the parent:
``PhoneNumberFactory(waba__tenant=tenant)``. Passing a tenant that differs from the
parent's is refused rather than saved.

Tenant-owned rows are created inside ``tenant_scope(tenant)``, as the application
creates them (their manager refuses to work outside a scope).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

import factory
from django.db import models
from django.utils import timezone

from accounts.models import Membership, Role, Team, Tenant, User
from accounts.tenancy import TenantOwnedModel, tenant_scope
from senders.models import (
    ConnectionStatus,
    MetaAsset,
    MetaAssetKind,
    Onboarding,
    OnboardingStatus,
    OnboardingStep,
    PhoneNumber,
    StepStatus,
    WhatsAppAccount,
)

PASSWORD = "correct-horse-battery-9"

# Meta ids are global (MetaAsset's unique constraint spans tenants), so every id a
# factory makes is new for the whole run; the random start keeps two runs sharing a
# mock Meta server from meeting each other's ids.
_meta_ids = itertools.count(random.randrange(10**6) * 1000)


def new_meta_id(prefix: str) -> str:
    """A 15-digit Meta-style id starting with ``prefix``, unique within the run."""
    return f"{prefix}{next(_meta_ids) % 10 ** (15 - len(prefix)):0{15 - len(prefix)}d}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")


class TenantOwnedFactory(factory.django.DjangoModelFactory):
    """Creates the row inside its tenant's scope; refuses a parent of another tenant."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: type[models.Model], *args: Any, **kwargs: Any) -> Any:
        tenant = kwargs["tenant"]
        for name, value in kwargs.items():
            if isinstance(value, TenantOwnedModel) and value.tenant_id != tenant.pk:
                raise ValueError(
                    f"{model_class.__name__}.{name} belongs to tenant {value.tenant_id}, "
                    f"not to {tenant.pk}: pass the parent and let the tenant follow it"
                )
        with tenant_scope(tenant):
            return super()._create(model_class, *args, **kwargs)


def claim(tenant: Tenant, waba_id: str, *phone_number_ids: str) -> None:
    """Record that ``tenant`` holds the WABA ``waba_id`` and these numbers of it."""
    MetaAssetFactory(tenant=tenant, kind=MetaAssetKind.WABA, meta_id=waba_id)
    for pid in phone_number_ids:
        MetaAssetFactory(
            tenant=tenant, kind=MetaAssetKind.PHONE_NUMBER, meta_id=pid, waba_id=waba_id
        )


class MetaAssetFactory(TenantOwnedFactory):
    """A claim on a Meta id; a WABA's by default."""

    class Meta:
        model = MetaAsset

    tenant = factory.SubFactory(TenantFactory)
    kind = MetaAssetKind.WABA
    meta_id = factory.LazyFunction(lambda: new_meta_id("1"))
    waba_id = ""


def _claims_by_default(connection_status: str, extracted: bool | None) -> bool:
    # A connected account holds its Meta id; a disconnect releases it (the row stays).
    if extracted is not None:
        return extracted
    return connection_status != ConnectionStatus.DISCONNECTED


class WhatsAppAccountFactory(TenantOwnedFactory):
    """A WABA as a finished onboarding leaves it: connected, verified, subscribed.

    Unless disconnected (or ``claim=False``), the tenant also holds the WABA's claim.
    """

    class Meta:
        model = WhatsAppAccount
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    waba_id = factory.LazyFunction(lambda: new_meta_id("1"))
    business_id = factory.LazyFunction(lambda: new_meta_id("3"))
    name = factory.Sequence(lambda n: f"WABA {n}")
    currency = "USD"
    meta_status = "ACTIVE"
    account_review_status = "APPROVED"
    business_verification_status = "verified"
    messaging_limit = "TIER_2K"
    connection_status = ConnectionStatus.CONNECTED
    access_token = factory.Sequence(lambda n: f"EAAtest{n:08d}token")
    subscribed = True
    connected_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def claim(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        if create and _claims_by_default(self.connection_status, extracted):
            MetaAssetFactory(tenant=self.tenant, kind=MetaAssetKind.WABA, meta_id=self.waba_id)


class PhoneNumberFactory(TenantOwnedFactory):
    """A connected, registered number of ``waba`` (a new WABA unless given).

    Unless disconnected (or ``claim=False``), the tenant also holds the number's claim.
    Not primary unless asked: a tenant has at most one primary sender.
    """

    class Meta:
        model = PhoneNumber
        skip_postgeneration_save = True

    waba = factory.SubFactory(WhatsAppAccountFactory)
    tenant = factory.SelfAttribute("waba.tenant")
    phone_number_id = factory.LazyFunction(lambda: new_meta_id("2"))
    display_phone_number = factory.Sequence(lambda n: f"+1 555-{n % 10**7:07d}")
    verified_name = factory.SelfAttribute("waba.name")
    meta_status = "CONNECTED"
    quality_rating = "GREEN"
    name_status = "APPROVED"
    code_verification_status = "VERIFIED"
    platform_type = "CLOUD_API"
    throughput_level = "STANDARD"
    messaging_limit = factory.SelfAttribute("waba.messaging_limit")
    connection_status = ConnectionStatus.CONNECTED
    is_primary = False
    registered_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def claim(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        if create and _claims_by_default(self.connection_status, extracted):
            MetaAssetFactory(
                tenant=self.tenant,
                kind=MetaAssetKind.PHONE_NUMBER,
                meta_id=self.phone_number_id,
                waba_id=self.waba.waba_id,
            )


class OnboardingFactory(TenantOwnedFactory):
    """An onboarding as the signup left it: queued, with the WABA and number chosen.

    With ``account``, the onboarding is in that account's tenant.
    """

    class Meta:
        model = Onboarding

    account = None
    tenant = factory.Maybe(
        "account",
        yes_declaration=factory.SelfAttribute("account.tenant"),
        no_declaration=factory.SubFactory(TenantFactory),
    )
    signup_event = "FINISH"
    code = factory.Sequence(lambda n: f"signup-code-{n}")
    waba_id = factory.LazyAttribute(lambda o: o.account.waba_id if o.account else new_meta_id("1"))
    phone_number_id = factory.LazyFunction(lambda: new_meta_id("2"))
    business_id = factory.LazyAttribute(
        lambda o: o.account.business_id if o.account else new_meta_id("3")
    )
    status = OnboardingStatus.QUEUED

    class Params:
        failed = factory.Trait(
            status=OnboardingStatus.FAILED,
            error_message="Meta did not answer.",
            finished_at=factory.LazyFunction(timezone.now),
        )


class OnboardingStepFactory(TenantOwnedFactory):
    class Meta:
        model = OnboardingStep

    onboarding = factory.SubFactory(OnboardingFactory)
    tenant = factory.SelfAttribute("onboarding.tenant")
    position = factory.Sequence(lambda n: n)
    name = factory.Sequence(lambda n: f"step_{n}")
    status = StepStatus.PENDING


def member(tenant: Tenant, role: str = Role.AGENT, **user_fields: object) -> Membership:
    """A new user who is a member of ``tenant`` with ``role``."""
    user = UserFactory(**user_fields)
    with tenant_scope(tenant):
        return Membership.objects.create(user=user, role=role)


def team(tenant: Tenant, name: str, *members: Membership) -> Team:
    with tenant_scope(tenant):
        t = Team.objects.create(name=name)
        for m in members:
            t.team_members.create(tenant=tenant, membership=m)
        return t


@dataclass
class World:
    """Two tenants with a member of every role each, for permission matrices."""

    tenant: Tenant
    owner: Membership
    admin: Membership
    agent: Membership
    other_tenant: Tenant
    other_owner: Membership

    def by_role(self, role: str) -> Membership:
        return {"owner": self.owner, "admin": self.admin, "agent": self.agent}[role]


def make_world() -> World:
    """Acme (``acme``) with an owner, an admin and an agent; Globex with its owner."""
    tenant = TenantFactory(name="Acme", slug="acme")
    other = TenantFactory(name="Globex", slug="globex")
    return World(
        tenant=tenant,
        owner=member(tenant, Role.OWNER, email="owner@acme.test"),
        admin=member(tenant, Role.ADMIN, email="admin@acme.test"),
        agent=member(tenant, Role.AGENT, email="agent@acme.test"),
        other_tenant=other,
        other_owner=member(other, Role.OWNER, email="owner@globex.test"),
    )


# -- templates (T1/T2)
class TemplateFactory(TenantOwnedFactory):
    """An approved template of ``waba`` (a new WABA unless given), as Meta listed it."""

    class Meta:
        model = "templates_app.Template"

    waba = factory.SubFactory(WhatsAppAccountFactory)
    tenant = factory.SelfAttribute("waba.tenant")
    meta_template_id = factory.LazyFunction(lambda: new_meta_id("5"))
    name = factory.Sequence(lambda n: f"order_update_{n}")
    language = "en_US"
    category = "UTILITY"
    parameter_format = "POSITIONAL"
    components = factory.LazyFunction(
        lambda: [
            {
                "type": "BODY",
                "text": "Hello {{1}}, your order {{2}} is on its way.",
                "example": {"body_text": [["Ann", "A-1001"]]},
            }
        ]
    )
    status = "APPROVED"
    quality_score = "UNKNOWN"
    ever_approved = factory.LazyAttribute(lambda o: o.status == "APPROVED")


# -- display name, OBA, QR codes (H3)
_qr_codes = itertools.count(random.randrange(10**6))
_QR_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def new_qr_code() -> str:
    """A 14-character code as Meta makes them ([A-Z2-7]), unique within the run."""
    n, out = next(_qr_codes), ""
    for _ in range(14):
        n, digit = divmod(n, 32)
        out += _QR_ALPHABET[digit]
    return out


class QrCodeFactory(TenantOwnedFactory):
    """A QR code / message link of ``phone_number`` (a new number unless given)."""

    class Meta:
        model = "senders.QrCode"

    phone_number = factory.SubFactory(PhoneNumberFactory)
    tenant = factory.SelfAttribute("phone_number.tenant")
    code = factory.LazyFunction(new_qr_code)
    prefilled_message = "Hello! I'd like to order."
    deep_link_url = factory.LazyAttribute(lambda o: f"https://wa.me/message/{o.code}")


# -- REST API (A1): API keys, event subscriptions and deliveries
ALL_SCOPES = {g: "write" for g in ("senders", "templates", "inbox", "contacts", "events")}


def api_key_for(
    tenant: Tenant, *, scopes: dict[str, str] | None = None, name: str = "Test key", **fields: Any
) -> tuple[Any, str]:
    """A key of ``tenant`` (every group read/write unless ``scopes``), and the key itself."""
    from accounts.models import API_KEY_PREFIX, API_KEY_PREFIX_CHARS, ApiKey
    from accounts.services.api_keys import api_key_hash, api_key_secret_new

    secret = api_key_secret_new()
    with tenant_scope(tenant):
        key = ApiKey.objects.create(
            name=name,
            prefix=secret[: len(API_KEY_PREFIX) + API_KEY_PREFIX_CHARS],
            key_hash=api_key_hash(secret),
            scopes=ALL_SCOPES if scopes is None else scopes,
            **fields,
        )
    return key, secret


def event_subscription_for(tenant: Tenant, **fields: Any) -> Any:
    """A subscription of ``tenant`` to every event (its URL is not checked here)."""
    from waba_portal.events.models import EVENT_TYPES, EventSubscription
    from waba_portal.events.signing import secret_new

    values: dict[str, Any] = {
        "url": "https://hooks.example.test/waba",
        "events": list(EVENT_TYPES),
        "secret": secret_new(),
        **fields,
    }
    with tenant_scope(tenant):
        return EventSubscription.objects.create(**values)


def event_delivery_for(subscription: Any, *, status: str = "succeeded", **fields: Any) -> Any:
    """A finished delivery of a ``number.status_changed`` event to ``subscription``."""
    from waba_portal.events.models import Event, EventDelivery

    with tenant_scope(subscription.tenant):
        event = Event.objects.create(type="number.status_changed", data={"phone_number": 1})
        return EventDelivery.objects.create(
            event=event,
            subscription=subscription,
            status=status,
            attempts=1,
            next_attempt_at=None,
            last_status_code=200 if status == "succeeded" else 500,
            **fields,
        )


# -- inbox (I1)
_wa_ids = itertools.count(random.randrange(10**6) * 100)


def conversation_for(phone: PhoneNumber, *, name: str = "Ana Lima", **fields: Any) -> Any:
    """A new contact of ``phone``'s tenant with an open conversation on ``phone``: one
    inbound text, and one image whose file is still to be fetched (``.media``)."""
    from inbox.models import Contact, Conversation, Direction, Media, Message, MessageStatus

    wa_id = f"49151{next(_wa_ids) % 10**8:08d}"
    now = timezone.now()
    with tenant_scope(phone.tenant):
        contact = Contact.objects.create(wa_id=wa_id, phone=f"+{wa_id}", profile_name=name)
        conversation = Conversation.objects.create(
            channel=phone, contact=contact, last_inbound_at=now, unread_count=2, **fields
        )
        rows = [
            Message.objects.create(
                conversation=conversation,
                wamid=f"wamid.test-{wa_id}-{kind}",
                direction=Direction.INBOUND,
                phone_number_id=phone.phone_number_id,
                wa_id=wa_id,
                type=kind,
                text=text,
                payload={"type": kind, kind: body},
                status=MessageStatus.RECEIVED,
                meta_timestamp=now,
            )
            for kind, text, body in (
                ("text", "Hello, is my order on its way?", {"body": "Hello"}),
                ("image", "", {"id": "9" + wa_id, "mime_type": "image/jpeg"}),
            )
        ]
        conversation.last_message = rows[-1]
        conversation.save(update_fields=["last_message"])
        conversation.media = Media.objects.create(  # type: ignore[attr-defined]
            message=rows[-1], media_id="9" + wa_id, mime_type="image/jpeg"
        )
    return conversation
