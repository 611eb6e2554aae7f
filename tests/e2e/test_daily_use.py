"""Daily use in a real browser: a manager adds staff, an auditor searches the trail by name,
reception is warned about a possible duplicate. Every page is checked with axe too."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PASSWORD, Cast

from mesoclinic.accounts.models import User
from mesoclinic.patients.models import Patient
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import violations

pytestmark = pytest.mark.e2e


def test_manager_adds_a_staff_member_and_sees_the_confirmation(page: Any, cast: Cast) -> None:
    sign_in(page, cast.manager, PASSWORD, landing="**/staff/")
    assert violations(page) == []
    page.get_by_role("link", name="Add a staff member").click()
    assert violations(page) == []
    page.get_by_label("Username").fill("nurse.ozturk")
    page.get_by_label("Full name").fill("Elif Öztürk")
    page.get_by_label("Initial password").fill("Welcome-to-the-clinic-7")
    page.get_by_label("Specialist nurse").check()
    page.get_by_role("button", name="Add").click()
    page.get_by_role("status").get_by_text("Elif Öztürk can now sign in as nurse.ozturk").wait_for()
    assert violations(page) == []
    assert User.objects.get(username="nurse.ozturk").roles_in(cast.clinic) == {"nurse"}


def test_auditor_filters_the_trail_by_patient_name(page: Any, cast: Cast) -> None:
    sign_in(page, cast.auditor, PASSWORD, landing="**/audit/")
    page.get_by_label("Patient name").fill("nobody")
    page.get_by_role("button", name="Filter").click()
    page.get_by_text("No event matches these filters.").wait_for()
    assert violations(page) == []


def test_reception_is_warned_of_a_possible_duplicate_and_may_register_anyway(
        page: Any, cast: Cast) -> None:
    sign_in(page, cast.receptionist, PASSWORD)
    page.goto("/patients/new/")
    page.get_by_label("Given name").fill("Ayse")
    page.get_by_label("Family name").fill("Sahin")
    page.get_by_label("Birth date").fill("1990-04-02")
    page.get_by_label("Sex").select_option("female")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("This patient may be registered already.").wait_for()
    assert violations(page) == []
    assert Patient.objects.filter(clinic=cast.clinic).count() == 1
    page.get_by_label("None of these is this patient: register a new patient").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").get_by_text("Ayse Sahin is registered.").wait_for()
    assert Patient.objects.filter(clinic=cast.clinic).count() == 2


def test_live_search_has_a_hidden_indicator(page: Any, cast: Cast) -> None:
    sign_in(page, cast.receptionist, PASSWORD)
    indicator = page.locator("#search-busy")
    assert indicator.get_attribute("class") == "htmx-indicator search-busy"
    assert not indicator.is_visible()
    page.get_by_label("Search patients").fill("sah")
    page.get_by_text("found for “sah”").wait_for()
    assert not indicator.is_visible()
