"""A medication or allergy entered in error is withdrawn with a reason: kept, audited, unused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients import actions
from mesoclinic.patients.models import Allergy, Medication
from mesoclinic.screening.actions import screen_patient
from mesoclinic.screening.models import Screening

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
REASON = "Belongs to her sister's file"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def allergy(cast) -> Allergy:
    return Allergy.objects.create(patient=cast.patient, substance="Sodium hyaluronate",
                                  reaction="Hives", severity="moderate", recorded_by=cast.nurse)


@pytest.fixture
def medication(cast) -> Medication:
    return Medication.objects.create(patient=cast.patient, name="Aspirin", atc_code="N02BA01",
                                     recorded_by=cast.nurse)


def _url(cast, kind: str, entry) -> str:
    return reverse(f"patients:{kind}-retract", args=[cast.patient.public_id, entry.public_id])


def test_withdrawn_allergy_stays_on_record_and_the_event_keeps_its_values(cast, allergy) -> None:
    actions.retract_entry(entry=allergy, reason=REASON, by=cast.physician,
                          actor=Actor(username="dr.house"))
    allergy.refresh_from_db()
    assert (allergy.retracted_at, allergy.retracted_by, allergy.retraction_reason) == (
        NOW, cast.physician, REASON)
    assert list(cast.patient.allergies.current()) == []
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id, event.patient_id) == (
        "delete", "allergy", str(allergy.public_id), str(cast.patient.public_id))
    assert event.changes == {"substance": ["Sodium hyaluronate", None], "reaction": ["Hives", None],
                             "severity": ["moderate", None]}


def test_withdrawing_an_allergy_rescreens_without_it(cast, allergy) -> None:
    treatment = {"area": "face", "indication": "wrinkles", "technique": "point_by_point",
                 "delivery": "needle", "ingredients": ["hyaluronic acid"],
                 "first_session_at": (NOW + timedelta(days=20)).isoformat()}
    first = screen_patient(patient=cast.patient, treatment=treatment, allergy_test=None,
                           by=cast.physician, actor=Actor(username="dr.house"))
    assert "INGREDIENT_ALLERGY" in {f["code"] for f in first.output["findings"]}
    actions.retract_entry(entry=allergy, reason=REASON, by=cast.physician,
                          actor=Actor(username="dr.house"))
    latest = Screening.objects.exclude(pk=first.pk).get()
    assert latest.trigger == "record_changed"
    assert latest.input["patient"]["allergies"] == []
    assert "INGREDIENT_ALLERGY" not in {f["code"] for f in latest.output["findings"]}


def test_a_withdrawal_needs_a_reason_and_happens_once(cast, medication) -> None:
    actor = Actor(username="dr.house")
    with pytest.raises(ValidationError):
        actions.retract_entry(entry=medication, reason=" no ", by=cast.physician, actor=actor)
    actions.retract_entry(entry=medication, reason=REASON, by=cast.physician, actor=actor)
    with pytest.raises(ValidationError):
        actions.retract_entry(entry=medication, reason=REASON, by=cast.physician, actor=actor)
    assert AuditEvent.objects.filter(action="delete").count() == 1


@pytest.mark.parametrize("who", ["physician", "nurse"])
def test_clinicians_withdraw_from_the_chart(cast, medication, who) -> None:
    client = cast.client_for(getattr(cast, who))
    chart = reverse("patients:chart", args=[cast.patient.public_id])
    assert _url(cast, "medication", medication) in client.get(chart).content.decode()
    response = client.post(_url(cast, "medication", medication), {"reason": REASON})
    assert (response.status_code, response["Location"]) == (302, chart)
    medication.refresh_from_db()
    assert medication.retracted_by == getattr(cast, who)
    assert "Aspirin" not in client.get(chart).content.decode()


@pytest.mark.parametrize(("who", "status"), [("receptionist", 403), ("manager", 403),
                                             ("auditor", 403), ("sister_physician", 404),
                                             ("foreign_physician", 404)])
def test_other_roles_cannot_withdraw(cast, allergy, who, status) -> None:
    response = cast.client_for(getattr(cast, who)).post(_url(cast, "allergy", allergy),
                                                        {"reason": REASON})
    assert response.status_code == status
    allergy.refresh_from_db()
    assert allergy.retracted_at is None
    assert AuditEvent.objects.get().outcome == "denied"


def test_anonymous_is_sent_to_sign_in(cast, allergy) -> None:
    response = Client().post(_url(cast, "allergy", allergy), {"reason": REASON})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    allergy.refresh_from_db()
    assert allergy.retracted_at is None


def test_a_short_reason_is_refused_naming_the_field(cast, allergy) -> None:
    response = cast.client_for(cast.physician).post(_url(cast, "allergy", allergy),
                                                    {"reason": "x"})
    assert response.status_code == 422
    assert "Why is this entry wrong?: Ensure this value has at least 5 characters" in (
        response.content.decode())
    allergy.refresh_from_db()
    assert allergy.retracted_at is None


def test_an_entry_of_another_patient_is_not_found(cast, allergy) -> None:
    other = Allergy.objects.create(patient=cast.sister_patient, substance="Lidocaine",
                                   recorded_by=cast.sister_physician)
    url = reverse("patients:allergy-retract", args=[cast.patient.public_id, other.public_id])
    response = cast.client_for(cast.physician).post(url, {"reason": REASON})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.retracted_at is None
