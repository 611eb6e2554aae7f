"""`mesoclinic photo-metrics FILE --area face|scalp [--mm-per-pixel X] [--region X,Y,W,H]`.

Imports no Django. Reads the photo FILE ('-': the bytes of standard input), decodes it as the
upload path does (`photos.imaging.decode`: JPEG, PNG or HEIC, orientation applied, sRGB), and
prints one line of JSON, keys in the contract's order and nothing more:

- face: `{"width", "height", "region", "lab_mean", "erythema_index", "melanin_index", "ita_deg",
  "spots": {"count", "area_mm2"}}`;
- scalp: `{"width", "height", "region", "hair_coverage_percent"}`;

`width` and `height` are the whole decoded image's, after orientation; `region` is the one
measured, `[x, y, w, h]` (the whole image without --region). Floats are rounded to 4 decimals.
`area_mm2` is null without --mm-per-pixel, and spots are then counted at 0.1 mm per pixel.
`photos.metrics` says how each figure is computed; the worker stores the same dictionary.

Exit 0 with the JSON; exit 2 with one line on stderr ("error: …") and nothing on stdout for a
file that is missing, unreadable, empty, larger than `MAX_FILE_BYTES`, not a decodable JPEG, PNG
or HEIC image, or over the pixel limit, and for bad arguments: no FILE or more than one, a
missing or unknown --area, --mm-per-pixel not a positive finite number, --region not four
integers, a width or height below 1, or a region not wholly inside the image (refused, not
clipped: a figure over fewer pixels than were marked would mislead a trend). `-h`/`--help`
prints the usage and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from typing import NoReturn, TextIO

from mesoclinic.photos import imaging, metrics

USAGE = "usage: mesoclinic photo-metrics FILE --area face|scalp [--mm-per-pixel X] [--region X,Y,W,H]"
HELP = USAGE + """

Objective metrics of one photo (JPEG, PNG or HEIC; FILE '-' reads standard input), as JSON.
  --area face     lab_mean [L*, a*, b*], erythema_index, melanin_index, ita_deg, spots
  --area scalp    hair_coverage_percent
  --mm-per-pixel  the photo's scale; without it spots are counted at 0.1 mm per pixel and
                  their area_mm2 is null
  --region        X,Y,W,H in pixels of the oriented image, wholly inside it (default: all)
Exit 0 with the JSON on stdout; 2 with one line on stderr for a bad file or argument."""

EXIT_OK = 0
EXIT_INVALID = 2
MAX_FILE_BYTES = 256 * 1024 * 1024  # a 60 MP photo is far smaller; refuse reading anything absurd
AREAS = ("face", "scalp")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_VALUED = ("--area", "--mm-per-pixel", "--region")


class _Invalid(Exception):
    """A bad argument or file: one line for stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    # argparse prints its usage and exits on a bad argument; the contract wants one line and 2.
    def error(self, message: str) -> NoReturn:
        raise _Invalid(f"{message} ({USAGE})")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _Invalid(message or "invalid arguments")


def _parser() -> _Parser:
    parser = _Parser(prog="mesoclinic photo-metrics", add_help=False, allow_abbrev=False)
    parser.add_argument("file")
    parser.add_argument("--area", required=True)
    parser.add_argument("--mm-per-pixel", dest="mm_per_pixel")
    parser.add_argument("--region")
    return parser


def _scale(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise _Invalid(f"--mm-per-pixel: {text!r} is not a positive finite number")
    return value


def _region(text: str | None) -> metrics.Region | None:
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 4 or not all(_INTEGER.fullmatch(part) for part in parts):
        raise _Invalid(f"--region: {text!r} is not four integers X,Y,W,H")
    x, y, w, h = (int(part) for part in parts)
    if w < 1 or h < 1:
        raise _Invalid(f"--region: {text!r}: width and height must be at least 1")
    return metrics.Region(x, y, w, h)


def _read(source: str, stdin: TextIO) -> bytes:
    try:
        if source == "-":
            binary = getattr(stdin, "buffer", None)
            if binary is None:
                raise _Invalid("-: standard input cannot be read as bytes")
            data: bytes = binary.read(MAX_FILE_BYTES + 1)
        else:
            with open(source, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _Invalid(f"{source}: cannot read ({exc.strerror or exc.__class__.__name__})") from exc
    if len(data) > MAX_FILE_BYTES:
        raise _Invalid(f"{source}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    return data


def _decode(source: str, data: bytes) -> imaging.Decoded:
    try:
        return imaging.decode(data)
    except imaging.ImageRefused as exc:
        raise _Invalid(f"{source}: {exc.message}") from exc
    except MemoryError as exc:
        raise _Invalid(f"{source}: not enough memory to decode the image") from exc
    except Exception as exc:  # a decoder fault on hostile input is still a refused file, not a traceback
        raise _Invalid(f"{source}: not a decodable JPEG, PNG or HEIC image") from exc


def _joined(argv: list[str]) -> list[str]:
    """argv with each option's value attached (`--region=-1,0,5,5`), so a value may start with '-'."""
    joined: list[str] = []
    items = iter(argv)
    for item in items:
        if item == "--":
            joined.append(item)
            joined.extend(items)
            break
        if item in _VALUED:
            value = next(items, None)
            joined.append(item if value is None else f"{item}={value}")
        else:
            joined.append(item)
    return joined


def answer(argv: list[str], stdin: TextIO) -> dict[str, object]:
    """The contract's JSON-ready answer for these arguments, or _Invalid."""
    args = _parser().parse_args(_joined(argv))
    if args.area not in AREAS:
        raise _Invalid(f"--area: unknown area {args.area!r} (face or scalp)")
    scale, region = _scale(args.mm_per_pixel), _region(args.region)
    decoded = _decode(args.file, _read(args.file, stdin))
    try:
        if args.area == "face":
            return metrics.face_metrics(decoded.rgb, region, scale)
        return metrics.scalp_metrics(decoded.rgb, region, scale)
    except metrics.MetricsInputError as exc:
        raise _Invalid(f"--region: {exc.message}" if region is not None else exc.message) from exc


def run(argv: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Run `photo-metrics` with argv = the arguments after `photo-metrics`; return the exit status."""
    options = argv[:argv.index("--")] if "--" in argv else argv
    if "-h" in options or "--help" in options:
        stdout.write(HELP + "\n")
        return EXIT_OK
    try:
        output = answer(argv, stdin)
    except _Invalid as exc:
        stderr.write("error: " + " ".join(str(exc).split()) + "\n")  # one line, whatever the input held
        return EXIT_INVALID
    stdout.write(json.dumps(output) + "\n")
    return EXIT_OK
