"""Safe decoding and re-encoding of clinical photos (pure: bytes in, numpy arrays and bytes out).

Every upload goes through `decode` before anything else looks at it, and only `encode_jpeg`'s
output is ever stored, so what the clinic keeps is pixels and nothing else: no EXIF (GPS,
maker notes, serial numbers), XMP, IPTC, comments, embedded thumbnails or appended payloads.

`decode` accepts JPEG, PNG and HEIC, recognised by their magic bytes (the file name and the
browser's content type are never trusted), and refuses, with an `ImageRefused` whose `.message`
is one line for the user:
- an empty file, or one that is not a JPEG, PNG or HEIC image (it names what it looks like);
- an image over `MAX_PIXELS` or with a side over `MAX_SIDE`, read from the header (JPEG SOF,
  PNG IHDR, HEIC `ispe`) before any pixel is decoded; Pillow's own limit is set to the same
  figure and its decompression-bomb warning is raised as an error, as a second guard;
- a JPEG with more than `MAX_JPEG_SCANS` scans (a tiny progressive file can keep the decoder busy
  for minutes);
- a damaged or truncated file (`LOAD_TRUNCATED_IMAGES` stays off; a PNG must reach IEND with every
  chunk's CRC right);
- an animated PNG: which frame is "the photo" is not defined, so the user is asked for a still.
  A multi-picture JPEG (MPO) keeps its first, main image and a HEIC its primary image, which is
  what every viewer shows.

The result is what a viewer shows: EXIF orientation applied (HEIC: libheif applies the
container's rotation, and pillow_heif resets the EXIF tag so it is not applied twice), converted
to sRGB with an embedded ICC profile or a HEIC's nclx colour description when there is one,
CMYK, greyscale, palette and 16-bit images to 8-bit RGB, transparency composited on white.

Messages are English templates marked with `gettext_noop` and filled from `params`;
`ImageRefused.localise(gettext)` gives the text in the active language.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pillow_heif
from PIL import Image, ImageCms, ImageFile, ImageOps

if TYPE_CHECKING:
    from PIL._imagingcms import CmsProfile

MAX_PIXELS = 60_000_000
MAX_SIDE = 65_500  # the largest side a JPEG can hold, so every accepted image can be re-encoded
MAX_JPEG_SCANS = 100  # real progressive JPEGs have about 10; each scan is another pass over the image
JPEG_QUALITY = 92

# Pillow refuses images over twice this outright and warns above it; decode() turns the warning
# into an error. Process-wide on purpose: no Pillow caller here should decode a bomb.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
pillow_heif.register_heif_opener()

FORMATS = ("jpeg", "png", "heic")
_PIL_FORMATS = {"jpeg": ["JPEG"], "png": ["PNG"], "heic": ["HEIF"]}
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def gettext_noop(message: str) -> str:
    """Mark a message template for translation; `ImageRefused.localise` translates it."""
    return message


class ImageRefused(ValueError):
    """An upload that is not stored, and why: `.message` is one line for the user.

    `code` is stable for logs and tests: empty, not_an_image, too_large, too_many_scans, damaged,
    animated, unsupported_colour."""

    def __init__(self, code: str, template: str, **params: str) -> None:
        self.code = code
        self.template = template
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """What is wrong, in English."""
        return self.template % self.params

    def localise(self, gettext: Callable[[str], str]) -> str:
        """What is wrong, translated through `gettext` (the words put into it too: "a GIF image")."""
        return gettext(self.template) % {name: gettext(value) for name, value in self.params.items()}


@dataclass(frozen=True)
class Decoded:
    """A decoded photo as a viewer shows it.

    `rgb` is C-contiguous uint8 (H, W, 3), sRGB, orientation applied, and read-only: copy it
    before changing pixels. `source_profile` names the colour profile it was converted from
    (None: the file had none, or an sRGB one, and was taken as sRGB)."""

    rgb: np.ndarray
    format: str
    width: int
    height: int
    source_profile: str | None = None


def sha256(data: bytes) -> str:
    """The SHA-256 of `data`, as 64 lower-case hex digits."""
    return hashlib.sha256(data).hexdigest()


# --- recognising the format ------------------------------------------------------------------


def sniff_format(data: bytes) -> str | None:
    """"jpeg", "png" or "heic" from the magic bytes, else None."""
    if data.startswith(_JPEG_MAGIC):
        return "jpeg"
    if data.startswith(_PNG_MAGIC):
        return "png"
    if data[4:8] == b"ftyp" and not _HEIC_BRANDS.isdisjoint(_ftyp_brands(data)):
        return "heic"
    return None


def _ftyp_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO-BMFF file's leading ftyp box."""
    size = min(int.from_bytes(data[0:4], "big"), len(data), 4096)
    brands = {data[8:12]}
    brands.update(data[i : i + 4] for i in range(16, size - 3, 4))
    return brands


