"""`mesoclinic photo-metrics FILE --area face|scalp [--mm-per-pixel X] [--region X,Y,W,H]`: the
contract's output, kept exactly, for JPEG, PNG and HEIC files; exit 2 with one line on stderr and
nothing on stdout for every bad file and argument; the console script run as a user runs it.
"""

from __future__ import annotations

import io
import json
import math
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pillow_heif
import pytest
from PIL import Image

from mesoclinic.photos import metrics_cli

MESOCLINIC = str(Path(sys.executable).with_name("mesoclinic"))
SKIN = (224, 172, 150)
SCALP = (205, 170, 155)
FACE_KEYS = ["width", "height", "region", "lab_mean", "erythema_index", "melanin_index", "ita_deg", "spots"]
SCALP_KEYS = ["width", "height", "region", "hair_coverage_percent"]


def encode(rgb: np.ndarray, fmt: str = "PNG", **save: object) -> bytes:
    out = io.BytesIO()
    if fmt == "HEIF":
        pillow_heif.register_heif_opener()
    Image.fromarray(rgb).save(out, fmt, **save)
    return out.getvalue()


def uniform(rgb: tuple[int, int, int], height: int = 120, width: int = 160) -> np.ndarray:
    return np.full((height, width, 3), rgb, np.uint8)


def photo(tmp_path: Path, data: bytes, name: str = "photo.png") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


