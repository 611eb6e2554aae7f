"""The plan pages: who may open them, the editor's live check, saving and approving."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
from mesoclinic.plans import actions
from mesoclinic.plans.actions import PlanDraft
from mesoclinic.plans.forms import PlanForm
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.plans.tests.helpers import draft, with_sessions


def _plan(cast: Any) -> TreatmentPlan:
    actor = Actor(user_id=str(cast.physician.public_id), username="dr.house", role="physician",
                  via="web")
    return actions.create_plan(patient=cast.patient, draft=draft(), by=cast.physician, actor=actor)


def _post_data(d: PlanDraft, **extra: Any) -> dict[str, Any]:
    data = {k: ("" if v is None else v) for k, v in PlanForm.initial_for(d).items()
            if not isinstance(v, list)}
    data["outcome_measures"] = list(d.values.outcome_measures)
    data.update(extra)
    return data


@pytest.mark.django_db
def test_the_editor_opens_with_the_protocols_values(cast):
    client = cast.client_for(cast.physician, cast.clinic)
    url = reverse("plans:new", args=[cast.patient.public_id])
    response = client.get(url, {"indication": "rejuvenation", "area": "face", "area_size": "standard"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["sessions"] == draft().values.sessions
    assert 'data-testid="deviation"' not in response.content.decode()


@pytest.mark.django_db
def test_an_indication_on_the_wrong_area_is_refused_at_the_first_step(cast):
    client = cast.client_for(cast.physician, cast.clinic)
    response = client.get(reverse("plans:new", args=[cast.patient.public_id]),
                          {"indication": "stretch_marks", "area": "scalp", "area_size": "standard"})
    assert response.status_code == 422
    assert "not treated on this area" in response.content.decode()


@pytest.mark.django_db
def test_saving_the_editor_creates_a_draft_plan(cast):
    client = cast.client_for(cast.physician, cast.clinic)
    url = reverse("plans:new", args=[cast.patient.public_id]) + \
        "?indication=rejuvenation&area=face&area_size=standard"
    response = client.post(url, _post_data(draft()))
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    plan = TreatmentPlan.objects.get(patient=cast.patient)
    assert response["Location"] == reverse("plans:detail", args=[cast.patient.public_id, plan.public_id])
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    assert "hyaluronic" in detail.content.decode().lower()


@pytest.mark.django_db
def test_an_unjustified_deviation_is_refused_on_the_page_and_nothing_saved(cast):
    client = cast.client_for(cast.physician, cast.clinic)
    url = reverse("plans:new", args=[cast.patient.public_id]) + \
        "?indication=rejuvenation&area=face&area_size=standard"
    response = client.post(url, _post_data(with_sessions(draft(), 14)))
    assert response.status_code == 422
    assert not TreatmentPlan.objects.exists()
    assert "write why" in response.content.decode()


@pytest.mark.django_db
def test_the_live_check_flags_a_value_outside_the_protocol(cast):
    client = cast.client_for(cast.physician, cast.clinic)
    response = client.post(reverse("plans:check", args=[cast.patient.public_id]),
                           _post_data(with_sessions(draft(), 14)), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="deviation"' in body
    assert "justify__sessions" in body
    assert not TreatmentPlan.objects.exists()


@pytest.mark.django_db
def test_an_unfinished_solution_row_does_not_hide_a_deviation(cast):
    """Half a solution row makes the form unsaveable, yet the values are still compared."""
    client = cast.client_for(cast.physician, cast.clinic)
    data = _post_data(with_sessions(draft(), 14), ingredient_2="", concentration_2="3")
    response = client.post(reverse("plans:check", args=[cast.patient.public_id]), data,
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'data-testid="deviation"' in body
    assert "Solution row 3: Choose the ingredient for this row." in body
    assert 'data-testid="within-protocol"' not in body


@pytest.mark.django_db
def test_an_invalid_value_is_named_instead_of_calling_the_plan_within_protocol(cast):
    client = cast.client_for(cast.physician, cast.clinic)
    data = _post_data(draft(), session_minutes="many")
    response = client.post(reverse("plans:check", args=[cast.patient.public_id]), data,
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Complete these values to compare them with the protocol: Minutes per session" in body
    assert 'data-testid="within-protocol"' not in body


@pytest.mark.django_db
def test_approving_on_the_page_proposes_the_plan(cast):
    plan = _plan(cast)
    client = cast.client_for(cast.physician, cast.clinic)
    response = client.post(reverse("plans:approve", args=[cast.patient.public_id, plan.public_id]))
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.PROPOSED


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["nurse", "receptionist", "manager", "auditor"])
def test_only_physicians_write_or_approve_plans(cast, who):
    plan = _plan(cast)
    client = cast.client_for(getattr(cast, who), cast.clinic)
    new = client.get(reverse("plans:new", args=[cast.patient.public_id]))
    approve = client.post(reverse("plans:approve", args=[cast.patient.public_id, plan.public_id]))
    assert new.status_code == 403
    assert approve.status_code == 403
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.DRAFT


@pytest.mark.django_db
def test_a_nurse_reads_a_plan_and_reception_cannot(cast):
    plan = _plan(cast)
    url = reverse("plans:detail", args=[cast.patient.public_id, plan.public_id])
    assert cast.client_for(cast.nurse, cast.clinic).get(url).status_code == 200
    assert cast.client_for(cast.receptionist, cast.clinic).get(url).status_code == 403
    assert AuditEvent.objects.filter(object_type="treatment_plan", action="view",
                                     username="nurse.kaya").exists()


@pytest.mark.django_db
def test_another_clinics_physician_and_another_patients_url_get_404(cast):
    plan = _plan(cast)
    url = reverse("plans:detail", args=[cast.patient.public_id, plan.public_id])
    assert cast.client_for(cast.foreign_physician, cast.foreign).get(url).status_code == 404
    other = reverse("plans:detail", args=[cast.sister_patient.public_id, plan.public_id])
    assert cast.client_for(cast.sister_physician, cast.sister).get(other).status_code == 404


@pytest.mark.django_db
def test_the_chart_lists_the_plan(cast):
    plan = _plan(cast)
    body = cast.client_for(cast.physician, cast.clinic).get(
        reverse("patients:chart", args=[cast.patient.public_id])).content.decode()
    assert reverse("plans:detail", args=[cast.patient.public_id, plan.public_id]) in body
