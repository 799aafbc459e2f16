"""The factories keep a parent and its children in one tenant, as the application does."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope, unscoped
from senders.models import (
    ConnectionStatus,
    MetaAsset,
    MetaAssetKind,
    Onboarding,
    OnboardingStatus,
    PhoneNumber,
    WhatsAppAccount,
)
from tests.factories import (
    MetaAssetFactory,
    OnboardingFactory,
    OnboardingStepFactory,
    PhoneNumberFactory,
    TenantFactory,
    WhatsAppAccountFactory,
)

pytestmark = pytest.mark.django_db


def claims() -> set[tuple[int, str, str, str]]:
    with unscoped():
        return {(a.tenant_id, a.kind, a.meta_id, a.waba_id) for a in MetaAsset.objects.all()}


def test_a_number_is_in_its_wabas_tenant_and_both_hold_their_claims() -> None:
    tenant = TenantFactory()
    phone = PhoneNumberFactory(waba__tenant=tenant)
    assert phone.tenant == phone.waba.tenant == tenant
    assert claims() == {
        (tenant.pk, MetaAssetKind.WABA, phone.waba.waba_id, ""),
        (tenant.pk, MetaAssetKind.PHONE_NUMBER, phone.phone_number_id, phone.waba.waba_id),
    }
    with tenant_scope(TenantFactory()):
        assert not PhoneNumber.objects.exists()
        assert not WhatsAppAccount.objects.exists()


def test_a_second_number_of_a_waba_joins_it() -> None:
    first = PhoneNumberFactory()
    second = PhoneNumberFactory(waba=first.waba)
    assert second.tenant == first.tenant
    assert second.phone_number_id != first.phone_number_id
    with tenant_scope(first.tenant):
        assert PhoneNumber.objects.filter(waba=first.waba).count() == 2


def test_a_parent_of_another_tenant_is_refused_and_nothing_is_saved() -> None:
    waba = WhatsAppAccountFactory()
    other = TenantFactory()
    with pytest.raises(ValueError, match="pass the parent and let the tenant follow it"):
        PhoneNumberFactory(waba=waba, tenant=other)
    with pytest.raises(ValueError, match="let the tenant follow it"):
        OnboardingFactory(account=waba, tenant=other)
    with unscoped():
        assert not PhoneNumber.objects.exists()
        assert not Onboarding.objects.exists()


def test_a_disconnected_account_holds_no_claim_and_claims_can_be_left_out() -> None:
    WhatsAppAccountFactory(connection_status=ConnectionStatus.DISCONNECTED)
    PhoneNumberFactory(claim=False, waba__claim=False)
    assert claims() == set()
    held = WhatsAppAccountFactory(connection_status=ConnectionStatus.DISCONNECTED, claim=True)
    assert claims() == {(held.tenant_id, MetaAssetKind.WABA, held.waba_id, "")}


def test_meta_ids_are_new_across_tenants() -> None:
    # The claim table is unique across all tenants, so no two factory ids may meet.
    wabas = [WhatsAppAccountFactory() for _ in range(3)]
    assert len({w.waba_id for w in wabas}) == 3
    assert all(len(w.waba_id) == 15 and w.waba_id.isdigit() for w in wabas)
    assert MetaAssetFactory().meta_id not in {w.waba_id for w in wabas}


def test_an_onboarding_and_its_steps_follow_the_account() -> None:
    waba = WhatsAppAccountFactory()
    onboarding = OnboardingFactory(account=waba, failed=True)
    step = OnboardingStepFactory(onboarding=onboarding)
    assert onboarding.tenant == step.tenant == waba.tenant
    assert (onboarding.waba_id, onboarding.status) == (waba.waba_id, OnboardingStatus.FAILED)
    assert onboarding.finished_at is not None
    with tenant_scope(waba.tenant):
        assert list(Onboarding.objects.get(pk=onboarding.pk).steps.all()) == [step]


def test_an_onboarding_without_an_account_gets_a_tenant_of_its_own() -> None:
    first, second = OnboardingFactory(), OnboardingFactory()
    assert first.account is None
    assert first.tenant != second.tenant
    assert first.status == OnboardingStatus.QUEUED
