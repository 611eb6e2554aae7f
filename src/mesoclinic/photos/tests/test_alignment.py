"""Aligning two photos: similarity from point pairs, warping, the eyes path and its refusals."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from mesoclinic.photos import alignment
from mesoclinic.photos.alignment import AlignmentRefused, Face, align, align_pair, similarity_from_points


def similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a, b = scale * math.cos(math.radians(angle_deg)), scale * math.sin(math.radians(angle_deg))
    return np.array([[a, -b, tx], [b, a, ty]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def markers(height: int = 300, width: int = 400) -> np.ndarray:
    """A textured test card: gradient, a few blocks and discs, so misalignment shows."""
    rng = np.random.default_rng(7)
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = np.linspace(30, 220, width, dtype=np.uint8)[None, :]
    img[..., 1] = np.linspace(200, 40, height, dtype=np.uint8)[:, None]
    for _ in range(12):
        x, y = int(rng.integers(40, width - 40)), int(rng.integers(40, height - 40))
        cv2.circle(img, (x, y), int(rng.integers(6, 18)), tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
    return cv2.GaussianBlur(img, (0, 0), 1.5)


def test_similarity_recovers_a_known_rotation_scale_and_translation():
    known = similarity(17.0, 1.3, 40.0, -25.0)
    src = np.array([[10.0, 20.0], [300.0, 40.0], [150.0, 260.0], [50.0, 200.0]])
    found = similarity_from_points(src, apply(known, src))
    np.testing.assert_allclose(found, known, atol=1e-9)


def test_two_point_pairs_are_enough():
    known = similarity(-42.0, 0.6, -3.5, 120.0)
    src = np.array([[100.0, 100.0], [220.0, 130.0]])
    np.testing.assert_allclose(similarity_from_points(src, apply(known, src)), known, atol=1e-9)


def test_noisy_points_give_the_least_squares_fit():
    rng = np.random.default_rng(3)
    known = similarity(8.0, 1.1, 12.0, 7.0)
    src = rng.uniform(0, 1000, (40, 2))
    dst = apply(known, src) + rng.normal(0, 0.5, (40, 2))
    found = similarity_from_points(src, dst)
    scale = math.hypot(found[0, 0], found[1, 0])
    angle = math.degrees(math.atan2(found[1, 0], found[0, 0]))
    assert scale == pytest.approx(1.1, abs=1e-3)
    assert angle == pytest.approx(8.0, abs=0.05)
    # No other similarity fits better: nudging the answer only raises the squared error.
    error = np.sum((apply(found, src) - dst) ** 2)
    for delta in (np.array([[1e-4, 0, 0], [0, 1e-4, 0]]), np.array([[0, 0, 0.05], [0, 0, 0]])):
        assert np.sum((apply(found + delta, src) - dst) ** 2) > error


def test_a_mirror_is_not_fitted_as_a_reflection():
    src = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]])
    mirrored = src * np.array([-1.0, 1.0])
    found = similarity_from_points(src, mirrored)
    assert np.linalg.det(found[:, :2]) >= 0  # a similarity keeps the orientation


@pytest.mark.parametrize(("src", "dst", "message"), [
    ([[10, 10]], [[20, 20]], alignment.NO_POINTS_PAIR),
    ([[10, 10], [50, 50]], [[20, 20], [60, 60], [80, 90]], alignment.NO_POINTS_PAIR),
    ([[10, 10], [10.2, 10.1], [10.1, 9.9]], [[20, 20], [80, 80], [20, 90]], alignment.POINTS_DEGENERATE),
    ([[10, 10], [80, 80]], [[30, 30], [30, 30]], alignment.POINTS_DEGENERATE),
    ([[10, float("nan")], [80, 80]], [[30, 30], [60, 60]], alignment.POINTS_INVALID),
    ([[10, 10, 1], [80, 80, 1]], [[30, 30], [60, 60]], alignment.POINTS_INVALID),
    ([["a", "b"], [80, 80]], [[30, 30], [60, 60]], alignment.POINTS_INVALID),
])
def test_unusable_points_are_refused_with_a_reason(src, dst, message):
    with pytest.raises(AlignmentRefused) as refused:
        similarity_from_points(src, dst)
    assert refused.value.message == message


def test_align_warps_onto_a_canvas_of_the_given_size_with_black_outside():
    moving = np.full((50, 80, 3), 200, np.uint8)
    out = align(moving, similarity(0, 1, 30, 10), (120, 90))
    assert out.shape == (90, 120, 3)
    assert (out[20:50, 40:100] == 200).all()
    assert (out[:9] == 0).all()
    assert (out[:, :29] == 0).all()


def test_align_refuses_a_bad_matrix_or_size():
    moving = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="2x3"):
        align(moving, np.eye(3), (10, 10))
    with pytest.raises(ValueError, match="positive"):
        align(moving, similarity(0, 1, 0, 0), (0, 10))


def test_align_pair_on_the_users_points_recovers_the_base_view():
    base = markers()
    # The "later" photo: the camera a little closer, turned and moved.
    camera = similarity(6.0, 1.15, -20.0, 14.0)
    moving = np.asarray(cv2.warpAffine(base, camera, (400, 300), flags=cv2.INTER_LINEAR), np.uint8)
    base_points = np.array([[80.0, 70.0], [320.0, 90.0], [200.0, 240.0]])
    moving_points = apply(camera, base_points)
    result = align_pair(base, moving, base_points=base_points.tolist(), moving_points=moving_points.tolist())
    assert result.method == "points"
    assert result.rgb.shape == base.shape
    assert result.scale == pytest.approx(1 / 1.15, rel=1e-6)
    assert result.rotation_deg == pytest.approx(-6.0, abs=1e-6)
    # The middle of the frame (always covered by both photos) matches the base photo.
    centre = (slice(90, 210), slice(120, 280))
    diff = np.abs(result.rgb[centre].astype(int) - base[centre].astype(int))
    assert diff.mean() < 3
    unaligned = np.abs(moving[centre].astype(int) - base[centre].astype(int))
    assert unaligned.mean() > 5 * diff.mean()


def test_points_on_one_photo_only_are_refused():
    img = markers()
    with pytest.raises(AlignmentRefused) as refused:
        align_pair(img, img, base_points=[[1, 2], [30, 40]])
    assert refused.value.message == alignment.NO_POINTS_PAIR


def test_an_implausible_change_of_size_is_refused():
    img = markers()
    with pytest.raises(AlignmentRefused) as refused:
        align_pair(img, img, base_points=[[0, 0], [200, 0]], moving_points=[[0, 0], [10, 0]])
    assert refused.value.message == alignment.SCALE_IMPLAUSIBLE


def test_no_eyes_are_found_on_a_picture_without_a_face():
    assert alignment.eyes(markers()) is None
    assert alignment.find_face(np.full((240, 320, 3), 128, np.uint8)) is None


def test_without_points_or_eyes_the_pair_is_refused_with_a_reason():
    with pytest.raises(AlignmentRefused) as refused:
        align_pair(markers(), markers())
    assert refused.value.message == alignment.NO_EYES_BASE


def test_without_points_the_eyes_of_both_photos_are_matched(monkeypatch):
    base, moving = markers(), markers()
    found = {id(base): ((100.0, 120.0), (200.0, 120.0)), id(moving): ((150.0, 100.0), (200.0, 150.0))}
    monkeypatch.setattr(alignment, "eyes", lambda rgb: found[id(rgb)])
    result = align_pair(base, moving)
    assert result.method == "eyes"
    np.testing.assert_allclose(apply(result.matrix, np.array(found[id(moving)])),
                               np.array(found[id(base)]), atol=1e-9)
    assert result.scale == pytest.approx(100 / math.hypot(50, 50))
    assert result.rotation_deg == pytest.approx(-45.0)


def test_eyes_missing_on_the_second_photo_are_named(monkeypatch):
    base, moving = markers(), markers()
    monkeypatch.setattr(alignment, "eyes",
                        lambda rgb: ((100.0, 120.0), (200.0, 120.0)) if rgb is base else None)
    with pytest.raises(AlignmentRefused) as refused:
        align_pair(base, moving)
    assert refused.value.message == alignment.NO_EYES_MOVING


def test_eye_centres_are_the_middles_of_the_eye_boxes():
    face = Face(box=(0, 0, 300, 300), eye_boxes=((50, 80, 40, 30), (180, 84, 44, 28)))
    assert face.eye_centres == ((70.0, 95.0), (202.0, 98.0))
    assert Face(box=(0, 0, 300, 300), eye_boxes=None).eye_centres is None


def test_not_an_rgb_image_is_refused():
    with pytest.raises(ValueError, match="RGB"):
        alignment.eyes(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="RGB"):
        align(np.zeros((10, 10, 3), np.float32), similarity(0, 1, 0, 0), (10, 10))
