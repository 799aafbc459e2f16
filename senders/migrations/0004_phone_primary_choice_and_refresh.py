from django.db import migrations, models


def primary_is_the_choice(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Each tenant's current primary sender is the one it chose, until it chooses another."""
    PhoneNumber = apps.get_model("senders", "PhoneNumber")
    PhoneNumber.objects.filter(is_primary=True).update(primary_chosen=True)


class Migration(migrations.Migration):
    dependencies = [
        ("senders", "0003_tenant_keys_and_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="phonenumber",
            name="primary_chosen",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="phonenumber",
            name="refresh_requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="phonenumber",
            constraint=models.UniqueConstraint(
                condition=models.Q(("primary_chosen", True)),
                fields=("tenant",),
                name="one_chosen_primary_sender",
            ),
        ),
        migrations.RunPython(primary_is_the_choice, migrations.RunPython.noop),
    ]
