"""Signed sessions made the real way (charting's helpers), and side effects reported on them."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from mesoclinic.charting import actions as charting
from mesoclinic.charting.actions import ChartUpdate
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.charting.tests.helpers import ACTOR, cheek, ready, started
from mesoclinic.patients.models import Patient
from mesoclinic.safety import actions
from mesoclinic.safety.actions import EventSpec
from mesoclinic.safety.models import AdverseEvent
from mesoclinic.safety.surveillance import local_date


def signed(cast: Any, *, patient: Patient | None = None, lot_number: str = "HA-2291") -> TreatmentSession:
    """A signed session of `patient` (default the cast's), its solution drawn from `lot_number`."""
    state = ready(cast, patient=patient, lot_number=lot_number)
    session = started(cast, state)
    session = charting.save_chart(session=session, update=ChartUpdate(points=cheek(3)),
                                  expected_version=1, actor=ACTOR)
    return charting.sign_session(session=session, by=cast.physician, actor=ACTOR)


def today(cast: Any) -> date:
    return local_date(timezone.now(), cast.clinic.timezone)


def report(cast: Any, session: TreatmentSession, *, by: Any = None, **fields: Any) -> AdverseEvent:
    values: dict[str, Any] = {"effect": "erythema", "onset": today(cast), "severity": "mild",
                              "sessions": [session.public_id]}
    values.update(fields)
    return actions.report_event(patient=session.patient, spec=EventSpec(**values),
                                by=by or cast.nurse, actor=ACTOR)