def _looks_like(data: bytes) -> str | None:
    """What a refused file seems to be, for the message ("a GIF image"), when that is clear."""
    head = data[:64]
    if head.startswith((b"GIF87a", b"GIF89a")):
        return gettext_noop("a GIF image")
    if head.startswith(b"BM"):
        return gettext_noop("a BMP image")
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return gettext_noop("a TIFF image")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return gettext_noop("a WebP image")
    if head[4:8] == b"ftyp":
        brands = _ftyp_brands(data)
        if brands & {b"avif", b"avis"}:
            return gettext_noop("an AVIF image")
        return gettext_noop("an ISO media file (video or HEIF without HEVC)")
    if head.startswith(b"%PDF"):
        return gettext_noop("a PDF document")
    if head.startswith(b"PK\x03\x04"):
        return gettext_noop("a ZIP archive")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml")) or b"<svg" in data[:1024].lower():
        return gettext_noop("an SVG or XML document")
    if text.startswith((b"<!doctype", b"<html", b"<")):
        return gettext_noop("an HTML document")
    return None


def _not_an_image(data: bytes) -> ImageRefused:
    seems = _looks_like(data)
    if seems is None:
        return ImageRefused("not_an_image", gettext_noop("the file is not a JPEG, PNG or HEIC image"))
    return ImageRefused(
        "not_an_image", gettext_noop("the file is not a JPEG, PNG or HEIC image (it looks like %(kind)s)"),
        kind=seems,
    )


def _damaged() -> ImageRefused:
    return ImageRefused("damaged", gettext_noop("the file is damaged or truncated"))


# --- reading the size from the header, before decoding ---------------------------------------


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first frame header (SOF) before the first scan, else None."""
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # a scan or the end before any frame header
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _SOF_MARKERS:
            if pos + 9 > end:
                return None
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        pos += 2 + length
    return None


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, end) of each chunk's data; ImageRefused when one overruns the file or its
    CRC is wrong, or when the file ends before IEND."""
    pos, end = 8, len(data)
    while pos + 12 <= end:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        stop = pos + 8 + length
        if stop + 4 > end:
            raise _damaged()
        if zlib.crc32(data[pos + 4 : stop]) != int.from_bytes(data[stop : stop + 4], "big"):
            raise _damaged()
        yield kind, pos + 8, stop
        if kind == b"IEND":
            return  # anything after IEND is ignored, and gone once re-encoded
        pos = stop + 4
    raise _damaged()


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from IHDR, after checking the whole chunk structure."""
    chunks = _png_chunks(data)
    kind, start, end = next(chunks)
    if kind != b"IHDR" or end - start != 13:
        raise _damaged()
    for _ in chunks:  # walk to IEND: a file cut short is refused even when its pixels decode
        pass
    return int.from_bytes(data[start : start + 4], "big"), int.from_bytes(data[start + 4 : start + 8], "big")


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, content start, end) of the ISO-BMFF boxes in data[start:end]; stops at one that
    overruns (libheif then reports the damage)."""
    pos = start
    while pos + 8 <= end:
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        head = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            return
        yield kind, pos + head, pos + size
        pos += size


def _heic_size(data: bytes) -> tuple[int, int] | None:
    """The largest (width, height) among the `ispe` properties (meta/iprp/ipco/ispe).

    The primary image's is one of them; taking the largest never lets a big image through."""
    best: tuple[int, int] | None = None
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind != b"meta":
            continue
        for kind2, start2, end2 in _boxes(data, start + 4, end):  # meta is a full box
            if kind2 != b"iprp":
                continue
            for kind3, start3, end3 in _boxes(data, start2, end2):
                if kind3 != b"ipco":
                    continue
                for kind4, start4, end4 in _boxes(data, start3, end3):
                    if kind4 == b"ispe" and end4 - start4 >= 12:
                        size = (int.from_bytes(data[start4 + 4 : start4 + 8], "big"),
                                int.from_bytes(data[start4 + 8 : start4 + 12], "big"))
                        if best is None or size[0] * size[1] > best[0] * best[1]:
                            best = size
    return best


