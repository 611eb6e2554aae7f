"""Colour correction from a ColorChecker in the frame, on synthetic charts drawn here."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mesoclinic.photos import colour

# ColorChecker Classic, the 24 patches in chart order (dark skin ... black), sRGB D65 8-bit as
# published by BabelColor (ColorChecker RGB and spectra, average of 30 charts).
MACBETH_SRGB = (
    (115, 82, 68), (194, 150, 130), (98, 122, 157), (87, 108, 67), (133, 128, 177), (103, 189, 170),
    (214, 126, 44), (80, 91, 166), (193, 90, 99), (94, 60, 108), (157, 188, 64), (224, 163, 46),
    (56, 61, 150), (70, 148, 73), (175, 54, 60), (231, 199, 31), (187, 86, 149), (8, 133, 161),
    (243, 243, 242), (200, 200, 200), (160, 160, 160), (122, 122, 121), (85, 85, 85), (52, 52, 52),
)
SKIN = (214, 160, 138)  # a light skin tone, drawn away from the chart: what the metrics measure
SKIN_BOX = (820, 250, 140, 200)  # x, y, w, h in the 1000 x 700 scene


def scene(*, patches: tuple[tuple[int, int, int], ...] = MACBETH_SRGB, with_chart: bool = True) -> np.ndarray:
    """A grey scene, 1000 x 700, with a 4 x 6 chart (60 px patches, black gaps) and a skin patch."""
    img = np.full((700, 1000, 3), 128, np.uint8)
    patch, gap, x0, y0 = 60, 12, 60, 180
    if with_chart:
        img[y0 : y0 + 4 * patch + 5 * gap, x0 : x0 + 6 * patch + 7 * gap] = 20
        for index, rgb in enumerate(patches):
            row, col = divmod(index, 6)
            x, y = x0 + gap + col * (patch + gap), y0 + gap + row * (patch + gap)
            img[y : y + patch, x : x + patch] = rgb
    x, y, w, h = SKIN_BOX
    img[y : y + h, x : x + w] = SKIN
    return img


def _to_linear(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    y = np.clip(linear, 0.0, 1.0)
    c = np.where(y <= 0.0031308, y * 12.92, 1.055 * y ** (1 / 2.4) - 0.055)
    return np.round(c * 255.0).astype(np.uint8)


def with_cast(rgb: np.ndarray) -> np.ndarray:
    """The same scene under a warm light: linear R x1.15, B x0.85."""
    linear = _to_linear(rgb)
    linear[..., 0] *= 1.15
    linear[..., 2] *= 0.85
    return _to_srgb(linear)


def skin_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of the mean colour of the skin patch's centre."""
    x, y, w, h = SKIN_BOX
    centre = rgb[y + 20 : y + h - 20, x + 20 : x + w - 20].reshape(-1, 3).mean(axis=0)
    pixel = (centre / 255.0).astype(np.float32).reshape(1, 1, 3)
    return np.asarray(cv2.cvtColor(pixel, cv2.COLOR_RGB2Lab), dtype=np.float64).reshape(3)


