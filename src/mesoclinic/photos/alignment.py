"""Aligning two photos of the same view for comparison (pure: numpy and OpenCV, no Django).

A face is aligned on its eyes, found with the Haar face and eye cascades that ship inside
opencv-contrib-python-headless (`cv2.data.haarcascades`, so nothing is downloaded); any other
area is aligned on points the user places on both photos. Either way the moving photo is mapped
onto the base photo by a similarity (rotation, uniform scale, translation: no shear, no mirror),
because two photos of one patient taken the same way differ by where the camera stood, not by
the shape of the face.

All points are (x, y) in image pixel coordinates of the photo they were placed on. Refusals are
`AlignmentRefused` with a one-line `.message` marked with `gettext_noop` for the Django layer to
translate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt


def gettext_noop(message: str) -> str:
    """Mark a message for translation; the Django layer translates it when shown."""
    return message


Point = tuple[float, float]
Box = tuple[int, int, int, int]  # x, y, width, height in image pixels

# Haar cascades are slow on large images and need no detail finer than this: detect on a copy
# whose longer side is at most this many pixels, then scale the boxes back.
DETECT_LONG_SIDE = 640
MIN_SPREAD_PX = 1.0  # points closer together than a pixel cannot fix a rotation or a scale
MAX_SCALE_CHANGE = 8.0  # a larger zoom between two photos of one view means mismatched points

NO_POINTS_PAIR = gettext_noop(
    "Place the same number of points on both photos, at least two, at the same places.")
POINTS_INVALID = gettext_noop("Each point must be a pair of finite pixel coordinates (x, y).")
POINTS_DEGENERATE = gettext_noop(
    "The points are too close together to align the photos; place them further apart.")
SCALE_IMPLAUSIBLE = gettext_noop(
    "The points give a change of size of more than eight times between the photos; check that "
    "they mark the same places.")
NO_EYES_BASE = gettext_noop(
    "The eyes were not found on the first photo; place at least two matching points on both photos.")
NO_EYES_MOVING = gettext_noop(
    "The eyes were not found on the second photo; place at least two matching points on both photos.")


class AlignmentRefused(ValueError):
    """The photos cannot be aligned; `.message` says why, in one line, for a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Face:
    """The largest face found, and its two eyes (left then right in the image) when found."""

    box: Box
    eye_boxes: tuple[Box, Box] | None

    @property
    def eye_centres(self) -> tuple[Point, Point] | None:
        if self.eye_boxes is None:
            return None
        (lx, ly, lw, lh), (rx, ry, rw, rh) = self.eye_boxes
        return (lx + lw / 2, ly + lh / 2), (rx + rw / 2, ry + rh / 2)


@dataclass(frozen=True)
class Aligned:
    """The moving photo mapped onto the base photo's frame (its size), and how."""

    rgb: npt.NDArray[np.uint8]
    method: Literal["points", "eyes"]
    matrix: npt.NDArray[np.float64]  # 2x3, moving pixel -> base pixel
    scale: float
    rotation_deg: float


@cache
def _cascade(name: str) -> cv2.CascadeClassifier:
    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)  # type: ignore[attr-defined]
    if classifier.empty():  # a broken OpenCV install: fail loudly rather than "no face"
        raise RuntimeError(f"OpenCV's {name} could not be loaded")
    return classifier


def _check_rgb(rgb: npt.NDArray[np.uint8]) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("expected an (H, W, 3) uint8 RGB array")


