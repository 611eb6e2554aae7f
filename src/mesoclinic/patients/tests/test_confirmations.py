"""Every save on the record says so: a message in the page's status region."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.audit.log import Actor
from mesoclinic.patients import actions
from mesoclinic.patients.tests.test_authorisation_matrix import post_data


@pytest.mark.parametrize(("page", "message"), [
    ("edit", "Details saved."),
    ("history", "Medical history saved."),
    ("medication-add", "Medication added."),
    ("allergy-add", "Allergy added."),
    ("lab-add", "Test result added."),
    ("workup", "Workup saved."),
])
def test_each_save_confirms_in_the_status_region(cast, page: str, message: str) -> None:
    client = cast.client_for(cast.physician)
    data = post_data(page) | ({"family_name": "Çelik"} if page == "edit" else {}) | (
        {"based_on": "0"} if page == "workup" else {})  # no workup yet: version 0
    response = client.post(reverse(f"patients:{page}", args=[cast.patient.public_id]), data,
                           follow=True)
    assert response.redirect_chain[-1][0] == reverse("patients:chart", args=[cast.patient.public_id])
    body = response.content.decode()
    status = body[body.index('role="status"'):]
    assert message in status[:400]


def test_registering_sign_off_stop_and_withdraw_confirm(cast) -> None:
    client = cast.client_for(cast.physician)
    chart = reverse("patients:chart", args=[cast.patient.public_id])
    response = client.post(reverse("patients:new"), post_data("new"), follow=True)
    assert "Deniz Arslan is registered." in response.content.decode()
    client.post(reverse("patients:workup", args=[cast.patient.public_id]),
                post_data("workup") | {"based_on": "0"})
    response = client.post(reverse("patients:workup-sign-off", args=[cast.patient.public_id]),
                           follow=True)
    assert "Workup signed off." in response.content.decode()
    medication = actions.add_medication(patient=cast.patient, data={"name": "Aspirin"},
                                        by=cast.physician, actor=Actor())
    response = client.post(reverse("patients:medication-stop",
                                   args=[cast.patient.public_id, medication.public_id]),
                           {"last_dose_on": "2025-01-20"}, follow=True)
    assert "Last dose recorded." in response.content.decode()
    response = client.post(reverse("patients:medication-retract",
                                   args=[cast.patient.public_id, medication.public_id]),
                           {"reason": "wrong patient"}, follow=True)
    assert response.redirect_chain[-1][0] == chart
    assert "Entry withdrawn" in response.content.decode()
