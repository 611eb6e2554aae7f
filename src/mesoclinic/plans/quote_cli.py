"""`mesoclinic quote FILE|-`: price one plan from a JSON file or standard input.

Imports no Django. Prints the quote as JSON and returns 0; invalid input returns 2 with one line
on stderr naming the field, and nothing on stdout.
"""

from __future__ import annotations

from typing import TextIO

from mesoclinic.lib.contract_cli import run_contract
from mesoclinic.plans.quote_contract import ROOT, InvalidQuote, decode_json, quote_json

USAGE = "usage: mesoclinic quote FILE|-   (price one plan; '-' reads standard input)"
MAX_INPUT_CHARS = 5_000_000


def run(argv: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Run `quote` with argv = the arguments after `quote`; return the exit status."""
    return run_contract(argv, stdin, stdout, stderr, usage=USAGE, max_chars=MAX_INPUT_CHARS,
                        invalid=InvalidQuote, root=ROOT,
                        answer=lambda text: quote_json(decode_json(text)))
