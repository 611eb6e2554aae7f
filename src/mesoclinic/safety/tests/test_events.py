"""Reporting adverse events, the alerts they raise, acknowledgement, escalation and the hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from conftest import make_patient
from django.core.management import call_command
from django.utils import timezone

from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting import precheck
from mesoclinic.charting.actions import SessionNotReady
from mesoclinic.charting.tests.helpers import ACTOR, Ready, started
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.safety import actions, alerts
from mesoclinic.safety.actions import EventSpec, SafetyRefused
from mesoclinic.safety.alerts import AlertRefused
from mesoclinic.safety.models import AdverseEvent, Alert, EventEntry, SafetySettings
from mesoclinic.safety.tests.helpers import report, signed, today


def test_a_side_effect_is_recorded_linked_and_audited(cast: Any) -> None:
    session = signed(cast)
    event = report(cast, session, effect="swelling", description="Puffy left cheek")
    assert event.sessions.get() == session
    assert event.status == "open"
    assert event.reported_by == cast.nurse
    # Swelling on the day of the session is what a session leaves (F-SIDE-EFFECTS).
    assert event.expected is True
    assert list(event.entries.values_list("action", flat=True)) == [EventEntry.Action.REPORTED]
    audit = AuditEvent.objects.get(object_type="adverse_event", action="create")
    assert audit.patient_id == str(cast.patient.public_id)
    # The trail says that an event was reported, not what the patient has.
    assert "Puffy" not in str(audit.changes) + audit.detail
    assert not Alert.objects.exists()  # a mild, expected effect alerts nobody


def test_swelling_long_after_the_session_is_unexpected(cast: Any) -> None:
    session = signed(cast)
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        event = report(cast, session, effect="swelling")
    assert event.expected is False


@pytest.mark.parametrize(("change", "field"), [
    ({"severity": "extreme"}, "severity"),
    ({"effect": "werewolfism"}, "effect"),
    ({"effect": "other"}, "other_effect"),
    ({"seriousness": ["bad_luck"]}, "seriousness"),
    ({"infection": "suspected"}, "infection"),
    ({"outcome": "recovered"}, "resolved_on"),
    ({"sessions": []}, "sessions"),
    ({"sessions": ["not-a-uuid"]}, "sessions"),
])
def test_bad_reports_are_refused_by_field_and_save_nothing(cast: Any, change: dict[str, Any],
                                                           field: str) -> None:
    session = signed(cast)
    with pytest.raises(SafetyRefused) as refused:
        report(cast, session, **change)
    assert refused.value.field == field
    assert refused.value.message
    assert not AdverseEvent.objects.exists()
    assert not AuditEvent.objects.filter(object_type="adverse_event").exists()


def test_an_onset_before_the_session_or_in_the_future_is_refused(cast: Any) -> None:
    session = signed(cast)
    with pytest.raises(SafetyRefused) as before:
        report(cast, session, onset=today(cast) - timedelta(days=1))
    assert before.value.field == "onset"
    assert "before the session" in before.value.message
    with pytest.raises(SafetyRefused) as future:
        report(cast, session, onset=today(cast) + timedelta(days=1))
    assert future.value.field == "onset"
    assert not AdverseEvent.objects.exists()


def test_a_session_of_another_patient_or_clinic_is_refused(cast: Any) -> None:
    session = signed(cast)
    other = make_patient(cast.clinic, "Deniz", "Arslan")
    with pytest.raises(SafetyRefused) as refused:
        actions.report_event(patient=other, spec=EventSpec(effect="erythema", onset=today(cast),
                                                           severity="mild", sessions=[session.public_id]),
                             by=cast.nurse, actor=ACTOR)
    assert refused.value.field == "sessions"
    with pytest.raises(SafetyRefused):
        actions.report_event(patient=cast.sister_patient,
                             spec=EventSpec(effect="erythema", onset=today(cast), severity="mild",
                                            sessions=[session.public_id]), by=cast.nurse, actor=ACTOR)
    assert not AdverseEvent.objects.exists()


def test_a_suspected_infection_alerts_the_physician_at_once_by_app_and_email(cast: Any) -> None:
    cast.physician.email = "house@example.org"
    cast.physician.save(update_fields=["email"])
    session = signed(cast)
    event = report(cast, session, effect="infection", severity="mild")
    assert event.infection == "suspected"
    alert = Alert.objects.get()
    assert alert.reason == "infection"
    assert alert.event == event
    assert list(alert.recipients.all()) == [cast.physician]  # approved the plan
    assert alert.ack_due_at == alert.raised_at + timedelta(hours=4)
    assert alert.checkup_by == today(cast) + timedelta(days=2)
    mail = OutboundMessage.objects.get(kind="safety_alert")
    assert mail.recipient == "house@example.org"
    assert mail.context["url"].endswith(f"/safety/alerts/{alert.public_id}/")
    # No patient in an email.
    assert cast.patient.family_name not in str(mail.context)


@pytest.mark.parametrize(("fields", "reason"), [
    ({"severity": "severe"}, "severe"),
    ({"severity": "moderate", "seriousness": ["hospitalisation"]}, "serious"),
])
def test_severe_and_serious_events_alert(cast: Any, fields: dict[str, Any], reason: str) -> None:
    event = report(cast, signed(cast), effect="rash", **fields)
    assert Alert.objects.get(event=event).reason == reason


def test_a_worsening_event_alerts_when_it_becomes_severe(cast: Any) -> None:
    session = signed(cast)
    event = report(cast, session, effect="rash", severity="moderate")
    assert not Alert.objects.exists()
    actions.update_event(event=event, spec=EventSpec(effect="rash", onset=event.onset, severity="severe",
                                                     sessions=[session.public_id]),
                         by=cast.physician, actor=ACTOR, expected_version=event.version)
    assert Alert.objects.get().reason == "severe"
    event.refresh_from_db()
    assert event.version == 2
    assert event.entries.last().changes == {"fields": ["severity"]}  # type: ignore[union-attr]


def test_a_stale_update_is_refused(cast: Any) -> None:
    session = signed(cast)
    event = report(cast, session)
    spec = EventSpec(effect="erythema", onset=event.onset, severity="moderate", sessions=[session.public_id])
    actions.update_event(event=event, spec=spec, by=cast.nurse, actor=ACTOR, expected_version=1)
    with pytest.raises(SafetyRefused) as stale:
        actions.update_event(event=event, spec=EventSpec(effect="bruising", onset=event.onset,
                                                         severity="mild", sessions=[session.public_id]),
                             by=cast.nurse, actor=ACTOR, expected_version=1)
    assert stale.value.field == "version"
    assert AdverseEvent.objects.get().severity == "moderate"


def test_acknowledgement_records_who_and_when_and_only_the_right_people_may(cast: Any) -> None:
    event = report(cast, signed(cast), effect="infection")
    alert = Alert.objects.get(event=event)
    with pytest.raises(AlertRefused) as refused:
        alerts.acknowledge(alert, by=cast.nurse, actor=ACTOR)
    assert refused.value.forbidden
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    moment = datetime(2027, 1, 12, 9, 0, tzinfo=ZoneInfo("Europe/Istanbul"))
    alerts.acknowledge(alert, by=cast.physician, actor=ACTOR, note="Seeing her tomorrow", now=moment)
    alert.refresh_from_db()
    assert alert.acknowledged_by == cast.physician
    assert alert.acknowledged_at == moment
    assert alert.ack_note == "Seeing her tomorrow"
    with pytest.raises(AlertRefused) as twice:
        alerts.acknowledge(alert, by=cast.physician, actor=ACTOR)
    assert not twice.value.forbidden
    assert AuditEvent.objects.filter(object_type="safety_alert", action="update").count() == 1


def test_the_medical_director_may_acknowledge_any_alert(cast: Any) -> None:
    from conftest import make_user

    director = make_user("dr.director", cast.clinic, "physician")
    director.medical_director = True
    director.save(update_fields=["medical_director"])
    alert = Alert.objects.get(event=report(cast, signed(cast), effect="infection"))
    alerts.acknowledge(alert, by=director, actor=ACTOR)
    assert Alert.objects.get().acknowledged_by == director


def test_an_unacknowledged_alert_escalates_to_the_manager_on_time(cast: Any) -> None:
    cast.manager.email = "manager@example.org"
    cast.manager.save(update_fields=["email"])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        alert = Alert.objects.get(event=report(cast, signed(cast), effect="infection"))
    assert alerts.escalate_due(start + timedelta(hours=3, minutes=59)) == 0
    assert alerts.escalate_due(start + timedelta(hours=4)) == 1
    alert.refresh_from_db()
    assert alert.escalated_at == start + timedelta(hours=4)
    assert set(alert.recipients.all()) == {cast.physician, cast.manager}
    mail = OutboundMessage.objects.get(kind="safety_alert", recipient="manager@example.org")
    assert mail.context["escalated"] == "yes"
    assert alerts.escalate_due(start + timedelta(hours=9)) == 0  # once only
    # The manager may now acknowledge it.
    alerts.acknowledge(alert, by=cast.manager, actor=ACTOR)


def test_an_acknowledged_alert_never_escalates_and_the_clinic_sets_the_time(cast: Any) -> None:
    SafetySettings.objects.create(clinic=cast.clinic, ack_hours=1)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = Alert.objects.get(event=report(cast, signed(cast), effect="infection"))
    assert first.ack_due_at == start + timedelta(hours=1)
    alerts.acknowledge(first, by=cast.physician, actor=ACTOR, now=start + timedelta(minutes=30))
    assert alerts.escalate_due(start + timedelta(hours=2)) == 0
    assert Alert.objects.get().escalated_at is None


@pytest.mark.django_db(transaction=True)
def test_the_worker_escalates_through_its_sweep(cast: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        report(cast, signed(cast), effect="infection")
    with time_machine.travel(start + timedelta(hours=5)):
        call_command("worker", "--once", stdout=open("/dev/null", "w"))  # noqa: SIM115
    alert = Alert.objects.get()
    assert alert.escalated_at is not None
    assert cast.manager in alert.recipients.all()


def _next(session: Any) -> Ready:
    """The same plan and lot again: the patient's next session."""
    return Ready(plan=session.plan, ha_lot=session.components.get().lot, patient=session.patient)


