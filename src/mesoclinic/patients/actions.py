"""Every change to a patient record: one transaction, one audit event, one verb each."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.kernel.versions import Change, StaleEdit, stale_detail
from mesoclinic.lib.constraints import save_checked
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


def _refuse_stale(actor: Actor, patient: Patient, *, object_type: ObjectType, object_id: str,
                  based_on: int, current: int, since: list[Change]) -> StaleEdit:
    """Audit a stale edit (in the caller's transaction, which must commit) and describe it."""
    record(actor, action=AuditEvent.Action.UPDATE, object_type=object_type, object_id=object_id,
           outcome=AuditEvent.Outcome.DENIED, detail=stale_detail(based_on, current),
           **_event_ids(patient))
    return StaleEdit(based_on=based_on, current=current, changes=since)


def _changes_in_trail(*, object_type: str, object_id: str, based_on: int,
                      now: dict[str, Any]) -> list[Change]:
    """What changed after version `based_on`, from the audit events that bumped the version."""
    events = AuditEvent.objects.filter(
        object_type=object_type, object_id=object_id, action=AuditEvent.Action.UPDATE,
        outcome=AuditEvent.Outcome.ALLOWED,
    ).order_by("-seq")[:200]
    newest: dict[str, Change] = {}
    for event in events:
        version = (event.changes or {}).get("version")
        if not isinstance(version, list) or len(version) != 2 or not isinstance(version[1], int):
            continue
        if version[1] <= based_on:
            break
        for name in event.changes:
            if name != "version" and name in now and name not in newest:
                newest[name] = Change(field=name, value=now[name], by=_who(event), at=event.at)
    return sorted(newest.values(), key=lambda c: c.at)


def _who(event: AuditEvent) -> str:
    user = User.objects.filter(public_id=event.user_id).first() if event.user_id else None
    return str(user) if user is not None else event.username or event.via


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
        save_checked(patient, force_insert=True)
        record(actor, action=AuditEvent.Action.CREATE, object_type="patient",
               object_id=str(patient.public_id),
               changes={k: [None, _plain(getattr(patient, k))] for k in DEMOGRAPHIC_FIELDS},
               detail="registered despite possible duplicates "
                      + ",".join(str(m.public_id) for m in matches) if matches else "",
               **_event_ids(patient))
    return patient


def update_demographics(
    *, patient: Patient, data: dict[str, Any], actor: Actor, based_on: int | None = None
) -> list[str]:
    """Change a patient's demographics; returns the names of the fields that changed.

    `based_on` is the version the edit was made from (edit forms and the API pass it); when
    another change came first, StaleEdit is raised, the refusal audited and nothing saved.
    """
    stale: StaleEdit | None = None
    with transaction.atomic():
        locked = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
        if based_on is not None and based_on != locked.version:
            stale = _refuse_stale(
                actor, locked, object_type="patient", object_id=str(locked.public_id),
                based_on=based_on, current=locked.version,
                since=_changes_in_trail(object_type="patient", object_id=str(locked.public_id),
                                        based_on=based_on,
                                        now={k: getattr(locked, k) for k in DEMOGRAPHIC_FIELDS}),
            )
            changes: dict[str, list[Any]] = {}
        else:
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
            changes["version"] = [locked.version, locked.version + 1]
            locked.version += 1
            save_checked(locked, update_fields=[*changes, "updated_at"])
            record(actor, action=AuditEvent.Action.UPDATE, object_type="patient",
                   object_id=str(locked.public_id), changes=changes, **_event_ids(locked))
    if stale is not None:
        raise stale
    for name in changes:
        setattr(patient, name, getattr(locked, name))
    patient.updated_at = locked.updated_at  # the caller's instance is current: no re-read needed
    patient.refresh_search_keys()
    return [name for name in changes if name != "version"]


def current_history(patient: Patient) -> MedicalHistory | None:
    """The latest version of the structured history, or None when never recorded."""
    return patient.histories.order_by("-version").first()


def _history_changes_since(patient: Patient, based_on: int) -> list[Change]:
    """For each field changed after version `based_on`: its value now, who changed it, when."""
    versions = list(patient.histories.filter(version__gte=based_on)
                    .select_related("recorded_by").order_by("version"))
    if not versions:
        return []
    before = versions[0].values() if versions[0].version == based_on else {}
    current = versions[-1].values()
    newest: dict[str, Change] = {}
    for version in versions:
        if version.version <= based_on:
            continue
        for name, value in version.values().items():
            if value != before.get(name):
                newest[name] = Change(field=name, value=current[name], by=str(version.recorded_by),
                                      at=version.recorded_at)
        before = version.values()
    return sorted(newest.values(), key=lambda c: c.at)


def record_history(
    *, patient: Patient, values: dict[str, str], by: User, actor: Actor,
    based_on: int | None = None,
) -> MedicalHistory | None:
    """Record the history; adds a version only when a value changed (earlier ones are kept).

    `based_on` is the version the form showed (0: none yet); a later one raises StaleEdit.
    """
    with transaction.atomic():
        # Lock the patient so two clinicians editing at once get versions N and N+1, and the
        # second one's `based_on` is compared with what the first one saved.
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        outcome = _record_history_locked(patient, values, by, actor, based_on)
    if isinstance(outcome, StaleEdit):
        raise outcome
    return outcome


def _record_history_locked(
    patient: Patient, values: dict[str, str], by: User, actor: Actor, based_on: int | None
) -> MedicalHistory | StaleEdit | None:
    previous = current_history(patient)
    current = previous.version if previous else 0
    if based_on is not None and based_on != current:
        # Returned, not raised: the refusal's audit event must commit.
        return _refuse_stale(actor, patient, object_type="medical_history",
                             object_id=str(current), based_on=based_on, current=current,
                             since=_history_changes_since(patient, based_on))
    old = previous.values() if previous else {}
    changes = {
        k: [old.get(k), v]
        for k, v in values.items()
        if k in MedicalHistory.CLINICAL_FIELDS and old.get(k) != v
    }
    if not changes:
        record(actor, action=AuditEvent.Action.UPDATE, object_type="medical_history",
               object_id=str(current), detail="no change", **_event_ids(patient))
        return previous
    version = current + 1
    merged = {**old, **{k: v for k, v in values.items() if k in MedicalHistory.CLINICAL_FIELDS}}
    history = MedicalHistory(patient=patient, version=version, recorded_by=by, **merged)
    save_checked(history, force_insert=True)
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
        save_checked(medication, force_insert=True)
        record(actor, action=AuditEvent.Action.CREATE, object_type="medication",
               object_id=str(medication.public_id),
               changes={k: [None, _plain(v)] for k, v in data.items()}, **_event_ids(patient))
        _rescreen(patient, "medications", by, actor)
    return medication


def code_medication(
    *, medication: Medication, atc_code: str, by: User, actor: Actor
) -> Medication:
    """A physician codes a medicine the catalogue could not resolve: its name stays as typed."""
    with transaction.atomic():
        locked = Medication.objects.select_for_update().get(pk=medication.pk)
        old = locked.atc_code
        locked.atc_code = atc_code.strip().upper()
        locked.full_clean()
        locked.save(update_fields=["atc_code"])
        record(actor, action=AuditEvent.Action.UPDATE, object_type="medication",
               object_id=str(locked.public_id), changes={"atc_code": [old, locked.atc_code]},
               detail="medicine coded", **_event_ids(locked.patient))
        _rescreen(locked.patient, "medications", by, actor)
    return locked


def stop_medication(
    *, medication: Medication, last_dose_on: date, actor: Actor
) -> Medication:
    """Record the day of the last dose of a medication."""
    if medication.started_on is not None and last_dose_on < medication.started_on:
        raise ValidationError({"last_dose_on": gettext("The last dose cannot be before the start.")})
    with transaction.atomic():
        old = medication.last_dose_on
        medication.last_dose_on = last_dose_on
        save_checked(medication, update_fields=["last_dose_on"])
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
        raise ValidationError({"reason": gettext("Say why in at least 5 characters.")})
    kind: ObjectType = "medication" if isinstance(entry, Medication) else "allergy"
    with transaction.atomic():
        locked = type(entry).objects.select_for_update().get(pk=entry.pk)
        if locked.retracted_at is not None:
            raise ValidationError({"reason": gettext("This entry was already withdrawn.")})
        fields = (["name", "atc_code", "dose", "started_on", "last_dose_on"]
                  if kind == "medication" else ["substance", "reaction", "severity"])
        locked.retracted_at = timezone.now()
        locked.retracted_by = by
        locked.retraction_reason = reason[:500]
        save_checked(locked, update_fields=["retracted_at", "retracted_by", "retraction_reason"])
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
        save_checked(allergy, force_insert=True)
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
        save_checked(result, force_insert=True)
        record(actor, action=AuditEvent.Action.CREATE, object_type="lab_result",
               object_id=str(result.public_id),
               changes={k: [None, _plain(v)] for k, v in data.items()}, **_event_ids(patient))
    return result


def _locked_workup(patient: Patient) -> Workup:
    """The patient's workup, locked; lock order patient then workup, so two first edits at once
    cannot both create it."""
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    workup = Workup.objects.select_for_update().filter(patient=patient).first()
    # version 0 until first saved: a form opened before the workup existed is based on 0.
    return workup if workup is not None else Workup(patient=patient, version=0)


def update_workup(
    *, patient: Patient, data: dict[str, Any], actor: Actor, based_on: int | None = None
) -> Workup:
    """Record the examination and history review; any change clears an earlier sign-off.

    `based_on` is the version the form showed (0: no workup yet); a later one raises StaleEdit.
    """
    stale: StaleEdit | None = None
    with transaction.atomic():
        workup = _locked_workup(patient)
        if based_on is not None and based_on != workup.version:
            stale = _refuse_stale(
                actor, patient, object_type="workup", object_id=str(patient.public_id),
                based_on=based_on, current=workup.version,
                since=_changes_in_trail(
                    object_type="workup", object_id=str(patient.public_id), based_on=based_on,
                    now={f: getattr(workup, f) for f in (*data, "signed_off_at")}),
            )
        else:
            changes = {k: [_plain(getattr(workup, k)), _plain(v)] for k, v in data.items()
                       if getattr(workup, k) != v}
            for name, value in data.items():
                setattr(workup, name, value)
            if changes and workup.signed_off_at is not None:
                # A signed-off workup that changes must be signed again.
                changes["signed_off_at"] = [_plain(workup.signed_off_at), None]
                workup.signed_off_by = None
                workup.signed_off_at = None
            if changes:
                changes["version"] = [workup.version, workup.version + 1]
            if changes or workup.pk is None:
                workup.version += 1
            save_checked(workup)
            record(actor, action=AuditEvent.Action.UPDATE, object_type="workup",
                   object_id=str(patient.public_id), changes=changes,
                   detail="" if changes else "no change", **_event_ids(patient))
    if stale is not None:
        raise stale
    return workup


def sign_off_workup(
    *, patient: Patient, by: User, actor: Actor, based_on: int | None = None
) -> Workup:
    """A physician signs off the workup (as shown to them: `based_on`, else the current one)."""
    stale: StaleEdit | None = None
    with transaction.atomic():
        workup = _locked_workup(patient)
        if based_on is not None and based_on != workup.version:
            stale = _refuse_stale(
                actor, patient, object_type="workup", object_id=str(patient.public_id),
                based_on=based_on, current=workup.version,
                since=_changes_in_trail(
                    object_type="workup", object_id=str(patient.public_id), based_on=based_on,
                    now={f: getattr(workup, f) for f in (
                        "physical_exam_on", "physical_exam_note", "history_reviewed_on")}),
            )
        else:
            workup.signed_off_by = by
            workup.signed_off_at = timezone.now()
            version = [workup.version, workup.version + 1]
            workup.version += 1
            save_checked(workup)
            record(actor, action=AuditEvent.Action.UPDATE, object_type="workup",
                   object_id=str(patient.public_id),
                   changes={"signed_off_by": [None, by.get_username()], "version": version},
                   detail="signed off", **_event_ids(patient))
    if stale is not None:
        raise stale
    return workup


def break_glass(*, patient: Patient, by: User, reason: str, actor: Actor) -> BreakGlassGrant:
    """Open a sister clinic's patient for a few hours; flagged for the auditor."""
    reason = reason.strip()
    if len(reason) < 10:
        raise ValueError("reason: say why in at least 10 characters")
    with transaction.atomic():
        now = timezone.now()
        grant = BreakGlassGrant(user=by, patient=patient, reason=reason[:500], granted_at=now,
                                expires_at=now + timedelta(hours=BREAK_GLASS_HOURS))
        save_checked(grant, force_insert=True)
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
