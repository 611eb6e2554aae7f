"""Booking, moving and cancelling, and the database's refusal of every double booking."""

from __future__ import annotations

import itertools
from datetime import time, timedelta
from typing import Any

import pytest
from conftest import make_patient
from django.db import IntegrityError, transaction

from mesoclinic.audit.models import AuditEvent
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.scheduling import actions, planner, series
from mesoclinic.scheduling.actions import BookingRefused, Slot
from mesoclinic.scheduling.models import Appointment, Room
from mesoclinic.scheduling.tests.helpers import ACTOR, accepted_plan, furnish, local, next_monday

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(cast):
    return furnish(cast)


def _slot(cast: Any, clinic: Any, day: Any, hour: int, minute: int = 0, minutes: int = 30,
          who: Any = None, room: int | None = 0, **extra: Any) -> Slot:
    start = local(cast, day, hour, minute)
    return Slot(starts_at=start, ends_at=start + timedelta(minutes=minutes),
                practitioner=who or cast.physician, room=clinic["rooms"][room] if room is not None else None,
                **extra)


def _book(cast: Any, slot: Slot, kind: str = "consultation", patient: Any = None,
          **extra: Any) -> Appointment:
    return actions.book(clinic=cast.clinic, patient=patient or cast.patient, kind=kind, slot=slot,
                        by=cast.receptionist, actor=ACTOR, **extra)


def test_a_consultation_inside_working_hours_is_booked_audited_and_reminded(cast, clinic):
    day = next_monday()
    appointment = _book(cast, _slot(cast, clinic, day, 10), kind="allergy_test")
    assert appointment.status == "booked"
    event = AuditEvent.objects.get(object_type="appointment", object_id=str(appointment.public_id))
    assert event.patient_id == str(cast.patient.public_id)
    assert event.action == "create"
    reminders = OutboundMessage.objects.filter(ref=appointment.ref)
    # The cast's patient has a phone and no email: one SMS, the day before the test.
    assert [(m.kind, m.channel, m.status) for m in reminders] == [("allergy_test", "sms", "due")]
    assert reminders[0].due_at < appointment.starts_at - timedelta(hours=12)


@pytest.mark.parametrize(("hour", "minute"), [(7, 30), (12, 15), (17, 45)])
def test_outside_working_hours_or_in_the_lunch_break_is_refused_naming_the_time(cast, clinic, hour, minute):
    with pytest.raises(BookingRefused) as refused:
        _book(cast, _slot(cast, clinic, next_monday(), hour, minute))
    assert refused.value.field == "starts_at"
    assert "does not work then" in refused.value.message
    assert not Appointment.objects.exists()


def test_a_weekend_is_outside_the_hours(cast, clinic):
    with pytest.raises(BookingRefused, match="does not work then"):
        _book(cast, _slot(cast, clinic, next_monday() + timedelta(days=5), 10))


def test_a_room_of_another_clinic_is_refused(cast, clinic):
    elsewhere = Room.objects.create(clinic=cast.sister, name="Berlin 1")
    start = local(cast, next_monday(), 10)
    slot = Slot(starts_at=start, ends_at=start + timedelta(minutes=30), practitioner=cast.physician,
                room=elsewhere)
    with pytest.raises(BookingRefused) as refused:
        _book(cast, slot)
    assert refused.value.field == "room"
    assert not Appointment.objects.exists()


def test_a_practitioner_of_another_clinic_or_a_receptionist_is_refused(cast, clinic):
    for who in (cast.sister_physician, cast.receptionist):
        with pytest.raises(BookingRefused) as refused:
            _book(cast, _slot(cast, clinic, next_monday(), 10, who=who))
        assert refused.value.field == "practitioner"


def test_an_end_before_the_start_and_a_naive_time_are_refused(cast, clinic):
    start = local(cast, next_monday(), 10)
    with pytest.raises(BookingRefused) as refused:
        _book(cast, Slot(starts_at=start, ends_at=start - timedelta(minutes=5), practitioner=cast.physician))
    assert refused.value.field == "ends_at"
    with pytest.raises(BookingRefused) as refused:
        _book(cast, Slot(starts_at=start.replace(tzinfo=None), ends_at=start.replace(tzinfo=None) +
                         timedelta(minutes=30), practitioner=cast.physician))
    assert refused.value.field == "starts_at"
    assert not Appointment.objects.exists()


