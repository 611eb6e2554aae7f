"""Every URL pattern and every API operation against every role: one row each, or this fails.

A new page or endpoint cannot ship without saying who may reach it. Each cell is the exact
status (or a redirect to sign in); a refusal leaks no patient data and changes nothing.
The per-app matrices (patients, screening) go deeper: effects, audit events, leaked fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mesoclinic.accounts.models import ApiToken, Membership, User
from mesoclinic.api.plans import QUOTE_EXAMPLE
from mesoclinic.api.scheduling import PLANNER_EXAMPLE
from mesoclinic.api.views import _SCREENING_EXAMPLE, api
from mesoclinic.audit.log import Actor
from mesoclinic.charting.models import (
    AftercareSheet,
    AllergyTest,
    CreamApplication,
    SessionAmendment,
    SessionComponent,
    TreatmentSession,
)
from mesoclinic.inventory import actions as inventory_actions
from mesoclinic.inventory.models import Lot, Product, StockMove
from mesoclinic.knowledge.models import KnowledgeRevision
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.patients.models import (
    Allergy,
    BreakGlassGrant,
    LabResult,
    MedicalHistory,
    Medication,
    Patient,
    Workup,
)
from mesoclinic.patients.tests.factories import AllergyFactory, MedicationFactory
from mesoclinic.photos.imaging import encode_jpeg
from mesoclinic.photos.models import OutcomeMeasure, Photo, PhotoSet, Simulation
from mesoclinic.plans.actions import create_plan
from mesoclinic.plans.models import Consent, PlanVersion, Quote, TreatmentPlan
from mesoclinic.plans.tests.helpers import draft as plan_draft
from mesoclinic.plans.tests.helpers import payload as plan_payload
from mesoclinic.safety.models import AdverseEvent, Alert, CheckIn, Cluster, ClusterCall
from mesoclinic.scheduling import feeds
from mesoclinic.scheduling.models import Appointment
from mesoclinic.screening.actions import screen_patient
from mesoclinic.screening.models import FindingAcceptance, Screening

ROLES = ("physician", "nurse", "receptionist", "manager", "auditor", "sister_physician", "anonymous")
LOGIN = "login"  # a redirect to the sign-in page
SECRET = "Secret clinical note"


def row(method: str, physician: Any, nurse: Any, receptionist: Any, manager: Any, auditor: Any,
        sister: Any, anonymous: Any = LOGIN) -> tuple[str, dict[str, Any]]:
    return method, dict(zip(ROLES, (physician, nurse, receptionist, manager, auditor, sister,
                                     anonymous), strict=True))


CLINICAL = (200, 200, 403, 403, 403, 404)

# URL name → (method, expected per role). GET rows expect the page; POST rows send an empty form.
PAGES: dict[str, tuple[str, dict[str, Any]]] = {
    "home": row("GET", 302, 302, 302, 302, 302, 302, anonymous=302),
    "health": row("GET", 200, 200, 200, 200, 200, 200, anonymous=200),
    "accounts:login": row("GET", 302, 302, 302, 302, 302, 302, anonymous=200),
    "accounts:two-factor": row("GET", 302, 302, 302, 302, 302, 302, anonymous=302),
    "accounts:enrol": row("GET", 302, 302, 302, 302, 302, 302, anonymous=302),
    "accounts:recovery-codes": row("GET", 200, 200, 200, 200, 200, 200),
    # Security settings ask for the password and a code first (none of these clients gave them).
    "accounts:regenerate-recovery-codes": row("GET", 302, 302, 302, 302, 302, 302),
    "accounts:reauth": row("GET", 200, 200, 200, 200, 200, 200),
    "accounts:logout": row("POST", 302, 302, 302, 302, 302, 302, anonymous=302),
    "accounts:logout-everywhere": row("POST", 302, 302, 302, 302, 302, 302),
    "accounts:switch-clinic": row("POST", 400, 400, 400, 400, 400, 400),
    "patients:list": row("GET", 200, 200, 200, 403, 403, 200),
    "patients:new": row("GET", 200, 403, 200, 403, 403, 200),
    "patients:other-clinics": row("GET", 200, 403, 403, 403, 403, 200),
    "patients:chart": row("GET", 200, 200, 200, 403, 403, 404),
    "patients:edit": row("GET", 200, 403, 200, 403, 403, 404),
    "patients:history": row("GET", *CLINICAL),
    "patients:medication-add": row("GET", *CLINICAL),
    "patients:medication-stop": row("GET", *CLINICAL),
    "patients:medication-retract": row("GET", *CLINICAL),
    "patients:allergy-add": row("GET", *CLINICAL),
    "patients:allergy-retract": row("GET", *CLINICAL),
    "patients:lab-add": row("GET", *CLINICAL),
    "patients:workup": row("GET", *CLINICAL),
    "patients:workup-sign-off": row("POST", 302, 403, 403, 403, 403, 404),
    # Refused while an allergy is on record (the fixture has one): back to the chart, saying so.
    "patients:no-known-allergies": row("POST", 302, 302, 403, 403, 403, 404),
    # The patient's own physician needs no emergency access: straight to the chart.
    "patients:break-glass": row("GET", 302, 403, 403, 403, 403, 200),
    "screening:new": row("GET", *CLINICAL),
    "screening:detail": row("GET", *CLINICAL),
    "screening:accept": row("POST", 422, 403, 403, 403, 403, 404),
    "screening:medication-find": row("GET", *CLINICAL),
    # Coding a medicine settles an UNCLASSIFIED_MEDICATION review: physicians only.
    "screening:medication-code": row("GET", 200, 403, 403, 403, 403, 404),
    # Plans: physicians write and approve; nurses read (they treat under the plan); reception not.
    "plans:new": row("GET", 200, 403, 403, 403, 403, 404),
    "plans:check": row("POST", 422, 403, 403, 403, 403, 404),
    "plans:detail": row("GET", *CLINICAL),
    "plans:edit": row("GET", 200, 403, 403, 403, 403, 404),
    "plans:approve": row("POST", 302, 403, 403, 403, 403, 404),
    "plans:move": row("POST", 400, 403, 403, 403, 403, 404),
    # The manager keeps the price list; an empty form is refused (422).
    "clinic-prices": row("POST", 403, 403, 403, 422, 403, 403),
    # Consent: physicians and nurses witness and record it; the PDF is clinical.
    "plans:consent-sign": row("GET", *CLINICAL),
    "plans:consent-pdf": row("GET", *CLINICAL),
    "plans:consent-withdraw": row("POST", 302, 302, 403, 403, 403, 404),
    # Quotes: reception and physicians (money, no clinical content); an empty form is a 422.
    "plans:quote-new": row("GET", 200, 403, 200, 403, 403, 404),
    "plans:quote": row("GET", 200, 403, 200, 403, 403, 404),
    "plans:quote-pdf": row("GET", 200, 403, 200, 403, 403, 404),
    "plans:quote-accept": row("POST", 302, 403, 302, 403, 403, 404),
    "knowledge:browse": row("GET", 200, 200, 200, 200, 200, 200),
    # Only the medical director edits the pack (nobody in this cast is).
    "knowledge:edit": row("GET", 403, 403, 403, 403, 403, 403),
    "audit:trail": row("GET", 403, 403, 403, 403, 200, 403),
    "audit:export": row("GET", 403, 403, 403, 403, 200, 403),
    "staff:list": row("GET", 403, 403, 403, 200, 200, 403),
    # Managing staff (the nurse's page): managers only; an empty form is refused or re-shown.
    "staff:new": row("GET", 403, 403, 403, 200, 403, 403),
    "staff:detail": row("GET", 403, 403, 403, 200, 403, 403),
    "staff:roles": row("POST", 403, 403, 403, 302, 403, 403),
    "staff:credential-add": row("POST", 403, 403, 403, 422, 403, 403),
    "staff:deactivate": row("POST", 403, 403, 403, 302, 403, 403),
    "staff:reactivate": row("POST", 403, 403, 403, 302, 403, 403),
    "staff:preferences": row("GET", 200, 200, 200, 200, 200, 200),
    "staff:tokens": row("GET", 403, 403, 403, 302, 403, 403),
    "staff:revoke-token": row("POST", 403, 403, 403, 302, 403, 403),
    # The API's own pages: the schema and its docs carry no data (API rows are below).
    # Calendars name patients but no clinical notes: clinical staff and reception; the manager
    # keeps the hours, rooms and devices; feeds are a practitioner's own.
    "scheduling:day": row("GET", 200, 200, 200, 403, 403, 200),
    "scheduling:week": row("GET", 200, 200, 200, 403, 403, 200),
    "scheduling:today": row("GET", 200, 200, 200, 403, 403, 200),
    "scheduling:book": row("GET", 404, 404, 404, 403, 403, 404),
    "scheduling:resources": row("GET", 403, 403, 403, 200, 403, 403),
    "scheduling:my-feed": row("GET", 200, 200, 403, 403, 403, 200),
    "scheduling:feed": row("GET", 200, 200, 200, 200, 200, 200, anonymous=200),
    "scheduling:appointment": row("GET", 200, 200, 200, 403, 403, 404),
    "scheduling:move": row("POST", 422, 422, 422, 403, 403, 404),
    "scheduling:shift": row("POST", 302, 302, 302, 403, 403, 404),
    "scheduling:cancel": row("POST", 422, 422, 422, 403, 403, 404),
    "scheduling:series": row("GET", 200, 200, 200, 403, 403, 404),
    # Stock carries no patient data: physicians, nurses and the manager, not reception or auditors.
    # Changes need MANAGE_STOCK (nurses too; an empty form is refused), a recall RECALL (physician,
    # manager). The sister clinic's physician has her own stock, not this clinic's lot (404).
    "inventory:overview": row("GET", 200, 200, 403, 200, 403, 200),
    "inventory:lots": row("GET", 200, 200, 403, 200, 403, 200),
    "inventory:product-new": row("POST", 422, 422, 403, 422, 403, 422),
    "inventory:receive": row("POST", 422, 422, 403, 422, 403, 422),
    "inventory:lot": row("GET", 200, 200, 403, 200, 403, 404),
    "inventory:correct": row("POST", 422, 422, 403, 422, 403, 404),
    "inventory:transfer": row("POST", 422, 422, 403, 422, 403, 404),
    "inventory:recall": row("POST", 422, 403, 403, 422, 403, 404),
    # Sessions are clinical: physicians and nurses chart; the start page without its plan is a 404.
    "charting:start": row("GET", 404, 404, 403, 403, 403, 404),
    "charting:allergy-test": row("POST", 404, 404, 403, 403, 403, 404),
    "charting:cream": row("POST", 404, 404, 403, 403, 403, 404),
    "charting:rescreen": row("POST", 404, 404, 403, 403, 403, 404),
    "charting:session": row("GET", *CLINICAL),
    # The session in the record has no injection points yet: signing is refused (422).
    "charting:sign": row("POST", 422, 422, 403, 403, 403, 404),
    "charting:amend": row("POST", 422, 422, 403, 403, 403, 404),
    "charting:aftercare-pdf": row("GET", 404, 404, 403, 403, 403, 404),
    "charting:aftercare-send": row("POST", 302, 302, 403, 403, 403, 404),
    # Who received a lot names patients: clinical staff of the lot's clinic only.
    "recalls:list": row("GET", 200, 200, 403, 403, 403, 404),
    "recalls:csv": row("GET", 200, 200, 403, 403, 403, 404),
    # Side effects: physicians and nurses report and read them; closing, reopening and clearing
    # a hold are a physician's (the record's event is open, moderate, with an ongoing outcome).
    "adverse_events:report": row("GET", *CLINICAL),
    "adverse_events:event": row("GET", *CLINICAL),
    "adverse_events:edit": row("POST", 422, 422, 403, 403, 403, 404),
    "adverse_events:close": row("POST", 422, 403, 403, 403, 403, 404),
    "adverse_events:reopen": row("POST", 422, 403, 403, 403, 403, 404),
    "adverse_events:clear-hold": row("POST", 422, 403, 403, 403, 403, 404),
    # Alerts: clinicians see the clinic's; a manager only those addressed to them (this one is
    # the physician's). Only a recipient acknowledges: the physician does, then the nurse may not.
    "safety:alerts": row("GET", 200, 200, 403, 200, 403, 200),
    "safety:alert": row("GET", 200, 200, 403, 404, 403, 404),
    "safety:acknowledge": row("POST", 302, 403, 403, 404, 403, 404),
    # A cluster's call list names patients and phones, no clinical detail: the manager works it too.
    "safety:cluster": row("GET", 200, 200, 403, 200, 403, 404),
    "safety:cluster-call": row("POST", 422, 422, 403, 422, 403, 404),
    "safety:cluster-close": row("POST", 422, 403, 403, 403, 403, 404),
    "safety:checkins": row("GET", 200, 200, 403, 403, 403, 200),
    "safety:checkin": row("GET", 200, 200, 403, 403, 403, 404),
    "safety:settings": row("POST", 422, 403, 403, 422, 403, 422),
    # Rates name no patient: physicians and managers; the export is clinical: physicians.
    "safety:dashboard": row("GET", 200, 403, 403, 200, 403, 200),
    "safety:export-csv": row("GET", 200, 403, 403, 403, 403, 200),
    "safety:export-fhir": row("GET", 200, 403, 403, 403, 403, 200),
    # Photos are clinical; physicians and nurses take them, physicians simulate. Without the two
    # photos to compare (or the view to plot) the page is not found.
    "photos:index": row("GET", *CLINICAL),
    # The calibration sticker holds no patient data: whoever takes photos prints it.
    "photos:sticker": row("GET", 200, 200, 403, 403, 403, 200),
    "photos:upload": row("GET", *CLINICAL),
    "photos:compare": row("GET", 404, 404, 403, 403, 403, 404),
    "photos:metrics": row("GET", 404, 404, 403, 403, 403, 404),
    "photos:outcomes": row("GET", *CLINICAL),
    "photos:photo": row("GET", *CLINICAL),
    "photos:image": row("GET", *CLINICAL),
    "photos:download": row("GET", *CLINICAL),
    "photos:aligned": row("GET", *CLINICAL),
    "photos:points": row("POST", 302, 302, 403, 403, 403, 404),
    "photos:simulate": row("POST", 302, 403, 403, 403, 403, 404),
    "photos:simulation": row("GET", *CLINICAL),
    "photos:simulation-image": row("GET", *CLINICAL),
    "api:openapi-json": row("GET", 200, 200, 200, 200, 200, 200, anonymous=200),
    "api:openapi-view": row("GET", 200, 200, 200, 200, 200, 200, anonymous=200),
}
NOT_PAGES = {"api:api-root"}  # ninja's catch-all prefix, no view of its own

TOKENS = ("none", "read", "write", "sister")
# (METHOD, OpenAPI path) → expected per token.
OPERATIONS: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/api/v1/patients"): {"none": 401, "read": 200, "write": 200, "sister": 200},
    ("POST", "/api/v1/patients"): {"none": 401, "read": 403, "write": 201, "sister": 201},
    ("GET", "/api/v1/patients/{patient_id}"): {"none": 401, "read": 200, "write": 200, "sister": 404},
    ("PATCH", "/api/v1/patients/{patient_id}"): {"none": 401, "read": 403, "write": 200, "sister": 404},
    ("POST", "/api/v1/screenings"): {"none": 401, "read": 200, "write": 200, "sister": 200},
    # Plans are a physician's: no token holds plan rights (staff use them with their session,
    # plans/tests/test_plan_api.py). The sister clinic's token does not see the patient at all.
    **{op: {"none": 401, "read": 403, "write": 403, "sister": 404} for op in [
        ("GET", "/api/v1/patients/{patient_id}/plans"),
        ("POST", "/api/v1/patients/{patient_id}/plans"),
        ("GET", "/api/v1/patients/{patient_id}/plans/{plan_id}"),
        ("PUT", "/api/v1/patients/{patient_id}/plans/{plan_id}"),
        ("POST", "/api/v1/patients/{patient_id}/plans/{plan_id}/approve"),
        ("POST", "/api/v1/patients/{patient_id}/plans/{plan_id}/transitions"),
        # Consent is witnessed and a plan's quote issued by staff: tokens are refused even
        # where their scope could price a plan.
        ("GET", "/api/v1/patients/{patient_id}/plans/{plan_id}/consent-text"),
        ("GET", "/api/v1/patients/{patient_id}/plans/{plan_id}/consents"),
        ("POST", "/api/v1/patients/{patient_id}/plans/{plan_id}/consents"),
        ("POST", "/api/v1/patients/{patient_id}/consents/{consent_id}/withdrawal"),
        ("GET", "/api/v1/patients/{patient_id}/plans/{plan_id}/quotes"),
        ("POST", "/api/v1/patients/{patient_id}/plans/{plan_id}/quotes"),
        ("GET", "/api/v1/patients/{patient_id}/quotes/{quote_id}"),
        ("POST", "/api/v1/patients/{patient_id}/quotes/{quote_id}/acceptance"),
    ]},
    # Pricing reads no patient data: any token of a clinic, in its currency.
    ("POST", "/api/v1/quotes"): {"none": 401, "read": 200, "write": 200, "sister": 422},
    # Each token revokes itself.
    ("DELETE", "/api/v1/tokens/current"): {"none": 401, "read": 204, "write": 204, "sister": 204},
    # Scheduling acts on the token's own clinic: a booking website reads the calendar (any
    # token) and books (write); rooms and devices are the manager's. The appointment and plan ids
    # are unknown here (404); the write token's booking names no practitioner of the clinic (422).
    ("GET", "/api/v1/schedule/resources"): {"none": 401, "read": 200, "write": 200, "sister": 200},
    ("POST", "/api/v1/schedule/rooms"): {"none": 401, "read": 403, "write": 403, "sister": 403},
    ("POST", "/api/v1/schedule/devices"): {"none": 401, "read": 403, "write": 403, "sister": 403},
    ("GET", "/api/v1/appointments"): {"none": 401, "read": 200, "write": 200, "sister": 200},
    ("POST", "/api/v1/appointments"): {"none": 401, "read": 403, "write": 422, "sister": 404},
    ("GET", "/api/v1/appointments/{appointment_id}"): {"none": 401, "read": 404, "write": 404,
                                                       "sister": 404},
    **{op: {"none": 401, "read": 403, "write": 404, "sister": 404} for op in [
        ("POST", "/api/v1/appointments/{appointment_id}/move"),
        ("POST", "/api/v1/appointments/{appointment_id}/cancel"),
        ("POST", "/api/v1/patients/{patient_id}/plans/{plan_id}/series-proposal"),
        ("POST", "/api/v1/patients/{patient_id}/plans/{plan_id}/series"),
    ]},
    # The pure planner reads no calendar: any token.
    ("POST", "/api/v1/planner/series"): {"none": 401, "read": 200, "write": 200, "sister": 200},
    # Stock acts on the token's own clinic and carries no patient data: any token reads it, a
    # write token books deliveries, waste, corrections and transfers; a recall is a physician's
    # or manager's (no token). The lot id is unknown here (404); the delivery names no product of
    # the clinic (422).
    ("GET", "/api/v1/products"): {"none": 401, "read": 200, "write": 200, "sister": 200},
    ("GET", "/api/v1/lots"): {"none": 401, "read": 200, "write": 200, "sister": 200},
    ("POST", "/api/v1/lots"): {"none": 401, "read": 403, "write": 422, "sister": 422},
    ("GET", "/api/v1/lots/{lot_id}"): {"none": 401, "read": 404, "write": 404, "sister": 404},
    ("GET", "/api/v1/lots/{lot_id}/moves"): {"none": 401, "read": 404, "write": 404, "sister": 404},
    ("POST", "/api/v1/lots/{lot_id}/moves"): {"none": 401, "read": 403, "write": 404, "sister": 404},
    ("POST", "/api/v1/lots/{lot_id}/recall"): {"none": 401, "read": 403, "write": 403, "sister": 403},
    # Treatment sessions are for staff signed in: no token holds clinical rights.
    **{op: {"none": 401, "read": 401, "write": 401, "sister": 401} for op in [
        ("GET", "/api/v1/patients/{patient_id}/sessions"),
        ("GET", "/api/v1/sessions/{session_id}"),
        ("POST", "/api/v1/session-checks"),
        ("POST", "/api/v1/sessions"),
        ("PUT", "/api/v1/sessions/{session_id}/chart"),
        ("POST", "/api/v1/sessions/{session_id}/sign"),
        ("POST", "/api/v1/sessions/{session_id}/amendments"),
    ]},
    # So are adverse events and safety alerts.
    **{op: {"none": 401, "read": 401, "write": 401, "sister": 401} for op in [
        ("GET", "/api/v1/patients/{patient_id}/adverse-events"),
        ("POST", "/api/v1/patients/{patient_id}/adverse-events"),
        ("GET", "/api/v1/adverse-events/{event_id}"),
        ("POST", "/api/v1/adverse-events/{event_id}/hold-clearance"),
        ("GET", "/api/v1/safety/alerts"),
        ("POST", "/api/v1/safety/alerts/{alert_id}/acknowledgement"),
    ]},
}


def _walk(patterns: list[Any], namespace: str | None = None,
          kwargs: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(URL name, the names of its URL arguments) for every named pattern."""
    for pattern in patterns:
        names = kwargs + tuple(getattr(pattern.pattern, "converters", {}))
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, pattern.namespace or namespace, names)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), names


