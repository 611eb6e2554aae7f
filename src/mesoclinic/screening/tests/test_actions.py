"""Screening a stored patient: the snapshot it stores, its audit event, re-screening, acceptances."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from conftest import Cast, make_patient

from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients import actions as patient_actions
from mesoclinic.patients.models import LabResult, MedicalHistory, Medication, Workup
from mesoclinic.screening import actions
from mesoclinic.screening.actions import ScreeningRefused
from mesoclinic.screening.contract import InvalidIntake
from mesoclinic.screening.models import FindingAcceptance, Screening

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TREATMENT: dict[str, Any] = {
    "area": "face",
    "indication": "wrinkles",
    "technique": "point_by_point",
    "delivery": "needle",
    "ingredients": ["hyaluronic acid", "vitamin C"],
    "first_session_at": "2026-12-10T10:00:00+03:00",
}
TESTED = {"performed_at": "2026-11-19T10:00:00+03:00", "reactive_to": []}
HEALTHY = {
    "pregnant": "no", "breastfeeding": "no", "diabetes": "none", "insulin": "no", "cancer": "none",
    "multi_drug_therapy": "no", "heart_disease": "no", "stroke_history": "no",
    "liver_disorder": "no", "kidney_disorder": "no",
}
REASON = "Cardiologist cleared her in writing on 2026-11-12."


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def actor_for(user: Any, role: str = "physician") -> Actor:
    return Actor(user_id=str(user.public_id), username=user.username, role=role,
                 client_address="10.1.2.3", request_id="req-7", via="web")


@contextmanager
def audited() -> Iterator[list[AuditEvent]]:
    """The audit events appended inside the block."""
    new: list[AuditEvent] = []
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    yield new
    new.extend(AuditEvent.objects.filter(seq__gt=last).order_by("seq"))


def set_history(cast: Cast, **changes: str) -> None:
    """A new history version (written directly: no re-screening side effect)."""
    latest = MedicalHistory.objects.filter(patient=cast.patient).order_by("-version").first()
    assert latest is not None
    MedicalHistory.objects.create(patient=cast.patient, version=latest.version + 1,
                                  recorded_by=cast.nurse, **{**latest.values(), **changes})


def screen(cast: Cast, treatment: dict[str, Any] | None = None,
           allergy_test: dict[str, Any] | None = None) -> Screening:
    return actions.screen_patient(patient=cast.patient, treatment=dict(treatment or TREATMENT),
                                  allergy_test=allergy_test, by=cast.physician,
                                  actor=actor_for(cast.physician))


def codes(screening: Screening) -> list[tuple[str, str]]:
    return [(f["code"], f["severity"]) for f in screening.output["findings"]]


# --- screen_patient -----------------------------------------------------------------------------

def test_screen_patient_stores_a_snapshot_built_from_the_record(cast: Cast) -> None:
    set_history(cast, heart_disease="yes", kidney_disorder="unknown", diabetes="type2",
                cancer="remission")
    Medication.objects.create(patient=cast.patient, name="Aspirin", recorded_by=cast.nurse)
    Medication.objects.create(patient=cast.patient, name="Ibuprofen", atc_code="M01AE01",
                              last_dose_on=date(2026, 11, 1), recorded_by=cast.nurse)
    patient_actions.add_allergy(patient=cast.patient, data={"substance": "Penicillin"},
                                by=cast.nurse, actor=actor_for(cast.nurse, "nurse"))
    Workup.objects.create(patient=cast.patient, physical_exam_on=date(2026, 11, 18),
                          history_reviewed_on=date(2026, 11, 19))
    for kind, taken_on in [("blood", date(2026, 11, 2)), ("blood", date(2026, 11, 15)),
                           ("urine", date(2026, 11, 16))]:
        LabResult.objects.create(patient=cast.patient, kind=kind, taken_on=taken_on,
                                 values="normal", recorded_by=cast.nurse)

    screening = screen(cast, allergy_test=TESTED)

    saved = Screening.objects.get(public_id=screening.public_id)
    assert saved.input == {
        "as_of": "2026-11-20T12:00:00+03:00",  # the clinic's zone (issue 7)
        "patient": {
            "birth_date": "1990-04-02", "sex": "female",
            "pregnant": False, "breastfeeding": False, "diabetes": "type2", "insulin": False,
            "cancer": "remission", "multi_drug_therapy": False, "heart_disease": True,
            "stroke_history": False, "liver_disorder": False, "kidney_disorder": None,
            "medications": [
                {"name": "Aspirin", "atc": None, "last_dose_on": None},
                {"name": "Ibuprofen", "atc": "M01AE01", "last_dose_on": "2026-11-01"},
            ],
            "allergies": [{"substance": "Penicillin"}],
        },
        "treatment": TREATMENT,
        "workup": {"physical_exam_on": "2026-11-18", "blood_test_on": "2026-11-15",
                   "urine_test_on": "2026-11-16", "history_reviewed_on": "2026-11-19"},
        "allergy_test": TESTED,
    }
    assert saved.decision == "incomplete"
    assert saved.output["decision"] == "incomplete"
    # Workup and allergy test are complete: no WORKUP_REQUIRED, no ALLERGY_TEST_REQUIRED.
    assert codes(saved) == [
        ("CANCER_HISTORY", "review"), ("HEART_DISEASE", "review"),
        ("NSAID_WASHOUT", "condition"), ("MISSING_INFORMATION", "missing"),
    ]
    assert saved.output["findings"][3]["field"] == "patient.kidney_disorder"
    assert saved.output["rules_version"] == saved.rules_version == "engine-2+pack-2026.12.2"
    assert (saved.created_by, saved.clinic, saved.trigger, saved.created_at) == (
        cast.physician, cast.clinic, "manual", NOW)


def test_screen_patient_writes_exactly_one_audit_event(cast: Cast) -> None:
    actor = actor_for(cast.physician)
    with audited() as events:
        screening = actions.screen_patient(patient=cast.patient, treatment=dict(TREATMENT),
                                           allergy_test=None, by=cast.physician, actor=actor)
    assert len(events) == 1
    event = events[0]
    assert (event.action, event.object_type, event.object_id) == (
        "create", "screening", str(screening.public_id))
    assert (event.clinic_id, event.patient_id) == (
        str(cast.clinic.public_id), str(cast.patient.public_id))
    assert (event.username, event.role, event.outcome) == ("dr.house", "physician", "allowed")
    assert event.changes == {"decision": [None, "eligible_with_conditions"]}
    assert event.detail == "manual"


def test_screening_a_patient_with_unknown_pregnancy_is_incomplete(cast: Cast) -> None:
    set_history(cast, pregnant="unknown")
    screening = screen(cast)
    assert screening.decision == "incomplete"
    missing = [f for f in screening.output["findings"] if f["code"] == "MISSING_INFORMATION"]
    assert len(missing) == 1
    assert missing[0]["severity"] == "missing"
    assert missing[0]["field"] == "patient.pregnant"
    assert "patient.pregnant" in missing[0]["message"]
    assert Screening.objects.get(pk=screening.pk).input["patient"]["pregnant"] is None


def test_a_patient_without_any_history_is_never_eligible(cast: Cast) -> None:
    patient = make_patient(cast.clinic, "Elif", "Kaya")
    screening = actions.screen_patient(patient=patient, treatment=dict(TREATMENT),
                                       allergy_test=TESTED, by=cast.nurse,
                                       actor=actor_for(cast.nurse, "nurse"))
    assert screening.decision == "incomplete"
    fields = {f["field"] for f in screening.output["findings"] if f["code"] == "MISSING_INFORMATION"}
    assert {"patient.pregnant", "patient.breastfeeding", "patient.heart_disease",
            "patient.kidney_disorder"} <= fields


def test_an_aspirin_on_the_medication_list_gives_an_nsaid_washout(cast: Cast) -> None:
    Medication.objects.create(patient=cast.patient, name="Aspirin", recorded_by=cast.nurse)
    screening = screen(cast)
    washout = [f for f in screening.output["findings"] if f["code"] == "NSAID_WASHOUT"]
    assert [(f["severity"], f["fact"], f["field"]) for f in washout] == [
        ("condition", "F-NSAID", "patient.medications[0]")]
    actions_due = {a["code"]: a["due_by"] for a in screening.output["required_actions"]}
    assert actions_due["NSAID_WASHOUT"] == "2026-12-03"
    assert screening.decision == "eligible_with_conditions"


def test_an_allergy_to_a_synonym_of_an_ingredient_makes_the_patient_not_eligible(cast: Cast) -> None:
    patient_actions.add_allergy(patient=cast.patient, data={"substance": "Sodium hyaluronate"},
                                by=cast.nurse, actor=actor_for(cast.nurse, "nurse"))
    screening = screen(cast)
    assert screening.decision == "not_eligible"
    allergy = [f for f in screening.output["findings"] if f["code"] == "INGREDIENT_ALLERGY"]
    assert [(f["severity"], f["fact"], f["field"]) for f in allergy] == [
        ("block", "F-ALLERGY-TEST", "treatment.ingredients[0]")]
    assert "Sodium hyaluronate" in allergy[0]["message"]
    assert "hyaluronic acid" in allergy[0]["message"]


def test_an_unknown_indication_is_refused_and_nothing_is_stored(cast: Cast) -> None:
    with audited() as events, pytest.raises(InvalidIntake) as caught:
        screen(cast, {**TREATMENT, "indication": "tattoo_removal"})
    assert caught.value.field == "treatment.indication"
    assert Screening.objects.count() == 0
    assert events == []


# --- re-screening when the record changes -------------------------------------------------------

def test_recording_pregnancy_rescreens_the_patient(cast: Cast) -> None:
    first = screen(cast, allergy_test=TESTED)
    assert first.decision == "eligible_with_conditions"

    patient_actions.record_history(patient=cast.patient, values={"pregnant": "yes"},
                                   by=cast.nurse, actor=actor_for(cast.nurse, "nurse"))

    assert Screening.objects.count() == 2
    latest = Screening.objects.exclude(pk=first.pk).get()
    assert (latest.trigger, latest.trigger_detail) == ("record_changed", "medical history changed")
    assert latest.decision == "not_eligible"
    assert ("PREGNANT", "block") in codes(latest)
    assert latest.input["patient"]["pregnant"] is True
    assert latest.input["treatment"] == TREATMENT
    assert latest.input["allergy_test"] == TESTED
    assert latest.created_by == cast.nurse
    assert Screening.objects.get(pk=first.pk).decision == "eligible_with_conditions"  # kept


def test_adding_aspirin_rescreens_the_patient(cast: Cast) -> None:
    first = screen(cast)
    with audited() as events:
        patient_actions.add_medication(patient=cast.patient, data={"name": "Aspirin"},
                                       by=cast.nurse, actor=actor_for(cast.nurse, "nurse"))
    latest = Screening.objects.exclude(pk=first.pk).get()
    assert (latest.trigger, latest.trigger_detail) == ("record_changed", "medications changed")
    assert ("NSAID_WASHOUT", "condition") in codes(latest)
    assert ("NSAID_WASHOUT", "condition") not in codes(first)
    assert [(e.object_type, e.action) for e in events] == [
        ("medication", "create"), ("screening", "create")]
    assert events[1].detail == "medications changed"


def test_stopping_a_medication_rescreens_the_patient(cast: Cast) -> None:
    aspirin = Medication.objects.create(patient=cast.patient, name="Aspirin", recorded_by=cast.nurse)
    first = screen(cast)
    assert ("NSAID_WASHOUT", "condition") in codes(first)
    patient_actions.stop_medication(medication=aspirin, last_dose_on=date(2026, 11, 18),
                                    actor=actor_for(cast.nurse, "nurse"))
    latest = Screening.objects.exclude(pk=first.pk).get()
    assert latest.trigger == "record_changed"
    assert latest.input["patient"]["medications"] == [
        {"name": "Aspirin", "atc": None, "last_dose_on": "2026-11-18"}]
    assert "NSAID_WASHOUT" not in [code for code, _ in codes(latest)]


def test_adding_an_allergy_to_an_ingredient_rescreens_to_not_eligible(cast: Cast) -> None:
    first = screen(cast)
    patient_actions.add_allergy(patient=cast.patient, data={"substance": "Sodium hyaluronate"},
                                by=cast.physician, actor=actor_for(cast.physician))
    latest = Screening.objects.exclude(pk=first.pk).get()
    assert (latest.trigger, latest.trigger_detail) == ("record_changed", "allergies changed")
    assert latest.decision == "not_eligible"
    assert ("INGREDIENT_ALLERGY", "block") in codes(latest)


def test_a_record_change_without_an_earlier_screening_screens_nothing(cast: Cast) -> None:
    actor = actor_for(cast.nurse, "nurse")
    patient_actions.record_history(patient=cast.patient, values={"pregnant": "yes"},
                                   by=cast.nurse, actor=actor)
    patient_actions.add_medication(patient=cast.patient, data={"name": "Aspirin"},
                                   by=cast.nurse, actor=actor)
    patient_actions.add_allergy(patient=cast.patient, data={"substance": "latex"},
                                by=cast.nurse, actor=actor)
    assert Screening.objects.count() == 0
    assert AuditEvent.objects.filter(object_type="screening").count() == 0


def test_an_unchanged_history_does_not_rescreen(cast: Cast) -> None:
    screen(cast)
    patient_actions.record_history(patient=cast.patient, values={"pregnant": "no"},
                                   by=cast.nurse, actor=actor_for(cast.nurse, "nurse"))
    assert Screening.objects.count() == 1


# --- accepting review findings ------------------------------------------------------------------

@pytest.fixture
def heart_screening(cast: Cast) -> Screening:
    set_history(cast, heart_disease="yes", multi_drug_therapy="no")
    screening = screen(cast, allergy_test=TESTED)
    assert ("HEART_DISEASE", "review") in codes(screening)
    return screening


def test_physician_accepts_a_review_finding_with_a_reason(cast: Cast,
                                                          heart_screening: Screening) -> None:
    with audited() as events:
        acceptance = actions.accept_review_finding(
            screening=heart_screening, code="HEART_DISEASE", reason=f"  {REASON}  ",
            by=cast.physician, actor=actor_for(cast.physician))
    saved = FindingAcceptance.objects.get(screening=heart_screening)
    assert saved.pk == acceptance.pk
    assert (saved.code, saved.reason, saved.accepted_by, saved.accepted_at) == (
        "HEART_DISEASE", REASON, cast.physician, NOW)
    assert len(events) == 1
    event = events[0]
    assert (event.action, event.object_type, event.object_id) == (
        "update", "screening", str(heart_screening.public_id))
    assert event.patient_id == str(cast.patient.public_id)
    assert event.changes == {"accepted": [None, "HEART_DISEASE"]}
    assert event.detail == f"review accepted: {REASON}"
    # The screening itself is not rewritten: its decision stays what the engine said.
    assert Screening.objects.get(pk=heart_screening.pk).decision == "eligible_with_conditions"


@pytest.mark.parametrize(
    ("history", "code", "message"),
    [
        ({"pregnant": "yes"}, "PREGNANT", "code: a block finding cannot be overridden"),
        ({"heart_disease": "yes", "multi_drug_therapy": "yes"}, "HEART_DISEASE_MULTI_DRUG",
         "code: a block finding cannot be overridden"),
        ({}, "WORKUP_REQUIRED", "code: a condition finding cannot be overridden"),
    ],
)
def test_only_review_findings_can_be_accepted(cast: Cast, history: dict[str, str], code: str,
                                              message: str) -> None:
    if history:
        set_history(cast, **history)
    screening = screen(cast)
    assert code in [c for c, _ in codes(screening)]
    with audited() as events, pytest.raises(ScreeningRefused) as caught:
        actions.accept_review_finding(screening=screening, code=code, reason=REASON,
                                      by=cast.physician, actor=actor_for(cast.physician))
    assert str(caught.value) == message
    assert FindingAcceptance.objects.count() == 0
    assert events == []


@pytest.mark.parametrize(
    ("code", "reason", "message"),
    [
        ("HEART_DISEASE", "ok", "reason: say why in at least 10 characters"),
        ("HEART_DISEASE", "   fine    ", "reason: say why in at least 10 characters"),
        ("STROKE_HISTORY", REASON, "code: this screening has no finding 'STROKE_HISTORY'"),
        ("NOT_A_CODE", REASON, "code: this screening has no finding 'NOT_A_CODE'"),
    ],
)
def test_a_bad_acceptance_is_refused_and_writes_nothing(
    cast: Cast, heart_screening: Screening, code: str, reason: str, message: str
) -> None:
    with audited() as events, pytest.raises(ScreeningRefused) as caught:
        actions.accept_review_finding(screening=heart_screening, code=code, reason=reason,
                                      by=cast.physician, actor=actor_for(cast.physician))
    assert str(caught.value) == message
    assert FindingAcceptance.objects.count() == 0
    assert events == []


def test_a_finding_cannot_be_accepted_twice(cast: Cast, heart_screening: Screening) -> None:
    actions.accept_review_finding(screening=heart_screening, code="HEART_DISEASE", reason=REASON,
                                  by=cast.physician, actor=actor_for(cast.physician))
    with audited() as events, pytest.raises(ScreeningRefused) as caught:
        actions.accept_review_finding(screening=heart_screening, code="HEART_DISEASE",
                                      reason="A second opinion, also fine.", by=cast.physician,
                                      actor=actor_for(cast.physician))
    assert str(caught.value) == "code: HEART_DISEASE has already been accepted"
    assert FindingAcceptance.objects.get(screening=heart_screening).reason == REASON
    assert events == []
