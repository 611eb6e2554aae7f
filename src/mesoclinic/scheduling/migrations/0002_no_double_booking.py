"""No double booking, enforced by the database.

PostgreSQL: exclusion constraints over the booked appointments' time ranges (btree_gist lets an
equality on the resource's id join the range overlap). SQLite: triggers with the same names refuse
an insert or update that overlaps a booked appointment; SQLite runs one writer at a time, so the
trigger's look-up and the write are one step. Ranges are half-open: back-to-back is allowed.
"""

from django.db import migrations

TABLE = "scheduling_appointment"
# name -> (resource column, start of the occupied time; {t} is the row): the patient is needed
# from the preparation on, the practitioner, room and device only for the treatment.
RULES = {
    "appointment_practitioner_free": ("practitioner_id", "{t}starts_at"),
    "appointment_room_free": ("room_id", "{t}starts_at"),
    "appointment_device_free": ("device_id", "{t}starts_at"),
    "appointment_patient_free": ("patient_id", "COALESCE({t}prep_starts_at, {t}starts_at)"),
}


def _postgres_sql():
    yield "CREATE EXTENSION IF NOT EXISTS btree_gist"
    for name, (column, start) in RULES.items():
        yield (f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} EXCLUDE USING gist "
               f"({column} WITH =, tstzrange({start.format(t='')}, ends_at, '[)') WITH &&) "
               f"WHERE (status = 'booked' AND {column} IS NOT NULL)")


def _sqlite_sql():
    for name, (column, start) in RULES.items():
        new_start, old_start = start.format(t="NEW."), start.format(t="a.")
        for event, suffix, same_row in (("INSERT", "insert", ""), ("UPDATE", "update", " AND a.id <> NEW.id")):
            yield (f"CREATE TRIGGER {name}_{suffix} BEFORE {event} ON {TABLE} "  # noqa: S608 (constants)
                   f"WHEN NEW.status = 'booked' AND NEW.{column} IS NOT NULL AND EXISTS ("
                   f"SELECT 1 FROM {TABLE} a WHERE a.status = 'booked' AND a.{column} = NEW.{column}"
                   f"{same_row} AND {old_start} < NEW.ends_at AND a.ends_at > {new_start}) "
                   f"BEGIN SELECT RAISE(ABORT, '{name}'); END")


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = _postgres_sql() if vendor == "postgresql" else _sqlite_sql() if vendor == "sqlite" else ()
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name in RULES:
        if vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {name}")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}_insert")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}_update")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