def test_leave_blocks_booking(cast, clinic):
    day = next_monday()
    actions.add_leave(clinic=cast.clinic, practitioner=cast.physician, starts_at=local(cast, day, 0),
                      ends_at=local(cast, day + timedelta(days=1), 0), reason="Congress", actor=ACTOR)
    with pytest.raises(BookingRefused, match="on leave"):
        _book(cast, _slot(cast, clinic, day, 10))


def test_a_treatment_session_needs_an_accepted_plan(cast, clinic):
    with pytest.raises(BookingRefused) as refused:
        _book(cast, _slot(cast, clinic, next_monday(), 10), kind="treatment")
    assert refused.value.field == "plan"


@pytest.mark.parametrize("clash", ["practitioner", "room", "patient"])
def test_a_double_booking_is_refused_with_the_resource_named(cast, clinic, clash):
    day = next_monday()
    _book(cast, _slot(cast, clinic, day, 10))
    other = make_patient(cast.clinic, "Can", "Öz")
    variants: dict[str, dict[str, Any]] = {
        "practitioner": {"slot": _slot(cast, clinic, day, 10, 15, room=1), "patient": other},
        "room": {"slot": _slot(cast, clinic, day, 10, 15, who=cast.nurse), "patient": other},
        "patient": {"slot": _slot(cast, clinic, day, 10, 15, who=cast.nurse, room=1)},
    }
    with pytest.raises(BookingRefused) as refused:
        _book(cast, **variants[clash])
    assert refused.value.field == clash
    assert Appointment.objects.count() == 1


def test_back_to_back_is_not_an_overlap_and_a_cancelled_slot_is_free(cast, clinic):
    day = next_monday()
    first = _book(cast, _slot(cast, clinic, day, 10))
    other = make_patient(cast.clinic, "Can", "Öz")
    _book(cast, _slot(cast, clinic, day, 10, 30), patient=other)
    actions.cancel(first, reason="Patient ill", by=cast.receptionist, actor=ACTOR)
    again = _book(cast, _slot(cast, clinic, day, 10))
    assert again.status == "booked"
    assert OutboundMessage.objects.filter(ref=first.ref).exclude(status="cancelled").count() == 0


def test_the_database_itself_refuses_an_overlap_written_past_the_actions(cast, clinic):
    day = next_monday()
    first = _book(cast, _slot(cast, clinic, day, 10))
    with pytest.raises(IntegrityError, match="appointment_practitioner_free"), transaction.atomic():
        Appointment.objects.create(
            clinic=cast.clinic, patient=make_patient(cast.clinic, "Ece", "Ak"), kind="checkup",
            practitioner=cast.physician,
            starts_at=first.starts_at + timedelta(minutes=10), ends_at=first.ends_at + timedelta(minutes=10),
            created_by=cast.physician)
    # Moving another appointment onto it (an UPDATE) is refused too.
    later = _book(cast, _slot(cast, clinic, day, 11, who=cast.nurse, room=1),
                  patient=make_patient(cast.clinic, "Can", "Öz"))
    with pytest.raises(IntegrityError, match="appointment_room_free"), transaction.atomic():
        Appointment.objects.filter(pk=later.pk).update(room=clinic["rooms"][0], starts_at=first.starts_at,
                                                       ends_at=first.ends_at)


def test_the_patient_is_busy_from_the_cream_on(cast, clinic):
    day = next_monday()
    start = local(cast, day, 10)
    _book(cast, Slot(starts_at=start, ends_at=start + timedelta(minutes=30), practitioner=cast.physician,
                     room=clinic["rooms"][0], prep_starts_at=start - timedelta(minutes=35)))
    # The practitioner and the room are free during the cream; the patient is not.
    with pytest.raises(BookingRefused) as refused:
        _book(cast, _slot(cast, clinic, day, 9, 30, who=cast.nurse, room=1))
    assert refused.value.field == "patient"


def _propose(cast: Any, plan: Any, day: Any, **form: Any) -> tuple[planner.SeriesProposal, Any]:
    availability = tuple(planner.Weekly(w, 9 * 60, 17 * 60) for w in range(5))
    request, calendar = series.build_request(plan, not_before=local(cast, day, 8),
                                             availability=availability, **form)
    return planner.plan_series(request), calendar


