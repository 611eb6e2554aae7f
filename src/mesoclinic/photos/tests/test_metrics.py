"""The photo metrics against values computed by hand on synthetic images (issue 12, item 3).

The reference colour science below is written out from the standards (IEC 61966-2-1 for sRGB,
CIE 15 for CIELAB, D65 white) one scalar at a time, independently of `photos.metrics`; spots and
hair are drawn with known sizes at a known scale, and the answers are checked against what was
drawn.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from mesoclinic.photos import metrics
from mesoclinic.photos.metrics import MetricsInputError, Region

SKIN = (224, 172, 150)
SPOT = (150, 100, 82)

# --------------------------------------------------------------------------- reference maths


def ref_linear(level: int) -> float:
    c = level / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def ref_lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    r, g, b = (ref_linear(v) for v in rgb)
    x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x / 0.95047), f(y / 1.0), f(z / 1.08883)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ref_lightness(level: int) -> float:
    return ref_lab((level, level, level))[0]


def uniform(rgb: tuple[int, int, int], height: int = 60, width: int = 80) -> np.ndarray:
    return np.full((height, width, 3), rgb, np.uint8)


# --------------------------------------------------------------------------- colour


@pytest.mark.parametrize(("rgb", "lab"), [
    # Published CIELAB (D65) of the sRGB primaries and extremes, as colour calculators give them.
    ((255, 0, 0), (53.2408, 80.0925, 67.2032)),
    ((0, 255, 0), (87.7347, -86.1827, 83.1793)),
    ((0, 0, 255), (32.2970, 79.1875, -107.8602)),
    ((255, 255, 255), (100.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
    ((128, 128, 128), (53.5850, 0.0, 0.0)),
])
def test_lab_of_reference_colours_matches_published_values(rgb, lab):
    assert metrics.lab_mean(uniform(rgb)) == pytest.approx(lab, abs=0.0001)


@pytest.mark.parametrize("rgb", [SKIN, (120, 80, 60), (250, 220, 200), (60, 40, 35), (10, 9, 8),
                                 (181, 130, 118)])
def test_uniform_colour_gives_the_hand_computed_lab_ei_mi_and_ita(rgb):
    image = uniform(rgb)
    lightness, a_star, b_star = ref_lab(rgb)
    red, green = ref_linear(rgb[0]), ref_linear(rgb[1])

    assert metrics.lab_mean(image) == pytest.approx((lightness, a_star, b_star), abs=1e-4)
    assert metrics.erythema_index(image) == pytest.approx(100 * math.log10(red / green), abs=1e-9)
    assert metrics.melanin_index(image) == pytest.approx(100 * math.log10(1 / red), abs=1e-9)
    ita = math.atan((lightness - 50) / b_star) * 180 / math.pi
    assert metrics.face_metrics(image)["ita_deg"] == pytest.approx(ita, abs=1e-4)


def test_skin_tone_figures_to_four_decimals():
    answer = metrics.face_metrics(uniform(SKIN))
    # (224, 172, 150): linear R 0.7454, G 0.4125; L* 74.5447, a* 16.0198, b* 18.6637.
    assert answer["lab_mean"] == [74.5447, 16.0198, 18.6637]
    assert answer["erythema_index"] == 25.6923
    assert answer["melanin_index"] == 12.7608
    assert answer["ita_deg"] == 52.7508


def test_linear_rgb_uses_both_branches_of_the_srgb_curve():
    levels = np.array([0, 10, 11, 128, 255], np.uint8)
    assert metrics.srgb_to_linear(levels) == pytest.approx([0.0, 10 / 255 / 12.92, ref_linear(11),
                                                            ref_linear(128), 1.0], abs=1e-12)


def test_erythema_and_melanin_indices_are_of_the_mean_linear_values():
    image = uniform(SKIN, 40, 80)
    image[:, 40:] = (120, 80, 60)
    red = (ref_linear(224) + ref_linear(120)) / 2
    green = (ref_linear(172) + ref_linear(80)) / 2
    assert metrics.erythema_index(image) == pytest.approx(100 * math.log10(red / green), abs=1e-9)
    assert metrics.melanin_index(image) == pytest.approx(100 * math.log10(1 / red), abs=1e-9)
    per_pixel_mean = (100 * math.log10(ref_linear(224) / ref_linear(172))
                      + 100 * math.log10(ref_linear(120) / ref_linear(80))) / 2
    assert abs(metrics.erythema_index(image) - per_pixel_mean) > 0.1  # the other definition differs


def test_a_mean_of_zero_is_floored_not_a_division_by_zero():
    black = uniform((0, 0, 0))
    assert metrics.erythema_index(black) == 0.0
    assert metrics.melanin_index(black) == pytest.approx(600.0)  # 100·log10(1/1e-6)
    red = uniform((255, 0, 0))
    assert metrics.erythema_index(red) == pytest.approx(600.0)
    assert metrics.melanin_index(red) == pytest.approx(0.0, abs=1e-12)
    answer = metrics.face_metrics(black)
    assert answer["lab_mean"] == [0.0, 0.0, 0.0]
    assert answer["ita_deg"] == -90.0


@pytest.mark.parametrize(("lightness", "b_star", "expected"), [
    (60.0, 10.0, 45.0),
    (60.0, -10.0, -45.0),  # atan of the ratio, not atan2: never beyond ±90
    (40.0, -10.0, 45.0),
    (40.0, 10.0, -45.0),
    (50.0, 12.0, 0.0),
    (70.0, 0.0, 90.0),
    (30.0, 0.0, -90.0),
    (50.0, 0.0, 0.0),
    (70.0, 1e-12, 90.0),
    (70.0, -0.00004, 90.0),  # b* printed as 0.0 (4 decimals) is 0, whatever its sign
    (70.0, -0.00006, -89.9999),
])
def test_ita_is_atan_of_the_ratio_with_b_zero_by_the_sign_of_l_minus_50(lightness, b_star, expected):
    assert metrics.ita_deg(lightness, b_star) == pytest.approx(expected, abs=1e-4)


def test_ita_of_neutral_greys():
    assert metrics.face_metrics(uniform((128, 128, 128)))["ita_deg"] == 90.0  # L* 53.6
    assert metrics.face_metrics(uniform((100, 100, 100)))["ita_deg"] == -90.0  # L* 42.4
    assert metrics.face_metrics(uniform((128, 128, 128)))["lab_mean"][1:] == [0.0, 0.0]


def test_large_regions_give_the_same_means_as_per_pixel():
    # Over 2^20 pixels the means go through a colour histogram; they must equal the per-pixel sums.
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (1100, 1000, 3), dtype=np.uint8)
    linear = np.vectorize(ref_linear)(np.arange(256))[image]
    expected_r, expected_g = linear[..., 0].mean(), linear[..., 1].mean()
    sample = image[:200]  # under the threshold: per pixel
    lab_per_pixel = np.array(metrics.lab_mean(sample))
    assert metrics.erythema_index(image) == pytest.approx(100 * math.log10(expected_r / expected_g), abs=1e-9)
    assert metrics.melanin_index(image) == pytest.approx(100 * math.log10(1 / expected_r), abs=1e-9)
    whole = np.array(metrics.lab_mean(image))
    direct = metrics.srgb_to_lab(image.reshape(-1, 3)).mean(axis=0)
    assert whole == pytest.approx(direct, abs=1e-9)
    assert lab_per_pixel == pytest.approx(metrics.srgb_to_lab(sample.reshape(-1, 3)).mean(axis=0), abs=1e-9)


def test_lab_mean_is_the_mean_of_per_pixel_lab():
    image = uniform((255, 255, 255), 10, 10)
    image[:, 5:] = (0, 0, 0)
    assert metrics.lab_mean(image) == pytest.approx((50.0, 0.0, 0.0), abs=1e-5)


# --------------------------------------------------------------------------- regions


def test_metrics_cover_only_the_region():
    image = uniform(SKIN, 100, 200)
    image[:, 100:] = (255, 0, 0)
    assert metrics.lab_mean(image, (0, 0, 100, 100)) == pytest.approx(ref_lab(SKIN), abs=1e-4)
    assert metrics.lab_mean(image, Region(100, 10, 100, 90)) == pytest.approx(ref_lab((255, 0, 0)), abs=1e-4)
    answer = metrics.face_metrics(image, region=(150, 20, 50, 80))
    assert answer["width"] == 200
    assert answer["height"] == 100
    assert answer["region"] == [150, 20, 50, 80]
    assert answer["erythema_index"] == 600.0


def test_no_region_means_the_whole_image():
    assert metrics.face_metrics(uniform(SKIN, 30, 40))["region"] == [0, 0, 40, 30]
    assert metrics.scalp_metrics(uniform(SKIN, 30, 40))["region"] == [0, 0, 40, 30]


def test_a_region_of_one_pixel_is_measured():
    image = uniform(SKIN, 30, 40)
    image[29, 39] = (0, 0, 0)
    assert metrics.face_metrics(image, region=(39, 29, 1, 1))["lab_mean"] == [0.0, 0.0, 0.0]
    assert metrics.scalp_metrics(image, region=(39, 29, 1, 1))["hair_coverage_percent"] == 0.0


@pytest.mark.parametrize("region", [
    (-1, 0, 10, 10), (0, -1, 10, 10), (35, 0, 10, 10), (0, 25, 10, 10), (0, 0, 41, 30), (40, 0, 1, 1),
])
def test_a_region_partly_outside_the_image_is_refused_not_clipped(region):
    with pytest.raises(MetricsInputError, match="not inside the 40x30 image"):
        metrics.face_metrics(uniform(SKIN, 30, 40), region=region)
    with pytest.raises(MetricsInputError, match="not inside"):
        metrics.scalp_metrics(uniform(SKIN, 30, 40), region=region)


@pytest.mark.parametrize("region", [(0, 0, 0, 10), (0, 0, 10, 0), (0, 0, -5, 10)])
def test_a_region_without_width_or_height_is_refused(region):
    with pytest.raises(MetricsInputError, match="at least 1"):
        metrics.lab_mean(uniform(SKIN), region)


@pytest.mark.parametrize("region", [(0, 0, 10), (0, 0, 10, 10, 1), (0, 0, 1.5, 10), (0, 0, True, 10)])
def test_a_region_must_be_four_integers(region):
    with pytest.raises(MetricsInputError, match="four integers"):
        metrics.lab_mean(uniform(SKIN), region)


@pytest.mark.parametrize("scale", [0, -0.1, math.nan, math.inf, "0.1", True])
def test_a_scale_must_be_a_positive_finite_number(scale):
    with pytest.raises(MetricsInputError, match="mm per pixel"):
        metrics.face_metrics(uniform(SKIN), mm_per_pixel=scale)


@pytest.mark.parametrize("image", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8),
                                   np.zeros((10, 10, 3), np.float32), np.zeros((0, 10, 3), np.uint8),
                                   [[0, 0, 0]]])
def test_only_rgb_uint8_images_are_measured(image):
    with pytest.raises(MetricsInputError):
        metrics.face_metrics(image)


# --------------------------------------------------------------------------- spots


def draw_discs(image: np.ndarray, centres: list[tuple[int, int]], radius_px: int,
               colour: tuple[int, int, int] = SPOT) -> int:
    """Draw filled discs; return how many pixels they cover."""
    mask = np.zeros(image.shape[:2], np.uint8)
    for centre in centres:
        cv2.circle(image, centre, radius_px, colour, -1)
        cv2.circle(mask, centre, radius_px, 1, -1)
    return int(mask.sum())


def grid(count: int, height: int, width: int) -> list[tuple[int, int]]:
    side = math.ceil(math.sqrt(count))
    return [(int((i % side + 0.5) * width / side), int((i // side + 0.5) * height / side))
            for i in range(count)]


@pytest.mark.parametrize(("count", "radius_mm", "scale"),
                         [(9, 1.0, 0.1), (6, 2.0, 0.05), (16, 0.6, 0.1), (4, 3.0, 0.1)])
def test_dark_discs_are_counted_with_their_area(count, radius_mm, scale):
    radius_px = round(radius_mm / scale)
    size = round(60 / scale)  # 60 mm square
    image = uniform(SKIN, size, size)
    drawn_px = draw_discs(image, grid(count, size, size), radius_px)
    found = metrics.spots(image, mm_per_pixel=scale)
    assert found.count == count
    assert found.area_mm2 == pytest.approx(count * math.pi * radius_mm ** 2, rel=0.03)
    assert found.area_px == drawn_px
    answer = metrics.face_metrics(image, mm_per_pixel=scale)["spots"]
    assert answer == {"count": count, "area_mm2": round(drawn_px * scale * scale, 4)}


def test_without_a_scale_spots_are_counted_at_a_tenth_of_a_mm_and_have_no_area():
    image = uniform(SKIN, 400, 400)
    draw_discs(image, grid(4, 400, 400), 20)  # 12.6 mm² each at 0.1 mm/px
    draw_discs(image, [(20, 20)], 1)  # 5 px: 0.05 mm² at 0.1 mm/px, too small
    assert metrics.face_metrics(image)["spots"] == {"count": 4, "area_mm2": None}
    # The same picture read at 0.05 mm/px makes the big discs 3.1 mm² and the small one 0.0125 mm².
    assert metrics.face_metrics(image, mm_per_pixel=0.05)["spots"]["count"] == 4
    # At 0.4 mm/px the big discs are 201 mm² each, too big to be spots, and the small one 0.8 mm².
    assert metrics.face_metrics(image, mm_per_pixel=0.4)["spots"] == {"count": 1, "area_mm2": 0.8}


def test_spots_outside_0_2_to_30_mm2_are_not_counted():
    scale = 0.1
    image = uniform(SKIN, 1000, 1000)
    counted = draw_discs(image, [(150, 150), (850, 150)], 10)  # 3.1 mm² each
    counted += draw_discs(image, [(150, 850)], 30)  # 28.3 mm², just inside
    draw_discs(image, [(500, 150), (500, 200)], 2)  # 13 px: 0.13 mm², too small
    draw_discs(image, [(500, 500)], 33)  # 34 mm², too big
    draw_discs(image, [(850, 850)], 80)  # 201 mm², far too big
    found = metrics.spots(image, mm_per_pixel=scale)
    assert found.count == 3
    assert found.area_mm2 == pytest.approx(counted * scale * scale)


def test_the_area_bounds_are_inclusive():
    # Squares of exactly 20 px (0.2 mm²) and 3,000 px (30 mm²) at 0.1 mm/px, on flat skin.
    image = uniform(SKIN, 800, 800)
    image[100:104, 100:105] = SPOT  # 20 px
    image[400:460, 400:450] = SPOT  # 3,000 px
    image[100:103, 600:606] = SPOT  # 18 px: under the bound
    image[600:661, 100:150] = SPOT  # 3,050 px: over it
    found = metrics.spots(image, mm_per_pixel=0.1)
    assert (found.count, found.area_px) == (2, 3020)


def grey_level_darker_by(background: int, delta_l: float) -> int:
    """The lightest grey level whose L* is at least `delta_l` below the background grey's."""
    return max(level for level in range(background)
               if ref_lightness(background) - ref_lightness(level) >= delta_l)


