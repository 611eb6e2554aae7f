"""Every role of the cast against every patient page: status, leaked data, side effects, audit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from conftest import make_user
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients.models import (
    Allergy,
    BreakGlassGrant,
    LabResult,
    MedicalHistory,
    Medication,
    Patient,
    Workup,
)

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
SECRET = "Secret clinical note"
NAME = "Şahin"  # the clinic's patient's family name
REASON = "Collapsed in our waiting room; need her allergies and medications."

PHYSICIAN, NURSE, RECEPTIONIST, MANAGER, AUDITOR = (
    "physician", "nurse", "receptionist", "manager", "auditor")
SISTER, FOREIGN, ANONYMOUS = "sister_physician", "foreign_physician", "anonymous"
STAFF = [PHYSICIAN, NURSE, RECEPTIONIST, MANAGER, AUDITOR, SISTER, FOREIGN]
OK = "ok"  # 200 for GET, 302 for POST
ALREADY = "already"  # no emergency access needed: straight to the chart, nothing granted


@dataclass(frozen=True)
class Page:
    name: str  # URL name in the "patients" namespace
    methods: tuple[str, ...]
    expected: dict[str, Any]  # staff principal → OK, 403 or 404
    effect: str = ""  # what an allowed POST changes (a key of `snapshot`)
    events_on_get: int = 1  # audit events an allowed GET writes


def _rule(ok: set[str], forbidden: set[str], hidden: set[str],
          already: frozenset[str] = frozenset()) -> dict[str, Any]:
    assert ok | forbidden | hidden | already == set(STAFF)
    return {**dict.fromkeys(ok, OK), **dict.fromkeys(forbidden, 403),
            **dict.fromkeys(hidden, 404), **dict.fromkeys(already, ALREADY)}


CLINICAL = _rule({PHYSICIAN, NURSE}, {RECEPTIONIST, MANAGER, AUDITOR}, {SISTER, FOREIGN})

PAGES = [
    # Lists and registration work at the caller's own clinic; other clinics never show.
    Page("list", ("GET",),
         _rule({PHYSICIAN, NURSE, RECEPTIONIST, SISTER, FOREIGN}, {MANAGER, AUDITOR}, set())),
    Page("new", ("GET", "POST"),
         _rule({PHYSICIAN, RECEPTIONIST, SISTER, FOREIGN}, {NURSE, MANAGER, AUDITOR}, set()),
         effect="patients", events_on_get=0),
    Page("chart", ("GET",),
         _rule({PHYSICIAN, NURSE, RECEPTIONIST}, {MANAGER, AUDITOR}, {SISTER, FOREIGN})),
    Page("edit", ("GET", "POST"),
         _rule({PHYSICIAN, RECEPTIONIST}, {NURSE, MANAGER, AUDITOR}, {SISTER, FOREIGN}),
         effect="demographics"),
    Page("history", ("GET", "POST"), CLINICAL, effect="histories"),
    Page("medication-add", ("GET", "POST"), CLINICAL, effect="medications"),
    Page("medication-stop", ("GET", "POST"), CLINICAL, effect="stopped"),
    Page("allergy-add", ("GET", "POST"), CLINICAL, effect="allergies"),
    Page("lab-add", ("GET", "POST"), CLINICAL, effect="labs"),
    Page("workup", ("GET", "POST"), CLINICAL, effect="workup"),
    Page("workup-sign-off", ("POST",),
         _rule({PHYSICIAN}, {NURSE, RECEPTIONIST, MANAGER, AUDITOR}, {SISTER, FOREIGN}),
         effect="workup"),
    Page("other-clinics", ("GET",),
         _rule({PHYSICIAN, SISTER, FOREIGN}, {NURSE, RECEPTIONIST, MANAGER, AUDITOR}, set())),
    # A physician of the same organisation may break glass; another organisation never; the
    # patient's own physician needs no emergency access and is sent to the chart.
    Page("break-glass", ("GET", "POST"),
         _rule({SISTER}, {NURSE, RECEPTIONIST, MANAGER, AUDITOR}, {FOREIGN},
               already=frozenset({PHYSICIAN})),
         effect="grants"),
]


@pytest.fixture
def record(cast: Any) -> dict[str, Any]:
    """Clinical data on the clinic's patient for the pages that act on it."""
    medication = Medication.objects.create(patient=cast.patient, name="Metformin", dose="500 mg",
                                           started_on=date(2024, 1, 1), recorded_by=cast.physician)
    Workup.objects.create(patient=cast.patient, physical_exam_note="Initial exam")
    return {"medication": medication}