def delta_e(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def test_chart_is_found_on_a_clean_chart_and_colours_barely_move() -> None:
    clean = scene()
    result = colour.correct(clean)
    assert result.chart_found is True
    assert result.method == colour.METHOD_CCM
    assert result.warning is None
    assert result.residual is not None
    assert result.residual < 3.0
    assert result.rgb.shape == clean.shape
    assert result.rgb.dtype == np.uint8
    # A chart drawn with its own published colours needs (almost) no correction.
    assert delta_e(skin_lab(result.rgb), skin_lab(clean)) < 3.0


def test_colour_cast_is_corrected_on_skin_outside_the_chart() -> None:
    clean = scene()
    cast = with_cast(clean)
    before = delta_e(skin_lab(cast), skin_lab(clean))
    result = colour.correct(cast)
    after = delta_e(skin_lab(result.rgb), skin_lab(clean))
    assert result.chart_found is True
    assert before > 8.0  # the cast is plainly visible on the skin
    assert after < 3.0
    assert after < before / 3


def test_chart_in_a_12_mp_photo_is_found_on_the_reduced_copy_and_the_whole_photo_corrected() -> None:
    cast = with_cast(scene())
    big = cv2.resize(cast, (4000, 2800), interpolation=cv2.INTER_NEAREST)
    result = colour.correct(big)
    assert result.chart_found is True
    assert result.rgb.shape == big.shape
    small_again = cv2.resize(result.rgb, (1000, 700), interpolation=cv2.INTER_AREA)
    assert delta_e(skin_lab(small_again), skin_lab(scene())) < 3.0


def test_chart_seen_at_an_angle_is_found_and_corrects_the_cast() -> None:
    corners = np.array([[0, 0], [1000, 0], [1000, 700], [0, 700]], dtype=np.float32)
    tilted = np.array([[60, 30], [950, 80], [980, 650], [20, 690]], dtype=np.float32)
    warp = cv2.getPerspectiveTransform(corners, tilted)
    photo = cv2.warpPerspective(with_cast(scene()), warp, (1000, 700), borderValue=(128, 128, 128))
    result = colour.correct(photo)
    assert result.chart_found is True
    assert result.residual is not None
    assert result.residual < 3.0


def test_chart_shaped_target_with_wrong_colours_is_not_applied() -> None:
    # The patches shuffled: the detector may see a chart, but no matrix maps it onto the reference.
    order = np.random.default_rng(1).permutation(24)
    photo = scene(patches=tuple(MACBETH_SRGB[i] for i in order))
    result = colour.correct(photo)
    assert result.chart_found is False
    assert result.method == colour.METHOD_REJECTED
    assert result.residual is not None
    assert result.residual > colour.MAX_RESIDUAL_DE
    assert result.warning == colour.REJECTED_WARNING
    assert np.array_equal(result.rgb, photo)


def test_fast_application_matches_opencv_infer() -> None:
    cast = with_cast(scene())
    result = colour.correct(cast)
    assert result.chart_found is True
    model = colour.fit_model(_measured_patches(cast))
    reference = np.clip(model.infer(cast.astype(np.float64) / 255.0) * 255.0, 0, 255).round().astype(np.uint8)
    assert int(np.abs(reference.astype(np.int16) - result.rgb.astype(np.int16)).max()) <= 1


def _measured_patches(rgb: np.ndarray) -> np.ndarray:
    detector = cv2.mcc.CCheckerDetector.create()
    assert detector.process(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), cv2.mcc.MCC24, 1)
    charts = np.asarray(detector.getBestColorChecker().getChartsRGB(), dtype=np.float64)
    return charts[:, 1].reshape(24, 3) / 255.0


def test_photo_without_a_chart_comes_back_unchanged_with_a_warning() -> None:
    plain = with_cast(scene(with_chart=False))
    result = colour.correct(plain)
    assert result.chart_found is False
    assert result.method == colour.METHOD_NONE
    assert result.residual is None
    assert result.warning == colour.NO_CHART_WARNING
    assert np.array_equal(result.rgb, plain)


def test_noisy_photo_without_a_chart_never_raises() -> None:
    noise = np.random.default_rng(7).integers(0, 256, (600, 800, 3), dtype=np.uint8)
    result = colour.correct(noise)
    assert result.chart_found is False
    assert np.array_equal(result.rgb, noise)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((10, 10), np.uint8),
        np.zeros((10, 10, 4), np.uint8),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((0, 10, 3), np.uint8),
        [[[0, 0, 0]]],
    ],
    ids=["grey", "rgba", "float", "empty", "list"],
)
def test_input_that_is_not_an_rgb_uint8_image_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="image"):
        colour.correct(bad)  # type: ignore[arg-type]
