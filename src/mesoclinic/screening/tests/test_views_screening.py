"""Screening from the chart and the knowledge-pack pages: what each role sees, may do and changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from conftest import Cast
from django.test import Client
from django.urls import reverse

from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
from mesoclinic.knowledge import store
from mesoclinic.knowledge.models import KnowledgeRevision
from mesoclinic.patients.models import Allergy, MedicalHistory
from mesoclinic.screening import actions
from mesoclinic.screening.models import FindingAcceptance, Screening

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
FORM = {
    "indication": "wrinkles",
    "area": "face",
    "technique": "point_by_point",
    "delivery": "needle",
    "ingredients": "hyaluronic acid, vitamin C",
    "first_session_at": "2026-12-10T10:00",
}
TREATMENT: dict[str, Any] = {
    "area": "face", "indication": "wrinkles", "technique": "point_by_point", "delivery": "needle",
    "ingredients": ["hyaluronic acid", "vitamin C"],
    "first_session_at": "2026-12-10T10:00:00+03:00",
}
HEART_MESSAGE = ("The patient has heart disease (without multi-drug therapy). "
                 "A physician must review and decide before treatment.")
REASON = "Cardiologist cleared her in writing on 2026-11-12."
PHYSICIAN, NURSE, RECEPTIONIST, MANAGER, AUDITOR = (
    "physician", "nurse", "receptionist", "manager", "auditor")
SISTER, FOREIGN, ANONYMOUS = "sister_physician", "foreign_physician", "anonymous"
SIGN_IN = "/accounts/sign-in/"


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _fresh_pack_cache() -> Iterator[None]:
    # The parsed pack is cached per revision number; each test's database starts again at 1.
    store._cache.clear()
    yield
    store._cache.clear()


def client_as(cast: Cast, who: str) -> Client:
    return Client() if who == ANONYMOUS else cast.client_for(getattr(cast, who))


def text(response: Any) -> str:
    return str(response.content.decode())


def set_history(cast: Cast, **changes: str) -> None:
    latest = MedicalHistory.objects.filter(patient=cast.patient).order_by("-version").first()
    assert latest is not None
    MedicalHistory.objects.create(patient=cast.patient, version=latest.version + 1,
                                  recorded_by=cast.nurse, **{**latest.values(), **changes})


def stored_screening(cast: Cast, **history: str) -> Screening:
    if history:
        set_history(cast, **history)
    return actions.screen_patient(patient=cast.patient, treatment=dict(TREATMENT), allergy_test=None,
                                  by=cast.physician, actor=Actor(username="dr.house"))


def new_url(cast: Cast) -> str:
    return reverse("screening:new", args=[cast.patient.public_id])


def detail_url(screening: Screening) -> str:
    return reverse("screening:detail", args=[screening.patient.public_id, screening.public_id])


def accept_url(screening: Screening) -> str:
    return reverse("screening:accept", args=[screening.patient.public_id, screening.public_id])


# --- the chart and the detail page ----------------------------------------------------------------

def test_chart_shows_the_latest_screening_with_messages_facts_and_rules_version(cast: Cast) -> None:
    stored_screening(cast)  # an older one, superseded below
    latest = stored_screening(cast, heart_disease="yes")
    response = cast.client_for(cast.physician).get(
        reverse("patients:chart", args=[cast.patient.public_id]))
    assert response.status_code == 200
    body = text(response)
    assert "Eligible with conditions" in body
    assert HEART_MESSAGE in body
    assert "F-ELIG-MULTIDRUG" in body
    assert "F-ALLERGY-TEST" in body
    assert "rules engine-2+pack-2026.12.2" in body
    assert f'href="{detail_url(latest)}"' in body
    assert "Screen for a treatment" in body


def test_chart_without_a_screening_says_not_screened_yet(cast: Cast) -> None:
    response = cast.client_for(cast.nurse).get(reverse("patients:chart", args=[cast.patient.public_id]))
    assert response.status_code == 200
    assert "Not screened yet." in text(response)


def test_detail_shows_every_finding_with_its_source_and_the_rules_version(cast: Cast) -> None:
    screening = stored_screening(cast, heart_disease="yes")
    response = cast.client_for(cast.nurse).get(detail_url(screening))
    assert response.status_code == 200
    body = text(response)
    for finding in screening.output["findings"]:
        assert finding["message"] in body
        assert f'{finding["code"]} · source {finding["fact"]}' in body
    assert "<code>engine-2+pack-2026.12.2</code>" in body
    assert "Do the allergy test with every planned ingredient by 2026-12-09T10:00:00+03:00." in body
    # A nurse sees the review finding but no form to accept it.
    assert "Accept with this reason" not in body


def test_detail_names_the_treatment_in_words_and_clinic_time(cast: Cast) -> None:
    body = text(cast.client_for(cast.physician).get(detail_url(stored_screening(cast))))
    assert "point_by_point" not in body
    assert ">10 Dec 2026, 10 a.m. GMT+3</time>" in body
    pack = store.active_pack()
    for label in (pack.indications["wrinkles"].label, pack.techniques["point_by_point"].label,
                  pack.deliveries["needle"].label):
        assert label in body


# --- the new-screening form -----------------------------------------------------------------------

def test_new_screening_form_is_prefilled_from_the_latest_screening(cast: Cast) -> None:
    stored_screening(cast)
    response = cast.client_for(cast.physician).get(new_url(cast))
    assert response.status_code == 200
    body = text(response)
    assert '<option value="wrinkles" selected>' in body
    assert 'value="hyaluronic acid, vitamin C"' in body


def test_screening_from_the_form_redirects_to_its_findings(cast: Cast) -> None:
    client = cast.client_for(cast.physician)
    response = client.post(new_url(cast), FORM)
    screening = Screening.objects.get(patient=cast.patient)
    assert response.status_code == 302
    assert response["Location"] == detail_url(screening)
    assert screening.treatment == TREATMENT
    assert screening.input["allergy_test"] is None
    assert (screening.created_by, screening.trigger, screening.decision) == (
        cast.physician, "manual", "eligible_with_conditions")

    page = client.get(response["Location"])
    assert page.status_code == 200
    body = text(page)
    assert "Eligible with conditions" in body
    assert "ALLERGY_TEST_REQUIRED · source F-ALLERGY-TEST" in body
    assert "WORKUP_REQUIRED · source F-WORKUP" in body


def test_screening_with_an_allergy_test_stores_it_in_the_clinic_time_zone(cast: Cast) -> None:
    response = cast.client_for(cast.nurse).post(
        new_url(cast), {**FORM, "allergy_test_at": "2026-11-19T15:30", "reactive_to": "zinc"})
    assert response.status_code == 302
    screening = Screening.objects.get(patient=cast.patient)
    assert screening.input["allergy_test"] == {
        "performed_at": "2026-11-19T15:30:00+03:00", "reactive_to": ["zinc"]}
    assert screening.created_by == cast.nurse


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"indication": "tattoo_removal"}, "Indication",
         "Select a valid choice. tattoo_removal is not one of the available choices."),
        ({"first_session_at": ""}, "First session", "This field is required."),
        ({"first_session_at": "10/12/2026"}, "First session", "Enter a valid date/time."),
        ({"ingredients": " , ,"}, "Ingredients", "Name at least one ingredient."),
        ({"ingredients": ""}, "Ingredients", "This field is required."),
        ({"reactive_to": "zinc"}, "Allergy test done at",
         "Give the time of the allergy test that reacted."),
    ],
)
def test_invalid_treatment_is_refused_naming_the_field(
    cast: Cast, change: dict[str, str], field: str, message: str
) -> None:
    with_events = AuditEvent.objects.count()
    response = cast.client_for(cast.physician).post(new_url(cast), {**FORM, **change})
    assert response.status_code == 422
    assert f"<li>{field}: {message}</li>" in text(response).replace("&#x27;", "'")
    assert Screening.objects.count() == 0
    assert AuditEvent.objects.filter(object_type="screening", action="create").count() == 0
    # The refusal page shows the patient's data: it is audited as one read (issue 6, finding 6).
    shown = AuditEvent.objects.get(seq__gt=with_events)
    assert (shown.action, shown.object_type, shown.patient_id) == (
        "view", "screening", str(cast.patient.public_id))
    assert shown.detail == "refused POST shown (status 422)"


# --- who may screen, see and accept ----------------------------------------------------------------

DENIED_STAFF = [(RECEPTIONIST, 403), (MANAGER, 403), (AUDITOR, 403), (SISTER, 404), (FOREIGN, 404)]


@pytest.mark.parametrize("who", [PHYSICIAN, NURSE])
def test_physician_and_nurse_may_screen(cast: Cast, who: str) -> None:
    client = client_as(cast, who)
    assert client.get(new_url(cast)).status_code == 200
    response = client.post(new_url(cast), FORM)
    assert response.status_code == 302
    assert Screening.objects.get(patient=cast.patient).created_by == getattr(cast, who)


@pytest.mark.parametrize(("who", "status"), [*DENIED_STAFF, (ANONYMOUS, 302)])
def test_other_roles_may_not_screen(cast: Cast, who: str, status: int) -> None:
    client = client_as(cast, who)
    shown = client.get(new_url(cast))
    posted = client.post(new_url(cast), FORM)
    assert (shown.status_code, posted.status_code) == (status, status)
    if status == 302:
        assert shown["Location"] == f"{SIGN_IN}?next={new_url(cast)}"
    assert "Screen for a treatment" not in text(shown)
    assert Screening.objects.count() == 0


@pytest.mark.parametrize("who", [PHYSICIAN, NURSE])
def test_physician_and_nurse_may_see_a_screening(cast: Cast, who: str) -> None:
    screening = stored_screening(cast, heart_disease="yes")
    response = client_as(cast, who).get(detail_url(screening))
    assert response.status_code == 200
    assert HEART_MESSAGE in text(response)


@pytest.mark.parametrize(("who", "status"), [*DENIED_STAFF, (ANONYMOUS, 302)])
def test_other_roles_never_see_a_screening(cast: Cast, who: str, status: int) -> None:
    screening = stored_screening(cast, heart_disease="yes")
    response = client_as(cast, who).get(detail_url(screening))
    assert response.status_code == status
    assert HEART_MESSAGE not in text(response)
    assert "HEART_DISEASE" not in text(response)


def test_a_screening_of_another_patient_is_not_found(cast: Cast) -> None:
    screening = stored_screening(cast)
    url = reverse("screening:detail", args=[cast.sister_patient.public_id, screening.public_id])
    assert cast.client_for(cast.sister_physician).get(url).status_code == 404


def test_physician_accepts_a_review_finding_and_sees_it_accepted(cast: Cast) -> None:
    screening = stored_screening(cast, heart_disease="yes", multi_drug_therapy="no")
    client = cast.client_for(cast.physician)
    assert "Accept with this reason" in text(client.get(detail_url(screening)))

    response = client.post(accept_url(screening), {"code": "HEART_DISEASE", "reason": REASON})

    assert response.status_code == 302
    assert response["Location"] == detail_url(screening)
    acceptance = FindingAcceptance.objects.get(screening=screening)
    assert (acceptance.code, acceptance.reason, acceptance.accepted_by) == (
        "HEART_DISEASE", REASON, cast.physician)
    event = AuditEvent.objects.get(object_type="screening", action="update")
    assert event.changes == {"accepted": [None, "HEART_DISEASE"]}
    assert event.username == "dr.house"
    body = text(client.get(detail_url(screening)))
    assert '<span class="badge badge-ok">accepted</span> by Dr House' in body
    assert REASON in body
    assert "Accept with this reason" not in body


@pytest.mark.parametrize(("who", "status"), [(NURSE, 403), *DENIED_STAFF, (ANONYMOUS, 302)])
def test_only_the_physician_may_accept_a_review_finding(cast: Cast, who: str, status: int) -> None:
    screening = stored_screening(cast, heart_disease="yes", multi_drug_therapy="no")
    response = client_as(cast, who).post(accept_url(screening),
                                         {"code": "HEART_DISEASE", "reason": REASON})
    assert response.status_code == status
    assert FindingAcceptance.objects.count() == 0
    assert AuditEvent.objects.filter(object_type="screening", action="update").count() == 0


@pytest.mark.parametrize("who", [PHYSICIAN, NURSE, SISTER])
def test_nobody_can_accept_a_block_finding(cast: Cast, who: str) -> None:
    screening = stored_screening(cast, pregnant="yes")
    response = client_as(cast, who).post(accept_url(screening), {"code": "PREGNANT", "reason": REASON})
    if who == PHYSICIAN:
        assert response.status_code == 422
        assert "code: a block finding cannot be overridden" in text(response)
    else:
        assert response.status_code == {NURSE: 403, SISTER: 404}[who]
    assert FindingAcceptance.objects.count() == 0
    assert Screening.objects.get(pk=screening.pk).decision == "not_eligible"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "HEART_DISEASE", "reason": "fine"},
         "Reason: Ensure this value has at least 10 characters (it has 4)."),
        ({"code": "STROKE_HISTORY", "reason": REASON},
         "code: this screening has no finding &#x27;STROKE_HISTORY&#x27;"),
    ],
)
def test_a_bad_acceptance_is_refused_with_the_reason(cast: Cast, data: dict[str, str],
                                                      message: str) -> None:
    screening = stored_screening(cast, heart_disease="yes", multi_drug_therapy="no")
    response = cast.client_for(cast.physician).post(accept_url(screening), data)
    assert response.status_code == 422
    assert message in text(response)
    assert FindingAcceptance.objects.count() == 0


def test_accept_is_post_only(cast: Cast) -> None:
    screening = stored_screening(cast, heart_disease="yes")
    assert cast.client_for(cast.physician).get(accept_url(screening)).status_code == 405


# --- the knowledge pack -----------------------------------------------------------------------------

EDIT_URL = reverse("knowledge:edit", args=["ingredients.yaml"])


def opened_at() -> str:
    """The revision an editor opened now would be based on (its hidden `based_on`)."""
    newest = KnowledgeRevision.objects.order_by("-number").first()
    return str(newest.number if newest else 0)


HA_SYNONYMS = "synonyms: [sodium hyaluronate, hyaluronan, hyaluronate, HA,"  # the list goes on
NEW_SYNONYM = "Cytocare 532"  # a supplier's name the catalogue does not know yet


def ingredients_text() -> str:
    return store.bundled_documents()["ingredients.yaml"]


@pytest.fixture
def director(cast: Cast) -> Client:
    cast.physician.medical_director = True
    cast.physician.save(update_fields=["medical_director"])
    return cast.client_for(cast.physician)


@pytest.mark.parametrize("who", [PHYSICIAN, NURSE, RECEPTIONIST, MANAGER, AUDITOR])
def test_staff_may_browse_the_knowledge_pack(cast: Cast, who: str) -> None:
    response = client_as(cast, who).get(reverse("knowledge:browse"))
    assert response.status_code == 200
    body = text(response)
    assert "version 2026.12.2" in body
    assert "also: sodium hyaluronate, hyaluronan, hyaluronate, HA" in body
    assert EDIT_URL not in body  # nobody here is the medical director


def test_anonymous_is_sent_to_sign_in_from_the_knowledge_pack(cast: Cast) -> None:
    response = Client().get(reverse("knowledge:browse"))
    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN}?next=/knowledge/"


def test_medical_director_sees_the_edit_links(cast: Cast, director: Client) -> None:
    body = text(director.get(reverse("knowledge:browse")))
    assert f'href="{EDIT_URL}"' in body
    form = director.get(EDIT_URL)
    assert form.status_code == 200
    assert "code: hyaluronic_acid" in text(form)


def test_medical_director_edit_bumps_the_version_and_feeds_the_next_screening(
    cast: Cast, director: Client
) -> None:
    Allergy.objects.create(patient=cast.patient, substance=NEW_SYNONYM, recorded_by=cast.nurse)
    before = director.post(new_url(cast), FORM)
    assert before.status_code == 302
    assert Screening.objects.get().decision == "eligible_with_conditions"  # not a known name yet
    events = AuditEvent.objects.count()

    edited = ingredients_text().replace(
        HA_SYNONYMS, f"synonyms: [sodium hyaluronate, hyaluronan, hyaluronate, HA, {NEW_SYNONYM},")
    response = director.post(EDIT_URL, {"text": edited, "note": "Synonym used by our supplier",
                                        "based_on": opened_at()})

    assert response.status_code == 302
    assert response["Location"] == reverse("knowledge:browse")
    revision = KnowledgeRevision.objects.get()
    assert (revision.number, revision.version, revision.changed_file, revision.created_by) == (
        1, "2026.12.3", "ingredients.yaml", cast.physician)
    assert revision.note == "Synonym used by our supplier"
    assert revision.documents["ingredients.yaml"] == edited
    assert 'version: "2026.12.3"' in revision.documents["pack.yaml"]
    assert AuditEvent.objects.count() == events + 1
    event = AuditEvent.objects.get(object_type="knowledge_pack")
    assert (event.action, event.object_id, event.username) == ("update", "2026.12.3", "dr.house")
    assert event.changes == {"version": ["2026.12.2", "2026.12.3"],
                             "file": [None, "ingredients.yaml"]}
    assert "version 2026.12.3" in text(director.get(reverse("knowledge:browse")))

    after = director.post(new_url(cast), FORM)
    assert after.status_code == 302
    screening = Screening.objects.order_by("-id").first()
    assert screening is not None
    assert screening.decision == "not_eligible"
    assert screening.rules_version == "engine-2+pack-2026.12.3"
    assert [f["code"] for f in screening.output["findings"] if f["severity"] == "block"] == [
        "INGREDIENT_ALLERGY"]


def test_a_second_edit_bumps_the_version_again(cast: Cast, director: Client) -> None:
    note = {"note": "Tidy the list"}
    first = ingredients_text().replace(HA_SYNONYMS, f"synonyms: [sodium hyaluronate, {NEW_SYNONYM},")
    assert director.post(EDIT_URL, {"text": first, **note, "based_on": opened_at()}).status_code == 302
    assert director.post(EDIT_URL, {"text": ingredients_text(), **note,
                                    "based_on": opened_at()}).status_code == 302
    assert list(KnowledgeRevision.objects.order_by("number").values_list("number", "version")) == [
        (1, "2026.12.3"), (2, "2026.12.4")]


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (lambda t: t.replace("    classes: [hyaluronic_acid]\n    fact: F-SOLUTION\n",
                             "    classes: [hyaluronic_acid]\n", 1),
         "ingredients.yaml: ingredients[0] (hyaluronic_acid): missing 'fact'"),
        (lambda t: t + "\n  - code: [unclosed\n", "ingredients.yaml: not valid YAML"),
    ],
    ids=["fact-id-removed", "yaml-syntax-error"],
)
def test_an_invalid_edit_is_refused_naming_the_file_and_entry(
    cast: Cast, director: Client, broken: Any, named: str
) -> None:
    text_before = ingredients_text()
    edited = broken(text_before)
    assert edited != text_before
    events = AuditEvent.objects.count()
    response = director.post(EDIT_URL, {"text": edited, "note": "Break something",
                                        "based_on": opened_at()})
    assert response.status_code == 422
    assert f"<li>File contents (YAML): {named}" in text(response).replace("&#x27;", "'")
    assert KnowledgeRevision.objects.count() == 0
    assert AuditEvent.objects.count() == events
    assert store.active_pack().version == "2026.12.2"


@pytest.mark.parametrize("who", [PHYSICIAN, NURSE, RECEPTIONIST])
def test_only_a_physician_with_the_medical_director_flag_may_edit(cast: Cast, who: str) -> None:
    if who == NURSE:  # the flag alone is not enough: the role must allow editing knowledge
        cast.nurse.medical_director = True
        cast.nurse.save(update_fields=["medical_director"])
    client = client_as(cast, who)
    edited = ingredients_text().replace(HA_SYNONYMS, f"synonyms: [{NEW_SYNONYM},")
    assert client.get(EDIT_URL).status_code == 403
    response = client.post(EDIT_URL, {"text": edited, "note": "Sneaky change",
                                      "based_on": opened_at()})
    assert response.status_code == 403
    assert KnowledgeRevision.objects.count() == 0
    denied = AuditEvent.objects.filter(object_type="knowledge_pack", outcome="denied")
    assert denied.count() == 2
    assert {e.username for e in denied} == {getattr(cast, who).username}


def test_the_manifest_cannot_be_edited(cast: Cast, director: Client) -> None:
    url = reverse("knowledge:edit", args=["pack.yaml"])
    assert director.get(url).status_code == 404
    assert director.post(url, {"text": 'version: "2099.1.1"\n', "note": "Skip ahead",
                               "based_on": opened_at()}).status_code == 404
    assert KnowledgeRevision.objects.count() == 0