def test_a_spot_must_be_at_least_6_l_units_darker():
    background = 170
    image = uniform((background,) * 3, 600, 600)
    just_enough = grey_level_darker_by(background, 6.2)
    not_enough = grey_level_darker_by(background, 5.0) + 1  # under 5 L* darker
    assert ref_lightness(background) - ref_lightness(not_enough) < 5.0
    draw_discs(image, [(150, 150), (450, 150)], 15, (just_enough,) * 3)
    draw_discs(image, [(150, 450), (450, 450)], 15, (not_enough,) * 3)
    assert metrics.spots(image, mm_per_pixel=0.1).count == 2


def test_darkness_is_judged_against_the_local_background():
    # Left half L* 74.5, right half about 9 L* darker; a disc about 4 L* darker than the right
    # half (13 L* darker than the left) is not a spot, one 10 L* darker than the right half is.
    image = uniform(SKIN, 600, 1200)
    image[:, 600:] = (200, 150, 130)
    right = ref_lab((200, 150, 130))[0]
    faint, dark = (190, 140, 121), (175, 125, 107)
    assert right - ref_lab(faint)[0] < 5 < 6 < right - ref_lab(dark)[0]
    assert ref_lab(SKIN)[0] - ref_lab(faint)[0] > 6
    draw_discs(image, [(800, 150), (1000, 450)], 15, faint)
    drawn = draw_discs(image, [(800, 450)], 15, dark)
    found = metrics.spots(image, mm_per_pixel=0.1)
    assert (found.count, found.area_px) == (1, drawn)


