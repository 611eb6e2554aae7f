"""An audit trail to trust: keyed hashes, signed checkpoints, guarded rows, no shared lock for the
writers, organisation-level events for auditors, field names not values, counted refusals."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from mesoclinic.audit import checkpoints, keys
from mesoclinic.audit.checkpoints import Checkpoint, latest_checkpoint, write_checkpoint
from mesoclinic.audit.log import GENESIS, Actor, ChainProblem, flush_refusals, record, verify_chain
from mesoclinic.audit.models import AuditEvent, RefusalTally
from mesoclinic.audit.tests.tamper import raw
from mesoclinic.knowledge import store
from mesoclinic.lib.env import ConfigError, envkeyring
from mesoclinic.oversight.views import EXPORT_COLUMNS
from mesoclinic.patients.models import MedicalHistory

ALTERED = "content does not match its keyed hash (altered, or re-chained without the key)"
KEY_A = "a-first-secret-that-is-long-enough-0123456789"
KEY_B = "b-second-secret-that-is-long-enough-987654321"


def _event(detail: str = "", **fields: Any) -> AuditEvent:
    actor = Actor(user_id="u-1", username=fields.pop("username", "dr.house"), role="physician",
                  client_address="10.0.0.9", request_id="r1")
    event = record(actor, action=fields.pop("action", "view"),
                   object_type=fields.pop("object_type", "patient"), detail=detail, **fields)
    return AuditEvent.objects.get(pk=event.pk)


@pytest.fixture
def chain(db) -> list[AuditEvent]:
    return [_event(f"event {n}") for n in range(1, 6)]


def _rechain_without(seq: int, sign: Any) -> None:
    """An insider removes event `seq`, then renumbers and re-hashes the rest with `sign`."""
    later = list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))
    prev = AuditEvent.objects.get(seq=seq).prev_hash
    raw("DELETE FROM audit_auditevent WHERE seq = %s", [seq])
    for event in later:
        assert event.seq is not None
        event.seq -= 1
        event.prev_hash = prev
        body = {name: getattr(event, name) for name in AuditEvent.HASHED_FIELDS}
        event.hash = sign(prev + keys.canonical(body))
        raw("UPDATE audit_auditevent SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [event.seq, event.prev_hash, event.hash, event.pk])
        prev = event.hash


def _plain_sha256(message: str) -> str:
    return hashlib.sha256(message.encode()).hexdigest()


def _other_key(message: str) -> str:
    return hmac.new(b"not-our-key-but-just-as-long-0123456789", message.encode(),
                    hashlib.sha256).hexdigest()


# --- keyed hashes -------------------------------------------------------------------------------

def test_events_are_signed_with_the_configured_key(chain, settings) -> None:
    first = chain[0]
    assert first.key_id == "dev"
    body = {name: getattr(first, name) for name in AuditEvent.HASHED_FIELDS}
    assert first.hash == hmac.new(settings.AUDIT_KEYS["dev"].encode(),
                                  (GENESIS + keys.canonical(body)).encode(),
                                  hashlib.sha256).hexdigest()
    assert first.hash != _plain_sha256(GENESIS + keys.canonical(body))


@pytest.mark.parametrize("sign", [_plain_sha256, _other_key], ids=["plain-sha256", "other-key"])
def test_a_chain_rechained_after_a_deletion_is_caught(chain, sign) -> None:
    _rechain_without(3, sign)
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4]
    assert verify_chain() == ChainProblem(3, ALTERED)
    with pytest.raises(CommandError, match=r"^audit trail broken at event #3: content does not "
                                           r"match its keyed hash \(altered, or re-chained"):
        call_command("audit_verify")


def test_an_event_signed_with_an_unknown_key_id_is_caught(chain) -> None:
    raw("UPDATE audit_auditevent SET key_id = %s WHERE seq = %s", ["evil", 2])
    assert verify_chain() == ChainProblem(
        2, "signed with key 'evil', which is not configured (forged, or AUDIT_KEYS lacks it)")


def test_an_altered_value_is_caught_by_audit_verify(chain) -> None:
    raw("UPDATE audit_auditevent SET outcome = %s WHERE seq = %s", ["denied", 2])
    with pytest.raises(CommandError, match=r"^audit trail broken at event #2: content does not"):
        call_command("audit_verify")


def test_a_deleted_event_is_caught_by_audit_verify(chain) -> None:
    write_checkpoint()
    raw("DELETE FROM audit_auditevent WHERE seq = %s", [2])
    with pytest.raises(CommandError, match=r"^audit trail broken at event #2: event #2 is missing"):
        call_command("audit_verify")


def test_key_rotation_keeps_old_events_verifiable(db, settings) -> None:
    settings.AUDIT_KEYS = {"a": KEY_A}
    _event("one")
    _event("two")
    settings.AUDIT_KEYS = {"a": KEY_A, "b": KEY_B}  # rotated: b signs, a still verifies
    _event("three")
    checkpoint, _ = write_checkpoint()
    assert list(AuditEvent.objects.order_by("seq").values_list("key_id", flat=True)) == [
        "a", "a", "b", "b"]
    assert checkpoint.key_id == "b"
    assert verify_chain() is None
    call_command("audit_verify")
    settings.AUDIT_KEYS = {"b": KEY_B}  # a key dropped too early
    assert verify_chain() == ChainProblem(
        1, "signed with key 'a', which is not configured (forged, or AUDIT_KEYS lacks it)")


def test_keys_come_from_the_environment_newest_last(monkeypatch, tmp_path) -> None:
    for name in ("AUDIT_KEYS", "AUDIT_KEYS_FILE", "AUDIT_KEY", "AUDIT_KEY_FILE", "AUDIT_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    assert envkeyring("AUDIT_KEYS", "AUDIT_KEY", {"dev": KEY_A}) == {"dev": KEY_A}
    with pytest.raises(ConfigError, match="AUDIT_KEY or AUDIT_KEYS must be set in production"):
        envkeyring("AUDIT_KEYS", "AUDIT_KEY", None)
    monkeypatch.setenv("AUDIT_KEY", KEY_A)
    monkeypatch.setenv("AUDIT_KEY_ID", "2026")
    assert envkeyring("AUDIT_KEYS", "AUDIT_KEY", None) == {"2026": KEY_A}
    monkeypatch.delenv("AUDIT_KEY")
    path = tmp_path / "keys"
    path.write_text(f"2025={KEY_A}\n2026={KEY_B}\n")
    monkeypatch.setenv("AUDIT_KEYS_FILE", str(path))
    assert list(envkeyring("AUDIT_KEYS", "AUDIT_KEY", None).items()) == [
        ("2025", KEY_A), ("2026", KEY_B)]
    path.write_text("2026=short")
    with pytest.raises(ConfigError, match="shorter than 32 characters"):
        envkeyring("AUDIT_KEYS", "AUDIT_KEY", None)


def test_production_refuses_to_start_without_an_audit_key(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIT_KEY")}
    env |= {"MESOCLINIC_PROFILE": "production", "SECRET_KEY": "s" * 50,
            "ALLOWED_HOSTS": "clinic.example", "MESOCLINIC_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run([sys.executable, "-m", "mesoclinic.cli", "check"], env=env,
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 2
    assert "AUDIT_KEY or AUDIT_KEYS must be set in production" in result.stderr


# --- checkpoints --------------------------------------------------------------------------------

def test_audit_checkpoint_command_signs_the_head_into_the_checkpoint_folder(chain, settings,
                                                                           capsys) -> None:
    call_command("audit_checkpoint")
    found = latest_checkpoint()
    assert found is not None
    checkpoint, path = found
    assert path.parent == settings.AUDIT_CHECKPOINT_DIR
    # Taking a checkpoint is itself on the record, and the checkpoint names that event.
    event = AuditEvent.objects.get(seq=6)
    assert (event.object_type, event.action, event.via) == ("audit_checkpoint", "export", "cli")
    assert (checkpoint.seq, checkpoint.hash, checkpoint.key_id) == (6, event.hash, "dev")
    assert checkpoint.genuine()
    assert capsys.readouterr().out == f"checkpoint of event #6 written to {path}\n"


def test_truncating_the_newest_events_is_caught_against_the_checkpoint(chain) -> None:
    _, path = write_checkpoint()
    raw("DELETE FROM audit_auditevent WHERE seq >= %s", [4])
    assert verify_chain() is None  # the chain alone cannot tell
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify")
    assert str(caught.value) == (
        f"audit trail broken at event #4: event #4 is missing: the trail ends at #3, but "
        f"checkpoint {path.name} of {_stamp(path)} records #6 (newest events removed)")


def test_a_rechained_head_differs_from_the_checkpoint(chain) -> None:
    write_checkpoint()
    raw("UPDATE audit_auditevent SET hash = %s WHERE seq = %s", ["f" * 64, 6])
    with pytest.raises(CommandError, match=r"^audit trail broken at event #6: content does not"):
        call_command("audit_verify")


def test_a_forged_checkpoint_is_refused(chain, settings) -> None:
    forged = Checkpoint(9, "e" * 64, datetime(2026, 1, 1, tzinfo=UTC), "dev", "0" * 64)
    checkpoints.write_file(forged, settings.AUDIT_CHECKPOINT_DIR / checkpoints.file_name(forged))
    with pytest.raises(CommandError, match=r"^audit trail broken at event #9: checkpoint "
                                           r"checkpoint-000000000009-.*\.json is not signed with "
                                           r"our key \(forged or altered\)$"):
        call_command("audit_verify")


def test_audit_verify_checks_the_newest_checkpoint_and_says_so_when_there_is_none(
        chain, capsys) -> None:
    call_command("audit_verify")
    out, err = capsys.readouterr()
    assert out == "audit trail intact: 5 events verified\n"
    assert err.startswith("warning: no audit checkpoint found")
    write_checkpoint()
    _event("six")
    call_command("audit_verify")
    assert capsys.readouterr() == ("audit trail intact: 7 events verified\n", "")


def test_a_checkpoint_is_written_after_a_commit_when_the_newest_is_too_old(
        db, settings, django_capture_on_commit_callbacks) -> None:
    settings.AUDIT_CHECKPOINT_SECONDS = 300
    checkpoints._last_written.clear()
    folder = settings.AUDIT_CHECKPOINT_DIR
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record(Actor(username="a"), action=AuditEvent.Action.VIEW, object_type="patient")
        record(Actor(username="b"), action=AuditEvent.Action.VIEW, object_type="patient")
    assert len(callbacks) == 1  # one sealer per transaction, however many events
    assert [p.name[:23] for p in folder.iterdir()] == ["checkpoint-000000000003"]
    record(Actor(username="c"), action=AuditEvent.Action.VIEW, object_type="patient")
    assert checkpoints.checkpoint_if_due() is None  # not due: nothing written, nothing scanned
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=301)):
        path = checkpoints.checkpoint_if_due()
    assert path is not None
    assert sorted(p.name[:23] for p in folder.iterdir()) == [
        "checkpoint-000000000003", "checkpoint-000000000005"]


@pytest.mark.django_db(transaction=True)
def test_backup_writes_a_consistent_copy_with_a_checkpoint_beside_it(tmp_path, settings) -> None:
    for n in range(3):
        record(Actor(username=f"u{n}"), action=AuditEvent.Action.VIEW, object_type="patient")
    output = tmp_path / ("backup.dump" if connection.vendor == "postgresql" else "backup.sqlite3")
    call_command("backup", output=output)
    beside = Checkpoint.from_file(output.with_name(output.name + ".checkpoint.json"))
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash")[0]
    assert (beside.seq, beside.hash) == head
    assert beside.genuine()
    assert latest_checkpoint() is not None
    if connection.vendor == "sqlite":
        with sqlite3.connect(output) as copy:
            assert copy.execute("SELECT max(seq) FROM audit_auditevent").fetchone() == (4,)
        copy.close()
    else:
        listing = subprocess.run(  # noqa: S603
            [shutil.which("pg_restore") or "pg_restore", "--list", str(output)],
            capture_output=True, text=True, check=True).stdout
        assert "TABLE DATA public audit_auditevent" in listing


def _stamp(path: Path) -> str:
    return f"{Checkpoint.from_file(path).at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


# --- sealed rows are immutable in the database too ----------------------------------------------

def test_the_database_refuses_a_raw_update_of_a_sealed_event(chain) -> None:
    with pytest.raises(DatabaseError, match="cannot be changed"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET detail = %s WHERE seq = %s", ["forged", 2])
    with pytest.raises(DatabaseError, match="cannot be changed"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET hash = %s WHERE seq = %s", ["0" * 64, 2])
    assert AuditEvent.objects.get(seq=2).detail == "event 2"
    assert verify_chain() is None


def test_the_database_refuses_a_raw_delete(chain) -> None:
    with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [5])
    assert AuditEvent.objects.count() == 5


def test_an_unsealed_event_may_be_sealed_once_but_never_rewritten(db) -> None:
    AuditEvent(action=AuditEvent.Action.VIEW, object_type="patient", outcome="allowed",
               detail="pending").save()
    pk = AuditEvent.chain.get().pk
    with pytest.raises(DatabaseError, match="content cannot be changed"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ["forged", pk])
    event = AuditEvent.objects.get()  # reading seals it
    assert (event.seq, event.detail, event.prev_hash) == (1, "pending", GENESIS)
    assert verify_chain() is None


# --- writers do not wait for one another --------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_transactions_audit_at_once_without_blocking_each_other() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has a single writer by design")
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                record(Actor(username="slow"), action=AuditEvent.Action.VIEW, object_type="patient")
                holding.set()
                release.wait(20)  # a long request, its transaction open
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with transaction.atomic():
            with connection.cursor() as cursor:
                # The old design queued here behind the slow writer's advisory lock.
                cursor.execute("SET LOCAL lock_timeout = '3s'")
            record(Actor(username="quick"), action=AuditEvent.Action.VIEW, object_type="patient")
        assert time.monotonic() - started < 2
        # Committed and sealed at once, while the slow transaction is still open.
        assert list(AuditEvent.objects.values_list("seq", "username")) == [(1, "quick")]
    finally:
        release.set()
        thread.join(20)
    assert failures == []
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", "username")) == [
        (1, "quick"), (2, "slow")]
    assert verify_chain() is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_writer_leaves_no_event_and_no_gap() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's deferred sealing")
    record(Actor(username="kept"), action=AuditEvent.Action.VIEW, object_type="patient")

    def fail_after_auditing() -> None:
        with transaction.atomic():
            record(Actor(username="rolled back"), action=AuditEvent.Action.VIEW, object_type="patient")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_after_auditing()
    record(Actor(username="also kept"), action=AuditEvent.Action.VIEW, object_type="patient")
    assert list(AuditEvent.chain.order_by("seq").values_list("seq", "username")) == [
        (1, "kept"), (2, "also kept")]
    assert verify_chain() is None


# --- organisation-level events reach the organisation's auditors --------------------------------

def _export(client: Client, **query: str) -> list[dict[str, str]]:
    response: Any = client.get(reverse("audit:export"), query)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_organisation_level_events_are_visible_to_that_organisations_auditors(cast) -> None:
    ours, theirs = str(cast.org.public_id), str(cast.foreign.organisation.public_id)
    record(Actor(username="dr.house"), action=AuditEvent.Action.UPDATE, object_type="knowledge_pack",
           object_id="ours", organisation_id=ours)
    record(Actor(username="dr.foreign"), action=AuditEvent.Action.UPDATE, object_type="knowledge_pack",
           object_id="theirs", organisation_id=theirs)
    record(Actor(client_address="203.0.113.9"), action=AuditEvent.Action.SIGN_IN, object_type="user",
           object_id="nobody", outcome="denied")
    client = cast.client_for(cast.auditor)
    page = client.get(reverse("audit:trail"))
    assert [(e.object_type, e.object_id) for e in page.context["page"].object_list] == [
        ("user", "nobody"), ("knowledge_pack", "ours")]
    # The auditor's own reading is the organisation's business too.
    assert [(r["object_type"], r["object_id"]) for r in _export(client)] == [
        ("knowledge_pack", "ours"), ("user", "nobody"), ("audit_trail", ""), ("audit_trail", "")]


def test_a_knowledge_pack_edit_is_filed_under_the_editors_organisation(cast) -> None:
    name = next(n for n in store.bundled_documents() if n != "pack.yaml")
    store.edit_document(name=name, text=store.bundled_documents()[name], note="typo",
                        by=cast.physician, actor=Actor(username="dr.house"))
    event = AuditEvent.objects.get(object_type="knowledge_pack")
    assert (event.clinic_id, event.organisation_id) == ("", str(cast.org.public_id))
    assert [r["object_type"] for r in _export(cast.client_for(cast.auditor))] == [
        "knowledge_pack", "audit_trail"]


# --- auditors see which fields changed, not the clinical values ---------------------------------

def test_auditor_sees_the_names_of_changed_history_fields_not_their_values(cast) -> None:
    data = dict.fromkeys(MedicalHistory.CLINICAL_FIELDS, "no") | {
        "diabetes": "none", "cancer": "none", "pregnant": "yes",
        "other_conditions": "Twins expected in May", "based_on": "1"}
    response = cast.client_for(cast.nurse).post(
        reverse("patients:history", args=[cast.patient.public_id]), data)
    assert response.status_code == 302
    event = AuditEvent.objects.get(object_type="medical_history", action=AuditEvent.Action.UPDATE)
    # The values stay in the database, under the chain.
    assert event.changes == {"pregnant": ["no", "yes"],
                             "other_conditions": ["Secret clinical note", "Twins expected in May"]}
    client = cast.client_for(cast.auditor)
    page = client.get(reverse("audit:trail"), {"action": "update"}).content.decode()
    assert "changed: other_conditions, pregnant" in page
    for value in ("Twins expected", "Secret clinical note", '"yes"', "&quot;yes&quot;"):
        assert value not in page
    response = client.get(reverse("audit:export"), {"action": "update"})
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[EXPORT_COLUMNS.index("changes")] for r in rows[1:]] == ["other_conditions, pregnant"]
    for value in ("Twins expected", "Secret clinical note", "yes"):
        assert value not in text


# --- anonymous refusals are counted, not stored one by one --------------------------------------

MINUTE = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)


def test_600_anonymous_requests_in_a_minute_from_one_address_are_one_event(cast) -> None:
    url = reverse("patients:chart", args=[cast.patient.public_id])
    client = Client(REMOTE_ADDR="203.0.113.7")
    with time_machine.travel(MINUTE + timedelta(seconds=5), tick=False):
        for _ in range(600):
            assert client.get(url).status_code == 302
        assert AuditEvent.objects.count() == 0  # the minute is still open
        assert RefusalTally.objects.get().count == 600
    with time_machine.travel(MINUTE + timedelta(seconds=61), tick=False):
        event = AuditEvent.objects.get()
        assert flush_refusals() == 0  # a tally becomes exactly one event
    assert (event.client_address, event.changes, event.outcome, event.at) == (
        "203.0.113.7", {"count": 600}, "denied", MINUTE)
    assert event.detail == "not signed in: 600 requests in this minute"
    assert (event.clinic_id, event.patient_id) == (str(cast.clinic.public_id),
                                                  str(cast.patient.public_id))
    assert RefusalTally.objects.count() == 0
    assert verify_chain() is None
    # The clinic's auditor sees the knock and its count.
    rows = _export(cast.client_for(cast.auditor), outcome="denied")
    assert [(r["object_id"], r["detail"], r["changes"]) for r in rows] == [
        (str(cast.patient.public_id), "not signed in: 600 requests in this minute", "")]


def test_two_addresses_are_two_events_and_each_minute_its_own(db) -> None:
    with time_machine.travel(MINUTE + timedelta(seconds=1), tick=False):
        for address in ["198.51.100.1", "198.51.100.2", "198.51.100.1"]:
            assert Client(REMOTE_ADDR=address).get("/api/v1/patients").status_code == 401
    with time_machine.travel(MINUTE + timedelta(seconds=70), tick=False):
        assert Client(REMOTE_ADDR="198.51.100.1").get("/api/v1/patients").status_code == 401
    with time_machine.travel(MINUTE + timedelta(seconds=200), tick=False):
        events = list(AuditEvent.objects.order_by("seq"))
    assert [(e.client_address, e.at, e.changes["count"], e.object_id) for e in events] == [
        ("198.51.100.1", MINUTE, 2, "/api/v1/patients"),
        ("198.51.100.2", MINUTE, 1, "/api/v1/patients"),
        ("198.51.100.1", MINUTE + timedelta(minutes=1), 1, "/api/v1/patients")]


def test_refusals_at_varying_paths_are_counted_per_route(db) -> None:
    with time_machine.travel(MINUTE, tick=False):
        for n in range(20):
            Client(REMOTE_ADDR="198.51.100.9").get(f"/api/v1/patients/probe-{n}")
    with time_machine.travel(MINUTE + timedelta(minutes=1), tick=False):
        event = AuditEvent.objects.get()
    assert (event.object_id, event.changes) == ("/api/v1/patients/<patient_id>", {"count": 20})


def test_checkpoint_command_flushes_closed_tallies_first(db) -> None:
    with time_machine.travel(MINUTE, tick=False):
        Client(REMOTE_ADDR="198.51.100.3").get("/api/v1/patients")
    with time_machine.travel(MINUTE + timedelta(minutes=2), tick=False):
        checkpoint, path = write_checkpoint()
    assert list(AuditEvent.objects.order_by("seq").values_list("object_type", flat=True)) == [
        "api", "audit_checkpoint"]
    assert json.loads(path.read_text())["seq"] == checkpoint.seq == 2


def test_a_busy_process_seals_in_batches_and_readers_seal_the_rest(db, settings) -> None:
    """Within AUDIT_SEAL_SECONDS of a seal, a commit seals nothing; reading the trail seals it."""
    from mesoclinic.audit import log

    settings.AUDIT_SEAL_SECONDS = 3600
    log._sealed_at.clear()
    with transaction.atomic():
        record(Actor(username="a"), action=AuditEvent.Action.VIEW, object_type="patient")
    log._sealers["default"]()  # the first commit of the interval seals
    with transaction.atomic():
        record(Actor(username="b"), action=AuditEvent.Action.VIEW, object_type="patient")
    log._sealers["default"]()  # the next, within the interval, leaves it to the batch
    if connection.vendor == "postgresql":
        assert list(AuditEvent.chain.order_by("id").values_list("username", "seq")) == [
            ("a", 1), ("b", None)]
    assert list(AuditEvent.objects.order_by("seq").values_list("username", "seq")) == [
        ("a", 1), ("b", 2)]
    assert verify_chain() is None
