"""Triggers refusing UPDATE of a sealed audit event (or of any event's content) and DELETE.

SQLite's triggers call `audit_guards_on()`, which mesoclinic.audit.guards registers on every
connection (tools without it fail on the call, which refuses the change as well).

The SQL is written out here, not imported: a migration must keep doing what it did when later
code changes.
"""

from django.db import migrations

CONTENT = [
    "id", "at", "user_id", "username", "role", "clinic_id", "organisation_id", "action",
    "object_type", "object_id", "patient_id", "outcome", "client_address", "request_id", "via",
    "changes", "detail", "break_glass",
]

PG_INSTALL = f"""
CREATE OR REPLACE FUNCTION audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit events cannot be deleted (event #%)', OLD.seq;
  END IF;
  IF OLD.seq IS NOT NULL THEN
    RAISE EXCEPTION 'sealed audit event #% cannot be changed', OLD.seq;
  END IF;
  IF ({", ".join(f"NEW.{c}" for c in CONTENT)}) IS DISTINCT FROM
     ({", ".join(f"OLD.{c}" for c in CONTENT)}) THEN
    RAISE EXCEPTION 'an audit event''s content cannot be changed';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_event_guard BEFORE UPDATE OR DELETE ON audit_auditevent
  FOR EACH ROW EXECUTE FUNCTION audit_event_guard();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS audit_event_guard ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_guard();
"""
SQLITE_INSTALL = [
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
       WHEN audit_guards_on()
       BEGIN SELECT RAISE(ABORT, 'audit events cannot be deleted'); END""",
    """CREATE TRIGGER audit_event_sealed BEFORE UPDATE ON audit_auditevent
       WHEN audit_guards_on() AND OLD.seq IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'sealed audit events cannot be changed'); END""",
    f"""CREATE TRIGGER audit_event_content BEFORE UPDATE ON audit_auditevent
       WHEN audit_guards_on() AND ({" OR ".join(f'NEW."{c}" IS NOT OLD."{c}"' for c in CONTENT)})
       BEGIN SELECT RAISE(ABORT, 'an audit event''s content cannot be changed'); END""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
    "DROP TRIGGER IF EXISTS audit_event_sealed",
    "DROP TRIGGER IF EXISTS audit_event_content",
]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [PG_INSTALL] if vendor == "postgresql" else SQLITE_INSTALL if vendor == "sqlite" else []
    for statement in statements:
        schema_editor.execute(statement, None)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [PG_REMOVE] if vendor == "postgresql" else SQLITE_REMOVE if vendor == "sqlite" else []
    for statement in statements:
        schema_editor.execute(statement, None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_sign_existing_events")]
    operations = [migrations.RunPython(install, remove)]
