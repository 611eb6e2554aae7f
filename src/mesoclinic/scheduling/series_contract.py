"""The `plan-series` contract (pure): strict JSON in, the planner's proposal out, or InvalidSeries
naming a field path such as "practitioners[0].working_hours[1].weekday".

Strict JSON: NaN, Infinity and repeated keys are refused, and so are unknown fields at every level,
so that a misspelt field is never silently ignored. Whole numbers are JSON integers (not booleans,
not 7.0, not "7"). Datetimes are ISO 8601 with a UTC offset; times of day are "HH:MM" (00:00 to
23:59, and "24:00" for an end). An end must be after its start. Limits that keep one request
bounded: at most 100 sessions in all, 100,000 busy intervals in all, session and preparation
lengths of at most a day, intervals and horizons of at most 3660 days, datetimes in the years 1900 to 9000.

Output times are ISO 8601 with seconds and the offset, written in the request's timezone.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mesoclinic.scheduling import planner

ROOT = "input"
MAX_SESSIONS = 100
MAX_BUSY = 100_000
MAX_MINUTES = 1440  # a session or a preparation longer than a day can never fit in one
MAX_DAYS = 3660
MIN_YEAR, MAX_YEAR = 1900, 9000  # keeps date arithmetic away from datetime's limits
_TIME = re.compile(r"([0-9]{2}):([0-9]{2})")

_REQUIRED = ("timezone", "not_before", "phases", "session_minutes", "patient_availability",
             "practitioners", "rooms")
_OPTIONAL = ("prep_minutes", "requires_device", "patient_busy", "devices", "preferred_practitioner",
             "horizon_days", "follows")
_FIELDS = _REQUIRED + _OPTIONAL
_PHASE = ("sessions", "interval_days", "tolerance_days")
_WEEKLY = ("weekday", "start", "end")
_PRACTITIONER = ("id", "working_hours", "busy")
_ROOM = ("id", "busy")
_DEVICE = ("id", "kind", "busy")
_FOLLOWS = ("start", "practitioner", "room")
_REQUIRED_OF: dict[tuple[str, ...], tuple[str, ...]] = {
    _FIELDS: _REQUIRED, _PHASE: ("sessions", "interval_days"), _WEEKLY: _WEEKLY,
    _PRACTITIONER: ("id", "working_hours"), _ROOM: ("id",), _DEVICE: ("id", "kind"),
    _FOLLOWS: ("start",)}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class InvalidSeries(ValueError):
    """The input does not follow the contract; `field` names where, `message` says what."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _reject_constant(name: str) -> object:
    raise InvalidSeries(ROOT, f"{name} is not allowed in JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidSeries(ROOT, f"field {key!r} appears twice in one object")
        result[key] = value
    return result


def decode_json(text: str) -> object:
    """Strict JSON: no NaN/Infinity, no repeated keys."""
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise InvalidSeries(ROOT, f"not valid JSON ({exc.msg} at line {exc.lineno} column "
                                  f"{exc.colno})") from exc
    except RecursionError as exc:
        raise InvalidSeries(ROOT, "nested too deeply") from exc


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _object(value: object, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidSeries(path or ROOT, f"expected an object, got {_kind(value)}")
    for key in value:
        if key not in allowed:
            raise InvalidSeries(f"{path}.{key}" if path else str(key), "unknown field")
    for key in _REQUIRED_OF[allowed]:
        if key not in value:
            raise InvalidSeries(f"{path}.{key}" if path else key, "missing required field")
    return value


def _integer(value: object, path: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSeries(path, f"expected a whole number, got {_kind(value)}")
    if value < minimum:
        raise InvalidSeries(path, f"must be at least {minimum}, got {value}")
    if value > maximum:
        raise InvalidSeries(path, f"must be at most {maximum}, got {value}")
    return value


def _text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidSeries(path, f"expected a non-empty string, got {_kind(value)}")
    return value


def _optional_text(value: object, path: str) -> str | None:
    return None if value is None else _text(value, path)


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidSeries(path, f"expected a list, got {_kind(value)}")
    return value


def _timezone(value: object) -> ZoneInfo:
    name = _text(value, "timezone")
    try:
        return ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError for odd keys, OSError, …: all mean unknown
        raise InvalidSeries("timezone", f"unknown timezone {name[:60]!r}: an IANA name such as "
                                        "\"Europe/Berlin\"") from None


def _datetime(value: object, path: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidSeries(path, f"expected a datetime string such as \"2027-03-01T09:00:00+01:00\", "
                                  f"got {_kind(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidSeries(path, f"{value[:40]!r} is not an ISO 8601 datetime such as "
                                  "\"2027-03-01T09:00:00+01:00\"") from None
    if moment.tzinfo is None:
        raise InvalidSeries(path, f"{value[:40]!r} has no UTC offset (write e.g. \"+01:00\" or \"Z\")")
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise InvalidSeries(path, f"{value[:40]!r}: the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return moment


def _minute(value: object, path: str, *, end: bool) -> int:
    if not isinstance(value, str):
        raise InvalidSeries(path, f"expected a time such as \"09:30\", got {_kind(value)}")
    match = _TIME.fullmatch(value)
    if match is None:
        raise InvalidSeries(path, f"{value[:40]!r} is not a time \"HH:MM\"")
    hours, minutes = int(match[1]), int(match[2])
    if end and (hours, minutes) == (24, 0):
        return 1440
    if hours > 23 or minutes > 59:
        allowed = "00:00 to 23:59, or 24:00 for the end of the day" if end else "00:00 to 23:59"
        raise InvalidSeries(path, f"{value!r} is not a time of day ({allowed})")
    return hours * 60 + minutes


def _weekly(items: object, path: str) -> tuple[planner.Weekly, ...]:
    out = []
    for i, item in enumerate(_list(items, path)):
        where = f"{path}[{i}]"
        w = _object(item, where, _WEEKLY)
        day = w["weekday"]
        if isinstance(day, bool) or not isinstance(day, int):
            raise InvalidSeries(f"{where}.weekday", f"expected a whole number 0 (Monday) to 6 (Sunday), "
                                                    f"got {_kind(day)}")
        if not 0 <= day <= 6:
            raise InvalidSeries(f"{where}.weekday", f"must be 0 (Monday) to 6 (Sunday), got {day}")
        start = _minute(w["start"], f"{where}.start", end=False)
        stop = _minute(w["end"], f"{where}.end", end=True)
        if stop <= start:
            raise InvalidSeries(f"{where}.end", f"must be after the start ({w['start']}), got {w['end']}")
        out.append(planner.Weekly(day, start, stop))
    return tuple(out)


class _Parser:
    def __init__(self) -> None:
        self.busy_count = 0

    def busy(self, items: object, path: str) -> tuple[planner.Interval, ...]:
        entries = _list(items, path)
        self.busy_count += len(entries)
        if self.busy_count > MAX_BUSY:
            raise InvalidSeries(path, f"more than {MAX_BUSY:,} busy intervals in the whole request")
        out: list[planner.Interval] = []
        parse = datetime.fromisoformat
        for i, entry in enumerate(entries):
            # The usual, well-formed entry in one test; anything else is checked piece by piece
            # below, which accepts the same entries and names what is wrong.
            if type(entry) is list and len(entry) == 2 and type(a := entry[0]) is str \
                    and type(b := entry[1]) is str:
                try:
                    start, end = parse(a), parse(b)
                except ValueError:
                    pass
                else:
                    if (start.tzinfo is not None and end.tzinfo is not None and end > start
                            and start.year >= MIN_YEAR and end.year <= MAX_YEAR):
                        out.append((start, end))
                        continue
            out.append(self._interval(entry, f"{path}[{i}]"))
        return tuple(out)

    @staticmethod
    def _interval(entry: object, where: str) -> planner.Interval:
        if not isinstance(entry, list) or len(entry) != 2:
            shape = f"a list of {len(entry)}" if isinstance(entry, list) else _kind(entry)
            raise InvalidSeries(where, f"expected [start, end], a list of two datetimes, got {shape}")
        start = _datetime(entry[0], f"{where}[0]")
        end = _datetime(entry[1], f"{where}[1]")
        if end <= start:
            raise InvalidSeries(where, f"the end {entry[1]} is not after the start {entry[0]}")
        return start, end


def _ids(items: list[Any], path: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            raise InvalidSeries(f"{path}[{i}].id", f"duplicate id {item.id!r}")
        seen.add(item.id)


def parse_request(data: object) -> planner.SeriesRequest:
    """Validate decoded JSON and build the planner's request; InvalidSeries names the first problem."""
    root = _object(data, "", _FIELDS)
    tz = _timezone(root["timezone"])
    not_before = _datetime(root["not_before"], "not_before")
    phases = []
    total = 0
    raw_phases = _list(root["phases"], "phases")
    if not raw_phases:
        raise InvalidSeries("phases", "must list at least one phase")
    for i, item in enumerate(raw_phases):
        path = f"phases[{i}]"
        p = _object(item, path, _PHASE)
        sessions = _integer(p["sessions"], f"{path}.sessions", 1, MAX_SESSIONS)
        interval = _integer(p["interval_days"], f"{path}.interval_days", 1, MAX_DAYS)
        tolerance = _integer(p.get("tolerance_days", 0), f"{path}.tolerance_days", 0, MAX_DAYS)
        if tolerance >= interval:
            raise InvalidSeries(f"{path}.tolerance_days", f"must be less than interval_days ({interval}), "
                                                          f"got {tolerance}")
        total += sessions
        if total > MAX_SESSIONS:
            raise InvalidSeries("phases", f"more than {MAX_SESSIONS} sessions in all")
        phases.append(planner.Phase(sessions, interval, tolerance))
    session_minutes = _integer(root["session_minutes"], "session_minutes", 1, MAX_MINUTES)
    prep_minutes = _integer(root.get("prep_minutes", 0), "prep_minutes", 0, MAX_MINUTES)
    requires_device = _optional_text(root.get("requires_device"), "requires_device")
    availability = _weekly(root["patient_availability"], "patient_availability")
    parser = _Parser()
    patient_busy = parser.busy(root.get("patient_busy", []), "patient_busy")
    practitioners = []
    for i, item in enumerate(_list(root["practitioners"], "practitioners")):
        path = f"practitioners[{i}]"
        p = _object(item, path, _PRACTITIONER)
        practitioners.append(planner.Practitioner(
            id=_text(p["id"], f"{path}.id"),
            working_hours=_weekly(p["working_hours"], f"{path}.working_hours"),
            busy=parser.busy(p.get("busy", []), f"{path}.busy")))
    _ids(practitioners, "practitioners")
    rooms = []
    for i, item in enumerate(_list(root["rooms"], "rooms")):
        path = f"rooms[{i}]"
        r = _object(item, path, _ROOM)
        rooms.append(planner.Room(id=_text(r["id"], f"{path}.id"),
                                  busy=parser.busy(r.get("busy", []), f"{path}.busy")))
    _ids(rooms, "rooms")
    devices = []
    for i, item in enumerate(_list(root.get("devices", []), "devices")):
        path = f"devices[{i}]"
        d = _object(item, path, _DEVICE)
        devices.append(planner.Device(id=_text(d["id"], f"{path}.id"), kind=_text(d["kind"], f"{path}.kind"),
                                      busy=parser.busy(d.get("busy", []), f"{path}.busy")))
    _ids(devices, "devices")
    practitioner_ids = {p.id for p in practitioners}
    preferred = _optional_text(root.get("preferred_practitioner"), "preferred_practitioner")
    if preferred is not None and preferred not in practitioner_ids:
        raise InvalidSeries("preferred_practitioner", f"{preferred[:60]!r} is not among practitioners")
    horizon = _integer(root.get("horizon_days", 90), "horizon_days", 1, MAX_DAYS)
    follows = None
    if root.get("follows") is not None:
        f = _object(root["follows"], "follows", _FOLLOWS)
        practitioner = _optional_text(f.get("practitioner"), "follows.practitioner")
        if practitioner is not None and practitioner not in practitioner_ids:
            raise InvalidSeries("follows.practitioner", f"{practitioner[:60]!r} is not among practitioners")
        room = _optional_text(f.get("room"), "follows.room")
        if room is not None and room not in {r.id for r in rooms}:
            raise InvalidSeries("follows.room", f"{room[:60]!r} is not among rooms")
        follows = planner.Follows(_datetime(f["start"], "follows.start"), practitioner, room)
    return planner.SeriesRequest(
        timezone=tz, not_before=not_before, phases=tuple(phases), session_minutes=session_minutes,
        patient_availability=availability, practitioners=tuple(practitioners), rooms=tuple(rooms),
        prep_minutes=prep_minutes, requires_device=requires_device, patient_busy=patient_busy,
        devices=tuple(devices), preferred_practitioner=preferred, horizon_days=horizon, follows=follows)


def _iso(moment: datetime, tz: ZoneInfo | None) -> str:
    return (moment.astimezone(tz) if tz is not None else moment).isoformat()


def proposal_to_json(p: planner.SeriesProposal, tz: ZoneInfo | None = None) -> dict[str, Any]:
    """The output shape; times written in `tz` (default: as the planner wrote them, in the request's
    timezone)."""
    return {
        "sessions": [{"index": s.index, "start": _iso(s.start, tz), "end": _iso(s.end, tz),
                      "prep_start": _iso(s.prep_start, tz) if s.prep_start is not None else None,
                      "practitioner": s.practitioner, "room": s.room, "device": s.device}
                     for s in p.sessions],
        "unplaced": [{"index": u.index, "reason": u.reason} for u in p.unplaced],
    }


def plan_series_json(data: object) -> dict[str, Any]:
    """The whole contract: decoded JSON in, output JSON out (InvalidSeries for bad input)."""
    request = parse_request(data)
    return proposal_to_json(planner.plan_series(request), request.timezone)
