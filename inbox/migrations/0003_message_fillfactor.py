from django.db import migrations

# A message row is written once and then updated by each status report (sent,
# delivered, read). With room left on its page, PostgreSQL keeps those updates on the
# page and leaves the indexes alone (a "HOT" update); full pages made every first status
# update copy the row elsewhere and add an entry to each index.
FILLFACTOR = 80


def set_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE inbox_message SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE inbox_message RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("inbox", "0002_hot_path_indexes")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
