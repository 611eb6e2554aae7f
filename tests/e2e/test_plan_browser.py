"""A physician writes a plan in a real browser: protocol defaults, a live deviation, approval."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PASSWORD, Cast

from mesoclinic.plans.models import TreatmentPlan
from tests.e2e.conftest import Problems, screenshot, sign_in

pytestmark = pytest.mark.e2e


def write_plan(page: Any, cast: Cast) -> TreatmentPlan:
    """From the chart: choose the protocol, fill the solution, justify one deviation, save."""
    page.goto(f"/patients/{cast.patient.public_id}/")
    page.get_by_role("link", name="New plan").click()
    page.get_by_label("Indication").select_option("wrinkles")
    page.get_by_label("Area", exact=True).select_option("face")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_label("Sessions", exact=True).input_value() == "8"
    assert page.get_by_test_id("within-protocol").is_visible()

    page.locator("#id_ingredient_0").select_option("hyaluronic_acid")
    page.locator("#id_concentration_0").fill("1.5")
    page.locator("#id_volume_0").fill("2")
    # Twelve sessions is outside the face protocol's 6–10: the check flags it while typing.
    page.get_by_label("Sessions", exact=True).fill("12")
    page.get_by_label("Weekly series: sessions").fill("12")
    page.get_by_label("Weekly series: sessions").blur()
    deviation = page.get_by_test_id("deviation")
    deviation.wait_for()
    assert "outside the protocol's 6–10" in deviation.inner_text()
    deviation.locator("textarea").fill("Deep wrinkles; a longer series was agreed with the patient.")
    screenshot(page, "plan-editor")
    page.get_by_role("button", name="Save plan").click()
    page.wait_for_url("**/plans/*/")
    return TreatmentPlan.objects.get(patient=cast.patient)


def test_a_physician_writes_and_approves_a_plan(page: Any, cast: Cast, problems: Problems) -> None:
    sign_in(page, cast.physician, PASSWORD)
    plan = write_plan(page, cast)
    assert plan.current.sessions == 12
    assert plan.current.justifications["sessions"].startswith("Deep wrinkles")
    assert page.get_by_test_id("plan-status").inner_text() == "Draft"
    page.get_by_role("button", name="Screen and approve").click()
    page.get_by_test_id("plan-approved").wait_for()
    assert page.get_by_test_id("plan-status").inner_text() == "Proposed"
    screenshot(page, "plan-detail")
    assert problems.all() == []
