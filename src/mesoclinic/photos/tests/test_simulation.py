"""The consultation simulation: always watermarked in its pixels, skin-only smoothing, spots
blended, under-eye darkness lightened, parameters recorded, strength checked."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from mesoclinic.photos import simulation
from mesoclinic.photos.alignment import Face
from mesoclinic.photos.simulation import Simulated, simulate

SKIN = (224, 172, 140)
BACKGROUND = (60, 110, 170)


def card(height: int = 480, width: int = 640, seed: int = 1) -> np.ndarray:
    """Skin on the left two thirds, a blue wall on the right, both with the same fine texture."""
    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), np.float32)
    img[:] = BACKGROUND
    img[:, : width * 2 // 3] = SKIN
    img += rng.normal(0, 7, (height, width, 1)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def with_spots(img: np.ndarray, centres: list[tuple[int, int]], radius: int = 5,
               colour: tuple[int, int, int] = (196, 142, 112)) -> np.ndarray:
    out = img.copy()
    for x, y in centres:
        cv2.circle(out, (x, y), radius, colour, -1, cv2.LINE_AA)
    return out


SPOTS = [(90, 120), (250, 90), (160, 330), (330, 260), (60, 400)]


def fine_energy(img: np.ndarray, region: tuple[slice, slice]) -> float:
    """Variance of what a small blur removes: the photo's fine texture."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.var((grey - cv2.GaussianBlur(grey, (0, 0), 1.5))[region]))


def lightness(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) * (100 / 255)


def disc_mean(values: np.ndarray, centre: tuple[int, int], radius: int) -> float:
    yy, xx = np.ogrid[: values.shape[0], : values.shape[1]]
    return float(values[(xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius ** 2].mean())


def ring_mean(values: np.ndarray, centre: tuple[int, int], inner: int, outer: int) -> float:
    yy, xx = np.ogrid[: values.shape[0], : values.shape[1]]
    d2 = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2
    return float(values[(d2 >= inner ** 2) & (d2 <= outer ** 2)].mean())


def retouched(img: np.ndarray, strength: float) -> tuple[np.ndarray, dict[str, object]]:
    out, _, parameters = simulation._retouch(img, strength)
    return out, parameters


def changed_share(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 10).mean())


