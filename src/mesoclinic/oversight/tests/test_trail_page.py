"""The auditor's trail page: filter by patient name, names beside ids, past exports, no match."""

from __future__ import annotations

from conftest import make_patient
from django.urls import reverse

from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent

TRAIL = reverse("audit:trail")


def view_of(cast, patient, username: str = "dr.house") -> None:
    user = cast.physician
    record(Actor(user_id=str(user.public_id), username=username), action=AuditEvent.Action.VIEW,
           object_type="patient", object_id=str(patient.public_id),
           clinic_id=str(patient.clinic.public_id), patient_id=str(patient.public_id))


def test_filter_by_patient_name_finds_their_events_only(cast) -> None:
    other = make_patient(cast.clinic, "Mehmet", "Öztürk", phone="")
    view_of(cast, cast.patient)
    view_of(cast, other)
    response = cast.client_for(cast.auditor).get(TRAIL, {"patient_name": "ayse sah"})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert {r["event"].patient_id for r in rows} == {str(cast.patient.public_id)}
    body = response.content.decode()
    assert "Ayşe Şahin" in body  # the name beside the id
    assert "Mehmet" not in body
    assert "Secret clinical note" not in body


def test_names_of_users_and_patients_are_shown_beside_ids(cast) -> None:
    view_of(cast, cast.patient)
    body = cast.client_for(cast.auditor).get(TRAIL).content.decode()
    assert "<strong>Dr House</strong>" in body
    assert "<strong>Ayşe Şahin</strong>" in body


def test_another_clinics_patient_is_not_found_by_name(cast) -> None:
    view_of(cast, cast.sister_patient)
    response = cast.client_for(cast.auditor).get(TRAIL, {"patient_name": "Lena"})
    body = response.content.decode()
    assert "No patient of your clinics is named “Lena”." in body
    assert "No event matches these filters." in body
    assert "Müller" not in body


def test_past_exports_are_listed_with_their_filters(cast) -> None:
    client = cast.client_for(cast.auditor)
    export = client.get(reverse("audit:export"), {"action": "view"})
    b"".join(export.streaming_content)
    body = client.get(TRAIL).content.decode()
    exports = body.split('id="h-exports"')[1]
    assert "Auditor Schmidt" in exports
    assert "Action: View" in exports
    assert AuditEvent.objects.filter(action="export").count() == 1


def test_no_exports_yet_is_said(cast) -> None:
    body = cast.client_for(cast.auditor).get(TRAIL).content.decode()
    assert "The trail has not been exported yet." in body