def test_a_whole_series_is_proposed_within_its_windows_and_booked_in_one_step(cast, clinic):
    plan = accepted_plan(cast)  # face rejuvenation: weekly sessions
    day = next_monday()
    proposal, calendar = _propose(cast, plan, day, preferred=cast.physician)
    assert not proposal.unplaced
    assert len(proposal.sessions) == plan.current.sessions
    booked = actions.book_series(plan=plan, sessions=proposal.sessions, calendar=calendar,
                                 by=cast.receptionist, actor=ACTOR)
    assert [a.series_index for a in booked] == list(range(1, plan.current.sessions + 1))
    days = [a.starts_at.date() for a in booked]
    gaps = {(b - a).days for a, b in itertools.pairwise(days)}
    assert gaps <= {6, 7, 8}  # weekly ± a day
    assert {a.practitioner for a in booked} == {cast.physician}
    first_reminders = {m.kind for m in OutboundMessage.objects.filter(ref=booked[0].ref)}
    assert first_reminders == {"nsaid_stop", "session_preparation"}


def test_a_series_is_all_or_nothing(cast, clinic):
    plan = accepted_plan(cast)
    day = next_monday()
    proposal, calendar = _propose(cast, plan, day, preferred=cast.physician)
    third = proposal.sessions[2]
    # Someone books the third session's practitioner meanwhile.
    other = make_patient(cast.clinic, "Can", "Öz")
    _book(cast, Slot(starts_at=third.start, ends_at=third.end, practitioner=cast.physician,
                     room=clinic["rooms"][1]), patient=other)
    with pytest.raises(BookingRefused) as refused:
        actions.book_series(plan=plan, sessions=proposal.sessions, calendar=calendar,
                            by=cast.receptionist, actor=ACTOR)
    assert "Session 3" in refused.value.message
    assert refused.value.field == "practitioner"
    assert not Appointment.objects.filter(plan=plan).exists()
    assert not OutboundMessage.objects.filter(ref__in=[]).exists()


def _series(cast: Any, clinic: Any, **plan_values: Any) -> tuple[Any, list[Appointment]]:
    plan = accepted_plan(cast, **plan_values)
    proposal, calendar = _propose(cast, plan, next_monday(), preferred=cast.physician)
    return plan, actions.book_series(plan=plan, sessions=proposal.sessions, calendar=calendar,
                                     by=cast.receptionist, actor=ACTOR)


def test_moving_a_session_within_its_window_offers_to_shift_the_rest(cast, clinic):
    plan, booked = _series(cast, clinic)
    second = booked[1]
    moved = actions.move(second, starts_at=second.starts_at + timedelta(days=1), by=cast.receptionist,
                         actor=ACTOR, based_on=second.version)
    assert moved.appointment.starts_at == second.starts_at + timedelta(days=1)
    assert moved.rest is not None
    assert not moved.rest.unplaced
    assert len(moved.rest.sessions) == len(booked) - 2
    # Measured again from the moved session, the third lands a week after it.
    assert (moved.rest.sessions[0].start.date() - moved.appointment.starts_at.date()).days in (6, 7, 8)
    assert moved.calendar is not None
    shifted = actions.shift_rest(plan, after=moved.appointment, proposal=moved.rest,
                                 calendar=moved.calendar, by=cast.receptionist, actor=ACTOR)
    assert [a.starts_at for a in shifted] == [s.start for s in moved.rest.sessions]
    assert Appointment.objects.filter(plan=plan, status="booked").count() == len(booked)


def test_moving_a_session_out_of_its_window_is_refused(cast, clinic):
    _plan, booked = _series(cast, clinic)
    second = booked[1]
    with pytest.raises(BookingRefused) as refused:
        actions.move(second, starts_at=second.starts_at + timedelta(days=3), by=cast.receptionist,
                     actor=ACTOR)
    assert refused.value.field == "starts_at"
    assert Appointment.objects.get(pk=second.pk).starts_at == second.starts_at


