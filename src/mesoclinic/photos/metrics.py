"""Objective skin and hair metrics on one photo (pure: numpy and OpenCV only, no Django).

Every function takes an sRGB image as a numpy array (H, W, 3) of uint8, as
`mesoclinic.photos.imaging.decode` returns it (orientation applied), and an optional region
`(x, y, w, h)` in pixels of that image; no region means the whole image. A region must lie inside
the image: one partly outside is refused (`MetricsInputError`), never clipped, so the pixels
measured are always the pixels the user marked.

Colour (face):
- sRGB to linear RGB by IEC 61966-2-1 (c/12.92 up to 0.04045, else ((c+0.055)/1.055)^2.4), then
  CIE XYZ with the sRGB matrix at 7 digits (Lindbloom's, D65) and CIELAB against the D65 white
  X, Y, Z = 0.95047, 1.0, 1.08883 (CIE 15: f(t) = t^(1/3) above (6/29)^3, else t/(3·(6/29)^2)
  + 4/29), taken as the matrix's own image of white (Y = 1.0000001) so that a grey is exactly
  neutral. All in float64; a uniform colour reproduces the hand-computed L*a*b* to 1e-5.
- `lab_mean`: the mean of the per-pixel L*, a*, b* over the region.
- `erythema_index` = 100·log10(R/G) and `melanin_index` = 100·log10(1/R), where R and G are the
  means of the region's *linear* R and G: the index of the mean values, not the mean of
  per-pixel indices (a per-pixel index is infinite on a pixel with R or G = 0; the mean is not
  thrown by a few of them). A mean below `EPSILON` (1e-6, a three-hundredth of the linear value
  of sRGB level 1) counts as `EPSILON`, so that a black region gives finite numbers (EI 0,
  MI 600) instead of a division by zero or log10(0).
- `ita_deg` = atan((L* - 50)/b*)·180/π on the region's mean L* and b*: the arctangent of the
  ratio, so always within -90..90 (not atan2's -180..180). Where b* rounds to 0 at the output's
  4 decimals (a neutral grey's b* is 0 up to float rounding, of either sign) it is +90 for
  L* > 50, -90 for L* < 50 and 0 for L* = 50, so that ITA agrees with the b* printed.

Spots (face): connected regions (8-connected) at least `SPOT_DELTA_L` = 6 L* units darker than
their local background, whose area is 0.2-30 mm² (bounds included). The local background is the
median of L* over a square window of `SPOT_BACKGROUND_MM` = 20 mm: over three times the diameter
of the largest spot counted (30 mm² is a disc of 6.2 mm), so that a spot covers under a tenth of
the window and the median stays the skin around it (and a dark patch of up to ~200 mm², too big
to count, is still seen as darker, not taken for the background); a median also follows a
linear shading gradient exactly and keeps a sharp edge sharp. For speed the median runs on L*
averaged down so that the window is about 41 pixels, quantised to 1/2.55 L* (the background is
smooth, so that costs under 0.2 L*), then takes the darkest median of each 3x3 neighbourhood (so
that interpolating back across a sharp edge, a hairline or a nostril, gives the dark side no
lighter background, which would draw a seam of false spots) and is interpolated back to full
resolution; the comparison itself is per pixel at full resolution. A region nowhere as wide as
`SPOT_OPENING_MM` = 0.3 mm (pixel noise; a counted spot is at least a 0.5 mm disc) is dropped by
an opening by reconstruction, which leaves the other regions whole; so is a line, a region
whose area is under a tenth of the square of its bounding box's longer side (longer than about 8
times its width: a wrinkle, a hair, a shadow's edge). Areas are pixel counts times
`mm_per_pixel`²; without a scale, spots are counted at 0.1 mm per pixel and their area is None
(the contract's rule).

Hair (scalp): `hair_coverage_percent` is the share of the region's pixels whose black-hat
response (morphological closing of L*·2.55 minus itself, with a square kernel) is above a
threshold: Otsu's threshold on the response over the region, but at least `HAIR_MIN_CONTRAST_L`
= 5 L* units and at least `HAIR_NOISE_FACTOR` = 7 times the region's pixel noise (estimated from
neighbouring pixels' differences), so that skin grain and sensor or JPEG noise on a hairless
region are not counted as hair. The kernel must be wider than a hair and than a few hairs lying
together: 31 px, or 1 mm in pixels where a scale makes that wider, at most 101 px. Dark hair on
lighter scalp only: grey or blond hair that is not darker than the scalp is not seen.

Extras for the product (not in the `photo-metrics` contract's output): texture as the density of
Hessian ridges (`ridge_density_percent`), under-eye darkness as ΔL* between an under-eye band and
mid-cheek (`under_eye_darkness`), and hairs per cm² with mean shaft width on a clipped, marked
area (`hair_density`).

Numbers are compared only between photos taken the same way (light, distance, colour chart):
these functions measure pixels, they do not correct them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

EPSILON = 1e-6  # smallest mean linear R or G used in a logarithm (see the module docstring)
SPOT_DELTA_L = 6.0  # the issue: at least 6 L* units darker than the local background
SPOT_MIN_MM2 = 0.2
SPOT_MAX_MM2 = 30.0
SPOT_DEFAULT_MM_PER_PIXEL = 0.1  # the contract: without --mm-per-pixel, spots are counted at 0.1 mm/px
SPOT_BACKGROUND_MM = 20.0
SPOT_OPENING_MM = 0.3
SPOT_MIN_FILL = 0.1
_MEDIAN_WINDOW_PX = 41  # the background median's window after averaging down
HAIR_MIN_CONTRAST_L = 5.0
HAIR_NOISE_FACTOR = 7.0  # black-hat of pure noise: 99.99 % of pixels respond below ~7 sigma
HAIR_KERNEL_MM = 1.0
HAIR_KERNEL_MIN_PX, HAIR_KERNEL_MAX_PX = 31, 101
DECIMALS = 4  # floats in the contract's output (`face_metrics`, `scalp_metrics`)

# sRGB (IEC 61966-2-1) linear RGB to XYZ, D65, and the D65 white (CIE 15, 2° observer).
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
# The matrix's image of sRGB white: D65's 0.95047, 1, 1.08883 to 7 digits (Y is 1.0000001), so
# that every grey R = G = B is exactly neutral (a* = b* = 0) and white is L* = 100.
D65_WHITE = SRGB_TO_XYZ.sum(axis=1)
_LAB_DELTA = 6.0 / 29.0

_SMALL_REGION_PX = 1 << 20  # up to this, colour means per pixel; above, through a colour histogram

Array = NDArray[Any]


class MetricsInputError(ValueError):
    """An image, region or scale these functions cannot measure; `.message` is one line for a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Region:
    """A rectangle of pixels: left x, top y, width w, height h (w, h >= 1)."""

    x: int
    y: int
    w: int
    h: int

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