def url_for(page: str, cast: Any, record: dict[str, Any]) -> str:
    pid = cast.patient.public_id
    if page in ("list", "new"):
        return reverse(f"patients:{page}")
    if page == "other-clinics":
        return reverse("patients:other-clinics") + "?q=sahin"
    if page == "medication-stop":
        return reverse("patients:medication-stop", args=[pid, record["medication"].public_id])
    return reverse(f"patients:{page}", args=[pid])


def post_data(page: str) -> dict[str, str]:
    history = dict.fromkeys(MedicalHistory.CLINICAL_FIELDS, "no") | {
        "diabetes": "none", "cancer": "none", "pregnant": "yes",
        "other_conditions": "Secret clinical note"}
    demographics = {"given_name": "Ayşegül", "family_name": "Şahin", "birth_date": "1990-04-02",
                    "sex": "female", "phone": "+90 532 111 22 33", "email": "", "address": "",
                    "national_id": "", "emergency_contact_name": "",
                    "emergency_contact_phone": "", "preferred_language": "en"}
    return {
        "new": demographics | {"given_name": "Deniz", "family_name": "Arslan",
                               "phone": "+90 533 000 11 22"},
        "edit": demographics | {"based_on": "1"},
        "history": history | {"based_on": "1"},
        "medication-add": {"name": "Ibuprofen", "atc_code": "M01AE01", "dose": "400 mg",
                           "started_on": "2025-01-02", "last_dose_on": ""},
        "medication-stop": {"last_dose_on": "2025-01-20"},
        "allergy-add": {"substance": "Lidocaine", "reaction": "hives", "severity": "mild"},
        "lab-add": {"kind": "blood", "taken_on": "2025-01-03", "values": "Hb 13.1 g/dL",
                    "abnormal": "on"},
        "workup": {"physical_exam_on": "2025-01-03", "physical_exam_note": "BP 118/76",
                   "history_reviewed_on": "2025-01-03", "based_on": "1"},
        "workup-sign-off": {},
        "break-glass": {"reason": REASON},
    }[page]


def snapshot(cast: Any) -> dict[str, Any]:
    """Everything a patient page could change."""
    patient = Patient.objects.get(pk=cast.patient.pk)
    return {
        "patients": Patient.objects.count(),
        "demographics": (patient.given_name, patient.family_name, patient.phone),
        "histories": MedicalHistory.objects.filter(patient=patient).count(),
        "medications": Medication.objects.filter(patient=patient).count(),
        "stopped": Medication.objects.filter(patient=patient, last_dose_on__isnull=False).count(),
        "allergies": Allergy.objects.filter(patient=patient).count(),
        "labs": LabResult.objects.filter(patient=patient).count(),
        "workup": list(Workup.objects.filter(patient=patient).values_list(
            "physical_exam_note", "signed_off_by_id")),
        "grants": BreakGlassGrant.objects.count(),
    }


def sign_in_url(path: str) -> str:
    query = QueryDict(mutable=True)
    query["next"] = path
    return reverse("accounts:login") + "?" + query.urlencode(safe="/")


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _cases() -> list[Any]:
    cases = []
    for page in PAGES:
        for method in page.methods:
            for who in [*STAFF, ANONYMOUS]:
                expected = 302 if who == ANONYMOUS else page.expected[who]
                if expected == ALREADY:
                    expected = 302
                elif expected == OK:
                    expected = 200 if method == "GET" else 302
                cases.append(pytest.param(who, page, method, expected,
                                          id=f"{who}-{method}-{page.name}"))
    return cases


