"""`mesoclinic screen FILE|-`: screen one intake from a JSON file or standard input.

Imports no Django, so the console script can call it before Django is set up. Prints the decision
as JSON and returns 0 whatever the decision; invalid input returns 2 with one line on stderr naming
the field, and nothing on stdout.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TextIO

from mesoclinic.screening.contract import ROOT, InvalidIntake, decode_json, screen_json

USAGE = "usage: mesoclinic screen FILE|-   (screen one intake; '-' reads standard input)"
MAX_INPUT_CHARS = 1_000_000  # an intake is a few kilobytes; refuse anything absurd

EXIT_OK = 0
EXIT_INVALID = 2


class _BadInput(Exception):
    """Input that cannot be screened; str() is the one-line message without 'error: '."""


def _read(source: str, stdin: TextIO) -> str:
    """The text of FILE, or of standard input for '-'."""
    try:
        if source == "-":
            text = stdin.read(MAX_INPUT_CHARS + 1)
        else:
            with open(source, encoding="utf-8") as handle:
                text = handle.read(MAX_INPUT_CHARS + 1)
    except OSError as exc:
        raise _BadInput(
            f"{source}: cannot read ({exc.strerror or exc.__class__.__name__})"
        ) from exc
    except UnicodeDecodeError as exc:
        raise _BadInput(f"{source}: not UTF-8 text") from exc
    if len(text) > MAX_INPUT_CHARS:
        raise _BadInput(f"{ROOT}: larger than {MAX_INPUT_CHARS} characters")
    return text


def _decode(text: str) -> object:
    """Strict JSON: no NaN/Infinity, no repeated keys."""
    try:
        return decode_json(text)
    except InvalidIntake as exc:
        raise _BadInput(str(exc)) from exc


def run(
    argv: list[str],
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
    now: datetime | None = None,
) -> int:
    """Run `screen` with argv = the arguments after `screen`; return the exit status."""
    if argv in (["-h"], ["--help"]):
        stdout.write(USAGE + "\n")
        return EXIT_OK
    if len(argv) != 1 or (argv[0].startswith("-") and argv[0] != "-"):
        stderr.write(f"error: {USAGE}\n")
        return EXIT_INVALID
    # as_of defaults to now, in this machine's local offset so that "as_of's date" is local.
    moment = now if now is not None else datetime.now(UTC).astimezone()
    try:
        output = screen_json(_decode(_read(argv[0], stdin)), now=moment)
    except _BadInput as exc:
        stderr.write(f"error: {exc}\n")
        return EXIT_INVALID
    except InvalidIntake as exc:
        message = " ".join(str(exc).split())  # one line, whatever the input contained
        stderr.write(f"error: {message}\n")
        return EXIT_INVALID
    stdout.write(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK
