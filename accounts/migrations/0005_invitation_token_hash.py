"""Invitation tokens are kept as their SHA-256 only (issue #11).

Forwards, every row's clear-text token is replaced by its hash, so links already sent
keep working until they expire. Backwards cannot give the old tokens back (a hash does
not reverse): every invitation gets a fresh random token that nobody has, so after a
rollback the links of pending invitations no longer open them and an admin resends
them from the members page.
"""

import hashlib
import secrets

from django.db import migrations, models

import accounts.models


def hash_tokens(apps, schema_editor):  # type: ignore[no-untyped-def]
    Invitation = apps.get_model("accounts", "Invitation")
    db = schema_editor.connection.alias
    rows = Invitation.objects.using(db).exclude(token=None).only("pk", "token")
    for invitation in rows.iterator(chunk_size=1000):
        invitation.token_hash = hashlib.sha256(invitation.token.encode()).hexdigest()
        invitation.save(update_fields=["token_hash"])


def give_fresh_tokens(apps, schema_editor):  # type: ignore[no-untyped-def]
    Invitation = apps.get_model("accounts", "Invitation")
    db = schema_editor.connection.alias
    for invitation in Invitation.objects.using(db).only("pk").iterator(chunk_size=1000):
        invitation.token = secrets.token_urlsafe(32)
        invitation.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_tenant_keys_and_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="token_hash",
            field=models.CharField(max_length=64, null=True),
        ),
        # Without its unique rule and default, so that going back can add the column
        # empty and fill it row by row (a default is computed once for every row).
        migrations.AlterField(
            model_name="invitation",
            name="token",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(hash_tokens, give_fresh_tokens, elidable=False),
        migrations.RemoveField(
            model_name="invitation",
            name="token",
        ),
        migrations.AlterField(
            model_name="invitation",
            name="token_hash",
            field=models.CharField(
                default=accounts.models._invitation_token_hash,
                editable=False,
                max_length=64,
                unique=True,
            ),
        ),
    ]