RegionLike = Region | tuple[int, int, int, int] | list[int] | None  # None: the whole image


@dataclass(frozen=True)
class Spots:
    """Counted spots: how many, their total area in pixels, and in mm² (None without a scale)."""

    count: int
    area_px: int
    area_mm2: float | None


@dataclass(frozen=True)
class HairDensity:
    """Hairs on a clipped, marked area: how many, per cm², and their mean shaft width in mm."""

    count: int
    per_cm2: float
    mean_shaft_width_mm: float | None


# ---------------------------------------------------------------------------- inputs


def check_image(rgb: object) -> Array:
    """The image as an (H, W, 3) uint8 array, or MetricsInputError."""
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise MetricsInputError("the image must be an (H, W, 3) uint8 sRGB array")
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise MetricsInputError("the image is empty")
    return rgb


def check_region(region: RegionLike, width: int, height: int) -> Region:
    """The region inside a width x height image (the whole image for None), or MetricsInputError."""
    if region is None:
        return Region(0, 0, width, height)
    values: list[object] = list(region.as_list() if isinstance(region, Region) else region)
    if len(values) != 4 or not all(isinstance(v, int | np.integer) and not isinstance(v, bool)
                                   for v in values):
        raise MetricsInputError("region must be four integers x, y, w, h")
    region = Region(*(int(v) for v in values if isinstance(v, int | np.integer)))
    if region.w < 1 or region.h < 1:
        raise MetricsInputError(f"region {_text(region)}: width and height must be at least 1")
    if region.x < 0 or region.y < 0 or region.x + region.w > width or region.y + region.h > height:
        # Refused, not clipped: measuring fewer pixels than were marked would mislead a trend.
        raise MetricsInputError(f"region {_text(region)} is not inside the {width}x{height} image")
    return region


