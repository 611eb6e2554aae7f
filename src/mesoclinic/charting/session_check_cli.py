"""`mesoclinic session-check FILE|-`: may this session start? Reads JSON from a file or stdin.

Imports no Django. Prints `{"ready": …, "blocking": […]}` as JSON and returns 0 whatever the
answer; invalid input returns 2 with one line on stderr naming the field ("error: performer.role:
unknown role 'surgeon' …", as the other contracts' commands write it), and nothing on stdout.
"""

from __future__ import annotations

import json
from typing import TextIO

from mesoclinic.charting.session_check_contract import ROOT, ContractError, decode_json, session_check_json

USAGE = ("usage: mesoclinic session-check FILE|-   (the pre-session safety check; '-' reads standard "
         "input)")
MAX_INPUT_CHARS = 5_000_000  # an input is a few kilobytes; refuse anything absurd
EXIT_OK = 0
EXIT_INVALID = 2


def _read(source: str, stdin: TextIO) -> str:
    """The text of FILE, or of standard input for '-'."""
    try:
        if source == "-":
            text = stdin.read(MAX_INPUT_CHARS + 1)
        else:
            with open(source, encoding="utf-8") as handle:
                text = handle.read(MAX_INPUT_CHARS + 1)
    except OSError as exc:
        raise ContractError(source, f"cannot read ({exc.strerror or exc.__class__.__name__})") from exc
    except UnicodeDecodeError as exc:
        raise ContractError(source, "not UTF-8 text") from exc
    if len(text) > MAX_INPUT_CHARS:
        raise ContractError(ROOT, f"larger than {MAX_INPUT_CHARS:,} characters")
    return text


def run(argv: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Run `session-check` with argv = the arguments after `session-check`; return the exit status."""
    if argv in (["-h"], ["--help"]):
        stdout.write(USAGE + "\n")
        return EXIT_OK
    if len(argv) != 1 or (argv[0].startswith("-") and argv[0] != "-"):
        stderr.write(f"error: {USAGE}\n")
        return EXIT_INVALID
    try:
        output = session_check_json(decode_json(_read(argv[0], stdin)))
    except ContractError as exc:
        stderr.write("error: " + " ".join(str(exc).split()) + "\n")  # one line, whatever the input held
        return EXIT_INVALID
    stdout.write(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK
