"""Re-sign the events written before keyed hashes: check their plain SHA-256 chain first (a broken
one stops the migration: investigate, do not launder it), then chain them again under the key in
use. Reversible: back to plain SHA-256 with no key id."""

import hashlib
import json
from datetime import UTC

from django.db import migrations

from mesoclinic.audit import keys

GENESIS = "0" * 64
OLD_FIELDS = (
    "seq", "at", "user_id", "username", "role", "clinic_id", "action", "object_type",
    "object_id", "patient_id", "outcome", "client_address", "request_id", "via", "changes",
    "detail", "break_glass",
)
NEW_FIELDS = OLD_FIELDS + ("organisation_id", "key_id")


def _plain(event, prev_hash):
    body = {name: getattr(event, name) for name in OLD_FIELDS}
    body["at"] = event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def sign(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    key_id = keys.signing_key_id()
    prev_old, prev_new, expected = GENESIS, GENESIS, 1
    for event in AuditEvent.objects.filter(seq__isnull=False).order_by("seq").iterator(2000):
        if event.seq != expected or event.prev_hash != prev_old or _plain(event, prev_old) != event.hash:
            raise RuntimeError(f"audit trail broken at event #{expected} before signing; "
                               "run the previous release's audit-verify and investigate")
        prev_old = event.hash
        event.key_id, event.prev_hash = key_id, prev_new
        event.hash = keys.event_hash(key_id, prev_new, {n: getattr(event, n) for n in NEW_FIELDS})
        AuditEvent.objects.filter(pk=event.pk).update(
            key_id=event.key_id, prev_hash=event.prev_hash, hash=event.hash)
        prev_new = event.hash
        expected += 1


def unsign(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    prev = GENESIS
    for event in AuditEvent.objects.filter(seq__isnull=False).order_by("seq").iterator(2000):
        new_hash = _plain(event, prev)
        AuditEvent.objects.filter(pk=event.pk).update(key_id="", prev_hash=prev, hash=new_hash)
        prev = new_hash


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_keyed_chain_unsealed_events")]
    operations = [migrations.RunPython(sign, unsign)]
