"""Consent and plan quotes over REST with staff sessions: the pages' rules, roles and audit."""

from __future__ import annotations

import json
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from pypdf import PdfReader

from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
from mesoclinic.plans import actions, pricing
from mesoclinic.plans.models import Consent, Quote, TreatmentPlan
from mesoclinic.plans.prices import save_price_list
from mesoclinic.plans.tests.helpers import draft, with_sessions


def _actor(user: Any) -> Actor:
    return Actor(user_id=str(user.public_id), username=user.username, role="test", via="web")


def _post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def _proposed(cast: Any) -> TreatmentPlan:
    plan = actions.create_plan(patient=cast.patient, draft=draft(), by=cast.physician,
                               actor=_actor(cast.physician))
    return actions.approve_plan(plan=plan, by=cast.physician, actor=_actor(cast.physician))


def _plan_url(cast: Any, plan: TreatmentPlan) -> str:
    return f"/api/v1/patients/{cast.patient.public_id}/plans/{plan.public_id}"


def _signature(shown: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {k: shown[k] for k in ("patient_id", "plan_version", "template", "template_version",
                                  "language", "sha256")}
    body.update(signer_name="Ayşe Şahin", method="typed", confirmed=True, photo_consent=False)
    body.update(changes)
    return body


@pytest.mark.django_db
def test_a_nurse_shows_the_text_and_records_a_typed_signature(cast):
    plan = _proposed(cast)
    nurse = cast.client_for(cast.nurse, cast.clinic)
    shown = nurse.get(f"{_plan_url(cast, plan)}/consent-text?language=tr")
    assert shown.status_code == 200
    text = shown.json()
    assert text["language"] == "tr"
    assert "Ayşe Şahin" in text["header"]
    signed = _post(nurse, f"{_plan_url(cast, plan)}/consents", _signature(text))
    assert signed.status_code == 201, signed.content
    body = signed.json()
    assert body["sha256"] == text["sha256"]
    assert body["witness"] == cast.nurse.display_name
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.ACCEPTED
    consent = Consent.objects.get(public_id=body["id"])
    pdf = PdfReader(BytesIO(default_storage.open(consent.pdf.name).read()))
    assert "Ayşe Şahin" in "".join(page.extract_text() for page in pdf.pages)
    listed = nurse.get(f"{_plan_url(cast, plan)}/consents").json()
    assert [c["id"] for c in listed] == [body["id"]]


@pytest.mark.django_db
def test_a_text_that_changed_after_it_was_shown_is_refused_and_nothing_is_saved(cast):
    plan = _proposed(cast)
    nurse = cast.client_for(cast.nurse, cast.clinic)
    text = nurse.get(f"{_plan_url(cast, plan)}/consent-text").json()
    response = _post(nurse, f"{_plan_url(cast, plan)}/consents", _signature(text, sha256="0" * 64))
    assert response.status_code == 409
    assert response.json()["field"] == "text"
    assert not Consent.objects.exists()
    refused = AuditEvent.objects.get(object_type="consent", outcome=AuditEvent.Outcome.DENIED)
    assert refused.patient_id == str(cast.patient.public_id)


@pytest.mark.django_db
def test_a_consent_shown_for_an_older_plan_version_is_refused(cast):
    plan = _proposed(cast)
    nurse = cast.client_for(cast.nurse, cast.clinic)
    text = nurse.get(f"{_plan_url(cast, plan)}/consent-text").json()
    actions.revise_plan(plan=plan, draft=with_sessions(draft(), 9), based_on=1, by=cast.physician,
                        actor=_actor(cast.physician))
    response = _post(nurse, f"{_plan_url(cast, plan)}/consents", _signature(text))
    assert response.status_code == 409
    assert response.json()["field"] == "plan_version"
    assert not Consent.objects.exists()


@pytest.mark.django_db
def test_a_drawn_signature_that_is_not_an_image_is_a_422(cast):
    plan = _proposed(cast)
    nurse = cast.client_for(cast.nurse, cast.clinic)
    text = nurse.get(f"{_plan_url(cast, plan)}/consent-text").json()
    response = _post(nurse, f"{_plan_url(cast, plan)}/consents",
                     _signature(text, method="drawn", signature="data:image/png;base64,AAAA"))
    assert response.status_code == 422
    assert response.json()["field"] == "signature"
    assert not Consent.objects.exists()


@pytest.mark.django_db
def test_withdrawal_over_the_api_stops_the_plan(cast):
    plan = _proposed(cast)
    nurse = cast.client_for(cast.nurse, cast.clinic)
    text = nurse.get(f"{_plan_url(cast, plan)}/consent-text").json()
    consent = _post(nurse, f"{_plan_url(cast, plan)}/consents", _signature(text)).json()
    plan.refresh_from_db()
    actions.activate_plan(plan=plan, actor=_actor(cast.physician))
    url = f"/api/v1/patients/{cast.patient.public_id}/consents/{consent['id']}/withdrawal"
    assert _post(nurse, url, {"reason": "x"}).json()["field"] == "reason"
    response = _post(nurse, url, {"reason": "She no longer wants the treatment."})
    assert response.status_code == 200
    assert response.json()["withdrawn_at"]
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.STOPPED
    assert _post(nurse, url, {"reason": "Again."}).status_code == 409


@pytest.mark.django_db
def test_reception_cannot_read_or_sign_consent_and_each_refusal_is_audited(cast):
    plan = _proposed(cast)
    reception = cast.client_for(cast.receptionist, cast.clinic)
    before = AuditEvent.objects.filter(outcome=AuditEvent.Outcome.DENIED).count()
    assert reception.get(f"{_plan_url(cast, plan)}/consent-text").status_code == 403
    assert reception.get(f"{_plan_url(cast, plan)}/consents").status_code == 403
    assert AuditEvent.objects.filter(outcome=AuditEvent.Outcome.DENIED).count() == before + 2


def _prices(cast: Any) -> None:
    entries = (pricing.PriceEntry("face", "standard", "physician", "cosmetic", Decimal("3500.00")),
               pricing.PriceEntry("face", "standard", "physician", "medical", Decimal("3000.00")))
    pl = pricing.PriceList("TRY", Decimal("0.20"), Decimal("1.00"), entries,
                           (pricing.PackageDiscount(6, Decimal("10")),), Decimal("1000.00"))
    save_price_list(clinic=cast.clinic, price_list=pl, by=cast.manager, actor=_actor(cast.manager))


@pytest.mark.django_db
def test_reception_issues_and_the_patient_accepts_a_quote_over_the_api(cast):
    _prices(cast)
    plan = _proposed(cast)
    reception = cast.client_for(cast.receptionist, cast.clinic)
    issued = _post(reception, f"{_plan_url(cast, plan)}/quotes",
                   {"grade": "physician", "extra_checkups": 1})
    assert issued.status_code == 201, issued.content
    quote = issued.json()
    # 8 × 3500.00 = 28000.00, 10 % off −2800.00, one check-up 1000.00: 26200.00 + 20 % = 31440.00
    assert [line["code"] for line in quote["lines"]] == ["sessions", "package_discount", "checkups"]
    assert (quote["subtotal"], quote["tax"], quote["total"]) == ("26200.00", "5240.00", "31440.00")
    url = f"/api/v1/patients/{cast.patient.public_id}/quotes/{quote['id']}"
    assert reception.get(url).json()["total"] == "31440.00"
    accepted = _post(reception, f"{url}/acceptance")
    assert accepted.status_code == 200
    assert accepted.json()["accepted_at"]
    again = _post(reception, f"{url}/acceptance")
    assert again.status_code == 409
    assert again.json()["field"] == "quote"
    listed = reception.get(f"{_plan_url(cast, plan)}/quotes").json()
    assert [q["id"] for q in listed] == [quote["id"]]


@pytest.mark.django_db
def test_a_quote_for_an_unknown_grade_is_a_422_and_nothing_is_saved(cast):
    _prices(cast)
    plan = _proposed(cast)
    reception = cast.client_for(cast.receptionist, cast.clinic)
    response = _post(reception, f"{_plan_url(cast, plan)}/quotes", {"grade": "intern"})
    assert response.status_code == 422
    assert response.json()["field"] == "grade"
    assert not Quote.objects.exists()


@pytest.mark.django_db
def test_a_quote_without_a_price_list_names_it(cast):
    plan = _proposed(cast)
    response = _post(cast.client_for(cast.physician, cast.clinic),
                     f"{_plan_url(cast, plan)}/quotes", {"grade": "physician"})
    assert response.status_code == 422
    assert response.json()["field"] == "price_list"


@pytest.mark.django_db
def test_an_api_token_may_price_a_request_but_not_a_patients_plan(cast):
    _prices(cast)
    plan = _proposed(cast)
    token = {"Authorization": f"Bearer {cast.write_token}"}
    response = Client().post(f"{_plan_url(cast, plan)}/quotes", json.dumps({"grade": "physician"}),
                             content_type="application/json", headers=token)
    assert response.status_code == 403
    assert not Quote.objects.exists()
    refused = AuditEvent.objects.filter(object_type="quote", outcome=AuditEvent.Outcome.DENIED)
    assert refused.filter(patient_id=str(cast.patient.public_id)).exists()


@pytest.mark.django_db
def test_another_clinic_sees_no_such_patient(cast):
    plan = _proposed(cast)
    sister = cast.client_for(cast.sister_physician)
    assert sister.get(f"{_plan_url(cast, plan)}/consents").status_code == 404
    assert sister.get(f"{_plan_url(cast, plan)}/quotes").status_code == 404