@pytest.mark.parametrize("scale", [0.1, 0.05, 0.02])
@pytest.mark.parametrize("dark_side", [(200, 150, 130), (150, 100, 80), (90, 60, 45)])
def test_a_sharp_edge_makes_no_false_spots(scale, dark_side):
    image = uniform(SKIN, 600, 600)
    image[:, 300:] = dark_side
    image[:, 200:203] = dark_side  # and dark lines: a wrinkle, a hair
    image[100:102, 20:150] = dark_side
    assert metrics.spots(image, mm_per_pixel=scale).count == 0


def test_a_shading_gradient_makes_no_false_spots():
    ramp = np.linspace(230, 150, 800).astype(np.uint8)  # about 30 L* over 80 mm
    image = np.stack([ramp, (ramp * 0.77).astype(np.uint8), (ramp * 0.67).astype(np.uint8)], axis=-1)
    image = np.repeat(image[None], 600, axis=0)
    drawn = draw_discs(image, [(200, 300), (600, 300)], 12, (110, 70, 55))
    found = metrics.spots(image, mm_per_pixel=0.1)
    assert (found.count, found.area_px) == (2, drawn)


def test_noise_alone_makes_no_spots_and_leaves_spots_whole():
    rng = np.random.default_rng(11)
    image = uniform(SKIN, 600, 600)
    drawn = draw_discs(image, grid(9, 600, 600), 10)
    noisy = np.clip(image + rng.normal(0, 5, image.shape), 0, 255).astype(np.uint8)
    found = metrics.spots(noisy, mm_per_pixel=0.1)
    assert found.count == 9
    assert found.area_px == pytest.approx(drawn, rel=0.02)
    plain = np.clip(uniform(SKIN, 600, 600) + rng.normal(0, 5, image.shape), 0, 255).astype(np.uint8)
    assert metrics.spots(plain, mm_per_pixel=0.1).count == 0