ROUTE_ARGUMENTS = dict(_walk(get_resolver().url_patterns))


def test_every_url_pattern_has_a_row() -> None:
    names = set(ROUTE_ARGUMENTS)
    api_operations = {n for n in names if n.startswith("api:")} - set(PAGES) - NOT_PAGES
    missing = sorted(names - set(PAGES) - NOT_PAGES - api_operations)
    assert missing == [], f"add a row to PAGES for {missing}"
    assert sorted(set(PAGES) - names) == []


def test_every_api_operation_has_a_row() -> None:
    schema = api.get_openapi_schema()
    operations = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert sorted(operations - set(OPERATIONS)) == [], "add a row to OPERATIONS"
    assert sorted(set(OPERATIONS) - operations) == []


@pytest.fixture
def record(cast: Any) -> dict[str, str]:
    """One of everything a URL can name, at the clinic's patient."""
    medication = MedicationFactory(patient=cast.patient, recorded_by=cast.physician)
    allergy = AllergyFactory(patient=cast.patient, recorded_by=cast.physician)
    screening = screen_patient(
        patient=cast.patient, allergy_test=None, by=cast.physician, actor=Actor(username="test"),
        treatment={"indication": "wrinkles", "area": "face", "technique": "point_by_point",
                   "delivery": "needle", "ingredients": ["hyaluronic acid"],
                   "first_session_at": "2027-06-10T10:00:00+03:00"})
    plan = create_plan(patient=cast.patient, draft=plan_draft(), by=cast.physician,
                       actor=Actor(username="test"))
    quote = Quote.objects.create(
        plan=plan, plan_version=1, clinic=cast.clinic, grade="physician", kind="cosmetic",
        sessions=8, request={}, subtotal=Decimal("100.00"), tax=Decimal("20.00"),
        total=Decimal("120.00"), currency="TRY", valid_until=date(2099, 1, 1), issued_by=cast.physician,
        lines=[{"code": "sessions", "quantity": 8, "unit_price": "12.50", "amount": "100.00"}])
    consent = Consent(plan=plan, plan_version=1, template="skin", template_version=1,
                      language="en", text="text", sha256="0" * 64, signer_name="Ayşe Şahin",
                      method="typed", photo_consent=False, witness=cast.nurse)
    consent.save()
    consent.pdf.save("consent.pdf", ContentFile(b"%PDF-1.4 matrix"), save=True)
    start = datetime(2027, 6, 14, 10, 0, tzinfo=UTC)
    appointment = Appointment.objects.create(
        clinic=cast.clinic, patient=cast.patient, kind="consultation", practitioner=cast.physician,
        starts_at=start, ends_at=start + timedelta(minutes=30), created_by=cast.receptionist)
    token = feeds.create(clinic=cast.clinic, practitioner=cast.physician, actor=Actor(username="test"))
    ha = inventory_actions.add_product(cast.clinic, name="Hyaluronic acid 1%", kind="component",
                                       unit="ml", ingredients=["hyaluronic_acid"], by=cast.manager,
                                       actor=Actor(username="test"))
    lot = inventory_actions.receive(cast.clinic, product=ha, number="HA-2291",
                                    expires_on=date(2099, 1, 1), quantity="10", by=cast.manager,
                                    actor=Actor(username="test"))
    session = TreatmentSession.objects.create(
        clinic=cast.clinic, patient=cast.patient, plan=plan, plan_version=1, session_number=1,
        performer=cast.physician, performer_role="physician", areas=["face"], technique="point_by_point",
        delivery="needle", depth_min_mm=Decimal("1"), depth_max_mm=Decimal("2"), started_at=start,
        check_input={}, check_output={"ready": True, "blocking": []})
    SessionComponent.objects.create(session=session, position=0, ingredient="hyaluronic_acid", lot=lot,
                                    quantity=Decimal("1"))
    event = AdverseEvent.objects.create(clinic=cast.clinic, patient=cast.patient, effect="rash",
                                        onset=date(2027, 6, 15), severity="moderate", expected=False,
                                        reported_by=cast.nurse)
    event.sessions.add(session)
    alert = Alert.objects.create(clinic=cast.clinic, reason="infection", patient=cast.patient, event=event,
                                 raised_at=start, ack_due_at=start + timedelta(hours=4))
    alert.recipients.add(cast.physician)
    cluster = Cluster.objects.create(clinic=cast.clinic, kind="lot", key="HA-2291",
                                     events=[str(event.public_id)],
                                     exposed_patients=[str(cast.patient.public_id)])
    call = ClusterCall.objects.create(cluster=cluster, patient=cast.patient)
    checkin = CheckIn.objects.create(clinic=cast.clinic, patient=cast.patient, session=session, week=1,
                                     due_on=date(2027, 6, 21))
    photo_set = PhotoSet.objects.create(clinic=cast.clinic, patient=cast.patient, plan=plan, consent=consent,
                                        area="face", occasion="baseline", taken_on=date(2027, 6, 14),
                                        created_by=cast.nurse)
    pixels = encode_jpeg(np.full((48, 64, 3), (200, 160, 140), dtype=np.uint8))
    photo = Photo(photo_set=photo_set, view="face_front", sha256="0" * 64, received_sha256="0" * 64,
                  received_format="jpeg", width=64, height=48, size_bytes=len(pixels), uploaded_by=cast.nurse)
    photo.file.save("p.jpg", ContentFile(pixels), save=False)
    photo.save()
    simulation = Simulation(photo=photo, sha256="0" * 64, strength=Decimal("0.5"), created_by=cast.physician)
    simulation.file.save("s.jpg", ContentFile(pixels), save=False)
    simulation.save()
    return {"photo_id": str(photo.public_id), "base_id": str(photo.public_id),
            "simulation_id": str(simulation.public_id),
            "event_id": str(event.public_id), "alert_id": str(alert.public_id),
            "cluster_id": str(cluster.public_id), "call_id": str(call.pk),
            "checkin_id": str(checkin.public_id),"appointment_id": str(appointment.public_id), "token": token,
            "session_id": str(session.public_id),
            "public_id": str(cast.patient.public_id), "medication_id": str(medication.public_id),
            "plan_id": str(plan.public_id), "quote_id": str(quote.public_id),
            "consent_id": str(consent.public_id),
            "entry_id": str(medication.public_id), "allergy_id": str(allergy.public_id),
            "screening_id": str(screening.public_id), "name": "areas.yaml",
            "token_id": str(ApiToken.objects.get(name="reader").public_id),
            "user_id": str(cast.nurse.public_id), "lot_id": str(lot.public_id)}


