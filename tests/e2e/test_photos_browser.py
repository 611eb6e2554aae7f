"""A nurse uploads two photos of one view, compares them with the slider and opens the metrics
plot the worker's measurements draw."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from conftest import PASSWORD, Cast
from django.core.management import call_command

from mesoclinic.photos.models import Photo
from mesoclinic.photos.tests.helpers import consented_plan, jpeg, skin
from tests.e2e.conftest import Problems, screenshot, sign_in

pytestmark = pytest.mark.e2e


def _upload(page: Any, cast: Cast, path: Any, occasion: str) -> None:
    page.goto(f"/patients/{cast.patient.public_id}/photos/new/")
    form = page.get_by_test_id("upload-form")
    form.get_by_label("View").select_option("face_front")
    form.get_by_label("Taken at").select_option(occasion)
    form.get_by_label("Photo (JPEG, PNG or HEIC)").set_input_files(str(path))
    form.get_by_role("button", name="Store the photo").click()
    page.get_by_test_id("photo-image").wait_for()
    # The photo has loaded before the test reads the database (one connection on SQLite).
    page.wait_for_load_state("networkidle")


def test_upload_compare_and_plot(page: Any, cast: Cast, problems: Problems, tmp_path: Any) -> None:
    consented_plan(cast)
    before, after = tmp_path / "before.jpg", tmp_path / "after.jpg"
    before.write_bytes(jpeg(skin(colour=(205, 150, 135))))
    after.write_bytes(jpeg(skin(colour=(210, 168, 150))))
    sign_in(page, cast.nurse, PASSWORD)
    _upload(page, cast, before, "baseline")
    screenshot(page, "photos-uploaded")
    _upload(page, cast, after, "checkup")
    # Two landmarks tapped onto the photo fill the points field, in the photo's own pixels.
    image = page.get_by_test_id("photo-image")
    box = image.bounding_box()
    assert box is not None
    image.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.5})
    image.click(position={"x": box["width"] * 0.75, "y": box["height"] * 0.5})
    assert page.locator(".photo-point").count() == 2
    screenshot(page, "photos-points")
    page.get_by_role("button", name="Save points").click()
    page.get_by_test_id("photo-image").wait_for()
    page.wait_for_load_state("networkidle")
    placed = Photo.objects.latest("id").points
    assert len(placed) == 2
    assert placed[0][0] == pytest.approx(160, abs=4)  # a quarter of the 640-pixel width
    assert placed[1][0] == pytest.approx(480, abs=4)
    assert Photo.objects.count() == 2
    call_command("worker", "--once", stdout=StringIO())  # the worker measures both
    assert Photo.objects.filter(metrics__isnull=False).count() == 2

    page.goto(f"/patients/{cast.patient.public_id}/photos/")
    page.get_by_test_id("compare-link-face_front").click()
    slider = page.get_by_test_id("compare-slider")
    slider.wait_for()
    page.get_by_test_id("compare-range").fill("80")
    assert page.locator("[data-compare-after]").evaluate("el => el.style.width") == "80%"
    screenshot(page, "photos-compare")

    page.goto(f"/patients/{cast.patient.public_id}/photos/")
    page.get_by_test_id("metrics-link-face_front").click()
    chart = page.get_by_test_id("metric-chart-erythema_index")
    chart.locator("svg").wait_for()
    assert "Redness" in chart.inner_text()
    assert page.get_by_test_id("metrics-table").locator("tbody tr").count() == 2
    screenshot(page, "photos-metrics")
    assert not problems.all(), problems.all()
