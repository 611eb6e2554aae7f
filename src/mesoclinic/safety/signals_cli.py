"""`mesoclinic safety-signals FILE|-`: which lots and room-days link infections of two or more
patients. Reads JSON from a file or stdin.

Imports no Django. Prints `{"clusters": […]}` as JSON and returns 0 whatever it finds (no
cluster is an answer too); invalid input returns 2 with one line on stderr naming the field
("error: events[3].onset: '2027-02-01T10:00' is not a date …", as the other contracts' commands
write it), and nothing on stdout.
"""

from __future__ import annotations

from typing import TextIO

from mesoclinic.lib.contract_cli import run_contract
from mesoclinic.safety.signals_contract import ROOT, ContractError, decode_json, signals_json

USAGE = ("usage: mesoclinic safety-signals FILE|-   (infection clusters by lot and room-day; '-' reads "
         "standard input)")
MAX_INPUT_CHARS = 1_000_000_000  # a year of a busy chain is about 70 MB; refuse anything absurd


def run(argv: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Run `safety-signals` with argv = the arguments after `safety-signals`; return the exit status."""
    return run_contract(argv, stdin, stdout, stderr, usage=USAGE, max_chars=MAX_INPUT_CHARS,
                        invalid=ContractError, root=ROOT,
                        answer=lambda text: signals_json(decode_json(text)))