def test_a_move_that_breaks_the_next_interval_is_made_and_says_so(cast, clinic):
    for weekday in (5, 6):  # this practitioner works weekends too: a day either way is bookable
        actions.set_hours(clinic=cast.clinic, practitioner=cast.physician, weekday=weekday,
                          blocks=[(time(8), time(18))], actor=ACTOR)
    _plan, booked = _series(cast, clinic)
    second, third = booked[1], booked[2]
    # The third drifts a day later (still 8 days after the second), then the second a day earlier:
    # the second keeps its own window, but the third is now 9 days after it.
    actions.move(third, starts_at=third.starts_at + timedelta(days=1), by=cast.receptionist, actor=ACTOR)
    moved = actions.move(second, starts_at=second.starts_at - timedelta(days=1), by=cast.receptionist,
                         actor=ACTOR)
    assert moved.follow_problems
    assert moved.rest is not None
    assert moved.rest.sessions
    assert (moved.rest.sessions[0].start.date() - moved.appointment.starts_at.date()).days in (6, 7, 8)


def test_a_stale_move_is_refused(cast, clinic):
    appointment = _book(cast, _slot(cast, clinic, next_monday(), 10))
    actions.move(appointment, starts_at=appointment.starts_at + timedelta(hours=1), by=cast.receptionist,
                 actor=ACTOR, based_on=1)
    with pytest.raises(BookingRefused) as refused:
        actions.move(appointment, starts_at=appointment.starts_at + timedelta(hours=2),
                     by=cast.receptionist, actor=ACTOR, based_on=1)
    assert refused.value.field == "version"


def test_moving_moves_the_reminders_and_cancelling_cancels_them(cast, clinic):
    _plan, booked = _series(cast, clinic)
    second = booked[1]
    before = OutboundMessage.objects.get(ref=second.ref, kind="session_preparation")
    actions.move(second, starts_at=second.starts_at + timedelta(days=1), by=cast.receptionist, actor=ACTOR)
    after = OutboundMessage.objects.get(ref=second.ref, kind="session_preparation")
    assert after.due_at == before.due_at + timedelta(days=1)
    actions.cancel(second, reason="Travelling", by=cast.receptionist, actor=ACTOR)
    statuses = set(OutboundMessage.objects.filter(ref=second.ref).values_list("status", flat=True))
    assert statuses == {"cancelled"}


def test_cancelling_needs_a_reason_and_happens_once(cast, clinic):
    appointment = _book(cast, _slot(cast, clinic, next_monday(), 10))
    with pytest.raises(BookingRefused) as refused:
        actions.cancel(appointment, reason="  ", by=cast.receptionist, actor=ACTOR)
    assert refused.value.field == "reason"
    actions.cancel(appointment, reason="Ill", by=cast.receptionist, actor=ACTOR)
    with pytest.raises(BookingRefused):
        actions.cancel(appointment, reason="Ill", by=cast.receptionist, actor=ACTOR)


def test_a_needle_free_plan_books_the_ultrasound_device(cast, clinic):
    _plan, booked = _series(cast, clinic, delivery="needle_free")
    assert {a.device for a in booked} == {clinic["device"]}


def test_a_cream_plan_books_a_preparation_block_before_each_session(cast, clinic):
    _plan, booked = _series(cast, clinic, cream="lidocaine_tetracaine_cream")
    preps = [a.prep_starts_at for a in booked]
    assert None not in preps
    assert all(a.starts_at - p == timedelta(minutes=series.PREP_MINUTES)
               for a, p in zip(booked, preps, strict=True) if p is not None)
    tz = local(cast, next_monday(), 0).tzinfo
    assert all(p.astimezone(tz).time() >= time(9) for p in preps if p is not None)


def test_working_hours_with_overlapping_blocks_or_an_end_before_start_are_refused(cast, clinic):
    with pytest.raises(BookingRefused) as refused:
        actions.set_hours(clinic=cast.clinic, practitioner=cast.physician, weekday=0,
                          blocks=[(time(9), time(8))], actor=ACTOR)
    assert refused.value.field == "hours"
    with pytest.raises(BookingRefused):
        actions.set_hours(clinic=cast.clinic, practitioner=cast.physician, weekday=0,
                          blocks=[(time(8), time(12)), (time(11), time(15))], actor=ACTOR)
    with pytest.raises(BookingRefused) as refused:
        actions.set_hours(clinic=cast.clinic, practitioner=cast.physician, weekday=7,
                          blocks=[(time(8), time(12))], actor=ACTOR)
    assert refused.value.field == "weekday"
