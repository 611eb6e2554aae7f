"""Infection signals (pure): which lots and room-days link infections of two or more patients.

No Django here: frozen dataclasses in (`SignalsInput`), a tuple of `Cluster` out. The
`mesoclinic safety-signals` command, the safety pages and the API all run `detect()` on the input
built by `signals_contract.parse`, so they can never disagree.

The rule: an event counts for a session it names when its kind is `suspected_infection` or
`infection` and its onset falls on or after the session's local date and at most `window_days`
after it. A `lot` cluster is formed when counting events of two or more different patients (the
event's own `patient`) are linked to sessions that used the same lot; its exposed patients are
every patient with any session that used that lot, at any time. A `room_day` cluster is the same
for the sessions held in one room on one local date (key "room/YYYY-MM-DD"); its exposed patients
are every patient treated in that room that day. A session whose room is not known forms no
room-day cluster.

Time: a session's local date is its `at` converted to the input's `timezone`, so a session at
23:30 UTC is on the next day in Istanbul. The window is counted in calendar days on that date.

Speed: a year of a busy chain is 500,000 sessions. One pass with a set test picks out the few
sessions named by counting events, and only they have their local date worked out to find the
clusters; a second pass collects the exposed patients of the clusters found (a set test per
session), converting `at` only for sessions in a room that has a room-day cluster.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

DEFAULT_WINDOW_DAYS = 84  # 12 weeks, the contract's default: infections after injections can show up late

SUSPECTED_INFECTION = "suspected_infection"
INFECTION = "infection"
OTHER = "other"
KINDS = (SUSPECTED_INFECTION, INFECTION, OTHER)  # the contract's event kinds, in its order
COUNTING_KINDS = frozenset({SUSPECTED_INFECTION, INFECTION})

LOT = "lot"
ROOM_DAY = "room_day"


@dataclass(frozen=True, slots=True)
class Exposure:
    """One treatment session: who, when (with its UTC offset), where (None: not known), which lots."""

    session: str
    patient: str
    at: datetime
    room: str | None
    lots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """An adverse event of `patient`, of one of `KINDS`, from `onset`, linked to the sessions named."""

    id: str
    patient: str
    kind: str
    onset: date
    sessions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SignalsInput:
    """The clinic chain's exposures and events; session ids are unique (the contract sees to it)."""

    timezone: ZoneInfo
    window_days: int
    exposures: tuple[Exposure, ...]
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Cluster:
    """A lot or room-day linked to counting events of two or more patients; lists sorted, unique."""

    kind: str
    key: str
    events: tuple[str, ...]
    exposed_patients: tuple[str, ...]


def room_day_key(room: str, day: date) -> str:
    """The key of a room-day cluster: "room-1/2027-01-11" (a "/" in the room name stays as it is)."""
    return f"{room}/{day.isoformat()}"


def detect(inp: SignalsInput) -> tuple[Cluster, ...]:
    """Every lot and room-day cluster of `inp`, sorted by kind then key."""
    zone, window = inp.timezone, inp.window_days
    counting = [event for event in inp.events if event.kind in COUNTING_KINDS]
    named = {session for event in counting for session in event.sessions}
    # One pass with a set test beats a dict of every session: only a few thousand are named.
    by_session = {exposure.session: exposure for exposure in inp.exposures if exposure.session in named}
    # For each lot and each (room, local date): the counting events and their patients.
    lot_events: defaultdict[str, dict[str, str]] = defaultdict(dict)
    room_day_events: defaultdict[tuple[str, date], dict[str, str]] = defaultdict(dict)
    for event in counting:
        onset = event.onset.toordinal()
        for session in dict.fromkeys(event.sessions):
            exposure = by_session.get(session)
            if exposure is None:  # the contract refuses unknown sessions; a direct caller's slip is no link
                continue
            day = exposure.at.astimezone(zone).date()
            # Ordinals: date + timedelta overflows near year 9999, a difference of ordinals never does.
            if not 0 <= onset - day.toordinal() <= window:
                continue
            for lot in exposure.lots:
                lot_events[lot][event.id] = event.patient
            if exposure.room is not None:
                room_day_events[exposure.room, day][event.id] = event.patient

    lots = {lot: found for lot, found in lot_events.items() if len(set(found.values())) >= 2}
    room_days = {key: found for key, found in room_day_events.items() if len(set(found.values())) >= 2}
    lot_patients: dict[str, set[str]] = {lot: set() for lot in lots}
    room_day_patients: dict[tuple[str, date], set[str]] = {key: set() for key in room_days}
    rooms = {room for room, _ in room_days}
    if lots or rooms:
        no_cluster_lot, patients_of = lots.keys().isdisjoint, lot_patients.get
        for exposure in inp.exposures:
            used = exposure.lots
            if not no_cluster_lot(used):
                patient = exposure.patient
                for lot in used:
                    patients = patients_of(lot)
                    if patients is not None:
                        patients.add(patient)
            if exposure.room in rooms:
                patients = room_day_patients.get((exposure.room, exposure.at.astimezone(zone).date()))
                if patients is not None:
                    patients.add(exposure.patient)

    clusters = [Cluster(LOT, lot, tuple(sorted(found)), tuple(sorted(lot_patients[lot])))
                for lot, found in lots.items()]
    clusters += [Cluster(ROOM_DAY, room_day_key(room, day), tuple(sorted(found)),
                         tuple(sorted(room_day_patients[room, day])))
                 for (room, day), found in room_days.items()]
    clusters.sort(key=lambda cluster: (cluster.kind, cluster.key))
    return tuple(clusters)
