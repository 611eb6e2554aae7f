"""An illustrative "expected result" on a face photo, for consultations (pure: no Django).

`simulate(rgb, strength)` smooths skin only (a guided filter on a feathered skin mask, keeping
some texture), blends dark spots toward the surrounding skin and lightens under-eye darkness,
each in proportion to the physician's `strength` (0..1), then draws the watermark ("simulation —
not a prediction", translated by the caller) into the pixels: a large semi-transparent text
repeated diagonally over the whole photo, so any crop still carries it, and a solid label in two
opposite corners. It is a picture to talk about, never a measurement: the caller stores it with
`parameters`, never lists it among the real photos and never runs metrics on it.

How it stays fast on a 12-megapixel photo on one core: the decisions (skin mask, face and eyes,
spots, the filter) are made on a working copy whose longer side is at most `WORK_LONG_SIDE`, and
carried to full resolution in two bands: the working copy's change is upsampled, and the fine
detail the working copy cannot hold (the full photo minus its upsampled working copy) is kept
with the gain the skin mask gives it. Outside the skin the photo is left exactly as it was, and
the full-resolution arithmetic is done only inside the bounding box of what changed.

`notes` are English sentences marked with `gettext_noop` (translate them with the catalogue):
what could not be done and why (no face found, no eyes for the under-eye step, no font for every
character of the watermark).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from mesoclinic.photos.alignment import Box, Face, find_face


def gettext_noop(message: str) -> str:
    """Mark a note for translation; the Django layer translates it when shown."""
    return message


ALGORITHM = "mesoclinic.photos.simulation/1"  # stored with each simulation: change it with the maths
DEFAULT_WATERMARK = "SIMULATION — NOT A PREDICTION"
WORK_LONG_SIDE = 1600
STRIP_ROWS = 192  # photo rows carried to full resolution at a time
TEXTURE_KEPT = 0.35  # share of the skin's fine texture kept at full strength: skin, not plastic
GUIDED_EPS = 20.0 ** 2  # in (0..255)² summed over the colour guide: smooths pores, keeps features
FACE_WIDTH_MM = 140.0  # a Haar face box is about a face's width: the scale for spot sizes
SPOT_MIN_DELTA_L = 6.0  # as the pigmentation metric: at least 6 L* units darker than around it
SPOT_MAX_DELTA_L = 30.0  # darker than this is a nostril, a lash or a mole: not retouched
SPOT_AREA_MM2 = (0.2, 30.0)
UNDER_EYE_MIN_DELTA_L = 1.0  # a band within one L* unit of the cheek is no dark circle
WATERMARK_ALPHA = 0.4
LABEL_BACKGROUND = 24
# The font that ships with the code (the PDFs use it) first, so that every machine draws the
# same watermark; then the system's font folders. The first with every glyph is used.
BUNDLED_FONT = Path(__file__).resolve().parent.parent / "kernel" / "pdf_fonts" / "DejaVuSans-Bold.ttf"
FONT_NAMES = (
    str(BUNDLED_FONT), "DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "NotoSans-Bold.ttf",
    "FreeSansBold.ttf",
    "arialbd.ttf", "Arial Bold.ttf", "DejaVuSans.ttf", "LiberationSans-Regular.ttf",
)

NO_FACE = gettext_noop(
    "No face was found: every skin-coloured area of the photo was retouched, and the under-eye "
    "area was left as it is.")
NO_EYES = gettext_noop("The eyes were not found: under-eye darkness was not lightened.")
UNDER_EYE_NOT_SKIN = gettext_noop(
    "The area under the eyes is not skin-coloured on this photo: it was left as it is.")
UNDER_EYE_NOT_DARKER = gettext_noop(
    "The under-eye area is not darker than the cheek: there was nothing to lighten.")
NO_SKIN = gettext_noop("No skin-coloured area was found: the photo was not retouched.")
NO_FONT = gettext_noop(
    "No font with every character of the watermark was found: it was written without accents.")


@dataclass(frozen=True)
class Simulated:
    """The watermarked simulation, what could not be done, and how it was made (JSON-ready)."""

    rgb: npt.NDArray[np.uint8]
    notes: tuple[str, ...]
    parameters: dict[str, Any] = field(default_factory=dict)


FloatImage = npt.NDArray[np.float32]


def simulate(rgb: npt.NDArray[np.uint8], strength: float, *,
             watermark: str = DEFAULT_WATERMARK) -> Simulated:
    """The retouched, watermarked photo at `strength` (0: unchanged but for the watermark)."""
    _check_rgb(rgb)
    level = _check_strength(strength)
    text = " ".join(str(watermark).split())
    if not text:
        raise ValueError("the watermark text must not be empty: a simulation is always marked")
    retouched, notes, parameters = _retouch(rgb, level)
    marked, font = _draw_watermark(retouched, text)
    if font is None:
        notes = (*notes, NO_FONT)
    # The font's file name only: a server path has no place in a patient's record.
    parameters |= {"watermark": text, "watermark_font": Path(font).name if font else "hershey (ASCII)"}
    return Simulated(marked, notes, parameters)


def _check_rgb(rgb: npt.NDArray[np.uint8]) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("expected an (H, W, 3) uint8 RGB array")
    if min(rgb.shape[:2]) < 32:
        raise ValueError("the photo is too small to simulate on (under 32 pixels a side)")


def _check_strength(strength: float) -> float:
    if isinstance(strength, bool) or not isinstance(strength, int | float | np.floating | np.integer):
        raise ValueError("strength must be a number from 0 to 1")
    value = float(strength)
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise ValueError("strength must be from 0 to 1")
    return value


# --- retouching -------------------------------------------------------------------------------

def _retouch(rgb: npt.NDArray[np.uint8], strength: float
             ) -> tuple[npt.NDArray[np.uint8], tuple[str, ...], dict[str, Any]]:
    """The photo retouched at `strength`, without the watermark (never shown on its own)."""
    height, width = rgb.shape[:2]
    # A whole-number reduction: OpenCV averages q×q blocks far faster than a fractional
    # resampling, and a working pixel is then exactly q×q photo pixels (the last partial row and
    # column are left out of the working copy; the edit reaches them by replication).
    q = math.ceil(max(height, width) / WORK_LONG_SIDE)
    whole = rgb[: height // q * q, : width // q * q]
    work = rgb if q == 1 else np.asarray(
        cv2.resize(whole, (width // q, height // q), interpolation=cv2.INTER_AREA), np.uint8)
    notes: list[str] = []
    face = find_face(work)
    if face is None:
        notes.append(NO_FACE)
    face_width = face.box[2] if face is not None else 0.5 * min(work.shape[:2])
    mm_per_px = FACE_WIDTH_MM / face_width

    skin, feathered = _skin_mask(work, face, face_width)
    radius = max(2, round(face_width * 0.02))
    base = work.astype(np.float32)
    result = base.copy()
    gain = np.ones(work.shape[:2], np.float32)  # what is kept of the fine detail at full resolution
    spots = 0
    under_eye: dict[str, Any] | None = None
    if not skin.any():
        notes.append(NO_SKIN)
    elif strength > 0:
        smooth_amount = feathered * (strength * (1 - TEXTURE_KEPT))
        result += smooth_amount[..., None] * (_guided(work, skin, radius) - base)
        gain -= smooth_amount
        spots = _blend_spots(work, result, gain, skin, face_width, mm_per_px, strength)
    if face is not None and face.eye_boxes is None:
        notes.append(NO_EYES)
    elif face is not None and face.eye_boxes is not None and skin.any():
        under_eye = _lighten_under_eyes(result, feathered, face.eye_boxes, strength)
        if under_eye["delta_l_before"] is None:
            notes.append(UNDER_EYE_NOT_SKIN)
        elif under_eye["delta_l_before"] <= UNDER_EYE_MIN_DELTA_L:
            notes.append(UNDER_EYE_NOT_DARKER)
    np.clip(result, 0, 255, out=result)
    out = _compose(rgb, base, result, gain, q) if strength > 0 else rgb.copy()

    def full(box: Box) -> list[int]:
        return [v * q for v in box]

    parameters: dict[str, Any] = {
        "algorithm": ALGORITHM, "strength": strength, "texture_kept": TEXTURE_KEPT,
        "working_scale": round(1 / q, 4),
        "guided_filter": {"radius": radius, "eps": GUIDED_EPS, "guide": "rgb"},
        "face": None if face is None else full(face.box),
        "eyes": None if face is None or face.eye_boxes is None else [full(b) for b in face.eye_boxes],
        "skin_fraction": round(float(np.count_nonzero(feathered > 0.5)) / feathered.size, 4),
        "spots_blended": spots, "under_eye": under_eye,
    }
    return out, tuple(notes), parameters


def _skin_mask(work: npt.NDArray[np.uint8], face: Face | None, face_width: float
               ) -> tuple[npt.NDArray[np.bool_], FloatImage]:
    """Skin as a clean binary mask and as a feathered 0..1 weight, on the working copy."""
    ycrcb = cv2.cvtColor(work, cv2.COLOR_RGB2YCrCb)
    hsv = cv2.cvtColor(work, cv2.COLOR_RGB2HSV)
    # Chai & Ngan's Cr/Cb box, widened a little for darker and redder skin, and OpenCV's hue
    # (0..180) within red-orange: either range alone lets in wood, sand or lips' surroundings.
    in_ycrcb = cv2.inRange(ycrcb, (40, 133, 77), (255, 180, 130))
    hue = hsv[..., 0]
    in_hue = ((hue <= 25) | (hue >= 165)) & (hsv[..., 1] >= 20) & (hsv[..., 1] <= 200) & (hsv[..., 2] >= 40)
    mask = np.where(in_hue, in_ycrcb, 0).astype(np.uint8)
    small = max(3, round(face_width * 0.01)) | 1
    close = max(5, round(face_width * 0.04)) | 1  # fills pores and spots, not nostrils or eyes
    for operation, size in ((cv2.MORPH_OPEN, small), (cv2.MORPH_CLOSE, close)):
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        mask = np.asarray(cv2.morphologyEx(mask, operation, kernel), np.uint8)
    if face is not None:
        fx, fy, fw, fh = face.box
        region = np.zeros_like(mask)
        # The Haar box runs from the brows to the mouth: reach up to the forehead and down to
        # the chin, not to the hair, ears or neck.
        cv2.ellipse(region, (round(fx + fw / 2), round(fy + 0.45 * fh)), (round(0.68 * fw), round(0.85 * fh)),
                    0, 0, 360, 255, -1)
        mask &= region
        for ex, ey, ew, eh in face.eye_boxes or ():
            # The eye itself (lashes, iris) is never smoothed; the lids around it are skin.
            cv2.ellipse(mask, (round(ex + ew / 2), round(ey + eh / 2)), (round(0.45 * ew), round(0.3 * eh)),
                        0, 0, 360, 0, -1)
    sigma = max(1.0, face_width * 0.015)
    feathered = np.clip(_blur(mask.astype(np.float32) * np.float32(1 / 255), sigma), 0, 1)
    return mask > 0, feathered


def _guided(work: npt.NDArray[np.uint8], skin: npt.NDArray[np.bool_], radius: int) -> FloatImage:
    """The guided filter of the working copy (guided by itself), computed around the skin only."""
    x, y, w, h = cv2.boundingRect(skin.astype(np.uint8))
    margin = 3 * radius
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(work.shape[1], x + w + margin), min(work.shape[0], y + h + margin)
    out = work.astype(np.float32)
    crop = np.ascontiguousarray(work[y0:y1, x0:x1])
    out[y0:y1, x0:x1] = cv2.ximgproc.guidedFilter(crop, crop, radius, GUIDED_EPS, dDepth=cv2.CV_32F)
    return out


def _blur(image: FloatImage, sigma: float) -> FloatImage:
    """A Gaussian blur; a wide one is done on a smaller copy, as its result has no fine detail."""
    step = int(sigma // 4)
    if step < 2:
        return np.asarray(cv2.GaussianBlur(image, (0, 0), sigma), np.float32)
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, width // step), max(1, height // step)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / step)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)


def _masked_blur(values: FloatImage, weight: FloatImage, sigma: float) -> tuple[FloatImage, FloatImage]:
    """Gaussian mean of `values` over the pixels `weight` selects (normalised convolution)."""
    w = _blur(weight, sigma)
    weighted = values * (weight[..., None] if values.ndim == 3 else weight)
    v = _blur(weighted.astype(np.float32), sigma)
    safe = np.maximum(w, 1e-6)
    return (v / (safe[..., None] if values.ndim == 3 else safe)).astype(np.float32), w


def _blend_spots(work: npt.NDArray[np.uint8], result: FloatImage, gain: FloatImage,
                 skin: npt.NDArray[np.bool_], face_width: float, mm_per_px: float, strength: float) -> int:
    """Blend dark spots inside the skin toward the skin around them (in place); their count."""
    lightness = cv2.cvtColor(work, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) * (100 / 255)
    # A touch of blur so pores and sensor noise are not taken for spots.
    lightness = np.asarray(cv2.GaussianBlur(lightness, (0, 0), max(0.7, face_width * 0.003)), np.float32)
    inside = skin.astype(np.float32)
    background, _ = _masked_blur(lightness, inside, max(2.0, face_width * 0.04))
    darker = background - lightness
    candidates = (skin & (darker >= SPOT_MIN_DELTA_L)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    if count <= 1:
        return 0
    area_px = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    area_mm2 = area_px * mm_per_px ** 2
    contrast = np.bincount(labels.ravel(), weights=darker.ravel(), minlength=count) / np.maximum(area_px, 1)
    keep = (area_mm2 >= SPOT_AREA_MM2[0]) & (area_mm2 <= SPOT_AREA_MM2[1]) & (contrast <= SPOT_MAX_DELTA_L)
    # A dark region reaching the edge of the skin is a feature (nostril, lash line, lip corner).
    edge = cv2.dilate((~skin).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    keep[np.unique(labels[edge & (labels > 0)])] = False
    keep[0] = False
    if not keep.any():
        return 0
    spot_mask = keep[labels].astype(np.uint8)
    grown = cv2.dilate(spot_mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    around = (skin & (grown == 0)).astype(np.float32)
    fill, support = _masked_blur(result, around, max(2.0, face_width * 0.03))
    alpha = cv2.GaussianBlur(grown.astype(np.float32), (0, 0), 1.0)
    alpha = np.where(support > 1e-3, np.minimum(alpha * 1.5, 1.0), 0.0).astype(np.float32) * strength
    result += alpha[..., None] * (fill - result)
    np.minimum(gain, 1 - alpha * (1 - TEXTURE_KEPT), out=gain)
    return int(np.count_nonzero(keep))


def _lighten_under_eyes(result: FloatImage, skin: FloatImage, eye_boxes: tuple[Box, Box],
                        strength: float) -> dict[str, Any]:
    """Shift the band below each eye toward the colour of the mid-cheek below it (in place).

    Returns the mean L* difference cheek minus band before and after, over both eyes.
    """
    height, width = skin.shape
    band = np.zeros((height, width), np.float32)
    cheek = np.zeros((height, width), np.float32)
    for ex, ey, ew, eh in eye_boxes:
        centre_x = round(ex + ew / 2)
        cv2.ellipse(band, (centre_x, round(ey + 1.0 * eh)), (round(0.4 * ew), max(1, round(0.17 * eh))),
                    0, 0, 360, 1.0, -1)
        cv2.ellipse(cheek, (centre_x, round(ey + 1.7 * eh)), (round(0.35 * ew), max(1, round(0.2 * eh))),
                    0, 0, 360, 1.0, -1)
    band_w = band * skin
    cheek_w = cheek * skin
    if band_w.sum() < 1 or cheek_w.sum() < 1:
        return {"lightened": False, "delta_l_before": None, "delta_l_after": None}

    def mean_rgb(weights: FloatImage) -> npt.NDArray[np.float64]:
        total = np.tensordot(weights, result, axes=([0, 1], [0, 1]))
        return np.asarray(total, np.float64) / float(weights.sum())

    def l_star(colour: npt.NDArray[np.float64]) -> float:
        pixel = np.clip(colour, 0, 255).astype(np.float32).reshape(1, 1, 3) / 255
        return float(cv2.cvtColor(pixel, cv2.COLOR_RGB2LAB)[0, 0, 0])

    band_rgb, cheek_rgb = mean_rgb(band_w), mean_rgb(cheek_w)
    before = l_star(cheek_rgb) - l_star(band_rgb)
    if before <= UNDER_EYE_MIN_DELTA_L:
        return {"lightened": False, "delta_l_before": round(before, 2), "delta_l_after": round(before, 2)}
    feather = max(1.0, min(e[3] for e in eye_boxes) * 0.12)
    weight = cv2.GaussianBlur(band, (0, 0), feather) * skin * strength
    result += weight[..., None] * (cheek_rgb - band_rgb).astype(np.float32)
    after = l_star(cheek_rgb) - l_star(mean_rgb(band_w))
    return {"lightened": strength > 0, "delta_l_before": round(before, 2), "delta_l_after": round(after, 2)}


def _compose(rgb: npt.NDArray[np.uint8], base: FloatImage, result: FloatImage, gain: FloatImage,
             q: int) -> npt.NDArray[np.uint8]:
    """Carry the working copy's edit to full resolution (two bands), inside what changed only."""
    if q == 1:
        return np.asarray(np.rint(result), np.uint8)
    changed = ((np.abs(result - base).max(axis=2) > 0.25) | (gain < 0.999)).astype(np.uint8)
    if not changed.any():
        return rgb.copy()
    height, width = rgb.shape[:2]
    wh, ww = base.shape[:2]
    x, y, w, h = cv2.boundingRect(changed)
    # The working box grown by two unchanged working pixels, and the photo's box it covers (q×q
    # pixels each; to the photo's edge at the working copy's edge). The margin makes the crop's
    # rim the original photo, so only the crop is enlarged, not the whole working copy.
    wx0, wy0, wx1, wy1 = max(0, x - 2), max(0, y - 2), min(ww, x + w + 2), min(wh, y + h + 2)
    x0, x1 = wx0 * q, width if wx1 == ww else wx1 * q
    out = rgb.copy()
    # In bands of rows, so the float temporaries stay small (a 12-megapixel float copy costs more
    # in page faults than in arithmetic). Each band takes one working row more on either side for
    # the bilinear reach and keeps only its own rows, so the bands join without a seam.
    band = max(1, STRIP_ROWS // q)
    for top in range(wy0, wy1, band):
        bottom = min(wy1, top + band)
        lo, hi = max(wy0, top - 1), min(wy1, bottom + 1)
        full_lo, full_hi = lo * q, height if hi == wh else hi * q
        keep_lo, keep_hi = top * q, height if bottom == wh else bottom * q
        size = (x1 - x0, full_hi - full_lo)

        def up(image: FloatImage, lo: int = lo, hi: int = hi, size: tuple[int, int] = size) -> FloatImage:
            crop = image[lo:hi, wx0:wx1]
            return np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR), np.float32)

        # out = up(result) + up(gain)·(original − up(base)): where nothing changed (result =
        # base, gain = 1) that is the original pixel exactly.
        detail = rgb[full_lo:full_hi, x0:x1].astype(np.float32)
        detail -= up(base)  # what the working copy cannot hold: pores, fine hair, noise
        detail *= up(gain)[..., None]
        detail += up(result)
        np.rint(detail, out=detail)
        np.clip(detail, 0, 255, out=detail)
        out[keep_lo:keep_hi, x0:x1] = detail[keep_lo - full_lo: keep_hi - full_lo]
    return out