class BinaryStdin(io.TextIOWrapper):
    """Standard input as a terminal gives it: text, with the bytes under `.buffer`."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))


def run(argv: list[str], stdin_bytes: bytes = b"") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = metrics_cli.run(argv, BinaryStdin(stdin_bytes), out, err)
    return code, out.getvalue(), err.getvalue()


def answer(argv: list[str], stdin_bytes: bytes = b"") -> dict[str, Any]:
    code, out, err = run(argv, stdin_bytes)
    assert (code, err) == (0, "")
    assert out.endswith("\n")
    assert out.count("\n") == 1  # one line of JSON
    return json.loads(out)


# --------------------------------------------------------------------------- answers


def test_face_of_a_uniform_skin_png(tmp_path):
    result = answer([photo(tmp_path, encode(uniform(SKIN))), "--area", "face"])
    assert list(result) == FACE_KEYS
    # Worked by hand: linear R 0.745404, G 0.412543, B 0.304987; X 0.531, Y 0.5151, Z 0.3541.
    assert result == {"width": 160, "height": 120, "region": [0, 0, 160, 120],
                      "lab_mean": [74.5447, 16.0198, 18.6637], "erythema_index": 25.6923,
                      "melanin_index": 12.7608, "ita_deg": 52.7508, "spots": {"count": 0, "area_mm2": None}}


def test_face_values_follow_the_formulas(tmp_path):
    result = answer([photo(tmp_path, encode(uniform((181, 130, 118)))), "--area", "face"])
    lightness, _, b_star = result["lab_mean"]
    red = ((181 / 255 + 0.055) / 1.055) ** 2.4
    green = ((130 / 255 + 0.055) / 1.055) ** 2.4
    assert result["erythema_index"] == pytest.approx(100 * math.log10(red / green), abs=1e-4)
    assert result["melanin_index"] == pytest.approx(100 * math.log10(1 / red), abs=1e-4)
    assert result["ita_deg"] == pytest.approx(math.degrees(math.atan((lightness - 50) / b_star)), abs=1e-3)


def spotted(size: int = 600, radius: int = 10, count: int = 9) -> tuple[np.ndarray, int]:
    rgb = uniform(SKIN, size, size)
    mask = np.zeros((size, size), np.uint8)
    for k in range(count):
        centre = (int((k % 3 + 0.5) * size / 3), int((k // 3 + 0.5) * size / 3))
        cv2.circle(rgb, centre, radius, (150, 100, 82), -1)
        cv2.circle(mask, centre, radius, 1, -1)
    return rgb, int(mask.sum())


def test_spots_with_a_scale_have_their_total_area(tmp_path):
    rgb, drawn = spotted()
    path = photo(tmp_path, encode(rgb))
    result = answer([path, "--area", "face", "--mm-per-pixel", "0.1"])
    assert result["spots"] == {"count": 9, "area_mm2": round(drawn * 0.01, 4)}
    assert result["spots"]["area_mm2"] == pytest.approx(9 * math.pi * 1.0 ** 2, rel=0.03)  # 1 mm discs


def test_spots_without_a_scale_are_counted_at_0_1_mm_and_have_no_area(tmp_path):
    rgb, _ = spotted()
    assert answer([photo(tmp_path, encode(rgb)), "--area", "face"])["spots"] == {"count": 9, "area_mm2": None}
    tiny, _ = spotted(radius=2)  # 13 px: 0.13 mm² at 0.1 mm/px, under 0.2 mm²
    none = {"count": 0, "area_mm2": None}
    assert answer([photo(tmp_path, encode(tiny)), "--area", "face"])["spots"] == none


def test_spots_in_a_jpeg(tmp_path):
    rgb, drawn = spotted(radius=15)
    result = answer([photo(tmp_path, encode(rgb, "JPEG", quality=90), "p.jpg"), "--area", "face",
                     "--mm-per-pixel", "0.1"])
    assert result["spots"]["count"] == 9
    assert result["spots"]["area_mm2"] == pytest.approx(drawn * 0.01, rel=0.03)


def test_scalp_coverage_of_drawn_hair(tmp_path):
    rgb = uniform(SCALP, 400, 600)
    mask = np.zeros((400, 600), np.uint8)
    for x in range(15, 600, 30):
        cv2.line(rgb, (x, 0), (x + 25, 399), (50, 35, 30), 3)
        cv2.line(mask, (x, 0), (x + 25, 399), 1, 3)
    result = answer([photo(tmp_path, encode(rgb)), "--area", "scalp"])
    assert list(result) == SCALP_KEYS
    assert result["width"] == 600
    assert result["height"] == 400
    assert result["region"] == [0, 0, 600, 400]
    assert result["hair_coverage_percent"] == pytest.approx(100 * mask.mean(), abs=0.05)
    scaled = answer([photo(tmp_path, encode(rgb)), "--area", "scalp", "--mm-per-pixel", "0.02"])
    assert scaled["hair_coverage_percent"] == pytest.approx(100 * mask.mean(), abs=0.05)


def test_a_region_is_measured_alone_and_echoed(tmp_path):
    rgb = uniform(SKIN, 100, 200)
    rgb[:, 100:] = (255, 0, 0)
    path = photo(tmp_path, encode(rgb))
    result = answer([path, "--area", "face", "--region", "100,0,100,100"])
    assert result["width"] == 200
    assert result["height"] == 100
    assert result["region"] == [100, 0, 100, 100]
    assert result["lab_mean"] == [53.2408, 80.0925, 67.2032]
    assert result["erythema_index"] == 600.0  # G = 0: the mean is floored at 1e-6
    skin = answer([path, "--area", "face", "--region", "0,0,100,100"])
    assert skin["lab_mean"] == [74.5447, 16.0198, 18.6637]
    assert answer([path, "--area=scalp", "--region=0,0,200,100"])["region"] == [0, 0, 200, 100]
    assert answer([path, "--area", "scalp", "--region", "199,99,1,1"])["region"] == [199, 99, 1, 1]


def test_width_height_and_region_are_of_the_oriented_image(tmp_path):
    stored = uniform(SKIN, 40, 60)
    stored[:, :30] = (255, 0, 0)  # left half red as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90° clockwise: the stored left half becomes the top
    path = photo(tmp_path, encode(stored, "JPEG", quality=95, exif=exif.tobytes()), "rotated.jpg")
    result = answer([path, "--area", "face", "--region", "0,0,40,25"])
    assert (result["width"], result["height"]) == (40, 60)
    assert result["lab_mean"][0] == pytest.approx(53.24, abs=1.5)  # red at the top
    code, out, err = run([path, "--area", "face", "--region", "0,0,60,40"])
    assert (code, out) == (2, "")
    assert err == "error: --region: region 0,0,60,40 is not inside the 40x60 image\n"


def test_heic_photo(tmp_path):
    path = photo(tmp_path, encode(uniform(SKIN, 64, 96), "HEIF", quality=95), "p.heic")
    result = answer([path, "--area", "face"])
    assert (result["width"], result["height"], result["region"]) == (96, 64, [0, 0, 96, 64])
    assert result["lab_mean"] == pytest.approx([74.5447, 16.0198, 18.6637], abs=1.5)  # lossy codec


def test_standard_input_bytes_with_dash(tmp_path):
    data = encode(uniform(SKIN))
    assert answer(["-", "--area", "face"], data) == answer([photo(tmp_path, data), "--area", "face"])
    assert answer(["--area", "scalp", "--", "-"], data)["hair_coverage_percent"] == 0.0


def test_a_file_named_like_an_option_after_double_dash(tmp_path):
    path = tmp_path / "-face.png"
    path.write_bytes(encode(uniform(SKIN)))
    assert answer(["--area", "face", "--", str(path)])["width"] == 160


def test_help_prints_the_usage_and_exits_0():
    for flag in ("-h", "--help"):
        code, out, err = run([flag])
        assert (code, err) == (0, "")
        assert out.startswith(metrics_cli.USAGE + "\n")
    assert run(["x.png", "--area", "face", "--help"])[0] == 0


# --------------------------------------------------------------------------- refusals


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def bad_files() -> dict[str, bytes]:
    good_png = encode(uniform(SKIN))
    good_jpeg = encode(uniform(SKIN), "JPEG")
    return {
        "empty.jpg": b"",
        "text.png": b"just some text, not a picture\n",
        "page.jpg": b"<!DOCTYPE html><html><body>hello</body></html>",
        "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "truncated.png": good_png[: len(good_png) // 2],
        "truncated.jpg": good_jpeg[:200],
        "magic-only.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 32,
        "huge.png": png_claiming(8000, 8000),  # 64 MP, over the 60 MP limit
        "wide.png": png_claiming(100_000, 10),
        "gif.jpg": b"GIF89a" + b"\x00" * 64,
        "bmp.png": encode(uniform(SKIN), "BMP"),
    }


@pytest.mark.parametrize("name", list(bad_files()))
def test_a_file_that_is_not_a_decodable_image_is_exit_2_with_one_line(tmp_path, name):
    path = photo(tmp_path, bad_files()[name], name)
    for area in ("face", "scalp"):
        code, out, err = run([path, "--area", area])
        assert (code, out) == (2, "")
        assert err.startswith(f"error: {path}: ")
        assert err.endswith("\n")
        assert err.count("\n") == 1


def test_over_the_pixel_limit_says_so(tmp_path):
    code, out, err = run([photo(tmp_path, png_claiming(8000, 8000)), "--area", "face"])
    assert (code, out) == (2, "")
    assert "60" in err
    assert "MP" in err


def test_empty_file_says_so(tmp_path):
    assert run([photo(tmp_path, b""), "--area", "face"])[2].endswith(": the file is empty\n")
    code, out, err = run(["-", "--area", "face"], b"")
    assert (code, out, err) == (2, "", "error: -: the file is empty\n")


def test_missing_and_unreadable_files(tmp_path):
    missing = str(tmp_path / "nope.jpg")
    expected = f"error: {missing}: cannot read (No such file or directory)\n"
    assert run([missing, "--area", "face"]) == (2, "", expected)
    code, out, err = run([str(tmp_path), "--area", "face"])
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {tmp_path}: cannot read")


def test_standard_input_without_bytes_is_refused():
    out, err = io.StringIO(), io.StringIO()
    assert metrics_cli.run(["-", "--area", "face"], io.StringIO("text"), out, err) == 2
    assert (out.getvalue(), err.getvalue()) == ("", "error: -: standard input cannot be read as bytes\n")


@pytest.mark.parametrize(("args", "message"), [
    ([], "the following arguments are required"),
    (["{png}"], "the following arguments are required: --area"),
    (["--area", "face"], "the following arguments are required: file"),
    (["{png}", "--area", "body"], "--area: unknown area 'body' (face or scalp)"),
    (["{png}", "--area", "Face"], "--area: unknown area 'Face'"),
    (["{png}", "--area"], "argument --area: expected one argument"),
    (["{png}", "{png}", "--area", "face"], "unrecognized arguments"),
    (["{png}", "--area", "face", "--colour-chart"], "unrecognized arguments: --colour-chart"),
    (["{png}", "--area", "face", "--mm", "0.1"], "unrecognized arguments"),
    (["{png}", "--area", "face", "--mm-per-pixel", "0"], "--mm-per-pixel: '0' is not a positive finite"),
    (["{png}", "--area", "face", "--mm-per-pixel", "-0.1"], "--mm-per-pixel: '-0.1' is not a positive"),
    (["{png}", "--area", "face", "--mm-per-pixel", "-1e-3"], "--mm-per-pixel: '-1e-3' is not a positive"),
    (["{png}", "--area", "face", "--mm-per-pixel", "abc"], "--mm-per-pixel: 'abc' is not a positive"),
    (["{png}", "--area", "face", "--mm-per-pixel", "nan"], "--mm-per-pixel: 'nan' is not a positive"),
    (["{png}", "--area", "face", "--mm-per-pixel", "inf"], "--mm-per-pixel: 'inf' is not a positive"),
    (["{png}", "--area", "face", "--mm-per-pixel", ""], "--mm-per-pixel: '' is not a positive"),
    (["{png}", "--area", "scalp", "--mm-per-pixel", "1e400"], "--mm-per-pixel: '1e400' is not a positive"),
    (["{png}", "--area", "face", "--region", "1,2,3"], "--region: '1,2,3' is not four integers X,Y,W,H"),
    (["{png}", "--area", "face", "--region", "1,2,3,4,5"], "--region: '1,2,3,4,5' is not four integers"),
    (["{png}", "--area", "face", "--region", "a,b,c,d"], "is not four integers"),
    (["{png}", "--area", "face", "--region", "0,0,1.5,2"], "is not four integers"),
    (["{png}", "--area", "face", "--region", "0 0 10 10"], "is not four integers"),
    (["{png}", "--area", "face", "--region", ""], "is not four integers"),
    (["{png}", "--area", "face", "--region", "0,0,0,5"], "--region: '0,0,0,5': width and height must be"),
    (["{png}", "--area", "scalp", "--region", "0,0,5,-2"], "width and height must be at least 1"),
    (["{png}", "--area", "face", "--region", "-1,0,5,5"], "--region: region -1,0,5,5 is not inside the"),
    (["{png}", "--area", "face", "--region", "0,-1,5,5"], "is not inside the 160x120 image"),
    (["{png}", "--area", "face", "--region", "150,0,11,5"], "--region: region 150,0,11,5 is not inside"),
    (["{png}", "--area", "scalp", "--region", "0,100,10,21"], "is not inside the 160x120 image"),
    (["{png}", "--area", "face", "--region", "160,0,1,1"], "is not inside the 160x120 image"),
    (["{png}", "--area", "face", "--region", "0,0,100000,100000"], "is not inside the 160x120 image"),
])
def test_bad_arguments_are_exit_2_with_one_line(tmp_path, args, message):
    path = photo(tmp_path, encode(uniform(SKIN)))
    code, out, err = run([path if a == "{png}" else a for a in args])
    assert (code, out) == (2, "")
    assert err.startswith("error: ")
    assert message in err
    assert err.count("\n") == 1
    assert err.endswith("\n")


def test_arguments_are_checked_before_the_file_is_read(tmp_path):
    assert run([str(tmp_path / "missing.png"), "--area", "body"]) == (
        2, "", "error: --area: unknown area 'body' (face or scalp)\n")


# --------------------------------------------------------------------------- the console script


def run_script(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([MESOCLINIC, "photo-metrics", *args], input=stdin, capture_output=True,  # noqa: S603
                          check=False, timeout=60)


def test_console_script_prints_the_contract(tmp_path):
    rgb, drawn = spotted()
    path = photo(tmp_path, encode(rgb))
    done = run_script([path, "--area", "face", "--mm-per-pixel", "0.1"])
    assert (done.returncode, done.stderr) == (0, b"")
    result = json.loads(done.stdout)
    assert list(result) == FACE_KEYS
    assert result["spots"] == {"count": 9, "area_mm2": round(drawn * 0.01, 4)}
    piped = run_script(["-", "--area", "scalp"], stdin=Path(path).read_bytes())
    assert piped.returncode == 0
    assert list(json.loads(piped.stdout)) == SCALP_KEYS


def test_console_script_refuses_with_exit_2_and_one_line(tmp_path):
    for args in ([photo(tmp_path, b"", "empty.jpg"), "--area", "face"],
                 [photo(tmp_path, png_claiming(8000, 8000), "huge.png"), "--area", "scalp"],
                 [photo(tmp_path, b"<html></html>", "page.jpg"), "--area", "face"],
                 [photo(tmp_path, encode(uniform(SKIN))), "--area", "face", "--region", "0,0,500,5"],
                 ["x.png"]):
        done = run_script(args)
        assert (done.returncode, done.stdout) == (2, b"")
        assert done.stderr.startswith(b"error: ")
        assert done.stderr.count(b"\n") == 1


def test_the_command_loads_no_django():
    code = ("import sys; import mesoclinic.photos.metrics_cli; "
            "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert done.stdout.strip() == "[]"
