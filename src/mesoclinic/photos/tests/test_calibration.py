"""The calibration sticker gives the photo's scale; no sticker, a slanted or a tiny one gives none."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mesoclinic.photos import calibration


def _scene(marker_px: int, size: tuple[int, int] = (900, 1200)) -> np.ndarray:
    """Skin-coloured scene with the printed sticker (marker `marker_px` wide, white margin)."""
    rgb = np.full((*size, 3), (205, 160, 140), dtype=np.uint8)
    sheet = cv2.imdecode(np.frombuffer(calibration.sticker_png(), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert sheet is not None
    scaled = cv2.resize(sheet, (marker_px * 2, marker_px * 2), interpolation=cv2.INTER_AREA)
    rgb[100:100 + scaled.shape[0], 150:150 + scaled.shape[1]] = scaled[..., None]
    return rgb


@pytest.mark.parametrize("marker_px", [60, 150, 400])
def test_the_scale_is_the_sticker_side_over_its_pixels(marker_px: int) -> None:
    scale = calibration.scale_from_sticker(_scene(marker_px))
    assert scale == pytest.approx(calibration.STICKER_SIDE_MM / marker_px, rel=0.03)


def test_no_sticker_no_scale() -> None:
    assert calibration.scale_from_sticker(np.full((600, 800, 3), (205, 160, 140), np.uint8)) is None


def test_a_sticker_seen_at_a_slant_gives_no_scale() -> None:
    rgb = _scene(200)
    height, width = rgb.shape[:2]
    squash = np.array([[1.0, 0.0, 0.0], [0.0, 0.6, 0.0]], dtype=np.float32)  # 40 % shorter vertically
    slanted = cv2.warpAffine(rgb, squash, (width, height), borderValue=(205, 160, 140))
    assert calibration.scale_from_sticker(np.asarray(slanted, dtype=np.uint8)) is None


def test_another_marker_is_not_the_sticker() -> None:
    rgb = np.full((600, 800, 3), 200, np.uint8)
    other = cv2.aruco.generateImageMarker(cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50), 7, 200)
    rgb[100:300, 100:300] = other[..., None]
    assert calibration.scale_from_sticker(rgb) is None


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        calibration.scale_from_sticker(np.zeros((10, 10), np.uint8))
