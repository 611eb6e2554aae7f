"""Screening from the chart in a real browser: propose a treatment, read the findings, accept one."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import PASSWORD, Cast
from django.utils import timezone

from mesoclinic.patients.models import MedicalHistory
from mesoclinic.screening.models import FindingAcceptance, Screening
from tests.e2e.conftest import Problems, screenshot, sign_in

pytestmark = pytest.mark.e2e

REASON = "Cardiologist cleared her in writing last week."


def _first_session(cast: Cast) -> str:
    """Three weeks ahead, as the clinic's wall-clock time for a datetime-local input."""
    moment = (timezone.now() + timedelta(days=21)).astimezone(ZoneInfo(cast.clinic.timezone))
    return moment.replace(hour=10, minute=0).strftime("%Y-%m-%dT%H:%M")


def _screen_from_chart(page: Any, cast: Cast) -> Screening:
    """Open the chart, follow "Screen for a treatment", fill in the form and submit it."""
    page.goto(f"/patients/{cast.patient.public_id}/")
    page.get_by_role("link", name="Screen for a treatment").click()
    page.wait_for_url(f"**/patients/{cast.patient.public_id}/screenings/new/")
    assert page.get_by_role("heading", name="Screen for a treatment", level=1).is_visible()

    page.get_by_label("Indication").select_option("wrinkles")
    page.get_by_label("Area").select_option("face")
    page.get_by_label("Technique").select_option("point_by_point")
    page.get_by_label("Delivery").select_option("needle")
    page.get_by_label("Ingredients").fill("hyaluronic acid, vitamin C")
    page.get_by_label("First session").fill(_first_session(cast))
    page.get_by_role("button", name="Screen", exact=True).click()

    page.wait_for_url(re.compile(r"/screenings/[0-9a-f-]{36}/$"))
    screening = Screening.objects.get(patient=cast.patient)
    assert page.url.endswith(f"/screenings/{screening.public_id}/")
    return screening


def _finding(page: Any, code: str) -> Any:
    return page.locator(f"li.finding[data-code='{code}']")


def test_physician_screens_a_patient_from_the_chart(page: Any, cast: Cast,
                                                     problems: Problems) -> None:
    sign_in(page, cast.physician, PASSWORD)
    screening = _screen_from_chart(page, cast)

    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "Screening: Eligible with conditions"
    findings = page.locator("li.finding")
    assert findings.count() == 2
    allergy_test = _finding(page, "ALLERGY_TEST_REQUIRED")
    assert "ALLERGY_TEST_REQUIRED · source F-ALLERGY-TEST" in allergy_test.inner_text()
    assert allergy_test.locator(".badge").inner_text() == "condition"
    assert "WORKUP_REQUIRED · source F-WORKUP" in _finding(page, "WORKUP_REQUIRED").inner_text()
    assert page.locator("dd code").inner_text() == "engine-2+pack-2026.12.2"
    assert screening.decision == "eligible_with_conditions"
    assert screening.created_by == cast.physician
    screenshot(page, "screening-detail")

    # Back on the chart, the latest screening is summarised with its sources.
    page.get_by_role("link", name="Back to chart").click()
    page.wait_for_url(f"**/patients/{cast.patient.public_id}/")
    summary = page.locator("#screening").inner_text()
    assert "Eligible with conditions for Wrinkles (Face)" in summary
    assert "F-ALLERGY-TEST" in summary
    assert "rules engine-2+pack-2026.12.2" in summary
    assert problems.all() == []


def test_physician_accepts_a_heart_disease_review_with_a_reason(page: Any, cast: Cast,
                                                                problems: Problems) -> None:
    latest = MedicalHistory.objects.get(patient=cast.patient, version=1)
    MedicalHistory.objects.create(patient=cast.patient, version=2, recorded_by=cast.nurse,
                                  **{**latest.values(), "heart_disease": "yes"})
    sign_in(page, cast.physician, PASSWORD)
    screening = _screen_from_chart(page, cast)

    heart = _finding(page, "HEART_DISEASE")
    assert heart.locator(".badge").first.inner_text() == "review"
    assert "HEART_DISEASE · source F-ELIG-MULTIDRUG" in heart.inner_text()
    heart.get_by_label("Reason for accepting").fill(REASON)
    heart.get_by_role("button", name="Accept with this reason").click()

    page.wait_for_url(f"**/screenings/{screening.public_id}/")
    heart = _finding(page, "HEART_DISEASE")
    heart.locator(".badge-ok", has_text="accepted").wait_for()
    assert f"by {cast.physician.display_name}" in heart.inner_text()
    assert REASON in heart.inner_text()
    assert heart.get_by_role("button", name="Accept with this reason").count() == 0
    screenshot(page, "screening-accepted")

    acceptance = FindingAcceptance.objects.get(screening=screening)
    assert (acceptance.code, acceptance.reason, acceptance.accepted_by) == (
        "HEART_DISEASE", REASON, cast.physician)
    assert problems.all() == []