def _url(name: str, record: dict[str, str]) -> str:
    values = dict(record)
    if name == "patients:allergy-retract":
        values["entry_id"] = values["allergy_id"]
    return reverse(name, kwargs={k: values[k] for k in ROUTE_ARGUMENTS[name]})


def _snapshot() -> dict[str, int]:
    models = (Patient, MedicalHistory, Medication, Allergy, LabResult, Workup, BreakGlassGrant,
              Screening, FindingAcceptance, KnowledgeRevision, User, Membership, ApiToken,
              TreatmentPlan, PlanVersion, Quote, Consent, Appointment, OutboundMessage, Product, Lot,
              StockMove, TreatmentSession, SessionAmendment, AftercareSheet, AllergyTest,
              CreamApplication, AdverseEvent, CheckIn, ClusterCall, Photo, PhotoSet, Simulation,
              OutcomeMeasure)
    state = {m.__name__: m.objects.count() for m in models}
    state["retracted"] = Medication.objects.filter(retracted_at__isnull=False).count() + \
        Allergy.objects.filter(retracted_at__isnull=False).count()
    state["signed_off"] = Workup.objects.filter(signed_off_at__isnull=False).count()
    state["revoked"] = ApiToken.objects.filter(revoked_at__isnull=False).count()
    state["plans_moved"] = TreatmentPlan.objects.exclude(status="draft").count()
    state["quotes_accepted"] = Quote.objects.filter(accepted_at__isnull=False).count()
    state["appointments_changed"] = Appointment.objects.filter(version__gt=1).count()
    state["lots_recalled"] = Lot.objects.filter(recalled_at__isnull=False).count()
    state["sessions_signed"] = TreatmentSession.objects.filter(status="signed").count()
    state["events_changed"] = AdverseEvent.objects.filter(version__gt=1).count()
    state["alerts_acknowledged"] = Alert.objects.filter(acknowledged_at__isnull=False).count()
    state["calls_made"] = ClusterCall.objects.filter(attempts__gt=0).count()
    return state


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_matrix(cast: Any, record: dict[str, str], name: str) -> None:
    method, expected = PAGES[name]
    url = _url(name, record)
    for role in ROLES:
        client = Client() if role == "anonymous" else cast.client_for(getattr(cast, role))
        before = _snapshot()
        response = client.post(url, {}) if method == "POST" else client.get(url)
        want = expected[role]
        if want == LOGIN:
            assert response.status_code == 302, (role, response.status_code)
            assert response["Location"].startswith(reverse("accounts:login")), role
        else:
            assert response.status_code == want, (name, role, response.status_code)
        if response.status_code in (302, 401, 403, 404, 405) or want == LOGIN:
            body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[union-attr]
            assert SECRET.encode() not in body, (name, role)
        if response.status_code in (403, 404) or want == LOGIN:
            assert _snapshot() == before, (name, role)