def check_scale(mm_per_pixel: float | None) -> float | None:
    """The scale as a positive finite float (None stays None), or MetricsInputError."""
    if mm_per_pixel is None:
        return None
    if isinstance(mm_per_pixel, bool) or not isinstance(mm_per_pixel, int | float):
        raise MetricsInputError("mm per pixel must be a number")
    if not math.isfinite(mm_per_pixel) or mm_per_pixel <= 0:
        raise MetricsInputError("mm per pixel must be a positive finite number")
    return float(mm_per_pixel)


def _text(region: Region) -> str:
    return f"{region.x},{region.y},{region.w},{region.h}"


def _crop(rgb: object, region: RegionLike) -> tuple[Array, Region]:
    image = check_image(rgb)
    area = check_region(region, image.shape[1], image.shape[0])
    return image[area.y:area.y + area.h, area.x:area.x + area.w], area


# ---------------------------------------------------------------------------- colour


def _srgb_to_linear_values(values: Array) -> Array:
    c = values / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


_LINEAR = _srgb_to_linear_values(np.arange(256, dtype=np.float64))  # uint8 level -> linear, float64
_LINEAR.setflags(write=False)


def srgb_to_linear(rgb: Array) -> Array:
    """Linear RGB in 0..1 (float64, same shape) of sRGB uint8 values (IEC 61966-2-1)."""
    return _LINEAR[np.asarray(rgb, dtype=np.uint8)]


def _lab_f(t: Array) -> Array:
    out = np.cbrt(t)
    dark = t <= _LAB_DELTA ** 3  # few pixels: fix them rather than compute both branches everywhere
    out[dark] = t[dark] / (3 * _LAB_DELTA ** 2) + 4.0 / 29.0
    return out


def _lab_channels(red: Array, green: Array, blue: Array) -> tuple[Array, Array, Array]:
    """L*, a*, b* of linear R, G, B arrays of one shape (float64), channel by channel."""
    m = SRGB_TO_XYZ / D65_WHITE[:, None]  # X/Xn, Y/Yn, Z/Zn straight from R, G, B
    fx = _lab_f(m[0, 0] * red + m[0, 1] * green + m[0, 2] * blue)
    fy = _lab_f(m[1, 0] * red + m[1, 1] * green + m[1, 2] * blue)
    fz = _lab_f(m[2, 0] * red + m[2, 1] * green + m[2, 2] * blue)
    return 116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)


def linear_to_lab(linear: Array) -> Array:
    """CIELAB (D65) of linear RGB values (..., 3), float64: L* 0..100, a*, b*."""
    values = np.asarray(linear, dtype=np.float64)
    return np.stack(_lab_channels(values[..., 0], values[..., 1], values[..., 2]), axis=-1)


def srgb_to_lab(rgb: Array) -> Array:
    """CIELAB (D65) of sRGB uint8 values (..., 3), float64."""
    return linear_to_lab(srgb_to_linear(rgb))


@dataclass(frozen=True)
class _ColourMeans:
    lab: tuple[float, float, float]
    linear_r: float
    linear_g: float


