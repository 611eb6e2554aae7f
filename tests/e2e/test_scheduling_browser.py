"""Reception books a whole series from a plan in a real browser, sees it in the week view, then
moves one session by the form and is offered the rest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import PASSWORD, Cast

from mesoclinic.scheduling import series
from mesoclinic.scheduling.models import Appointment
from mesoclinic.scheduling.tests.helpers import accepted_plan, furnish, next_monday
from tests.e2e.conftest import Problems, screenshot, sign_in

pytestmark = pytest.mark.e2e


def test_reception_books_a_series_sees_the_week_and_moves_one(page: Any, cast: Cast,
                                                               problems: Problems) -> None:
    furnish(cast)
    plan = accepted_plan(cast, cream="lidocaine_tetracaine_cream")
    sign_in(page, cast.receptionist, PASSWORD)
    page.goto(f"/patients/{cast.patient.public_id}/")
    page.get_by_test_id("chart-book-series").click()
    page.get_by_label("First session not before").fill(next_monday().isoformat())
    page.get_by_label("Preferred practitioner").select_option(label=str(cast.physician))
    page.get_by_test_id("propose").click()
    rows = page.get_by_test_id("proposed-session")
    rows.first.wait_for()
    assert rows.count() == plan.current.sessions
    screenshot(page, "series-proposal")
    page.get_by_test_id("book-series").click()
    page.wait_for_url("**/schedule/week/**")
    week = page.get_by_test_id("week-calendar")
    # The first session (and its cream note) is in this week's view.
    assert week.get_by_test_id("appt").count() >= 1
    assert "Ayşe Şahin" in week.inner_text()
    assert "cream from" in week.inner_text()
    screenshot(page, "week-view")
    assert Appointment.objects.filter(plan=plan, status="booked").count() == plan.current.sessions
    # The same session in the day view, in the practitioner's column.
    first = Appointment.objects.get(plan=plan, series_index=1)
    tz = series.local_day_bounds(cast.clinic, next_monday())[0].tzinfo
    page.goto(f"/schedule/?date={first.starts_at.astimezone(tz).date().isoformat()}")
    day = page.get_by_test_id("day-calendar")
    assert day.get_by_test_id("appt").count() == 1
    assert str(cast.nurse).upper() in day.inner_text().upper()  # every practitioner has a column
    screenshot(page, "day-view")
    page.go_back()

    # Open the second session from next week's view and move it a day later by the form.
    page.get_by_role("link", name="Next week").click()
    page.get_by_test_id("week-calendar").get_by_test_id("appt").first.click()
    second = Appointment.objects.get(plan=plan, series_index=2)
    page.wait_for_url(f"**/schedule/appointments/{second.public_id}/")
    moved_to = (second.starts_at + timedelta(days=1)).astimezone(tz)
    page.get_by_label("Date").fill(moved_to.date().isoformat())
    page.get_by_test_id("move-submit").click()
    offer = page.get_by_test_id("shift-offer")
    offer.wait_for()
    assert "Shift the rest" in offer.inner_text()
    screenshot(page, "move-offer")
    third_before = Appointment.objects.get(plan=plan, series_index=3).starts_at
    page.get_by_test_id("shift-rest").click()
    page.wait_for_url(f"**/schedule/appointments/{second.public_id}/")
    assert "later sessions moved" in page.locator(".messages").inner_text()
    assert Appointment.objects.get(plan=plan, series_index=3).starts_at == third_before + timedelta(days=1)
    assert problems.all() == []
