"""The record's own chart sections (patients.chart registers them; other apps add theirs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mesoclinic.accounts.permissions import Perm
from mesoclinic.patients import actions
from mesoclinic.patients.access import PatientAccess
from mesoclinic.patients.chart import ChartSection, register
from mesoclinic.patients.forms import HistoryForm
from mesoclinic.patients.models import MedicalHistory, Workup


def _details(access: PatientAccess) -> Mapping[str, Any]:
    return {}


def _history(access: PatientAccess) -> Mapping[str, Any]:
    history = actions.current_history(access.patient)
    return {"history": history,
            "rows": _history_rows(history, actions.field_provenance(access.patient))}


def _history_rows(
    history: MedicalHistory | None, provenance: dict[str, MedicalHistory]
) -> list[dict[str, Any]]:
    if history is None:
        return []
    form = HistoryForm(instance=history)
    rows = []
    for name in MedicalHistory.CLINICAL_FIELDS:
        value = getattr(history, name)
        display = getattr(history, f"get_{name}_display", lambda v=value: v)()
        rows.append({"label": form.fields[name].label, "value": value, "display": display or "—",
                     "since": provenance.get(name)})
    return rows


def _medications(access: PatientAccess) -> Mapping[str, Any]:
    return {"medications": list(access.patient.medications.current())}


def _allergies(access: PatientAccess) -> Mapping[str, Any]:
    allergies = list(access.patient.allergies.current())
    return {"allergies": allergies,
            "none_known": None if allergies else actions.no_known_allergies(access.patient)}


def _workup(access: PatientAccess) -> Mapping[str, Any]:
    return {"workup": Workup.objects.filter(patient=access.patient)
            .select_related("signed_off_by").first()}


def _labs(access: PatientAccess) -> Mapping[str, Any]:
    return {"labs": list(access.patient.lab_results.all()[:20])}


def register_record_sections() -> None:
    """Details first; the journey's stages slot in between (screening at 20)."""
    for name, order, perm, context in (
        ("details", 10, Perm.VIEW_DEMOGRAPHICS, _details),
        ("history", 30, Perm.VIEW_CLINICAL, _history),
        ("medications", 40, Perm.VIEW_CLINICAL, _medications),
        ("allergies", 50, Perm.VIEW_CLINICAL, _allergies),
        ("workup", 60, Perm.VIEW_CLINICAL, _workup),
        ("labs", 70, Perm.VIEW_CLINICAL, _labs),
    ):
        register(ChartSection(name=name, template=f"patients/_chart_{name}.html", order=order,
                              perm=perm, context=context))
