"""`mesoclinic session-check FILE|-`: the strict JSON contract, its refusals, and the console script
run as a user runs it (a subprocess), with exit 0 for any valid input and exit 2 with one line on
stderr naming the field for invalid input."""

from __future__ import annotations

import copy
import io
import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic import cli
from mesoclinic.charting import session_check as sc
from mesoclinic.charting import session_check_cli
from mesoclinic.charting.session_check_contract import (
    ContractError,
    _datetime,
    decode_json,
    parse,
    session_check_json,
)
from mesoclinic.charting.tests.test_session_check import example, ready

MESOCLINIC = str(Path(sys.executable).with_name("mesoclinic"))


def run_script(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([MESOCLINIC, "session-check", *args], input=stdin, capture_output=True,  # noqa: S603
                          text=True, timeout=60, check=False)


def refusal(data: object) -> ContractError:
    with pytest.raises(ContractError) as caught:
        parse(data)
    return caught.value


def with_(path: str, value: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ready input (or `data`) with one field, "a.b.0.c", set to value (or removed: ...)."""
    data = copy.deepcopy(data if data is not None else ready())
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


# --- the console script, as a user runs it --------------------------------------------------------

def test_the_script_reads_standard_input_and_exits_0_with_the_answer():
    done = run_script(["-"], json.dumps(example()))
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {"ready": False, "blocking": [
        {"code": "SCREENING_OPEN_ITEM", "message": "Still open in the screening: NSAID_WASHOUT.",
         "fix": "Meet each condition and screen again, or have a physician review and accept it. "
                "Aspirin and other NSAIDs must be stopped 7 days before treatment (F-NSAID)."}]}


def test_the_script_reads_a_file_and_exits_0_when_ready(tmp_path):
    path = tmp_path / "session.json"
    path.write_text(json.dumps(ready()), encoding="utf-8")
    done = run_script([str(path)])
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {"ready": True, "blocking": []}


def _malformed_json() -> str:
    return '{"now": "2027-01-11T10:00:00+03:00",'


INVALID = [
    ("malformed time", json.dumps(with_("now", "2027-01-11T25:00:00+03:00")), "now"),
    ("not a time at all", json.dumps(with_("screening.at", "yesterday")), "screening.at"),
    ("time without offset", json.dumps(with_("cream_applied_at", "2027-01-11T09:25:00")), "cream_applied_at"),
    ("unknown role", json.dumps(with_("performer.role", "surgeon")), "performer.role"),
    ("unknown credential kind", json.dumps(with_("performer.credentials.1.kind", "botox_course")),
     "performer.credentials[1].kind"),
    ("unknown decision", json.dumps(with_("screening.decision", "maybe")), "screening.decision"),
    ("unknown severity",
     json.dumps(with_("screening.open", [{"code": "NSAID_WASHOUT", "severity": "high"}])),
     "screening.open[0].severity"),
    ("unknown code",
     json.dumps(with_("screening.open", [{"code": "nsaid washout", "severity": "condition"}])),
     "screening.open[0].code"),
    ("unknown plan status", json.dumps(with_("plan.status", "paused")), "plan.status"),
    ("unknown event severity", json.dumps(with_("open_adverse_events.0.severity", "fatal")),
     "open_adverse_events[0].severity"),
    ("unknown time zone", json.dumps(with_("timezone", "Europe/Atlantis")), "timezone"),
    ("negative amount", json.dumps(with_("lots.0.needed", -1)), "lots[0].needed"),
    ("unknown field", json.dumps(with_("plan.colour", "blue")), "plan.colour"),
    ("invalid JSON", _malformed_json(), "input"),
    ("NaN", json.dumps(ready()).replace('"available": 3', '"available": NaN'), "input"),
    ("repeated field", json.dumps(ready())[:-1] + ', "now": "2027-01-11T10:00:00+03:00"}', "input"),
]


@pytest.mark.parametrize(("text", "field"), [(t, f) for _, t, f in INVALID], ids=[n for n, _, _ in INVALID])
def test_invalid_input_exits_2_with_one_line_naming_the_field_and_nothing_on_stdout(text, field):
    done = run_script(["-"], text)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert done.stderr.endswith("\n")
    assert lines[0].startswith(f"error: {field}: ")
    assert "Traceback" not in done.stderr


def test_a_missing_file_exits_2_naming_the_file(tmp_path):
    missing = tmp_path / "nowhere.json"
    done = run_script([str(missing)])
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [f"error: {missing}: cannot read (No such file or directory)"]


def test_the_error_stays_on_one_line_whatever_the_input_holds():
    done = run_script(["-"], json.dumps(with_("performer.role", "sur\ngeon\r\n")))
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("error: performer.role: unknown role ")


def test_in_process_run_gives_the_same_answers():
    out, err = io.StringIO(), io.StringIO()
    assert session_check_cli.run(["-"], io.StringIO(json.dumps(example())), out, err) == 0
    assert json.loads(out.getvalue()) == session_check_json(example())
    out, err = io.StringIO(), io.StringIO()
    surgeon = io.StringIO(json.dumps(with_("performer.role", "surgeon")))
    assert session_check_cli.run(["-"], surgeon, out, err) == 2
    assert out.getvalue() == ""
    assert err.getvalue() == ("error: performer.role: unknown role 'surgeon' (expected one of physician, "
                              "nurse)\n")


@pytest.mark.parametrize("argv", [[], ["a.json", "b.json"], ["--verbose"]])
def test_wrong_arguments_exit_2_with_the_usage(argv):
    out, err = io.StringIO(), io.StringIO()
    assert session_check_cli.run(argv, io.StringIO(""), out, err) == 2
    assert out.getvalue() == ""
    assert err.getvalue().startswith("error: usage: mesoclinic session-check FILE|-")


def test_help_prints_the_usage_and_exits_0():
    out, err = io.StringIO(), io.StringIO()
    assert session_check_cli.run(["--help"], io.StringIO(""), out, err) == 0
    assert out.getvalue().startswith("usage: mesoclinic session-check FILE|-")


def test_the_console_entry_point_dispatches_session_check(tmp_path, capsys):
    path = tmp_path / "session.json"
    path.write_text(json.dumps(ready()), encoding="utf-8")
    assert cli.main(["mesoclinic", "session-check", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == {"ready": True, "blocking": []}


def test_the_pure_modules_do_not_import_django():
    code = ("import sys; import mesoclinic.charting.session_check_cli; "
            "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert done.stdout.strip() == "False"


# --- what is required, what may be null or absent ------------------------------------------------

@pytest.mark.parametrize("field", ["now", "timezone", "performer"])
def test_now_timezone_and_performer_are_required(field):
    assert (refusal(with_(field, ...)).field, refusal(with_(field, ...)).message) == (
        field, "missing required field")


@pytest.mark.parametrize("field", ["now", "timezone", "performer"])
def test_now_timezone_and_performer_cannot_be_null(field):
    assert refusal(with_(field, None)).field == field


@pytest.mark.parametrize("field", ["screening", "record_changed_at", "plan", "consent", "allergy_test",
                                   "workup", "cream_applied_at", "clinic_licence"])
def test_nullable_sections_may_be_null_or_absent_and_mean_the_same(field):
    assert parse(with_(field, None)) == parse(with_(field, ...))
    assert getattr(parse(with_(field, None)), field) is None


def test_absent_lists_are_empty():
    data = with_("lots", ...)
    del data["open_adverse_events"]
    del data["screening"]["open"]
    del data["allergy_test"]["reactions"]
    del data["performer"]["credentials"]
    inp = parse(data)
    assert inp.screening is not None
    assert inp.allergy_test is not None
    assert (inp.lots, inp.open_adverse_events, inp.screening.open, inp.allergy_test.reactions,
            inp.performer.credentials) == ((), (), (), (), ())


@pytest.mark.parametrize(("path", "field"), [
    ("consent.withdrawn_at", "withdrawn_at"), ("workup.signed_off_at", "signed_off_at"),
    ("clinic_licence.valid_until", "valid_until"), ("performer.credentials.0.valid_until", "valid_until")])
def test_nullable_fields_inside_sections_may_be_absent(path, field):
    assert parse(with_(path, ...)) == parse(with_(path, None))


@pytest.mark.parametrize("path", [
    "screening.at", "screening.decision", "screening.open.0.code", "plan.version", "plan.status",
    "plan.ingredients", "plan.uses_anaesthetic_cream", "plan.approved_by_physician", "consent.plan_version",
    "consent.signed_at", "allergy_test.at", "allergy_test.ingredients", "performer.role",
    "performer.credentials.0.kind", "performer.credentials.0.valid_from", "clinic_licence.valid_from",
    "open_adverse_events.0.severity", "open_adverse_events.0.cleared", "lots.0.product", "lots.0.lot",
    "lots.0.expires", "lots.0.recalled", "lots.0.available", "lots.0.needed"])
def test_every_other_field_of_a_section_is_required(path):
    data = with_("screening.open", [{"code": "NSAID_WASHOUT", "severity": "condition"}])
    error = refusal(with_(path, ..., data))
    expected = re.sub(r"\.(\d+)", r"[\1]", path)
    assert (error.field, error.message) == (expected, "missing required field")


@pytest.mark.parametrize(("path", "field"), [
    ("surgeon", "surgeon"), ("plan.colour", "plan.colour"),
    ("screening.open.0.note", "screening.open[0].note"),
    ("performer.credentials.2.number", "performer.credentials[2].number"),
    ("lots.0.supplier", "lots[0].supplier"),
    ("open_adverse_events.0.reported", "open_adverse_events[0].reported"),
    ("workup.by", "workup.by"), ("clinic_licence.number", "clinic_licence.number")])
def test_unknown_fields_are_refused_at_every_level(path, field):
    data = with_("screening.open", [{"code": "NSAID_WASHOUT", "severity": "condition"}])
    assert (refusal(with_(path, "x", data)).field, refusal(with_(path, "x", data)).message) == (
        field, "unknown field")


def test_events_may_carry_an_id_and_a_code():
    data = with_("open_adverse_events",
                 [{"severity": "moderate", "cleared": False, "id": "AE-1", "code": "rash"}])
    (event,) = parse(data).open_adverse_events
    assert (event.id, event.code) == ("AE-1", "rash")


# --- values ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "value", "words"), [
    ("now", "2027-01-11", "no UTC offset"),
    ("now", "2027-01-11 10:00", "no UTC offset"),
    ("now", "2027-01-11T10:00:00.123+03:00x", "not an ISO 8601"),
    ("now", "20270111T100000+0300", "not an ISO 8601"),
    ("now", "2027-W02-1T10:00:00+03:00", "not an ISO 8601"),
    ("now", "2027-01-11T10:00:00+03", "not an ISO 8601"),
    ("now", "2027-02-30T10:00:00+03:00", "not a valid date and time"),
    ("now", "1800-01-11T10:00:00+03:00", "the year must be between"),
    ("now", 1_768_000_000, "got a number"),
    ("lots.0.expires", "2027-1-31", "expected a date"),
    ("lots.0.expires", "2027-02-30", "not a calendar date"),
    ("lots.0.expires", "2027-01-31T00:00:00+03:00", "expected a date"),
    ("lots.0.available", True, "expected a number"),
    ("lots.0.available", "3", "expected a number"),
    ("lots.0.available", -0.5, "cannot be negative"),
    ("lots.0.lot", "   ", "must not be empty"),
    ("lots.0.product", "x" * 201, "longer than 200"),
    ("lots.0.recalled", 0, "expected true or false"),
    ("plan.version", 0, "at least 1"),
    ("plan.version", 2.0, "whole number"),
    ("plan.ingredients", "lidocaine", "expected a list"),
    ("plan.ingredients.1", "", "must not be empty"),
    ("consent.plan_version", True, "whole number"),
    ("timezone", "", "must not be empty"),
    ("timezone", "../etc/passwd", "unknown time zone"),
    ("performer", [], "expected an object"),
    ("screening.open", {}, "expected a list"),
    ("screening.decision", None, "expected a decision"),
])
def test_wrong_values_are_refused_naming_the_field_and_what_is_wrong(path, value, words):
    error = refusal(with_(path, value))
    assert error.field == re.sub(r"\.(\d+)", r"[\1]", path)
    assert words in error.message
    assert str(error) == f"{error.field}: {error.message}"


def test_the_whole_document_must_be_an_object():
    assert (refusal([ready()]).field, refusal("x").field) == ("input", "input")
    with pytest.raises(ContractError, match="not valid JSON"):
        decode_json("{")
    with pytest.raises(ContractError, match="Infinity"):
        decode_json('{"now": Infinity}')
    with pytest.raises(ContractError, match="twice"):
        decode_json('{"now": 1, "now": 2}')


def test_datetimes_in_any_offset_or_z_and_with_fractions_are_accepted():
    for written in ("2027-01-11T07:00:00Z", "2027-01-11T07:00Z", "2027-01-11 10:00:00+03:00",
                    "2027-01-10T21:00:00-10:00"):
        assert parse(with_("now", written)).now == datetime(2027, 1, 11, 7, tzinfo=UTC)
    assert parse(with_("now", "2027-01-11T10:00:00.25+03:00")).now == datetime(2027, 1, 11, 7, 0, 0, 250000,
                                                                                tzinfo=UTC)


@given(st.text(alphabet="0123456789-:T Z+.", min_size=15, max_size=32)
       | st.sampled_from(["2027-01-11T10:00:00+03:00", "2027-01-11T10:00:00Z",
                         "2027-01-11T10:00:00.123456-03:30"]).flatmap(
           lambda s: st.integers(0, len(s) - 1).flatmap(
               lambda i: st.sampled_from("0123456789-:T Z+.a").map(lambda c: s[:i] + c + s[i + 1:]))))
@settings(max_examples=600, deadline=None)
def test_the_fast_datetime_check_accepts_exactly_what_the_regular_expression_does(text):
    pattern = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
               r"(Z|[+-][0-9]{2}:[0-9]{2})")
    try:
        expected: datetime | None = datetime.fromisoformat(text) if re.fullmatch(pattern, text) else None
    except ValueError:
        expected = None
    if expected is not None and not 1900 <= expected.year <= 9000:
        expected = None
    try:
        got: datetime | None = _datetime(text, "now")
    except ContractError:
        got = None
    assert got == expected


def test_the_products_dict_is_accepted_with_floats_decimals_tuples_and_an_open_licence():
    data = ready()
    data["now"] = datetime(2027, 1, 11, 7, tzinfo=UTC).isoformat(timespec="seconds")
    data["clinic_licence"] = {"valid_from": date.min.isoformat(), "valid_until": None}
    data["lots"] = [{"product": "Hyaluronic acid 1%", "lot": "HA/2291 b", "expires": "2027-01-31",
                     "recalled": False, "available": 3.0, "needed": Decimal("2.5")},
                    {"product": "lidocaine", "lot": "LI-1", "expires": "2027-01-31", "recalled": False,
                     "available": Decimal("0.5"), "needed": 0.75}]
    data["plan"]["ingredients"] = ("hyaluronic_acid", "lidocaine")
    result = session_check_json(data)
    assert [b["code"] for b in result["blocking"]] == ["LOT_INSUFFICIENT"]
    assert result["blocking"][0]["message"] == (
        "Not enough in stock: LI-1 (lidocaine): 0.5 available, 0.75 needed.")
    data["lots"][1]["available"] = Decimal("NaN")
    assert refusal(data).field == "lots[1].available"


def test_texts_are_read_without_surrounding_spaces():
    inp = parse(with_("lots.0.lot", "  HA-2291 "))
    assert inp.lots[0].lot == "HA-2291"


def test_parse_gives_the_engines_dataclasses():
    inp = parse(example())
    assert inp.timezone.key == "Europe/Istanbul"
    assert inp.screening == sc.Screening(datetime.fromisoformat("2027-01-11T09:40:00+03:00"),
                                         sc.Decision.ELIGIBLE_WITH_CONDITIONS,
                                         (sc.OpenItem("NSAID_WASHOUT", sc.Severity.CONDITION),))
    assert inp.performer.credentials[0] == sc.Credential(sc.CredentialKind.MEDICAL_LICENCE, date(2020, 1, 1),
                                                         date(2030, 12, 31))
    assert inp.lots == (sc.Lot("hyaluronic_acid", "HA-2291", date(2027, 1, 31), False, 3, 1),)
    assert inp.open_adverse_events == (sc.AdverseEvent(sc.EventSeverity.MILD, False),)
