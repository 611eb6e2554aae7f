"""`mesoclinic session-check FILE|-`: may this session start? Reads JSON from a file or stdin.

Imports no Django. Prints `{"ready": …, "blocking": […]}` as JSON and returns 0 whatever the
answer; invalid input returns 2 with one line on stderr naming the field ("error: performer.role:
unknown role 'surgeon' …", as the other contracts' commands write it), and nothing on stdout.
"""

from __future__ import annotations

from typing import TextIO

from mesoclinic.charting.session_check_contract import ROOT, ContractError, decode_json, session_check_json
from mesoclinic.lib.contract_cli import run_contract

USAGE = ("usage: mesoclinic session-check FILE|-   (the pre-session safety check; '-' reads standard "
         "input)")
MAX_INPUT_CHARS = 5_000_000  # an input is a few kilobytes; refuse anything absurd


def run(argv: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Run `session-check` with argv = the arguments after `session-check`; return the exit status."""
    return run_contract(argv, stdin, stdout, stderr, usage=USAGE, max_chars=MAX_INPUT_CHARS,
                        invalid=ContractError, root=ROOT,
                        answer=lambda text: session_check_json(decode_json(text)))
