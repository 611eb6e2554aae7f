"""Check-ins after each session: on the clinic's calendar, across daylight saving; a yes opens an event."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting.tests.helpers import ACTOR
from mesoclinic.safety import actions
from mesoclinic.safety.actions import CheckInAnswer, SafetyRefused
from mesoclinic.safety.models import Alert, CheckIn, SafetySettings
from mesoclinic.safety.surveillance import checkin_days, local_date, missed
from mesoclinic.safety.tests.helpers import signed

BERLIN = ZoneInfo("Europe/Berlin")
NO = dict.fromkeys(CheckIn.QUESTIONS, False)


def test_check_in_days_count_calendar_days_across_the_spring_change() -> None:
    # 23:30 on Saturday 27 March 2027 in Berlin; the clocks go forward that night. Seven times 24 h
    # later is already Sunday 4 April, but the patient's check-in is a week later by the calendar.
    evening = datetime(2027, 3, 27, 23, 30, tzinfo=BERLIN)
    assert checkin_days(evening, "Europe/Berlin", [1, 3, 6, 12]) == [
        (1, date(2027, 4, 3)), (3, date(2027, 4, 17)), (6, date(2027, 5, 8)), (12, date(2027, 6, 19))]


def test_a_session_after_midnight_counts_from_its_local_day() -> None:
    # 00:30 local is still the previous day in UTC.
    night = datetime(2027, 3, 28, 0, 30, tzinfo=BERLIN)
    assert night.astimezone(ZoneInfo("UTC")).date() == date(2027, 3, 27)
    assert checkin_days(night, BERLIN, [1]) == [(1, date(2027, 4, 4))]
    autumn = datetime(2027, 10, 30, 23, 45, tzinfo=BERLIN)  # the clocks go back that night
    assert checkin_days(autumn, BERLIN, [1]) == [(1, date(2027, 11, 6))]


def test_missed_after_the_grace_days() -> None:
    due = date(2027, 4, 3)
    assert not missed(due, date(2027, 4, 6))
    assert missed(due, date(2027, 4, 7))
    with pytest.raises(ValueError, match="aware"):
        local_date(datetime(2027, 1, 1, 10, 0), BERLIN)  # noqa: DTZ001 (the naive moment is the point)


def test_signing_a_session_books_its_check_ins_on_the_clinic_calendar(cast: Any) -> None:
    cast.clinic.timezone = "Europe/Berlin"
    cast.clinic.save(update_fields=["timezone"])
    with time_machine.travel(datetime(2027, 3, 27, 23, 30, tzinfo=BERLIN), tick=True):
        session = signed(cast)
    rows = list(CheckIn.objects.filter(session=session).values_list("week", "due_on", "status"))
    assert rows == [(1, date(2027, 4, 3), "due"), (3, date(2027, 4, 17), "due"),
                    (6, date(2027, 5, 8), "due"), (12, date(2027, 6, 19), "due")]


def test_the_clinic_chooses_its_check_in_weeks(cast: Any) -> None:
    actions.save_settings(clinic=cast.clinic, ack_hours=2, checkin_weeks=[2, 8], actor=ACTOR)
    session = signed(cast)
    day = local_date(session.started_at, cast.clinic.timezone)
    assert list(CheckIn.objects.values_list("week", "due_on")) == [
        (2, day + timedelta(weeks=2)), (8, day + timedelta(weeks=8))]
    for weeks in ([], [3, 1], [0], [27], [1, 1], "1,2"):
        with pytest.raises(SafetyRefused) as refused:
            actions.save_settings(clinic=cast.clinic, ack_hours=2, checkin_weeks=weeks, actor=ACTOR)  # type: ignore[arg-type]
        assert refused.value.field == "checkin_weeks"
    with pytest.raises(SafetyRefused):
        actions.save_settings(clinic=cast.clinic, ack_hours=0, checkin_weeks=[1], actor=ACTOR)
    assert SafetySettings.objects.get().checkin_weeks == [2, 8]


def test_a_patient_not_reached_stays_on_the_list(cast: Any) -> None:
    signed(cast)
    checkin = CheckIn.objects.get(week=1)
    done = actions.record_checkin(checkin=checkin, answer=CheckInAnswer(reached=False, note="voicemail"),
                                  by=cast.nurse, actor=ACTOR)
    assert (done.status, done.attempts, done.note) == ("due", 1, "voicemail")


def test_a_clear_answer_closes_the_check_in(cast: Any) -> None:
    signed(cast)
    checkin = CheckIn.objects.get(week=1)
    done = actions.record_checkin(checkin=checkin, answer=CheckInAnswer(reached=True, answers=NO),
                                  by=cast.nurse, actor=ACTOR)
    assert done.status == "done"
    assert done.answered_by == cast.nurse
    assert done.event is None
    assert not Alert.objects.exists()
    with pytest.raises(SafetyRefused):
        actions.record_checkin(checkin=checkin, answer=CheckInAnswer(reached=True, answers=NO),
                               by=cast.nurse, actor=ACTOR)
    assert AuditEvent.objects.filter(object_type="check_in").count() == 1


def test_a_yes_opens_a_suspected_infection_with_its_alert_and_hold(cast: Any) -> None:
    session = signed(cast)
    checkin = CheckIn.objects.get(week=3)
    done = actions.record_checkin(
        checkin=checkin, answer=CheckInAnswer(reached=True, answers={**NO, "lumps": True, "pain": True}),
        by=cast.nurse, actor=ACTOR)
    event = done.event
    assert event is not None
    assert (event.effect, event.infection, event.severity, event.source) == (
        "infection", "suspected", "moderate", "check_in")
    assert list(event.sessions.all()) == [session]
    assert "lumps, pain" in event.description
    assert event.holds
    assert Alert.objects.get(event=event).reason == "infection"


def test_unanswered_questions_are_refused(cast: Any) -> None:
    signed(cast)
    checkin = CheckIn.objects.get(week=1)
    with pytest.raises(SafetyRefused) as refused:
        actions.record_checkin(checkin=checkin, answer=CheckInAnswer(reached=True, answers={"redness": True}),
                               by=cast.nurse, actor=ACTOR)
    assert refused.value.field == "swelling"
    assert CheckIn.objects.get(pk=checkin.pk).status == "due"