def test_spots_are_counted_in_the_region_only():
    image = uniform(SKIN, 400, 800)
    draw_discs(image, [(100, 100), (300, 300)], 10)
    draw_discs(image, [(500, 100), (600, 300), (700, 200)], 10)
    assert metrics.spots(image, (0, 0, 400, 400), mm_per_pixel=0.1).count == 2
    assert metrics.spots(image, (400, 0, 400, 400), mm_per_pixel=0.1).count == 3
    assert metrics.spots(image, mm_per_pixel=0.1).count == 5


# --------------------------------------------------------------------------- hair


def draw_hair(image: np.ndarray, lines: list[tuple[tuple[int, int], tuple[int, int]]], width: int,
              colour: tuple[int, int, int] = (55, 38, 30)) -> float:
    """Draw hair shafts as lines; return the percentage of the image they cover."""
    mask = np.zeros(image.shape[:2], np.uint8)
    for start, end in lines:
        cv2.line(image, start, end, colour, width)
        cv2.line(mask, start, end, 1, width)
    return 100.0 * float(mask.mean())


SCALP = (205, 170, 155)


@pytest.mark.parametrize(("count", "width"), [(10, 2), (10, 5), (20, 3), (12, 9), (6, 20)])
def test_hair_coverage_is_the_drawn_fraction(count, width):
    image = uniform(SCALP, 600, 800)
    tops = [int((k + 0.5) * 800 / count) for k in range(count)]
    lines = [((x, 0), (x + 40, 599)) for x in tops]
    drawn = draw_hair(image, lines, width)
    assert metrics.hair_coverage_percent(image) == pytest.approx(drawn, abs=0.05)
    assert metrics.scalp_metrics(image)["hair_coverage_percent"] == pytest.approx(drawn, abs=0.05)


