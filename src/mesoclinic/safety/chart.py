"""The patient chart's safety section: the patient's side effects, any hold, check-ins due."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mesoclinic.accounts.permissions import Perm
from mesoclinic.patients.access import PatientAccess
from mesoclinic.patients.chart import ChartSection, register
from mesoclinic.safety.actions import effect_label
from mesoclinic.safety.models import AdverseEvent, CheckIn

SHOWN = 20


def _section(access: PatientAccess) -> Mapping[str, Any]:
    events = list(AdverseEvent.objects.filter(patient=access.patient).order_by("status", "-onset")[:SHOWN])
    return {"events": [{"event": e, "label": effect_label(e)} for e in events],
            "holding": any(e.holds for e in events),
            "checkins": CheckIn.objects.filter(patient=access.patient, status=CheckIn.Status.DUE).count(),
            "can_report": access.can(Perm.REPORT_EVENT)}


def register_chart_section() -> None:
    register(ChartSection(name="safety", template="safety/_chart_section.html", order=27,
                          perm=Perm.VIEW_CLINICAL, context=_section))
