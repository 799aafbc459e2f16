from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("inbox", "0003_message_fillfactor")]

    operations = [
        # A nullable column without a default: PostgreSQL adds it without rewriting the
        # table, and rows written before it stay NULL (no BSUID known).
        migrations.AddField(
            model_name="message",
            name="bsuid",
            field=models.CharField(blank=True, max_length=160, null=True),
        ),
    ]
