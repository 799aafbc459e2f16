"""Reads of senders data."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from accounts.models import Tenant
from accounts.tenancy import unscoped
from senders.models import MetaAsset, MetaAssetKind


def tenants_for_meta_ids(
    *, waba_ids: Iterable[str] = (), phone_number_ids: Iterable[str] = ()
) -> tuple[dict[str, Tenant], dict[str, Tenant]]:
    """Which tenant holds each of these WABA ids and phone number ids (one query).

    Used to route webhooks, which arrive for every tenant at one URL. Ids that no
    tenant holds are absent from the result.
    """
    wabas, phones = set(waba_ids), set(phone_number_ids)
    if not wabas and not phones:
        return {}, {}
    match = Q(pk__in=[])
    if wabas:
        match |= Q(kind=MetaAssetKind.WABA, meta_id__in=wabas)
    if phones:
        match |= Q(kind=MetaAssetKind.PHONE_NUMBER, meta_id__in=phones)
    by_waba: dict[str, Tenant] = {}
    by_phone: dict[str, Tenant] = {}
    with unscoped():
        for asset in MetaAsset.objects.select_related("tenant").filter(
            match, tenant__is_active=True
        ):
            target = by_waba if asset.kind == MetaAssetKind.WABA else by_phone
            target[asset.meta_id] = asset.tenant
    return by_waba, by_phone
