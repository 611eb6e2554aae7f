"""The plans section of the patient's chart: open plans first, then the closed ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mesoclinic.accounts.permissions import Perm
from mesoclinic.knowledge.store import active_pack
from mesoclinic.patients.access import PatientAccess
from mesoclinic.patients.chart import ChartSection, register
from mesoclinic.plans.models import PlanVersion, TreatmentPlan

SHOWN = 20


def _section(access: PatientAccess) -> Mapping[str, Any]:
    pack = active_pack()
    rows: list[dict[str, Any]] = []
    for plan in TreatmentPlan.objects.filter(patient=access.patient)[:SHOWN]:
        current = PlanVersion.objects.filter(plan=plan, number=plan.version).first()
        if current is None:
            continue
        indication = pack.indications.get(current.indication)
        area = pack.areas.get(current.area)
        rows.append({"plan": plan, "version": current,
                     "indication": indication.label if indication else current.indication,
                     "area": area.label if area else current.area})
    rows.sort(key=lambda r: r["plan"].status in ("completed", "stopped"))
    return {"plans": rows, "can_write": access.can(Perm.WRITE_PLAN)}


def _quotes(access: PatientAccess) -> Mapping[str, Any]:
    from mesoclinic.plans.quote_views import work_summary

    rows = []
    for plan in TreatmentPlan.objects.filter(patient=access.patient)[:SHOWN]:
        if not plan.is_open and not plan.quotes.exists():
            continue
        rows.append({"plan": plan, "work": work_summary(plan),
                     "quotes": list(plan.quotes.filter(plan_version=plan.version)[:5])})
    return {"rows": rows}


def register_chart_section() -> None:
    register(ChartSection(name="plans", template="plans/_chart_section.html", order=22,
                          perm=Perm.VIEW_PLAN, context=_section))
    # Reception prices plans without reading them: the work (area, sessions) and its quotes.
    register(ChartSection(name="quotes", template="plans/_chart_quotes.html", order=24,
                          perm=Perm.QUOTE, context=_quotes))
