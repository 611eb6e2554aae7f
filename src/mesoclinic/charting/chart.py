"""The patient's chart: treatment sessions (start one, open one) and the timeline of the journey."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from mesoclinic.accounts.permissions import Perm
from mesoclinic.charting.models import AftercareSheet, AllergyTest, TreatmentSession
from mesoclinic.patients.access import PatientAccess
from mesoclinic.patients.chart import ChartSection, register
from mesoclinic.plans.models import Consent, Status, TreatmentPlan
from mesoclinic.scheduling.models import Appointment
from mesoclinic.screening.models import Screening

SHOWN = 40


@dataclass(frozen=True)
class Moment:
    at: datetime
    kind: str  # screening, plan, consent, appointment, allergy_test, session, aftercare
    title: str
    detail: str
    url: str


def timeline(access: PatientAccess) -> list[Moment]:
    """Everything on the patient's journey, newest first (a bounded number of each kind)."""
    patient = access.patient
    pid = patient.public_id
    moments: list[Moment] = []
    for s in Screening.objects.filter(patient=patient).order_by("-created_at")[:SHOWN]:
        moments.append(Moment(s.created_at, "screening", _("Screening"), s.get_decision_display(),
                              reverse("screening:detail", args=[pid, s.public_id])))
    for p in TreatmentPlan.objects.filter(patient=patient).order_by("-created_at")[:SHOWN]:
        moments.append(Moment(p.created_at, "plan", _("Treatment plan"), p.get_status_display(),
                              reverse("plans:detail", args=[pid, p.public_id])))
    signed = Consent.objects.filter(plan__patient=patient).select_related("plan").order_by("-signed_at")
    for c in signed[:SHOWN]:
        state = _("withdrawn") if c.withdrawn_at else _("plan version %(n)d") % {"n": c.plan_version}
        moments.append(Moment(c.signed_at, "consent", _("Consent signed"), state,
                              reverse("plans:detail", args=[pid, c.plan.public_id])))
    for a in Appointment.objects.filter(patient=patient).order_by("-starts_at")[:SHOWN]:
        moments.append(Moment(a.starts_at, "appointment", a.get_kind_display(), a.get_status_display(),
                              reverse("scheduling:appointment", args=[a.public_id])))
    for t in AllergyTest.objects.filter(patient=patient)[:SHOWN]:
        moments.append(Moment(t.performed_at, "allergy_test", _("Allergy test"),
                              _("reaction to %(codes)s") % {"codes": ", ".join(t.reactions)} if t.reactions
                              else _("no reaction"), ""))
    for session in TreatmentSession.objects.filter(patient=patient)[:SHOWN]:
        moments.append(Moment(session.started_at, "session",
                              _("Treatment session %(n)d") % {"n": session.session_number},
                              session.get_status_display(),
                              reverse("charting:session", args=[pid, session.public_id])))
    for sheet in AftercareSheet.objects.filter(session__patient=patient).select_related("session")[:SHOWN]:
        moments.append(Moment(sheet.created_at, "aftercare", _("Aftercare sheet"), sheet.language,
                              reverse("charting:aftercare-pdf", args=[pid, sheet.session.public_id])))
    moments.sort(key=lambda m: m.at, reverse=True)
    return moments


def _section(access: PatientAccess) -> Mapping[str, Any]:
    startable = list(TreatmentPlan.objects.filter(patient=access.patient,
                                                  status__in=(Status.ACCEPTED, Status.ACTIVE)))
    return {"timeline": timeline(access),
            "sessions": TreatmentSession.objects.filter(patient=access.patient)[:10],
            "startable": startable if access.can(Perm.CHART) else []}


def register_chart_section() -> None:
    register(ChartSection(name="sessions", template="charting/_chart_section.html", order=25,
                          perm=Perm.VIEW_CLINICAL, context=_section))