def test_crossing_hairs_in_every_direction():
    rng = np.random.default_rng(3)
    image = uniform(SCALP, 600, 800)
    lines = []
    for _ in range(60):
        x, y = int(rng.integers(0, 800)), int(rng.integers(0, 600))
        angle, length = rng.uniform(0, math.pi), rng.uniform(60, 300)
        lines.append(((x, y), (int(x + length * math.cos(angle)), int(y + length * math.sin(angle)))))
    drawn = draw_hair(image, lines, 4)
    assert 5 < drawn < 40
    assert metrics.hair_coverage_percent(image) == pytest.approx(drawn, abs=0.3)
    assert metrics.hair_coverage_percent(image, mm_per_pixel=0.02) == pytest.approx(drawn, abs=0.3)


def test_hairless_noisy_scalp_has_no_coverage():
    rng = np.random.default_rng(5)
    image = np.clip(uniform(SCALP, 600, 800) + rng.normal(0, 6, (600, 800, 3)), 0, 255).astype(np.uint8)
    assert metrics.hair_coverage_percent(image) < 0.05
    assert metrics.hair_coverage_percent(uniform(SCALP)) == 0.0


def test_noisy_hair_is_still_measured():
    rng = np.random.default_rng(6)
    image = uniform(SCALP, 600, 800)
    drawn = draw_hair(image, [((k * 50 + 20, 0), (k * 50 + 60, 599)) for k in range(16)], 5)
    noisy = np.clip(image + rng.normal(0, 5, image.shape), 0, 255).astype(np.uint8)
    assert metrics.hair_coverage_percent(noisy) == pytest.approx(drawn, abs=0.5)