@pytest.mark.parametrize(("who", "page", "method", "expected"), _cases())
def test_patient_pages_allow_exactly_the_right_roles(
    cast: Any, record: dict[str, Any], who: str, page: Page, method: str, expected: int
) -> None:
    user = None if who == ANONYMOUS else getattr(cast, who)
    client = Client() if user is None else cast.client_for(user)
    url = url_for(page.name, cast, record)
    before, seq = snapshot(cast), last_seq()

    response = client.get(url) if method == "GET" else client.post(url, post_data(page.name))

    assert response.status_code == expected
    body = response.content.decode()
    events = list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))
    # Only physicians and nurses of the patient's clinic ever see clinical data.
    if who not in (PHYSICIAN, NURSE):
        assert SECRET not in body
    if user is None:
        assert response["Location"] == sign_in_url(url)
        assert snapshot(cast) == before
        assert events == []  # anonymous refusals are counted; the minute's count comes later
        with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1), tick=False):
            events = list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))
        assert [(e.outcome, e.username, e.detail) for e in events] == [
            ("denied", "", "not signed in: 1 request in this minute")]
        return
    if expected in (403, 404):
        assert NAME not in body
        assert snapshot(cast) == before
        assert [(e.outcome, e.username) for e in events] == [("denied", user.username)]
        return
    if page.expected[who] == ALREADY:
        assert response["Location"] == reverse("patients:chart", args=[cast.patient.public_id])
        assert snapshot(cast) == before
        assert events == []
        return

    sees_name = who in (PHYSICIAN, NURSE, RECEPTIONIST) or (
        who == SISTER and page.name in ("other-clinics", "break-glass"))
    if not sees_name:
        assert NAME not in body
    want_events = page.events_on_get if method == "GET" else 1
    assert [(e.outcome, e.username) for e in events] == [("allowed", user.username)] * want_events
    if method == "GET":
        if page.name == "chart":
            assert (SECRET in body) is (who in (PHYSICIAN, NURSE))
            assert ("Medical history" in body) is (who in (PHYSICIAN, NURSE))
        return

    after = snapshot(cast)
    assert {key for key in before if before[key] != after[key]} == {page.effect}
    chart = reverse("patients:chart", args=[cast.patient.public_id])
    if page.name == "new":
        created = Patient.objects.get(given_name="Deniz", family_name="Arslan")
        # Registration always lands at the caller's own clinic.
        assert created.clinic == user.memberships.get().clinic
        chart = reverse("patients:chart", args=[created.public_id])
    assert response["Location"] == chart


def test_receptionist_chart_shows_demographics_but_no_clinical_section(cast) -> None:
    response = cast.client_for(cast.receptionist).get(
        reverse("patients:chart", args=[cast.patient.public_id]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "+90 532 111 22 33" in body
    for hidden in (SECRET, "Medical history", "Medications", "Allergies", "Workup",
                   "Blood and urine tests"):
        assert hidden not in body


def test_receptionist_cannot_read_history_form(cast) -> None:
    response = cast.client_for(cast.receptionist).get(
        reverse("patients:history", args=[cast.patient.public_id]))
    assert response.status_code == 403
    assert SECRET not in response.content.decode()
    event = AuditEvent.objects.get(username="reception.demir")
    assert (event.outcome, event.object_type, event.detail) == (
        "denied", "medical_history", "missing permission edit_clinical")
    assert event.patient_id == str(cast.patient.public_id)


def test_unknown_patient_answers_like_another_clinics_patient(cast) -> None:
    client = cast.client_for(cast.sister_physician)
    hidden = client.get(reverse("patients:chart", args=[cast.patient.public_id]))
    unknown = client.get(reverse("patients:chart",
                                 args=["00000000-0000-4000-8000-000000000000"]))
    assert (hidden.status_code, unknown.status_code) == (404, 404)
    # Identical but for the per-response CSRF token of the sign-out form.
    assert CSRF.sub("", hidden.content.decode()) == CSRF.sub("", unknown.content.decode())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"birth_date": "2999-01-01"}, "Birth date: Date of birth cannot be in the future."),
        ({"birth_date": "1899-12-31"}, "Birth date: Date of birth must be after 1900."),
        ({"birth_date": "31.02.1990"}, "Birth date: Enter a valid date."),
        ({"sex": "unknown"}, "Sex: Select a valid choice. unknown is not one of the available"),
        ({"phone": "call me maybe"}, "Phone: Enter a phone number of digits"),
        ({"email": "not-an-email"}, "Email: Enter a valid email address."),
        ({"given_name": "x" * 101}, "Given name: Ensure this value has at most 100 characters"),
        ({"preferred_language": "xx"}, "Preferred language: Select a valid choice."),
    ],
)
def test_registration_with_bad_input_names_the_field_and_saves_nothing(cast, change,
                                                                         message) -> None:
    client = cast.client_for(cast.receptionist)
    response = client.post(reverse("patients:new"), post_data("new") | change)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Patient.objects.count() == 2
    assert not AuditEvent.objects.filter(action="create").exists()


