"""The safety pages as staff use them: report, see the alert, acknowledge, call, set up."""

from __future__ import annotations

from typing import Any

from conftest import make_patient
from django.urls import reverse

from mesoclinic.audit.models import AuditEvent
from mesoclinic.safety import tasks
from mesoclinic.safety.models import AdverseEvent, Alert, CheckIn, ClusterCall, SafetySettings
from mesoclinic.safety.tests.helpers import report, signed, today


def _form(session: Any, cast: Any, **fields: Any) -> dict[str, Any]:
    data = {"sessions": [str(session.public_id)], "effect": "infection", "infection": "suspected",
            "onset": today(cast).isoformat(), "severity": "moderate", "action_taken": "observation",
            "outcome": "ongoing", "description": "Warm, red nodule on the left cheek"}
    data.update(fields)
    return data


def test_a_nurse_reports_an_infection_and_the_physician_is_named(cast: Any) -> None:
    session = signed(cast)
    client = cast.client_for(cast.nurse)
    url = reverse("adverse_events:report", args=[cast.patient.public_id])
    page = client.get(url)
    assert page.status_code == 200
    assert "Report a side effect" in page.content.decode()
    response = client.post(url, _form(session, cast), follow=True)
    event = AdverseEvent.objects.get()
    assert response.redirect_chain[-1][0] == reverse("adverse_events:event",
                                                     args=[cast.patient.public_id, event.public_id])
    text = response.content.decode()
    assert "An alert went to" in text
    assert "Holds the next session" in text
    assert "HA-2291" in text  # the lot it followed
    assert Alert.objects.get().event == event


def test_a_bad_report_is_shown_again_with_the_reason_and_saves_nothing(cast: Any) -> None:
    session = signed(cast)
    client = cast.client_for(cast.nurse)
    url = reverse("adverse_events:report", args=[cast.patient.public_id])
    future = _form(session, cast, onset="2999-01-01")
    response = client.post(url, future)
    assert response.status_code == 422
    assert "cannot be in the future" in response.content.decode()
    response = client.post(url, _form(session, cast, severity="extreme"))
    assert response.status_code == 422
    assert not AdverseEvent.objects.exists()
    assert not Alert.objects.exists()


def test_another_patients_session_cannot_be_named_through_the_form(cast: Any) -> None:
    other = make_patient(cast.clinic, "Deniz", "Arslan")
    session = signed(cast, patient=other)
    signed(cast)
    response = cast.client_for(cast.nurse).post(
        reverse("adverse_events:report", args=[cast.patient.public_id]), _form(session, cast))
    assert response.status_code == 422
    assert not AdverseEvent.objects.exists()


