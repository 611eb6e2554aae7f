"""Screening from the chart: propose a treatment, see each finding with its source, accept reviews."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mesoclinic.accounts.permissions import Perm
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.knowledge.store import active_pack
from mesoclinic.patients import actions as patient_actions
from mesoclinic.patients.access import PatientAccess, patient_view
from mesoclinic.patients.forms import MedicationForm
from mesoclinic.patients.models import Patient
from mesoclinic.screening import actions
from mesoclinic.screening.contract import InvalidIntake
from mesoclinic.screening.forms import AcceptFindingForm, CodeMedicationForm, TreatmentForm
from mesoclinic.screening.models import Screening

# The engine's severities as the page names them. The findings' own text stays the engine's
# English: it carries dates and names inside the sentence, so it cannot be looked up by code.
SEVERITY_LABELS = {
    "block": pgettext_lazy("finding severity", "block"),
    "review": pgettext_lazy("finding severity", "review"),
    "condition": pgettext_lazy("finding severity", "condition"),
    "missing": pgettext_lazy("finding severity", "missing"),
    "info": pgettext_lazy("finding severity", "info"),
}


@require_http_methods(["GET", "POST"])
@patient_view(Perm.SCREEN, object_type="screening")
def new_screening(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    is_post = request.method == "POST"
    patient = access.patient
    pack = active_pack()
    tz = ZoneInfo(patient.clinic.timezone)
    latest = patient.screenings.first()
    initial = {}
    if latest is not None:
        t = latest.treatment
        initial = {k: t[k] for k in ("indication", "area", "technique", "delivery")}
        initial["ingredients"] = ", ".join(t["ingredients"])  # type: ignore[arg-type]
    form = TreatmentForm(request.POST if is_post else None, initial=initial, pack=pack, tz=tz)
    if is_post and form.is_valid():
        try:
            screening = actions.screen_patient(
                patient=patient, treatment=form.treatment(), allergy_test=form.allergy_test(),
                by=access.user, actor=access.actor,
            )
        except InvalidIntake as exc:
            name = exc.field.split(".")[-1].split("[")[0]
            form.add_error(name if name in form.fields else None, str(exc))
        else:
            messages.success(request, gettext("Screening saved: %(decision)s.")
                             % {"decision": screening.get_decision_display()})
            return redirect("screening:detail", public_id=patient.public_id,
                            screening_id=screening.public_id)
    return render(request, "screening/new.html",
                  {"form": form, "patient": patient, "allergies_unasked": _allergies_unasked(patient)},
                  status=422 if form.errors else 200)


def _allergies_unasked(patient: Patient) -> bool:
    """Nobody has asked: no allergy on record and no "no known allergies" statement.

    Not a finding (that would change the screening contract): a notice on the screening pages.
    """
    return (not patient.allergies.current().exists()
            and patient_actions.no_known_allergies(patient) is None)


@require_http_methods(["GET"])
@patient_view(Perm.VIEW_CLINICAL, object_type="screening")
def detail(request: ClinicRequest, access: PatientAccess, screening_id: str) -> HttpResponse:
    screening = _screening(access.patient.pk, screening_id)
    return render(request, "screening/detail.html", _context(access, screening, None))


def _screening(patient_pk: int, screening_id: str) -> Screening:
    screening = (Screening.objects.filter(patient_id=patient_pk, public_id=screening_id)
                 .select_related("created_by", "patient__clinic").first())
    if screening is None:
        raise Http404("No such screening")
    return screening


def _treatment_labels(treatment: dict[str, object]) -> dict[str, str]:
    """Plain-language names for the stored codes; a code the pack no longer has shows as is."""
    pack = active_pack()
    sections: dict[str, Mapping[str, Any]] = {"indication": pack.indications, "area": pack.areas,
                "technique": pack.techniques, "delivery": pack.deliveries}
    labels = {}
    for key, entries in sections.items():
        code = str(treatment[key])
        entry = entries.get(code)
        labels[key] = entry.label if entry is not None else code
    return labels


def _due(value: str | None) -> dict[str, object]:
    """A required action's deadline as a moment (`due_at`) or a day (`due_on`), for display."""
    if not value:
        return {}
    if "T" in value:
        return {"due_at": datetime.fromisoformat(value)}
    return {"due_on": date.fromisoformat(value)}


