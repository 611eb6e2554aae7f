"""The demo clinic loads with something on every stage of the journey, and loads once."""

from __future__ import annotations

import pytest

from mesoclinic.charting.models import TreatmentSession
from mesoclinic.demo.loader import load_demo
from mesoclinic.photos.models import Photo
from mesoclinic.safety.models import AdverseEvent, Alert, CheckIn


@pytest.mark.django_db
def test_the_demo_has_sessions_side_effects_and_an_alert_and_loads_once() -> None:
    first = load_demo(patients_per_clinic=8)
    assert first["sessions_charted"] > 0
    signed = TreatmentSession.objects.filter(status="signed").count()
    # Each signed session has its check-in calls booked.
    assert CheckIn.objects.count() == 4 * signed
    assert AdverseEvent.objects.filter(effect="swelling", expected=True).exists()
    infection = AdverseEvent.objects.filter(effect="infection").first()
    assert infection is not None
    assert infection.holds
    assert Alert.objects.filter(event=infection, reason="infection").exists()
    # Photos of a consenting patient, measured.
    assert Photo.objects.filter(metrics__isnull=False).count() == Photo.objects.count() >= 2
    events = AdverseEvent.objects.count()
    again = load_demo(patients_per_clinic=8)
    assert again["patients_created"] == 0
    assert AdverseEvent.objects.count() == events
