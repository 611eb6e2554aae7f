"""The audit trail: one event per read, append-only rows, the hash chain, the auditor's pages."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from mesoclinic import cli
from mesoclinic.audit.log import GENESIS, Actor, ChainProblem, record, verify_chain
from mesoclinic.audit.models import AppendOnlyError, AuditEvent
from mesoclinic.audit.tests.tamper import raw
from mesoclinic.oversight.views import EXPORT_COLUMNS
from mesoclinic.patients.models import MedicalHistory

# --- one event per read -----------------------------------------------------------------------

def test_reading_a_chart_writes_exactly_one_event_with_every_field(cast) -> None:
    client = cast.client_for(cast.physician)
    response = client.get(reverse("patients:chart", args=[cast.patient.public_id]),
                          headers={"X-Request-ID": "trace-77.a"})
    assert response.status_code == 200
    assert response["X-Request-ID"] == "trace-77.a"
    event = AuditEvent.objects.get()
    assert (event.user_id, event.username, event.role) == (
        str(cast.physician.public_id), "dr.house", "physician")
    assert (event.clinic_id, event.patient_id, event.object_id) == (
        str(cast.clinic.public_id), str(cast.patient.public_id), str(cast.patient.public_id))
    assert (event.action, event.object_type, event.outcome) == ("view", "patient", "allowed")
    assert (event.client_address, event.request_id, event.via) == (
        "127.0.0.1", "trace-77.a", "web")
    assert (event.break_glass, event.changes, event.seq, event.prev_hash) == (
        False, {}, 1, GENESIS)


def test_a_generated_request_id_matches_the_response_header(cast) -> None:
    client = cast.client_for(cast.nurse)
    response = client.get(reverse("patients:chart", args=[cast.patient.public_id]),
                          headers={"X-Request-ID": "no spaces allowed; <script>"})
    event = AuditEvent.objects.get()
    assert len(response["X-Request-ID"]) == 32
    assert event.request_id == response["X-Request-ID"]
    assert event.role == "nurse"


def test_each_page_read_is_one_event(cast) -> None:
    client = cast.client_for(cast.physician)
    for _ in range(3):
        client.get(reverse("patients:chart", args=[cast.patient.public_id]))
    client.get(reverse("patients:history", args=[cast.patient.public_id]))
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", "object_type")) == [
        (1, "patient"), (2, "patient"), (3, "patient"), (4, "medical_history")]


def test_an_edit_writes_one_event_with_old_and_new_values(cast) -> None:
    client = cast.client_for(cast.nurse)
    data = dict.fromkeys(MedicalHistory.CLINICAL_FIELDS, "no") | {
        "diabetes": "type2", "cancer": "none", "other_conditions": "Secret clinical note",
        "based_on": "1"}
    response = client.post(reverse("patients:history", args=[cast.patient.public_id]), data)
    assert response.status_code == 302
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id) == (
        "update", "medical_history", "2")
    assert event.changes == {"diabetes": ["none", "type2"]}
    assert (event.username, event.patient_id) == ("nurse.kaya", str(cast.patient.public_id))


# --- append-only --------------------------------------------------------------------------------

def _event(detail: str = "", **fields: Any) -> AuditEvent:
    actor = Actor(user_id="u-1", username=fields.pop("username", "dr.house"),
                  role="physician", client_address="10.0.0.9", request_id="r1")
    event = record(actor, action=fields.pop("action", "view"),
                   object_type=fields.pop("object_type", "patient"), detail=detail, **fields)
    # Read back: the chain's reader sees it sealed (on PostgreSQL `record` leaves it unsealed).
    return AuditEvent.objects.get(pk=event.pk)


def test_an_event_cannot_be_changed_through_the_orm(db) -> None:
    event = _event("original")
    event.detail = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(detail="rewritten")
    # bulk_update runs in its own atomic block; a savepoint keeps the test's transaction usable.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["detail"])
    assert AuditEvent.objects.get(pk=event.pk).detail == "original"


def test_an_event_cannot_be_deleted_through_the_orm(db) -> None:
    event = _event("keep me")
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 1


# --- the hash chain -----------------------------------------------------------------------------

ALTERED = "content does not match its keyed hash (altered, or re-chained without the key)"


@pytest.fixture
def chain(db) -> list[AuditEvent]:
    return [_event(f"event {n}") for n in range(1, 6)]


def test_an_intact_chain_verifies(chain) -> None:
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(chain))
    assert verify_chain() is None
    assert verify_chain(batch=2) is None


def test_an_empty_trail_verifies(db) -> None:
    assert verify_chain() is None


def test_a_row_altered_with_raw_sql_is_reported(chain) -> None:
    raw("UPDATE audit_auditevent SET detail = %s WHERE seq = %s", ["nothing", 3])
    assert verify_chain() == ChainProblem(3, ALTERED)
    assert verify_chain(batch=2) == ChainProblem(3, ALTERED)


def test_an_altered_row_with_a_recomputed_hash_breaks_the_next_link(chain) -> None:
    forged = AuditEvent.objects.get(seq=3)
    forged.outcome = "denied"
    new_hash = forged.compute_hash()
    raw("UPDATE audit_auditevent SET outcome = %s, hash = %s WHERE seq = %s",
        ["denied", new_hash, 3])
    assert verify_chain() == ChainProblem(4, "previous-hash link broken (an event was removed)")


def test_a_deleted_middle_row_is_reported_as_a_gap(chain) -> None:
    raw("DELETE FROM audit_auditevent WHERE seq = %s", [2])
    assert verify_chain() == ChainProblem(2, "event #2 is missing (removed)")


def test_a_deleted_first_row_is_reported(chain) -> None:
    raw("DELETE FROM audit_auditevent WHERE seq = %s", [1])
    assert verify_chain() == ChainProblem(1, "event #1 is missing (removed)")


def test_audit_verify_command_reports_an_intact_trail(chain, capsys) -> None:
    call_command("audit_verify")
    assert capsys.readouterr().out == "audit trail intact: 5 events verified\n"


def test_audit_verify_command_fails_naming_the_altered_event(chain) -> None:
    raw("UPDATE audit_auditevent SET username = %s WHERE seq = %s", ["nobody", 4])
    with pytest.raises(CommandError, match=r"^audit trail broken at event #4: content does not"):
        call_command("audit_verify")


def test_mesoclinic_audit_verify_exits_non_zero_naming_the_removed_event(chain, capsys) -> None:
    raw("DELETE FROM audit_auditevent WHERE seq = %s", [3])
    with pytest.raises(SystemExit) as exited:
        cli.main(["mesoclinic", "audit-verify"])
    assert exited.value.code == 1
    assert "audit trail broken at event #3: event #3 is missing (removed)" in (
        capsys.readouterr().err)


def test_mesoclinic_audit_verify_succeeds_on_an_intact_trail(chain, capsys) -> None:
    assert cli.main(["mesoclinic", "audit-verify"]) == 0
    assert capsys.readouterr().out == "audit trail intact: 5 events verified\n"


# --- the auditor's pages ------------------------------------------------------------------------

@pytest.fixture
def trail(cast) -> dict[str, AuditEvent]:
    """The clinic's events on three days (one in the last minute of 5 March, Istanbul time),
    plus one of the sister clinic."""
    ids = {"clinic_id": str(cast.clinic.public_id), "patient_id": str(cast.patient.public_id)}
    other = "0e3f5a55-7c43-4d29-9a8c-3c0b7a4d2f11"
    events = {}
    with time_machine.travel(datetime(2025, 3, 1, 9, 0, tzinfo=UTC), tick=False):
        events["view"] = _event("chart", **ids)
    with time_machine.travel(datetime(2025, 3, 5, 20, 59, tzinfo=UTC), tick=False):
        events["denied"] = _event("missing permission", username="reception.demir",
                                  outcome="denied", object_type="medical_history", **ids)
        events["other_patient"] = _event("chart", clinic_id=ids["clinic_id"], patient_id=other)
    with time_machine.travel(datetime(2025, 3, 10, 12, 0, tzinfo=UTC), tick=False):
        events["glass"] = _event("emergency", username="dr.weber", action="break_glass",
                                 break_glass=True, **ids)
        events["update"] = _event("", action="update", changes={"phone": ["1", "2"]}, **ids)
    events["sister"] = _event("chart", clinic_id=str(cast.sister.public_id),
                              patient_id=str(cast.sister_patient.public_id),
                              username="dr.weber")
    return events


def _seqs(response: Any) -> list[int]:
    return [e.seq for e in response.context["page"].object_list]


def _csv_rows(response: Any) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["update", "glass", "other_patient", "denied", "view"]),
        ({"patient": "PATIENT"}, ["update", "glass", "denied", "view"]),
        ({"user": "DR.WEBER"}, ["glass"]),
        ({"action": "update"}, ["update"]),
        ({"outcome": "denied"}, ["denied"]),
        ({"break_glass": "on"}, ["glass"]),
        ({"date_from": "2025-03-02", "date_to": "2025-03-05"}, ["other_patient", "denied"]),
        ({"date_from": "2025-03-06"}, ["update", "glass"]),
        ({"date_to": "2025-03-01"}, ["view"]),
        ({"patient": "PATIENT", "action": "view", "user": "dr.house"}, ["view"]),
        ({"clinic": "CLINIC", "outcome": "allowed", "date_to": "2025-03-05"},
         ["other_patient", "view"]),
    ],
)
def test_auditor_filters_the_trail(cast, trail, query, expected) -> None:
    query = {k: {"PATIENT": str(cast.patient.public_id), "CLINIC": str(cast.clinic.public_id)}
             .get(v, v) for k, v in query.items()}
    response = cast.client_for(cast.auditor).get(reverse("audit:trail"), query)
    assert response.status_code == 200
    # Newest first; the sister clinic's events never show to this clinic's auditor.
    assert _seqs(response) == [trail[name].seq for name in expected]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "2025-03-05", "date_to": "2025-03-04"}, "date_to"),
        ({"patient": "not-a-uuid"}, "patient"),
        ({"date_from": "2025-13-01"}, "date_from"),
        ({"action": "hack"}, "action"),
        ({"outcome": "maybe"}, "outcome"),
        ({"clinic": "SISTER"}, "clinic"),  # the auditor holds no role there
    ],
)
def test_invalid_filters_answer_422_and_list_nothing(cast, trail, query, field) -> None:
    query = {k: str(cast.sister.public_id) if v == "SISTER" else v for k, v in query.items()}
    client = cast.client_for(cast.auditor)
    response = client.get(reverse("audit:trail"), query)
    assert response.status_code == 422
    assert list(response.context["form"].errors) == [field]
    assert _seqs(response) == []
    exported = client.get(reverse("audit:export"), query)
    assert exported.status_code == 422
    assert not AuditEvent.objects.filter(action="export").exists()


def test_csv_export_has_the_header_and_the_filtered_rows_and_is_audited(cast, trail) -> None:
    client = cast.client_for(cast.auditor)
    response = client.get(reverse("audit:export"), {"patient": str(cast.patient.public_id),
                                                    "date_to": "2025-03-05"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = _csv_rows(response)
    assert rows[0] == EXPORT_COLUMNS
    column = EXPORT_COLUMNS.index
    assert [int(r[column("seq")]) for r in rows[1:]] == [trail["view"].seq, trail["denied"].seq]
    denied = rows[2]
    assert (denied[column("username")], denied[column("outcome")],
            denied[column("object_type")]) == ("reception.demir", "denied", "medical_history")
    assert denied[column("at")] == "2025-03-05T20:59:00+00:00"
    assert denied[column("hash")] == trail["denied"].hash
    export = AuditEvent.objects.get(action="export")
    assert (export.username, export.outcome, export.object_type) == (
        "auditor.schmidt", "allowed", "audit_trail")
    assert export.detail == f"patient={cast.patient.public_id}&date_to=2025-03-05"


def test_csv_export_lists_break_glass_access(cast, trail) -> None:
    response = cast.client_for(cast.auditor).get(reverse("audit:export"), {"break_glass": "on"})
    rows = _csv_rows(response)
    assert len(rows) == 2
    assert rows[1][EXPORT_COLUMNS.index("break_glass")] == "True"
    assert rows[1][EXPORT_COLUMNS.index("detail")] == "emergency"


def test_viewing_the_trail_is_itself_audited(cast, trail) -> None:
    cast.client_for(cast.auditor).get(reverse("audit:trail"), {"outcome": "denied"})
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert (event.username, event.action, event.object_type, event.detail) == (
        "auditor.schmidt", "view", "audit_trail", "outcome=denied")


@pytest.mark.parametrize("who", ["physician", "nurse", "receptionist", "manager",
                                 "sister_physician", "foreign_physician"])
@pytest.mark.parametrize("page", ["audit:trail", "audit:export"])
def test_non_auditors_are_refused_and_the_attempt_recorded(cast, trail, who, page) -> None:
    user = getattr(cast, who)
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    response = cast.client_for(user).get(reverse(page))
    assert response.status_code == 403
    assert "reception.demir" not in response.content.decode()
    event = AuditEvent.objects.get(seq__gt=seq)
    assert (event.username, event.outcome, event.object_type) == (
        user.username, "denied", "audit_trail")


def test_anonymous_visitors_are_sent_to_sign_in(db) -> None:
    response = Client().get(reverse("audit:export"))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sign-in/?next=/audit/export.csv"


def test_an_object_type_outside_the_vocabulary_is_refused(db) -> None:
    with pytest.raises(ValueError, match="not in the audit vocabulary: 'patinet'"):
        record(Actor(username="dr.house"), action=AuditEvent.Action.VIEW,
               object_type="patinet")  # type: ignore[arg-type]
    assert AuditEvent.objects.count() == 0


def test_an_action_outside_the_vocabulary_is_refused(db) -> None:
    with pytest.raises(ValueError, match="'peek' is not a valid"):
        record(Actor(username="dr.house"), action="peek",  # type: ignore[arg-type]
               object_type="patient")
    assert AuditEvent.objects.count() == 0