def _blocked_codes(cast: Any, session: Any) -> list[str]:
    with pytest.raises(SessionNotReady) as blocked:
        started(cast, _next(session))
    return [b.code for b in blocked.value.outcome.blocking]


def test_a_moderate_event_holds_the_next_session_until_a_physician_clears_it(cast: Any) -> None:
    session = signed(cast)
    event = report(cast, session, effect="rash", severity="moderate")
    assert _blocked_codes(cast, session) == ["ADVERSE_EVENT_HOLD"]
    with pytest.raises(SafetyRefused) as no_note:
        actions.clear_hold(event=event, note="  ", by=cast.physician, actor=ACTOR)
    assert no_note.value.field == "note"
    assert AdverseEvent.objects.get().holds
    actions.clear_hold(event=event, note="Seen: rash fading, fine to go on", by=cast.physician, actor=ACTOR)
    event.refresh_from_db()
    assert event.hold_cleared_by == cast.physician
    assert event.is_open  # the event itself stays open until its outcome is known
    again = started(cast, _next(session))
    assert again.session_number == 2


def test_a_mild_event_holds_nothing_and_a_reopened_event_holds_again(cast: Any) -> None:
    session = signed(cast)
    mild = report(cast, session, effect="bruising", severity="mild")
    data = precheck.build_input(clinic=cast.clinic, patient=cast.patient, plan=None, performer=cast.physician,
                                lots=[])
    assert data["open_adverse_events"] == [{"severity": "mild", "cleared": False,
                                            "id": str(mild.public_id)[:8], "code": "bruising"}]
    moderate = report(cast, session, effect="rash", severity="moderate")
    actions.update_event(event=moderate, spec=EventSpec(
        effect="rash", onset=moderate.onset, severity="moderate", sessions=[session.public_id],
        outcome="recovered", resolved_on=moderate.onset), by=cast.physician, actor=ACTOR)
    with pytest.raises(SafetyRefused):
        actions.reopen_event(event=moderate, reason="", by=cast.physician, actor=ACTOR)
    actions.close_event(event=moderate, by=cast.physician, actor=ACTOR)
    with pytest.raises(SafetyRefused) as closed:
        actions.update_event(event=moderate, spec=EventSpec(effect="rash", onset=moderate.onset,
                                                            severity="mild", sessions=[session.public_id]),
                             by=cast.physician, actor=ACTOR)
    assert closed.value.field == "status"
    assert not AdverseEvent.objects.get(pk=moderate.pk).holds
    actions.reopen_event(event=moderate, reason="Rash is back", by=cast.physician, actor=ACTOR)
    moderate.refresh_from_db()
    assert moderate.holds
    assert moderate.entries.last().note == "Rash is back"  # type: ignore[union-attr]
    assert _blocked_codes(cast, session) == ["ADVERSE_EVENT_HOLD"]


def test_closing_needs_an_outcome(cast: Any) -> None:
    event = report(cast, signed(cast))
    with pytest.raises(SafetyRefused) as refused:
        actions.close_event(event=event, by=cast.physician, actor=ACTOR)
    assert refused.value.field == "outcome"
    assert AdverseEvent.objects.get().is_open