def corners(img: np.ndarray, share: float = 0.25) -> dict[str, np.ndarray]:
    h, w = img.shape[:2]
    ch, cw = int(h * share), int(w * share)
    return {"top-left": img[:ch, :cw], "top-right": img[:ch, w - cw:],
            "bottom-left": img[h - ch:, :cw], "bottom-right": img[h - ch:, w - cw:],
            "middle": img[h // 2 - ch // 2: h // 2 + ch // 2, w // 2 - cw // 2: w // 2 + cw // 2]}


# --- the watermark ----------------------------------------------------------------------------

@pytest.mark.parametrize("strength", [0.0, 0.7])
def test_every_corner_crop_carries_the_watermark(strength):
    img = with_spots(card(), SPOTS)
    result = simulate(img, strength)
    unmarked, _ = retouched(img, strength)
    for name, crop in corners(result.rgb).items():
        reference = corners(unmarked)[name]
        assert changed_share(crop, reference) > 0.05, name


def test_at_strength_zero_the_photo_is_unchanged_apart_from_the_watermark():
    img = card()
    unmarked, parameters = retouched(img, 0.0)
    assert np.array_equal(unmarked, img)
    assert parameters["strength"] == 0.0
    assert changed_share(simulate(img, 0.0).rgb, img) > 0.05


def test_the_corner_labels_are_solid_whatever_the_photo():
    light = simulate(np.full((480, 640, 3), 250, np.uint8), 0.5).rgb
    dark = simulate(card(seed=5), 0.5).rgb
    # The labels hide the photo completely: the same pixels on a white card and on a skin card.
    assert np.array_equal(light[:12, :80], dark[:12, :80])
    assert np.array_equal(light[-12:, -80:], dark[-12:, -80:])
    # ... and they hold text: white letters on the dark box.
    assert light[:30, :200].max() > 200
    assert np.median(light[:12, :80]) < 60


def test_the_watermark_text_is_the_callers():
    img = card()
    english = simulate(img, 0.5)
    turkish = simulate(img, 0.5, watermark="SİMÜLASYON — TAHMİN DEĞİLDİR")
    assert english.parameters["watermark"] == "SIMULATION — NOT A PREDICTION"
    assert turkish.parameters["watermark"] == "SİMÜLASYON — TAHMİN DEĞİLDİR"
    assert not np.array_equal(english.rgb, turkish.rgb)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_a_simulation_without_watermark_text_is_refused(text):
    with pytest.raises(ValueError, match="watermark"):
        simulate(card(), 0.5, watermark=text)


def test_without_a_unicode_font_the_watermark_is_still_drawn_without_accents(monkeypatch):
    monkeypatch.setattr(simulation, "FONT_NAMES", ())
    simulation._font_for.cache_clear()
    try:
        img = card()
        result = simulate(img, 0.0, watermark="SİMÜLASYON — TAHMİN DEĞİLDİR")
    finally:
        simulation._font_for.cache_clear()
    assert simulation.NO_FONT in result.notes
    assert result.parameters["watermark_font"] == "hershey (ASCII)"
    for name, crop in corners(result.rgb).items():
        assert changed_share(crop, corners(img)[name]) > 0.05, name
    assert simulation._ascii("SİMÜLASYON — TAHMİN DEĞİLDİR") == "SIMULASYON - TAHMIN DEGILDIR"


# --- the retouching ---------------------------------------------------------------------------

SKIN_INSIDE = (slice(40, 440), slice(40, 380))
WALL = (slice(40, 440), slice(470, 600))


def test_smoothing_lowers_fine_texture_on_skin_and_leaves_the_background_alone():
    img = card()
    before = fine_energy(img, SKIN_INSIDE)
    half, _ = retouched(img, 0.5)
    full, parameters = retouched(img, 1.0)
    assert parameters["face"] is None  # no face on the card: the skin mask alone decides
    assert fine_energy(full, SKIN_INSIDE) < 0.6 * before
    assert fine_energy(full, SKIN_INSIDE) < fine_energy(half, SKIN_INSIDE) < 0.95 * before
    assert np.array_equal(full[WALL], img[WALL])


def test_smoothing_keeps_some_texture():
    img = card()
    full, _ = retouched(img, 1.0)
    assert fine_energy(full, SKIN_INSIDE) > 0.05 * fine_energy(img, SKIN_INSIDE)


def test_on_a_large_photo_only_the_skin_changes_and_it_loses_fine_texture(monkeypatch):
    # A small working copy forces the two-band path a 12-megapixel photo takes.
    monkeypatch.setattr(simulation, "WORK_LONG_SIDE", 320)
    img = card()
    full, parameters = retouched(img, 1.0)
    assert parameters["working_scale"] == 0.5
    assert fine_energy(full, SKIN_INSIDE) < 0.6 * fine_energy(img, SKIN_INSIDE)
    assert np.array_equal(full[WALL], img[WALL])
    # The skin keeps its colour: smoothing is not a tint.
    assert np.abs(full[SKIN_INSIDE].mean(axis=(0, 1)) - img[SKIN_INSIDE].mean(axis=(0, 1))).max() < 2


def test_dark_spots_are_blended_toward_the_skin_around_them():
    img = with_spots(card(), SPOTS)
    before = lightness(img)
    half, _ = retouched(img, 0.5)
    full, parameters = retouched(img, 1.0)
    assert parameters["spots_blended"] == len(SPOTS)
    for centre in SPOTS:
        contrast = ring_mean(before, centre, 9, 14) - disc_mean(before, centre, 3)
        assert contrast > 6  # the test's spots are real spots by the metric's definition
        after_half = ring_mean(lightness(half), centre, 9, 14) - disc_mean(lightness(half), centre, 3)
        after_full = ring_mean(lightness(full), centre, 9, 14) - disc_mean(lightness(full), centre, 3)
        assert disc_mean(lightness(full), centre, 3) > disc_mean(before, centre, 3) + 4
        assert after_full < 0.3 * contrast
        assert after_full < after_half < contrast


def test_features_much_darker_than_a_spot_are_left_as_they_are():
    # A mole-dark disc (far past SPOT_MAX_DELTA_L) is not a spot to retouch away.
    img = with_spots(card(), [(200, 240)], radius=6, colour=(70, 45, 35))
    full, parameters = retouched(img, 1.0)
    assert parameters["spots_blended"] == 0
    assert disc_mean(lightness(full), (200, 240), 2) < disc_mean(lightness(img), (200, 240), 2) + 3


def test_without_a_face_or_eyes_the_notes_say_what_was_not_done():
    result = simulate(card(), 0.5)
    assert simulation.NO_FACE in result.notes
    assert result.parameters["eyes"] is None
    assert result.parameters["under_eye"] is None


def test_no_skin_means_no_retouching_and_a_note():
    wall = np.full((240, 320, 3), BACKGROUND, np.uint8)
    out, notes, parameters = simulation._retouch(wall, 1.0)
    assert np.array_equal(out, wall)
    assert simulation.NO_SKIN in notes
    assert parameters["skin_fraction"] == 0.0


def test_under_eye_darkness_is_lightened_toward_the_cheek():
    height, width = 400, 400
    result = np.empty((height, width, 3), np.float32)
    result[:] = SKIN
    eye_boxes = ((100, 100, 60, 40), (240, 100, 60, 40))
    for ex, ey, ew, eh in eye_boxes:  # a darker, bluish band just below each eye
        cv2.ellipse(result, (ex + ew // 2, ey + eh), (24, 7), 0, 0, 360, (190, 140, 125), -1)
    skin = np.ones((height, width), np.float32)
    original = result.copy()
    report = simulation._lighten_under_eyes(result, skin, eye_boxes, 1.0)
    assert report["lightened"] is True
    assert report["delta_l_before"] > 5
    assert report["delta_l_after"] < 0.5 * report["delta_l_before"]
    band = lightness(np.clip(result, 0, 255).astype(np.uint8))[140, 130]
    assert band > lightness(original.astype(np.uint8))[140, 130] + 3
    # Far from the eyes nothing moved.
    assert np.array_equal(result[300:], original[300:])


def test_an_under_eye_area_no_darker_than_the_cheek_is_left_alone():
    result = np.empty((300, 300, 3), np.float32)
    result[:] = SKIN
    original = result.copy()
    report = simulation._lighten_under_eyes(result, np.ones((300, 300), np.float32),
                                            ((60, 60, 50, 30), (180, 60, 50, 30)), 1.0)
    assert report["lightened"] is False
    assert np.array_equal(result, original)


def face_card() -> tuple[np.ndarray, Face]:
    """A skin card with two textured "eyes" and a darker band under each, and where they are."""
    img = np.full((480, 640, 3), SKIN, np.uint8)
    rng = np.random.default_rng(4)
    eye_boxes = ((200, 160, 80, 50), (360, 160, 80, 50))
    for ex, ey, ew, eh in eye_boxes:
        cv2.ellipse(img, (ex + ew // 2, ey + eh), (30, 8), 0, 0, 360, (196, 146, 126), -1)
        eye = img[ey + 15: ey + 35, ex + 20: ex + 60]
        eye[:] = rng.integers(0, 255, eye.shape, dtype=np.uint8)  # lashes and iris: all detail
    noise = rng.normal(0, 6, (480, 640, 1)).astype(np.float32)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return img, Face(box=(160, 110, 320, 320), eye_boxes=eye_boxes)


def test_with_the_eyes_found_the_under_eye_band_is_lightened_and_the_eyes_kept(monkeypatch):
    img, face = face_card()
    monkeypatch.setattr(simulation, "find_face", lambda work: face)
    out, notes, parameters = simulation._retouch(img, 1.0)
    assert notes == ()
    assert parameters["face"] == [160, 110, 320, 320]
    assert parameters["eyes"] == [[200, 160, 80, 50], [360, 160, 80, 50]]
    under_eye = parameters["under_eye"]
    assert under_eye["lightened"] is True
    assert under_eye["delta_l_after"] < 0.5 * under_eye["delta_l_before"]
    before, after = lightness(img), lightness(out)
    assert face.eye_boxes is not None
    for ex, ey, ew, eh in face.eye_boxes:
        centre = (ex + ew // 2, ey + eh)
        assert disc_mean(after, centre, 5) > disc_mean(before, centre, 5) + 2
        # The eye itself is not skin to smooth: its detail survives.
        eye = (slice(ey + 18, ey + 32), slice(ex + 25, ex + 55))
        assert fine_energy(out, eye) > 0.8 * fine_energy(img, eye)


def test_a_face_without_eyes_found_says_the_under_eye_step_was_skipped(monkeypatch):
    img, face = face_card()
    monkeypatch.setattr(simulation, "find_face", lambda work: Face(box=face.box, eye_boxes=None))
    result = simulate(img, 0.8)
    assert result.notes == (simulation.NO_EYES,)
    assert result.parameters["under_eye"] is None


def test_on_a_large_photo_face_and_eyes_are_recorded_in_photo_pixels(monkeypatch):
    monkeypatch.setattr(simulation, "WORK_LONG_SIDE", 320)
    img, _ = face_card()
    in_working_copy = Face(box=(80, 55, 160, 160), eye_boxes=((100, 80, 40, 25), (180, 80, 40, 25)))
    monkeypatch.setattr(simulation, "find_face", lambda work: in_working_copy)
    parameters = simulation._retouch(img, 0.5)[2]
    assert parameters["face"] == [160, 110, 320, 320]
    assert parameters["eyes"] == [[200, 160, 80, 50], [360, 160, 80, 50]]


# --- contract ---------------------------------------------------------------------------------

def test_parameters_are_recorded_and_can_be_stored_as_json():
    result = simulate(with_spots(card(), SPOTS), 0.6)
    assert isinstance(result, Simulated)
    stored = json.loads(json.dumps(result.parameters))
    assert stored["algorithm"] == simulation.ALGORITHM
    assert stored["strength"] == 0.6
    assert stored["texture_kept"] == simulation.TEXTURE_KEPT
    assert stored["guided_filter"]["eps"] == simulation.GUIDED_EPS
    assert stored["spots_blended"] == len(SPOTS)
    assert stored["watermark"] == simulation.DEFAULT_WATERMARK
    assert 0.5 < stored["skin_fraction"] < 0.75
    assert result.rgb.shape == (480, 640, 3)
    assert result.rgb.dtype == np.uint8


@pytest.mark.parametrize("strength", [-0.01, 1.01, float("nan"), float("inf"), True, "0.5", None])
def test_a_strength_outside_0_to_1_is_refused(strength):
    with pytest.raises(ValueError, match="strength"):
        simulate(card(), strength)


@pytest.mark.parametrize("strength", [0, 1, 0.25, np.float32(0.5)])
def test_strengths_from_0_to_1_are_accepted(strength):
    assert simulate(card(120, 160), strength).parameters["strength"] == float(strength)


@pytest.mark.parametrize("bad", [np.zeros((100, 100), np.uint8), np.zeros((100, 100, 4), np.uint8),
                                 np.zeros((100, 100, 3), np.float32), np.zeros((20, 100, 3), np.uint8)])
def test_not_a_usable_rgb_photo_is_refused(bad):
    with pytest.raises(ValueError, match=r"RGB|too small"):
        simulate(bad, 0.5)
