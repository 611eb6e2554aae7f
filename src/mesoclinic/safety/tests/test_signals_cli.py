"""`mesoclinic safety-signals FILE|-`: run in-process through `run` and as a user runs it (the
console script in a subprocess): exit 0 with the clusters as JSON, exit 2 with one line on stderr
naming the field and nothing on stdout for invalid input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mesoclinic.safety import signals_cli
from mesoclinic.safety.tests.test_signals_contract import EXAMPLE_ANSWER, example, with_

MESOCLINIC = str(Path(sys.executable).with_name("mesoclinic"))


def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = signals_cli.run(argv, io.StringIO(stdin), out, err)
    return status, out.getvalue(), err.getvalue()


def run_script(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([MESOCLINIC, "safety-signals", *args], input=stdin, capture_output=True,  # noqa: S603
                          text=True, timeout=60, check=False)


def test_standard_input_gives_the_clusters_and_exit_0():
    status, out, err = run(["-"], json.dumps(example()))
    assert (status, err) == (0, "")
    assert json.loads(out) == EXAMPLE_ANSWER
    assert out.endswith("\n")


def test_a_file_gives_the_same_answer(tmp_path):
    path = tmp_path / "year.json"
    path.write_text(json.dumps(example()), encoding="utf-8")
    status, out, err = run([str(path)])
    assert (status, err) == (0, "")
    assert json.loads(out) == EXAMPLE_ANSWER


def test_no_cluster_is_an_answer_too():
    status, out, err = run(["-"], json.dumps({"timezone": "UTC", "exposures": [], "events": []}))
    assert (status, json.loads(out), err) == (0, {"clusters": []}, "")


def test_help_prints_the_usage():
    status, out, err = run(["--help"])
    assert (status, err) == (0, "")
    assert out.startswith("usage: mesoclinic safety-signals FILE|-   (")


@pytest.mark.parametrize("argv", [[], ["-", "-"], ["--verbose"], ["a.json", "b.json"]])
def test_wrong_arguments_exit_2_with_the_usage(argv):
    status, out, err = run(argv)
    assert (status, out) == (2, "")
    assert err.splitlines() == [f"error: {signals_cli.USAGE}"]


INVALID = [
    ("an event naming an unknown session", json.dumps(with_("events.1.sessions", ["s99"])),
     "events[1].sessions[0]"),
    ("an onset that is not a date", json.dumps(with_("events.0.onset", "2027-02-01T10:00:00+03:00")),
     "events[0].onset"),
    ("a time without its offset", json.dumps(with_("exposures.1.at", "2027-01-14T11:30:00")),
     "exposures[1].at"),
    ("window_days below 1", json.dumps(with_("window_days", 0)), "window_days"),
    ("an unknown field", json.dumps(with_("exposures.0.device", "pen")), "exposures[0].device"),
    ("a wrong type", json.dumps(with_("exposures.0.lots", "HA-2291")), "exposures[0].lots"),
    ("an unknown kind", json.dumps(with_("events.0.kind", "rash")), "events[0].kind"),
    ("a repeated session", json.dumps(with_("exposures.2.session", "s1")), "exposures[2].session"),
    ("bad JSON", '{"timezone": "UTC",', "input"),
    ("NaN", json.dumps(example()).replace('"window_days": 84', '"window_days": NaN'), "input"),
    ("a repeated key", json.dumps(example())[:-1] + ', "timezone": "UTC"}', "input"),
]


@pytest.mark.parametrize(("text", "field"), [(t, f) for _, t, f in INVALID], ids=[n for n, _, _ in INVALID])
def test_invalid_input_exits_2_with_one_line_naming_the_field_and_nothing_on_stdout(text, field):
    status, out, err = run(["-"], text)
    assert (status, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.endswith("\n")
    assert err.startswith(f"error: {field}: ")


def test_the_error_stays_on_one_line_whatever_the_input_holds():
    status, out, err = run(["-"], json.dumps(with_("events.0.kind", "rash\nand\r\nfever")))
    assert (status, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("error: events[0].kind: unknown event kind ")


def test_a_missing_file_exits_2_naming_the_file(tmp_path):
    missing = tmp_path / "nowhere.json"
    status, out, err = run([str(missing)])
    assert (status, out) == (2, "")
    assert err.splitlines() == [f"error: {missing}: cannot read (No such file or directory)"]


# --- the console script, as a user runs it --------------------------------------------------------

def test_the_script_reads_standard_input_and_exits_0_with_the_clusters():
    done = run_script(["-"], json.dumps(example()))
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == EXAMPLE_ANSWER


def test_the_script_exits_2_with_one_line_naming_the_field_for_invalid_input():
    done = run_script(["-"], json.dumps(with_("events.1.sessions", ["s2", "s99"])))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        "error: events[1].sessions[1]: event 'e4' names session 's99', which no exposure has"]


def test_the_script_loads_no_django():
    # The command must answer without Django's start-up: run it with Django made unimportable.
    code = ("import sys; sys.modules['django'] = None; from mesoclinic import cli; "
            "sys.argv = ['mesoclinic', 'safety-signals', '-']; sys.exit(cli.main())")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(example()),  # noqa: S603
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == EXAMPLE_ANSWER