def test_hair_coverage_over_the_region_only():
    image = uniform(SCALP, 400, 800)
    lines = [((x, 0), (x, 399)) for x in range(20, 400, 40)]  # 10 vertical hairs in the left half
    draw_hair(image, lines, 4)
    assert metrics.hair_coverage_percent(image, (400, 0, 400, 400)) == 0.0
    left = metrics.hair_coverage_percent(image, (0, 0, 400, 400))
    assert left == pytest.approx(100 * 10 * 5 / 400, abs=0.01)  # thickness 4 draws 5 px
    assert metrics.scalp_metrics(image, region=(0, 0, 400, 400)) == {
        "width": 800, "height": 400, "region": [0, 0, 400, 400], "hair_coverage_percent": 12.5}


@pytest.mark.parametrize(("scale", "side"),
                         [(None, 31), (0.1, 31), (0.03, 33), (0.02, 51), (0.01, 101), (0.001, 101)])
def test_the_black_hat_kernel_is_wider_than_hair(scale, side):
    assert metrics.hair_kernel_px(scale) == side


def test_hair_density_counts_clipped_hairs_and_their_width():
    scale = 0.01  # 1 mm = 100 px; a hair 8 px = 0.08 mm wide, clipped to 1.5 mm
    image = uniform(SCALP, 1000, 1000)  # 1 cm²
    lines = [((x, y), (x + 60, y + 130)) for x in range(60, 900, 120) for y in range(50, 850, 200)]
    draw_hair(image, lines, 8)
    found = metrics.hair_density(image, None, scale)
    assert found.count == len(lines) == 28
    assert found.per_cm2 == pytest.approx(28.0)
    assert found.mean_shaft_width_mm is not None
    assert 0.08 <= found.mean_shaft_width_mm <= 0.095  # cv2.line's thickness 8 draws 8-9 px
    assert metrics.hair_density(uniform(SCALP, 500, 500), None, scale) == metrics.HairDensity(0, 0.0, None)
    with pytest.raises(MetricsInputError):
        metrics.hair_density(image, None, None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- texture, under-eye


def test_ridge_density_sees_fine_lines_not_flat_skin():
    flat = uniform(SKIN, 300, 300)
    lined = flat.copy()
    for y in range(20, 300, 30):
        cv2.line(lined, (0, y), (299, y), (195, 145, 125), 2)
    assert metrics.ridge_density_percent(flat, mm_per_pixel=0.05) == 0.0
    assert metrics.ridge_density_percent(lined, mm_per_pixel=0.05) > 5.0


def test_under_eye_darkness_is_the_l_difference_to_mid_cheek():
    image = uniform(SKIN, 200, 200)
    image[40:60, 20:180] = (190, 140, 125)
    expected = ref_lab(SKIN)[0] - ref_lab((190, 140, 125))[0]
    found = metrics.under_eye_darkness(image, (20, 40, 160, 20), (50, 120, 100, 50))
    assert found == pytest.approx(expected, abs=1e-4)


# --------------------------------------------------------------------------- the contract's shape


def test_face_answer_has_exactly_the_contract_keys_in_order():
    answer = metrics.face_metrics(uniform(SKIN), mm_per_pixel=0.1)
    assert list(answer) == ["width", "height", "region", "lab_mean", "erythema_index", "melanin_index",
                            "ita_deg", "spots"]
    assert list(answer["spots"]) == ["count", "area_mm2"]
    assert isinstance(answer["spots"]["count"], int)


def test_scalp_answer_has_exactly_the_contract_keys_in_order():
    keys = ["width", "height", "region", "hair_coverage_percent"]
    assert list(metrics.scalp_metrics(uniform(SCALP))) == keys


def test_floats_are_rounded_to_four_decimals_and_never_negative_zero():
    answer = metrics.face_metrics(uniform((128, 128, 128)))
    for value in [*answer["lab_mean"], answer["erythema_index"], answer["melanin_index"], answer["ita_deg"]]:
        assert value == round(value, 4)
        assert math.copysign(1.0, value) == 1.0 or value != 0.0
    assert [math.copysign(1.0, v) for v in answer["lab_mean"][1:]] == [1.0, 1.0]


def test_read_only_images_are_measured():
    image = uniform(SKIN)
    image.flags.writeable = False  # as imaging.decode returns them
    assert metrics.face_metrics(image)["lab_mean"] == [74.5447, 16.0198, 18.6637]
    assert metrics.scalp_metrics(image)["hair_coverage_percent"] == 0.0