def _context(access: PatientAccess, screening: Screening,
             form: AcceptFindingForm | None) -> dict[str, object]:
    accepted = {a.code: a for a in screening.acceptances.select_related("accepted_by")}
    findings = [dict(f, acceptance=accepted.get(f["code"]),
                     severity_label=SEVERITY_LABELS.get(f["severity"], f["severity"]))
                for f in screening.output["findings"]]
    return {"access": access, "patient": screening.patient, "screening": screening,
            "findings": findings,
            "actions": [dict(a, **_due(a.get("due_by"))) for a in screening.output["required_actions"]],
            "treatment": screening.treatment, "form": form,
            "labels": _treatment_labels(screening.treatment),
            # Shown with |when, in the patient's clinic's zone (patient_view activates it).
            "first_session_at": datetime.fromisoformat(
                str(screening.treatment["first_session_at"])),
            "can": {p.value for p in access.perms},
            "allergies_unasked": _allergies_unasked(screening.patient)}


@require_POST
@patient_view(Perm.ACCEPT_REVIEW, object_type="screening")
def accept_finding(request: ClinicRequest, access: PatientAccess, screening_id: str) -> HttpResponse:
    screening = _screening(access.patient.pk, screening_id)
    form = AcceptFindingForm(request.POST)
    if form.is_valid():
        try:
            actions.accept_review_finding(
                screening=screening, code=form.cleaned_data["code"],
                reason=form.cleaned_data["reason"], by=access.user, actor=access.actor,
            )
        except actions.ScreeningRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, gettext("Finding accepted with your reason."))
            return redirect("screening:detail", public_id=access.patient.public_id,
                            screening_id=screening.public_id)
    return render(request, "screening/detail.html", _context(access, screening, form), status=422)


def _medicine_results(request: ClinicRequest) -> tuple[str, list[dict[str, str]]]:
    """The catalogue medicines matching ?q= (brand or generic, any of its languages)."""
    query = request.GET.get("q", "").strip()[:100]
    hits = active_pack().search_medicines(query) if query else []
    return query, [{"name": name, "label": s.label, "atc": s.atc[0]} for name, s in hits]


def _is_htmx(request: ClinicRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@require_http_methods(["GET", "POST"])
@patient_view(Perm.EDIT_CLINICAL, object_type="medication")
def medication_find(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    """Add a medicine found in the catalogue (htmx search with a plain-GET fallback); a name the
    catalogue cannot resolve is kept as typed, and screening flags it until a physician codes it."""
    patient = access.patient
    query, results = _medicine_results(request)
    if _is_htmx(request) and request.method == "GET":
        return render(request, "screening/medicines.html#results",
                      {"q": query, "results": results, "medication": None})
    initial = {"name": request.GET.get("name", "")[:200], "atc_code": request.GET.get("atc", "")[:7]}
    form = MedicationForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            patient_actions.add_medication(patient=patient, data=form.cleaned_data, by=access.user,
                                           actor=access.actor)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("patients:chart", public_id=patient.public_id)
    return render(request, "screening/medicines.html",
                  {"patient": patient, "form": form, "q": query, "results": results,
                   "medication": None, "title": _("Add a medicine")},
                  status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
# Coding a medicine settles an UNCLASSIFIED_MEDICATION review: a physician's decision.
@patient_view(Perm.ACCEPT_REVIEW, object_type="medication")
def medication_code(request: ClinicRequest, access: PatientAccess, medication_id: str) -> HttpResponse:
    """A physician codes a medicine the catalogue could not resolve (catalogue pick or ATC code)."""
    patient = access.patient
    medication = patient.medications.current().filter(public_id=medication_id).first()
    if medication is None:
        raise Http404("No such medication")
    query, results = _medicine_results(request)
    if _is_htmx(request) and request.method == "GET":
        return render(request, "screening/medicines.html#results",
                      {"q": query, "results": results, "medication": medication})
    form = CodeMedicationForm(request.POST if request.method == "POST" else None,
                              initial={"atc_code": medication.atc_code})
    if request.method == "POST" and form.is_valid():
        try:
            patient_actions.code_medication(medication=medication,
                                            atc_code=form.cleaned_data["atc_code"],
                                            by=access.user, actor=access.actor)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("patients:chart", public_id=patient.public_id)
    return render(request, "screening/medicines.html",
                  {"patient": patient, "form": form, "q": query, "results": results,
                   "medication": medication, "title": _("Code this medicine")},
                  status=422 if form.errors else 200)
