"""Every change to a patient record: one transaction, one audit event, one verb each."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.patients import changes, duplicates
from mesoclinic.patients.models import (
    Allergy,
    AllergyStatement,
    BreakGlassGrant,
    LabResult,
    MedicalHistory,
    Medication,
    Patient,
    Workup,
)

DEMOGRAPHIC_FIELDS = (
    "given_name", "family_name", "birth_date", "sex", "phone", "email", "address", "national_id",
    "emergency_contact_name", "emergency_contact_phone", "preferred_language",
)
BREAK_GLASS_HOURS = 4


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _event_ids(patient: Patient) -> dict[str, Any]:
    return {"clinic_id": str(patient.clinic.public_id), "patient_id": str(patient.public_id)}


def _rescreen(patient: Patient, what: str, by: User | None, actor: Actor) -> None:
    """A patient may become pregnant or start aspirin between sessions: screen again at once."""
    changes.record_changed(patient=patient, what=what, by=by, actor=actor)


class PossibleDuplicate(Exception):
    """The patient may be registered already; `matches` are the candidates (confirm to go on)."""

    def __init__(self, matches: list[Patient]) -> None:
        super().__init__(f"{len(matches)} possible duplicate(s)")
        self.matches = matches


def register_patient(*, clinic: Clinic, data: dict[str, Any], actor: Actor,
                     confirm_new: bool = False) -> Patient:
    """Register a new patient at a clinic; unless `confirm_new`, refuse with PossibleDuplicate
    when one with the same name and birth date, or the same phone, is registered already."""
    matches = duplicates.possible_duplicates(
        clinic, given_name=data.get("given_name", ""), family_name=data.get("family_name", ""),
        birth_date=data.get("birth_date"), phone=data.get("phone", ""))
    if matches and not confirm_new:
        raise PossibleDuplicate(matches)
    with transaction.atomic():
        patient = Patient(clinic=clinic, **{k: data[k] for k in DEMOGRAPHIC_FIELDS if k in data})
        patient.full_clean()
        patient.save(force_insert=True)
        record(actor, action=AuditEvent.Action.CREATE, object_type="patient",
               object_id=str(patient.public_id),
               changes={k: [None, _plain(getattr(patient, k))] for k in DEMOGRAPHIC_FIELDS},
               detail="registered despite possible duplicates "
                      + ",".join(str(m.public_id) for m in matches) if matches else "",
               **_event_ids(patient))
    return patient


def update_demographics(*, patient: Patient, data: dict[str, Any], actor: Actor) -> list[str]:
    """Change a patient's demographics; returns the names of the fields that changed."""
    with transaction.atomic():
        locked = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
        changes = {
            k: [_plain(getattr(locked, k)), _plain(v)]
            for k, v in data.items()
            if k in DEMOGRAPHIC_FIELDS and getattr(locked, k) != v
        }
        if not changes:
            record(actor, action=AuditEvent.Action.UPDATE, object_type="patient",
                   object_id=str(locked.public_id), detail="no change", **_event_ids(locked))
            return []
        for name in changes:
            setattr(locked, name, data[name])
        locked.full_clean()
        locked.save(update_fields=[*changes, "updated_at"])
        record(actor, action=AuditEvent.Action.UPDATE, object_type="patient",
               object_id=str(locked.public_id), changes=changes, **_event_ids(locked))
    for name in changes:
        setattr(patient, name, data[name])
    patient.refresh_search_keys()
    return list(changes)


def current_history(patient: Patient) -> MedicalHistory | None:
    """The latest version of the structured history, or None when never recorded."""
    return patient.histories.order_by("-version").first()


def record_history(
    *, patient: Patient, values: dict[str, str], by: User, actor: Actor
) -> MedicalHistory | None:
    """Record the history; adds a version only when a value changed (earlier ones are kept)."""
    with transaction.atomic():
        # Lock the patient so two clinicians editing at once get versions N and N+1.
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        previous = current_history(patient)
        old = previous.values() if previous else {}
        changes = {
            k: [old.get(k), v]
            for k, v in values.items()
            if k in MedicalHistory.CLINICAL_FIELDS and old.get(k) != v
        }
        if not changes:
            record(actor, action=AuditEvent.Action.UPDATE, object_type="medical_history",
                   object_id=str(previous.version if previous else 0), detail="no change",
                   **_event_ids(patient))
            return previous
        version = (patient.histories.aggregate(v=Max("version"))["v"] or 0) + 1
        merged = {**old, **{k: v for k, v in values.items() if k in MedicalHistory.CLINICAL_FIELDS}}
        history = MedicalHistory(patient=patient, version=version, recorded_by=by, **merged)
        history.full_clean()
        history.save(force_insert=True)
        record(actor, action=AuditEvent.Action.UPDATE, object_type="medical_history",
               object_id=str(version), changes=changes, **_event_ids(patient))
        _rescreen(patient, "medical history", by, actor)
    return history


