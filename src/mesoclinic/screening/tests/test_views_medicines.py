"""Medicines entered through the catalogue search; an unresolved one is kept as typed, flagged
UNCLASSIFIED_MEDICATION, and coded by a physician; screening and pages run on the clinic's time
(issue 7, items 1 and 7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from conftest import Cast
from django.test import Client
from django.urls import reverse

from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
from mesoclinic.knowledge import store
from mesoclinic.patients.models import Medication
from mesoclinic.screening import actions
from mesoclinic.screening.models import Screening

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TREATMENT: dict[str, Any] = {
    "area": "face", "indication": "wrinkles", "technique": "point_by_point", "delivery": "needle",
    "ingredients": ["hyaluronic acid"], "first_session_at": "2026-12-10T10:00:00+03:00",
}


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    store._cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield
    store._cache.clear()


def find_url(cast: Cast) -> str:
    return reverse("screening:medication-find", args=[cast.patient.public_id])


def code_url(cast: Cast, medication: Medication) -> str:
    return reverse("screening:medication-code", args=[cast.patient.public_id, medication.public_id])


def test_the_search_finds_catalogue_medicines_with_a_plain_get(cast: Cast) -> None:
    response = cast.client_for(cast.nurse).get(find_url(cast), {"q": "xarel"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'href="?name=Xarelto&amp;atc=B01AF01"' in body
    assert 'hx-get="' in body  # the same search live with htmx
    assert "<script" not in body.split("<main", 1)[-1]  # no inline script (CSP)


def test_an_htmx_search_answers_only_the_results_fragment(cast: Cast) -> None:
    response = cast.client_for(cast.nurse).get(find_url(cast), {"q": "majez"},
                                               HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="medicine-results"')
    assert "Majezik" in body
    assert "<html" not in body


def test_picking_a_result_prefills_the_form_and_saves_it_coded(cast: Cast) -> None:
    client = cast.client_for(cast.nurse)
    page = client.get(find_url(cast), {"name": "Xarelto", "atc": "B01AF01"}).content.decode()
    assert 'value="Xarelto"' in page
    assert 'value="B01AF01"' in page
    response = client.post(find_url(cast), {"name": "Xarelto", "atc_code": "B01AF01"})
    assert response.status_code == 302
    saved = Medication.objects.get(patient=cast.patient)
    assert (saved.name, saved.atc_code, saved.recorded_by) == ("Xarelto", "B01AF01", cast.nurse)


def test_a_medicine_the_catalogue_cannot_resolve_is_kept_as_typed_and_flagged(cast: Cast) -> None:
    client = cast.client_for(cast.nurse)
    page = client.get(find_url(cast), {"q": "Zyxorin"}).content.decode()
    assert "Nothing in the catalogue matches" in page
    assert client.post(find_url(cast), {"name": "Zyxorin 20 mg"}).status_code == 302
    medication = Medication.objects.get(patient=cast.patient)
    assert (medication.name, medication.atc_code) == ("Zyxorin 20 mg", "")
    screening = actions.screen_patient(patient=cast.patient, treatment=TREATMENT,
                                       allergy_test=None, by=cast.physician,
                                       actor=Actor(username="t"))
    codes = {f["code"]: f for f in screening.output["findings"]}
    assert codes["UNCLASSIFIED_MEDICATION"]["severity"] == "review"
    assert codes["UNCLASSIFIED_MEDICATION"]["field"] == "patient.medications[0]"


def test_a_physician_codes_the_medicine_and_screening_runs_again(cast: Cast) -> None:
    medication = Medication.objects.create(patient=cast.patient, name="Zyxorin 20 mg",
                                           recorded_by=cast.nurse)
    actions.screen_patient(patient=cast.patient, treatment=TREATMENT, allergy_test=None,
                           by=cast.physician, actor=Actor(username="t"))
    client = cast.client_for(cast.physician)
    chart = client.get(reverse("patients:chart", args=[cast.patient.public_id])).content.decode()
    assert code_url(cast, medication) in chart
    page = client.get(code_url(cast, medication), {"q": "warfarin"}).content.decode()
    assert 'name="atc_code" value="B01AA03"' in page
    response = client.post(code_url(cast, medication), {"atc_code": "b01aa 03"})
    assert response.status_code == 302
    medication.refresh_from_db()
    assert (medication.name, medication.atc_code) == ("Zyxorin 20 mg", "B01AA03")
    event = AuditEvent.objects.filter(object_type="medication", action="update").get()
    assert event.changes == {"atc_code": ["", "B01AA03"]}
    latest = Screening.objects.filter(patient=cast.patient).order_by("-created_at", "-id").first()
    assert latest is not None
    assert latest.trigger == "record_changed"
    codes = [f["code"] for f in latest.output["findings"]]
    assert "UNCLASSIFIED_MEDICATION" not in codes
    assert "ANTITHROMBOTIC_THERAPY" in codes


@pytest.mark.parametrize("atc", ["X01AB01", "aspirin", "N02BA01X"])
def test_an_atc_code_that_is_not_one_is_refused(cast: Cast, atc: str) -> None:
    medication = Medication.objects.create(patient=cast.patient, name="Zyxorin",
                                           recorded_by=cast.nurse)
    response = cast.client_for(cast.physician).post(code_url(cast, medication), {"atc_code": atc})
    assert response.status_code == 422
    assert "Enter an ATC code such as N02BA01." in response.content.decode()
    medication.refresh_from_db()
    assert medication.atc_code == ""


@pytest.mark.parametrize(("who", "status"), [("nurse", 403), ("receptionist", 403)])
def test_only_a_physician_codes_a_medicine(cast: Cast, who: str, status: int) -> None:
    medication = Medication.objects.create(patient=cast.patient, name="Zyxorin",
                                           recorded_by=cast.nurse)
    client: Client = cast.client_for(getattr(cast, who))
    assert client.post(code_url(cast, medication), {"atc_code": "B01AA03"}).status_code == status
    medication.refresh_from_db()
    assert medication.atc_code == ""


# --- clinic-local time ---------------------------------------------------------------------------


def test_screening_reasons_in_the_clinics_zone_at_01_30_in_istanbul(cast: Cast) -> None:
    # 22:30 UTC on 3 Dec is 01:30 on 4 Dec in Istanbul: aspirin had to stop by 3 Dec (7 days
    # before the 10th), so the stop date has passed: a block, never "stop by" a day gone by.
    Medication.objects.create(patient=cast.patient, name="Advil", recorded_by=cast.nurse)
    with time_machine.travel(datetime(2026, 12, 3, 22, 30, tzinfo=UTC), tick=False):
        screening = actions.screen_patient(patient=cast.patient, treatment=TREATMENT,
                                           allergy_test=None, by=cast.physician,
                                           actor=Actor(username="t"))
    assert screening.input["as_of"] == "2026-12-04T01:30:00+03:00"
    washout = [f for f in screening.output["findings"] if f["code"] == "NSAID_WASHOUT"]
    assert [f["severity"] for f in washout] == ["block"]


def test_the_screening_page_shows_clinic_local_times(cast: Cast) -> None:
    with time_machine.travel(datetime(2026, 11, 20, 23, 30, tzinfo=UTC), tick=False):
        screening = actions.screen_patient(patient=cast.patient, treatment=TREATMENT,
                                           allergy_test=None, by=cast.physician,
                                           actor=Actor(username="t"))
        body = cast.client_for(cast.physician).get(
            reverse("screening:detail", args=[cast.patient.public_id, screening.public_id])
        ).content.decode()
    # 23:30 UTC is 02:30 the next day in Istanbul, labelled with its zone.
    assert ">21 Nov 2026, 2:30 a.m. GMT+3</time>" in body
    assert "20 Nov 2026" not in body
    assert "23:30" not in body
    assert ('<time datetime="2026-12-10T10:00:00+03:00" title="Europe/Istanbul">'
            "10 Dec 2026, 10 a.m. GMT+3</time>") in body


def test_the_audit_trail_labels_its_times_with_the_clinics_zone(cast: Cast) -> None:
    with time_machine.travel(datetime(2026, 11, 20, 23, 30, tzinfo=UTC), tick=False):
        actions.screen_patient(patient=cast.patient, treatment=TREATMENT, allergy_test=None,
                               by=cast.physician, actor=Actor(username="t"))
        body = cast.client_for(cast.auditor).get(reverse("audit:trail")).content.decode()
    assert "When (Europe/Istanbul)" in body
    assert ">21 Nov 2026, 2:30 a.m. GMT+3</time>" in body
    assert "When (UTC)" not in body


def test_the_medication_form_dates_are_the_clinics_days(cast: Cast) -> None:
    # At 23:30 UTC on 20 Nov it is already 21 Nov in Istanbul: a dose "today" is not in the future.
    with time_machine.travel(datetime(2026, 11, 20, 23, 30, tzinfo=UTC), tick=False):
        response = cast.client_for(cast.nurse).post(
            find_url(cast), {"name": "Advil", "last_dose_on": "2026-11-21"})
    assert response.status_code == 302
    assert Medication.objects.get(patient=cast.patient).last_dose_on == date(2026, 11, 21)


def test_the_numbing_cream_and_what_the_test_covered_are_screened(cast: Cast) -> None:
    from mesoclinic.patients.models import Allergy

    Allergy.objects.create(patient=cast.patient, substance="Xylocaine", recorded_by=cast.nurse)
    form = {"indication": "wrinkles", "area": "face", "technique": "point_by_point",
            "delivery": "needle", "ingredients": "hyaluronic acid", "numbing_cream": "emla",
            "first_session_at": "2026-12-10T10:00", "allergy_test_at": "2026-11-19T10:00",
            "allergy_tested": "hyaluronic acid"}
    response = cast.client_for(cast.physician).post(
        reverse("screening:new", args=[cast.patient.public_id]), form)
    assert response.status_code == 302
    screening = Screening.objects.filter(patient=cast.patient).get()
    assert screening.input["treatment"]["ingredients"] == [
        "hyaluronic acid", "EMLA cream (lidocaine and prilocaine)"]
    assert screening.input["allergy_test"]["tested"] == ["hyaluronic acid"]
    findings = {f["code"]: f for f in screening.output["findings"]}
    assert findings["INGREDIENT_ALLERGY"]["field"] == "treatment.ingredients[1]"
    assert "did not test EMLA cream" in findings["ALLERGY_TEST_REQUIRED"]["message"]


def test_an_unknown_ingredient_on_the_screening_form_is_a_form_error(cast: Cast) -> None:
    form = {"indication": "wrinkles", "area": "face", "technique": "point_by_point",
            "delivery": "needle", "ingredients": "hyaluronic acid, unicorn extract",
            "first_session_at": "2026-12-10T10:00"}
    response = cast.client_for(cast.physician).post(
        reverse("screening:new", args=[cast.patient.public_id]), form)
    assert response.status_code == 422
    assert "unknown ingredient &#x27;unicorn extract&#x27;" in response.content.decode()
    assert not Screening.objects.exists()


def test_a_record_change_still_saves_when_the_last_proposal_no_longer_validates(cast: Cast) -> None:
    # Screened under an older pack with a free-text ingredient the catalogue now refuses.
    stale = actions.screen_patient(patient=cast.patient, treatment=TREATMENT, allergy_test=None,
                                   by=cast.physician, actor=Actor(username="t"))
    stale.input["treatment"] = {**TREATMENT, "ingredients": ["unicorn extract"]}
    stale.save(update_fields=["input"])
    from mesoclinic.patients import actions as patient_actions

    patient_actions.add_allergy(patient=cast.patient, data={"substance": "lidocaine"},
                                by=cast.nurse, actor=Actor(username="t"))
    latest = Screening.objects.filter(patient=cast.patient).order_by("-created_at", "-id").first()
    assert latest is not None
    assert latest.pk != stale.pk
    assert latest.decision == "incomplete"
    [finding] = latest.output["findings"]
    assert (finding["code"], finding["field"]) == ("MISSING_INFORMATION", "treatment.ingredients[0]")


def test_an_atc_code_outside_the_main_groups_is_refused_on_entry(cast: Cast) -> None:
    response = cast.client_for(cast.nurse).post(find_url(cast), {"name": "x", "atc_code": "x01ab01"})
    assert response.status_code == 422
    assert "Enter an ATC code such as N02BA01." in response.content.decode()
    assert not Medication.objects.exists()


def test_a_revision_older_than_the_release_is_superseded_not_a_crash(cast: Cast) -> None:
    # A database edited under pack 2026.11.x has none of the catalogue files this release needs.
    from mesoclinic.knowledge.models import KnowledgeRevision

    old = {n: t for n, t in store.bundled_documents().items()
           if n not in ("medicines.yaml", "allergens.yaml")}
    old["pack.yaml"] = old["pack.yaml"].replace('version: "2026.12.2"', 'version: "2026.11.4"')
    KnowledgeRevision.objects.create(number=1, version="2026.11.4", documents=old, note="old")
    assert store.active_pack().version == "2026.12.2"
    screening = actions.screen_patient(patient=cast.patient, treatment=TREATMENT,
                                       allergy_test=None, by=cast.physician,
                                       actor=Actor(username="t"))
    assert screening.rules_version.endswith("+pack-2026.12.2")
    text = store.bundled_documents()["medicines.yaml"]
    revision = store.edit_document(name="medicines.yaml", text=text, note="re-check",
                                   by=cast.physician, actor=Actor(username="t"), based_on=1)
    assert (revision.number, revision.version) == (2, "2026.12.3")
    assert store.active_pack().version == "2026.12.3"
