"""The `safety-signals` contract: the issue's example in and out, how fields are read (defaults,
nulls, spellings of time, the quick and the careful path agreeing), and every refusal naming its
dotted field."""

from __future__ import annotations

import copy
import gc
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesoclinic.safety.signals import Cluster, Event, Exposure
from mesoclinic.safety.signals_contract import (
    ContractError,
    _make_exposure,
    decode_json,
    parse,
    signals_json,
    to_json,
)


def example() -> dict[str, Any]:
    """The issue's exposure and event, and enough around them for its example answer."""
    return {
        "timezone": "Europe/Istanbul", "window_days": 84,
        "exposures": [
            {"session": "s1", "patient": "p1", "at": "2027-01-11T10:00:00+03:00", "room": "room-1",
             "lots": ["HA-2291", "LID-17"]},
            {"session": "s2", "patient": "p2", "at": "2027-01-14T11:30:00+03:00", "room": "room-2",
             "lots": ["HA-2291"]},
            {"session": "s3", "patient": "p9", "at": "2027-02-20T09:00:00+03:00", "room": "room-1",
             "lots": ["HA-2291", "VC-3"]},
            {"session": "s4", "patient": "p3", "at": "2027-01-11T15:00:00+03:00", "room": None,
             "lots": ["LID-17"]},
        ],
        "events": [
            {"id": "e1", "patient": "p1", "kind": "suspected_infection", "onset": "2027-02-01",
             "sessions": ["s1"]},
            {"id": "e4", "patient": "p2", "kind": "infection", "onset": "2027-01-30", "sessions": ["s2"]},
            {"id": "e5", "patient": "p3", "kind": "other", "onset": "2027-01-12", "sessions": ["s4"]},
        ],
    }


EXAMPLE_ANSWER = {"clusters": [{"kind": "lot", "key": "HA-2291", "events": ["e1", "e4"],
                                "exposed_patients": ["p1", "p2", "p9"]}]}


def refusal(data: object) -> ContractError:
    with pytest.raises(ContractError) as caught:
        parse(data)
    return caught.value