def field_provenance(patient: Patient) -> dict[str, MedicalHistory]:
    """For each history field, the version where its current value was first recorded."""
    versions = list(patient.histories.select_related("recorded_by").order_by("version"))
    since: dict[str, MedicalHistory] = {}
    previous: dict[str, str] = {}
    for version in versions:
        for name, value in version.values().items():
            if name not in since or previous.get(name) != value:
                since[name] = version
            previous[name] = value
    return since


def add_medication(*, patient: Patient, data: dict[str, Any], by: User, actor: Actor) -> Medication:
    """Add a medication to the patient's list."""
    with transaction.atomic():
        medication = Medication(patient=patient, recorded_by=by, **data)
        medication.full_clean()
        medication.save(force_insert=True)
        record(actor, action=AuditEvent.Action.CREATE, object_type="medication",
               object_id=str(medication.public_id),
               changes={k: [None, _plain(v)] for k, v in data.items()}, **_event_ids(patient))
        _rescreen(patient, "medications", by, actor)
    return medication


def stop_medication(
    *, medication: Medication, last_dose_on: date, actor: Actor
) -> Medication:
    """Record the day of the last dose of a medication."""
    if medication.started_on is not None and last_dose_on < medication.started_on:
        raise ValidationError({"last_dose_on": "The last dose cannot be before the start."})
    with transaction.atomic():
        old = medication.last_dose_on
        medication.last_dose_on = last_dose_on
        medication.full_clean()
        medication.save(update_fields=["last_dose_on"])
        record(actor, action=AuditEvent.Action.UPDATE, object_type="medication",
               object_id=str(medication.public_id),
               changes={"last_dose_on": [_plain(old), _plain(last_dose_on)]},
               **_event_ids(medication.patient))
        _rescreen(medication.patient, "medications", None, actor)
    return medication


def retract_entry(
    *, entry: Medication | Allergy, reason: str, by: User, actor: Actor
) -> Medication | Allergy:
    """Withdraw a medication or allergy entered in error; it stays on record, out of use."""
    reason = reason.strip()
    if len(reason) < 5:
        raise ValidationError({"reason": "Say why in at least 5 characters."})
    kind: ObjectType = "medication" if isinstance(entry, Medication) else "allergy"
    with transaction.atomic():
        locked = type(entry).objects.select_for_update().get(pk=entry.pk)
        if locked.retracted_at is not None:
            raise ValidationError({"reason": "This entry was already withdrawn."})
        fields = (["name", "atc_code", "dose", "started_on", "last_dose_on"]
                  if kind == "medication" else ["substance", "reaction", "severity"])
        locked.retracted_at = timezone.now()
        locked.retracted_by = by
        locked.retraction_reason = reason[:500]
        locked.save(update_fields=["retracted_at", "retracted_by", "retraction_reason"])
        record(actor, action=AuditEvent.Action.DELETE, object_type=kind,
               object_id=str(locked.public_id),
               changes={f: [_plain(getattr(locked, f)), None] for f in fields},
               detail=f"entered in error: {reason}", **_event_ids(locked.patient))
        _rescreen(locked.patient, "medications" if kind == "medication" else "allergies", by, actor)
    return locked


def add_allergy(*, patient: Patient, data: dict[str, Any], by: User, actor: Actor) -> Allergy:
    """Add a known allergy."""
    with transaction.atomic():
        allergy = Allergy(patient=patient, recorded_by=by, **data)
        allergy.full_clean()
        allergy.save(force_insert=True)
        # A known allergy ends an earlier "no known allergies" (kept on record, cleared).
        AllergyStatement.objects.filter(patient=patient, cleared_at__isnull=True).update(
            cleared_at=allergy.recorded_at)
        record(actor, action=AuditEvent.Action.CREATE, object_type="allergy",
               object_id=str(allergy.public_id),
               changes={k: [None, _plain(v)] for k, v in data.items()}, **_event_ids(patient))
        _rescreen(patient, "allergies", by, actor)
    return allergy