def test_an_invalid_post_saves_nothing_and_answers_422(cast) -> None:
    client = cast.client_for(cast.receptionist)
    url = reverse("patients:edit", args=[cast.patient.public_id])
    data = post_data("edit") | {"family_name": "Çelik", "birth_date": "2999-01-01"}
    response = client.post(url, data)
    assert response.status_code == 422
    assert "Date of birth cannot be in the future." in response.content.decode()
    assert Patient.objects.get(pk=cast.patient.pk).family_name == "Şahin"


# --- break-glass ------------------------------------------------------------------------------

def test_sister_physician_breaks_glass_and_the_chart_view_is_flagged(cast) -> None:
    client = cast.client_for(cast.sister_physician)
    chart = reverse("patients:chart", args=[cast.patient.public_id])
    request_url = reverse("patients:break-glass", args=[cast.patient.public_id])

    assert client.get(chart).status_code == 404

    found = client.get(reverse("patients:other-clinics"), {"q": "sahin"})
    assert found.status_code == 200
    found_body = found.content.decode()
    assert "Şahin, Ayşe" in found_body
    assert request_url in found_body
    assert SECRET not in found_body

    too_short = client.post(request_url, {"reason": "urgent"})
    assert too_short.status_code == 422
    assert "Ensure this value has at least 10 characters" in too_short.content.decode()
    assert BreakGlassGrant.objects.count() == 0
    assert client.get(chart).status_code == 404

    granted = client.post(request_url, {"reason": REASON})
    assert (granted.status_code, granted["Location"]) == (302, chart)
    grant = BreakGlassGrant.objects.get(user=cast.sister_physician, patient=cast.patient)
    assert grant.reason == REASON
    flag = AuditEvent.objects.get(action="break_glass", outcome="allowed")
    assert (flag.username, flag.detail, flag.break_glass) == ("dr.weber", REASON, True)

    seq = last_seq()
    opened = client.get(chart)
    assert opened.status_code == 200
    body = opened.content.decode()
    assert SECRET in body
    assert "Emergency access." in body
    view = AuditEvent.objects.get(seq__gt=seq)
    assert (view.action, view.outcome, view.username, view.break_glass) == (
        "view", "allowed", "dr.weber", True)
    assert (view.patient_id, view.clinic_id) == (
        str(cast.patient.public_id), str(cast.clinic.public_id))


def test_break_glass_access_ends_after_four_hours(cast) -> None:
    chart = reverse("patients:chart", args=[cast.patient.public_id])
    start = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
    # A fresh sign-in each time: an idle session would itself have expired meanwhile.
    with time_machine.travel(start, tick=False):
        cast.client_for(cast.sister_physician).post(
            reverse("patients:break-glass", args=[cast.patient.public_id]), {"reason": REASON})
    with time_machine.travel(start + timedelta(hours=3, minutes=59), tick=False):
        assert cast.client_for(cast.sister_physician).get(chart).status_code == 200
    with time_machine.travel(start + timedelta(hours=4, minutes=1), tick=False):
        assert cast.client_for(cast.sister_physician).get(chart).status_code == 404


def test_foreign_physician_can_never_break_glass(cast) -> None:
    client = cast.client_for(cast.foreign_physician)
    found = client.get(reverse("patients:other-clinics"), {"q": "sahin"})
    assert found.status_code == 200
    assert NAME not in found.content.decode()
    url = reverse("patients:break-glass", args=[cast.patient.public_id])
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": REASON}).status_code == 404
    assert BreakGlassGrant.objects.count() == 0
    assert client.get(reverse("patients:chart", args=[cast.patient.public_id])).status_code == 404
    denied = AuditEvent.objects.filter(username="dr.foreign", outcome="denied")
    assert denied.count() == 3


def test_sister_clinic_nurse_cannot_break_glass(cast) -> None:
    nurse = make_user("nurse.berlin", cast.sister, "nurse")
    response = cast.client_for(nurse).post(
        reverse("patients:break-glass", args=[cast.patient.public_id]), {"reason": REASON})
    assert response.status_code == 403
    assert BreakGlassGrant.objects.count() == 0
