"""WCAG 2.1 A/AA checks with axe-core on every staff page a clinic uses (in real Chromium)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import PASSWORD, Cast
from django.utils import timezone

from mesoclinic.audit.log import Actor
from mesoclinic.screening.actions import screen_patient
from tests.e2e.conftest import confirmed_device, sign_in

pytestmark = pytest.mark.e2e

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        "resultTypes": ["violations"]}
AXE = Axe()


def violations(page: Any) -> list[str]:
    """Each axe violation as 'rule: first offending element', for a readable failure."""
    results = AXE.run(page, options=WCAG)
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
            for v in results.response["violations"]]


def test_sign_in_page_meets_wcag_aa(page: Any) -> None:
    page.goto("/accounts/sign-in/")
    assert violations(page) == []
    # An invalid submission shows its errors accessibly too.
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(".errorlist")
    assert violations(page) == []


def test_clinical_pages_meet_wcag_aa(page: Any, cast: Cast) -> None:
    start = (timezone.now() + timedelta(days=14)).replace(microsecond=0)
    screening = screen_patient(
        patient=cast.patient, by=cast.physician, actor=Actor(username="dr.house"),
        allergy_test=None,
        treatment={"area": "face", "indication": "wrinkles", "technique": "point_by_point",
                   "delivery": "needle", "ingredients": ["hyaluronic acid"],
                   "first_session_at": start.isoformat()},
    )
    sign_in(page, cast.physician, PASSWORD)
    patient = f"/patients/{cast.patient.public_id}"
    for path in ("/patients/?q=sahin", f"{patient}/", f"{patient}/history/", f"{patient}/edit/",
                 f"{patient}/medications/new/", f"{patient}/workup/", "/patients/new/",
                 f"{patient}/screenings/new/", f"{patient}/screenings/{screening.public_id}/",
                 "/knowledge/"):
        page.goto(path)
        assert (path, violations(page)) == (path, [])
    # A refused form, as a physician meets it with a needle in one hand.
    page.goto("/patients/new/")
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector(".errorlist")
    assert violations(page) == []


@pytest.mark.parametrize(("who", "landing"), [("auditor", "/audit/"), ("manager", "/staff/")])
def test_auditor_and_manager_pages_meet_wcag_aa(page: Any, cast: Cast, who: str, landing: str) -> None:
    user = getattr(cast, who)
    device = confirmed_device(user)
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/accounts/sign-in/code/")
    page.get_by_label("Code").fill(pyotp.TOTP(device.secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(landing) + "$"))
    assert violations(page) == []
