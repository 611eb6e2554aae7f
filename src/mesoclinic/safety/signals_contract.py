"""The `safety-signals` contract (pure): strict JSON in, the engine's input, the clusters out as JSON.

Shared by `mesoclinic safety-signals`, the safety pages and the API: the product builds the same
JSON-shaped dict from its database (isoformat strings with offsets) and calls `parse` + `detect`.
Invalid input raises `ContractError(field, message)`, the field a dotted path such as
"events[3].onset" or "exposures[12].at".

Input: {"timezone": "Europe/Istanbul", "window_days": 84,
        "exposures": [{"session", "patient", "at", "room", "lots"}, …],
        "events": [{"id", "patient", "kind", "onset", "sessions"}, …]}
Output: {"clusters": [{"kind": "lot" | "room_day", "key", "events", "exposed_patients"}, …]}, each
cluster exactly these four fields in this order, clusters sorted by kind ("lot" first) then key,
and the lists inside sorted as plain strings (Python's default order), without duplicates. When an
event counts and what makes a cluster is `signals.detect`'s (its module docstring words the rule).

How the input is read:
- Strict JSON: NaN, Infinity and repeated keys are refused, and so are unknown fields at every
  level (as in the other contracts), so that a misspelt field is never silently ignored.
- `timezone`, `exposures` and `events` are required; `exposures` and `events` are lists and may
  be empty. `timezone` is an IANA name ("Europe/Istanbul"); an unknown name is invalid. A
  session's local date is its `at` converted to that zone.
- `window_days` is a whole number from 1 to 3660 (ten years); true, 84.0, "84" and null are
  invalid; absent means 84 (12 weeks).
- An exposure needs `session`, `patient`, `at` and `lots`. `at` is an ISO 8601 date and time with
  its UTC offset or "Z" ("2027-01-11T10:00:00+03:00"), years 1900 to 9000; a time without its
  offset is invalid, and so is a bare date. `lots` is a list of lot numbers (may be empty; a lot
  written twice counts once). `room` is a room name, or null or absent when the room is not
  known: such a session forms no room-day cluster. A room may contain "/" (the key is simply
  room + "/" + date). Two exposures with the same `session` are invalid.
- An event needs `id`, `patient`, `kind`, `onset` and `sessions`. `kind` is one of
  "suspected_infection", "infection", "other"; `onset` is a calendar date "YYYY-MM-DD" (a date and
  time is not a date); `sessions` lists session ids of the exposures (may be empty; a session
  named twice counts once), and a session no exposure has is invalid, naming the event and the
  session. Two events with the same `id` are invalid. The patients of a cluster's events are the
  events' own `patient` fields, which need not be the patient of the session.
- Ids, patients, rooms and lot numbers are non-blank strings of at most 200 characters; spaces
  around them are dropped, as in the other contracts.
- At most 10,000,000 exposures and 1,000,000 events, and 1,000 lots per session or sessions per
  event: a year of a busy chain is about 500,000 exposures.

Speed (a year of a busy chain, 500,000 exposures, is parsed in about a second): the usual,
well-formed exposure is checked in one test (lot numbers and `at` strings already read are
remembered: a chain's year repeats them all the time); anything else goes through the careful
path, which accepts the same entries and names what is wrong. Repeated sessions are found with
one set afterwards, still reported before any later problem. The cycle collector is paused while
the input is decoded and built (see `_no_cycle_collection`).
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mesoclinic.safety.signals import (
    DEFAULT_WINDOW_DAYS,
    KINDS,
    Cluster,
    Event,
    Exposure,
    SignalsInput,
    detect,
)

ROOT = "input"  # the field named when the whole document is wrong
MAX_TEXT = 200  # characters in an id, patient, room or lot number
MAX_ITEMS = 1000  # lots of one session, sessions of one event
MAX_EXPOSURES = 10_000_000
MAX_EVENTS = 1_000_000
MAX_WINDOW_DAYS = 3660  # ten years: anything longer is a typo
MIN_YEAR, MAX_YEAR = 1900, 9000  # datetimes outside are typos, and keep zone conversion safe

_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                       r"(Z|[+-][0-9]{2}:[0-9]{2})")
_LOCAL_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_EXAMPLE = "e.g. \"2027-01-11T10:00:00+03:00\""
_DATE_EXAMPLE = "\"YYYY-MM-DD\", e.g. \"2027-02-01\""


class ContractError(ValueError):
    """The input does not follow the contract; `field` names where, `message` says what."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- strict JSON -----------------------------------------------------------------------------


