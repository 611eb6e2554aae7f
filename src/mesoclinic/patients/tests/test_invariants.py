"""The database holds the clinical record's rules for every writer, forms and actions bypassed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from mesoclinic.audit.log import Actor
from mesoclinic.knowledge.models import KnowledgeRevision
from mesoclinic.lib.constraints import save_checked
from mesoclinic.patients import actions
from mesoclinic.patients.models import (
    Allergy,
    BreakGlassGrant,
    LabResult,
    MedicalHistory,
    Medication,
    Patient,
    Workup,
)
from mesoclinic.screening.models import FindingAcceptance, Screening

ACTOR = Actor(username="test", via="cli")


def _medication(cast: Any, **fields: Any) -> Medication:
    return Medication(**{"patient": cast.patient, "name": "Aspirin", "recorded_by": cast.physician}
                      | fields)


def _allergy(cast: Any, **fields: Any) -> Allergy:
    return Allergy(**{"patient": cast.patient, "substance": "Lidocaine",
                      "recorded_by": cast.physician} | fields)


def _screening(cast: Any, **fields: Any) -> Screening:
    values = {"patient": cast.patient, "clinic": cast.clinic, "input": {}, "output": {},
              "decision": "eligible", "rules_version": "test"} | fields
    return Screening(**values)


NOW = timezone.now()

# rule → a row that breaks it, built from the cast
BAD_ROWS: dict[str, Any] = {
    "medication_withdrawal_complete (no reason)": lambda c: _medication(
        c, retracted_at=NOW, retracted_by=c.physician, retraction_reason=""),
    "medication_withdrawal_complete (no who)": lambda c: _medication(
        c, retracted_at=NOW, retraction_reason="entered in error"),
    "medication_withdrawal_complete (reason without withdrawal)": lambda c: _medication(
        c, retraction_reason="entered in error"),
    "allergy_withdrawal_complete (no reason)": lambda c: _allergy(
        c, retracted_at=NOW, retracted_by=c.physician),
    "allergy_withdrawal_complete (who without when)": lambda c: _allergy(
        c, retracted_by=c.physician, retraction_reason="entered in error"),
    "medication_dose_dates_in_order": lambda c: _medication(
        c, started_on=date(2025, 3, 2), last_dose_on=date(2025, 3, 1)),
    "medication_dates_from_1900": lambda c: _medication(c, started_on=date(1899, 12, 31)),
    "medication_named": lambda c: Medication(patient=c.patient, name="", recorded_by=c.physician),
    "allergy_substance_named": lambda c: _allergy(c, substance=""),
    "allergy_severity_known": lambda c: _allergy(c, severity="deadly"),
    "breakglass_expires_after_start": lambda c: BreakGlassGrant(
        user=c.sister_physician, patient=c.patient, reason="Emergency at the sister clinic",
        granted_at=NOW, expires_at=NOW - timedelta(seconds=1)),
    "breakglass_reason_given": lambda c: BreakGlassGrant(
        user=c.sister_physician, patient=c.patient, reason="", granted_at=NOW,
        expires_at=NOW + timedelta(hours=1)),
    "history_version_from_1": lambda c: MedicalHistory(patient=c.patient, version=0,
                                                       recorded_by=c.physician),
    "history_unique_version": lambda c: MedicalHistory(patient=c.patient, version=1,
                                                       recorded_by=c.physician),
    "history_answers_known": lambda c: MedicalHistory(patient=c.patient, version=2,
                                                      recorded_by=c.physician, pregnant="maybe"),
    "lab_taken_from_1900": lambda c: LabResult(patient=c.patient, kind="blood",
                                               taken_on=date(1899, 12, 31), values="Hb 13",
                                               recorded_by=c.physician),
    "lab_kind_known": lambda c: LabResult(patient=c.patient, kind="saliva",
                                          taken_on=date(2025, 1, 1), values="x",
                                          recorded_by=c.physician),
    "workup_sign_off_complete": lambda c: Workup(patient=c.patient, signed_off_by=c.physician),
    "workup_dates_from_1900": lambda c: Workup(patient=c.patient, physical_exam_on=date(1850, 1, 1)),
    "workup_version_from_1": lambda c: Workup(patient=c.patient, version=0),
    "patient_born_from_1900": lambda c: Patient(clinic=c.clinic, given_name="Old", family_name="Timer",
                                                birth_date=date(1899, 12, 31), sex="female"),
    "patient_sex_known": lambda c: Patient(clinic=c.clinic, given_name="A", family_name="B",
                                           birth_date=date(1990, 1, 1), sex="x"),
    "patient_named": lambda c: Patient(clinic=c.clinic, given_name="", family_name="B",
                                       birth_date=date(1990, 1, 1), sex="male"),
    "patient_version_from_1": lambda c: Patient(clinic=c.clinic, given_name="A", family_name="B",
                                                birth_date=date(1990, 1, 1), sex="male", version=0),
    "screening_decision_known": lambda c: _screening(c, decision="probably"),
    "screening_trigger_known": lambda c: _screening(c, trigger="whim"),
    "knowledge_revision_from_1": lambda c: KnowledgeRevision(number=0, version="0.0.0", documents={}),
}


@pytest.mark.parametrize("rule", list(BAD_ROWS))
def test_the_database_refuses_a_row_that_breaks_a_rule(cast, rule) -> None:
    row = BAD_ROWS[rule](cast)
    model = type(row)
    before = model.objects.count()
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        row.save()
    assert rule.split(" ")[0] in str(caught.value) or "UNIQUE constraint failed" in str(caught.value)
    assert model.objects.count() == before


def test_a_withdrawal_cannot_be_emptied_by_an_update(cast) -> None:
    medication = _medication(cast)
    medication.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        Medication.objects.filter(pk=medication.pk).update(retracted_at=NOW)
    assert Medication.objects.get(pk=medication.pk).retracted_at is None


def test_an_acceptance_needs_a_reason_and_is_given_once(cast) -> None:
    screening = _screening(cast)
    screening.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        FindingAcceptance.objects.create(screening=screening, code="F-X", reason="",
                                         accepted_by=cast.physician)
    FindingAcceptance.objects.create(screening=screening, code="F-X", reason="Reviewed it",
                                     accepted_by=cast.physician)
    with pytest.raises(IntegrityError), transaction.atomic():
        FindingAcceptance.objects.create(screening=screening, code="F-X", reason="Again",
                                         accepted_by=cast.physician)
    assert FindingAcceptance.objects.filter(screening=screening).count() == 1


def test_a_refused_save_speaks_the_rule_in_the_forms_words(cast) -> None:
    # As in an action: the refusal leaves its transaction, which rolls back.
    medication = _medication(cast, started_on=date(2025, 3, 2), last_dose_on=date(2025, 3, 1))
    with pytest.raises(ValidationError) as caught, transaction.atomic():
        save_checked(medication, force_insert=True)
    assert caught.value.messages == ["The last dose cannot be before the start."]
    duplicate = MedicalHistory(patient=cast.patient, version=1, recorded_by=cast.physician)
    with pytest.raises(ValidationError) as caught, transaction.atomic():
        save_checked(duplicate, force_insert=True)
    assert caught.value.messages == ["This version of the history was already recorded."]
    assert MedicalHistory.objects.filter(patient=cast.patient).count() == 1


def test_deleting_a_patient_with_history_is_refused(cast) -> None:
    actions.add_allergy(patient=cast.patient, data={"substance": "Lidocaine"}, by=cast.physician,
                        actor=ACTOR)
    with pytest.raises(ProtectedError):
        cast.patient.delete()
    assert Patient.objects.filter(pk=cast.patient.pk).exists()
    assert MedicalHistory.objects.filter(patient=cast.patient).count() == 1
    assert Allergy.objects.filter(patient=cast.patient).count() == 1


@pytest.mark.parametrize("record", ["screening", "workup", "lab", "break_glass"])
def test_every_clinical_record_protects_its_patient(cast, record) -> None:
    patient = Patient.objects.create(clinic=cast.clinic, given_name="Only", family_name="This",
                                     birth_date=date(1990, 1, 1), sex="female")
    cast.patient = patient
    if record == "screening":
        _screening(cast).save()
    elif record == "workup":
        Workup.objects.create(patient=patient)
    elif record == "lab":
        LabResult.objects.create(patient=patient, kind="blood", taken_on=date(2025, 1, 1),
                                 values="Hb 13", recorded_by=cast.physician)
    else:
        BreakGlassGrant.objects.create(user=cast.sister_physician, patient=patient,
                                       reason="Emergency", expires_at=NOW + timedelta(hours=1))
    with pytest.raises(ProtectedError):
        patient.delete()
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_deleting_the_user_who_recorded_history_is_refused(cast) -> None:
    with pytest.raises(ProtectedError):
        cast.physician.delete()
    assert MedicalHistory.objects.filter(patient=cast.patient, recorded_by=cast.physician).exists()


def test_a_patient_without_clinical_records_can_still_be_removed(cast) -> None:
    patient = Patient.objects.create(clinic=cast.clinic, given_name="Walk", family_name="In",
                                     birth_date=date(1990, 1, 1), sex="male")
    patient.delete()
    assert not Patient.objects.filter(pk=patient.pk).exists()
