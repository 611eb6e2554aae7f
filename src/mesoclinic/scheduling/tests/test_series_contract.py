"""`mesoclinic plan-series FILE|-`: the JSON contract, its refusals, and the console script."""

from __future__ import annotations

import copy
import io
import json
import sys
from typing import Any

import pytest

from mesoclinic import cli
from mesoclinic.scheduling import series_cli, series_contract
from mesoclinic.scheduling.series_contract import InvalidSeries, decode_json, parse_request, plan_series_json


def week() -> list[dict[str, Any]]:
    return [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)]


def example() -> dict[str, Any]:
    return {
        "timezone": "Europe/Berlin",
        "not_before": "2027-03-01T08:00:00+01:00",
        "phases": [{"sessions": 4, "interval_days": 7, "tolerance_days": 1},
                   {"sessions": 2, "interval_days": 28, "tolerance_days": 2}],
        "session_minutes": 30,
        "prep_minutes": 30,
        "requires_device": "ultrasound",
        "patient_availability": [{"weekday": 0, "start": "09:00", "end": "13:00"}],
        "patient_busy": [["2027-03-08T09:00:00+01:00", "2027-03-08T12:00:00+01:00"]],
        "practitioners": [{"id": "dr-a", "working_hours": week(),
                           "busy": [["2027-03-01T09:00:00+01:00", "2027-03-01T10:00:00+01:00"]]},
                          {"id": "dr-b", "working_hours": week()}],
        "rooms": [{"id": "room-1", "busy": []}],
        "devices": [{"id": "us-1", "kind": "ultrasound", "busy": []}],
        "preferred_practitioner": "dr-a",
    }


def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = series_cli.run(argv, io.StringIO(stdin), out, err)
    return code, out.getvalue(), err.getvalue()


EXPECTED_SESSIONS = [
    # Monday 1 March: dr-a (preferred) is busy until 10:00, so 10:00 after the cream from 09:30.
    ("2027-03-01T10:00:00+01:00", "2027-03-01T10:30:00+01:00", "2027-03-01T09:30:00+01:00"),
    # Monday 8 March: the patient is busy until 12:00, so the cream at 12:00 and the session at 12:30.
    ("2027-03-08T12:30:00+01:00", "2027-03-08T13:00:00+01:00", "2027-03-08T12:00:00+01:00"),
    ("2027-03-15T10:00:00+01:00", "2027-03-15T10:30:00+01:00", "2027-03-15T09:30:00+01:00"),
    ("2027-03-22T10:00:00+01:00", "2027-03-22T10:30:00+01:00", "2027-03-22T09:30:00+01:00"),
    # Phase 2: 28 days, and summer time: still 10:00 local, now +02:00.
    ("2027-04-19T10:00:00+02:00", "2027-04-19T10:30:00+02:00", "2027-04-19T09:30:00+02:00"),
    ("2027-05-17T10:00:00+02:00", "2027-05-17T10:30:00+02:00", "2027-05-17T09:30:00+02:00"),
]


def test_a_valid_request_round_trips_through_run_with_exactly_the_contracts_keys(tmp_path):
    path = tmp_path / "series.json"
    path.write_text(json.dumps(example()), encoding="utf-8")
    code, out, err = run([str(path)])
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert set(result) == {"sessions", "unplaced"}
    assert result["unplaced"] == []
    for session in result["sessions"]:
        assert set(session) == {"index", "start", "end", "prep_start", "practitioner", "room", "device"}
    assert [(s["start"], s["end"], s["prep_start"]) for s in result["sessions"]] == EXPECTED_SESSIONS
    assert [s["index"] for s in result["sessions"]] == [1, 2, 3, 4, 5, 6]
    assert {(s["practitioner"], s["room"], s["device"]) for s in result["sessions"]} == {
        ("dr-a", "room-1", "us-1")}


def test_dash_reads_standard_input_and_gives_the_same_answer():
    code, out, err = run(["-"], json.dumps(example()))
    assert (code, err) == (0, "")
    assert json.loads(out) == plan_series_json(example())