def _colour_means(crop: Array) -> _ColourMeans:
    """Means of L*, a*, b* and of linear R and G over every pixel of the crop, in float64."""
    n = crop.shape[0] * crop.shape[1]
    if n <= _SMALL_REGION_PX:
        pixels = crop.reshape(-1, 3)
        red, green, blue = (_LINEAR[pixels[:, k]] for k in range(3))
        weights = np.ones(n)
    else:
        # A photo has far fewer distinct colours than pixels: convert each colour once and weight
        # it by its count, which gives the same sums as per pixel at a fraction of the time.
        padded = cv2.merge([np.ascontiguousarray(crop[..., 2]), np.ascontiguousarray(crop[..., 1]),
                            np.ascontiguousarray(crop[..., 0]), np.zeros(crop.shape[:2], np.uint8)])
        codes = padded.view("<u4").reshape(-1)  # bytes B, G, R, 0 little-endian: R<<16 | G<<8 | B
        counts = np.bincount(codes, minlength=1 << 24)
        present = np.flatnonzero(counts)
        red, green, blue = _LINEAR[present >> 16], _LINEAR[(present >> 8) & 255], _LINEAR[present & 255]
        weights = counts[present].astype(np.float64)
    lightness, a_star, b_star = _lab_channels(red, green, blue)
    return _ColourMeans(lab=(float(weights @ lightness) / n, float(weights @ a_star) / n,
                             float(weights @ b_star) / n),
                        linear_r=float(weights @ red) / n, linear_g=float(weights @ green) / n)


_Y_WEIGHTS = (_LINEAR[:, None] * (SRGB_TO_XYZ[1] / D65_WHITE[1])[None, :]).astype(np.float32)
_Y_WEIGHTS = _Y_WEIGHTS.reshape(256, 1, 3)  # cv2.LUT's shape for a 3-channel table
_ROWS = 256  # rows converted at a time: a 60 MP photo's float32 RGB at once would be 720 MB


def _lightness_map(crop: Array) -> Array:
    """L* of every pixel of the crop, float32 (H, W)."""
    height, width = crop.shape[:2]
    lightness = np.empty((height, width), np.float32)
    for top in range(0, height, _ROWS):
        part = np.ascontiguousarray(crop[top:top + _ROWS])
        # Y/Yn: each channel's level looked up as its linear value times its Y coefficient, summed.
        luminance = cv2.transform(cv2.LUT(part, _Y_WEIGHTS), np.ones((1, 3), np.float32))
        luminance = np.asarray(luminance, dtype=np.float32).reshape(part.shape[:2])
        f = np.cbrt(luminance)
        dark = luminance <= np.float32(_LAB_DELTA ** 3)
        f[dark] = luminance[dark] * np.float32(1.0 / (3 * _LAB_DELTA ** 2)) + np.float32(4.0 / 29.0)
        lightness[top:top + part.shape[0]] = f * np.float32(116.0) - np.float32(16.0)
    return lightness


def lab_mean(rgb: Array, region: RegionLike = None) -> tuple[float, float, float]:
    """Mean L*, a*, b* (D65) of the region's pixels."""
    crop, _ = _crop(rgb, region)
    return _colour_means(crop).lab


def _log_index(numerator: float, denominator: float) -> float:
    return 100.0 * math.log10(max(numerator, EPSILON) / max(denominator, EPSILON))


def erythema_index(rgb: Array, region: RegionLike = None) -> float:
    """100·log10(R/G) of the region's mean linear R and G (index of the means; EPSILON floor)."""
    crop, _ = _crop(rgb, region)
    means = _colour_means(crop)
    return _log_index(means.linear_r, means.linear_g)


def melanin_index(rgb: Array, region: RegionLike = None) -> float:
    """100·log10(1/R) of the region's mean linear R (EPSILON floor)."""
    crop, _ = _crop(rgb, region)
    return _log_index(1.0, _colour_means(crop).linear_r)


def ita_deg(lightness: float, b_star: float) -> float:
    """Individual typology angle, atan((L* - 50)/b*)·180/π in degrees; ±90 (or 0) where b* is 0."""
    if round(b_star, DECIMALS) == 0:  # as printed: a neutral grey's b* is 0 up to rounding
        return 90.0 if lightness > 50 else -90.0 if lightness < 50 else 0.0
    return math.degrees(math.atan((lightness - 50.0) / b_star))


