"""The appointments section of the patient's chart: what is booked, and what can be booked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from mesoclinic.accounts.permissions import Perm
from mesoclinic.patients.access import PatientAccess
from mesoclinic.patients.chart import ChartSection, register
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.scheduling.actions import BOOKABLE_PLAN
from mesoclinic.scheduling.models import Appointment, Kind

SHOWN = 12


def _section(access: PatientAccess) -> Mapping[str, Any]:
    upcoming = list(Appointment.objects.filter(patient=access.patient, status=Appointment.Status.BOOKED,
                                               ends_at__gte=timezone.now())
                    .select_related("practitioner", "room")[:SHOWN])
    plans = []
    for plan in TreatmentPlan.objects.filter(patient=access.patient, status__in=BOOKABLE_PLAN):
        booked = plan.appointments.filter(status=Appointment.Status.BOOKED, kind=Kind.TREATMENT).count()
        plans.append({"plan": plan, "booked": booked})
    return {"upcoming": upcoming, "plans": plans, "can_book": access.can(Perm.BOOK)}


def register_chart_section() -> None:
    register(ChartSection(name="appointments", template="scheduling/_chart_section.html", order=23,
                          perm=Perm.VIEW_SCHEDULE, context=_section))