def _megapixels(pixels: int) -> str:
    """Rounded up to a tenth, so that an image just over the limit never reads as the limit."""
    value = math.ceil(pixels / 100_000) / 10
    return f"{value:.1f}".removesuffix(".0")


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise _damaged()
    if width * height > MAX_PIXELS:
        raise ImageRefused(
            "too_large",
            gettext_noop("the image is %(width)s × %(height)s = %(mp)s MP, over the %(limit)s MP limit"),
            width=str(width), height=str(height), mp=_megapixels(width * height),
            limit=_megapixels(MAX_PIXELS),
        )
    if max(width, height) > MAX_SIDE:
        raise ImageRefused(
            "too_large",
            gettext_noop("the image is %(width)s × %(height)s pixels; a side may be at most %(side)s pixels"),
            width=str(width), height=str(height), side=f"{MAX_SIDE:,}",
        )


def _header_size(fmt: str, data: bytes) -> tuple[int, int] | None:
    if fmt == "jpeg":
        scans = data.count(b"\xff\xda")
        if scans > MAX_JPEG_SCANS:
            raise ImageRefused(
                "too_many_scans",
                gettext_noop("the JPEG has %(scans)s scans, more than the %(limit)s a photo ever needs"),
                scans=str(scans), limit=str(MAX_JPEG_SCANS),
            )
        return _jpeg_size(data)
    if fmt == "png":
        return _png_size(data)
    return _heic_size(data)


# --- colour --------------------------------------------------------------------------------

_SRGB = ImageCms.createProfile("sRGB")
_SRGB_COLORANTS = ((0.4360, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7139))  # D50
_PROFILE_SPACE = {"RGB": "RGB ", "L": "GRAY", "CMYK": "CMYK"}

# Bradford chromatic adaptation, and the ICC connection space's D50 white.
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
_D50 = np.array([0.9642, 1.0, 0.8249])
# nclx (ITU-T H.273) transfer characteristics -> ICC parametric curve (type 3: g, a, b, c, d).
_SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
_NCLX_CURVES = {8: (1.0, 1.0, 0.0, 0.0, 0.0), 4: (2.2, 1.0, 0.0, 0.0, 0.0), 5: (2.8, 1.0, 0.0, 0.0, 0.0)}


def _is_srgb(profile: CmsProfile) -> bool:
    """An sRGB profile (most cameras embed one): the conversion would change nothing."""
    if "srgb" not in (profile.profile_description or "").lower() or profile.xcolor_space != "RGB ":
        return False
    colorants = (profile.red_colorant, profile.green_colorant, profile.blue_colorant)
    return all(
        got is not None and all(abs(a - b) < 0.003 for a, b in zip(got[0], want, strict=True))
        for got, want in zip(colorants, _SRGB_COLORANTS, strict=True)
    )


