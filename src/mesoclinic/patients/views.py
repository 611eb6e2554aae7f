"""Patient pages: list and search, registration, the chart, and the clinical record."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.models import Clinic
from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.log import actor_from_request, count_refusal, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.lib.http import ClinicRequest
from mesoclinic.patients import actions
from mesoclinic.patients.access import AccessDenied, PatientAccess, PatientNotFound, Principal, patient_for
from mesoclinic.patients.forms import (
    AllergyForm,
    BreakGlassForm,
    HistoryForm,
    LabResultForm,
    MedicationForm,
    PatientForm,
    RetractForm,
    StopMedicationForm,
    WorkupForm,
)
from mesoclinic.patients.models import MedicalHistory, Patient, Workup

View = TypeVar("View", bound=Callable[..., HttpResponse])
LIST_LIMIT = 50


def staff_view(view: View) -> View:
    """Signed in, with a role at some clinic; anything else is sent to sign in or refused."""

    @wraps(view)
    def wrapper(request: ClinicRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            # Even an anonymous knock on a patient's door is on the record.
            target = str(kwargs.get("public_id", ""))
            clinic = (Patient.objects.filter(public_id=target)
                      .values_list("clinic__public_id", flat=True).first() if target else None)
            # Counted per address and minute, one event each: a flood cannot flood the trail.
            count_refusal(actor_from_request(request), action=AuditEvent.Action.VIEW,
                          object_type="patient", door=target if clinic else "",
                          clinic_id=str(clinic or ""), patient_id=target if clinic else "",
                          detail="not signed in")
            return redirect_to_login(request.get_full_path())
        if request.clinic is None:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def principal(request: ClinicRequest) -> Principal:
    return Principal(actor=actor_from_request(request), user=request.user)


def load(request: ClinicRequest, public_id: UUID | str, perm: Perm, *,
         audit_as: str | None = AuditEvent.Action.VIEW, object_type: str = "patient") -> PatientAccess:
    """The scoped getter for pages: 404 outside the caller's clinics, 403 without the right."""
    try:
        return patient_for(principal(request), public_id, perm, audit_as=audit_as,
                           object_type=object_type)
    except PatientNotFound:
        raise Http404("No such patient") from None
    except AccessDenied:
        raise PermissionDenied from None


def _require(request: ClinicRequest, perm: Perm) -> Clinic:
    assert request.clinic is not None  # noqa: S101 (staff_view guarantees it)
    if perm not in request.perms:
        record(actor_from_request(request), action=AuditEvent.Action.SEARCH,
               object_type="patient", clinic_id=str(request.clinic.public_id),
               outcome=AuditEvent.Outcome.DENIED, detail=f"missing permission {perm.value}")
        raise PermissionDenied
    return request.clinic


