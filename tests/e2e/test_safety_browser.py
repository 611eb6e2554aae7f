"""A nurse reports a suspected infection after a session; the physician sees the alert at once,
opens it and acknowledges it; the next session is on hold until a physician clears it."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PASSWORD, Cast

from mesoclinic.safety.models import AdverseEvent, Alert
from mesoclinic.safety.tests.helpers import signed
from tests.e2e.conftest import Problems, screenshot, sign_in

pytestmark = pytest.mark.e2e


def test_reporting_an_infection_alerts_the_physician(browser: Any, live_server: Any, page: Any,
                                                     cast: Cast, problems: Problems) -> None:
    signed(cast)
    sign_in(page, cast.nurse, PASSWORD)
    page.goto(f"/patients/{cast.patient.public_id}/")
    page.get_by_test_id("report-event-link").click()
    form = page.get_by_test_id("event-form")
    form.get_by_label("Side effect", exact=True).select_option("infection")
    form.get_by_label("Moderate").check()
    form.get_by_label("What you see").fill("Warm red lump on the left cheek, two weeks after.")
    form.get_by_label("Action taken").select_option("observation")
    screenshot(page, "safety-report")
    form.get_by_role("button", name="Record the side effect").click()
    page.wait_for_url("**/adverse-events/*/")
    page.get_by_text("An alert went to Dr House").wait_for()
    page.get_by_test_id("hold-badge").wait_for()
    # The event page lists the session it followed, with its lot.
    assert "Session 1" in page.get_by_test_id("event-sessions").inner_text()
    assert "HA-2291" in page.get_by_test_id("event-sessions").inner_text()
    screenshot(page, "safety-event")

    alert = Alert.objects.get()
    assert alert.event == AdverseEvent.objects.get()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900},
                                  locale="en-GB")
    doctor = context.new_page()
    try:
        sign_in(doctor, cast.physician, PASSWORD)
        doctor.get_by_role("link", name="Safety").click()
        alerts = doctor.get_by_test_id("open-alerts")
        assert "Suspected infection" in alerts.inner_text()
        assert "For you" in alerts.inner_text()
        screenshot(doctor, "safety-alerts")
        alerts.get_by_role("link", name="Suspected infection").click()
        doctor.get_by_test_id("book-checkup").wait_for()
        doctor.get_by_label("Note (what you will do)").fill("Seeing her tomorrow at 9")
        doctor.get_by_role("button", name="I have seen it").click()
        assert doctor.get_by_test_id("alert-state").inner_text() == "Acknowledged"
        screenshot(doctor, "safety-alert-acknowledged")
    finally:
        context.close()
    alert.refresh_from_db()
    assert alert.acknowledged_by == cast.physician
    assert not problems.all(), problems.all()
