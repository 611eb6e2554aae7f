"""Patient pages: list and search, registration, the chart, and the clinical record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.log import record
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.versions import StaleEdit, conflict_rows, show_conflict
from mesoclinic.kernel.views import ClinicAccess, clinic_view
from mesoclinic.patients import actions
from mesoclinic.patients import chart as chart_sections
from mesoclinic.patients.access import PatientAccess, patient_view
from mesoclinic.patients.duplicates import audit_shown
from mesoclinic.patients.forms import (
    AllergyForm,
    BreakGlassForm,
    HistoryForm,
    LabResultForm,
    MedicationForm,
    PatientEditForm,
    RegisterPatientForm,
    RetractForm,
    StopMedicationForm,
    WorkupForm,
)
from mesoclinic.patients.models import Patient, Workup

LIST_LIMIT = 50


def _is_htmx(request: ClinicRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@require_GET
@clinic_view(Perm.VIEW_DEMOGRAPHICS, action=AuditEvent.Action.SEARCH, object_type="patient")
def patient_list(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    patients = Patient.objects.for_clinic(access.clinic)
    patients = patients.matching(query) if query else patients.order_by("-created_at")
    rows = list(patients[: LIST_LIMIT + 1])
    access.audit(AuditEvent.Action.SEARCH, object_type="patient",
                 detail=f"q={query!r} results={min(len(rows), LIST_LIMIT)}" if query else "recent list")
    context = {"patients": rows[:LIST_LIMIT], "more": len(rows) > LIST_LIMIT, "q": query}
    template = "patients/list.html#results" if _is_htmx(request) else "patients/list.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.EDIT_DEMOGRAPHICS, action=AuditEvent.Action.CREATE, object_type="patient")
def patient_new(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    form = RegisterPatientForm(request.POST or None)
    matches: list[Patient] = []
    if request.method == "POST" and form.is_valid():
        try:
            patient = actions.register_patient(clinic=access.clinic, data=form.cleaned_data,
                                               actor=access.actor,
                                               confirm_new=form.cleaned_data["confirm_new"])
        except actions.PossibleDuplicate as exc:
            matches = exc.matches
            audit_shown(matches, access.actor)
        else:
            messages.success(request, gettext("%(name)s is registered.")
                             % {"name": patient.full_name})
            return redirect("patients:chart", public_id=patient.public_id)
    return render(request, "patients/form.html",
                  {"form": form, "title": gettext("Register a patient"), "duplicates": matches},
                  status=422 if form.errors or matches else 200)


@require_GET
@patient_view(Perm.VIEW_DEMOGRAPHICS)
def chart(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    """A frame: each app contributes its sections (patients/chart.py)."""
    context: dict[str, Any] = {"patient": access.patient, "access": access,
                               "can": {p.value for p in access.perms},
                               "sections": chart_sections.sections_for(access)}
    return render(request, "patients/chart.html", context)


@require_http_methods(["GET", "POST"])
@patient_view(Perm.EDIT_DEMOGRAPHICS)
def patient_edit(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    patient = access.patient
    stored = Patient.objects.get(pk=patient.pk)
    form = PatientEditForm(request.POST or None, instance=stored, initial={"based_on": stored.version})
    conflict = None
    if request.method == "POST":
        if form.is_valid():
            try:
                changed = actions.update_demographics(
                    patient=patient, data=form.cleaned_data, actor=access.actor,
                    based_on=form.cleaned_data["based_on"])
            except StaleEdit as stale:  # audited by the action; the input stays in the form
                conflict = show_conflict(form, stale)
            else:
                messages.success(request, gettext("Details saved.") if changed
                                 else gettext("Nothing changed: the details were already so."))
                return redirect("patients:chart", public_id=patient.public_id)
        else:
            _audit_rejected(access, "patient", form.errors.as_json())
    return render(request, "patients/form.html",
                  {"form": form, "patient": patient, "title": pgettext("a patient", "Edit %(name)s")
                   % {"name": patient.full_name},
                   "conflict": conflict},
                  status=409 if conflict is not None else 422 if form.errors else 200)


def _audit_rejected(access: PatientAccess, object_type: ObjectType, detail: str) -> None:
    """An invalid submission changed nothing, but the attempt is still on the record."""
    access.audit(AuditEvent.Action.UPDATE, object_type=object_type, detail=f"rejected: {detail}"[:500])


def _clinical_form(
    request: ClinicRequest,
    access: PatientAccess,
    *,
    object_type: ObjectType,
    title: str,
    make_form: Callable[[Patient, Any], Any],
    save: Callable[[Patient, Any], object],
    saved: str,
) -> HttpResponse:
    """GET shows the form, POST saves through one action or answers 422 (audited either way);
    an edit based on an older version answers 409 with what changed since."""
    is_post = request.method == "POST"
    patient = access.patient
    form = make_form(patient, request.POST if is_post else None)
    conflict = None
    if is_post:
        if form.is_valid():
            try:
                save(patient, form)
            except StaleEdit as stale:  # audited by the action; the input stays in the form
                conflict = show_conflict(form, stale)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, saved)
                return redirect("patients:chart", public_id=patient.public_id)
        if conflict is None:
            _audit_rejected(access, object_type, form.errors.as_json())
    return render(request, "patients/clinical_form.html",
                  {"form": form, "patient": patient, "title": title, "conflict": conflict},
                  status=409 if conflict is not None else 422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@patient_view(Perm.EDIT_CLINICAL, object_type="medical_history")
def history_edit(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    def make_form(patient: Patient, data: Any) -> HistoryForm:
        current = actions.current_history(patient)
        initial: dict[str, object] = current.values() if current else {}  # type: ignore[assignment]
        initial["based_on"] = current.version if current else 0
        return HistoryForm(data, initial=initial)

    def save(patient: Patient, form: HistoryForm) -> object:
        return actions.record_history(patient=patient, values=form.cleaned_data,
                                      by=access.user, actor=access.actor,
                                      based_on=form.cleaned_data["based_on"])

    return _clinical_form(request, access, object_type="medical_history",
                          title=gettext("Medical history"), make_form=make_form, save=save,
                          saved=gettext("Medical history saved."))


@require_http_methods(["GET", "POST"])
@patient_view(Perm.EDIT_CLINICAL, object_type="medication")
def medication_add(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    return _clinical_form(
        request, access, object_type="medication", title=gettext("Add a medication"),
        make_form=lambda p, d: MedicationForm(d),
        save=lambda p, f: actions.add_medication(patient=p, data=f.cleaned_data, by=access.user,
                                                 actor=access.actor),
        saved=gettext("Medication added."),
    )


@require_http_methods(["GET", "POST"])
@patient_view(Perm.EDIT_CLINICAL, object_type="medication")
def medication_stop(request: ClinicRequest, access: PatientAccess, medication_id: str) -> HttpResponse:
    def save(patient: Patient, form: StopMedicationForm) -> object:
        medication = patient.medications.current().filter(public_id=medication_id).first()
        if medication is None:
            raise Http404("No such medication")
        return actions.stop_medication(medication=medication,
                                       last_dose_on=form.cleaned_data["last_dose_on"],
                                       actor=access.actor)

    return _clinical_form(request, access, object_type="medication",
                          title=gettext("Record the last dose"), make_form=lambda p, d: StopMedicationForm(d),
                          save=save, saved=gettext("Last dose recorded."))


def _entry_retract(request: ClinicRequest, access: PatientAccess, kind: ObjectType,
                   entry_id: str) -> HttpResponse:
    def save(patient: Patient, form: RetractForm) -> object:
        entries = patient.medications if kind == "medication" else patient.allergies
        entry = entries.current().filter(public_id=entry_id).first()
        if entry is None:
            raise Http404("No such entry")
        return actions.retract_entry(entry=entry, reason=form.cleaned_data["reason"],
                                     by=access.user, actor=access.actor)

    title = (gettext("Withdraw a medication") if kind == "medication"
             else gettext("Withdraw an allergy"))
    return _clinical_form(request, access, object_type=kind, title=title,
                          make_form=lambda p, d: RetractForm(d), save=save,
                          saved=gettext("Entry withdrawn; it stays on record as entered in error."))


@require_http_methods(["GET", "POST"])
@patient_view(Perm.EDIT_CLINICAL, object_type="medication")
def medication_retract(request: ClinicRequest, access: PatientAccess, entry_id: str) -> HttpResponse:
    """Withdraw a medication entered in error (with a reason; kept on record)."""
    return _entry_retract(request, access, "medication", entry_id)


@require_http_methods(["GET", "POST"])
@patient_view(Perm.EDIT_CLINICAL, object_type="allergy")
def allergy_retract(request: ClinicRequest, access: PatientAccess, entry_id: str) -> HttpResponse:
    """Withdraw an allergy entered in error (with a reason; kept on record)."""
    return _entry_retract(request, access, "allergy", entry_id)


@require_http_methods(["GET", "POST"])
@patient_view(Perm.RECORD_ALLERGY, object_type="allergy")
def allergy_add(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    return _clinical_form(
        request, access, object_type="allergy", title=gettext("Add an allergy"),
        make_form=lambda p, d: AllergyForm(d),
        save=lambda p, f: actions.add_allergy(patient=p, data=f.cleaned_data, by=access.user,
                                              actor=access.actor),
        saved=gettext("Allergy added."),
    )


@require_http_methods(["GET", "POST"])
@patient_view(Perm.EDIT_CLINICAL, object_type="lab_result")
def lab_add(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    return _clinical_form(
        request, access, object_type="lab_result", title=gettext("Add a test result"),
        make_form=lambda p, d: LabResultForm(d),
        save=lambda p, f: actions.add_lab_result(patient=p, data=f.cleaned_data, by=access.user,
                                                 actor=access.actor),
        saved=gettext("Test result added."),
    )


@require_http_methods(["GET", "POST"])
@patient_view(Perm.EDIT_CLINICAL, object_type="workup")
def workup_edit(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    def make_form(patient: Patient, data: Any) -> WorkupForm:
        workup = Workup.objects.filter(patient=patient).first()
        return WorkupForm(data, instance=workup, initial={"based_on": workup.version if workup else 0})

    def save(patient: Patient, form: WorkupForm) -> object:
        data = {k: v for k, v in form.cleaned_data.items() if k != "based_on"}
        return actions.update_workup(patient=patient, data=data, actor=access.actor,
                                     based_on=form.cleaned_data["based_on"])

    return _clinical_form(request, access, object_type="workup", title=gettext("Workup"),
                          make_form=make_form, save=save, saved=gettext("Workup saved."))


@require_POST
@patient_view(Perm.SIGN_OFF_WORKUP, object_type="workup")
def workup_sign_off(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    # The chart's button carries the workup version the physician read: sign that one only.
    raw = request.POST.get("based_on", "")
    try:
        actions.sign_off_workup(patient=access.patient, by=access.user, actor=access.actor,
                                based_on=int(raw) if raw.isdigit() else None)
    except StaleEdit as stale:
        return render(request, "conflict_page.html",
                      {"patient": access.patient, "conflict": conflict_rows(WorkupForm().fields, stale),
                       "back": reverse("patients:chart", args=[access.patient.public_id])},
                      status=409)
    messages.success(request, gettext("Workup signed off."))
    return redirect("patients:chart", public_id=access.patient.public_id)


@require_POST
@patient_view(Perm.EDIT_CLINICAL, object_type="allergy")
def no_known_allergies(request: ClinicRequest, access: PatientAccess) -> HttpResponse:
    """The patient was asked and has no known allergies (who and when are kept)."""
    try:
        actions.state_no_known_allergies(patient=access.patient, by=access.user,
                                         actor=access.actor)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        _audit_rejected(access, "allergy", " ".join(exc.messages))
    else:
        messages.success(request, gettext("Recorded: no known allergies."))
    return redirect(reverse("patients:chart", kwargs={"public_id": access.patient.public_id})
                    + "#allergies")


@require_GET
@clinic_view(Perm.BREAK_GLASS, action=AuditEvent.Action.SEARCH, object_type="patient")
def other_clinics(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """Physicians may find a patient of a sister clinic (name, birth date, clinic only)."""
    query = request.GET.get("q", "").strip()[:100]
    rows: list[Patient] = []
    if query:
        rows = list(
            Patient.objects.filter(clinic__organisation_id=access.clinic.organisation_id)
            .exclude(clinic__memberships__user=access.user)
            .matching(query)
            .select_related("clinic")[:LIST_LIMIT]
        )
        access.audit(AuditEvent.Action.SEARCH, object_type="patient", break_glass=True,
                     detail=f"sister clinics q={query!r} results={len(rows)}")
    return render(request, "patients/other_clinics.html", {"patients": rows, "q": query})


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.BREAK_GLASS, action=AuditEvent.Action.BREAK_GLASS, object_type="patient")
def break_glass(request: ClinicRequest, access: ClinicAccess, public_id: str) -> HttpResponse:
    patient = (
        Patient.objects.filter(public_id=public_id, clinic__organisation_id=access.clinic.organisation_id)
        .select_related("clinic")
        .first()
    )
    principal = access.principal
    if patient is None or not principal.can_break_glass(patient.clinic):
        # Denials are audited like every other (issue 2), yet answer as if nobody were there.
        record(access.actor, action=AuditEvent.Action.BREAK_GLASS,
               object_type="patient", object_id=str(public_id)[:64],
               outcome=AuditEvent.Outcome.DENIED, detail="no sister-clinic patient")
        raise Http404("No such patient")
    if principal.roles_at(patient.clinic):
        # Their own clinic's patient: normal access applies, no emergency grant or flag.
        return redirect("patients:chart", public_id=patient.public_id)
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.break_glass(patient=patient, by=access.user, reason=form.cleaned_data["reason"],
                            actor=access.actor)
        messages.warning(request, gettext("Emergency access is open for %(hours)d hours. It is "
                                          "flagged for the auditor.")
                         % {"hours": actions.BREAK_GLASS_HOURS})
        return redirect("patients:chart", public_id=patient.public_id)
    # The form shows the patient's name and birth date: that read is audited too.
    record(access.actor, action=AuditEvent.Action.VIEW, object_type="patient",
           object_id=str(patient.public_id), clinic_id=str(patient.clinic.public_id),
           patient_id=str(patient.public_id), detail="break-glass request form")
    return render(request, "patients/break_glass.html", {"form": form, "patient": patient},
                  status=422 if form.errors else 200)