# ---------------------------------------------------------------------------- spots


def _odd(value: float, low: int, high: int) -> int:
    size = int(min(max(round(value), low), high))
    return size if size % 2 else size + 1


def local_background(lightness: Array, mm_per_pixel: float) -> Array:
    """The local background L* of every pixel: a median over SPOT_BACKGROUND_MM (float32)."""
    height, width = lightness.shape
    window_px = SPOT_BACKGROUND_MM / mm_per_pixel
    factor = max(1, int(window_px // _MEDIAN_WINDOW_PX))
    small = lightness
    if factor > 1:
        small = cv2.resize(lightness, (max(1, round(width / factor)), max(1, round(height / factor))),
                           interpolation=cv2.INTER_AREA)
    # cv2.medianBlur takes any window only on uint8: L* at 1/2.55 steps is fine for a background.
    levels = np.clip(np.rint(small * np.float32(2.55)), 0, 255).astype(np.uint8)
    median = cv2.medianBlur(levels, _odd(window_px / factor, 3, 255))
    # The darkest median around each pixel: interpolating across a sharp edge (a hairline, a
    # nostril) would give the dark side a lighter background and make a seam of false spots.
    median = cv2.erode(median, np.ones((3, 3), np.uint8)).astype(np.float32) / np.float32(2.55)
    if factor > 1:
        median = cv2.resize(median, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.asarray(median, dtype=np.float32).reshape(height, width)


def _spots_on(lightness: Array, mm_per_pixel: float | None) -> Spots:
    scale = SPOT_DEFAULT_MM_PER_PIXEL if mm_per_pixel is None else mm_per_pixel
    darker = (lightness <= local_background(lightness, scale) - np.float32(SPOT_DELTA_L)).view(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(darker, connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.int64)
    keep = np.ones(len(areas), dtype=bool)
    side = int(SPOT_OPENING_MM / scale + 1e-6)
    side -= 1 - side % 2  # odd, and never wider than SPOT_OPENING_MM
    if side >= 3:
        # A region nowhere as wide as SPOT_OPENING_MM is thinner than any counted spot (0.2 mm²
        # is a disc of 0.5 mm): pixel noise, a fine hair. Opening by reconstruction drops such
        # regions and keeps every other one whole, its area untouched.
        opened = cv2.morphologyEx(darker, cv2.MORPH_OPEN,
                                  cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
        keep[:] = False
        keep[np.unique(labels[opened > 0])] = True
    # A region longer than about 8 times its width is a line (a wrinkle, a hair, the edge of a
    # shadow), not a spot: its area is under a tenth of the square of its longer side.
    longer = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]).astype(np.int64)
    keep &= areas >= SPOT_MIN_FILL * longer * longer
    keep[0] = False  # label 0 is everything not darker
    areas = areas[keep]
    areas_mm2 = areas * scale * scale
    counted = areas[(areas_mm2 >= SPOT_MIN_MM2 - 1e-9) & (areas_mm2 <= SPOT_MAX_MM2 + 1e-9)]
    area_px = int(counted.sum())
    return Spots(count=len(counted), area_px=area_px,
                 area_mm2=None if mm_per_pixel is None else area_px * mm_per_pixel * mm_per_pixel)


def spots(rgb: Array, region: RegionLike = None,
          mm_per_pixel: float | None = None) -> Spots:
    """Spots counted in the region: darker by >= 6 L* than the local background, 0.2-30 mm²."""
    crop, _ = _crop(rgb, region)
    return _spots_on(_lightness_map(crop), check_scale(mm_per_pixel))


# ---------------------------------------------------------------------------- hair


def hair_kernel_px(mm_per_pixel: float | None) -> int:
    """The black-hat kernel's side in pixels (odd): 31, or 1 mm where that is wider, at most 101."""
    if mm_per_pixel is None:
        return HAIR_KERNEL_MIN_PX
    return _odd(HAIR_KERNEL_MM / mm_per_pixel, HAIR_KERNEL_MIN_PX, HAIR_KERNEL_MAX_PX)


def hair_mask(rgb: Array, region: RegionLike = None,
              mm_per_pixel: float | None = None) -> Array:
    """The region's hair pixels (bool, the crop's shape): black-hat response above the threshold."""
    crop, _ = _crop(rgb, region)
    return _hair_mask_on(_lightness_map(crop), check_scale(mm_per_pixel))


def _hair_mask_on(lightness: Array, mm_per_pixel: float | None) -> Array:
    levels = np.clip(np.rint(lightness * np.float32(2.55)), 0, 255).astype(np.uint8)
    side = hair_kernel_px(mm_per_pixel)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    response = cv2.morphologyEx(levels, cv2.MORPH_BLACKHAT, kernel)
    otsu, _ = cv2.threshold(response, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    threshold = max(float(otsu), HAIR_MIN_CONTRAST_L * 2.55, HAIR_NOISE_FACTOR * _noise_sigma(levels))
    return np.asarray(response > threshold)


def _noise_sigma(levels: Array) -> float:
    """The pixel noise's standard deviation (in levels), from the median absolute difference
    between horizontal neighbours: edges (hair, the region's few features) barely move a median."""
    if levels.shape[1] < 2:
        return 0.0
    counts = np.bincount(cv2.absdiff(levels[:, 1:], levels[:, :-1]).ravel(), minlength=256)
    cumulative = np.cumsum(counts)
    half = cumulative[-1] / 2.0
    level = int(np.searchsorted(cumulative, half))
    below = float(cumulative[level - 1]) if level else 0.0
    # The median inside its integer bin, taken as spread over [level - 0.5, level + 0.5].
    median = max(0.0, level - 0.5 + (half - below) / float(counts[level]))
    return 1.4826 * median / math.sqrt(2.0)  # MAD of a difference of two samples -> one sample's sigma


def hair_coverage_percent(rgb: Array, region: RegionLike = None,
                          mm_per_pixel: float | None = None) -> float:
    """Percentage of the region's pixels that are hair (black-hat and threshold)."""
    mask = hair_mask(rgb, region, mm_per_pixel)
    return 100.0 * float(np.count_nonzero(mask)) / mask.size


def hair_density(rgb: Array, region: RegionLike, mm_per_pixel: float, *,
                 min_length_mm: float = 0.2) -> HairDensity:
    """Hairs per cm² and mean shaft width on a clipped, marked area (a trend, not a count by hand).

    Each connected piece of the hair mask at least `min_length_mm` long is one hair (on hair
    clipped to about a millimetre pieces rarely cross; two crossing hairs count as one, so the
    figure is a lower bound). A piece's width is 4 x its mean distance to the nearest non-hair
    pixel, less 2 px (exact for a straight band of whole pixels, within about a pixel at any
    angle), and its length its area over its width; the mean shaft width is the counted pieces'
    total area over their total length, in mm, None when no hair is found.
    """
    scale = check_scale(mm_per_pixel)
    if scale is None:
        raise MetricsInputError("hair density needs mm per pixel")
    crop, area = _crop(rgb, region)
    mask = _hair_mask_on(_lightness_map(crop), scale).astype(np.uint8)
    pieces, labels = cv2.connectedComponents(mask, connectivity=8)
    distance = cv2.distanceTransform(mask, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    areas = np.bincount(labels.ravel(), minlength=pieces)[1:].astype(np.float64)
    distances = np.bincount(labels.ravel(), weights=distance.ravel(), minlength=pieces)[1:]
    widths = np.maximum(1.0, 4.0 * distances / np.maximum(areas, 1.0) - 2.0)
    lengths = areas / widths
    counted = lengths * scale >= min_length_mm
    count = int(np.count_nonzero(counted))
    total_length = float(lengths[counted].sum())
    width = float(areas[counted].sum()) / total_length * scale if count else None
    area_cm2 = area.w * area.h * scale * scale / 100.0
    return HairDensity(count=count, per_cm2=count / area_cm2, mean_shaft_width_mm=width)


# ---------------------------------------------------------------------------- texture, under-eye


def ridge_density_percent(rgb: Array, region: RegionLike = None,
                          mm_per_pixel: float | None = None, *, sigma_mm: float = 0.25,
                          min_strength_l: float = 1.0) -> float:
    """Texture: percentage of the region's pixels on a dark ridge (a fine line or furrow).

    The Hessian of L* at scale sigma (`sigma_mm`, 0.25 mm; 0.1 mm per pixel without a scale) is
    taken from Gaussian derivatives; a pixel is on a ridge where its larger eigenvalue, scaled by
    sigma² (L* units, comparable across scales), is at least `min_strength_l` and exceeds the
    magnitude of the other eigenvalue twice over (a line, not a blob or a pore).
    """
    crop, _ = _crop(rgb, region)
    scale = check_scale(mm_per_pixel) or SPOT_DEFAULT_MM_PER_PIXEL
    sigma = max(1.0, sigma_mm / scale)
    smooth = cv2.GaussianBlur(_lightness_map(crop), (0, 0), sigma)
    # Each 3x3 Sobel kernel below is 4 times its derivative (the [1, 2, 1] or [-1, 0, 1] factor).
    dxx = cv2.Sobel(smooth, cv2.CV_32F, 2, 0, ksize=3) / np.float32(4.0)
    dyy = cv2.Sobel(smooth, cv2.CV_32F, 0, 2, ksize=3) / np.float32(4.0)
    dxy = cv2.Sobel(smooth, cv2.CV_32F, 1, 1, ksize=3) / np.float32(4.0)
    half_trace = (dxx + dyy) / 2
    root = np.sqrt(((dxx - dyy) / 2) ** 2 + dxy ** 2)
    major, minor = (half_trace + root) * sigma * sigma, (half_trace - root) * sigma * sigma
    ridge = (major >= min_strength_l) & (major > 2 * np.abs(minor))
    return 100.0 * float(np.count_nonzero(ridge)) / ridge.size


def under_eye_darkness(rgb: Array, under_eye: RegionLike,
                       cheek: RegionLike) -> float:
    """ΔL* = mean L* of mid-cheek - mean L* of the under-eye band: positive when the band is darker."""
    return lab_mean(rgb, cheek)[0] - lab_mean(rgb, under_eye)[0]


# ---------------------------------------------------------------------------- the contract


def _round(value: float) -> float:
    return round(float(value), DECIMALS) + 0.0  # + 0.0: never print -0.0


def face_metrics(rgb: Array, region: RegionLike = None,
                 mm_per_pixel: float | None = None) -> dict[str, Any]:
    """The `photo-metrics --area face` answer, keys in the contract's order, floats to 4 decimals."""
    image = check_image(rgb)
    scale = check_scale(mm_per_pixel)
    crop, area = _crop(image, region)
    means = _colour_means(crop)
    found = _spots_on(_lightness_map(crop), scale)
    lightness, _, b_star = means.lab
    return {
        "width": int(image.shape[1]), "height": int(image.shape[0]), "region": area.as_list(),
        "lab_mean": [_round(v) for v in means.lab],
        "erythema_index": _round(_log_index(means.linear_r, means.linear_g)),
        "melanin_index": _round(_log_index(1.0, means.linear_r)),
        "ita_deg": _round(ita_deg(lightness, b_star)),
        "spots": {"count": found.count,
                  "area_mm2": None if found.area_mm2 is None else _round(found.area_mm2)},
    }


def scalp_metrics(rgb: Array, region: RegionLike = None,
                  mm_per_pixel: float | None = None) -> dict[str, Any]:
    """The `photo-metrics --area scalp` answer, keys in the contract's order, floats to 4 decimals."""
    image = check_image(rgb)
    scale = check_scale(mm_per_pixel)
    crop, area = _crop(image, region)
    mask = _hair_mask_on(_lightness_map(crop), scale)
    return {"width": int(image.shape[1]), "height": int(image.shape[0]), "region": area.as_list(),
            "hair_coverage_percent": _round(100.0 * float(np.count_nonzero(mask)) / mask.size)}
