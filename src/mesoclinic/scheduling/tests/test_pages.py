"""Calendar pages as staff use them: what each role sees, booking and moving by form, the feed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from mesoclinic.audit.models import AuditEvent
from mesoclinic.scheduling import actions
from mesoclinic.scheduling.actions import Slot
from mesoclinic.scheduling.models import Appointment, Room
from mesoclinic.scheduling.tests.helpers import ACTOR, accepted_plan, furnish, local, next_monday

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(cast):
    return furnish(cast)


def _consultation(cast: Any, clinic: Any, day: Any, hour: int = 10) -> Appointment:
    start = local(cast, day, hour)
    return actions.book(clinic=cast.clinic, patient=cast.patient, kind="consultation",
                        slot=Slot(starts_at=start, ends_at=start + timedelta(minutes=30),
                                  practitioner=cast.physician, room=clinic["rooms"][0]),
                        by=cast.receptionist, actor=ACTOR)


def test_the_day_view_shows_each_practitioner_and_the_booked_patient(cast, clinic):
    day = next_monday()
    appointment = _consultation(cast, clinic, day)
    response = cast.client_for(cast.receptionist).get(reverse("scheduling:day") + f"?date={day}")
    body = response.content.decode()
    assert response.status_code == 200
    assert str(cast.physician) in body
    assert str(cast.nurse) in body
    assert "Ayşe Şahin" in body
    assert reverse("scheduling:appointment", args=[appointment.public_id]) in body
    assert 'class="slot appt kind-consultation" rowspan="6"' in body  # 30 minutes, 5-minute rows
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.filter(object_type="appointment", action="view").latest("id")
    assert "1 appointments" in event.detail
    assert event.username == cast.receptionist.username


def test_the_room_view_and_the_week_view_show_the_same_booking(cast, clinic):
    day = next_monday()
    _consultation(cast, clinic, day)
    client = cast.client_for(cast.nurse)
    by_room = client.get(reverse("scheduling:day") + f"?date={day}&by=room").content.decode()
    assert "Room 1" in by_room
    assert "Ayşe Şahin" in by_room
    week = client.get(reverse("scheduling:week") +
                      f"?practitioner={cast.physician.public_id}&date={day}").content.decode()
    assert "Ayşe Şahin" in week
    assert 'data-testid="week-calendar"' in week
    room_week = client.get(reverse("scheduling:week") +
                           f"?room={clinic['rooms'][1].public_id}&date={day}").content.decode()
    assert "Ayşe Şahin" not in room_week  # booked in room 1, not room 2


def test_another_clinics_calendar_and_appointment_are_out_of_reach(cast, clinic):
    appointment = _consultation(cast, clinic, next_monday())
    sister = cast.client_for(cast.sister_physician)
    assert "Ayşe" not in sister.get(reverse("scheduling:day") +
                                    f"?date={next_monday()}").content.decode()
    assert sister.get(reverse("scheduling:appointment", args=[appointment.public_id])).status_code == 404


def test_todays_list_shows_readiness_to_clinical_staff_only(cast, clinic, time_machine):
    plan = accepted_plan(cast)
    day = next_monday()
    start = local(cast, day, 10)
    actions.book(clinic=cast.clinic, patient=cast.patient, kind="treatment", plan=plan, series_index=1,
                 slot=Slot(starts_at=start, ends_at=start + timedelta(minutes=30),
                           practitioner=cast.physician, room=clinic["rooms"][0]),
                 by=cast.receptionist, actor=ACTOR)
    time_machine.move_to(local(cast, day, 7), tick=False)
    physician = cast.client_for(cast.physician).get(reverse("scheduling:today")).content.decode()
    assert "Ayşe Şahin" in physician
    assert "Consent signed" in physician
    assert "✗ Consent signed" in physician  # nothing signed in this test
    reception = cast.client_for(cast.receptionist).get(reverse("scheduling:today")).content.decode()
    assert "Ayşe Şahin" in reception
    assert "Consent signed" not in reception


def test_booking_by_form_outside_hours_names_the_problem_and_saves_nothing(cast, clinic):
    client = cast.client_for(cast.receptionist)
    url = reverse("scheduling:book") + f"?patient={cast.patient.public_id}"
    form = {"patient": str(cast.patient.public_id), "kind": "allergy_test",
            "practitioner": str(cast.nurse.public_id), "room": str(clinic["rooms"][0].public_id),
            "day": str(next_monday()), "at": "19:00", "minutes": "20", "note": ""}
    response = client.post(url, form)
    assert response.status_code == 422
    assert "does not work then" in response.content.decode()
    assert not Appointment.objects.exists()
    form["at"] = "09:00"
    response = client.post(url, form)
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.kind == "allergy_test"
    assert appointment.practitioner == cast.nurse


def test_a_room_of_another_clinic_cannot_be_chosen_in_the_form(cast, clinic):
    elsewhere = Room.objects.create(clinic=cast.sister, name="Berlin 1")
    response = cast.client_for(cast.receptionist).post(
        reverse("scheduling:book") + f"?patient={cast.patient.public_id}",
        {"patient": str(cast.patient.public_id), "kind": "consultation",
         "practitioner": str(cast.physician.public_id), "room": str(elsewhere.public_id),
         "day": str(next_monday()), "at": "10:00", "minutes": "30"})
    assert response.status_code == 422
    assert "Room" in response.content.decode()
    assert not Appointment.objects.exists()


def _proposal(body: str) -> str:
    """The signed proposal a page carries in its hidden field."""
    found = re.search(r'name="proposal" value="([^"]+)"', body)
    assert found is not None, "no proposal on the page"
    return found[1]


def _propose(client: Any, cast: Any, plan: Any) -> tuple[str, Any]:
    url = reverse("scheduling:series", args=[cast.patient.public_id, plan.public_id])
    form = {"action": "propose", "not_before": str(next_monday()), "weekdays": ["0", "1", "2", "3", "4"],
            "available_from": "09:00", "available_until": "17:00",
            "practitioner": str(cast.physician.public_id)}
    return url, client.post(url, form)


def test_a_series_is_proposed_then_booked_from_the_plan_page(cast, clinic):
    plan = accepted_plan(cast)
    client = cast.client_for(cast.receptionist)
    url, response = _propose(client, cast, plan)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('data-testid="proposed-session"') == plan.current.sessions
    token = _proposal(body)
    response = client.post(url, {"action": "book", "proposal": token})
    assert response.status_code == 302
    assert reverse("scheduling:week") in response["Location"]
    assert Appointment.objects.filter(plan=plan, status="booked").count() == plan.current.sessions
    # The same proposal twice books nothing more.
    again = client.post(url, {"action": "book", "proposal": token})
    assert again.status_code == 409
    assert Appointment.objects.filter(plan=plan).count() == plan.current.sessions


def test_a_forged_proposal_books_nothing(cast, clinic):
    plan = accepted_plan(cast)
    client = cast.client_for(cast.receptionist)
    url = reverse("scheduling:series", args=[cast.patient.public_id, plan.public_id])
    response = client.post(url, {"action": "book", "proposal": "eyJzZXNzaW9ucyI6W119:forged"})
    assert response.status_code == 422
    assert not Appointment.objects.exists()


def test_moving_by_htmx_returns_the_panel_with_the_rest_offered(cast, clinic):
    plan = accepted_plan(cast)
    client = cast.client_for(cast.receptionist)
    url, response = _propose(client, cast, plan)
    token = _proposal(response.content.decode())
    client.post(url, {"action": "book", "proposal": token})
    second = Appointment.objects.get(plan=plan, series_index=2)
    new_start = second.starts_at + timedelta(days=1)
    local_start = new_start.astimezone(local(cast, next_monday(), 0).tzinfo)
    response = client.post(reverse("scheduling:move", args=[second.public_id]),
                           {"day": local_start.date().isoformat(), "at": local_start.strftime("%H:%M"),
                            "practitioner": str(second.practitioner.public_id),
                            "room": str(second.room.public_id if second.room else ""),
                            "version": second.version},
                           headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body  # the panel only
    assert 'data-testid="shift-offer"' in body
    assert 'data-testid="shift-rest"' in body
    shift_token = _proposal(body)
    third_before = Appointment.objects.get(plan=plan, series_index=3).starts_at
    response = client.post(reverse("scheduling:shift", args=[second.public_id]), {"proposal": shift_token})
    assert response.status_code == 302
    third_after = Appointment.objects.get(plan=plan, series_index=3).starts_at
    assert third_after - third_before == timedelta(days=1)


def test_a_move_out_of_the_window_is_refused_on_the_page(cast, clinic):
    plan = accepted_plan(cast)
    client = cast.client_for(cast.receptionist)
    url, response = _propose(client, cast, plan)
    token = _proposal(response.content.decode())
    client.post(url, {"action": "book", "proposal": token})
    second = Appointment.objects.get(plan=plan, series_index=2)
    local_start = (second.starts_at + timedelta(days=4)).astimezone(local(cast, next_monday(), 0).tzinfo)
    response = client.post(reverse("scheduling:move", args=[second.public_id]),
                           {"day": local_start.date().isoformat(), "at": local_start.strftime("%H:%M"),
                            "practitioner": str(second.practitioner.public_id), "version": second.version})
    assert response.status_code == 422
    assert Appointment.objects.get(pk=second.pk).starts_at == second.starts_at


def test_cancel_by_form_needs_a_reason(cast, clinic):
    appointment = _consultation(cast, clinic, next_monday())
    client = cast.client_for(cast.receptionist)
    url = reverse("scheduling:cancel", args=[appointment.public_id])
    assert client.post(url, {"reason": "", "version": 1}).status_code == 422
    assert client.post(url, {"reason": "Patient ill", "version": 1}).status_code == 302
    assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"


def test_the_calendar_feed_lists_initials_only_and_stops_when_revoked(cast, clinic):
    _consultation(cast, clinic, next_monday())
    client = cast.client_for(cast.physician)
    response = client.post(reverse("scheduling:my-feed"), {"action": "create"})
    found = re.search(r'data-testid="feed-url">([^<]+)<', response.content.decode())
    assert found is not None
    url = found[1]
    path = url.split("testserver", 1)[1]
    from django.test import Client

    feed = Client().get(path)
    body = feed.content.decode()
    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in body
    assert "SUMMARY:Consultation · A. Ş." in body
    assert "Şahin" not in body
    assert "Ayşe" not in body
    assert AuditEvent.objects.filter(object_type="calendar_feed", action="view").exists()
    client.post(reverse("scheduling:my-feed"), {"action": "revoke"})
    assert Client().get(path).status_code == 404


def test_the_manager_adds_rooms_and_hours_and_bad_hours_are_refused(cast):
    client = cast.client_for(cast.manager)
    url = reverse("scheduling:resources")
    assert client.post(url, {"form": "room", "room-name": "Treatment 3"}).status_code == 302
    assert Room.objects.filter(clinic=cast.clinic, name="Treatment 3").exists()
    # The same name again is refused with the constraint's words, not a traceback.
    response = client.post(url, {"form": "room", "room-name": "Treatment 3"})
    assert response.status_code == 422
    assert "room of that name" in response.content.decode()
    response = client.post(url, {"form": "hours", "hours-practitioner": str(cast.physician.public_id),
                                 "hours-weekday": "0", "hours-start": "18:00", "hours-end": "08:00"})
    assert response.status_code == 422
    assert "end must be after the start" in response.content.decode()
    response = client.post(url, {"form": "hours", "hours-practitioner": str(cast.physician.public_id),
                                 "hours-weekday": "0", "hours-start": "08:00", "hours-end": "16:00",
                                 "hours-break_start": "12:00", "hours-break_end": "12:30"})
    assert response.status_code == 302
    assert client.post(url, {"form": "nonsense"}).status_code == 400