@lru_cache(maxsize=32)
def _transform(icc: bytes, mode: str) -> tuple[ImageCms.ImageCmsTransform, str] | None:
    """A transform from the profile to sRGB for an image of `mode`, with the profile's name;
    None when the profile is sRGB, unreadable or for another colour space (the pixels are then
    taken as sRGB, as a browser would)."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError, ValueError):
        return None
    core = profile.profile
    if core.xcolor_space != _PROFILE_SPACE[mode] or _is_srgb(core):
        return None
    try:
        # NOCACHE: the transform is shared between threads, and lcms's one-pixel cache is not.
        transform = ImageCms.buildTransform(
            profile, _SRGB, mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL,
            flags=ImageCms.Flags.NOCACHE,
        )
    except ImageCms.PyCMSError:
        return None
    return transform, (core.profile_description or "ICC profile").strip()


def _s15(value: float) -> bytes:
    return round(value * 65536).to_bytes(4, "big", signed=True)


def _xy_to_xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1 - x - y) / y])


def rgb_icc_profile(primaries: tuple[tuple[float, float], ...], white: tuple[float, float],
                    curve: tuple[float, float, float, float, float] = _SRGB_CURVE,
                    description: str = "RGB") -> bytes:
    """An ICC v2 matrix/TRC display profile for RGB primaries and white point given as CIE xy,
    with one parametric tone curve (ICC type 3: g, a, b, c, d) for the three channels."""
    columns = np.column_stack([_xy_to_xyz(*p) for p in primaries])
    white_xyz = _xy_to_xyz(*white)
    matrix = columns * np.linalg.solve(columns, white_xyz)
    # The colorants are stored adapted to D50, the profile connection space's white.
    cone = _BRADFORD @ np.column_stack([white_xyz, _D50])
    adapt = np.linalg.inv(_BRADFORD) @ np.diag(cone[:, 1] / cone[:, 0]) @ _BRADFORD
    d50_matrix = adapt @ matrix

    def xyz_tag(xyz: np.ndarray) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(_s15(float(v)) for v in xyz)

    text = description.encode("ascii", "replace")[:60] + b"\0"
    desc = (b"desc\0\0\0\0" + len(text).to_bytes(4, "big") + text + bytes(8) + bytes(3) + bytes(67))
    para = b"para\0\0\0\0" + (3).to_bytes(2, "big") + bytes(2) + b"".join(_s15(v) for v in curve)
    tags = [(b"desc", desc), (b"wtpt", xyz_tag(_D50)), (b"rXYZ", xyz_tag(d50_matrix[:, 0])),
            (b"gXYZ", xyz_tag(d50_matrix[:, 1])), (b"bXYZ", xyz_tag(d50_matrix[:, 2])),
            (b"rTRC", para), (b"gTRC", para), (b"bTRC", para)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, content in tags:
        padded = content + bytes(-len(content) % 4)  # tags start on 4-byte boundaries
        table += signature + (offset + len(body)).to_bytes(4, "big") + len(content).to_bytes(4, "big")
        body += padded
    size = offset + len(body)
    header = (size.to_bytes(4, "big") + bytes(4) + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
              + bytes(12) + b"acsp" + bytes(24) + bytes(4) + b"".join(_s15(v) for v in _D50) + bytes(48))
    return header + len(tags).to_bytes(4, "big") + table + body


def _nclx_icc(nclx: dict[str, float]) -> tuple[bytes, str] | None:
    """An ICC profile for a HEIC's nclx colour description, None when it is sRGB already.

    Phones that write nclx instead of an ICC profile often shoot Display P3 or BT.2020; taking
    those as sRGB would dull every colour, redness included."""
    if int(nclx.get("color_primaries", 2)) in (1, 2):  # BT.709 (sRGB's primaries), or unspecified
        return None
    try:
        primaries = tuple((float(nclx[f"color_primary_{c}_x"]), float(nclx[f"color_primary_{c}_y"]))
                          for c in ("red", "green", "blue"))
        white = (float(nclx["color_primary_white_x"]), float(nclx["color_primary_white_y"]))
    except (KeyError, TypeError, ValueError):
        return None
    if min(y for _, y in (*primaries, white)) <= 0:
        return None
    name = f"nclx primaries {int(nclx['color_primaries'])}"
    curve = _NCLX_CURVES.get(int(nclx.get("transfer_characteristics", 13)), _SRGB_CURVE)
    return rgb_icc_profile(primaries, white, curve, name), name


def _flatten(img: Image.Image) -> Image.Image:
    """The image as L, RGB or CMYK at 8 bits, transparency composited on white."""
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        wide = np.asarray(img).astype(np.uint32).clip(0, 65535)
        return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8))
    if mode == "1":
        return img.convert("L")
    if mode in ("P", "L", "RGB") and "transparency" in img.info:
        img = img.convert("LA" if mode == "L" else "RGBA")
    elif mode == "P":
        return img.convert("RGB")
    elif mode in ("PA", "RGBa", "La"):
        img = img.convert("RGBA")
    elif mode in ("YCbCr", "RGBX"):
        return img.convert("RGB")
    mode = img.mode
    if mode in ("L", "RGB", "CMYK"):
        return img
    if mode in ("LA", "RGBA"):
        base = mode[:-1]
        flat = Image.new(base, img.size, "white")
        flat.paste(img.convert(base), mask=img.getchannel("A"))
        return flat
    raise ImageRefused(
        "unsupported_colour", gettext_noop("the image's colour format (%(mode)s) is not supported"),
        mode=mode,
    )


def _to_srgb(img: Image.Image, fmt: str) -> tuple[Image.Image, str | None]:
    """The flattened image converted to sRGB RGB, and the profile it was converted from."""
    icc = img.info.get("icc_profile")
    found: tuple[ImageCms.ImageCmsTransform, str] | None = None
    if isinstance(icc, bytes) and icc:
        found = _transform(icc, img.mode)
    elif fmt == "heic" and img.mode == "RGB" and isinstance(img.info.get("nclx_profile"), dict):
        built = _nclx_icc(img.info["nclx_profile"])
        if built is not None:
            found = _transform(built[0], "RGB")
            found = (found[0], built[1]) if found else None
    if found is not None:
        transform, name = found
        try:
            converted = ImageCms.applyTransform(img, transform)
        except ImageCms.PyCMSError:
            converted = None  # a profile lcms parsed but cannot apply: taken as sRGB, as when unreadable
        if converted is not None:
            return converted, name
    return (img if img.mode == "RGB" else img.convert("RGB")), None


# --- decoding and encoding -------------------------------------------------------------------


# WeasyPrint (the PDFs) turns Pillow's LOAD_TRUNCATED_IMAGES on for the whole process when it is
# imported; with it a truncated photo would be filled with grey. Each decode turns it off for its
# own duration, under a lock so that two decodes never restore it in the wrong order.
_TRUNCATION_LOCK = threading.Lock()


@contextmanager
def _truncated_images_refused() -> Iterator[None]:
    with _TRUNCATION_LOCK:
        before = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before


def decode(data: bytes) -> Decoded:
    """The photo in `data` as sRGB pixels, or ImageRefused saying why it cannot be taken."""
    with _truncated_images_refused():
        return _decode(data)


def _decode(data: bytes) -> Decoded:
    if not data:
        raise ImageRefused("empty", gettext_noop("the file is empty"))
    fmt = sniff_format(data)
    if fmt is None:
        raise _not_an_image(data)
    size = _header_size(fmt, data)
    if size is not None:
        _check_size(*size)
    try:
        # catch_warnings is process-wide, not per thread; the header checks above do not depend on
        # it, so a race with another thread's filters can only weaken this second guard.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=_PIL_FORMATS[fmt])
            _check_size(*img.size)
            frames = int(getattr(img, "n_frames", 1))
            if fmt == "png" and frames > 1:
                raise ImageRefused(
                    "animated",
                    gettext_noop("the PNG is animated (%(frames)s frames); upload a single still photo"),
                    frames=str(frames),
                )
            img.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard: the size came from its parser, which the checks above did not see.
        raise ImageRefused(
            "too_large", gettext_noop("the image is over the %(limit)s MP limit"),
            limit=_megapixels(Image.MAX_IMAGE_PIXELS or MAX_PIXELS),
        ) from None
    except MemoryError:
        raise
    except Exception:  # Pillow and libheif raise many types for malformed input; all mean damaged
        raise _damaged() from None
    try:
        return _pixels(img, fmt)
    except (ImageRefused, MemoryError):
        raise
    except Exception:  # a colour conversion Pillow cannot do on this file: damaged, never a crash
        raise _damaged() from None


def _pixels(img: Image.Image, fmt: str) -> Decoded:
    try:
        oriented = ImageOps.exif_transpose(img)
    except Exception:  # unreadable EXIF: show the pixels as stored rather than refuse the photo
        oriented = img
    flat = _flatten(oriented)
    flat.info = dict(oriented.info)
    srgb, profile = _to_srgb(flat, fmt)
    rgb = np.ascontiguousarray(np.asarray(srgb, dtype=np.uint8))
    rgb.flags.writeable = False
    height, width = rgb.shape[:2]
    return Decoded(rgb=rgb, format=fmt, width=width, height=height, source_profile=profile)


def _check_pixels(rgb: np.ndarray) -> None:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) array, got {rgb.dtype} {rgb.shape}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError("the image has no pixels")


def encode_jpeg(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """A JPEG made from the pixels alone: no EXIF, XMP, IPTC, comment or ICC profile (sRGB).

    Chroma is kept at full resolution (4:4:4): redness and pigmentation metrics read colour at
    the scale of a small spot, which 4:2:0 subsampling would halve."""
    _check_pixels(rgb)
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1 to 100, not {quality}")
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(out, format="JPEG", quality=quality, subsampling=0)
    return out.getvalue()


def thumbnail(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """A copy scaled down (never up) so that its longer side is at most `max_side`, read-only."""
    _check_pixels(rgb)
    if max_side < 1:
        raise ValueError("max_side must be at least 1")
    img = Image.fromarray(np.ascontiguousarray(rgb))
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    small = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    small.flags.writeable = False
    return small
