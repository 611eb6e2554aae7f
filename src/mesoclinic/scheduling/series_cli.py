"""`mesoclinic plan-series FILE|-`: propose every session of a series from a JSON file or stdin.

Imports no Django. Prints the proposal as JSON and returns 0, also when sessions are unplaced;
invalid input returns 2 with one line on stderr naming the field, and nothing on stdout.
"""

from __future__ import annotations

from typing import TextIO

from mesoclinic.lib.contract_cli import run_contract
from mesoclinic.scheduling.series_contract import ROOT, InvalidSeries, decode_json, plan_series_json

USAGE = ("usage: mesoclinic plan-series FILE|-   (propose every session of a treatment series; "
         "'-' reads standard input)")
MAX_INPUT_CHARS = 50_000_000  # 100,000 busy intervals of two datetimes fit comfortably


def run(argv: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Run `plan-series` with argv = the arguments after `plan-series`; return the exit status."""
    return run_contract(argv, stdin, stdout, stderr, usage=USAGE, max_chars=MAX_INPUT_CHARS,
                        invalid=InvalidSeries, root=ROOT,
                        answer=lambda text: plan_series_json(decode_json(text)))
