"""Search keys compare byte-wise on PostgreSQL, as they do on SQLite.

The name and phone searches are index ranges `key >= 'wag' AND key < 'wag' || chr(127)`. Under
a linguistic collation (a cluster initialised with en_US.UTF-8, or ICU) chr(127) is ignored, so
the upper bound equals the prefix and nothing matches. The keys are folded ASCII, so the "C"
collation orders them exactly as intended. SQLite already compares them byte-wise.
"""

from django.db import migrations

KEYS = (("given_key", 100), ("family_key", 100), ("phone_key", 25))


def _set_collation(collation: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        table = apps.get_model("patients", "Patient")._meta.db_table
        quote = schema_editor.quote_name
        for column, length in KEYS:
            # Changing the collation rebuilds the indexes on the column.
            schema_editor.execute(
                f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} "
                f'TYPE varchar({length}) COLLATE "{collation}"'
            )

    return run


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_patient_recent_index")]

    operations = [
        migrations.RunPython(_set_collation("C"), _set_collation("default")),
    ]