def with_(path: str, value: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The example (or `data`) with one field, "a.0.b", set to value (or removed: ...)."""
    data = copy.deepcopy(data if data is not None else example())
    *parents, last = path.split(".")
    target: Any = data
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    index: Any = int(last) if isinstance(target, list) else last
    if value is ...:
        del target[index]
    else:
        target[index] = value
    return data


# --- valid input ---------------------------------------------------------------------------------

def test_the_issues_example_gives_its_answer():
    assert signals_json(example()) == EXAMPLE_ANSWER
    assert signals_json(decode_json(json.dumps(example()))) == EXAMPLE_ANSWER


def test_the_output_has_exactly_the_contracts_fields_in_order():
    output = signals_json(example())
    assert list(output) == ["clusters"]
    assert [list(c) for c in output["clusters"]] == [["kind", "key", "events", "exposed_patients"]]
    assert to_json(()) == {"clusters": []}
    assert to_json((Cluster("room_day", "r/2027-01-11", ("e1", "e2"), ("p1",)),)) == {"clusters": [
        {"kind": "room_day", "key": "r/2027-01-11", "events": ["e1", "e2"], "exposed_patients": ["p1"]}]}


def test_parse_builds_the_engines_input():
    inp = parse(example())
    assert inp.timezone == ZoneInfo("Europe/Istanbul")
    assert inp.window_days == 84
    assert inp.exposures[0] == Exposure("s1", "p1", datetime(2027, 1, 11, 7, tzinfo=UTC), "room-1",
                                        ("HA-2291", "LID-17"))
    assert inp.exposures[0].at.utcoffset() == timedelta(hours=3)
    assert inp.exposures[3].room is None
    assert inp.events[0] == Event("e1", "p1", "suspected_infection", date(2027, 2, 1), ("s1",))


def test_window_days_absent_means_84():
    assert parse(with_("window_days", ...)).window_days == 84
    # An onset 85 days after the session is out of an absent window, in with 85.
    data = with_("events.1.onset", "2027-04-09", with_("window_days", ...))
    assert signals_json(data) == {"clusters": []}
    assert signals_json(with_("window_days", 85, data)) == EXAMPLE_ANSWER


def test_empty_lists_are_valid_and_find_nothing():
    assert signals_json({"timezone": "UTC", "exposures": [], "events": []}) == {"clusters": []}
    data = with_("exposures.0.lots", [], with_("events.0.sessions", []))
    assert parse(data).exposures[0].lots == ()
    assert parse(data).events[0].sessions == ()
    assert signals_json(data) == {"clusters": []}


def test_an_absent_or_null_room_is_not_known():
    assert parse(with_("exposures.0.room", ...)).exposures[0].room is None
    assert parse(with_("exposures.0.room", None)).exposures[0].room is None


def test_repeated_lots_and_sessions_count_once():
    data = with_("exposures.0.lots", ["HA-2291", "HA-2291", "LID-17"],
                 with_("events.0.sessions", ["s1", "s1"]))
    assert signals_json(data) == EXAMPLE_ANSWER


def test_spaces_around_names_are_dropped():
    data = with_("exposures.1.session", " s2 ", with_("exposures.1.lots", ["HA-2291 "],
                                                      with_("events.1.sessions", ["s2\t"])))
    assert signals_json(data) == EXAMPLE_ANSWER
    assert parse(with_("exposures.0.room", " room-1 ")).exposures[0].room == "room-1"


@pytest.mark.parametrize("at", [
    "2027-01-11T10:00:00+03:00", "2027-01-11T07:00:00Z", "2027-01-11T07:00:00+00:00",
    "2027-01-11 10:00:00+03:00", "2027-01-11T10:00+03:00", "2027-01-11T10:00:00.250000+03:00",
    "2027-01-10T23:00:00-08:00"])
def test_each_spelling_of_a_time_with_its_offset_is_read_as_the_same_moment(at):
    moment = parse(with_("exposures.0.at", at)).exposures[0].at
    assert abs(moment - datetime(2027, 1, 11, 7, tzinfo=UTC)) <= timedelta(seconds=1)


def test_the_local_date_is_taken_in_the_inputs_time_zone():
    # Both sessions in room-1 at 23:30 UTC on the 11th: the 12th in Istanbul, the 11th in New York.
    data = with_("exposures.1.room", "room-1", with_("exposures.1.at", "2027-01-11T23:30:00Z",
                                                     with_("exposures.0.at", "2027-01-11T23:30:00Z")))
    keys = [c["key"] for c in signals_json(data)["clusters"]]
    assert keys == ["HA-2291", "room-1/2027-01-12"]
    keys = [c["key"] for c in signals_json(with_("timezone", "America/New_York", data))["clusters"]]
    assert keys == ["HA-2291", "room-1/2027-01-11"]


def test_the_quick_and_the_careful_path_read_entries_alike():
    # The first sight of a lot or a time goes through the careful path, later ones the quick one.
    entry = {"session": "s", "patient": "p", "at": "2027-01-11T10:00:00+03:00", "room": "r", "lots": ["L"]}
    data = {"timezone": "UTC", "events": [], "exposures": [
        {**entry, "session": f"s{n}", "patient": f" p{n % 2}", "room": ["r", None, " r "][n % 3]}
        for n in range(6)] + [{k: v for k, v in entry.items() if k != "room"} | {"session": "s9"}]}
    exposures = parse(data).exposures
    assert [(e.session, e.patient, e.room, e.lots) for e in exposures] == [
        ("s0", "p0", "r", ("L",)), ("s1", "p1", None, ("L",)), ("s2", "p0", "r", ("L",)),
        ("s3", "p1", "r", ("L",)), ("s4", "p0", None, ("L",)), ("s5", "p1", "r", ("L",)),
        ("s9", "p", None, ("L",))]
    assert len({e.at for e in exposures}) == 1


def test_the_quick_exposure_is_the_same_object_as_the_dataclasss_own():
    at = datetime(2027, 1, 11, 7, tzinfo=UTC)
    made, built = _make_exposure("s1", "p1", at, None, ("L",)), Exposure("s1", "p1", at, None, ("L",))
    assert made == built
    assert hash(made) == hash(built)
    assert repr(made) == repr(built)
    with pytest.raises(AttributeError):
        made.patient = "p2"  # type: ignore[misc]


def test_a_tuple_of_entries_from_the_product_is_read_like_a_list():
    data = example()
    data["exposures"] = tuple(data["exposures"])
    data["exposures"][0]["lots"] = ("HA-2291", "LID-17")
    assert signals_json(data) == EXAMPLE_ANSWER


@pytest.mark.parametrize("enabled", [True, False])
def test_the_cycle_collector_is_left_as_it_was(enabled):
    was = gc.isenabled()
    try:
        if not enabled:
            gc.disable()
        parse(example())
        decode_json(json.dumps(example()))
        assert gc.isenabled() is enabled
        with pytest.raises(ContractError):
            parse(with_("exposures.1.at", "yesterday"))
        assert gc.isenabled() is enabled
    finally:
        if was:
            gc.enable()


# --- refusals ------------------------------------------------------------------------------------

INVALID = [
    # the document
    ("not an object", [], "input", "expected an object"),
    ("unknown top-level field", with_("colour", "blue"), "colour", "unknown field"),
    ("timezone missing", with_("timezone", ...), "timezone", "missing required field"),
    ("exposures missing", with_("exposures", ...), "exposures", "missing required field"),
    ("events missing", with_("events", ...), "events", "missing required field"),
    ("unknown time zone", with_("timezone", "Europe/Atlantis"), "timezone", "unknown time zone"),
    ("time zone not a string", with_("timezone", 3), "timezone", "expected a string"),
    ("time zone empty", with_("timezone", " "), "timezone", "must not be empty"),
    ("time zone null", with_("timezone", None), "timezone", "expected a string"),
    ("window 0", with_("window_days", 0), "window_days", "must be at least 1"),
    ("window negative", with_("window_days", -5), "window_days", "must be at least 1"),
    ("window too long", with_("window_days", 3661), "window_days", "must be at most 3,660"),
    ("window a boolean", with_("window_days", True), "window_days", "expected a whole number"),
    ("window a float", with_("window_days", 84.0), "window_days", "expected a whole number"),
    ("window a string", with_("window_days", "84"), "window_days", "expected a whole number"),
    ("window null", with_("window_days", None), "window_days", "expected a whole number"),
    ("exposures not a list", with_("exposures", {"s1": {}}), "exposures", "expected a list"),
    ("events not a list", with_("events", "e1"), "events", "expected a list"),
    # exposures
    ("exposure not an object", with_("exposures.2", "s3"), "exposures[2]", "expected an object"),
    ("unknown exposure field", with_("exposures.1.clinic", "c1"), "exposures[1].clinic", "unknown field"),
    ("session missing", with_("exposures.1.session", ...), "exposures[1].session", "missing required field"),
    ("patient missing", with_("exposures.1.patient", ...), "exposures[1].patient", "missing required field"),
    ("at missing", with_("exposures.1.at", ...), "exposures[1].at", "missing required field"),
    ("lots missing", with_("exposures.1.lots", ...), "exposures[1].lots", "missing required field"),
    ("session not a string", with_("exposures.1.session", 2), "exposures[1].session", "expected a string"),
    ("session empty", with_("exposures.1.session", ""), "exposures[1].session", "must not be empty"),
    ("session too long", with_("exposures.1.session", "s" * 201), "exposures[1].session", "longer than 200"),
    ("patient null", with_("exposures.1.patient", None), "exposures[1].patient", "expected a string"),
    ("repeated session", with_("exposures.3.session", "s2"), "exposures[3].session",
     "session 's2' appears twice (also in exposures[1])"),
    ("time without its offset", with_("exposures.2.at", "2027-02-20T09:00:00"), "exposures[2].at",
     "has no UTC offset"),
    ("a bare date as the time", with_("exposures.2.at", "2027-02-20"), "exposures[2].at",
     "is a date without a time"),
    ("time not ISO", with_("exposures.2.at", "20/02/2027 09:00"), "exposures[2].at", "not an ISO 8601"),
    ("impossible time", with_("exposures.2.at", "2027-02-30T09:00:00+03:00"), "exposures[2].at",
     "not a valid date and time"),
    ("time out of range", with_("exposures.2.at", "0001-01-01T00:00:00+00:00"), "exposures[2].at",
     "the year must be between"),
    ("time a number", with_("exposures.2.at", 1_800_000_000), "exposures[2].at", "expected a date and time"),
    ("room empty", with_("exposures.0.room", ""), "exposures[0].room", "must not be empty"),
    ("room a number", with_("exposures.0.room", 1), "exposures[0].room", "expected a string"),
    ("lots not a list", with_("exposures.0.lots", "HA-2291"), "exposures[0].lots", "expected a list"),
    ("lot empty", with_("exposures.0.lots", ["HA-2291", " "]), "exposures[0].lots[1]", "must not be empty"),
    ("lot a number", with_("exposures.0.lots", [2291]), "exposures[0].lots[0]", "expected a string"),
    ("lot a list", with_("exposures.0.lots", [["HA-2291"]]), "exposures[0].lots[0]", "expected a string"),
    ("lot too long", with_("exposures.0.lots", ["L" * 201]), "exposures[0].lots[0]", "longer than 200"),
    ("too many lots", with_("exposures.0.lots", [f"L{n}" for n in range(1001)]), "exposures[0].lots",
     "more than 1,000 entries"),
    # events
    ("event not an object", with_("events.1", ["e4"]), "events[1]", "expected an object"),
    ("unknown event field", with_("events.1.severity", "mild"), "events[1].severity", "unknown field"),
    ("event id missing", with_("events.1.id", ...), "events[1].id", "missing required field"),
    ("event patient missing", with_("events.1.patient", ...), "events[1].patient", "missing required field"),
    ("kind missing", with_("events.1.kind", ...), "events[1].kind", "missing required field"),
    ("onset missing", with_("events.1.onset", ...), "events[1].onset", "missing required field"),
    ("sessions missing", with_("events.1.sessions", ...), "events[1].sessions", "missing required field"),
    ("repeated event id", with_("events.2.id", "e1"), "events[2].id",
     "event 'e1' appears twice (also in events[0])"),
    ("unknown kind", with_("events.1.kind", "abscess"), "events[1].kind",
     "unknown event kind 'abscess' (expected one of suspected_infection, infection, other)"),
    ("kind null", with_("events.1.kind", None), "events[1].kind", "unknown event kind null"),
    ("onset a date and time", with_("events.1.onset", "2027-01-30T10:00:00+03:00"), "events[1].onset",
     "is not a date"),
    ("onset not a date", with_("events.1.onset", "last week"), "events[1].onset", "is not a date"),
    ("onset impossible", with_("events.1.onset", "2027-02-30"), "events[1].onset", "is not a calendar date"),
    ("onset a number", with_("events.1.onset", 20270130), "events[1].onset", "expected a date"),
    ("sessions not a list", with_("events.1.sessions", "s2"), "events[1].sessions", "expected a list"),
    ("unknown session", with_("events.1.sessions", ["s2", "s99"]), "events[1].sessions[1]",
     "event 'e4' names session 's99', which no exposure has"),
    ("session id not a string", with_("events.1.sessions", [2]), "events[1].sessions[0]",
     "expected a string"),
]


@pytest.mark.parametrize(("data", "field", "message"), [(d, f, m) for _, d, f, m in INVALID],
                         ids=[name for name, _, _, _ in INVALID])
def test_invalid_input_is_refused_naming_the_field(data, field, message):
    error = refusal(data)
    assert error.field == field
    assert message in error.message
    assert str(error) == f"{field}: {error.message}"


def test_the_first_problem_is_named_even_when_a_session_is_repeated_before_it():
    data = with_("exposures.3.at", "yesterday", with_("exposures.2.session", "s1"))
    assert refusal(data).field == "exposures[2].session"
    data = with_("exposures.1.at", "yesterday", with_("exposures.2.session", "s1"))
    assert refusal(data).field == "exposures[1].at"


def test_a_repeated_session_is_found_however_it_is_spelt():
    assert refusal(with_("exposures.2.session", " s1")).field == "exposures[2].session"


@pytest.mark.parametrize(("text", "message"), [
    ('{"timezone": "UTC", "exposures": [], "events": [}', "not valid JSON"),
    ('{"timezone": "UTC", "window_days": NaN, "exposures": [], "events": []}', "NaN is not allowed"),
    ('{"timezone": "UTC", "window_days": Infinity, "exposures": [], "events": []}',
     "Infinity is not allowed"),
    ('{"timezone": "UTC", "timezone": "UTC", "exposures": [], "events": []}',
     "field 'timezone' appears twice"),
    ('{"timezone": "UTC", "exposures": [{"session": "s1", "session": "s2"}], "events": []}',
     "field 'session' appears twice"),
    ("", "not valid JSON"),
    ("[" * 100_000, "nested too deeply"),
])
def test_decode_json_refuses_what_is_not_strict_json(text, message):
    with pytest.raises(ContractError) as caught:
        decode_json(text)
    assert caught.value.field == "input"
    assert message in caught.value.message


# --- properties ----------------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", " a", "a ", "B", "x/y"])
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 8))
    exposures = []
    for i in range(n):
        entry: dict[str, Any] = {
            "session": f"s{i}", "patient": draw(NAMES),
            "at": (datetime(2027, 1, 11, 20, tzinfo=UTC) + timedelta(
                hours=draw(st.integers(0, 6)), microseconds=draw(st.sampled_from([0, 250_000])))
                   ).astimezone(timezone(timedelta(hours=draw(st.sampled_from([0, 3, -5]))))).isoformat(),
            "lots": draw(st.lists(NAMES, max_size=3))}
        room = draw(st.sampled_from([None, "r1", "r2", ...]))
        if room is not ...:
            entry["room"] = room
        exposures.append(entry)
    events = [{"id": f"e{i}", "patient": draw(NAMES), "kind": draw(st.sampled_from(["infection", "other"])),
               "onset": f"2027-01-{draw(st.integers(10, 14))}",
               "sessions": draw(st.lists(st.sampled_from([f"s{j}" for j in range(n)]), max_size=2))}
              for i in range(draw(st.integers(0, 6)))]
    return {"timezone": draw(st.sampled_from(["Europe/Istanbul", "UTC"])), "window_days": 2,
            "exposures": exposures, "events": events}


@SETTINGS
@given(documents(), st.randoms(use_true_random=False))
def test_the_json_answer_does_not_depend_on_the_order_of_the_input(data, rnd):
    shuffled = copy.deepcopy(data)
    rnd.shuffle(shuffled["exposures"])
    rnd.shuffle(shuffled["events"])
    assert signals_json(shuffled) == signals_json(data)
    assert signals_json(decode_json(json.dumps(data))) == signals_json(data)


@SETTINGS
@given(documents())
def test_parse_reads_each_exposure_as_the_careful_path_alone_would(data):
    # Each exposure alone in a document: the careful path (first sight of its lots and time).
    alone = [parse({"timezone": data["timezone"], "exposures": [e], "events": []}).exposures[0]
             for e in data["exposures"]]
    assert list(parse(data).exposures) == alone