def _token(cast: Any, kind: str) -> dict[str, str]:
    raw = {"read": cast.read_token, "write": cast.write_token, "sister": cast.sister_token}.get(kind)
    return {"Authorization": f"Bearer {raw}"} if raw else {}


def _api_body(method: str, path: str) -> dict[str, Any] | None:
    if path == "/api/v1/screenings":
        return _SCREENING_EXAMPLE
    if (method, path) == ("POST", "/api/v1/patients"):
        return {"given_name": "Deniz", "family_name": "Arslan", "birth_date": "1988-02-03",
                "sex": "female"}
    if method == "PATCH":
        return {"phone": "+90 532 999 00 11", "version": 1}
    if path.endswith("/plans") and method == "POST":
        return plan_payload(plan_draft())
    if path.endswith("{plan_id}") and method == "PUT":
        return {**plan_payload(plan_draft()), "based_on": 1}
    if path == "/api/v1/quotes":
        return {**QUOTE_EXAMPLE, "currency": "TRY"}
    if path.endswith("/approve"):
        return {}
    if path.endswith("/consents") and method == "POST":
        return {"patient_id": "x", "plan_version": 1, "template": "skin", "template_version": 1,
                "language": "en", "sha256": "0" * 64, "signer_name": "Ayşe Şahin",
                "method": "typed", "confirmed": True, "photo_consent": False}
    if path.endswith("/withdrawal"):
        return {"reason": "The patient changed her mind."}
    if path.endswith("/quotes") and method == "POST":
        return {"grade": "physician", "extra_checkups": 1}
    if path.endswith("/transitions"):
        return {"step": "stop", "reason": "The patient moved away."}
    if path == "/api/v1/schedule/rooms":
        return {"name": "Room 9"}
    if path == "/api/v1/schedule/devices":
        return {"name": "US-9", "kind": "ultrasound"}
    if (method, path) == ("POST", "/api/v1/appointments"):
        # "{patient_id}" is the cast's patient (test_api_matrix); the practitioner is unknown.
        return {"patient_id": "{patient_id}", "kind": "consultation",
                "start": "2027-06-14T10:00:00+03:00", "end": "2027-06-14T10:30:00+03:00",
                "practitioner": "00000000-0000-4000-8000-000000000000"}
    if path.endswith("/move"):
        return {"start": "2027-06-14T11:00:00+03:00", "version": 1}
    if path.endswith("/cancel"):
        return {"reason": "The patient moved away.", "version": 1}
    if path.endswith("/series-proposal"):
        return {}
    if path.endswith("/series") and path.startswith("/api/v1/patients/"):
        return {"sessions": [{"index": 1, "start": "2027-06-14T10:00:00+03:00",
                              "end": "2027-06-14T10:30:00+03:00", "prep_start": None,
                              "practitioner": "x", "room": "y", "device": None}]}
    if path == "/api/v1/planner/series":
        return PLANNER_EXAMPLE
    if (method, path) == ("POST", "/api/v1/lots"):
        return {"product": "00000000-0000-4000-8000-000000000000", "number": "HA-9",
                "expires_on": "2099-01-01", "quantity": "1"}
    if path.endswith("/moves") and method == "POST":
        return {"kind": "wasted", "quantity": "1", "reason": "Dropped vial"}
    if path.endswith("/recall"):
        return {"reason": "Supplier notice"}
    return None


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
def test_api_matrix(cast: Any, method: str, path: str) -> None:
    url = path.replace("{patient_id}", str(cast.patient.public_id))
    for name in ("{plan_id}", "{quote_id}", "{consent_id}", "{appointment_id}", "{lot_id}",
                 "{session_id}", "{event_id}", "{alert_id}"):
        url = url.replace(name, "00000000-0000-4000-8000-000000000000")
    for kind in TOKENS:
        before = _snapshot()
        body = _api_body(method, path)
        text = json.dumps(body).replace("{patient_id}", str(cast.patient.public_id)) \
            if body is not None else ""
        response = Client().generic(method, url, text, content_type="application/json",
                                    headers=_token(cast, kind))
        assert response.status_code == OPERATIONS[(method, path)][kind], (method, path, kind,
                                                                         response.content[:200])
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "field"}
            assert _snapshot() == before, (method, path, kind)