def _is_htmx(request: ClinicRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@require_GET
@staff_view
def patient_list(request: ClinicRequest) -> HttpResponse:
    clinic = _require(request, Perm.VIEW_DEMOGRAPHICS)
    query = request.GET.get("q", "").strip()[:100]
    patients = Patient.objects.for_clinic(clinic)
    patients = patients.matching(query) if query else patients.order_by("-created_at")
    rows = list(patients[: LIST_LIMIT + 1])
    record(actor_from_request(request), action=AuditEvent.Action.SEARCH, object_type="patient",
           clinic_id=str(clinic.public_id),
           detail=f"q={query!r} results={min(len(rows), LIST_LIMIT)}" if query else "recent list")
    context = {"patients": rows[:LIST_LIMIT], "more": len(rows) > LIST_LIMIT, "q": query}
    template = "patients/list.html#results" if _is_htmx(request) else "patients/list.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@staff_view
def patient_new(request: ClinicRequest) -> HttpResponse:
    clinic = _require(request, Perm.EDIT_DEMOGRAPHICS)
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = actions.register_patient(
            clinic=clinic, data=form.cleaned_data, actor=actor_from_request(request)
        )
        return redirect("patients:chart", public_id=patient.public_id)
    return render(request, "patients/form.html", {"form": form, "title": "Register a patient"},
                  status=422 if form.errors else 200)


@require_GET
@staff_view
def chart(request: ClinicRequest, public_id: str) -> HttpResponse:
    access = load(request, public_id, Perm.VIEW_DEMOGRAPHICS)
    patient = access.patient
    context: dict[str, Any] = {"patient": patient, "access": access,
                               "can": {p.value for p in access.perms}}
    if Perm.VIEW_CLINICAL in access.perms:
        history = actions.current_history(patient)
        provenance = actions.field_provenance(patient)
        context |= {
            "history": history,
            "history_rows": _history_rows(history, provenance),
            "medications": list(patient.medications.current()),
            "allergies": list(patient.allergies.current()),
            "workup": Workup.objects.filter(patient=patient).select_related("signed_off_by").first(),
            "labs": list(patient.lab_results.all()[:20]),
            "screening": patient.screenings.select_related("created_by").first(),
        }
    return render(request, "patients/chart.html", context)


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
        since = provenance.get(name)
        rows.append({"label": form.fields[name].label, "value": value, "display": display or "—",
                     "since": since})
    return rows


@require_http_methods(["GET", "POST"])
@staff_view
def patient_edit(request: ClinicRequest, public_id: str) -> HttpResponse:
    is_post = request.method == "POST"
    access = load(request, public_id, Perm.EDIT_DEMOGRAPHICS, audit_as=None if is_post else "view")
    patient = access.patient
    form = PatientForm(request.POST or None, instance=Patient.objects.get(pk=patient.pk))
    if is_post:
        if form.is_valid():
            actions.update_demographics(patient=patient, data=form.cleaned_data,
                                        actor=actor_from_request(request))
            return redirect("patients:chart", public_id=patient.public_id)
        _audit_rejected(request, patient, "patient", form.errors.as_json())
    return render(request, "patients/form.html",
                  {"form": form, "patient": patient, "title": f"Edit {patient.full_name}"},
                  status=422 if form.errors else 200)


def _audit_rejected(request: ClinicRequest, patient: Patient, object_type: str, detail: str) -> None:
    """An invalid submission changed nothing, but the attempt is still on the record."""
    record(actor_from_request(request), action=AuditEvent.Action.UPDATE, object_type=object_type,
           object_id=str(patient.public_id), clinic_id=str(patient.clinic.public_id),
           patient_id=str(patient.public_id), detail=f"rejected: {detail}"[:500])


def _clinical_form_view(
    request: ClinicRequest,
    public_id: str,
    *,
    object_type: str,
    title: str,
    make_form: Callable[[Patient, Any], Any],
    save: Callable[[Patient, Any], object],
    perm: Perm = Perm.EDIT_CLINICAL,
) -> HttpResponse:
    """GET shows the form (audited as a read), POST saves through one action or answers 422."""
    is_post = request.method == "POST"
    access = load(request, public_id, perm, audit_as=None if is_post else "view",
                  object_type=object_type)
    patient = access.patient
    form = make_form(patient, request.POST if is_post else None)
    if is_post:
        if form.is_valid():
            try:
                save(patient, form)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("patients:chart", public_id=patient.public_id)
        _audit_rejected(request, patient, object_type, form.errors.as_json())
    return render(request, "patients/clinical_form.html",
                  {"form": form, "patient": patient, "title": title},
                  status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@staff_view
def history_edit(request: ClinicRequest, public_id: str) -> HttpResponse:
    def make_form(patient: Patient, data: Any) -> HistoryForm:
        current = actions.current_history(patient)
        initial = current.values() if current else {}
        return HistoryForm(data, initial=initial)

    def save(patient: Patient, form: HistoryForm) -> object:
        return actions.record_history(patient=patient, values=form.cleaned_data,
                                      by=request.user, actor=actor_from_request(request))

    return _clinical_form_view(request, public_id, object_type="medical_history",
                               title="Medical history", make_form=make_form, save=save)


@require_http_methods(["GET", "POST"])
@staff_view
def medication_add(request: ClinicRequest, public_id: str) -> HttpResponse:
    return _clinical_form_view(
        request, public_id, object_type="medication", title="Add a medication",
        make_form=lambda p, d: MedicationForm(d),
        save=lambda p, f: actions.add_medication(patient=p, data=f.cleaned_data, by=request.user,
                                                 actor=actor_from_request(request)),
    )


@require_http_methods(["GET", "POST"])
@staff_view
def medication_stop(request: ClinicRequest, public_id: str, medication_id: str) -> HttpResponse:
    def save(patient: Patient, form: StopMedicationForm) -> object:
        medication = patient.medications.current().filter(public_id=medication_id).first()
        if medication is None:
            raise Http404("No such medication")
        return actions.stop_medication(medication=medication,
                                       last_dose_on=form.cleaned_data["last_dose_on"],
                                       actor=actor_from_request(request))

    return _clinical_form_view(request, public_id, object_type="medication",
                               title="Record the last dose", make_form=lambda p, d: StopMedicationForm(d),
                               save=save)


@require_http_methods(["GET", "POST"])
@staff_view
def entry_retract(request: ClinicRequest, public_id: str, kind: str, entry_id: str) -> HttpResponse:
    """Withdraw a medication or allergy entered in error (with a reason; kept on record)."""
    def save(patient: Patient, form: RetractForm) -> object:
        entries = patient.medications if kind == "medication" else patient.allergies
        entry = entries.current().filter(public_id=entry_id).first()
        if entry is None:
            raise Http404("No such entry")
        return actions.retract_entry(entry=entry, reason=form.cleaned_data["reason"],
                                     by=request.user, actor=actor_from_request(request))

    title = "Withdraw a medication" if kind == "medication" else "Withdraw an allergy"
    return _clinical_form_view(request, public_id, object_type=kind, title=title,
                               make_form=lambda p, d: RetractForm(d), save=save)


@require_http_methods(["GET", "POST"])
@staff_view
def allergy_add(request: ClinicRequest, public_id: str) -> HttpResponse:
    return _clinical_form_view(
        request, public_id, object_type="allergy", title="Add an allergy",
        make_form=lambda p, d: AllergyForm(d),
        save=lambda p, f: actions.add_allergy(patient=p, data=f.cleaned_data, by=request.user,
                                              actor=actor_from_request(request)),
    )


@require_http_methods(["GET", "POST"])
@staff_view
def lab_add(request: ClinicRequest, public_id: str) -> HttpResponse:
    return _clinical_form_view(
        request, public_id, object_type="lab_result", title="Add a test result",
        make_form=lambda p, d: LabResultForm(d),
        save=lambda p, f: actions.add_lab_result(patient=p, data=f.cleaned_data, by=request.user,
                                                 actor=actor_from_request(request)),
    )


@require_http_methods(["GET", "POST"])
@staff_view
def workup_edit(request: ClinicRequest, public_id: str) -> HttpResponse:
    return _clinical_form_view(
        request, public_id, object_type="workup", title="Workup",
        make_form=lambda p, d: WorkupForm(d, instance=Workup.objects.filter(patient=p).first()),
        save=lambda p, f: actions.update_workup(patient=p, data=f.cleaned_data,
                                                actor=actor_from_request(request)),
    )


@require_POST
@staff_view
def workup_sign_off(request: ClinicRequest, public_id: str) -> HttpResponse:
    access = load(request, public_id, Perm.SIGN_OFF_WORKUP, audit_as=None, object_type="workup")
    actions.sign_off_workup(patient=access.patient, by=request.user, actor=actor_from_request(request))
    return redirect("patients:chart", public_id=access.patient.public_id)


@require_GET
@staff_view
def other_clinics(request: ClinicRequest) -> HttpResponse:
    """Physicians may find a patient of a sister clinic (name, birth date, clinic only)."""
    clinic = _require(request, Perm.BREAK_GLASS)
    query = request.GET.get("q", "").strip()[:100]
    rows: list[Patient] = []
    if query:
        rows = list(
            Patient.objects.filter(clinic__organisation_id=clinic.organisation_id)
            .exclude(clinic__memberships__user=request.user)
            .matching(query)
            .select_related("clinic")[:LIST_LIMIT]
        )
        record(actor_from_request(request), action=AuditEvent.Action.SEARCH, object_type="patient",
               clinic_id=str(clinic.public_id), break_glass=True,
               detail=f"sister clinics q={query!r} results={len(rows)}")
    return render(request, "patients/other_clinics.html", {"patients": rows, "q": query})


@require_http_methods(["GET", "POST"])
@staff_view
def break_glass(request: ClinicRequest, public_id: str) -> HttpResponse:
    clinic = _require(request, Perm.BREAK_GLASS)
    patient = (
        Patient.objects.filter(public_id=public_id, clinic__organisation_id=clinic.organisation_id)
        .select_related("clinic")
        .first()
    )
    if patient is None or not principal(request).can_break_glass(patient.clinic):
        # Denials are audited like every other (issue 2), yet answer as if nobody were there.
        record(actor_from_request(request), action=AuditEvent.Action.BREAK_GLASS,
               object_type="patient", object_id=str(public_id)[:64],
               outcome=AuditEvent.Outcome.DENIED, detail="no sister-clinic patient")
        raise Http404("No such patient")
    if request.user.roles_in(patient.clinic):
        # Their own clinic's patient: normal access applies, no emergency grant or flag.
        return redirect("patients:chart", public_id=patient.public_id)
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.break_glass(patient=patient, by=request.user, reason=form.cleaned_data["reason"],
                            actor=actor_from_request(request))
        return redirect("patients:chart", public_id=patient.public_id)
    # The form shows the patient's name and birth date: that read is audited too.
    record(actor_from_request(request), action=AuditEvent.Action.VIEW, object_type="patient",
           object_id=str(patient.public_id), clinic_id=str(patient.clinic.public_id),
           patient_id=str(patient.public_id), detail="break-glass request form")
    return render(request, "patients/break_glass.html", {"form": form, "patient": patient},
                  status=422 if form.errors else 200)
