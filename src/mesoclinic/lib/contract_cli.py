"""The shared shape of the JSON contract commands (`quote`, `plan-series`, `session-check`).

Imports no Django. Reads FILE or standard input ('-'), answers JSON on stdout and 0; invalid
input is 2 with one line on stderr naming the field, and nothing on stdout.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TextIO

EXIT_OK = 0
EXIT_INVALID = 2


def read_input(source: str, stdin: TextIO, *, max_chars: int,
               invalid: Callable[[str, str], Exception], root: str) -> str:
    """The text of FILE, or of standard input for '-'; `invalid(field, message)` when unreadable."""
    try:
        if source == "-":
            text = stdin.read(max_chars + 1)
        else:
            with open(source, encoding="utf-8") as handle:
                text = handle.read(max_chars + 1)
    except OSError as exc:
        raise invalid(source, f"cannot read ({exc.strerror or exc.__class__.__name__})") from exc
    except UnicodeDecodeError as exc:
        raise invalid(source, "not UTF-8 text") from exc
    if len(text) > max_chars:
        raise invalid(root, f"larger than {max_chars:,} characters")
    return text


def run_contract(argv: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO, *, usage: str,
                 max_chars: int, invalid: type[Exception], root: str,
                 answer: Callable[[str], object]) -> int:
    """Run one contract command: `answer` turns the input text into the JSON-ready output."""
    if argv in (["-h"], ["--help"]):
        stdout.write(usage + "\n")
        return EXIT_OK
    if len(argv) != 1 or (argv[0].startswith("-") and argv[0] != "-"):
        stderr.write(f"error: {usage}\n")
        return EXIT_INVALID
    try:
        output = answer(read_input(argv[0], stdin, max_chars=max_chars, invalid=invalid, root=root))
    except invalid as exc:
        stderr.write("error: " + " ".join(str(exc).split()) + "\n")  # one line, whatever the input held
        return EXIT_INVALID
    stdout.write(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK
