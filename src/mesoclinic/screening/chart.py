"""The screening section of the patient's chart: the latest result and the earlier ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mesoclinic.accounts.permissions import Perm
from mesoclinic.knowledge.store import active_pack
from mesoclinic.patients.access import PatientAccess
from mesoclinic.patients.chart import ChartSection, register
from mesoclinic.screening.models import Screening

EARLIER_SHOWN = 10


def treatment_summary(screening: Screening) -> dict[str, Any]:
    """What was screened, in words: indication and area labels (a code the pack lost as is)."""
    pack = active_pack()
    treatment = screening.treatment
    indication = pack.indications.get(str(treatment["indication"]))
    area = pack.areas.get(str(treatment["area"]))
    return {"indication": indication.label if indication else treatment["indication"],
            "area": area.label if area else treatment["area"],
            "ingredients": list(treatment.get("ingredients") or [])}  # type: ignore[call-overload]


def _section(access: PatientAccess) -> Mapping[str, Any]:
    rows = list(access.patient.screenings.select_related("created_by")[: EARLIER_SHOWN + 1])
    screenings = [{"screening": s, "treatment": treatment_summary(s)} for s in rows]
    return {"latest": screenings[0] if screenings else None, "earlier": screenings[1:]}


def register_chart_section() -> None:
    register(ChartSection(name="screening", template="screening/_chart_section.html", order=20,
                          perm=Perm.VIEW_CLINICAL, context=_section))
