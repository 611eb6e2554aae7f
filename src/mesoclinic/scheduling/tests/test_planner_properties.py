"""Properties of the series planner over random clinics, checked against a brute-force reading of
the rules: every proposed session fits every constraint, is the best-ranked candidate, and every
unplaced session really has no candidate in its window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesoclinic.scheduling.planner import (
    Device,
    Follows,
    Interval,
    Phase,
    PlacedSession,
    Practitioner,
    Room,
    SeriesProposal,
    SeriesRequest,
    Weekly,
    plan_series,
    session_window,
)

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = (BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo"))
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- random requests --------------------------------------------------------------------------------

@st.composite
def weekly(draw: st.DrawFn, at_least: int = 1) -> Weekly:
    start = draw(st.integers(0, 1440 - at_least))
    length = draw(st.integers(at_least, 1440 - start))
    return Weekly(draw(st.integers(0, 6)), start, start + length)


@st.composite
def week(draw: st.DrawFn, at_least: int) -> tuple[Weekly, ...]:
    """Scattered blocks, or one block on most days of the week (where series usually fit)."""
    if draw(st.booleans()):
        return tuple(draw(st.lists(weekly(at_least), min_size=1, max_size=6)))
    block = draw(weekly(at_least))
    days = draw(st.sets(st.integers(0, 6), min_size=4))
    return tuple(Weekly(d, block.start_minute, block.end_minute) for d in sorted(days))


_BUSY = st.lists(st.tuples(st.integers(-2 * 1440, 40 * 1440), st.integers(1, 8 * 60), st.booleans()),
                 max_size=5)


@st.composite
def busy(draw: st.DrawFn, origin: datetime, tz: ZoneInfo) -> tuple[Interval, ...]:
    out = []
    for offset, minutes, in_utc in draw(_BUSY):
        start = origin + timedelta(minutes=offset)
        zone = UTC if in_utc else tz  # busy times may come in any zone
        out.append((start.astimezone(zone), (start + timedelta(minutes=minutes)).astimezone(zone)))
    return tuple(out)


@st.composite
def requests(draw: st.DrawFn) -> SeriesRequest:
    tz = draw(st.sampled_from(ZONES))
    # Around the 2027 clock changes half of the time.
    day = draw(st.one_of(st.dates(date(2027, 1, 1), date(2027, 12, 31)),
                         st.sampled_from((date(2027, 3, 20), date(2027, 3, 26), date(2027, 10, 25),
                                          date(2027, 10, 30), date(2027, 11, 5)))))
    not_before = datetime.combine(day, time(draw(st.integers(0, 23)), draw(st.integers(0, 59))), tz)
    phases = []
    for _ in range(draw(st.integers(1, 3))):
        interval = draw(st.integers(1, 20))
        phases.append(Phase(draw(st.integers(1, 3)), interval, draw(st.integers(0, min(3, interval - 1)))))
    practitioners = tuple(
        Practitioner(f"p{i}", draw(week(480)), draw(busy(not_before, tz)))
        for i in range(draw(st.integers(1, 3))))
    rooms = tuple(Room(f"r{i}", draw(busy(not_before, tz))) for i in range(draw(st.integers(1, 3))))
    devices = tuple(Device(f"d{i}", draw(st.sampled_from(("us", "us", "laser"))), draw(busy(not_before, tz)))
                    for i in range(draw(st.integers(0, 3))))
    follows = None
    if draw(st.booleans()):
        follows = Follows(not_before - timedelta(minutes=draw(st.integers(-3 * 1440, 20 * 1440))),
                          draw(st.sampled_from([None, *(p.id for p in practitioners)])),
                          draw(st.sampled_from([None, *(r.id for r in rooms)])))
    return SeriesRequest(
        timezone=tz, not_before=not_before, phases=tuple(phases),
        session_minutes=draw(st.sampled_from((1, 5, 17, 30, 45, 60, 90))),
        patient_availability=draw(week(120)),
        practitioners=practitioners, rooms=rooms,
        prep_minutes=draw(st.sampled_from((0, 0, 7, 30))),
        requires_device=draw(st.sampled_from((None, "us"))),
        patient_busy=draw(busy(not_before, tz)), devices=devices,
        preferred_practitioner=draw(st.sampled_from([None, *(p.id for p in practitioners)])),
        horizon_days=draw(st.integers(1, 14)), follows=follows)


# --- an independent, brute-force reading of the rules -----------------------------------------------

def _overlap(a: Interval, b: Interval) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@lru_cache(maxsize=100_000)
def _bound(day: date, minute: int, tz: ZoneInfo) -> datetime:
    if minute == 1440:
        return datetime.combine(day + timedelta(days=1), time(0), tz)
    return datetime.combine(day, time(minute // 60, minute % 60), tz)


def _inside(block: Interval, day: date, windows: tuple[Weekly, ...], tz: ZoneInfo) -> bool:
    return any(w.weekday == day.weekday() and _bound(day, w.start_minute, tz) <= block[0]
               and block[1] <= _bound(day, w.end_minute, tz) for w in windows)


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    return wall.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall.replace(tzinfo=None)


@dataclass
class Slot:
    start: datetime
    practitioner: str
    room: str
    device: str | None


class Clinic:
    """The request's calendars plus the sessions placed so far, checked the slow, obvious way."""

    def __init__(self, r: SeriesRequest) -> None:
        self.r = r
        self.tz = r.timezone
        self.patient = list(r.patient_busy)
        self.people = {p.id: list(p.busy) for p in r.practitioners}
        self.rooms = {x.id: list(x.busy) for x in r.rooms}
        self.devices = {x.id: list(x.busy) for x in r.devices if x.kind == r.requires_device}
        self.hours = {p.id: p.working_hours for p in r.practitioners}

    def problems(self, start: datetime, practitioner: str, room: str, device: str | None) -> list[str]:
        r, tz = self.r, self.tz
        local = start.astimezone(tz)
        day = local.date()
        end = start + timedelta(minutes=r.session_minutes)
        prep = start - timedelta(minutes=r.prep_minutes)
        out = []
        if (local.minute % 5, local.second, local.microsecond) != (0, 0, 0):
            out.append("off the 5-minute grid")
        if not _exists(local.replace(tzinfo=tz, fold=0), tz) or local.fold:
            out.append("a wall time that does not exist or its second occurrence")
        if start < r.not_before:
            out.append("before not_before")
        if not _inside((start, end), day, self.hours[practitioner], tz):
            out.append("outside the practitioner's working hours")
        if any(_overlap((start, end), b) for b in self.people[practitioner]):
            out.append("the practitioner is busy")
        if not _inside((prep, end), day, r.patient_availability, tz):
            out.append("outside the patient's availability (preparation included)")
        if any(_overlap((prep, end), b) for b in self.patient):
            out.append("the patient is busy")
        if room not in self.rooms or any(_overlap((start, end), b) for b in self.rooms[room]):
            out.append("the room is busy or unknown")
        if r.requires_device is None:
            if device is not None:
                out.append("a device where none is needed")
        elif device not in self.devices or any(_overlap((start, end), b) for b in self.devices[device]):
            out.append("the device is busy, unknown or of another kind")
        return out

    def book(self, s: PlacedSession) -> None:
        self.patient.append((s.prep_start or s.start, s.end))
        self.people[s.practitioner].append((s.start, s.end))
        self.rooms[s.room].append((s.start, s.end))
        if s.device is not None:
            self.devices[s.device].append((s.start, s.end))

    def _starts(self, day: date) -> Iterator[datetime]:
        """Every existing grid start of the day that could hold the patient's block; only the
        minutes near an availability window are tried (wall and elapsed time differ by at most
        an hour on a clock-change day), the rest is left to `problems`."""
        minutes: set[int] = set()
        for w in self.r.patient_availability:
            if w.weekday == day.weekday():
                minutes.update(range(max(0, w.start_minute - 60) // 5 * 5, min(1440, w.end_minute + 60), 5))
        for minute in sorted(minutes):
            wall = datetime.combine(day, time(minute // 60, minute % 60), self.tz)
            if _exists(wall, self.tz):
                yield wall

    def _free(self, start: datetime, calendars: dict[str, list[Interval]], order: list[str]) -> str | None:
        end = start + timedelta(minutes=self.r.session_minutes)
        return next((k for k in order if not any(_overlap((start, end), b) for b in calendars[k])), None)

    def slot(self, start: datetime, practitioner: str, rooms: list[str], devices: list[str]) -> Slot | None:
        day = start.date()  # a wall time in the clinic's zone
        end = start + timedelta(minutes=self.r.session_minutes)
        if (start < self.r.not_before or not _inside((start, end), day, self.hours[practitioner], self.tz)
                or not _inside((start - timedelta(minutes=self.r.prep_minutes), end), day,
                               self.r.patient_availability, self.tz)):
            return None  # the quick refusals first; `problems` checks everything again
        room = self._free(start, self.rooms, rooms)
        device = self._free(start, self.devices, devices) if self.r.requires_device else None
        if room is None or (self.r.requires_device and device is None):
            return None
        if self.problems(start, practitioner, room, device):
            return None
        return Slot(start, practitioner, room, device)

    def best(self, days: list[date], ranked: list[str], rooms: list[str], devices: list[str],
             reference: int | None) -> Slot | None:
        """Session 1 (reference None): earliest day, then practitioner, then start. Later sessions:
        practitioner, then the day order given, then closeness to the reference time, then start."""
        if reference is None:
            for day in days:
                for p in ranked:
                    for start in self._starts(day):
                        if (s := self.slot(start, p, rooms, devices)) is not None:
                            return s
            return None
        for p in ranked:
            for day in days:
                found = [s for start in self._starts(day)
                         if (s := self.slot(start, p, rooms, devices)) is not None]
                if found:
                    return min(found, key=lambda s: (abs(_tod(s.start, self.tz) - reference), s.start))
        return None


def _tod(moment: datetime, tz: ZoneInfo) -> int:
    local = moment.astimezone(tz)
    return local.hour * 3600 + local.minute * 60 + local.second


def _phase_list(r: SeriesRequest) -> list[Phase]:
    return [p for p in r.phases for _ in range(p.sessions)]


def check(r: SeriesRequest, proposal: SeriesProposal) -> None:
    phases = _phase_list(r)
    n = len(phases)
    placed = [s.index for s in proposal.sessions]
    unplaced = [u.index for u in proposal.unplaced]
    assert placed == sorted(placed)
    assert unplaced == sorted(unplaced)
    assert sorted(placed + unplaced) == list(range(1, n + 1))
    assert all(u.reason and u.code for u in proposal.unplaced)
    clinic = Clinic(r)
    tz = r.timezone
    by_index = {s.index: s for s in proposal.sessions}
    order = [p.id for p in r.practitioners]
    anchor: tuple[datetime, str | None, str | None, str | None] | None = None
    reference: int | None = None
    if r.follows is not None:
        anchor = (r.follows.start, r.follows.practitioner, r.follows.room, None)
        reference = _tod(r.follows.start, tz)
    device_ids = list(clinic.devices)
    for index in range(1, n + 1):
        s = by_index.get(index)
        if s is not None:
            assert s.start.tzinfo is tz
            assert s.end.tzinfo is tz
            assert s.end - s.start == timedelta(minutes=r.session_minutes)
            expected_prep = s.start - timedelta(minutes=r.prep_minutes) if r.prep_minutes else None
            assert s.prep_start == expected_prep
            assert clinic.problems(s.start, s.practitioner, s.room, s.device) == [], s
        if anchor is None:
            if index > 1:
                assert s is None  # session 1 failed: nothing can be measured
                continue
            first = r.not_before.astimezone(tz).date()
            days = [first + timedelta(days=k) for k in range(r.horizon_days)]
            ranked = list(dict.fromkeys([p for p in (r.preferred_practitioner,) if p in order] + order))
            expected = clinic.best(days, ranked, list(clinic.rooms), device_ids, None)
        else:
            lo, hi = session_window(anchor[0], phases[index - 1], tz)
            lo = max(lo, r.not_before.astimezone(tz).date())
            target = anchor[0].astimezone(tz).date() + timedelta(days=phases[index - 1].interval_days)
            days = sorted((lo + timedelta(days=k) for k in range((hi - lo).days + 1)),
                          key=lambda d: (abs((d - target).days), d))
            ranked = list(dict.fromkeys(
                [p for p in (r.preferred_practitioner, anchor[1]) if p in order] + order))
            rooms = list(dict.fromkeys([x for x in (anchor[2],) if x in clinic.rooms] + list(clinic.rooms)))
            devices = list(dict.fromkeys([x for x in (anchor[3],) if x in clinic.devices] + device_ids))
            assert reference is not None
            expected = clinic.best(days, ranked, rooms, devices, reference)
        got = None if s is None else Slot(s.start, s.practitioner, s.room, s.device)
        assert got == expected, (index, got, expected)
        if s is not None:
            clinic.book(s)
            if anchor is None:
                reference = _tod(s.start, tz)
            anchor = (s.start, s.practitioner, s.room, s.device)


@SETTINGS
@given(requests())
def test_every_session_fits_every_rule_and_is_the_best_ranked_candidate(r):
    check(r, plan_series(r))


# --- named cases: the clock changes and a phase change -----------------------------------------------

def _clinic(not_before: datetime, phases: tuple[Phase, ...], hour: int) -> SeriesRequest:
    every_day = tuple(Weekly(d, 0, 1440) for d in range(7))
    return SeriesRequest(
        timezone=BERLIN, not_before=not_before, phases=phases, session_minutes=30,
        patient_availability=tuple(Weekly(d, hour * 60, hour * 60 + 90) for d in range(7)),
        practitioners=(Practitioner("dr-a", every_day),), rooms=(Room("room-1"),), prep_minutes=30)


@SETTINGS
@given(st.sampled_from((date(2027, 3, 10), date(2027, 10, 13))), st.integers(6, 20),
       st.integers(0, 3), st.integers(0, 6))
def test_a_session_keeps_its_local_time_across_a_clock_change_while_the_offset_changes(
        first, hour, tolerance, shift):
    start = datetime.combine(first + timedelta(days=shift), time(hour), BERLIN)
    r = _clinic(start - timedelta(minutes=30), (Phase(6, 7, tolerance),), hour)
    proposal = plan_series(r)
    check(r, proposal)
    assert proposal.unplaced == ()
    assert [s.start.astimezone(BERLIN).time() for s in proposal.sessions] == [time(hour, 30)] * 6
    gaps = [(b.start.date() - a.start.date()).days for a, b in pairwise(proposal.sessions)]
    assert gaps == [7] * 5
    offsets = {s.start.utcoffset() for s in proposal.sessions}
    assert offsets == {timedelta(hours=1), timedelta(hours=2)}  # six weeks span 28 March / 31 October


def test_ten_oclock_stays_ten_oclock_on_both_sides_of_2027s_clock_changes():
    for first, offsets in ((date(2027, 3, 15), ("+01:00", "+01:00", "+02:00", "+02:00")),
                           (date(2027, 10, 18), ("+02:00", "+02:00", "+01:00", "+01:00"))):
        r = _clinic(datetime.combine(first, time(9), BERLIN), (Phase(4, 7, 1),), 9)
        r = replace(r, patient_availability=tuple(Weekly(d, 570, 630) for d in range(7)))
        proposal = plan_series(r)
        check(r, proposal)
        assert [s.start.isoformat()[10:] for s in proposal.sessions] == [f"T10:00:00{o}" for o in offsets]


@SETTINGS
@given(st.integers(0, 3), st.integers(0, 6), st.integers(0, 2000))
def test_the_first_session_of_phase_two_is_measured_with_phase_twos_interval(tol_a, tol_b, busy_seed):
    start = datetime.combine(date(2027, 2, 1), time(9), BERLIN)
    r = _clinic(start, (Phase(4, 14, tol_a), Phase(3, 28, tol_b)), 9)
    # Block a varying stretch around session 5's target so that it must use its tolerance.
    target = date(2027, 2, 1) + timedelta(days=3 * 14 + 28)
    blocked = busy_seed % (tol_b + 1)
    if blocked:
        block = (datetime.combine(target - timedelta(days=blocked - 1), time(0), BERLIN),
                 datetime.combine(target + timedelta(days=blocked), time(0), BERLIN))
        r = replace(r, patient_busy=(block,))
    proposal = plan_series(r)
    check(r, proposal)
    assert len(proposal.sessions) == 7
    s4, s5 = proposal.sessions[3], proposal.sessions[4]
    days = (s5.start.date() - s4.start.date()).days
    assert 28 - tol_b <= days <= 28 + tol_b
    assert days == (28 - blocked if blocked else 28)
    assert [(b.start.date() - a.start.date()).days for a, b in
            pairwise(proposal.sessions[:4])] == [14, 14, 14]