# --- watermark --------------------------------------------------------------------------------

def _draw_watermark(rgb: npt.NDArray[np.uint8], text: str) -> tuple[npt.NDArray[np.uint8], str | None]:
    """`rgb` with `text` drawn into it (tiled diagonally and as two corner labels); the font used."""
    height, width = rgb.shape[:2]
    short = min(height, width)
    font = _font_for(text)
    # On a large photo the pattern is drawn at half size and enlarged: letters over fifty pixels
    # tall lose nothing, and rotating a quarter of the pixels is what keeps this fast.
    step = 2 if short >= 1200 else 1
    plane_h, plane_w = -(-height // step), -(-width // step)
    shape, fill = _text_masks(text, max(12, round(short / 22 / step)), font, outline=True)
    line_h, line_w = shape.shape
    pitch, period = round(line_h * 3.2), line_w + 2 * line_h
    diagonal = math.ceil(math.hypot(plane_h, plane_w)) + 2 * pitch
    canvas_h, canvas_w = diagonal, diagonal + period
    tiles = np.zeros((canvas_h, canvas_w, 2), np.uint8)  # letters with outline, letters only
    both = np.dstack([shape, fill])
    for row, top in enumerate(range(0, canvas_h - line_h, pitch)):
        # Rows staggered by half a period so the text never lines up into one readable column gap.
        for left in range(-(period // 2) * (row % 2), canvas_w - line_w, period):
            lo = max(0, left)
            tiles[top:top + line_h, lo:left + line_w] = both[:, lo - left:]
    angle = min(45.0, max(20.0, math.degrees(math.atan2(height, width))))
    turn = cv2.getRotationMatrix2D((canvas_w / 2, canvas_h / 2), angle, 1.0)
    turn[:, 2] += (plane_w / 2 - canvas_w / 2, plane_h / 2 - canvas_h / 2)
    turned = cv2.warpAffine(tiles, turn, (plane_w, plane_h), flags=cv2.INTER_LINEAR)
    weight = turned[..., 0].astype(np.float32) * np.float32(WATERMARK_ALPHA / 255)
    colour = np.ascontiguousarray(turned[..., 1])
    if step > 1:
        weight = np.asarray(cv2.resize(weight, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)
        colour = np.asarray(cv2.resize(colour, (width, height), interpolation=cv2.INTER_LINEAR), np.uint8)
    # White letters with a dark outline, both see-through: readable on pale and on dark skin.
    out = np.asarray(cv2.blendLinear(rgb, cv2.merge([colour, colour, colour]), 1 - weight, weight), np.uint8)
    _draw_labels(out, text, font)
    return out, font


def _draw_labels(out: npt.NDArray[np.uint8], text: str, font: str | None) -> None:
    """Solid labels in the top-left and bottom-right corners (in place): cropping one keeps one."""
    height, width = out.shape[:2]
    size = max(10, round(min(height, width) / 40))
    _, fill = _text_masks(text, size, font, outline=False)
    pad = max(2, size // 3)
    if fill.shape[1] + 2 * pad > width:  # a narrow photo: shrink the label to fit across it
        across = (width - 2 * pad, max(1, fill.shape[0] * (width - 2 * pad) // fill.shape[1]))
        fill = np.asarray(cv2.resize(fill, across, interpolation=cv2.INTER_AREA), np.uint8)
    fill = fill[:max(1, height - 2 * pad)]
    box = (LABEL_BACKGROUND + fill.astype(np.float32) * ((255 - LABEL_BACKGROUND) / 255)).astype(np.uint8)
    box = np.pad(box, pad, constant_values=LABEL_BACKGROUND)
    bh, bw = box.shape
    out[:bh, :bw] = box[..., None]
    out[height - bh:, width - bw:] = box[..., None]


@cache
def _font_for(text: str) -> str | None:
    """The path of the first installed font that has a glyph for every character of `text`."""
    needed = {c for c in text if not c.isspace()}
    for name in FONT_NAMES:
        try:
            font = ImageFont.truetype(name, 32)
        except OSError:
            continue
        missing = _glyph(font, "\uffff")  # a non-character: every font draws its "missing" box
        if all(_glyph(font, c) != missing for c in needed):
            return str(font.path)
    return None


def _glyph(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    image = Image.new("L", (64, 64))
    ImageDraw.Draw(image).text((8, 8), char, fill=255, font=font)
    return image.tobytes()


def _ascii(text: str) -> str:
    """`text` without accents, for the Hershey fallback font (ASCII only)."""
    plain = unicodedata.normalize("NFKD", text.replace("ı", "i").replace("ß", "ss"))
    plain = plain.replace("—", "-").replace("–", "-")
    folded = "".join(c for c in plain if c.isascii() and c.isprintable())
    return folded if folded.strip() else _ascii(DEFAULT_WATERMARK)


def _text_masks(text: str, size: int, font: str | None, *, outline: bool
                ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Two same-sized 0..255 masks of one line of text: letters with their outline, letters only."""
    stroke = max(1, size // 14) if outline else 0
    if font is not None:
        face = ImageFont.truetype(font, size)
        probe = ImageDraw.Draw(Image.new("L", (1, 1)))
        left, top, right, bottom = probe.textbbox((0, 0), text, font=face, stroke_width=stroke)
        masks = []
        for width in (stroke, 0):
            image = Image.new("L", (int(right - left) + 2, int(bottom - top) + 2))
            ImageDraw.Draw(image).text((1 - left, 1 - top), text, fill=255, font=face,
                                       stroke_width=width, stroke_fill=255)
            masks.append(np.asarray(image, np.uint8))
        return masks[0], masks[1]
    plain = _ascii(text)
    scale = size / 22  # FONT_HERSHEY_DUPLEX is about 22 pixels tall at scale 1
    thickness = max(1, size // 12)
    (text_w, text_h), base = cv2.getTextSize(plain, cv2.FONT_HERSHEY_DUPLEX, scale, thickness + 2 * stroke)
    shape = np.zeros((text_h + base + 4 * stroke + 4, text_w + 4 * stroke + 4), np.uint8)
    fill = np.zeros_like(shape)
    origin = (2 * stroke + 2, text_h + 2 * stroke + 2)
    for mask, weight in ((shape, thickness + 2 * stroke), (fill, thickness)):
        cv2.putText(mask, plain, origin, cv2.FONT_HERSHEY_DUPLEX, scale, 255, weight, cv2.LINE_AA)
    return shape, fill
