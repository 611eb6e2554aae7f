"""The patient record in a real browser: live search, the chart, editing the history, roles."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import PASSWORD, Cast, make_patient

from mesoclinic.patients.models import MedicalHistory
from tests.e2e.conftest import Problems, screenshot, sign_in

pytestmark = pytest.mark.e2e


def _history_value(page: Any, label: str) -> str:
    return page.locator("#history dt", has_text=re.compile(f"^{label}$")).locator(
        "xpath=following-sibling::dd[1]").inner_text()


def _search(page: Any, text: str) -> None:
    """Type in the search box and wait for htmx to swap in the results (no full page load)."""
    with page.expect_response(
        lambda r: "/patients/?q=" in r.url and r.request.headers.get("hx-request") == "true"
    ) as response:
        page.get_by_role("searchbox", name="Search patients").fill(text)
    assert response.value.status == 200
    page.locator("#results", has_text=f"found for “{text}”").wait_for()


def test_physician_searches_opens_chart_and_edits_history(page: Any, cast: Cast) -> None:
    make_patient(cast.clinic, "Mehmet", "Demir", phone="+90 533 444 55 66")
    # Version 1 by someone else, so the chart's "recorded by" shows who changed what.
    MedicalHistory.objects.filter(patient=cast.patient).update(recorded_by=cast.nurse)

    sign_in(page, cast.physician, PASSWORD)
    _search(page, "sahin")
    results = page.locator("#results tbody tr")
    assert results.count() == 1
    assert page.url.endswith("/patients/?q=sahin")  # hx-push-url keeps the search linkable
    screenshot(page, "patient-list")

    results.get_by_role("link", name="Şahin, Ayşe").click()
    page.wait_for_url(f"**/patients/{cast.patient.public_id}/")
    assert page.get_by_role("heading", name="Ayşe Şahin", level=1).is_visible()
    assert _history_value(page, "Pregnant").startswith("No")

    page.get_by_role("link", name="Edit history").click()
    page.wait_for_url(f"**/patients/{cast.patient.public_id}/history/")
    page.get_by_role("group", name="Pregnant").get_by_label("Yes").check()
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(f"**/patients/{cast.patient.public_id}/")
    pregnant = _history_value(page, "Pregnant")
    assert pregnant.startswith("Yes")
    assert cast.physician.display_name in pregnant
    assert cast.nurse.display_name in _history_value(page, "Diabetes")
    assert "Version 2" in page.locator("#history").inner_text()
    screenshot(page, "patient-chart")

    versions = list(MedicalHistory.objects.filter(patient=cast.patient).order_by("version"))
    assert [(v.version, v.pregnant, v.recorded_by_id) for v in versions] == [
        (1, "no", cast.nurse.pk), (2, "yes", cast.physician.pk)]
    assert versions[1].values() | {"pregnant": "no"} == versions[0].values()


def test_receptionist_sees_demographics_but_never_the_history(page: Any, cast: Cast) -> None:
    sign_in(page, cast.receptionist, PASSWORD)
    _search(page, "Şahin")
    page.get_by_role("link", name="Şahin, Ayşe").click()
    page.wait_for_url(f"**/patients/{cast.patient.public_id}/")

    assert page.get_by_role("heading", name="Details").is_visible()
    assert "+90 532 111 22 33" in page.locator("main").inner_text()
    assert page.get_by_role("heading", name="Medical history").count() == 0
    assert page.get_by_role("link", name="Edit history").count() == 0
    assert "Secret clinical note" not in page.content()

    response = page.goto(f"/patients/{cast.patient.public_id}/history/")
    assert response is not None
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    assert "Secret clinical note" not in page.content()


def test_pages_have_no_console_errors_or_csp_violations(
    page: Any, cast: Cast, problems: Problems
) -> None:
    sign_in(page, cast.physician, PASSWORD)
    # htmx comes from our own static files (django-htmx), never from a CDN.
    scripts = page.locator("script[src]").evaluate_all("els => els.map(e => e.src)")
    assert any("/static/django_htmx/" in src or "htmx" in src for src in scripts)
    assert all(src.startswith(page.url.split("/patients/")[0]) for src in scripts)
    assert page.evaluate("typeof window.htmx") == "object"

    _search(page, "sahin")
    page.get_by_role("link", name="Şahin, Ayşe").click()
    page.wait_for_url(f"**/patients/{cast.patient.public_id}/")
    page.get_by_role("link", name="Edit history").click()
    page.wait_for_url(f"**/patients/{cast.patient.public_id}/history/")
    page.goto("/patients/")
    page.wait_for_load_state("load")

    assert problems.all() == []


def test_pressing_enter_in_the_search_keeps_the_live_search_working(page: Any, cast: Cast) -> None:
    """Enter submits the search through htmx; typing afterwards still searches live."""
    make_patient(cast.clinic, "Mehmet", "Demir", phone="+90 533 444 55 66")
    sign_in(page, cast.physician, PASSWORD)
    box = page.get_by_role("searchbox", name="Search patients")
    with page.expect_response(lambda r: "/patients/?q=demir" in r.url
                              and r.request.headers.get("hx-request") == "true"):
        box.fill("demir")
        box.press("Enter")
    _search(page, "sahin")
    assert page.locator("#results tbody tr").count() == 1
