"""The series planner (pure): every session of a treatment series, from the patient's week and the
clinic's calendar.

No Django, no clock: "now" is `not_before`. Frozen dataclasses in, a `SeriesProposal` out, in which
every session index 1..N is either placed or unplaced with a specific, human reason and a code.

Rules, and the choices made where the issue left one open:

- Time. All arithmetic is in the clinic's zone (zoneinfo); instants are compared in UTC. Starts lie
  on a 5-minute grid of local wall-clock time (minutes since local midnight divisible by 5). Wall
  times in a spring-forward gap are never used as starts; an ambiguous wall time (fall-back) means
  its first occurrence (fold=0). The end is start + session_minutes and the preparation begins
  prep_minutes before the start, both as elapsed time. A weekly window's bounds are read the same
  way (fold=0; "24:00" is the next local midnight).
- Fitting. A candidate start is feasible when [start, end) lies within one of the practitioner's
  working-hours blocks for that local weekday and overlaps none of their busy intervals (the
  practitioner is not needed during the preparation); [prep_start, end) lies within one patient
  availability block and overlaps no patient_busy interval; a room, and a device of the required
  kind if any, is free for [start, end); and nothing overlaps a session placed earlier in the same
  proposal (patient, practitioner, room, device). Intervals are half-open: touching is fine.
  Blocks are not joined: a session must fit inside one block as given. Because the preparation
  must lie inside an availability block of the same local day, preparation and treatment are
  always on the same local day (a preparation crossing midnight is never proposed).
- not_before bounds the treatment's start; the preparation may begin before it.
- Session 1 without `follows`: the earliest local day from not_before's local date on which a
  session fits, looking at horizon_days days (not_before's date and the horizon_days - 1 after it);
  on that day the best-ranked practitioner (preferred, then input order), then the earliest start.
- Session k (k >= 2, or 1 with `follows`): the local date of the previous placed session (or of
  `follows`) + the interval of session k's phase, ± that phase's tolerance, in local calendar
  days, and never before not_before. `follows` is measured exactly like a previous session
  (horizon_days does not apply then: the window bounds the search). Candidates are ranked by
  (1) practitioner: preferred, then the previous session's, then input order; (2) days from the
  target day, the earlier day on a tie; (3) distance of the local time of day from session 1's
  (or `follows`'); (4) the earlier start. The room is the previous session's if free, else the
  first free in input order; the device likewise.
- A session that cannot be placed does not move the anchor: the next one is measured from the last
  session that was placed (the issue's literal reading). If session 1 cannot be placed and there is
  no `follows`, every later session is unplaced because of it.
- Reasons: a missing resource (checked in this order: no practitioners, none with working hours,
  no rooms, no device of the kind, no patient availability) unplaces every session with that
  reason. Otherwise the reason names the window or the horizon, and the first resource, in the
  order patient, practitioner's hours, practitioner's bookings, room, device, that leaves no
  common free time: the bottleneck. `Unplaced.code` is the machine-readable form (see `Code`).

Speed: a day's feasible starts are computed as interval arithmetic on epoch seconds, never slot
by slot; each calendar's busy list is bucketed by date the first time it is needed (calendars
that are never needed are never read), so a year of bookings costs one cheap pass per calendar.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]
GRID_MINUTES = 5
_GRID = GRID_MINUTES * 60  # seconds
_DAY = 86_400


@dataclass(frozen=True)
class Weekly:
    """A weekly block in local time: Monday = 0; minutes since midnight, the end may be 1440."""

    weekday: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class Phase:
    sessions: int
    interval_days: int
    tolerance_days: int = 0


@dataclass(frozen=True)
class Practitioner:
    id: str
    working_hours: tuple[Weekly, ...]
    busy: tuple[Interval, ...] = ()


@dataclass(frozen=True)
class Room:
    id: str
    busy: tuple[Interval, ...] = ()


@dataclass(frozen=True)
class Device:
    id: str
    kind: str
    busy: tuple[Interval, ...] = ()


@dataclass(frozen=True)
class Follows:
    """A session already held or booked that the requested series continues."""

    start: datetime
    practitioner: str | None = None
    room: str | None = None


@dataclass(frozen=True)
class SeriesRequest:
    timezone: ZoneInfo
    not_before: datetime
    phases: tuple[Phase, ...]
    session_minutes: int
    patient_availability: tuple[Weekly, ...]
    practitioners: tuple[Practitioner, ...]
    rooms: tuple[Room, ...]
    prep_minutes: int = 0
    requires_device: str | None = None
    patient_busy: tuple[Interval, ...] = ()
    devices: tuple[Device, ...] = ()
    preferred_practitioner: str | None = None
    horizon_days: int = 90
    follows: Follows | None = None


@dataclass(frozen=True)
class PlacedSession:
    index: int
    start: datetime
    end: datetime
    prep_start: datetime | None
    practitioner: str
    room: str
    device: str | None


@dataclass(frozen=True)
class Unplaced:
    index: int
    code: str
    reason: str


@dataclass(frozen=True)
class SeriesProposal:
    sessions: tuple[PlacedSession, ...]
    unplaced: tuple[Unplaced, ...]


class Code(StrEnum):
    """Why a session is unplaced, for the product to translate."""

    NO_PRACTITIONERS = "no_practitioners"
    NO_WORKING_HOURS = "no_working_hours"  # practitioners, none with any working hours
    NO_ROOMS = "no_rooms"
    NO_DEVICE_KIND = "no_device_kind"
    NO_PATIENT_AVAILABILITY = "no_patient_availability"
    FIRST_SESSION_UNPLACED = "first_session_unplaced"
    BEFORE_NOT_BEFORE = "window_before_not_before"  # the whole window lies before not_before
    PATIENT_UNAVAILABLE = "patient_unavailable"  # the bottlenecks, in the order they are tried
    NO_PRACTITIONER_HOURS = "no_practitioner_hours"
    PRACTITIONERS_BUSY = "practitioners_busy"
    ROOMS_BUSY = "rooms_busy"
    DEVICES_BUSY = "devices_busy"


def session_window(previous_start: datetime, phase: Phase, tz: ZoneInfo) -> tuple[date, date]:
    """First and last local date allowed for a session measured from `previous_start`."""
    target = previous_start.astimezone(tz).date() + timedelta(days=phase.interval_days)
    tolerance = timedelta(days=phase.tolerance_days)
    return target - tolerance, target + tolerance


def _spread(phase: Phase) -> str:
    if phase.tolerance_days:
        return f"{phase.interval_days} ± {phase.tolerance_days} days"
    return f"{phase.interval_days} day{'s' if phase.interval_days != 1 else ''}"


def _span(first: date, last: date) -> str:
    return f"on {first}" if first == last else f"between {first} and {last}"


def check_move(start: datetime, previous: datetime | None, following: datetime | None,
               phase_before: Phase | None, phase_after: Phase | None, tz: ZoneInfo) -> list[str]:
    """Problems with moving a booked session to `start` (empty: fine): its own window after
    `previous`, and the window of the `following` session measured from the moved one."""
    problems: list[str] = []
    day = start.astimezone(tz).date()
    if previous is not None and phase_before is not None:
        first, last = session_window(previous, phase_before, tz)
        if not first <= day <= last:
            problems.append(f"the session on {day} is outside its window: it must be {_span(first, last)} "
                            f"({_spread(phase_before)} after the previous session on "
                            f"{previous.astimezone(tz).date()})")
    if following is not None and phase_after is not None:
        first, last = session_window(start, phase_after, tz)
        next_day = following.astimezone(tz).date()
        if not first <= next_day <= last:
            problems.append(f"the next session, on {next_day}, would be outside its window: it must be "
                            f"{_span(first, last)} ({_spread(phase_after)} after the moved session on "
                            f"{day})")
    return problems


# --- free-time arithmetic on epoch seconds ---------------------------------------------------------
# A set of allowed start instants is a sorted list of disjoint closed intervals (lo, hi); a busy
# interval [a, b) forbids the open range of starts (a - duration, b).

Span = tuple[float, float]


def _union(spans: list[Span]) -> list[Span]:
    spans = sorted(spans)
    out: list[Span] = []
    for lo, hi in spans:
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _intersect(a: list[Span], b: list[Span]) -> list[Span]:
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _cut(allowed: list[Span], forbidden: list[Span]) -> list[Span]:
    """`allowed` less the open intervals of `forbidden` (sorted by start, may overlap)."""
    if not forbidden:
        return allowed
    out: list[Span] = []
    for lo, hi in allowed:
        cur = lo
        for a, b in forbidden:
            if b <= cur:
                continue
            if a >= hi:
                break
            if a >= cur:
                out.append((cur, a))
            cur = b
            if cur > hi:
                break
        if cur <= hi:
            out.append((cur, hi))
    return out


def _contains(spans: list[Span], x: float) -> bool:
    return any(lo <= x <= hi for lo, hi in spans)


class _Busy:
    """One calendar's busy intervals, bucketed by the date of their start on first use.

    Comparing datetimes whose tzinfo objects differ costs two utcoffset() calls, and sorting a
    year of bookings that way takes longer than planning; the date key reads the datetime's own
    fields, so bucketing is one cheap pass. A query reads the few buckets around its range, each
    turned into epoch seconds (which respect fold) once.
    """

    __slots__ = ("_buckets", "_long", "_raw", "_spans", "extra")

    def __init__(self, raw: tuple[Interval, ...]) -> None:
        self._raw = raw
        self._buckets: dict[int, list[Interval]] | None = None
        self._spans: dict[int, list[Span]] = {}
        self._long: list[Span] = []
        self.extra: list[Span] = []  # sessions placed earlier in this proposal

    def _build(self) -> dict[int, list[Interval]]:
        buckets: dict[int, list[Interval]] = {}
        long: list[Interval] = []
        for pair in self._raw:
            key = pair[0].toordinal()
            if pair[1].toordinal() - key > 1:
                long.append(pair)  # over more than two dates of its own: read by every query
            elif key in buckets:
                buckets[key].append(pair)
            else:
                buckets[key] = [pair]
        self._long = sorted((a.timestamp(), b.timestamp()) for a, b in long)
        self._buckets = buckets
        return buckets

    def overlapping(self, lo: float, hi: float) -> list[Span]:
        """Busy intervals (epoch seconds) with end > lo and start < hi, sorted by start."""
        buckets = self._buckets if self._buckets is not None else self._build()
        out = [s for s in self._long if s[1] > lo and s[0] < hi]
        if buckets:
            # A datetime's own date is within a day of its UTC date (offsets are under 24 h), and
            # a bucketed interval ends at most one own date after it starts: an interval ending
            # after lo and starting before hi starts on an own date in [date(lo) - 2, date(hi) + 1].
            first = datetime.fromtimestamp(lo, UTC).toordinal() - 2
            last = datetime.fromtimestamp(hi, UTC).toordinal() + 1
            for key in range(first, last + 1):
                spans = self._spans.get(key)
                if spans is None:
                    spans = self._spans[key] = [(a.timestamp(), b.timestamp())
                                                for a, b in buckets.get(key, ())]
                out.extend(x for x in spans if x[1] > lo and x[0] < hi)
        if self.extra:
            out.extend(x for x in self.extra if x[1] > lo and x[0] < hi)
        out.sort()
        return out

    def forbidden(self, lo: float, hi: float, before: float, after: float) -> list[Span]:
        """The starts in [lo, hi] that a busy [a, b) rules out when the block needs `before` seconds
        from its start and `after` seconds before it: the open ranges (a - before, b + after)."""
        return [(a - before, b + after) for a, b in self.overlapping(lo - after, hi + before)]


class _Day:
    """One local date: its grid of candidate starts (epoch seconds and local minutes)."""

    __slots__ = ("_tz", "date", "grid", "midnight", "minutes", "regular", "weekday")

    def __init__(self, day: date, tz: ZoneInfo) -> None:
        self._tz = tz
        self.date = day
        self.weekday = day.weekday()
        self.midnight = datetime.combine(day, time(0), tz).timestamp()
        following = datetime.combine(day + timedelta(days=1), time(0), tz).timestamp()
        # A day without an offset change has 86,400 seconds (no zone changes twice in a day).
        self.regular = following - self.midnight == _DAY
        self.grid: list[float]
        self.minutes: list[int]
        if self.regular:
            self.grid = [self.midnight + s for s in range(0, _DAY, _GRID)]
            self.minutes = list(range(0, 1440, GRID_MINUTES))
            return
        self.grid, self.minutes = [], []
        for minute in range(0, 1440, GRID_MINUTES):
            wall = datetime.combine(day, time(minute // 60, minute % 60), tz)
            if wall.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall.replace(tzinfo=None):
                continue  # in the spring-forward gap: this wall time does not exist
            self.grid.append(wall.timestamp())
            self.minutes.append(minute)

    def at(self, minute: int) -> float:
        """The instant of a local wall time on this day (1440: the next midnight), fold=0."""
        if self.regular:
            return self.midnight + 60 * minute
        if minute >= 1440:
            return datetime.combine(self.date + timedelta(days=1), time(0), self._tz).timestamp()
        return datetime.combine(self.date, time(minute // 60, minute % 60), self._tz).timestamp()

    def starts_in(self, spans: list[Span]) -> list[int]:
        """Indexes into the grid of the starts that lie in `spans`."""
        out: list[int] = []
        for lo, hi in spans:
            out.extend(range(bisect_left(self.grid, lo), bisect_right(self.grid, hi)))
        return out

    def any_start(self, spans: list[Span]) -> bool:
        return any(bisect_left(self.grid, lo) < bisect_right(self.grid, hi) for lo, hi in spans)


@dataclass
class _Anchor:
    """What the next session is measured from: the previous placed session, or `follows`."""

    day: date
    start: datetime
    label: str  # "session 3", "the session it follows"
    practitioner: str | None
    room: str | None
    device: str | None


@dataclass
class _Choice:
    day: _Day
    slot: int  # index into day.grid
    practitioner: str


@dataclass
class _Failure:
    code: Code
    reason: str


@dataclass
class _Window:
    days: list[date]  # in the order they are tried
    text: str  # "between … and … (7 ± 1 days after session 2 on …)" or "within 90 days from …"
    rooms: list[str]  # in the order of preference
    devices: list[str]
    caches: dict[date, _DayCache] = field(default_factory=dict)


@dataclass
class _DayCache:
    """One day of one session's window: the patient's free starts, and each calendar's free
    starts within them, computed when first needed."""

    day: _Day
    patient: list[Span]
    rooms: dict[str, list[Span]] = field(default_factory=dict)
    devices: dict[str, list[Span]] = field(default_factory=dict)


def _prefer(first: str | None, ids: list[str]) -> list[str]:
    return [first, *(i for i in ids if i != first)] if first in ids else ids


class _Planner:
    def __init__(self, request: SeriesRequest) -> None:
        self.r = request
        self.tz = request.timezone
        self.dur = request.session_minutes * 60
        self.prep = request.prep_minutes * 60
        self.not_before = request.not_before.timestamp()
        self.not_before_day = request.not_before.astimezone(self.tz).date()
        self.availability: dict[int, list[Weekly]] = {}
        for w in request.patient_availability:
            self.availability.setdefault(w.weekday, []).append(w)
        self.patient = _Busy(request.patient_busy)
        self.practitioners = {p.id: p for p in request.practitioners}
        self.hours: dict[str, dict[int, list[Weekly]]] = {}
        for p in request.practitioners:
            by_day = self.hours.setdefault(p.id, {})
            for w in p.working_hours:
                by_day.setdefault(w.weekday, []).append(w)
        self.p_busy = {p.id: _Busy(p.busy) for p in request.practitioners}
        self.room_ids = [room.id for room in request.rooms]
        self.r_busy = {room.id: _Busy(room.busy) for room in request.rooms}
        kind = request.requires_device
        self.device_ids = [d.id for d in request.devices if kind is not None and d.kind == kind]
        self.d_busy = {d.id: _Busy(d.busy) for d in request.devices if d.id in self.device_ids}
        self.days: dict[date, _Day] = {}

    # --- sets of feasible starts on one day ---------------------------------------------------------

    def _day(self, day: date) -> _Day:
        d = self.days.get(day)
        if d is None:
            d = self.days[day] = _Day(day, self.tz)
        return d

    def _patient(self, d: _Day) -> list[Span]:
        blocks = [(d.at(w.start_minute) + self.prep, d.at(w.end_minute) - self.dur)
                  for w in self.availability.get(d.weekday, ())]
        spans = _union([(max(lo, self.not_before), hi) for lo, hi in blocks
                        if max(lo, self.not_before) <= hi])
        if not spans or not d.any_start(spans):
            return []
        lo, hi = spans[0][0], spans[-1][1]
        spans = _cut(spans, sorted(self.patient.forbidden(lo, hi, self.dur, self.prep)))
        return spans if d.any_start(spans) else []

    def _hours(self, d: _Day, practitioner: str, within: list[Span]) -> list[Span]:
        blocks = [(d.at(w.start_minute), d.at(w.end_minute) - self.dur)
                  for w in self.hours[practitioner].get(d.weekday, ())]
        return _intersect(within, _union([b for b in blocks if b[0] <= b[1]]))

    def _free(self, spans: list[Span], busy: _Busy) -> list[Span]:
        if not spans:
            return spans
        return _cut(spans, busy.forbidden(spans[0][0], spans[-1][1], self.dur, 0))

    def _covered(self, c: _DayCache, spans: list[Span], order: list[str], free: dict[str, list[Span]],
                 busy: dict[str, _Busy]) -> list[Span]:
        """The part of `spans` where at least one of the calendars is free. They are read in the
        order of preference until `spans` is covered: the rest could add nothing, and are left
        unread (a year of bookings per room is only bucketed when a room is needed)."""
        covered: list[Span] = []
        for key in order:
            if key not in free:
                free[key] = self._free(c.patient, busy[key])
            covered = _union(covered + free[key])
            if _intersect(spans, covered) == spans:
                return spans
        return _intersect(spans, covered)

    def _cache(self, window: _Window, day: date) -> _DayCache:
        c = window.caches.get(day)
        if c is None:
            d = self._day(day)
            c = window.caches[day] = _DayCache(d, self._patient(d))
        return c

    def _candidates(self, window: _Window, c: _DayCache, practitioner: str) -> list[int]:
        if not c.patient:
            return []
        spans = self._hours(c.day, practitioner, c.patient)
        spans = self._free(spans, self.p_busy[practitioner])
        if not c.day.any_start(spans):
            return []
        spans = self._covered(c, spans, window.rooms, c.rooms, self.r_busy)
        if self.r.requires_device is not None:
            spans = self._covered(c, spans, window.devices, c.devices, self.d_busy)
        return c.day.starts_in(spans)

    # --- ranking ------------------------------------------------------------------------------------

    def _ranked(self, previous: str | None) -> list[str]:
        order = [p.id for p in self.r.practitioners]
        first = [p for p in (self.r.preferred_practitioner, previous) if p in self.practitioners]
        return list(dict.fromkeys(first + order))

    def first_session(self) -> tuple[_Choice | None, _Window]:
        horizon = self.r.horizon_days
        window = _Window([self.not_before_day + timedelta(days=n) for n in range(horizon)],
                         f"within {horizon} day{'s' if horizon != 1 else ''} from {self.not_before_day}",
                         self.room_ids, self.device_ids)
        ranked = self._ranked(None)
        for day in window.days:
            if not self.availability.get(day.weekday()):
                continue
            c = self._cache(window, day)
            for practitioner in ranked:
                slots = self._candidates(window, c, practitioner)
                if slots:
                    return _Choice(c.day, min(slots), practitioner), window
            window.caches.pop(day)  # never looked at again
        return None, window

    def next_session(self, anchor: _Anchor, phase: Phase, reference: int
                     ) -> tuple[_Choice | None, _Window | _Failure]:
        first, last = session_window(anchor.start, phase, self.tz)
        target = anchor.day + timedelta(days=phase.interval_days)
        text = (f"{_span(first, last)} ({_spread(phase)} after {anchor.label} on {anchor.day})")
        if last < self.not_before_day:
            return None, _Failure(Code.BEFORE_NOT_BEFORE,
                                  f"the window {text} ends before not_before "
                                  f"({self.r.not_before.astimezone(self.tz).isoformat()})")
        lo = max(first, self.not_before_day)
        days = sorted((lo + timedelta(days=n) for n in range((last - lo).days + 1)),
                      key=lambda d: (abs((d - target).days), d))
        window = _Window(days, text, _prefer(anchor.room, self.room_ids),
                         _prefer(anchor.device, self.device_ids))
        for practitioner in self._ranked(anchor.practitioner):
            for day in days:
                c = self._cache(window, day)
                slots = self._candidates(window, c, practitioner)
                if slots:
                    minutes, grid = c.day.minutes, c.day.grid
                    best = min(slots, key=lambda i: (abs(minutes[i] * 60 - reference), grid[i]))
                    return _Choice(c.day, best, practitioner), window
        return None, window

    # --- placing and explaining ---------------------------------------------------------------------

    def place(self, index: int, choice: _Choice, anchor: _Anchor | None) -> PlacedSession:
        start_s = choice.day.grid[choice.slot]
        end_s = start_s + self.dur
        rooms = _prefer(anchor.room if anchor else None, self.room_ids)
        # The candidate sets hold "some room is free"; which one is found at the chosen start.
        room = next(r for r in rooms if not self.r_busy[r].overlapping(start_s, end_s))
        device = None
        if self.r.requires_device is not None:
            devices = _prefer(anchor.device if anchor else None, self.device_ids)
            device = next(d for d in devices if not self.d_busy[d].overlapping(start_s, end_s))
            self.d_busy[device].extra.append((start_s, end_s))
        self.p_busy[choice.practitioner].extra.append((start_s, end_s))
        self.r_busy[room].extra.append((start_s, end_s))
        self.patient.extra.append((start_s - self.prep, end_s))
        start = datetime.fromtimestamp(start_s, self.tz)
        return PlacedSession(index=index, start=start, end=datetime.fromtimestamp(end_s, self.tz),
                             prep_start=(datetime.fromtimestamp(start_s - self.prep, self.tz)
                                         if self.prep else None),
                             practitioner=choice.practitioner, room=room, device=device)

    def explain(self, window: _Window) -> _Failure:
        """The first resource, in a fixed order, that leaves no common free time in the window."""
        reached = 0
        stages = 4 if self.r.requires_device is not None else 3
        for day in window.days:
            if reached == stages:
                break
            c = self._cache(window, day)
            if not c.patient:
                continue
            reached = max(reached, 1)
            for practitioner in self.practitioners:
                spans = self._hours(c.day, practitioner, c.patient)
                if not c.day.any_start(spans):
                    continue
                reached = max(reached, 2)
                spans = self._free(spans, self.p_busy[practitioner])
                if not c.day.any_start(spans):
                    continue
                reached = max(reached, 3)
                if c.day.any_start(self._covered(c, spans, window.rooms, c.rooms, self.r_busy)):
                    reached = 4
        total = self.r.prep_minutes + self.r.session_minutes
        need = (f"{total} minutes in a row ({self.r.prep_minutes} of preparation and "
                f"{self.r.session_minutes} of treatment)" if self.r.prep_minutes
                else f"{total} minutes in a row")
        code, detail = [
            (Code.PATIENT_UNAVAILABLE, f"the patient is not available and free for {need} at any time then"),
            (Code.NO_PRACTITIONER_HOURS, "the patient is free then, but no practitioner works at those "
                                         "times"),
            (Code.PRACTITIONERS_BUSY, "the patient is free then, but every practitioner working at those "
                                      "times is already booked"),
            (Code.ROOMS_BUSY, "the patient and a practitioner are free then, but no room is"),
            (Code.DEVICES_BUSY, f"the patient, a practitioner and a room are free then, but no "
                                f"'{self.r.requires_device}' device is"),
        ][min(reached, stages)]
        who = ("the patient, a practitioner, a room and a device are" if self.r.requires_device
               else "the patient, a practitioner and a room are")
        if window.text.startswith("within"):
            return _Failure(code, f"no free time {window.text}: {detail}")
        return _Failure(code, f"no time {window.text} when {who} all free: {detail}")

    def missing(self) -> _Failure | None:
        """A resource missing altogether, which leaves every session unplaced."""
        if not self.r.practitioners:
            return _Failure(Code.NO_PRACTITIONERS, "no practitioners")
        if not any(p.working_hours for p in self.r.practitioners):
            return _Failure(Code.NO_WORKING_HOURS, "no practitioner has working hours")
        if not self.r.rooms:
            return _Failure(Code.NO_ROOMS, "no rooms")
        if self.r.requires_device is not None and not self.device_ids:
            return _Failure(Code.NO_DEVICE_KIND, f"no device of kind '{self.r.requires_device}'")
        if not self.r.patient_availability:
            return _Failure(Code.NO_PATIENT_AVAILABILITY, "the patient has no availability")
        return None


def _seconds_of_day(moment: datetime) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def plan_series(request: SeriesRequest) -> SeriesProposal:
    """Propose every session of the series; each index 1..N is placed or unplaced with a reason."""
    phases = [phase for phase in request.phases for _ in range(phase.sessions)]
    planner = _Planner(request)
    missing = planner.missing()
    if missing is not None:
        return SeriesProposal((), tuple(Unplaced(i, missing.code, missing.reason)
                                        for i in range(1, len(phases) + 1)))
    tz = request.timezone
    placed: list[PlacedSession] = []
    unplaced: list[Unplaced] = []
    anchor: _Anchor | None = None
    reference = 0  # seconds since local midnight of session 1 (or of `follows`)
    f = request.follows
    if f is not None:
        local = f.start.astimezone(tz)
        anchor = _Anchor(local.date(), f.start, "the session it follows", f.practitioner, f.room, None)
        reference = _seconds_of_day(local)
    for index, phase in enumerate(phases, start=1):
        choice: _Choice | None
        outcome: _Window | _Failure
        if anchor is None:
            if index > 1:
                unplaced.append(Unplaced(index, Code.FIRST_SESSION_UNPLACED,
                                         "session 1 could not be placed, so this session cannot be "
                                         "measured from it"))
                continue
            choice, outcome = planner.first_session()
        else:
            choice, outcome = planner.next_session(anchor, phase, reference)
        if choice is None:
            failure = outcome if isinstance(outcome, _Failure) else planner.explain(outcome)
            unplaced.append(Unplaced(index, failure.code, failure.reason))
            continue
        session = planner.place(index, choice, anchor)
        placed.append(session)
        if anchor is None:
            reference = choice.day.minutes[choice.slot] * 60
        anchor = _Anchor(choice.day.date, session.start, f"session {index}", session.practitioner,
                         session.room, session.device)
    return SeriesProposal(tuple(placed), tuple(unplaced))
