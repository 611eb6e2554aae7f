"""Safe decode and re-encode of a 12-megapixel photo on one core (issue 12: upload to stored).

Run: python bench/bench_photo_decode.py [--runs 5] [--side 4000x3000]

Builds a photo-like 12-MP picture (4000 by 3000) in memory (smooth shading, skin-like tones,
fine noise, so it compresses like a camera's picture rather than like random bytes) and saves it
as a phone would, at about a phone's file sizes: a JPEG (quality 90, 4:2:0) and a HEIC (quality
50), both with EXIF and GPS, and each again in Display P3 (an embedded ICC profile for the JPEG,
an nclx colour description for the HEIC) so that the colour conversion is timed too. For each it
times `imaging.decode` (sniff, header checks, decode, orientation, sRGB), `imaging.encode_jpeg`
of the result, `imaging.sha256` of the stored bytes, and the three together, and prints best and
median of `--runs` in milliseconds, with the sizes.

The uploads are made first on every core (x265 takes tens of seconds per HEIC); then the process
is pinned to one CPU and libheif to one decoding thread, so the figures are one core's. Run it on
a quiet machine: other load shows in the medians.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

try:
    import mesoclinic  # noqa: F401
except ModuleNotFoundError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np
import pillow_heif
from PIL import Image

from mesoclinic.photos import imaging


def picture(width: int, height: int) -> Image.Image:
    """Skin-like tones with smooth shading and fine noise, like a close-up clinical photo."""
    rng = np.random.default_rng(12)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shade = 0.75 + 0.25 * np.sin(x / width * 3.1) * np.cos(y / height * 2.3)
    skin = np.array([224, 172, 150], np.float32) * shade[..., None]
    spots = (np.sin(x / 37.0) * np.sin(y / 41.0) > 0.97)[..., None] * np.array([-40, -45, -35], np.float32)
    noise = rng.normal(0, 5, (height, width, 3)).astype(np.float32)
    return Image.fromarray((skin + spots + noise).clip(0, 255).astype(np.uint8))


def phone_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Phone"
    exif.get_ifd(0x8825).update({1: "N", 2: (41.0, 0.0, 52.5), 3: "E", 4: (29.0, 0.0, 1.25)})
    return exif.tobytes()


def display_p3() -> bytes:
    return imaging.rgb_icc_profile(((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)), (0.3127, 0.3290),
                                   description="Display P3")


def timed(function: Callable[[], object], runs: int) -> tuple[float, float]:
    """(best, median) wall time in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


def store(data: bytes) -> str:
    """Upload to stored bytes and their digest, as the upload action does."""
    return imaging.sha256(imaging.encode_jpeg(imaging.decode(data).rgb))


def ms(best_median: tuple[float, float]) -> str:
    return f"{best_median[0]:.0f} / {best_median[1]:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--side", default="4000x3000", help="WIDTHxHEIGHT of the picture")
    args = parser.parse_args()
    width, height = (int(v) for v in args.side.split("x"))
    img = picture(width, height)
    exif = phone_exif()
    uploads: dict[str, bytes] = {}
    for name, fmt, params in (
        ("JPEG", "JPEG", {"quality": 90, "exif": exif}),
        ("JPEG, Display P3 ICC", "JPEG", {"quality": 90, "exif": exif, "icc_profile": display_p3()}),
        ("HEIC", "HEIF", {"quality": 50, "exif": exif}),
        ("HEIC, Display P3 nclx", "HEIF", {"quality": 50, "exif": exif, "color_primaries": 12}),
    ):
        out = io.BytesIO()
        img.save(out, format=fmt, **params)
        uploads[name] = out.getvalue()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    pillow_heif.options.DECODE_THREADS = 1

    print(f"{width} × {height} = {width * height / 1e6:.1f} MP, one core, best / median of {args.runs} (ms)")
    print(f"{'upload':<24}{'size':>9}{'decode':>16}{'encode_jpeg':>16}{'sha256':>12}{'total':>16}{'stored':>9}")
    for name, data in uploads.items():
        decoded = imaging.decode(data)
        stored = imaging.encode_jpeg(decoded.rgb)
        dec = timed(partial(imaging.decode, data), args.runs)
        enc = timed(partial(imaging.encode_jpeg, decoded.rgb), args.runs)
        digest = timed(partial(imaging.sha256, stored), args.runs)
        total = timed(partial(store, data), args.runs)
        print(f"{name:<24}{len(data) / 1e6:>7.1f}MB{ms(dec):>16}{ms(enc):>16}{ms(digest):>12}{ms(total):>16}"
              f"{len(stored) / 1e6:>7.1f}MB")


if __name__ == "__main__":
    main()
