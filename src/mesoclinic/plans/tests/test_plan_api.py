"""The plan endpoints with staff sessions: the same roles, refusals and audit as the pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from mesoclinic.audit.models import AuditEvent
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.plans.tests.helpers import draft, payload, with_sessions


def _post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def _plans_url(cast: Any) -> str:
    return f"/api/v1/patients/{cast.patient.public_id}/plans"


@pytest.mark.django_db
def test_a_physician_writes_reads_and_approves_a_plan_through_the_api(cast):
    client = cast.client_for(cast.physician, cast.clinic)
    created = _post(client, _plans_url(cast), payload(draft()))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft"
    assert [s["ingredient"] for s in body["solution"]] == ["hyaluronic_acid", "vitamin_c"]
    url = f"{_plans_url(cast)}/{body['id']}"
    assert client.get(url).json()["version"] == 1
    approved = _post(client, f"{url}/approve", {})
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "proposed"
    assert approved.json()["screening_id"]


@pytest.mark.django_db
def test_an_unknown_ingredient_is_a_422_naming_the_field_and_nothing_is_saved(cast):
    client = cast.client_for(cast.physician, cast.clinic)
    body = payload(draft())
    body["solution"][0]["ingredient"] = "snake oil"
    response = _post(client, _plans_url(cast), body)
    assert response.status_code == 422
    assert response.json()["field"] == "solution[0].ingredient"
    assert not TreatmentPlan.objects.exists()


@pytest.mark.django_db
def test_an_unjustified_deviation_is_a_422_naming_the_justification(cast):
    client = cast.client_for(cast.physician, cast.clinic)
    response = _post(client, _plans_url(cast), payload(with_sessions(draft(), 14)))
    assert response.status_code == 422
    assert response.json()["field"] == "justifications.sessions"


@pytest.mark.django_db
def test_a_stale_revision_is_a_409(cast):
    client = cast.client_for(cast.physician, cast.clinic)
    plan_id = _post(client, _plans_url(cast), payload(draft())).json()["id"]
    url = f"{_plans_url(cast)}/{plan_id}"
    one_ingredient = draft(solution=draft().solution[:1])
    first = client.put(url, json.dumps({**payload(one_ingredient), "based_on": 1}),
                       content_type="application/json")
    assert first.json()["version"] == 2
    stale = client.put(url, json.dumps({**payload(draft()), "based_on": 1}),
                       content_type="application/json")
    assert stale.status_code == 409
    assert stale.json()["field"] == "based_on"


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "read", "write"), [
    ("nurse", 200, 403), ("receptionist", 403, 403), ("manager", 403, 403), ("auditor", 403, 403),
])
def test_roles_on_the_plan_api_match_the_pages(cast, who, read, write):
    client = cast.client_for(getattr(cast, who), cast.clinic)
    assert client.get(_plans_url(cast)).status_code == read
    assert _post(client, _plans_url(cast), payload(draft())).status_code == write
    assert not TreatmentPlan.objects.exists()
    assert AuditEvent.objects.filter(object_type="treatment_plan", username=getattr(cast, who).username,
                                     outcome="denied").exists() == (write == 403)


@pytest.mark.django_db
def test_a_session_write_without_the_csrf_token_is_refused(cast):
    client = Client(enforce_csrf_checks=True)
    session_client = cast.client_for(cast.physician, cast.clinic)
    client.cookies = session_client.cookies
    response = _post(client, _plans_url(cast), payload(draft()))
    assert response.status_code == 403
    assert not TreatmentPlan.objects.exists()


@pytest.mark.django_db
def test_another_organisations_physician_gets_404(cast):
    client = cast.client_for(cast.foreign_physician, cast.foreign)
    assert client.get(_plans_url(cast)).status_code == 404
