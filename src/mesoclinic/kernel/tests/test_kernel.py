"""The clinic kernel: scoped views, break-glass limits, the clinic's zone and the layering."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients.models import Allergy, BreakGlassGrant, MedicalHistory, Patient, Workup

ROOT = Path(__file__).resolve().parents[4]


def _grant(cast) -> None:
    BreakGlassGrant.objects.create(user=cast.sister_physician, patient=cast.patient,
                                   reason="Unconscious in our Berlin clinic, allergies?",
                                   expires_at=timezone.now() + timedelta(hours=4))


def test_break_glass_reads_the_chart_flagged(cast) -> None:
    _grant(cast)
    response = cast.client_for(cast.sister_physician).get(
        reverse("patients:chart", args=[cast.patient.public_id]))
    assert response.status_code == 200
    assert "Secret clinical note" in response.content.decode()
    event = AuditEvent.objects.get()
    assert (event.action, event.break_glass, event.clinic_id) == (
        "view", True, str(cast.clinic.public_id))


def test_break_glass_may_add_an_allergy(cast) -> None:
    _grant(cast)
    response = cast.client_for(cast.sister_physician).post(
        reverse("patients:allergy-add", args=[cast.patient.public_id]),
        {"substance": "Lidocaine", "reaction": "anaphylaxis", "severity": "severe"})
    assert response.status_code == 302
    assert Allergy.objects.get(patient=cast.patient).substance == "Lidocaine"


@pytest.mark.parametrize(
    ("route", "data"),
    [
        ("patients:edit", {"given_name": "Changed", "family_name": "Name", "birth_date": "1990-04-02",
                           "sex": "female"}),
        ("patients:history", dict.fromkeys(MedicalHistory.CLINICAL_FIELDS, "no")),
        ("patients:workup-sign-off", {}),
        ("patients:lab-add", {"kind": "blood", "taken_on": "2026-01-01", "summary": "normal"}),
    ],
)
def test_break_glass_cannot_change_the_record(cast, route, data) -> None:
    """Finding 14: an emergency grant is for reading and adding safety information only."""
    _grant(cast)
    before = (Patient.objects.get(pk=cast.patient.pk).given_name,
              MedicalHistory.objects.count(), Workup.objects.count())
    response = cast.client_for(cast.sister_physician).post(
        reverse(route, args=[cast.patient.public_id]), data)
    assert response.status_code == 403
    assert (Patient.objects.get(pk=cast.patient.pk).given_name,
            MedicalHistory.objects.count(), Workup.objects.count()) == before
    denial = AuditEvent.objects.get()
    assert (denial.outcome, denial.username) == ("denied", "dr.weber")
    assert denial.detail.startswith("missing permission")


def test_pages_render_times_in_the_clinic_zone(cast) -> None:
    """The server runs in UTC; an Istanbul clinic's chart shows Istanbul time (UTC+3)."""
    signed = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    Workup.objects.create(patient=cast.patient, signed_off_by=cast.physician, signed_off_at=signed)
    body = cast.client_for(cast.physician).get(
        reverse("patients:chart", args=[cast.patient.public_id])).content.decode()
    assert "2 Mar 2026, 1:30 a.m. GMT+3" in body
    assert "22:30" not in body


def test_the_import_layers_hold() -> None:
    """Kernel and audit at the bottom, then the record, the stages, the API (pyproject.toml)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True,  # noqa: S603
                            check=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout
