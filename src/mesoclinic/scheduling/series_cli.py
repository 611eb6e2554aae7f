"""`mesoclinic plan-series FILE|-`: propose every session of a series from a JSON file or stdin.

Imports no Django. Prints the proposal as JSON and returns 0, also when sessions are unplaced;
invalid input returns 2 with one line on stderr naming the field, and nothing on stdout.
"""

from __future__ import annotations

import json
from typing import TextIO

from mesoclinic.scheduling.series_contract import ROOT, InvalidSeries, decode_json, plan_series_json

USAGE = ("usage: mesoclinic plan-series FILE|-   (propose every session of a treatment series; "
         "'-' reads standard input)")
MAX_INPUT_CHARS = 50_000_000  # 100,000 busy intervals of two datetimes fit comfortably
EXIT_OK = 0
EXIT_INVALID = 2


def _read(source: str, stdin: TextIO) -> str:
    try:
        if source == "-":
            text = stdin.read(MAX_INPUT_CHARS + 1)
        else:
            with open(source, encoding="utf-8") as handle:
                text = handle.read(MAX_INPUT_CHARS + 1)
    except OSError as exc:
        raise InvalidSeries(source, f"cannot read ({exc.strerror or exc.__class__.__name__})") from exc
    except UnicodeDecodeError as exc:
        raise InvalidSeries(source, "not UTF-8 text") from exc
    if len(text) > MAX_INPUT_CHARS:
        raise InvalidSeries(ROOT, f"larger than {MAX_INPUT_CHARS:,} characters")
    return text


def run(argv: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    if argv in (["-h"], ["--help"]):
        stdout.write(USAGE + "\n")
        return EXIT_OK
    if len(argv) != 1 or (argv[0].startswith("-") and argv[0] != "-"):
        stderr.write(f"error: {USAGE}\n")
        return EXIT_INVALID
    try:
        output = plan_series_json(decode_json(_read(argv[0], stdin)))
    except InvalidSeries as exc:
        stderr.write("error: " + " ".join(str(exc).split()) + "\n")
        return EXIT_INVALID
    stdout.write(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK
