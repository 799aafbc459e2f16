"""The schema stays ready to be distributed by tenant (Citus), whatever later issues add.

Every model of ours is either tenant-owned (``TenantOwnedModel``: a non-null
``tenant_id``, and every unique rule includes it) or named below as global, with the
reason it must be. docs/scaling.md says what each global table becomes in Citus.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models

from accounts.tenancy import TenantOwnedModel

OUR_APPS = {"accounts", "senders", "inbox", "templates_app", "webhooks", "events"}

# label -> why the table is not distributed by tenant (Citus: a reference or local table).
GLOBAL_TABLES = {
    "accounts.Tenant": "the tenants themselves; the distribution column points here",
    "accounts.User": "a person signs in once and may belong to several tenants",
    "webhooks.WebhookDelivery": "stored before its tenant is known (the raw body from Meta)",
    "webhooks.WebhookChange": "one change of a delivery; its tenant is resolved while processing",
    "senders.MetaAsset": (
        "a Meta id (WABA, phone number) belongs to at most one tenant: the claim table that "
        "routes webhooks and detects 'connected elsewhere' must see every tenant's claims"
    ),
}

# (label, unique rule) -> why it may leave the tenant out: the domain needs it global.
GLOBAL_UNIQUE_RULES = {
    (
        "accounts.Invitation",
        ("token_hash",),
    ): "an invitation link is opened before any tenant is known",
}


def _our_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


def _unique_rules(model: type[models.Model]) -> list[tuple[str, ...]]:
    rules: list[tuple[str, ...]] = []
    for field in model._meta.local_fields:
        if field.unique and not field.primary_key:
            rules.append((field.name,))
    for fields in model._meta.unique_together:
        rules.append(tuple(fields))
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            rules.append(tuple(constraint.fields) or (f"<expression {constraint.name}>",))
    return rules


def test_every_model_is_tenant_owned_or_named_global() -> None:
    unnamed = [
        m._meta.label
        for m in _our_models()
        if not issubclass(m, TenantOwnedModel) and m._meta.label not in GLOBAL_TABLES
    ]
    assert unnamed == [], (
        "these models neither inherit TenantOwnedModel nor are named in GLOBAL_TABLES "
        "(with the reason they must be global, and docs/scaling.md updated)"
    )


def test_global_tables_named_here_exist() -> None:
    labels = {m._meta.label for m in _our_models()}
    assert set(GLOBAL_TABLES) <= labels
    assert {label for label, _rule in GLOBAL_UNIQUE_RULES} <= labels


def test_tenant_owned_tables_carry_a_required_tenant_id() -> None:
    for model in _our_models():
        if not issubclass(model, TenantOwnedModel):
            continue
        field = model._meta.get_field("tenant")
        assert isinstance(field, models.ForeignKey), model._meta.label
        assert field.related_model is apps.get_model("accounts", "Tenant"), model._meta.label
        assert not field.null, f"{model._meta.label}.tenant must not be nullable"


def test_unique_rules_of_tenant_owned_tables_include_the_tenant() -> None:
    offending = []
    for model in _our_models():
        if not issubclass(model, TenantOwnedModel) or model._meta.label in GLOBAL_TABLES:
            continue
        for rule in _unique_rules(model):
            if "tenant" in rule or (model._meta.label, rule) in GLOBAL_UNIQUE_RULES:
                continue
            offending.append((model._meta.label, rule))
    assert offending == [], (
        "unique rules without the tenant cannot be enforced on a table distributed by "
        "tenant: add the tenant to them, or name the rule in GLOBAL_UNIQUE_RULES with why"
    )


def test_the_check_finds_a_rule_without_the_tenant() -> None:
    """The walk itself works: a one-to-one field is a unique rule without the tenant."""

    class Probe(TenantOwnedModel):
        tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
        other = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="+")
        code = models.CharField(max_length=5)

        class Meta:
            app_label = "accounts"
            managed = False
            constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="probe_code")]

    try:
        assert _unique_rules(Probe) == [("other",), ("tenant", "code")]
    finally:
        apps.all_models["accounts"].pop("probe", None)
        apps.clear_cache()
