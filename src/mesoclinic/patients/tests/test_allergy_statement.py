"""Allergies: "not asked yet" is not "no known allergies (asked by X on D)"."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients import actions
from mesoclinic.patients.models import AllergyStatement


def chart(cast, who: str = "nurse") -> str:
    response = cast.client_for(getattr(cast, who)).get(
        reverse("patients:chart", args=[cast.patient.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def state(cast, who: str = "nurse"):
    return cast.client_for(getattr(cast, who)).post(
        reverse("patients:no-known-allergies", args=[cast.patient.public_id]))


def test_a_new_patient_is_not_asked_yet(cast) -> None:
    body = chart(cast)
    assert "Not asked yet." in body
    assert "Asked: no known allergies" in body


def test_stating_no_known_allergies_records_who_and_when_with_one_event(cast) -> None:
    client = cast.client_for(cast.nurse)
    response = client.post(reverse("patients:no-known-allergies", args=[cast.patient.public_id]))
    assert response.status_code == 302
    statement = AllergyStatement.objects.get(patient=cast.patient)
    assert (statement.stated_by, statement.cleared_at) == (cast.nurse, None)
    event = AuditEvent.objects.get(object_type="allergy", detail="no known allergies (asked)")
    assert (event.action, event.username, event.patient_id) == (
        "create", "nurse.kaya", str(cast.patient.public_id))
    body = client.get(response["Location"]).content.decode()
    assert "No known allergies" in body
    assert "asked by Nurse Kaya on" in body
    assert "Recorded: no known allergies." in body  # the confirmation
    assert "Not asked yet." not in body


def test_adding_an_allergy_clears_the_statement_but_keeps_it_on_record(cast) -> None:
    actions.state_no_known_allergies(patient=cast.patient, by=cast.nurse, actor=Actor())
    actions.add_allergy(patient=cast.patient, data={"substance": "lidocaine"}, by=cast.physician,
                        actor=Actor())
    statement = AllergyStatement.objects.get(patient=cast.patient)
    assert statement.cleared_at is not None
    assert actions.no_known_allergies(cast.patient) is None
    body = chart(cast)
    assert "lidocaine" in body
    assert "No known allergies" not in body


def test_no_known_allergies_is_refused_while_an_allergy_is_on_record(cast) -> None:
    actions.add_allergy(patient=cast.patient, data={"substance": "lidocaine"}, by=cast.physician,
                        actor=Actor())
    with pytest.raises(ValidationError):
        actions.state_no_known_allergies(patient=cast.patient, by=cast.nurse, actor=Actor())
    assert state(cast).status_code == 302
    assert not AllergyStatement.objects.exists()


def test_asking_again_renews_the_statement(cast) -> None:
    first = actions.state_no_known_allergies(patient=cast.patient, by=cast.nurse, actor=Actor())
    second = actions.state_no_known_allergies(patient=cast.patient, by=cast.physician, actor=Actor())
    first.refresh_from_db()
    assert first.cleared_at is not None
    assert second.cleared_at is None
    assert actions.no_known_allergies(cast.patient) == second


@pytest.mark.parametrize(("who", "status"), [
    ("physician", 302), ("nurse", 302), ("receptionist", 403), ("manager", 403),
    ("auditor", 403), ("sister_physician", 404), ("foreign_physician", 404),
])
def test_who_may_state_no_known_allergies(cast, who: str, status: int) -> None:
    assert state(cast, who).status_code == status
    assert AllergyStatement.objects.exists() is (status == 302)


def test_screening_page_says_allergies_were_not_asked(cast) -> None:
    url = reverse("screening:new", args=[cast.patient.public_id])
    client = cast.client_for(cast.physician)
    assert 'data-testid="allergies-unasked"' in client.get(url).content.decode()
    actions.state_no_known_allergies(patient=cast.patient, by=cast.nurse, actor=Actor())
    assert 'data-testid="allergies-unasked"' not in client.get(url).content.decode()
