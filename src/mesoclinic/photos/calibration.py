"""The scale of a photo from the clinic's calibration sticker (pure: numpy and OpenCV only).

The sticker is ArUco marker 0 of OpenCV's 4x4 dictionary (`DICT_4X4_50`), printed with its black
square STICKER_SIDE_MM wide on a white margin (`sticker_png` draws it for printing). OpenCV's
detector ships with the package and needs no model or network. The scale is the sticker's side
in millimetres over its mean side in pixels; a sticker seen at a slant (sides differing by more
than MAX_SKEW) gives no scale rather than a wrong one.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

STICKER_SIDE_MM = 10.0
STICKER_ID = 0
MAX_SKEW = 0.15  # the longest side at most 15 % longer than the shortest
MIN_SIDE_PX = 12  # smaller, and a pixel of error is several per cent of the scale
_DICTIONARY = cv2.aruco.DICT_4X4_50


def _detector() -> cv2.aruco.ArucoDetector:
    dictionary = cv2.aruco.getPredefinedDictionary(_DICTIONARY)
    parameters = cv2.aruco.DetectorParameters()
    parameters.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    return cv2.aruco.ArucoDetector(dictionary, parameters)


def scale_from_sticker(rgb: npt.NDArray[np.uint8], *, side_mm: float = STICKER_SIDE_MM) -> float | None:
    """Millimetres per pixel from the sticker in the photo, or None when there is none (or it is
    seen too slanted or too small to trust)."""
    if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
        raise ValueError("expected an (H, W, 3) uint8 RGB image")
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    corners, ids, _rejected = _detector().detectMarkers(grey)
    if ids is None:
        return None
    for found, marker in zip(corners, ids.ravel(), strict=True):
        if int(marker) != STICKER_ID:
            continue
        points = found.reshape(4, 2).astype(np.float64)
        sides = np.linalg.norm(points - np.roll(points, -1, axis=0), axis=1)
        if sides.min() < MIN_SIDE_PX or sides.max() > sides.min() * (1 + MAX_SKEW):
            return None
        # The detected corners lie on the outer edge's pixel centres: one pixel short of the edge.
        return side_mm / (float(sides.mean()) + 1.0)
    return None


def sticker_png(pixels_per_mm: int = 30) -> bytes:
    """The sticker to print: the marker at STICKER_SIDE_MM with a white margin of half its side."""
    side = int(STICKER_SIDE_MM * pixels_per_mm)
    marker = cv2.aruco.generateImageMarker(cv2.aruco.getPredefinedDictionary(_DICTIONARY), STICKER_ID, side)
    margin = side // 2
    sheet = np.full((side + 2 * margin, side + 2 * margin), 255, dtype=np.uint8)
    sheet[margin:margin + side, margin:margin + side] = marker
    ok, encoded = cv2.imencode(".png", sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError("could not encode the sticker")
    return encoded.tobytes()
