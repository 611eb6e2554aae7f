"""Patient actions: the state they leave and the one audit event each write appends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
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

NEW_PATIENT = {
    "given_name": "Zeynep", "family_name": "Yıldız", "birth_date": date(1988, 7, 14),
    "sex": "female", "phone": "+90 555 123 45 67", "email": "zeynep@example.com",
    "address": "Teşvikiye Cd. 1, İstanbul", "national_id": "", "emergency_contact_name": "",
    "emergency_contact_phone": "", "preferred_language": "tr",
}


def actor_for(user: object, role: str = "physician") -> Actor:
    return Actor(user_id=str(user.public_id), username=user.username,  # type: ignore[attr-defined]
                 role=role, client_address="10.1.2.3", request_id="req-42", via="web")


class Events:
    """The audit events appended inside a `with` block."""

    def __init__(self) -> None:
        self.new: list[AuditEvent] = []

    @property
    def one(self) -> AuditEvent:
        assert len(self.new) == 1, [str(e) for e in self.new]
        return self.new[0]


@contextmanager
def audited() -> Iterator[Events]:
    events = Events()
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    yield events
    events.new = list(AuditEvent.objects.filter(seq__gt=last).order_by("seq"))


def assert_ids(event: AuditEvent, patient: Patient, actor: Actor) -> None:
    assert event.clinic_id == str(patient.clinic.public_id)
    assert event.patient_id == str(patient.public_id)
    assert event.user_id == actor.user_id
    assert event.username == actor.username
    assert event.role == actor.role
    assert event.client_address == "10.1.2.3"
    assert event.request_id == "req-42"
    assert event.outcome == AuditEvent.Outcome.ALLOWED
    assert event.break_glass is False


# --- demographics -----------------------------------------------------------------------------

def test_register_patient_saves_demographics_and_one_create_event(cast) -> None:
    actor = actor_for(cast.receptionist, "receptionist")
    with audited() as events:
        patient = actions.register_patient(clinic=cast.clinic, data=NEW_PATIENT, actor=actor)
    saved = Patient.objects.get(public_id=patient.public_id)
    assert saved.clinic == cast.clinic
    assert (saved.given_name, saved.family_name, saved.birth_date) == (
        "Zeynep", "Yıldız", date(1988, 7, 14))
    assert (saved.given_key, saved.family_key, saved.phone_key) == (
        "zeynep", "yildiz", "765432155509")
    event = events.one
    assert (event.action, event.object_type, event.object_id) == (
        "create", "patient", str(saved.public_id))
    assert_ids(event, saved, actor)
    assert event.changes["given_name"] == [None, "Zeynep"]
    assert event.changes["birth_date"] == [None, "1988-07-14"]
    assert event.changes["preferred_language"] == [None, "tr"]
    assert set(event.changes) == set(actions.DEMOGRAPHIC_FIELDS)


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "call me maybe"), ("email", "not-an-email"), ("sex", "unknown"),
     ("given_name", "x" * 101), ("preferred_language", "xx")],
)
def test_register_patient_with_bad_input_saves_nothing(cast, field, value) -> None:
    with audited() as events, pytest.raises(ValidationError) as caught:
        actions.register_patient(clinic=cast.clinic, data={**NEW_PATIENT, field: value},
                                 actor=actor_for(cast.receptionist))
    assert list(caught.value.message_dict) == [field]
    assert Patient.objects.filter(given_name__startswith="Zeynep").count() == 0
    assert events.new == []


def test_update_demographics_records_old_and_new_values(cast) -> None:
    actor = actor_for(cast.receptionist, "receptionist")
    with audited() as events:
        changed = actions.update_demographics(
            patient=cast.patient,
            data={"family_name": "Çelik", "phone": "+90 532 111 22 33", "email": "a@example.org"},
            actor=actor,
        )
    assert changed == ["family_name", "email"]
    saved = Patient.objects.get(pk=cast.patient.pk)
    assert (saved.family_name, saved.family_key, saved.email) == ("Çelik", "celik", "a@example.org")
    event = events.one
    assert (event.action, event.object_type, event.object_id) == (
        "update", "patient", str(saved.public_id))
    assert event.changes == {"family_name": ["Şahin", "Çelik"], "email": ["", "a@example.org"],
                             "version": [1, 2]}
    assert_ids(event, saved, actor)


def test_update_demographics_without_a_change_writes_no_change_event(cast) -> None:
    with audited() as events:
        changed = actions.update_demographics(
            patient=cast.patient, data={"given_name": "Ayşe"}, actor=actor_for(cast.physician))
    assert changed == []
    assert events.one.detail == "no change"
    assert events.one.changes == {}


def test_update_demographics_with_a_bad_email_changes_nothing(cast) -> None:
    with audited() as events, pytest.raises(ValidationError):
        actions.update_demographics(patient=cast.patient,
                                    data={"family_name": "Çelik", "email": "nope"},
                                    actor=actor_for(cast.physician))
    saved = Patient.objects.get(pk=cast.patient.pk)
    assert (saved.family_name, saved.email) == ("Şahin", "")
    assert events.new == []


def test_a_taken_public_id_is_refused_with_full_cleans_message(cast, monkeypatch) -> None:
    # The unique index answers instead of a SELECT before every INSERT; a (forced) collision
    # still gets the message of Django's unique check and leaves nothing behind.
    monkeypatch.setattr(Patient._meta.get_field("public_id"), "_get_default",
                        lambda: cast.patient.public_id)
    with audited() as events, pytest.raises(ValidationError) as caught:
        actions.register_patient(clinic=cast.clinic, data=NEW_PATIENT,
                                 actor=actor_for(cast.receptionist))
    assert caught.value.message_dict == {
        "public_id": ["Patient with this Public id already exists."]}
    assert Patient.objects.filter(given_name="Zeynep").count() == 0
    assert events.new == []


def test_an_update_writes_the_search_keys_of_the_fields_it_saves_only(
    cast, django_assert_num_queries
) -> None:
    patient = Patient.objects.get(pk=cast.patient.pk)
    patient.email = "ayse@example.org"
    with django_assert_num_queries(1) as captured:  # no name changed: no name words read
        patient.save(update_fields=["email"])
    assert "_key" not in captured.captured_queries[0]["sql"]
    patient.phone = "+90 212 555 66 77"
    with django_assert_num_queries(1) as captured:
        patient.save(update_fields=["phone"])
    assert '"phone_key" = ' in captured.captured_queries[0]["sql"]
    assert "given_key" not in captured.captured_queries[0]["sql"]
    assert Patient.objects.filter(pk=patient.pk).values_list("phone_key", flat=True).get() == (
        "776655521209")


# --- medical history --------------------------------------------------------------------------

def test_record_history_adds_a_version_and_keeps_the_earlier_one(cast) -> None:
    actor = actor_for(cast.nurse, "nurse")
    with audited() as events:
        history = actions.record_history(
            patient=cast.patient, values={"pregnant": "yes", "diabetes": "none"},
            by=cast.nurse, actor=actor)
    assert history is not None
    versions = list(MedicalHistory.objects.filter(patient=cast.patient).order_by("version"))
    assert [(v.version, v.pregnant, v.recorded_by) for v in versions] == [
        (1, "no", cast.physician), (2, "yes", cast.nurse)]
    # Unchanged fields carry over into the new version.
    assert versions[1].other_conditions == "Secret clinical note"
    event = events.one
    assert (event.action, event.object_type, event.object_id) == (
        "update", "medical_history", "2")
    assert event.changes == {"pregnant": ["no", "yes"]}
    assert_ids(event, cast.patient, actor)


def test_record_history_with_unchanged_values_adds_no_version(cast) -> None:
    with audited() as events:
        history = actions.record_history(
            patient=cast.patient, values={"pregnant": "no", "other_conditions": "Secret clinical note"},
            by=cast.nurse, actor=actor_for(cast.nurse))
    assert history is not None
    assert history.version == 1
    assert MedicalHistory.objects.filter(patient=cast.patient).count() == 1
    assert (events.one.detail, events.one.changes) == ("no change", {})


def test_first_history_of_a_new_patient_is_version_one(cast) -> None:
    patient = actions.register_patient(clinic=cast.clinic, data=NEW_PATIENT,
                                       actor=actor_for(cast.physician))
    with audited() as events:
        actions.record_history(patient=patient, values={"stroke_history": "yes"},
                               by=cast.physician, actor=actor_for(cast.physician))
    history = MedicalHistory.objects.get(patient=patient)
    assert (history.version, history.stroke_history, history.cancer) == (1, "yes", "unknown")
    assert events.one.changes == {"stroke_history": [None, "yes"]}


def test_record_history_rejects_an_unknown_value_and_saves_nothing(cast) -> None:
    with audited() as events, pytest.raises(ValidationError) as caught:
        actions.record_history(patient=cast.patient, values={"diabetes": "sometimes"},
                               by=cast.nurse, actor=actor_for(cast.nurse))
    assert list(caught.value.message_dict) == ["diabetes"]
    assert MedicalHistory.objects.filter(patient=cast.patient).count() == 1
    assert events.new == []


def test_field_provenance_says_who_recorded_each_value_and_when(cast) -> None:
    first = MedicalHistory.objects.get(patient=cast.patient, version=1)
    with time_machine.travel(datetime(2025, 3, 1, 9, 0, tzinfo=UTC), tick=False):
        actions.record_history(patient=cast.patient, values={"pregnant": "yes"},
                               by=cast.nurse, actor=actor_for(cast.nurse))
    with time_machine.travel(datetime(2025, 3, 8, 9, 0, tzinfo=UTC), tick=False):
        actions.record_history(patient=cast.patient, values={"kidney_disorder": "yes"},
                               by=cast.physician, actor=actor_for(cast.physician))
    provenance = actions.field_provenance(cast.patient)
    assert (provenance["pregnant"].version, provenance["pregnant"].recorded_by) == (2, cast.nurse)
    assert provenance["pregnant"].recorded_at == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert provenance["kidney_disorder"].version == 3
    assert provenance["kidney_disorder"].recorded_by == cast.physician
    assert provenance["kidney_disorder"].recorded_at == datetime(2025, 3, 8, 9, 0, tzinfo=UTC)
    assert provenance["diabetes"] == first
    assert provenance["other_conditions"] == first


def test_a_value_changed_back_is_dated_from_its_latest_change(cast) -> None:
    actions.record_history(patient=cast.patient, values={"pregnant": "yes"}, by=cast.nurse,
                           actor=actor_for(cast.nurse))
    actions.record_history(patient=cast.patient, values={"pregnant": "no"}, by=cast.physician,
                           actor=actor_for(cast.physician))
    assert actions.field_provenance(cast.patient)["pregnant"].version == 3
    assert actions.current_history(cast.patient).pregnant == "no"  # type: ignore[union-attr]


# --- medications, allergies, labs -------------------------------------------------------------

def test_add_medication_saves_it_with_one_create_event(cast) -> None:
    actor = actor_for(cast.nurse, "nurse")
    data = {"name": "Ibuprofen", "atc_code": "M01AE01", "dose": "400 mg",
            "started_on": date(2025, 1, 10), "last_dose_on": None}
    with audited() as events:
        medication = actions.add_medication(patient=cast.patient, data=data, by=cast.nurse,
                                            actor=actor)
    saved = Medication.objects.get(public_id=medication.public_id)
    assert (saved.patient, saved.name, saved.atc_code, saved.recorded_by) == (
        cast.patient, "Ibuprofen", "M01AE01", cast.nurse)
    event = events.one
    assert (event.action, event.object_type, event.object_id) == (
        "create", "medication", str(saved.public_id))
    assert event.changes == {"name": [None, "Ibuprofen"], "atc_code": [None, "M01AE01"],
                             "dose": [None, "400 mg"], "started_on": [None, "2025-01-10"],
                             "last_dose_on": [None, None]}
    assert_ids(event, cast.patient, actor)


def test_add_medication_with_a_malformed_atc_code_saves_nothing(cast) -> None:
    with audited() as events, pytest.raises(ValidationError) as caught:
        actions.add_medication(patient=cast.patient, data={"name": "X", "atc_code": "12345"},
                               by=cast.nurse, actor=actor_for(cast.nurse))
    assert list(caught.value.message_dict) == ["atc_code"]
    assert Medication.objects.count() == 0
    assert events.new == []


def test_stop_medication_records_the_last_dose(cast) -> None:
    medication = actions.add_medication(patient=cast.patient, data={"name": "Aspirin"},
                                        by=cast.physician, actor=actor_for(cast.physician))
    actor = actor_for(cast.physician)
    with audited() as events:
        actions.stop_medication(medication=medication, last_dose_on=date(2025, 2, 1), actor=actor)
    assert Medication.objects.get(pk=medication.pk).last_dose_on == date(2025, 2, 1)
    event = events.one
    assert (event.action, event.object_type, event.object_id) == (
        "update", "medication", str(medication.public_id))
    assert event.changes == {"last_dose_on": [None, "2025-02-01"]}
    assert_ids(event, cast.patient, actor)


def test_add_allergy_saves_it_with_one_create_event(cast) -> None:
    actor = actor_for(cast.physician)
    with audited() as events:
        allergy = actions.add_allergy(
            patient=cast.patient,
            data={"substance": "Lidocaine", "reaction": "hives", "severity": "severe"},
            by=cast.physician, actor=actor)
    saved = Allergy.objects.get(public_id=allergy.public_id)
    assert (saved.substance, saved.reaction, saved.severity, saved.recorded_by) == (
        "Lidocaine", "hives", "severe", cast.physician)
    event = events.one
    assert (event.action, event.object_type, event.object_id) == (
        "create", "allergy", str(saved.public_id))
    assert event.changes == {"substance": [None, "Lidocaine"], "reaction": [None, "hives"],
                             "severity": [None, "severe"]}
    assert_ids(event, cast.patient, actor)


def test_add_allergy_with_an_unknown_severity_saves_nothing(cast) -> None:
    with audited() as events, pytest.raises(ValidationError):
        actions.add_allergy(patient=cast.patient, data={"substance": "Latex", "severity": "fatal"},
                            by=cast.physician, actor=actor_for(cast.physician))
    assert Allergy.objects.count() == 0
    assert events.new == []


def test_add_lab_result_saves_it_with_one_create_event(cast) -> None:
    actor = actor_for(cast.nurse, "nurse")
    data = {"kind": "blood", "taken_on": date(2025, 2, 3), "values": "Hb 11.0 g/dL",
            "abnormal": True}
    with audited() as events:
        result = actions.add_lab_result(patient=cast.patient, data=data, by=cast.nurse,
                                        actor=actor)
    saved = LabResult.objects.get(public_id=result.public_id)
    assert (saved.kind, saved.taken_on, saved.values, saved.abnormal) == (
        "blood", date(2025, 2, 3), "Hb 11.0 g/dL", True)
    event = events.one
    assert (event.action, event.object_type) == ("create", "lab_result")
    assert event.changes == {"kind": [None, "blood"], "taken_on": [None, "2025-02-03"],
                             "values": [None, "Hb 11.0 g/dL"], "abnormal": [None, True]}
    assert_ids(event, cast.patient, actor)


# --- workup and sign-off ----------------------------------------------------------------------

def test_update_workup_records_the_examination(cast) -> None:
    actor = actor_for(cast.nurse, "nurse")
    with audited() as events:
        actions.update_workup(patient=cast.patient,
                              data={"physical_exam_on": date(2025, 2, 3),
                                    "physical_exam_note": "BP 120/80"}, actor=actor)
    workup = Workup.objects.get(patient=cast.patient)
    assert (workup.physical_exam_on, workup.physical_exam_note) == (date(2025, 2, 3), "BP 120/80")
    event = events.one
    assert (event.action, event.object_type, event.object_id) == (
        "update", "workup", str(cast.patient.public_id))
    assert event.changes == {"physical_exam_on": [None, "2025-02-03"],
                             "physical_exam_note": ["", "BP 120/80"], "version": [0, 1]}
    assert_ids(event, cast.patient, actor)


def test_sign_off_workup_stamps_the_physician(cast) -> None:
    actor = actor_for(cast.physician)
    moment = datetime(2025, 2, 4, 10, 30, tzinfo=UTC)
    with audited() as events, time_machine.travel(moment, tick=False):
        actions.sign_off_workup(patient=cast.patient, by=cast.physician, actor=actor)
    workup = Workup.objects.get(patient=cast.patient)
    assert (workup.signed_off_by, workup.signed_off_at) == (cast.physician, moment)
    event = events.one
    assert (event.action, event.object_type, event.detail) == ("update", "workup", "signed off")
    assert event.changes == {"signed_off_by": [None, "dr.house"], "version": [0, 1]}
    assert_ids(event, cast.patient, actor)


def test_changing_a_signed_off_workup_clears_the_sign_off(cast) -> None:
    moment = datetime(2025, 2, 4, 10, 30, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        actions.sign_off_workup(patient=cast.patient, by=cast.physician,
                                actor=actor_for(cast.physician))
    with audited() as events:
        actions.update_workup(patient=cast.patient, data={"physical_exam_note": "Bruise on arm"},
                              actor=actor_for(cast.nurse, "nurse"))
    workup = Workup.objects.get(patient=cast.patient)
    assert (workup.signed_off_by, workup.signed_off_at) == (None, None)
    assert events.one.changes == {"physical_exam_note": ["", "Bruise on arm"],
                                  "signed_off_at": [moment.isoformat(), None], "version": [1, 2]}


def test_saving_an_unchanged_workup_keeps_the_sign_off(cast) -> None:
    actions.update_workup(patient=cast.patient, data={"physical_exam_note": "Fine"},
                          actor=actor_for(cast.nurse, "nurse"))
    actions.sign_off_workup(patient=cast.patient, by=cast.physician,
                            actor=actor_for(cast.physician))
    with audited() as events:
        actions.update_workup(patient=cast.patient, data={"physical_exam_note": "Fine"},
                              actor=actor_for(cast.nurse, "nurse"))
    assert Workup.objects.get(patient=cast.patient).signed_off_by == cast.physician
    assert (events.one.changes, events.one.detail) == ({}, "no change")


# --- break-glass ------------------------------------------------------------------------------

def test_break_glass_grants_four_hours_and_flags_the_event(cast) -> None:
    actor = actor_for(cast.sister_physician)
    moment = datetime(2025, 5, 1, 22, 0, tzinfo=UTC)
    with audited() as events, time_machine.travel(moment, tick=False):
        actions.break_glass(patient=cast.patient, by=cast.sister_physician,
                            reason="  Collapsed at our clinic; need her allergies.  ", actor=actor)
    grant = BreakGlassGrant.objects.get(user=cast.sister_physician, patient=cast.patient)
    assert grant.reason == "Collapsed at our clinic; need her allergies."
    assert (grant.granted_at, grant.expires_at) == (moment, moment + timedelta(hours=4))
    event = events.one
    assert (event.action, event.object_type, event.break_glass) == (
        "break_glass", "patient", True)
    assert event.detail == "Collapsed at our clinic; need her allergies."
    assert (event.clinic_id, event.patient_id) == (
        str(cast.clinic.public_id), str(cast.patient.public_id))


@pytest.mark.parametrize("reason", ["", "   ", "because", "  short   "])
def test_break_glass_without_a_real_reason_grants_nothing(cast, reason) -> None:
    with audited() as events, pytest.raises(ValueError, match="reason"):
        actions.break_glass(patient=cast.patient, by=cast.sister_physician, reason=reason,
                            actor=actor_for(cast.sister_physician))
    assert BreakGlassGrant.objects.count() == 0
    assert events.new == []


def test_a_last_dose_before_the_start_is_refused_and_nothing_changes(cast) -> None:
    from datetime import date

    from django.core.exceptions import ValidationError

    from mesoclinic.audit.log import Actor
    from mesoclinic.audit.models import AuditEvent
    from mesoclinic.patients import actions

    actor = Actor(username="dr.house")
    medication = actions.add_medication(
        patient=cast.patient, by=cast.physician, actor=actor,
        data={"name": "Ibuprofen", "atc_code": "M01AE01", "started_on": date(2026, 3, 10)},
    )
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        actions.stop_medication(medication=medication, last_dose_on=date(2026, 3, 9), actor=actor)
    assert refused.value.message_dict == {
        "last_dose_on": ["The last dose cannot be before the start."]}
    medication.refresh_from_db()
    assert medication.last_dose_on is None
    assert AuditEvent.objects.count() == events
