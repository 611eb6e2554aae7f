"""The series planner, without a database: where each session lands, and why one does not."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mesoclinic.scheduling import planner
from mesoclinic.scheduling.planner import (
    Code,
    Device,
    Follows,
    Phase,
    Practitioner,
    Room,
    SeriesRequest,
    Weekly,
    check_move,
    plan_series,
    session_window,
)

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2027, 3, 1)  # a Monday


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BERLIN)


def weekdays(start: str, end: str, days: range = range(5)) -> tuple[Weekly, ...]:
    def minute(text: str) -> int:
        h, m = text.split(":")
        return int(h) * 60 + int(m)
    return tuple(Weekly(d, minute(start), minute(end)) for d in days)


def request(**changes: Any) -> SeriesRequest:
    base = SeriesRequest(
        timezone=BERLIN, not_before=at(MONDAY, 8), phases=(Phase(6, 7, 1),), session_minutes=30,
        patient_availability=weekdays("09:00", "13:00"),
        practitioners=(Practitioner("dr-a", weekdays("08:00", "17:00")),
                       Practitioner("dr-b", weekdays("08:00", "17:00"))),
        rooms=(Room("room-1"), Room("room-2")))
    return replace(base, **changes)


def starts(proposal: planner.SeriesProposal) -> list[datetime]:
    return [s.start for s in proposal.sessions]


def test_a_weekly_series_lands_every_seven_days_at_the_same_local_time():
    proposal = plan_series(request())
    assert starts(proposal) == [at(MONDAY + timedelta(weeks=k), 9) for k in range(6)]
    assert [s.index for s in proposal.sessions] == [1, 2, 3, 4, 5, 6]
    assert {s.practitioner for s in proposal.sessions} == {"dr-a"}
    assert {s.room for s in proposal.sessions} == {"room-1"}
    assert proposal.unplaced == ()
    first = proposal.sessions[0]
    assert (first.end, first.prep_start, first.device) == (at(MONDAY, 9, 30), None, None)


def test_the_preparation_must_fit_in_the_patients_availability_too():
    first = plan_series(request(prep_minutes=30)).sessions[0]
    assert (first.prep_start, first.start, first.end) == (at(MONDAY, 9), at(MONDAY, 9, 30), at(MONDAY, 10))


def test_the_practitioner_is_not_needed_during_the_preparation():
    busy = ((at(MONDAY, 9), at(MONDAY, 9, 30)),)
    only = (Practitioner("dr-a", weekdays("08:00", "17:00"), busy),)
    first = plan_series(request(prep_minutes=30, practitioners=only)).sessions[0]
    assert (first.prep_start, first.start) == (at(MONDAY, 9), at(MONDAY, 9, 30))


def test_a_busy_practitioner_pushes_the_session_to_the_next_free_slot():
    busy = ((at(MONDAY, 8, 30), at(MONDAY, 10, 10)),)
    only = (Practitioner("dr-a", weekdays("08:00", "17:00"), busy),)
    # Busy until 10:10: the session may start at 10:10 exactly (half-open intervals).
    assert starts(plan_series(request(practitioners=only)))[0] == at(MONDAY, 10, 10)


def test_a_practitioner_busy_all_morning_moves_a_later_session_to_a_day_within_tolerance():
    second = MONDAY + timedelta(weeks=1)
    busy = ((at(second, 0), at(second, 23)),)
    only = (Practitioner("dr-a", weekdays("08:00", "17:00"), busy),)
    proposal = plan_series(request(practitioners=only, phases=(Phase(3, 7, 1),)))
    # The target Monday is taken; Sunday (one day early) has no availability, so Tuesday it is,
    # at session 1's time of day; session 3 is measured from Tuesday.
    assert starts(proposal) == [at(MONDAY, 9), at(second + timedelta(days=1), 9),
                                at(second + timedelta(days=8), 9)]


def test_the_preferred_practitioner_is_chosen_even_when_another_is_free_earlier():
    busy = ((at(MONDAY, 9), at(MONDAY, 11)),)
    team = (Practitioner("dr-a", weekdays("08:00", "17:00")),
            Practitioner("dr-b", weekdays("08:00", "17:00"), busy))
    proposal = plan_series(request(practitioners=team, preferred_practitioner="dr-b"))
    assert proposal.sessions[0].practitioner == "dr-b"
    assert proposal.sessions[0].start == at(MONDAY, 11)
    assert {s.practitioner for s in proposal.sessions} == {"dr-b"}


def test_the_previous_practitioner_is_kept_over_a_day_closer_to_the_target():
    second = MONDAY + timedelta(weeks=1)
    busy = ((at(second, 0), at(second, 23)),)
    team = (Practitioner("dr-a", weekdays("08:00", "17:00"), busy),
            Practitioner("dr-b", weekdays("08:00", "17:00")))
    proposal = plan_series(request(practitioners=team, phases=(Phase(2, 7, 1),)))
    assert [(s.start, s.practitioner) for s in proposal.sessions] == [
        (at(MONDAY, 9), "dr-a"), (at(second + timedelta(days=1), 9), "dr-a")]


def test_the_room_of_the_previous_session_is_kept():
    # Session 1 finds room-1 taken, so room-2; on later days both are free, and room-2 stays.
    rooms = (Room("room-1", ((at(MONDAY, 8), at(MONDAY, 12)),)), Room("room-2"))
    proposal = plan_series(request(rooms=rooms))
    assert [s.room for s in proposal.sessions] == ["room-2"] * 6


def test_a_required_device_that_is_busy_moves_the_session():
    devices = (Device("us-1", "ultrasound", ((at(MONDAY, 9), at(MONDAY, 12)),)),
               Device("laser-1", "laser"))
    proposal = plan_series(request(requires_device="ultrasound", devices=devices))
    first = proposal.sessions[0]
    assert (first.start, first.device) == (at(MONDAY, 12), "us-1")
    assert {s.device for s in proposal.sessions} == {"us-1"}


def test_the_previous_device_is_kept_when_two_are_free():
    devices = (Device("us-1", "ultrasound", ((at(MONDAY, 8), at(MONDAY, 12)),)),
               Device("us-2", "ultrasound"))
    proposal = plan_series(request(requires_device="ultrasound", devices=devices))
    assert [s.device for s in proposal.sessions] == ["us-2"] * 6


def test_the_patients_busy_times_are_respected_with_the_preparation():
    busy = ((at(MONDAY, 8), at(MONDAY, 10)),)
    first = plan_series(request(prep_minutes=30, patient_busy=busy)).sessions[0]
    assert (first.prep_start, first.start) == (at(MONDAY, 10), at(MONDAY, 10, 30))


def test_touching_intervals_do_not_overlap():
    busy = ((at(MONDAY, 8), at(MONDAY, 9, 30)),)
    only = (Practitioner("dr-a", weekdays("08:00", "17:00"), busy),)
    first = plan_series(request(practitioners=only, patient_busy=((at(MONDAY, 9), at(MONDAY, 9, 30)),)))
    assert first.sessions[0].start == at(MONDAY, 9, 30)


def test_a_session_may_end_exactly_when_a_booking_begins():
    busy = ((at(MONDAY, 9, 30), at(MONDAY, 12)),)
    for changes in ({"practitioners": (Practitioner("dr-a", weekdays("08:00", "17:00"), busy),)},
                    {"rooms": (Room("room-1", busy),)}, {"patient_busy": busy}):
        first = plan_series(request(**changes)).sessions[0]
        assert (first.start, first.end) == (at(MONDAY, 9), at(MONDAY, 9, 30))


def test_not_before_bounds_the_first_start():
    proposal = plan_series(request(not_before=at(MONDAY, 11, 2)))
    assert proposal.sessions[0].start == at(MONDAY, 11, 5)  # the next grid slot


@pytest.mark.parametrize(("changes", "code", "reason"), [
    ({"rooms": ()}, Code.NO_ROOMS, "no rooms"),
    ({"practitioners": ()}, Code.NO_PRACTITIONERS, "no practitioners"),
    ({"requires_device": "ultrasound", "devices": (Device("l-1", "laser"),)}, Code.NO_DEVICE_KIND,
     "no device of kind 'ultrasound'"),
    ({"patient_availability": ()}, Code.NO_PATIENT_AVAILABILITY, "the patient has no availability"),
])
def test_a_missing_resource_leaves_every_session_unplaced_with_the_reason(changes, code, reason):
    proposal = plan_series(request(**changes))
    assert proposal.sessions == ()
    assert proposal.unplaced == tuple(planner.Unplaced(i, code, reason) for i in range(1, 7))


def test_a_full_window_names_the_window_and_the_bottleneck_and_later_sessions_go_on_from_the_last_placed():
    # Monday 8 and Tuesday 9 March are fully booked for both practitioners (Sunday 7 the patient is
    # not available): session 2 cannot be placed. Session 3 is measured from the last placed
    # session, session 1, with its own interval, so it is due 7–9 March too, and unplaced as well.
    week = MONDAY + timedelta(weeks=1)
    busy = ((at(week, 0), at(week + timedelta(days=2), 0)),)
    team = tuple(Practitioner(p, weekdays("08:00", "17:00"), busy) for p in ("dr-a", "dr-b"))
    proposal = plan_series(request(practitioners=team, phases=(Phase(3, 7, 1),)))
    assert starts(proposal) == [at(MONDAY, 9)]
    assert [u.index for u in proposal.unplaced] == [2, 3]
    second = proposal.unplaced[0]
    assert second.code == Code.PRACTITIONERS_BUSY
    assert second.reason == (
        "no time between 2027-03-07 and 2027-03-09 (7 ± 1 days after session 1 on 2027-03-01) when "
        "the patient, a practitioner and a room are all free: the patient is free then, but every "
        "practitioner working at those times is already booked")


def test_a_session_after_an_unplaced_one_is_measured_from_the_last_placed_session():
    # Phase 2's interval (14 ± 2) counted from session 1 reaches past the blocked week.
    week = MONDAY + timedelta(weeks=1)
    busy = ((at(week, 0), at(week + timedelta(days=2), 0)),)
    team = (Practitioner("dr-a", weekdays("08:00", "17:00"), busy),)
    proposal = plan_series(request(practitioners=team, phases=(Phase(2, 7, 1), Phase(1, 14, 2))))
    assert [u.index for u in proposal.unplaced] == [2]
    assert starts(proposal) == [at(MONDAY, 9), at(MONDAY + timedelta(days=14), 9)]
    assert [s.index for s in proposal.sessions] == [1, 3]


def test_no_practitioner_working_when_the_patient_is_free_is_named():
    team = (Practitioner("dr-a", weekdays("14:00", "18:00")),)
    proposal = plan_series(request(practitioners=team))
    assert proposal.sessions == ()
    assert proposal.unplaced[0].code == Code.NO_PRACTITIONER_HOURS
    assert proposal.unplaced[0].reason == (
        "no free time within 90 days from 2027-03-01: the patient is free then, but no practitioner "
        "works at those times")
    assert {u.code for u in proposal.unplaced[1:]} == {Code.FIRST_SESSION_UNPLACED}
    assert proposal.unplaced[1].reason.startswith("session 1 could not be placed")


def test_a_busy_device_is_named_as_the_bottleneck():
    busy = ((at(MONDAY, 0), at(MONDAY + timedelta(days=200), 0)),)
    devices = (Device("us-1", "ultrasound", busy),)
    proposal = plan_series(request(requires_device="ultrasound", devices=devices))
    assert proposal.unplaced[0].code == Code.DEVICES_BUSY
    assert "no 'ultrasound' device is" in proposal.unplaced[0].reason


def test_a_busy_room_is_named_as_the_bottleneck():
    busy = ((at(MONDAY, 0), at(MONDAY + timedelta(days=200), 0)),)
    proposal = plan_series(request(rooms=(Room("room-1", busy),)))
    assert proposal.unplaced[0].code == Code.ROOMS_BUSY


def test_the_patient_never_free_is_named():
    busy = ((at(MONDAY, 0), at(MONDAY + timedelta(days=200), 0)),)
    proposal = plan_series(request(patient_busy=busy))
    assert proposal.unplaced[0].code == Code.PATIENT_UNAVAILABLE
    assert proposal.unplaced[0].reason.startswith("no free time within 90 days from 2027-03-01: the "
                                                  "patient is not available")


def test_the_first_session_must_start_within_the_horizon():
    # The patient is only free on Sundays; the first Sunday is 7 March, day 7 counting 1 March as 1.
    sunday = (Weekly(6, 9 * 60, 13 * 60),)
    team = (Practitioner("dr-a", weekdays("08:00", "17:00", range(7))),)
    free = request(patient_availability=sunday, practitioners=team, horizon_days=7)
    assert starts(plan_series(free))[0] == at(date(2027, 3, 7), 9)
    short = plan_series(replace(free, horizon_days=6))
    assert short.sessions == ()
    assert short.unplaced[0].reason.startswith("no free time within 6 days from 2027-03-01")


def test_follows_measures_session_one_from_the_held_session_and_keeps_its_practitioner_and_time():
    held = Follows(start=at(MONDAY, 11, 30), practitioner="dr-b", room="room-2")
    proposal = plan_series(request(follows=held, phases=(Phase(2, 14, 2),)))
    assert [(s.start, s.practitioner, s.room) for s in proposal.sessions] == [
        (at(MONDAY + timedelta(days=14), 11, 30), "dr-b", "room-2"),
        (at(MONDAY + timedelta(days=28), 11, 30), "dr-b", "room-2")]


def test_follows_still_respects_not_before():
    held = Follows(start=at(MONDAY, 9))
    proposal = plan_series(request(follows=held, phases=(Phase(1, 7, 2),),
                                   not_before=at(MONDAY + timedelta(days=9), 8)))
    assert starts(proposal) == [at(MONDAY + timedelta(days=9), 9)]
    late = plan_series(request(follows=held, phases=(Phase(1, 7, 2),),
                               not_before=at(MONDAY + timedelta(days=10), 8)))
    assert late.unplaced[0].code == Code.BEFORE_NOT_BEFORE
    assert "ends before not_before" in late.unplaced[0].reason


def test_when_session_one_fails_after_follows_later_ones_are_still_measured_from_follows():
    held = Follows(start=at(MONDAY, 9))
    week = MONDAY + timedelta(weeks=1)
    busy = ((at(week - timedelta(days=1), 0), at(week + timedelta(days=2), 0)),)
    team = (Practitioner("dr-a", weekdays("08:00", "17:00"), busy),)
    proposal = plan_series(request(follows=held, practitioners=team,
                                   phases=(Phase(1, 7, 1), Phase(1, 14, 1))))
    assert [u.index for u in proposal.unplaced] == [1]
    assert "after the session it follows on 2027-03-01" in proposal.unplaced[0].reason
    assert starts(proposal) == [at(MONDAY + timedelta(days=14), 9)]


def test_a_phase_change_measures_the_first_session_of_phase_two_with_its_interval():
    proposal = plan_series(request(phases=(Phase(2, 14, 1), Phase(2, 28, 2))))
    gaps = [(b.start.date() - a.start.date()).days for a, b in pairwise(proposal.sessions)]
    assert gaps == [14, 28, 28]


def test_a_ten_oclock_session_stays_at_ten_local_across_the_clock_change():
    proposal = plan_series(request(not_before=at(date(2027, 3, 15), 10), phases=(Phase(3, 7, 0),),
                                   patient_availability=weekdays("10:00", "12:00")))
    assert [s.start.isoformat() for s in proposal.sessions] == [
        "2027-03-15T10:00:00+01:00", "2027-03-22T10:00:00+01:00", "2027-03-29T10:00:00+02:00"]


def test_the_spring_forward_gap_is_never_used_and_the_fall_back_hour_means_its_first_occurrence():
    sunday = (Weekly(6, 2 * 60, 4 * 60),)
    team = (Practitioner("dr-a", (Weekly(6, 0, 1440),)),)
    spring = plan_series(request(not_before=at(date(2027, 3, 28), 0), patient_availability=sunday,
                                 practitioners=team, phases=(Phase(1, 7),)))
    # 02:00–03:00 does not exist on 28 March 2027; the window's 02:00 (fold 0) is 03:00 CEST.
    assert spring.sessions[0].start.isoformat() == "2027-03-28T03:00:00+02:00"
    autumn = plan_series(request(not_before=at(date(2027, 10, 31), 0), patient_availability=sunday,
                                 practitioners=team, phases=(Phase(1, 7),)))
    assert autumn.sessions[0].start.isoformat() == "2027-10-31T02:00:00+02:00"


def test_sessions_of_one_series_never_overlap_even_with_a_midnight_end():
    team = (Practitioner("dr-a", weekdays("00:00", "24:00", range(7))),)
    proposal = plan_series(request(practitioners=team, rooms=(Room("r"),), session_minutes=60,
                                   patient_availability=weekdays("23:00", "24:00", range(7)),
                                   phases=(Phase(3, 1),)))
    assert [s.end.isoformat() for s in proposal.sessions] == [
        "2027-03-02T00:00:00+01:00", "2027-03-03T00:00:00+01:00", "2027-03-04T00:00:00+01:00"]


def test_session_window_counts_local_calendar_days():
    assert session_window(at(MONDAY, 23, 30), Phase(1, 7, 1), BERLIN) == (date(2027, 3, 7), date(2027, 3, 9))
    # 00:30 on 2 March in Berlin is 23:30 on 1 March in UTC: the local date counts.
    utc = at(date(2027, 3, 2), 0, 30).astimezone(ZoneInfo("UTC"))
    assert session_window(utc, Phase(1, 7, 1), BERLIN) == (date(2027, 3, 8), date(2027, 3, 10))


def test_check_move_accepts_a_move_inside_both_windows():
    assert check_move(at(date(2027, 3, 9), 10), at(MONDAY, 10), at(date(2027, 3, 15), 10),
                      Phase(1, 7, 1), Phase(1, 7, 1), BERLIN) == []


def test_check_move_names_the_moved_sessions_window_and_the_next_sessions():
    problems = check_move(at(date(2027, 3, 11), 10), at(MONDAY, 10), at(date(2027, 3, 15), 10),
                          Phase(1, 7, 1), Phase(1, 7, 1), BERLIN)
    assert problems == [
        "the session on 2027-03-11 is outside its window: it must be between 2027-03-07 and 2027-03-09 "
        "(7 ± 1 days after the previous session on 2027-03-01)",
        "the next session, on 2027-03-15, would be outside its window: it must be between 2027-03-17 "
        "and 2027-03-19 (7 ± 1 days after the moved session on 2027-03-11)"]
    assert check_move(at(date(2027, 3, 11), 10), None, None, None, None, BERLIN) == []


def test_on_the_spring_forward_day_the_nearest_existing_time_to_the_reference_is_chosen():
    # The series runs at 02:30 (winter time); on 28 March 2027 02:00–02:59 does not exist, and
    # 03:00 summer time is the nearest existing wall time (30 minutes off, 01:55 is 35).
    every_day = tuple(Weekly(d, 0, 1440) for d in range(7))
    held = Follows(start=at(date(2027, 3, 21), 2, 30))
    proposal = plan_series(request(
        follows=held, not_before=at(date(2027, 3, 21), 3), phases=(Phase(1, 7),),
        patient_availability=every_day, practitioners=(Practitioner("dr-a", every_day),)))
    assert [s.start.isoformat() for s in proposal.sessions] == ["2027-03-28T03:00:00+02:00"]