def _reject_constant(name: str) -> object:
    raise ContractError(ROOT, f"not valid JSON ({name} is not allowed)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # dict() in C, then a comparison of lengths: a year's file holds half a million objects.
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ContractError(ROOT, f"field {key!r} appears twice in one object")
            seen.add(key)
    return result


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cycle collector while a large input is built (and restore it as it was).

    Decoded JSON and the engine's input hold no reference cycles, yet building half a million
    objects sets the collector off over and over, each pass walking everything built so far:
    for a year of a chain that is most of the time (decode 3.0 s against 0.7 s, parse 2.0 s
    against 1.1 s). Nothing is lost: the collector runs as usual once it is back on; young
    garbage cycles elsewhere in the process only wait for its next full pass.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Freezing and unfreezing moves every tracked object into the oldest generation
            # without walking it, so the collector does not pay later for what was built here
            # (parse + detect 1.8 s instead of 2.1 s). Skipped when the process froze objects
            # itself (a server before fork): unfreeze would hand those back to the collector.
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def decode_json(text: str) -> Any:
    """Strict JSON: no NaN/Infinity, no repeated keys, bounded nesting."""
    try:
        with _no_cycle_collection():
            return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise ContractError(ROOT, f"not valid JSON ({exc.msg} at line {exc.lineno} column "
                                  f"{exc.colno})") from exc
    except RecursionError as exc:
        raise ContractError(ROOT, "nested too deeply") from exc


# --- field parsers ---------------------------------------------------------------------------


def _kind(value: object) -> str:
    """A JSON name for the type of a value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_ROOT = frozenset({"timezone", "window_days", "exposures", "events"})
_EXPOSURE = frozenset({"session", "patient", "at", "room", "lots"})
_EVENT = frozenset({"id", "patient", "kind", "onset", "sessions"})


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _object(value: object, path: str, allowed: frozenset[str]) -> dict[str, Any]:
    """An object with no field outside `allowed`. Required fields are read with `value[key]` in
    a `try`, and `_missing` turns the KeyError into the error naming the field."""
    if type(value) is dict and allowed.issuperset(value):
        return value
    if not isinstance(value, Mapping):
        raise ContractError(path or ROOT, f"expected an object, got {_kind(value)}")
    for key in value:
        if key not in allowed:
            raise ContractError(_join(path, key), "unknown field")
    return dict(value)


def _missing(exc: KeyError, path: str) -> ContractError:
    return ContractError(_join(path, exc.args[0]), "missing required field")


_from_datetime = datetime.fromisoformat
_from_date = date.fromisoformat


def _datetime(value: object, path: str) -> datetime:
    """An ISO 8601 datetime with its UTC offset, years MIN_YEAR to MAX_YEAR."""
    if not isinstance(value, str):
        raise ContractError(path, f"expected a date and time with its UTC offset ({_DATETIME_EXAMPLE}), "
                                  f"got {_kind(value)}")
    if not _DATETIME.fullmatch(value):
        if _DATE.fullmatch(value):
            raise ContractError(path, f"{value!r} is a date without a time (write the date and time with "
                                      f"its UTC offset, {_DATETIME_EXAMPLE})")
        if _LOCAL_DATETIME.fullmatch(value):
            raise ContractError(path, f"{value[:40]!r} has no UTC offset (write it with one, "
                                      f"{_DATETIME_EXAMPLE})")
        raise ContractError(path, f"{value[:40]!r} is not an ISO 8601 date and time with its UTC offset "
                                  f"({_DATETIME_EXAMPLE})")
    try:
        moment = _from_datetime(value)
    except ValueError:
        raise ContractError(path, f"{value[:40]!r} is not a valid date and time") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ContractError(path, f"{value[:40]!r}: the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return moment


def _onset(value: object, path: str) -> date:
    """A calendar date "YYYY-MM-DD" (fromisoformat takes only ASCII digits around the dashes)."""
    if type(value) is str and len(value) == 10 and value[4::3] == "--":
        try:
            return _from_date(value)
        except ValueError:
            raise ContractError(path, f"{value!r} is not a calendar date") from None
    if isinstance(value, str):
        raise ContractError(path, f"{value[:40]!r} is not a date (write the day only, {_DATE_EXAMPLE})")
    raise ContractError(path, f"expected a date ({_DATE_EXAMPLE}), got {_kind(value)}")


def _text(value: object, path: str) -> str:
    """A non-blank string of at most MAX_TEXT characters, without surrounding spaces."""
    if type(value) is not str:
        raise ContractError(path, f"expected a string, got {_kind(value)}")
    if len(value) > MAX_TEXT:
        raise ContractError(path, f"longer than {MAX_TEXT} characters")
    text = value.strip()
    if not text:
        raise ContractError(path, "must not be empty")
    return text


def _list(value: object, path: str, limit: int) -> list[Any]:
    if type(value) is not list:
        if not isinstance(value, list | tuple):
            raise ContractError(path, f"expected a list, got {_kind(value)}")
        value = list(value)
    if len(value) > limit:
        raise ContractError(path, f"more than {limit:,} entries")
    return value


def _texts(value: object, path: str) -> tuple[str, ...]:
    """A list of non-blank strings (lot numbers, session ids)."""
    if type(value) is list and len(value) <= MAX_ITEMS:
        texts = [t.strip() for t in value if type(t) is str and len(t) <= MAX_TEXT]
        if len(texts) == len(value) and all(texts):
            return tuple(texts)
    return tuple([_text(item, f"{path}[{i}]") for i, item in enumerate(_list(value, path, MAX_ITEMS))])


_ZONES: dict[str, ZoneInfo] = {}  # ZoneInfo reads a file: keep each zone once


def _timezone(value: object) -> ZoneInfo:
    """An IANA time zone name."""
    zone = _ZONES.get(value) if type(value) is str else None
    if zone is not None:
        return zone
    name = _text(value, "timezone")
    try:
        zone = ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError for odd keys, OSError…: all mean unknown
        raise ContractError("timezone", f"unknown time zone {name[:60]!r}: an IANA name such as "
                                        "\"Europe/Istanbul\"") from None
    if len(_ZONES) < 2000:  # there are about 600 names; never let odd spellings grow it for ever
        _ZONES[name] = zone
    return zone


def _window_days(value: object) -> int:
    """Whole days from 1 to MAX_WINDOW_DAYS (a boolean is not a number of days)."""
    if type(value) is not int:
        raise ContractError("window_days", f"expected a whole number of days, got {_kind(value)}")
    if value < 1:
        raise ContractError("window_days", f"must be at least 1, got {value}")
    if value > MAX_WINDOW_DAYS:
        raise ContractError("window_days", f"must be at most {MAX_WINDOW_DAYS:,} (ten years), got {value:,}")
    return value


# --- sections --------------------------------------------------------------------------------


def _exposures(value: object) -> tuple[tuple[Exposure, ...], frozenset[str]]:
    """The exposures, and their session ids (for the events)."""
    items = _list(value, "exposures", MAX_EXPOSURES)
    # Lot numbers already found well-formed (a clean string is its own stripped form) and `at`
    # strings already read: a chain's year repeats both all the time.
    lot_numbers: set[str] = set()
    moments: dict[str, datetime] = {}
    result: list[Exposure] = []
    append, make, known_lots, moment_of = result.append, _make_exposure, lot_numbers.issuperset, moments.get
    try:
        for i, raw in enumerate(items):
            # The usual, well-formed entry in one test: four fields, or five with the room.
            if type(raw) is dict and (len(raw) == 4 or (len(raw) == 5 and "room" in raw)):
                get = raw.get
                session, patient, at, room, lots = (get("session"), get("patient"), get("at"), get("room"),
                                                    get("lots"))
                if type(at) is str:
                    moment = moment_of(at) or _usual_datetime(at, moments)
                    if (moment is not None and type(session) is str and 0 < len(session) <= MAX_TEXT
                            and session == session.strip()
                            and type(patient) is str and 0 < len(patient) <= MAX_TEXT
                            and patient == patient.strip()
                            and (room is None or (type(room) is str and 0 < len(room) <= MAX_TEXT
                                                  and room == room.strip()))
                            and type(lots) is list and len(lots) <= MAX_ITEMS):
                        try:
                            clean = known_lots(lots)
                        except TypeError:  # an unhashable lot (a list, an object): the careful path says so
                            clean = False
                        if clean:
                            append(make(session, patient, moment, room, tuple(lots)))
                            continue
            append(_exposure(raw, i, lot_numbers, moments))
    except ContractError:
        _no_repeated_session(result)  # a session repeated before the bad entry is the first problem
        raise
    return tuple(result), _no_repeated_session(result)


def _no_repeated_session(exposures: list[Exposure]) -> frozenset[str]:
    """The session ids, each once; a repeated one is named where it appears the second time."""
    # One set built in C, rather than a test per entry in the loop above.
    sessions = frozenset([exposure.session for exposure in exposures])
    if len(sessions) != len(exposures):
        first: dict[str, int] = {}
        for i, exposure in enumerate(exposures):
            session = exposure.session
            if session in first:
                raise ContractError(f"exposures[{i}].session", f"session {session!r} appears twice (also in "
                                                               f"exposures[{first[session]}])")
            first[session] = i
    return sessions


def _exposure_maker() -> Callable[[str, str, datetime, str | None, tuple[str, ...]], Exposure]:
    """`Exposure(session, patient, at, room, lots)` in half the time, for half a million of them.

    A frozen dataclass's own __init__ sets each field through object.__setattr__; the slots'
    descriptors set the same fields directly. The object is the same (tests compare them).
    """
    new = object.__new__
    slots = Exposure.__dict__
    set_session, set_patient, set_at, set_room, set_lots = (
        slots[name].__set__ for name in ("session", "patient", "at", "room", "lots"))

    def make(session: str, patient: str, at: datetime, room: str | None, lots: tuple[str, ...]) -> Exposure:
        exposure = new(Exposure)
        set_session(exposure, session)
        set_patient(exposure, patient)
        set_at(exposure, at)
        set_room(exposure, room)
        set_lots(exposure, lots)
        return exposure

    return make


_make_exposure = _exposure_maker()


# Where the separators of "2027-01-11T10:00:00+03:00" and "2027-01-11T10:00:00Z" sit (every third
# character from the fifth), and the length that goes with them: the usual datetimes are checked
# with one slice, fromisoformat checking the digits; so is Python's isoformat() with microseconds
# ("2027-01-11T07:00:00.123456+00:00", the product's timestamps). Any other spelling goes through
# the regular expression of the careful path.
_DATETIME_SHAPES = {"--T::+:": 25, "--T::-:": 25, "--T::Z": 20}


def _usual_datetime(value: str, moments: dict[str, datetime]) -> datetime | None:
    """`value` read if it is written the usual way and valid, else None; remembered unless it has
    microseconds (then it is all but unique, and a cache would only grow)."""
    length = len(value)
    if _DATETIME_SHAPES.get(value[4::3]) == length:
        remember = True
    elif length == 32 and value[4:20:3] == "--T::." and value[29] == ":" and value[26] in "+-":
        remember = False
    else:
        return None
    try:
        moment = _from_datetime(value)
    except ValueError:
        return None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        return None
    if remember:
        moments[value] = moment
    return moment


def _exposure(raw: object, i: int, lot_numbers: set[str], moments: dict[str, datetime]) -> Exposure:
    """One exposure checked field by field, in the contract's order; remembers what was valid."""
    path = f"exposures[{i}]"
    item = _object(raw, path, _EXPOSURE)
    try:
        session, patient, at, lots = item["session"], item["patient"], item["at"], item["lots"]
    except KeyError as exc:
        raise _missing(exc, path) from None
    session = _text(session, f"{path}.session")
    patient = _text(patient, f"{path}.patient")
    moment = _datetime(at, f"{path}.at")
    room = item.get("room")
    room = None if room is None else _text(room, f"{path}.room")
    lots = _texts(lots, f"{path}.lots")
    lot_numbers.update(lots)
    moments[at] = moment
    return Exposure(session, patient, moment, room, lots)


def _event(raw: object, i: int, ids: dict[str, int], sessions: frozenset[str]) -> Event:
    """One event checked field by field, in the contract's order."""
    path = f"events[{i}]"
    item = _object(raw, path, _EVENT)
    try:
        event_id, patient, kind, onset, named = (item["id"], item["patient"], item["kind"], item["onset"],
                                                 item["sessions"])
    except KeyError as exc:
        raise _missing(exc, path) from None
    event_id = _text(event_id, f"{path}.id")
    if event_id in ids:
        raise ContractError(f"{path}.id", f"event {event_id!r} appears twice (also in "
                                          f"events[{ids[event_id]}])")
    patient = _text(patient, f"{path}.patient")
    if type(kind) is not str or kind not in KINDS:
        got = f"{kind[:MAX_TEXT]!r}" if isinstance(kind, str) else _kind(kind)
        raise ContractError(f"{path}.kind", f"unknown event kind {got} (expected one of {', '.join(KINDS)})")
    day = _onset(onset, f"{path}.onset")
    named = _texts(named, f"{path}.sessions")
    for j, session in enumerate(named):
        if session not in sessions:
            raise ContractError(f"{path}.sessions[{j}]", f"event {event_id!r} names session {session!r}, "
                                                         "which no exposure has")
    ids[event_id] = i
    return Event(event_id, patient, kind, day, named)


def parse(data: object) -> SignalsInput:
    """Validate decoded JSON (or the product's dict of the same shape) and build the engine's
    input; ContractError names the first problem, sections in the contract's order."""
    root = _object(data, "", _ROOT)
    try:
        zone, exposures, events = root["timezone"], root["exposures"], root["events"]
    except KeyError as exc:
        raise _missing(exc, "") from None
    tz = _timezone(zone)
    window = _window_days(root.get("window_days", DEFAULT_WINDOW_DAYS))
    with _no_cycle_collection():
        found, sessions = _exposures(exposures)
    ids: dict[str, int] = {}
    return SignalsInput(tz, window, found, tuple([
        _event(raw, i, ids, sessions) for i, raw in enumerate(_list(events, "events", MAX_EVENTS))]))


def to_json(clusters: Sequence[Cluster]) -> dict[str, Any]:
    """The contract's output: every cluster, its four fields in the contract's order."""
    return {"clusters": [{"kind": cluster.kind, "key": cluster.key, "events": list(cluster.events),
                          "exposed_patients": list(cluster.exposed_patients)} for cluster in clusters]}


def signals_json(data: object) -> dict[str, Any]:
    """The whole contract: decoded JSON in, output JSON out (ContractError for bad input)."""
    return to_json(detect(parse(data)))