def find_face(rgb: npt.NDArray[np.uint8]) -> Face | None:
    """The largest frontal face in the photo with its eyes, or None when no face is found."""
    _check_rgb(rgb)
    height, width = rgb.shape[:2]
    factor = min(1.0, DETECT_LONG_SIDE / max(height, width))
    small = rgb if factor == 1.0 else cv2.resize(
        rgb, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA)
    gray = np.asarray(cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)), np.uint8)
    # A consultation photo is framed on the face: anything smaller than a tenth of the short side
    # is a face in the background (or a false hit in a pattern), not the patient's.
    min_side = max(24, min(gray.shape) // 10)
    faces = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
    if len(faces) == 0:
        return None
    fx, fy, fw, fh = (int(v) for v in max(faces, key=lambda f: int(f[2]) * int(f[3])))
    eyes = _eye_pair(gray, (fx, fy, fw, fh))

    def back(box: Box) -> Box:
        x, y, w, h = box
        return (round(x / factor), round(y / factor), round(w / factor), round(h / factor))

    return Face(back((fx, fy, fw, fh)), None if eyes is None else (back(eyes[0]), back(eyes[1])))


def _eye_pair(gray: npt.NDArray[np.uint8], face: Box) -> tuple[Box, Box] | None:
    """The two eyes inside `face`, ordered left to right in the image, or None."""
    fx, fy, fw, fh = face
    top = gray[fy:fy + int(fh * 0.6), fx:fx + fw]  # eyes lie in the upper part of a face box
    min_eye = max(8, fw // 10)
    found = _cascade("haarcascade_eye.xml").detectMultiScale(
        top, scaleFactor=1.1, minNeighbors=4, minSize=(min_eye, min_eye), maxSize=(fw // 2, fw // 2))
    candidates = [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]
    best: tuple[float, Box, Box] | None = None
    for i, a in enumerate(candidates):
        for b in candidates[i + 1:]:
            left, right = sorted((a, b), key=lambda e: e[0] + e[2] / 2)
            lcx, lcy = left[0] + left[2] / 2, left[1] + left[3] / 2
            rcx, rcy = right[0] + right[2] / 2, right[1] + right[3] / 2
            gap = (rcx - lcx) / fw
            # Two eyes: one either side of the face's middle, level, a plausible distance apart
            # and of similar size; the cascade also fires on nostrils, brows and glasses' rims.
            if not (lcx < fw / 2 < rcx and 0.2 <= gap <= 0.7 and abs(rcy - lcy) <= 0.12 * fh):
                continue
            if max(left[2], right[2]) > 1.6 * min(left[2], right[2]):
                continue
            score = abs((lcx + rcx) / 2 - fw / 2) / fw + abs((lcy + rcy) / 2 - 0.38 * fh) / fh
            if best is None or score < best[0]:
                best = (score, left, right)
    if best is None:
        return None
    _, left, right = best
    return ((fx + left[0], fy + left[1], left[2], left[3]),
            (fx + right[0], fy + right[1], right[2], right[3]))


def eyes(rgb: npt.NDArray[np.uint8]) -> tuple[Point, Point] | None:
    """The centres of the eyes of the largest face, left then right in the image, or None."""
    face = find_face(rgb)
    return None if face is None else face.eye_centres


def _points(points: Sequence[Sequence[float]] | npt.ArrayLike) -> npt.NDArray[np.float64]:
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise AlignmentRefused(POINTS_INVALID) from None
    if array.ndim != 2 or array.shape[1] != 2 or not np.isfinite(array).all():
        raise AlignmentRefused(POINTS_INVALID)
    return array


def similarity_from_points(src_pts: Sequence[Sequence[float]] | npt.ArrayLike,
                           dst_pts: Sequence[Sequence[float]] | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The 2x3 similarity mapping `src_pts` onto `dst_pts` with the least squared error.

    Needs at least two pairs; refuses (AlignmentRefused) points that do not fix a rotation and a
    scale: all source or all destination points within a pixel of their centroid.
    """
    src, dst = _points(src_pts), _points(dst_pts)
    if len(src) != len(dst) or len(src) < 2:
        raise AlignmentRefused(NO_POINTS_PAIR)
    # As complex numbers a similarity is z -> c·z + t; with both sets centred, the least-squares
    # c is Σ conj(s)·d / Σ |s|² (the closed form of Umeyama's method without reflection).
    s = src[:, 0] + 1j * src[:, 1]
    d = dst[:, 0] + 1j * dst[:, 1]
    sc, dc = s - s.mean(), d - d.mean()
    spread_src = np.sqrt(np.mean(np.abs(sc) ** 2))
    spread_dst = np.sqrt(np.mean(np.abs(dc) ** 2))
    if spread_src < MIN_SPREAD_PX or spread_dst < MIN_SPREAD_PX:
        raise AlignmentRefused(POINTS_DEGENERATE)
    c = np.sum(np.conj(sc) * dc) / np.sum(np.abs(sc) ** 2)
    t = d.mean() - c * s.mean()
    return np.array([[c.real, -c.imag, t.real], [c.imag, c.real, t.imag]], dtype=np.float64)


def align(moving_rgb: npt.NDArray[np.uint8], matrix: npt.NDArray[np.float64],
          size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """`moving_rgb` warped by the 2x3 `matrix` onto a canvas of `size` = (width, height).

    Pixels that fall outside the moving photo are black, so the comparison never shows invented
    skin.
    """
    _check_rgb(moving_rgb)
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (2, 3) or not np.isfinite(m).all():
        raise ValueError("expected a finite 2x3 matrix")
    width, height = int(size[0]), int(size[1])
    if width < 1 or height < 1:
        raise ValueError("size must be (width, height), both positive")
    out = cv2.warpAffine(moving_rgb, m, (width, height), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return np.asarray(out, dtype=np.uint8)


def _decompose(matrix: npt.NDArray[np.float64]) -> tuple[float, float]:
    a, b = float(matrix[0, 0]), float(matrix[1, 0])
    return float(np.hypot(a, b)), float(np.degrees(np.arctan2(b, a)))


def align_pair(base_rgb: npt.NDArray[np.uint8], moving_rgb: npt.NDArray[np.uint8],
               base_points: Sequence[Sequence[float]] | None = None,
               moving_points: Sequence[Sequence[float]] | None = None) -> Aligned:
    """`moving_rgb` aligned onto `base_rgb`: on the user's points when given, else on the eyes.

    Points are matched by position in the two lists (the first on the base photo with the first
    on the moving photo). Raises AlignmentRefused when the points are unusable, only one photo
    has points, or (without points) the eyes are not found on both photos.
    """
    _check_rgb(base_rgb)
    _check_rgb(moving_rgb)
    method: Literal["points", "eyes"]
    if base_points is not None or moving_points is not None:
        if base_points is None or moving_points is None:
            raise AlignmentRefused(NO_POINTS_PAIR)
        matrix = similarity_from_points(moving_points, base_points)
        method = "points"
    else:
        base_eyes = eyes(base_rgb)
        if base_eyes is None:
            raise AlignmentRefused(NO_EYES_BASE)
        moving_eyes = eyes(moving_rgb)
        if moving_eyes is None:
            raise AlignmentRefused(NO_EYES_MOVING)
        matrix = similarity_from_points(moving_eyes, base_eyes)
        method = "eyes"
    scale, rotation = _decompose(matrix)
    if not 1 / MAX_SCALE_CHANGE <= scale <= MAX_SCALE_CHANGE:
        raise AlignmentRefused(SCALE_IMPLAUSIBLE)
    height, width = base_rgb.shape[:2]
    return Aligned(align(moving_rgb, matrix, (width, height)), method, matrix, scale, rotation)
