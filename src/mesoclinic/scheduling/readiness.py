"""Today's list: whether each treatment session's preconditions hold, at a glance.

A summary for planning the day, not the gate: the pre-session check (session charting) decides
whether a session may start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from mesoclinic.plans.consents import valid_consent
from mesoclinic.plans.models import Status as PlanStatus
from mesoclinic.scheduling.models import Appointment, Kind

ALLERGY_TEST_LEAD = timedelta(hours=24)  # F-ALLERGY-TEST


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool


def _allergy_test_done(appointment: Appointment) -> bool:
    before = appointment.starts_at - ALLERGY_TEST_LEAD
    if Appointment.objects.filter(patient=appointment.patient, kind=Kind.ALLERGY_TEST,
                                  status=Appointment.Status.BOOKED, ends_at__lte=before).exists():
        return True
    plan = appointment.plan
    screening = plan.current.screening if plan is not None else None
    recorded = (screening.input.get("allergy_test") or {}) if screening is not None else {}
    performed = recorded.get("performed_at") if isinstance(recorded, dict) else None
    try:
        return performed is not None and datetime.fromisoformat(performed) <= before
    except (TypeError, ValueError):
        return False


def checks(appointment: Appointment) -> list[Check]:
    plan = appointment.plan
    workup = getattr(appointment.patient, "workup", None)
    return [
        Check(_("Plan accepted"),
              plan is not None and plan.status in (PlanStatus.ACCEPTED, PlanStatus.ACTIVE)),
        Check(_("Consent signed"), plan is not None and valid_consent(plan) is not None),
        Check(_("Workup signed off"), workup is not None and workup.signed_off_at is not None),
        Check(_("Allergy test ≥ 24 h before"), _allergy_test_done(appointment)),
    ]
