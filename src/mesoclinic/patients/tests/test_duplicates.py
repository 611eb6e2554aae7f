"""Registering a patient who may exist already: warn, link, and register only when confirmed."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients import actions
from mesoclinic.patients.duplicates import possible_duplicates
from mesoclinic.patients.models import Patient

FORM = {"given_name": "Ayse", "family_name": "SAHIN", "birth_date": "1990-04-02", "sex": "female",
        "phone": "", "email": "", "address": "", "national_id": "", "emergency_contact_name": "",
        "emergency_contact_phone": "", "preferred_language": "en"}


@pytest.mark.parametrize(("given", "family", "born", "phone", "found"), [
    ("Ayse", "SAHIN", date(1990, 4, 2), "", True),          # folded name + birth date
    ("Ayşe", "Şahin", date(1990, 4, 3), "", False),         # another birth date
    ("Deniz", "Arslan", date(1980, 1, 1), "0532 111 22 33", True),  # same number, other form
    ("Deniz", "Arslan", date(1980, 1, 1), "22 33", False),  # too few digits to tell
    ("Ayşe Nur", "Şahin", date(1990, 4, 2), "", False),     # another given name
])
def test_possible_duplicates(cast, given, family, born, phone, found) -> None:
    matches = possible_duplicates(cast.clinic, given_name=given, family_name=family,
                                  birth_date=born, phone=phone)
    assert matches == ([cast.patient] if found else [])


def test_another_clinics_patient_is_no_duplicate(cast) -> None:
    assert possible_duplicates(cast.clinic, given_name="Lena", family_name="Müller",
                               birth_date=date(1990, 4, 2), phone="+49 151 1234567") == []


def test_the_action_refuses_a_possible_duplicate_unless_confirmed(cast) -> None:
    data = {**FORM, "birth_date": date(1990, 4, 2)}
    with pytest.raises(actions.PossibleDuplicate) as raised:
        actions.register_patient(clinic=cast.clinic, data=data, actor=Actor())
    assert raised.value.matches == [cast.patient]
    assert Patient.objects.filter(clinic=cast.clinic).count() == 1
    patient = actions.register_patient(clinic=cast.clinic, data=data, actor=Actor(),
                                       confirm_new=True)
    event = AuditEvent.objects.get(action="create", object_type="patient")
    assert event.object_id == str(patient.public_id)
    assert event.detail == f"registered despite possible duplicates {cast.patient.public_id}"


def test_the_page_warns_links_and_saves_nothing(cast) -> None:
    client = cast.client_for(cast.receptionist)
    response = client.post(reverse("patients:new"), FORM)
    assert response.status_code == 422
    body = response.content.decode()
    assert "This patient may be registered already." in body
    assert reverse("patients:chart", args=[cast.patient.public_id]) in body
    assert 'name="confirm_new"' in body
    assert Patient.objects.filter(clinic=cast.clinic).count() == 1
    shown = AuditEvent.objects.get(detail="shown as a possible duplicate")
    assert (shown.patient_id, shown.username) == (str(cast.patient.public_id), "reception.demir")


def test_the_page_registers_anyway_when_confirmed(cast) -> None:
    client = cast.client_for(cast.receptionist)
    response = client.post(reverse("patients:new"), {**FORM, "confirm_new": "on"}, follow=True)
    assert response.status_code == 200
    assert "Ayse SAHIN is registered." in response.content.decode()
    assert Patient.objects.filter(clinic=cast.clinic).count() == 2


def api_post(cast, body: dict[str, Any]):
    return Client().post("/api/v1/patients", json.dumps(body), content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {cast.write_token}")


def test_the_api_answers_409_with_the_ids_then_registers_when_confirmed(cast) -> None:
    body = {"given_name": "Ayşe", "family_name": "Şahin", "birth_date": "1990-04-02",
            "sex": "female"}
    response = api_post(cast, body)
    assert response.status_code == 409
    answer = response.json()
    assert answer["field"] == "confirm_new"
    assert answer["duplicates"] == [str(cast.patient.public_id)]
    assert Patient.objects.filter(clinic=cast.clinic).count() == 1
    response = api_post(cast, {**body, "confirm_new": True})
    assert response.status_code == 201
    assert "confirm_new" not in response.json()
    assert Patient.objects.filter(clinic=cast.clinic).count() == 2
