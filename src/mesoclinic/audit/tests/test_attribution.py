"""Denials and sign-ins are filed under a clinic, so that clinic's auditor actually sees them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import time_machine
from django.test import Client
from django.urls import reverse

from mesoclinic.audit.models import AuditEvent


def _trail_csv(cast, **filters: str) -> list[dict[str, str]]:
    response = cast.client_for(cast.auditor).get(reverse("audit:export"), filters)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_failed_sign_in_of_a_clinic_member_reaches_that_clinics_auditor(cast) -> None:
    response = Client().post(reverse("accounts:login"),
                             {"username": "nurse.kaya", "password": "wrong-password-1"})
    assert response.status_code == 422
    rows = [r for r in _trail_csv(cast, action="sign_in") if r["outcome"] == "denied"]
    assert [(r["object_id"], r["clinic_id"], r["detail"]) for r in rows] == [
        ("nurse.kaya", str(cast.clinic.public_id), "wrong username or password")]


def test_failed_sign_in_of_an_unknown_name_belongs_to_no_clinic_and_every_auditor_sees_it(
        cast) -> None:
    Client().post(reverse("accounts:login"), {"username": "nobody", "password": "x" * 12})
    event = AuditEvent.objects.get(object_id="nobody")
    assert (event.outcome, event.clinic_id, event.organisation_id) == ("denied", "", "")
    assert [(r["object_id"], r["outcome"]) for r in _trail_csv(cast, action="sign_in")] == [
        ("nobody", "denied")]


KNOCK = datetime(2026, 3, 1, 10, 15, 30, tzinfo=UTC)
MINUTE_LATER = datetime(2026, 3, 1, 10, 16, 0, tzinfo=UTC)


def test_anonymous_request_for_a_chart_is_filed_under_the_patients_clinic(cast) -> None:
    url = reverse("patients:chart", args=[cast.patient.public_id])
    with time_machine.travel(KNOCK, tick=False):
        response = Client().get(url)
    assert response.status_code == 302
    # Anonymous refusals are counted; the minute's count becomes an event once the minute is over.
    with time_machine.travel(MINUTE_LATER, tick=False):
        event = AuditEvent.objects.get()
    assert (event.outcome, event.username, event.clinic_id, event.patient_id, event.object_id) == (
        "denied", "", str(cast.clinic.public_id), str(cast.patient.public_id),
        str(cast.patient.public_id))
    assert (event.detail, event.changes) == ("not signed in: 1 request in this minute", {"count": 1})


def test_api_call_without_a_token_is_audited_as_denied(db) -> None:
    with time_machine.travel(KNOCK, tick=False):
        response = Client().get("/api/v1/patients")
    assert response.status_code == 401
    with time_machine.travel(MINUTE_LATER, tick=False):
        event = AuditEvent.objects.get()
    assert (event.via, event.outcome, event.object_type, event.object_id, event.changes) == (
        "api", "denied", "api", "/api/v1/patients", {"count": 1})
    assert event.at == datetime(2026, 3, 1, 10, 15, tzinfo=UTC)


def test_date_filters_use_the_auditors_clinic_day(cast) -> None:
    # 22:30 UTC on 1 March is already 2 March in Istanbul (UTC+3), the clinic's time zone.
    with time_machine.travel(datetime(2026, 3, 1, 22, 30, tzinfo=UTC), tick=False):
        cast.client_for(cast.physician).get(reverse("patients:chart", args=[cast.patient.public_id]))
    march_2 = _trail_csv(cast, date_from="2026-03-02", date_to="2026-03-02", action="view")
    march_1 = _trail_csv(cast, date_from="2026-03-01", date_to="2026-03-01", action="view")
    assert [r["username"] for r in march_2] == ["dr.house"]
    assert march_1 == []
