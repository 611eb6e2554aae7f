"""Photos as staff use them: consent first, a clean stored copy, metrics, comparison, simulation."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from PIL import Image

from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting.tests.helpers import ACTOR
from mesoclinic.photos import actions, tasks
from mesoclinic.photos.actions import PhotoRefused, Upload
from mesoclinic.photos.models import OutcomeMeasure, Photo, PhotoSet, Simulation
from mesoclinic.photos.tests.helpers import consented_plan, jpeg, jpeg_with_gps
from mesoclinic.safety.tests.helpers import today


def _upload(cast: Any, plan: Any, data: bytes, view: str = "face_front", **extra: Any) -> Photo:
    return actions.upload(patient=cast.patient, plan=plan, by=cast.nurse, actor=ACTOR,
                          item=Upload(view=view, occasion=extra.pop("occasion", "baseline"),
                                      taken_on=extra.pop("taken_on", today(cast)), data=data, **extra))


def test_no_photo_without_consent_to_photographs(cast: Any) -> None:
    plan = consented_plan(cast, photos=False)
    with pytest.raises(PhotoRefused) as refused:
        _upload(cast, plan, jpeg())
    assert refused.value.field == "plan"
    assert not Photo.objects.exists()


def test_the_stored_photo_is_a_clean_jpeg_without_gps_or_maker_notes(cast: Any) -> None:
    plan = consented_plan(cast)
    original = jpeg_with_gps()
    assert b"SECRET-MAKER-NOTE" in original
    photo = _upload(cast, plan, original)
    with photo.file.open("rb") as handle:
        stored = handle.read()
    assert b"SECRET-MAKER-NOTE" not in stored
    assert b"Exif" not in stored
    assert not Image.open(io.BytesIO(stored)).getexif()
    assert photo.sha256 != photo.received_sha256
    assert (photo.width, photo.height, photo.received_format) == (640, 480, "jpeg")
    # A random name: nothing of the patient or the camera's file name.
    assert cast.patient.family_name not in photo.file.name
    assert photo.photo_set.consent.photo_consent
    assert AuditEvent.objects.filter(object_type="photo", action="create").count() == 1


@pytest.mark.parametrize(("data", "words"), [
    (b"", "empty"),
    (b"<html><script>alert(1)</script></html>", "not"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not"),
])
def test_a_file_that_is_not_a_photo_is_refused(cast: Any, data: bytes, words: str) -> None:
    plan = consented_plan(cast)
    with pytest.raises(PhotoRefused) as refused:
        _upload(cast, plan, data)
    assert refused.value.field == "file"
    assert words in refused.value.message.lower()
    assert not PhotoSet.objects.exists()


def test_the_worker_measures_the_photo(cast: Any) -> None:
    photo = _upload(cast, consented_plan(cast), jpeg())
    tasks.measure_and_store(photo)
    photo.refresh_from_db()
    assert photo.metrics is not None
    assert set(photo.metrics) >= {"lab_mean", "erythema_index", "melanin_index", "ita_deg", "spots"}
    assert photo.metrics["lab_mean"][0] > 50  # a light skin colour
    assert any("colour chart" in w for w in photo.metrics["warnings"])
    assert photo.metrics["colour_chart"] == {"found": False, "method": "none", "residual_de": None}


def test_the_upload_page_the_image_and_the_download(cast: Any) -> None:
    plan = consented_plan(cast)
    client = cast.client_for(cast.nurse)
    url = reverse("photos:upload", args=[cast.patient.public_id])
    page = client.get(url)
    assert page.status_code == 200
    assert 'capture="environment"' in page.content.decode()
    bad = client.post(url, {"plan": str(plan.public_id), "view": "face_front", "occasion": "baseline",
                            "taken_on": today(cast).isoformat(),
                            "file": io.BytesIO(b"GIF89a not really")})
    assert bad.status_code == 422
    upload = io.BytesIO(jpeg_with_gps())
    upload.name = "IMG_0001.jpg"
    response = client.post(url, {"plan": str(plan.public_id), "view": "face_front", "occasion": "baseline",
                                 "taken_on": today(cast).isoformat(), "file": upload})
    photo = Photo.objects.get()
    assert response.status_code == 302
    image = client.get(reverse("photos:image", args=[cast.patient.public_id, photo.public_id]))
    assert image["Content-Type"] == "image/jpeg"
    assert "no-store" in image["Cache-Control"]
    assert image["X-Content-Type-Options"] == "nosniff"
    assert b"SECRET-MAKER-NOTE" not in image.content
    download = client.get(reverse("photos:download", args=[cast.patient.public_id, photo.public_id]))
    assert download["Content-Disposition"].startswith("attachment;")
    assert AuditEvent.objects.filter(object_type="photo", action="export").count() == 1
    # Reception never sees a photo.
    denied = cast.client_for(cast.receptionist).get(
        reverse("photos:image", args=[cast.patient.public_id, photo.public_id]))
    assert denied.status_code == 403


def test_comparison_of_two_photos_of_one_view(cast: Any) -> None:
    plan = consented_plan(cast)
    first = _upload(cast, plan, jpeg())
    second = _upload(cast, plan, jpeg(), occasion="checkup")
    other_view = _upload(cast, plan, jpeg(), view="face_left_45")
    client = cast.client_for(cast.physician)
    url = reverse("photos:compare", args=[cast.patient.public_id])
    page = client.get(url, {"a": str(first.public_id), "b": str(second.public_id)})
    assert page.status_code == 200
    assert 'data-testid="compare-slider"' in page.content.decode()
    mixed = client.get(url, {"a": str(first.public_id), "b": str(other_view.public_id)})
    assert mixed.status_code == 422
    aligned = client.get(reverse("photos:aligned", args=[cast.patient.public_id, second.public_id,
                                                         first.public_id]))
    assert aligned.status_code == 200
    assert aligned["X-Alignment"] in {"eyes", "points", "none"}


def test_a_simulation_is_watermarked_kept_apart_and_never_measured(cast: Any) -> None:
    plan = consented_plan(cast)
    photo = _upload(cast, plan, jpeg())
    made = actions.simulate(photo=photo, strength=Decimal("0.6"), watermark="SIMULATION — NOT A PREDICTION",
                            by=cast.physician, actor=ACTOR)
    assert Simulation.objects.get() == made
    assert Photo.objects.count() == 1  # never listed among the photos
    with made.file.open("rb") as handle:
        simulated = Image.open(io.BytesIO(handle.read())).convert("RGB")
    with photo.file.open("rb") as handle:
        real = Image.open(io.BytesIO(handle.read())).convert("RGB")
    assert simulated.size == real.size
    assert simulated.tobytes() != real.tobytes()
    assert made.parameters
    with pytest.raises(PhotoRefused):
        actions.simulate(photo=photo, strength=Decimal("1.5"), watermark="x", by=cast.physician, actor=ACTOR)
    client = cast.client_for(cast.nurse)
    index = client.get(reverse("photos:index", args=[cast.patient.public_id])).content.decode()
    assert "Simulations (illustrations, not photos)" in index
    assert client.post(reverse("photos:simulate", args=[cast.patient.public_id, photo.public_id]),
                       {"strength": "0.5"}).status_code == 403


def test_outcome_scores_within_their_scale(cast: Any) -> None:
    plan = consented_plan(cast)
    actions.record_outcome(patient=cast.patient, plan=plan, kind="pain", value=7, recorded_on=today(cast),
                           note="", by=cast.nurse, actor=ACTOR)
    for kind, value in (("pain", 11), ("gais", 0), ("satisfaction", 6), ("mood", 3)):
        with pytest.raises(PhotoRefused):
            actions.record_outcome(patient=cast.patient, plan=plan, kind=kind, value=value,
                                   recorded_on=today(cast), note="", by=cast.nurse, actor=ACTOR)
    assert OutcomeMeasure.objects.count() == 1
    page = cast.client_for(cast.physician).get(reverse("photos:outcomes", args=[cast.patient.public_id]))
    assert page.status_code == 200
    assert "<svg" in page.content.decode()


def test_under_eye_band_and_cheek_follow_the_eyes_and_stay_inside_the_photo() -> None:
    import numpy as np

    rgb = np.zeros((1000, 1000, 3), dtype=np.uint8)
    bands = tasks._under_eye_bands(rgb, ((400.0, 400.0), (700.0, 400.0)))
    assert bands == ((350, 460, 100, 30), (350, 580, 100, 60))
    assert tasks._under_eye_bands(rgb, ((20.0, 950.0), (320.0, 950.0))) is None


def test_texture_is_stored_with_the_face_metrics(cast: Any) -> None:
    photo = _upload(cast, consented_plan(cast), jpeg())
    tasks.measure_and_store(photo)
    photo.refresh_from_db()
    assert photo.metrics is not None
    assert 0 <= photo.metrics["texture_percent"] <= 100
    assert photo.metrics["under_eye_delta_l"] is None  # no eyes on a skin patch


def test_hairs_are_counted_per_cm2_on_the_marked_area_when_the_scale_is_known(cast: Any) -> None:
    import numpy as np

    plan = consented_plan(cast)
    scalp = np.full((400, 400, 3), (215, 185, 170), dtype=np.uint8)
    for x in range(40, 360, 40):  # 8 dark hairs, 4 px wide, 300 px long
        scalp[50:350, x:x + 4] = (40, 30, 25)
    unscaled = _upload(cast, plan, jpeg(scalp), view="scalp_top")
    tasks.measure_and_store(unscaled)
    unscaled.refresh_from_db()
    assert unscaled.metrics is not None
    assert unscaled.metrics["hair_density"] is None
    assert any("hairs per cm²" in w for w in unscaled.metrics["warnings"])
    photo = _upload(cast, plan, jpeg(scalp), view="scalp_top", mm_per_pixel=Decimal("0.05"))
    actions.set_points(photo=photo, points=[[20, 20], [380, 380]], actor=ACTOR)
    tasks.measure_and_store(photo)
    photo.refresh_from_db()
    assert photo.metrics is not None
    density = photo.metrics["hair_density"]
    # 8 hairs on 360 x 360 px at 0.05 mm/px = 18 x 18 mm = 3.24 cm².
    assert density["count"] == 8
    assert density["per_cm2"] == pytest.approx(8 / 3.24, rel=0.02)
    assert density["mean_shaft_width_mm"] == pytest.approx(0.2, rel=0.25)
    assert density["region"] == [20, 20, 360, 360]
    with pytest.raises(PhotoRefused) as refused:
        _upload(cast, plan, jpeg(scalp), view="scalp_top", mm_per_pixel=Decimal("0"))
    assert refused.value.field == "mm_per_pixel"


def test_the_sticker_in_the_frame_gives_the_scale(cast: Any) -> None:
    import numpy as np

    from mesoclinic.photos import calibration

    rgb = np.full((900, 1200, 3), (205, 160, 140), dtype=np.uint8)
    from PIL import Image

    sheet = np.asarray(Image.open(io.BytesIO(calibration.sticker_png())).convert("L")
                       .resize((400, 400), Image.Resampling.BOX))  # the marker is 200 px
    rgb[100:500, 100:500] = sheet[..., None]
    photo = _upload(cast, consented_plan(cast), jpeg(rgb), view="body_abdomen")
    tasks.measure_and_store(photo)
    photo.refresh_from_db()
    assert photo.metrics is not None
    assert photo.metrics["scale_source"] == "sticker"
    assert photo.metrics["mm_per_pixel"] == pytest.approx(0.05, rel=0.03)
    response = cast.client_for(cast.nurse).get(reverse("photos:sticker"))
    assert response["Content-Type"] == "image/png"
    printed = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    assert calibration.scale_from_sticker(printed) == pytest.approx(10 / 300, rel=0.02)


def test_outcome_scores_read_against_the_weeks_after_the_first_session(cast: Any) -> None:
    from datetime import timedelta

    import time_machine

    from mesoclinic.safety.tests.helpers import signed

    session = signed(cast)
    with time_machine.travel(session.started_at + timedelta(days=15)):
        actions.record_outcome(patient=cast.patient, plan=session.plan, kind="gais", value=2,
                               recorded_on=today(cast), note="", by=cast.nurse, actor=ACTOR)
        page = cast.client_for(cast.physician).get(reverse("photos:outcomes", args=[cast.patient.public_id]))
    text = page.content.decode()
    assert "week 2" in text
    assert "Expected course (the protocol)" in text
