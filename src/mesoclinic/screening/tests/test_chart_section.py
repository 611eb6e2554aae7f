"""The chart's screening section, contributed by the screening app through patients.chart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from conftest import Cast
from django.urls import reverse

from mesoclinic.audit.log import Actor
from mesoclinic.knowledge import store
from mesoclinic.patients.chart import registered
from mesoclinic.patients.models import Allergy
from mesoclinic.screening import actions

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TREATMENT = {
    "area": "face", "indication": "wrinkles", "technique": "point_by_point", "delivery": "needle",
    "ingredients": ["hyaluronic acid", "vitamin C"],
    "first_session_at": "2026-12-10T10:00:00+03:00",
}


@pytest.fixture(autouse=True)
def _fresh_pack_cache() -> Iterator[None]:
    store._cache.clear()
    yield
    store._cache.clear()


def screen(cast: Cast, at: datetime, **treatment: object) -> None:
    with time_machine.travel(at, tick=False):
        actions.screen_patient(patient=cast.patient, treatment={**TREATMENT, **treatment},
                               allergy_test=None, by=cast.physician, actor=Actor(username="dr.house"))


def chart(cast: Cast, who: str = "physician") -> str:
    response = cast.client_for(getattr(cast, who)).get(
        reverse("patients:chart", args=[cast.patient.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_sections_are_ordered_and_screening_comes_after_the_details() -> None:
    names = [s.name for s in registered()]
    assert names == ["details", "screening", "plans", "appointments", "quotes", "sessions", "safety",
                     "photos", "history", "medications", "allergies", "workup", "labs"]


def test_chart_lists_earlier_screenings_with_date_decision_treatment_and_ingredients(cast) -> None:
    Allergy.objects.create(patient=cast.patient, substance="lidocaine", recorded_by=cast.physician)
    screen(cast, NOW, ingredients=["lidocaine"])
    screen(cast, NOW + timedelta(hours=1), indication="hair_loss", area="scalp",
           ingredients=["biotin"])
    body = chart(cast)
    latest, earlier = body.split('data-testid="earlier-screenings"')
    assert "Earlier screenings (1)" in earlier
    # The earlier block is still visible, with its day and time in the clinic's zone (UTC+3).
    assert "20 Nov 2026, noon GMT+3" in earlier
    assert "Not eligible" in earlier
    assert "lidocaine" in earlier
    assert "20 Nov 2026, 1 p.m. GMT+3" in latest
    assert "biotin" not in earlier


def test_receptionist_chart_has_no_screening_section(cast) -> None:
    screen(cast, NOW)
    body = chart(cast, "receptionist")
    assert 'id="h-screening"' not in body
    assert "Not eligible" not in body
    assert "Eligible" not in body
    assert 'id="h-details"' in body