def test_the_console_script_dispatches_plan_series_without_django(tmp_path, monkeypatch, capsys):
    path = tmp_path / "series.json"
    path.write_text(json.dumps(example()), encoding="utf-8")
    assert cli.main(["mesoclinic", "plan-series", str(path)]) == 0
    captured = capsys.readouterr()
    assert [s["start"] for s in json.loads(captured.out)["sessions"]] == [s[0] for s in EXPECTED_SESSIONS]
    assert captured.err == ""
    monkeypatch.setattr(sys, "stdin", io.StringIO("{"))
    assert cli.main(["mesoclinic", "plan-series", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: input: not valid JSON")


def test_the_pure_modules_do_not_import_django():
    import subprocess

    code = ("import sys; import mesoclinic.scheduling.series_cli, mesoclinic.scheduling.planner; "
            "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert done.stdout.strip() == "False"


def test_help_prints_the_usage_and_exits_0():
    for flag in ("-h", "--help"):
        code, out, err = run([flag])
        assert (code, err) == (0, "")
        assert out.startswith("usage: mesoclinic plan-series FILE|-")


@pytest.mark.parametrize("argv", [[], ["a.json", "b.json"], ["--verbose"]])
def test_wrong_arguments_exit_2_with_the_usage(argv):
    code, out, err = run(argv)
    assert (code, out) == (2, "")
    assert err.startswith("error: usage: mesoclinic plan-series")


def test_unplaced_sessions_still_exit_0_and_list_every_index_once():
    data = example()
    data["rooms"] = []
    code, out, err = run(["-"], json.dumps(data))
    assert (code, err) == (0, "")
    assert json.loads(out) == {"sessions": [],
                               "unplaced": [{"index": i, "reason": "no rooms"} for i in range(1, 7)]}


@pytest.mark.parametrize(("change", "reason"), [
    ({"practitioners": [], "preferred_practitioner": None}, "no practitioners"),
    ({"patient_availability": []}, "the patient has no availability"),
    ({"devices": [{"id": "l-1", "kind": "laser"}]}, "no device of kind 'ultrasound'"),
])
def test_empty_resources_are_valid_and_give_the_reason(change, reason):
    result = plan_series_json({**example(), **change})
    assert result["sessions"] == []
    assert {u["reason"] for u in result["unplaced"]} == {reason}


def test_a_request_with_only_the_required_fields_uses_the_defaults():
    data = {k: v for k, v in example().items() if k in series_contract._REQUIRED}
    data["practitioners"] = [{"id": "dr-a", "working_hours": week()}]
    data["phases"] = [{"sessions": 2, "interval_days": 7}]
    request = parse_request(data)
    assert (request.prep_minutes, request.requires_device, request.patient_busy, request.devices,
            request.preferred_practitioner, request.horizon_days, request.follows) == (0, None, (), (), None,
                                                                                     90, None)
    result = plan_series_json(data)
    assert [(s["start"], s["prep_start"], s["device"]) for s in result["sessions"]] == [
        ("2027-03-01T09:00:00+01:00", None, None), ("2027-03-08T09:00:00+01:00", None, None)]


def test_follows_and_horizon_are_read():
    data = {**example(), "horizon_days": 30,
            "follows": {"start": "2027-03-01T11:00:00+01:00", "practitioner": "dr-b", "room": "room-1"}}
    data["patient_busy"] = []
    request = parse_request(data)
    assert request.horizon_days == 30
    assert request.follows is not None
    assert request.follows.practitioner == "dr-b"
    first = plan_series_json(data)["sessions"][0]
    # Measured from the held session: a week later, at its time, with the preferred dr-a.
    assert (first["start"], first["practitioner"]) == ("2027-03-08T11:00:00+01:00", "dr-a")


def test_times_are_written_in_the_requests_timezone_whatever_the_inputs_offsets():
    data = example()
    data["not_before"] = "2027-03-01T07:00:00Z"
    assert plan_series_json(data)["sessions"][0]["start"] == "2027-03-01T10:00:00+01:00"


def _with(path: str, value: Any) -> dict[str, Any]:
    """The example with the field at a dotted path (a[0].b) set, or deleted for DELETE."""
    data = copy.deepcopy(example())
    parts = path.replace("]", "").replace("[", ".").split(".")
    target: Any = data
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last: Any = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return data


class _Delete:
    """A sentinel for "leave the field out"; its repr names the test case (the same in every
    xdist worker, which must collect identical test ids)."""

    def __repr__(self) -> str:
        return "<missing>"


DELETE = _Delete()
INVALID = [
    ("timezone", "Mars/Olympus", "timezone: unknown timezone 'Mars/Olympus'"),
    ("timezone", "/etc/passwd", "timezone: unknown timezone"),
    ("timezone", "../../etc", "timezone: unknown timezone"),
    ("timezone", "", "timezone: expected a non-empty string"),
    ("timezone", 1, "timezone: expected a non-empty string, got the number 1"),
    ("not_before", "2027-03-01T08:00:00", "not_before: '2027-03-01T08:00:00' has no UTC offset"),
    ("not_before", "2027-03-01", "not_before: '2027-03-01' has no UTC offset"),
    ("not_before", "yesterday", "not_before: 'yesterday' is not an ISO 8601 datetime"),
    ("not_before", "2027-02-30T08:00:00+01:00", "not_before: '2027-02-30T08:00:00+01:00' is not an ISO"),
    ("not_before", DELETE, "not_before: missing required field"),
    ("timezone", DELETE, "timezone: missing required field"),
    ("phases", DELETE, "phases: missing required field"),
    ("session_minutes", DELETE, "session_minutes: missing required field"),
    ("patient_availability", DELETE, "patient_availability: missing required field"),
    ("practitioners", DELETE, "practitioners: missing required field"),
    ("rooms", DELETE, "rooms: missing required field"),
    ("colour", "blue", "colour: unknown field"),
    ("phases[0].extra", 1, "phases[0].extra: unknown field"),
    ("practitioners[0].name", "A", "practitioners[0].name: unknown field"),
    ("practitioners[0].working_hours[1].lunch", True,
     "practitioners[0].working_hours[1].lunch: unknown field"),
    ("rooms[0].size", 3, "rooms[0].size: unknown field"),
    ("devices[0].serial", "x", "devices[0].serial: unknown field"),
    ("patient_availability[0].note", "x", "patient_availability[0].note: unknown field"),
    ("phases", [], "phases: must list at least one phase"),
    ("phases", {}, "phases: expected a list, got an object"),
    ("phases[0].sessions", 0, "phases[0].sessions: must be at least 1, got 0"),
    ("phases[0].sessions", True, "phases[0].sessions: expected a whole number, got a boolean"),
    ("phases[0].sessions", "4", "phases[0].sessions: expected a whole number, got the string '4'"),
    ("phases[0].sessions", 4.0, "phases[0].sessions: expected a whole number, got the number 4.0"),
    ("phases[0].sessions", 99, "phases: more than 100 sessions in all"),
    ("phases[0].interval_days", 0, "phases[0].interval_days: must be at least 1, got 0"),
    ("phases[0].tolerance_days", -1, "phases[0].tolerance_days: must be at least 0, got -1"),
    ("phases[0].tolerance_days", 7, "phases[0].tolerance_days: must be less than interval_days (7), got 7"),
    ("phases[0].interval_days", DELETE, "phases[0].interval_days: missing required field"),
    ("session_minutes", 0, "session_minutes: must be at least 1, got 0"),
    ("session_minutes", False, "session_minutes: expected a whole number, got a boolean"),
    ("session_minutes", "30", "session_minutes: expected a whole number, got the string '30'"),
    ("prep_minutes", -5, "prep_minutes: must be at least 0, got -5"),
    ("prep_minutes", None, "prep_minutes: expected a whole number, got null"),
    ("horizon_days", 0, "horizon_days: must be at least 1, got 0"),
    ("requires_device", 5, "requires_device: expected a non-empty string"),
    ("patient_availability[0].weekday", 7,
     "patient_availability[0].weekday: must be 0 (Monday) to 6 (Sunday), got 7"),
    ("practitioners[0].working_hours[1].weekday", 7,
     "practitioners[0].working_hours[1].weekday: must be 0 (Monday) to 6 (Sunday), got 7"),
    ("practitioners[0].working_hours[1].weekday", -1,
     "practitioners[0].working_hours[1].weekday: must be 0 (Monday) to 6 (Sunday), got -1"),
    ("practitioners[0].working_hours[1].weekday", True,
     "practitioners[0].working_hours[1].weekday: expected a whole number 0 (Monday) to 6 (Sunday), got a "
     "boolean"),
    ("practitioners[0].working_hours[1].weekday", "1",
     "practitioners[0].working_hours[1].weekday: expected a whole"),
    ("patient_availability[0].end", "09:00",
     "patient_availability[0].end: must be after the start (09:00), got 09:00"),
    ("patient_availability[0].end", "08:00", "patient_availability[0].end: must be after the start"),
    ("practitioners[1].working_hours[0].end", "07:00",
     "practitioners[1].working_hours[0].end: must be after"),
    ("patient_availability[0].start", "24:00", "patient_availability[0].start: '24:00' is not a time of day"),
    ("patient_availability[0].end", "24:30", "patient_availability[0].end: '24:30' is not a time of day"),
    ("patient_availability[0].start", "9:00",
     "patient_availability[0].start: '9:00' is not a time \"HH:MM\""),
    ("patient_availability[0].start", "09:60", "patient_availability[0].start: '09:60' is not a time of day"),
    ("patient_availability[0].start", 900, "patient_availability[0].start: expected a time such as"),
    ("patient_availability[0].weekday", DELETE, "patient_availability[0].weekday: missing required field"),
    ("patient_availability", [[0, "09:00", "13:00"]],
     "patient_availability[0]: expected an object, got a list"),
    ("patient_busy[0]", ["2027-03-08T12:00:00+01:00", "2027-03-08T09:00:00+01:00"],
     "patient_busy[0]: the end 2027-03-08T09:00:00+01:00 is not after the start 2027-03-08T12:00:00+01:00"),
    ("patient_busy[0]", ["2027-03-08T09:00:00+01:00", "2027-03-08T08:00:00Z"], "patient_busy[0]: the end"),
    ("patient_busy[0]", ["2027-03-08T09:00:00+01:00"],
     "patient_busy[0]: expected [start, end], a list of two datetimes, got a list of 1"),
    ("patient_busy[0]", ["2027-03-08T09:00:00+01:00", "2027-03-08T10:00:00+01:00", "x"],
     "patient_busy[0]: expected [start, end], a list of two datetimes, got a list of 3"),
    ("patient_busy[0]", {"start": "x"},
     "patient_busy[0]: expected [start, end], a list of two datetimes, got an object"),
    ("patient_busy[0]", ["2027-03-08T09:00:00", "2027-03-08T10:00:00+01:00"],
     "patient_busy[0][0]: '2027-03-08T09:00:00' has no UTC offset"),
    ("patient_busy[0]", ["2027-03-08T09:00:00+01:00", "soon"],
     "patient_busy[0][1]: 'soon' is not an ISO 8601"),
    ("practitioners[0].busy[0]", ["2027-03-01T10:00:00+01:00", "2027-03-01T10:00:00+01:00"],
     "practitioners[0].busy[0]: the end 2027-03-01T10:00:00+01:00 is not after the start"),
    ("rooms[0].busy", [[1, 2]], "rooms[0].busy[0][0]: expected a datetime string"),
    ("devices[0].busy", "none", "devices[0].busy: expected a list, got the string 'none'"),
    ("practitioners[1].id", "dr-a", "practitioners[1].id: duplicate id 'dr-a'"),
    ("rooms", [{"id": "r"}, {"id": "r"}], "rooms[1].id: duplicate id 'r'"),
    ("devices", [{"id": "d", "kind": "ultrasound"}, {"id": "d", "kind": "laser"}],
     "devices[1].id: duplicate id 'd'"),
    ("devices[0].kind", DELETE, "devices[0].kind: missing required field"),
    ("practitioners[0].id", "", "practitioners[0].id: expected a non-empty string"),
    ("practitioners[0].working_hours", DELETE, "practitioners[0].working_hours: missing required field"),
    ("rooms[0].id", None, "rooms[0].id: expected a non-empty string, got null"),
    ("preferred_practitioner", "dr-x", "preferred_practitioner: 'dr-x' is not among practitioners"),
    ("follows", {"start": "2027-02-22T10:00:00+01:00", "practitioner": "dr-x"},
     "follows.practitioner: 'dr-x' is not among practitioners"),
    ("follows", {"start": "2027-02-22T10:00:00+01:00", "room": "room-9"},
     "follows.room: 'room-9' is not among rooms"),
    ("follows", {"start": "2027-02-22T10:00:00"}, "follows.start: '2027-02-22T10:00:00' has no UTC offset"),
    ("follows", {"practitioner": "dr-a"}, "follows.start: missing required field"),
    ("follows", {"start": "2027-02-22T10:00:00+01:00", "device": "us-1"}, "follows.device: unknown field"),
    ("follows", "2027-02-22T10:00:00+01:00", "follows: expected an object, got the string"),
]


@pytest.mark.parametrize(("path", "value", "message"), INVALID,
                         ids=[f"{c[0]}={c[1]!r}"[:60] for c in INVALID])
def test_invalid_input_exits_2_with_one_line_naming_the_field_and_nothing_on_stdout(path, value, message):
    code, out, err = run(["-"], json.dumps(_with(path, value)))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.endswith("\n")
    assert err.startswith(f"error: {message}"), err


@pytest.mark.parametrize(("text", "message"), [
    ("", "input: not valid JSON"),
    ("{", "input: not valid JSON"),
    ('{"timezone": NaN}', "input: NaN is not allowed in JSON"),
    ('{"session_minutes": Infinity}', "input: Infinity is not allowed in JSON"),
    ('{"rooms": [], "rooms": []}', "input: field 'rooms' appears twice in one object"),
    ('{"practitioners": [{"id": "a", "id": "b"}]}', "input: field 'id' appears twice in one object"),
    ("[]", "input: expected an object, got a list"),
    ('"hello"', "input: expected an object, got the string 'hello'"),
    ("[" * 100_000 + "]" * 100_000, "input: nested too deeply"),
])
def test_malformed_json_exits_2(text, message):
    code, out, err = run(["-"], text)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {message}"), err
    assert err.count("\n") == 1


def test_an_unreadable_file_exits_2(tmp_path):
    code, out, err = run([str(tmp_path / "missing.json")])
    assert (code, out) == (2, "")
    assert err.startswith("error: ")
    assert "missing.json: cannot read" in err
    (tmp_path / "latin1.json").write_bytes(b'{"timezone": "\xe9"}')
    code, out, err = run([str(tmp_path / "latin1.json")])
    assert (code, out, err) == (2, "", f"error: {tmp_path / 'latin1.json'}: not UTF-8 text\n")


def test_more_than_a_hundred_thousand_busy_intervals_are_refused():
    data = example()
    interval = ["2026-01-01T09:00:00+01:00", "2026-01-01T09:30:00+01:00"]
    data["rooms"] = [{"id": "room-1", "busy": [interval] * 59_998},
                     {"id": "room-2", "busy": [interval] * 40_000}]
    assert len(parse_request(data).rooms[1].busy) == 40_000  # 100,000 in all (with 2 more) is the limit
    data["devices"][0]["busy"] = [interval]
    with pytest.raises(InvalidSeries) as caught:
        parse_request(data)
    assert caught.value.field == "devices[0].busy"
    assert caught.value.message == "more than 100,000 busy intervals in the whole request"


def test_invalid_series_carries_the_field_and_the_message():
    with pytest.raises(InvalidSeries) as caught:
        parse_request(decode_json(json.dumps(_with("phases[1].interval_days", -3))))
    assert caught.value.field == "phases[1].interval_days"
    assert caught.value.message == "must be at least 1, got -3"
    assert str(caught.value) == "phases[1].interval_days: must be at least 1, got -3"
