"""`mesoclinic screen FILE|-` through run(): exit codes, stdout and the one-line stderr."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mesoclinic.screening.cli import run
from mesoclinic.screening.tests.test_contract import example_input

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def call(argv: list[str], stdin_text: str = "") -> tuple[int, str, str]:
    """Run the command in-process; return (status, stdout, stderr)."""
    stdin, stdout, stderr = io.StringIO(stdin_text), io.StringIO(), io.StringIO()
    status = run(argv, stdin, stdout, stderr, now=NOW)
    return status, stdout.getvalue(), stderr.getvalue()


def write(tmp_path: Path, data: Any) -> str:
    """Write JSON to a file and return its path."""
    path = tmp_path / "intake.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_screen_file_prints_the_decision_and_exits_0(tmp_path: Path) -> None:
    status, out, err = call([write(tmp_path, example_input())])
    assert (status, err) == (0, "")
    output = json.loads(out)
    assert output["decision"] == "not_eligible"
    assert out.startswith('{\n  "decision": "not_eligible",\n')  # indent 2
    assert out.endswith("}\n")


def test_screen_reads_standard_input_with_a_dash() -> None:
    status, out, err = call(["-"], json.dumps(example_input()))
    assert (status, err) == (0, "")
    assert json.loads(out)["rules_version"] == "engine-2+pack-2026.12.2"


@pytest.mark.parametrize(
    ("allergies", "decision"),
    [([], "eligible_with_conditions"), ([{"substance": "HA"}], "not_eligible")],
)
def test_exit_status_is_0_whatever_the_decision(allergies: list[Any], decision: str) -> None:
    data = example_input()
    data["patient"]["allergies"] = allergies
    status, out, _ = call(["-"], json.dumps(data))
    assert status == 0
    assert json.loads(out)["decision"] == decision


def test_as_of_defaults_to_the_given_now() -> None:
    data = example_input()
    del data["as_of"]
    data["treatment"]["first_session_at"] = "2026-11-21T09:00:00+00:00"  # test due 20 Nov 09:00
    status, out, _ = call(["-"], json.dumps(data))
    assert status == 0
    test = next(f for f in json.loads(out)["findings"] if f["code"] == "ALLERGY_TEST_REQUIRED")
    assert test["severity"] == "block"  # NOW is 12:00 on the 20th, after the due time


def _mutated(path: list[str | int], value: Any) -> str:
    data: Any = example_input()
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("stdin_text", "expected"),
    [
        ("", "error: input: not valid JSON"),
        ("{not json", "error: input: not valid JSON"),
        ('{"a": NaN}', "error: input: not valid JSON (NaN is not allowed)"),
        ('{"patient": {}, "patient": {}}', "error: input: duplicate field 'patient'"),
        ("[]", "error: input: expected an object, got a list"),
        ("[" * 100_000, "error: input: "),
        (_mutated(["patient", "birth_date"], ...), "error: patient.birth_date: missing required"),
        (
            _mutated(["patient", "birth_date"], "02/04/1990"),
            "error: patient.birth_date: not a date (expected YYYY-MM-DD)",
        ),
        (
            _mutated(["treatment", "first_session_at"], ...),
            "error: treatment.first_session_at: missing required field",
        ),
        (_mutated(["treatment", "indication"], "x"), "error: treatment.indication: unknown"),
        (_mutated(["patient", "extra"], 1), "error: patient.extra: unknown field"),
        (
            _mutated(["patient", "medications", 0, "name"], "a\nb" * 300),
            "error: patient.medications[0].name: longer than",
        ),
    ],
)
def test_invalid_input_exits_2_with_one_line_and_no_output(stdin_text: str, expected: str) -> None:
    status, out, err = call(["-"], stdin_text)
    assert status == 2
    assert out == ""
    assert err.startswith(expected)
    assert err.endswith("\n")
    assert err.count("\n") == 1


def test_an_input_with_a_newline_in_a_bad_value_still_gives_one_line() -> None:
    status, out, err = call(["-"], _mutated(["patient", "sex"], "fe\nmale"))
    assert (status, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("error: patient.sex: ")


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    status, out, err = call([str(tmp_path / "nope.json")])
    assert (status, out) == (2, "")
    assert err == f"error: {tmp_path / 'nope.json'}: cannot read (No such file or directory)\n"


def test_a_directory_exits_2(tmp_path: Path) -> None:
    status, out, err = call([str(tmp_path)])
    assert (status, out) == (2, "")
    assert err.startswith(f"error: {tmp_path}: cannot read")
    assert err.count("\n") == 1


def test_a_file_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"x": "\xe9"}')
    status, out, err = call([str(path)])
    assert (status, out, err) == (2, "", f"error: {path}: not UTF-8 text\n")


def test_an_oversized_input_exits_2() -> None:
    status, out, err = call(["-"], " " * 1_000_001)
    assert (status, out) == (2, "")
    assert err == "error: input: larger than 1000000 characters\n"


@pytest.mark.parametrize("argv", [[], ["a.json", "b.json"], ["--as-of"]])
def test_bad_usage_exits_2_with_one_line(argv: list[str]) -> None:
    status, out, err = call(argv)
    assert (status, out) == (2, "")
    assert err.startswith("error: usage: mesoclinic screen FILE|-")
    assert err.count("\n") == 1


def test_help_prints_usage_and_exits_0() -> None:
    status, out, err = call(["--help"])
    assert (status, err) == (0, "")
    assert out.startswith("usage: mesoclinic screen FILE|-")


def test_now_defaults_to_the_clock() -> None:
    stdin, stdout, stderr = io.StringIO(json.dumps(example_input())), io.StringIO(), io.StringIO()
    assert run(["-"], stdin, stdout, stderr) == 0
    assert json.loads(stdout.getvalue())["decision"] == "not_eligible"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("treatment", "ingredients"), ["hyaluronic acid", "unicorn extract"],
         "treatment.ingredients[1]"),
        (("treatment", "area"), "scalp", "treatment.indication"),
        (("allergy_test", "tested"), "everything", "allergy_test.tested"),
    ],
)
def test_issue_7_bad_input_exits_2_naming_the_field(
    path: tuple[str, str], value: Any, field: str
) -> None:
    data = example_input()
    data[path[0]][path[1]] = value
    status, out, err = call(["-"], json.dumps(data))
    assert (status, out) == (2, "")
    assert err.startswith(f"error: {field}: ")
    assert err.count("\n") == 1


def test_the_new_codes_come_out_through_the_cli() -> None:
    data = example_input()
    data["patient"]["medications"] = [{"name": "Xarelto 20 mg", "atc": None, "last_dose_on": None},
                                      {"name": "Zyxorin", "atc": None, "last_dose_on": None}]
    data["patient"]["allergies"] = [{"substance": "Zorblax root"}]
    status, out, _ = call(["-"], json.dumps(data))
    found = {f["code"]: f for f in json.loads(out)["findings"]}
    assert status == 0
    assert {"ANTITHROMBOTIC_THERAPY", "UNCLASSIFIED_MEDICATION", "UNCLASSIFIED_ALLERGY"} <= set(found)
    assert found["ANTITHROMBOTIC_THERAPY"]["severity"] == "review"