def test_the_physician_sees_the_alert_and_acknowledges_it(cast: Any) -> None:
    report(cast, signed(cast), effect="infection")
    alert = Alert.objects.get()
    client = cast.client_for(cast.physician)
    inbox = client.get(reverse("safety:alerts")).content.decode()
    assert "Suspected infection" in inbox
    assert "For you" in inbox
    page = client.get(reverse("safety:alert", args=[alert.public_id])).content.decode()
    assert "Book the check-up" in page
    assert f"patient={cast.patient.public_id}" in page
    response = client.post(reverse("safety:acknowledge", args=[alert.public_id]), {"note": "Calling her"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == cast.physician
    assert alert.ack_note == "Calling her"


def test_a_nurse_may_not_acknowledge_the_physicians_alert(cast: Any) -> None:
    report(cast, signed(cast), effect="infection")
    alert = Alert.objects.get()
    response = cast.client_for(cast.nurse).post(reverse("safety:acknowledge", args=[alert.public_id]))
    assert response.status_code == 403
    assert "addressed to someone else" in response.content.decode()
    assert Alert.objects.get().acknowledged_at is None
    assert AuditEvent.objects.filter(object_type="safety_alert", outcome="denied").exists()


def test_an_escalated_alert_reaches_the_manager_without_clinical_detail(cast: Any) -> None:
    report(cast, signed(cast), effect="infection")
    alert = Alert.objects.get()
    client = cast.client_for(cast.manager)
    assert "No alert is waiting" in client.get(reverse("safety:alerts")).content.decode()
    assert client.get(reverse("safety:alert", args=[alert.public_id])).status_code == 404
    alert.recipients.add(cast.manager)  # as escalation does
    page = client.get(reverse("safety:alert", args=[alert.public_id])).content.decode()
    assert "Suspected infection" in page
    assert cast.patient.family_name not in page
    assert "Secret clinical note" not in page


def test_the_check_in_call_list_and_a_positive_call(cast: Any) -> None:
    signed(cast)
    CheckIn.objects.filter(week=1).update(due_on=today(cast))
    CheckIn.objects.filter(week=3).update(due_on=today(cast).replace(year=today(cast).year - 1))
    client = cast.client_for(cast.nurse)
    listing = client.get(reverse("safety:checkins"))
    groups = listing.context["groups"]
    assert [c.week for c in groups["today"]] == [1]
    assert [c.week for c in groups["missed"]] == [3]
    checkin = CheckIn.objects.get(week=1)
    url = reverse("safety:checkin", args=[checkin.public_id])
    incomplete = client.post(url, {"reached": "yes", "redness": "yes"})
    assert incomplete.status_code == 422
    assert CheckIn.objects.get(pk=checkin.pk).status == "due"
    answers = {"reached": "yes", "redness": "yes", "swelling": "no", "lumps": "no", "pain": "no",
               "discharge": "no"}
    response = client.post(url, answers)
    event = AdverseEvent.objects.get()
    assert response["Location"] == reverse("adverse_events:event", args=[cast.patient.public_id,
                                                                          event.public_id])
    assert event.infection == "suspected"
    assert Alert.objects.get().reason == "infection"


def test_the_cluster_call_list_is_worked_from_its_page(cast: Any) -> None:
    second = make_patient(cast.clinic, "Deniz", "Arslan")
    report(cast, signed(cast), effect="infection")
    report(cast, signed(cast, patient=second), effect="infection")
    tasks.run_signals(cast.clinic)
    cluster_alert = Alert.objects.get(reason="cluster")
    client = cast.client_for(cast.manager)
    page = client.get(reverse("safety:cluster", args=[cluster_alert.cluster.public_id]))  # type: ignore[union-attr]
    text = page.content.decode()
    assert "HA-2291" in text
    assert "Arslan" in text
    assert "Secret clinical note" not in text
    assert "has the infection" not in text  # clinical: the physician's page says it
    doctor = cast.client_for(cast.physician).get(
        reverse("safety:cluster", args=[cluster_alert.cluster.public_id]))  # type: ignore[union-attr]
    assert "has the infection" in doctor.content.decode()
    call = ClusterCall.objects.get(patient=second)
    response = client.post(reverse("safety:cluster-call", args=[cluster_alert.cluster.public_id, call.pk]),  # type: ignore[union-attr]
                           {"outcome": "well", "note": "No signs"})
    assert response.status_code == 302
    call.refresh_from_db()
    assert (call.outcome, call.called_by, call.attempts) == ("well", cast.manager, 1)


def test_the_manager_sets_the_acknowledgement_time(cast: Any) -> None:
    client = cast.client_for(cast.manager)
    url = reverse("safety:settings")
    assert client.post(url, {"ack_hours": "0", "checkin_weeks": "1, 3"}).status_code == 422
    assert client.post(url, {"ack_hours": "2", "checkin_weeks": "3, 1"}).status_code == 422
    assert client.post(url, {"ack_hours": "2", "checkin_weeks": "one"}).status_code == 422
    assert not SafetySettings.objects.exists()
    assert client.post(url, {"ack_hours": "2", "checkin_weeks": "1, 4, 12"}).status_code == 302
    saved = SafetySettings.objects.get()
    assert (saved.ack_hours, saved.checkin_weeks) == (2, [1, 4, 12])


def test_the_chart_shows_the_safety_section_and_the_hold(cast: Any) -> None:
    report(cast, signed(cast), effect="rash", severity="moderate")
    text = cast.client_for(cast.physician).get(reverse("patients:chart", args=[cast.patient.public_id])) \
        .content.decode()
    assert "Side effects and adverse events" in text
    assert "On hold" in text
    chart = reverse("patients:chart", args=[cast.patient.public_id])
    reception = cast.client_for(cast.receptionist).get(chart)
    assert "Side effects and adverse events" not in reception.content.decode()
