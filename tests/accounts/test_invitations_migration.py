"""accounts 0005: clear-text invitation tokens become their hashes, on both databases.

Run on scratch databases (tests/scratch_databases.py), with rows in the table: the links
of e-mails sent before the migration keep opening their invitations, and going back
gives every row a fresh token (the old ones cannot be recovered from their hashes).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps.registry import Apps
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import invitation_token_hash
from tests.scratch_databases import VENDORS, migrate, scratch_database

pytestmark = pytest.mark.django_db

BEFORE = ("accounts", "0004_tenant_keys_and_names")
HASHED = ("accounts", "0005_invitation_token_hash")
TOKENS = ["first-clear-token", "second-clear-token", "third-clear-token"]


def historical(conn: BaseDatabaseWrapper, node: tuple[str, str]) -> Apps:
    """The models as they are at ``node``."""
    return MigrationExecutor(conn).loader.project_state(node).apps


@pytest.mark.parametrize("vendor", VENDORS)
def test_tokens_are_hashed_and_old_links_still_match(vendor: str) -> None:
    with scratch_database(vendor) as conn:
        migrate(conn, BEFORE)
        before = historical(conn, BEFORE)
        tenant = (
            before.get_model("accounts", "Tenant")
            .objects.using(conn.alias)
            .create(name="Acme", slug="acme")
        )
        for n, token in enumerate(TOKENS):
            before.get_model("accounts", "Invitation").objects.using(conn.alias).create(
                tenant=tenant,
                email=f"person{n}@acme.test",
                token=token,
                expires_at=timezone.now() + timedelta(days=1),
            )

        migrate(conn, HASHED)

        hashed = historical(conn, HASHED).get_model("accounts", "Invitation")
        rows = hashed.objects.using(conn.alias).order_by("email")
        # The product finds an invitation by invitation_token_hash(the link's token).
        assert [r.token_hash for r in rows] == [invitation_token_hash(t) for t in TOKENS]
        with conn.cursor() as cursor:
            table = conn.introspection.get_table_description(cursor, "accounts_invitation")
        assert "token" not in [column.name for column in table]

        migrate(conn, BEFORE)

        restored = historical(conn, BEFORE).get_model("accounts", "Invitation")
        tokens = list(restored.objects.using(conn.alias).values_list("token", flat=True))
        assert len(set(tokens)) == len(TOKENS)
        assert not set(tokens) & set(TOKENS)  # fresh: the old links no longer open them
        assert all(len(t) >= 43 for t in tokens)
