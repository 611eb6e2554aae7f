"""The scheduling endpoints: the same rights, refusals and audit as the calendar pages."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from mesoclinic.api.scheduling import PLANNER_EXAMPLE
from mesoclinic.audit.models import AuditEvent
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.scheduling import series_contract
from mesoclinic.scheduling.models import Appointment, Device, Room
from mesoclinic.scheduling.tests.helpers import accepted_plan, furnish, local, next_monday

pytestmark = pytest.mark.django_db

SECRET = "Secret clinical note"


@pytest.fixture
def clinic(cast: Any) -> dict[str, Any]:
    return furnish(cast)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _post(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def _booking(cast: Any, clinic: dict[str, Any], hour: int = 10, **extra: Any) -> dict[str, Any]:
    start = local(cast, next_monday(), hour)
    # An allergy test: the one kind besides treatments that is reminded.
    body = {"patient_id": str(cast.patient.public_id), "kind": "allergy_test",
            "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(),
            "practitioner": str(cast.physician.public_id), "room": str(clinic["rooms"][0].public_id),
            "note": "Brings her daughter"}
    body.update(extra)
    return body


def _book(cast: Any, clinic: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = _post(Client(), "/api/v1/appointments", _booking(cast, clinic, **extra),
                     **_bearer(cast.write_token))
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_a_receptionist_session_books_and_the_booking_is_audited_and_reminded(cast, clinic):
    client = cast.client_for(cast.receptionist, cast.clinic)
    response = _post(client, "/api/v1/appointments", _booking(cast, clinic))
    assert response.status_code == 201, response.content
    body = response.json()
    appointment = Appointment.objects.get(public_id=body["id"])
    assert appointment.created_by == cast.receptionist
    assert body["status"] == "booked"
    assert body["version"] == 1
    assert body["practitioner"] == {"id": str(cast.physician.public_id), "name": str(cast.physician)}
    assert body["start"] == local(cast, next_monday(), 10).isoformat()
    assert body["start"].endswith("+03:00")  # the clinic's offset
    event = AuditEvent.objects.get(object_type="appointment", action="create", outcome="allowed")
    assert event.username == cast.receptionist.username
    assert event.patient_id == str(cast.patient.public_id)
    assert OutboundMessage.objects.filter(ref=appointment.ref).exists()


def test_a_write_token_books_and_a_read_token_cannot(cast, clinic):
    refused = _post(Client(), "/api/v1/appointments", _booking(cast, clinic), **_bearer(cast.read_token))
    assert refused.status_code == 403
    assert set(refused.json()) == {"error", "field"}
    assert not Appointment.objects.exists()
    assert AuditEvent.objects.filter(username="token:reader", outcome="denied").exists()
    body = _book(cast, clinic)
    assert Appointment.objects.get(public_id=body["id"]).created_by == cast.physician  # the issuer
    assert AuditEvent.objects.get(object_type="appointment", action="create",
                                  outcome="allowed").username == "token:writer"


def test_a_double_booking_is_a_409_naming_the_resource(cast, clinic):
    _book(cast, clinic)
    other = cast.sister_patient.__class__.objects.create(
        clinic=cast.clinic, given_name="Can", family_name="Öz", birth_date=cast.patient.birth_date,
        sex="male")
    # The same room at the same time with the nurse: the room is taken.
    body = _booking(cast, clinic, patient_id=str(other.public_id),
                    practitioner=str(cast.nurse.public_id))
    response = _post(Client(), "/api/v1/appointments", body, **_bearer(cast.write_token))
    assert response.status_code == 409, response.content
    assert response.json()["field"] == "room"
    # The same practitioner in another room.
    body = _booking(cast, clinic, patient_id=str(other.public_id),
                    room=str(clinic["rooms"][1].public_id))
    response = _post(Client(), "/api/v1/appointments", body, **_bearer(cast.write_token))
    assert response.status_code == 409
    assert response.json() == {"error": "practitioner: The practitioner has another appointment "
                                        "at that time.", "field": "practitioner"}
    assert Appointment.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="appointment", outcome="denied",
                                     patient_id=str(other.public_id)).count() == 2


def test_a_time_without_its_offset_is_a_422_naming_the_field(cast, clinic):
    body = _booking(cast, clinic)
    body["start"] = body["start"][:19]  # 2026-…T10:00:00, no offset
    response = _post(Client(), "/api/v1/appointments", body, **_bearer(cast.write_token))
    assert response.status_code == 422
    assert response.json()["field"] == "start"
    assert not Appointment.objects.exists()


def test_another_clinics_room_is_a_422_and_another_clinics_patient_a_404(cast, clinic):
    elsewhere = Room.objects.create(clinic=cast.sister, name="Berlin 1")
    response = _post(Client(), "/api/v1/appointments", _booking(cast, clinic, room=str(elsewhere.public_id)),
                     **_bearer(cast.write_token))
    assert response.status_code == 422
    assert response.json()["field"] == "room"
    response = _post(Client(), "/api/v1/appointments",
                     _booking(cast, clinic, patient_id=str(cast.sister_patient.public_id)),
                     **_bearer(cast.write_token))
    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_the_list_and_the_appointment_show_no_clinical_note(cast, clinic):
    booked = _book(cast, clinic)
    day = next_monday()
    params = {"from": local(cast, day, 0).isoformat(),
              "to": local(cast, day + timedelta(days=1), 0).isoformat()}
    client = cast.client_for(cast.receptionist, cast.clinic)
    before = AuditEvent.objects.count()
    listed = client.get("/api/v1/appointments", params)
    assert listed.status_code == 200, listed.content
    assert [a["id"] for a in listed.json()] == [booked["id"]]
    assert listed.json()[0]["patient_name"] == "Ayşe Şahin"
    assert listed.json()[0]["note"] == "Brings her daughter"
    assert SECRET.encode() not in listed.content
    assert AuditEvent.objects.count() == before + 1  # one event for the list
    detail = Client().get(f"/api/v1/appointments/{booked['id']}", headers=_bearer(cast.read_token))
    assert detail.status_code == 200
    assert SECRET.encode() not in detail.content
    assert detail.json()["reminders"]
    assert set(detail.json()["reminders"][0]) == {"kind", "channel", "status", "due_at", "sent_at",
                                                  "last_error"}
    assert AuditEvent.objects.filter(object_type="appointment", action="view",
                                     object_id=booked["id"],
                                     patient_id=str(cast.patient.public_id)).exists()
    # The list (built from narrow rows) says exactly what the appointment's own answer says.
    whole = detail.json()
    assert {k: whole[k] for k in listed.json()[0]} == listed.json()[0]
    assert listed.json()[0]["practitioner"] == {"id": str(cast.physician.public_id),
                                                "name": str(cast.physician)}


def test_the_list_filters_and_refuses_a_naive_or_too_long_window(cast, clinic):
    _book(cast, clinic)
    day = next_monday()
    start = local(cast, day, 0)
    reader = _bearer(cast.read_token)
    by_nurse = Client().get("/api/v1/appointments", {"from": start.isoformat(),
                                                     "to": (start + timedelta(days=1)).isoformat(),
                                                     "practitioner": str(cast.nurse.public_id)},
                            headers=reader)
    assert by_nurse.status_code == 200
    assert by_nurse.json() == []
    naive = Client().get("/api/v1/appointments", {"from": start.isoformat()[:19]}, headers=reader)
    assert naive.status_code == 422
    assert naive.json()["field"] == "from"
    too_long = Client().get("/api/v1/appointments", {"from": start.isoformat(),
                                                     "to": (start + timedelta(days=32)).isoformat()},
                            headers=reader)
    assert too_long.status_code == 422
    assert too_long.json()["field"] == "to"
    assert Client().get("/api/v1/appointments", headers=reader).status_code == 200  # today


def test_the_resources_name_practitioners_hours_rooms_and_devices(cast, clinic):
    response = Client().get("/api/v1/schedule/resources", headers=_bearer(cast.read_token))
    assert response.status_code == 200
    body = response.json()
    names = {p["id"]: p for p in body["practitioners"]}
    physician = names[str(cast.physician.public_id)]
    assert physician["hours"][0] == {"weekday": 0, "start": "08:00", "end": "18:00"}
    assert physician["breaks"][0] == {"weekday": 0, "start": "12:00", "end": "13:00"}
    assert [r["name"] for r in body["rooms"]] == ["Room 1", "Room 2"]
    assert body["devices"] == [{"id": str(clinic["device"].public_id), "name": "US-1",
                                "kind": "ultrasound", "active": True}]
    assert AuditEvent.objects.filter(object_type="schedule_resource", action="view").exists()
    assert cast.client_for(cast.manager, cast.clinic).get("/api/v1/schedule/resources").status_code == 403


def test_a_stale_move_is_a_409_and_a_move_then_a_cancel_succeed(cast, clinic):
    booked = _book(cast, clinic)
    url = f"/api/v1/appointments/{booked['id']}"
    writer = _bearer(cast.write_token)
    new_start = local(cast, next_monday(), 14)
    moved = _post(Client(), f"{url}/move", {"start": new_start.isoformat(), "version": 1}, **writer)
    assert moved.status_code == 200, moved.content
    assert moved.json()["start"] == new_start.isoformat()
    assert moved.json()["version"] == 2
    assert moved.json()["follow_problems"] == []
    assert moved.json()["rest_proposal"] is None
    stale = _post(Client(), f"{url}/move", {"start": local(cast, next_monday(), 15).isoformat(),
                                            "version": 1}, **writer)
    assert stale.status_code == 409
    assert stale.json()["field"] == "version"
    assert Appointment.objects.get(public_id=booked["id"]).starts_at == new_start
    cancelled = _post(Client(), f"{url}/cancel", {"reason": "The patient is ill.", "version": 2}, **writer)
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "The patient is ill."
    again = _post(Client(), f"{url}/cancel", {"reason": "Twice.", "version": 3}, **writer)
    assert again.status_code == 409
    assert again.json()["field"] == "status"
    read_only = _post(Client(), f"{url}/cancel", {"reason": "x", "version": 3}, **_bearer(cast.read_token))
    assert read_only.status_code == 403


def test_a_proposed_series_is_booked_in_one_step(cast, clinic):
    plan = accepted_plan(cast)
    base = f"/api/v1/patients/{cast.patient.public_id}/plans/{plan.public_id}"
    client = cast.client_for(cast.receptionist, cast.clinic)
    proposal = _post(client, f"{base}/series-proposal", {
        "availability": [{"weekday": w, "start": "09:00", "end": "17:00"} for w in range(5)],
        "not_before": next_monday().isoformat(),
        "preferred_practitioner": str(cast.physician.public_id)})
    assert proposal.status_code == 200, proposal.content
    sessions = proposal.json()["sessions"]
    assert len(sessions) == plan.current.sessions
    assert proposal.json()["unplaced"] == []
    assert {s["practitioner"] for s in sessions} == {str(cast.physician.public_id)}
    booked = _post(client, f"{base}/series", {"sessions": sessions})
    assert booked.status_code == 201, booked.content
    assert [a["series_index"] for a in booked.json()] == list(range(1, plan.current.sessions + 1))
    assert Appointment.objects.filter(plan=plan).count() == plan.current.sessions
    again = _post(client, f"{base}/series", {"sessions": sessions})
    assert again.status_code == 409
    assert again.json()["field"] == "sessions"
    assert "Session 1" in again.json()["error"]
    assert Appointment.objects.filter(plan=plan).count() == plan.current.sessions


def test_a_series_naming_another_clinics_room_is_a_422_and_a_clash_a_409(cast, clinic):
    plan = accepted_plan(cast)
    base = f"/api/v1/patients/{cast.patient.public_id}/plans/{plan.public_id}"
    writer = _bearer(cast.write_token)
    proposal = _post(Client(), f"{base}/series-proposal", {
        "not_before": next_monday().isoformat(), "preferred_practitioner": str(cast.physician.public_id)},
        **writer)
    assert proposal.status_code == 200, proposal.content
    sessions = proposal.json()["sessions"]
    elsewhere = Room.objects.create(clinic=cast.sister, name="Berlin 1")
    foreign = [dict(s) for s in sessions]
    foreign[1]["room"] = str(elsewhere.public_id)
    response = _post(Client(), f"{base}/series", {"sessions": foreign}, **writer)
    assert response.status_code == 422
    assert response.json()["field"] == "sessions[1].room"
    # Someone takes the third session's practitioner meanwhile.
    third = sessions[2]
    other = cast.sister_patient.__class__.objects.create(
        clinic=cast.clinic, given_name="Can", family_name="Öz", birth_date=cast.patient.birth_date,
        sex="male")
    room = next(r for r in clinic["rooms"] if str(r.public_id) != third["room"])
    taken = _post(Client(), "/api/v1/appointments", {
        "patient_id": str(other.public_id), "kind": "consultation", "start": third["start"],
        "end": third["end"], "practitioner": third["practitioner"], "room": str(room.public_id)},
        **writer)
    assert taken.status_code == 201, taken.content
    clash = _post(Client(), f"{base}/series", {"sessions": sessions}, **writer)
    assert clash.status_code == 409
    assert clash.json()["field"] == "practitioner"
    assert "Session 3" in clash.json()["error"]
    assert not Appointment.objects.filter(plan=plan).exists()


def test_a_manager_adds_rooms_and_devices_and_a_token_cannot(cast, clinic):
    client = cast.client_for(cast.manager, cast.clinic)
    created = _post(client, "/api/v1/schedule/rooms", {"name": "Room 3"})
    assert created.status_code == 201, created.content
    assert Room.objects.get(public_id=created.json()["id"]).name == "Room 3"
    duplicate = _post(client, "/api/v1/schedule/rooms", {"name": "Room 3"})
    assert duplicate.status_code == 422
    assert duplicate.json() == {"error": "name: The clinic has a room of that name.", "field": "name"}
    device = _post(client, "/api/v1/schedule/devices", {"name": "Gun 1", "kind": "injector_gun"})
    assert device.status_code == 201, device.content
    unknown = _post(client, "/api/v1/schedule/devices", {"name": "Gun 2", "kind": "laser"})
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "kind"
    for token in (cast.write_token, cast.read_token):
        refused = _post(Client(), "/api/v1/schedule/rooms", {"name": "Room 4"}, **_bearer(token))
        assert refused.status_code == 403
    receptionist = _post(cast.client_for(cast.receptionist, cast.clinic), "/api/v1/schedule/rooms",
                         {"name": "Room 4"})
    assert receptionist.status_code == 403
    assert Room.objects.filter(clinic=cast.clinic).count() == 3
    assert Device.objects.filter(clinic=cast.clinic).count() == 2
    # Three refused callers and the duplicate.
    assert AuditEvent.objects.filter(object_type="schedule_resource", outcome="denied").count() == 4


def test_a_session_write_without_the_csrf_token_is_refused(cast, clinic):
    client = Client(enforce_csrf_checks=True)
    client.cookies = cast.client_for(cast.receptionist, cast.clinic).cookies
    response = _post(client, "/api/v1/appointments", _booking(cast, clinic))
    assert response.status_code == 403
    assert not Appointment.objects.exists()


def test_the_planner_over_http_answers_the_plan_series_contract(cast):
    response = _post(Client(), "/api/v1/planner/series", PLANNER_EXAMPLE, **_bearer(cast.read_token))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == series_contract.plan_series_json(PLANNER_EXAMPLE)  # the CLI's output
    assert [s["index"] for s in body["sessions"]] == [1, 2, 3, 4, 5, 6]
    assert body["sessions"][0]["start"] == "2027-03-01T12:00:00+03:00"  # after the busy morning
    assert body["unplaced"] == []
    staff = cast.client_for(cast.receptionist, cast.clinic)
    assert _post(staff, "/api/v1/planner/series", PLANNER_EXAMPLE).status_code == 200


@pytest.mark.parametrize(("change", "field"), [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"patient_availability": [{"weekday": 7, "start": "09:00", "end": "13:00"}]},
     "patient_availability[0].weekday"),
    ({"colour": "blue"}, "colour"),
])
def test_invalid_planner_input_is_a_422_naming_the_field(cast, change, field):
    response = _post(Client(), "/api/v1/planner/series", {**PLANNER_EXAMPLE, **change},
                     **_bearer(cast.read_token))
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["error"].startswith(f"{field}: ")


def test_the_planner_refuses_json_that_is_not_strict_and_a_manager(cast):
    text = json.dumps(PLANNER_EXAMPLE)[:-1] + ', "timezone": "UTC"}'  # a repeated key
    response = Client().post("/api/v1/planner/series", text, content_type="application/json",
                             headers=_bearer(cast.read_token))
    assert response.status_code == 422
    assert response.json()["field"] == "input"
    manager = _post(cast.client_for(cast.manager, cast.clinic), "/api/v1/planner/series", PLANNER_EXAMPLE)
    assert manager.status_code == 403
