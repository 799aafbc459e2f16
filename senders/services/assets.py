"""Claims on Meta ids: which tenant holds a WABA or a number right now.

A claim routes the id's webhooks to its tenant, and a claim that fails is how "held by
another workspace or provider" is detected. Releasing a claim keeps the tenant's own
records of the account (its history).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.tenancy import require_tenant
from senders.models import MetaAsset, MetaAssetKind
from senders.selectors import meta_asset_owner


class AssetTaken(Exception):
    """A WABA or number is held by another tenant."""


def meta_asset_claim(*, kind: str, meta_id: str, waba_id: str = "") -> MetaAsset:
    """Claim a Meta id for the current tenant; raises AssetTaken if another holds it.

    ``waba_id`` is, for a number, Meta's id of the WABA it belongs to.
    """
    existing = MetaAsset.objects.filter(kind=kind, meta_id=meta_id).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return MetaAsset.objects.create(kind=kind, meta_id=meta_id, waba_id=waba_id)
    except IntegrityError as exc:
        owner = meta_asset_owner(kind=kind, meta_id=meta_id)
        if owner is not None and owner != require_tenant().pk:
            raise AssetTaken(meta_id) from exc
        return MetaAsset.objects.get(kind=kind, meta_id=meta_id)


def meta_assets_release(*, kind: str, meta_ids: Iterable[str]) -> None:
    """Give up the current tenant's claims on these Meta ids."""
    MetaAsset.objects.filter(kind=kind, meta_id__in=list(meta_ids)).delete()


def meta_assets_release_waba(*, waba_id: str) -> list[str]:
    """Give up the current tenant's claims on a WABA and on the numbers claimed with it.

    Answers the Meta ids released. A number's claim names its WABA (``waba_id``).
    """
    claims = MetaAsset.objects.filter(
        Q(kind=MetaAssetKind.WABA, meta_id=waba_id)
        | Q(kind=MetaAssetKind.PHONE_NUMBER, waba_id=waba_id)
    )
    released = sorted(claims.values_list("meta_id", flat=True))
    claims.delete()
    return released