def add_lab_result(
    *, patient: Patient, data: dict[str, Any], by: User, actor: Actor
) -> LabResult:
    """Record a blood or urine test result."""
    with transaction.atomic():
        result = LabResult(patient=patient, recorded_by=by, **data)
        result.full_clean()
        result.save(force_insert=True)
        record(actor, action=AuditEvent.Action.CREATE, object_type="lab_result",
               object_id=str(result.public_id),
               changes={k: [None, _plain(v)] for k, v in data.items()}, **_event_ids(patient))
    return result


def update_workup(*, patient: Patient, data: dict[str, Any], actor: Actor) -> Workup:
    """Record the examination and history review; any change clears an earlier sign-off."""
    with transaction.atomic():
        workup, _ = Workup.objects.select_for_update().get_or_create(patient=patient)
        changes = {k: [_plain(getattr(workup, k)), _plain(v)] for k, v in data.items()
                   if getattr(workup, k) != v}
        for name, value in data.items():
            setattr(workup, name, value)
        if changes and workup.signed_off_at is not None:
            # A signed-off workup that changes must be signed again.
            changes["signed_off_at"] = [_plain(workup.signed_off_at), None]
            workup.signed_off_by = None
            workup.signed_off_at = None
        workup.full_clean()
        workup.save()
        record(actor, action=AuditEvent.Action.UPDATE, object_type="workup",
               object_id=str(patient.public_id), changes=changes,
               detail="" if changes else "no change", **_event_ids(patient))
    return workup


def sign_off_workup(*, patient: Patient, by: User, actor: Actor) -> Workup:
    """A physician signs off the workup."""
    with transaction.atomic():
        workup, _ = Workup.objects.select_for_update().get_or_create(patient=patient)
        workup.signed_off_by = by
        workup.signed_off_at = timezone.now()
        workup.save(update_fields=["signed_off_by", "signed_off_at", "updated_at"])
        record(actor, action=AuditEvent.Action.UPDATE, object_type="workup",
               object_id=str(patient.public_id),
               changes={"signed_off_by": [None, by.get_username()]}, detail="signed off",
               **_event_ids(patient))
    return workup


def break_glass(*, patient: Patient, by: User, reason: str, actor: Actor) -> BreakGlassGrant:
    """Open a sister clinic's patient for a few hours; flagged for the auditor."""
    reason = reason.strip()
    if len(reason) < 10:
        raise ValueError("reason: say why in at least 10 characters")
    with transaction.atomic():
        grant = BreakGlassGrant.objects.create(
            user=by, patient=patient, reason=reason[:500],
            expires_at=timezone.now() + timedelta(hours=BREAK_GLASS_HOURS),
        )
        record(actor, action=AuditEvent.Action.BREAK_GLASS, object_type="patient",
               object_id=str(patient.public_id), detail=reason, break_glass=True,
               **_event_ids(patient))
    return grant


def no_known_allergies(patient: Patient) -> AllergyStatement | None:
    """The "no known allergies" statement in force, or None (not asked, or allergies known)."""
    return (AllergyStatement.objects.filter(patient=patient, cleared_at__isnull=True)
            .select_related("stated_by").first())


def state_no_known_allergies(*, patient: Patient, by: User, actor: Actor) -> AllergyStatement:
    """Record that the patient was asked and has no known allergies (asking again renews it)."""
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        if patient.allergies.current().exists():
            raise ValidationError(gettext("This patient has allergies on record: withdraw "
                                          "those entered in error first."))
        now = timezone.now()
        AllergyStatement.objects.filter(patient=patient, cleared_at__isnull=True).update(
            cleared_at=now)
        statement = AllergyStatement.objects.create(patient=patient, stated_by=by, stated_at=now)
        record(actor, action=AuditEvent.Action.CREATE, object_type="allergy",
               object_id=f"none-known-{statement.pk}", changes={"no_known_allergies": [None, True]},
               detail="no known allergies (asked)", **_event_ids(patient))
    return statement
