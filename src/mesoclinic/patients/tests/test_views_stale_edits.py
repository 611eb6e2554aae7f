"""Finding 1: an edit based on an older version is refused (409), shows what changed, saves nothing."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from conftest import Cast
from django.db import connection
from django.urls import reverse

from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
from mesoclinic.kernel.versions import StaleEdit
from mesoclinic.knowledge import store
from mesoclinic.knowledge.models import KnowledgeRevision
from mesoclinic.patients import actions
from mesoclinic.patients.models import MedicalHistory, Patient, Workup
from mesoclinic.screening import actions as screening
from mesoclinic.screening.models import Screening

OPENED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
B_SAVED = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)  # 12:05 in Istanbul
A_SAVES = datetime(2026, 11, 20, 9, 10, tzinfo=UTC)
TREATMENT: dict[str, Any] = {
    "area": "face", "indication": "wrinkles", "technique": "point_by_point", "delivery": "needle",
    "ingredients": ["hyaluronic acid"], "first_session_at": "2026-12-10T10:00:00+03:00",
}


@pytest.fixture(autouse=True)
def _fresh_pack_cache() -> Iterator[None]:
    store._cache.clear()
    yield
    store._cache.clear()


def based_on(html: str) -> str:
    found = re.search(r'<input type="hidden" name="based_on" value="(\d+)"', html)
    assert found, "the form carries no based_on"
    return found.group(1)


def history_post(cast: Cast, version: str, **answers: str) -> dict[str, str]:
    current = MedicalHistory.objects.filter(patient=cast.patient).order_by("version").first()
    assert current is not None
    return current.values() | answers | {"based_on": version}


def new_events(after: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=after).order_by("seq"))


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def test_a_stale_history_form_cannot_revert_a_pregnancy(cast: Cast) -> None:
    url = reverse("patients:history", args=[cast.patient.public_id])
    a, b = cast.client_for(cast.physician), cast.client_for(cast.nurse)
    with time_machine.travel(OPENED, tick=False):
        screening.screen_patient(patient=cast.patient, treatment=TREATMENT, allergy_test=None,
                                 by=cast.physician, actor=Actor(username="dr.house"))
        opened_by_a = based_on(a.get(url).content.decode())
        opened_by_b = based_on(b.get(url).content.decode())
    assert opened_by_a == opened_by_b == "1"
    with time_machine.travel(B_SAVED, tick=False):
        saved = b.post(url, history_post(cast, opened_by_b, pregnant="yes"))
    assert saved.status_code == 302
    screenings = Screening.objects.count()
    before = last_seq()

    with time_machine.travel(A_SAVES, tick=False):
        stale = a.post(url, history_post(cast, opened_by_a, pregnant="no",
                                         other_conditions="A's note"))

    assert stale.status_code == 409
    html = stale.content.decode()
    # What changed since, who changed it and when (in the clinic's zone, Istanbul: UTC+3).
    assert "Changed since you opened this form" in html
    row = re.search(r"<tr><td>Pregnant</td><td>(.*?)</td><td>(.*?)</td><td>.*?>(.*?)</time>", html)
    assert row is not None
    assert row.groups() == ("Yes", "Nurse Kaya", "2026-11-20 12:05")
    assert "Europe/Istanbul" in html
    # A's unsaved input is kept, re-based on the version now stored.
    assert re.search(r'value="no"[^>]*name="pregnant"[^>]*checked|name="pregnant" value="no"[^>]*checked',
                     html)
    assert "A&#x27;s note" in html or "A's note" in html
    assert based_on(html) == "2"
    # Nothing was saved: pregnancy stays recorded, no re-screen ran with the reverted value.
    latest = MedicalHistory.objects.filter(patient=cast.patient).order_by("-version").first()
    assert latest is not None
    assert (latest.version, latest.pregnant) == (2, "yes")
    assert Screening.objects.count() == screenings
    newest = Screening.objects.order_by("-created_at", "-id").first()
    assert newest is not None
    assert newest.input["patient"]["pregnant"] is True
    # The refusal is audited, once.
    events = new_events(before)
    assert [(e.action, e.object_type, e.outcome, e.detail, e.username) for e in events] == [
        ("update", "medical_history", "denied",
         "refused stale edit: based on version 1, now version 2", "dr.house")]


def test_resubmitting_after_the_conflict_saves_the_reviewed_input(cast: Cast) -> None:
    url = reverse("patients:history", args=[cast.patient.public_id])
    a, b = cast.client_for(cast.physician), cast.client_for(cast.nurse)
    assert b.post(url, history_post(cast, "1", pregnant="yes")).status_code == 302
    refused = a.post(url, history_post(cast, "1", heart_disease="yes"))
    assert refused.status_code == 409
    again = a.post(url, history_post(cast, based_on(refused.content.decode()), pregnant="yes",
                                     heart_disease="yes"))
    assert again.status_code == 302
    latest = MedicalHistory.objects.filter(patient=cast.patient).order_by("-version").first()
    assert latest is not None
    assert (latest.version, latest.pregnant, latest.heart_disease) == (3, "yes", "yes")


def test_a_history_form_without_its_version_is_refused(cast: Cast) -> None:
    url = reverse("patients:history", args=[cast.patient.public_id])
    data = history_post(cast, "1", pregnant="yes")
    del data["based_on"]
    response = cast.client_for(cast.physician).post(url, data)
    assert response.status_code == 422
    assert MedicalHistory.objects.filter(patient=cast.patient).count() == 1


DEMOGRAPHICS = {"given_name": "Ayşe", "family_name": "Şahin", "birth_date": "1990-04-02",
                "sex": "female", "phone": "+90 532 111 22 33", "email": "", "address": "",
                "national_id": "", "emergency_contact_name": "", "emergency_contact_phone": "",
                "preferred_language": "en"}


def test_a_stale_demographics_form_is_refused_and_shows_the_new_phone(cast: Cast) -> None:
    url = reverse("patients:edit", args=[cast.patient.public_id])
    a, b = cast.client_for(cast.receptionist), cast.client_for(cast.physician)
    opened = based_on(a.get(url).content.decode())
    assert opened == "1"
    with time_machine.travel(B_SAVED, tick=False):
        assert b.post(url, DEMOGRAPHICS | {"phone": "+90 532 999 88 77", "based_on": opened}
                      ).status_code == 302
    before = last_seq()
    stale = a.post(url, DEMOGRAPHICS | {"family_name": "Çelik", "based_on": opened})
    assert stale.status_code == 409
    html = stale.content.decode()
    assert re.search(r"<tr><td>Phone</td><td>\+90 532 999 88 77</td><td>Dr House</td>"
                     r"<td><time[^>]*>2026-11-20 12:05</time>", html)
    assert 'value="Çelik"' in html
    patient = Patient.objects.get(pk=cast.patient.pk)
    assert (patient.family_name, patient.phone, patient.version) == (
        "Şahin", "+90 532 999 88 77", 2)
    assert [(e.object_type, e.outcome) for e in new_events(before)] == [("patient", "denied")]


def test_a_stale_workup_form_is_refused(cast: Cast) -> None:
    url = reverse("patients:workup", args=[cast.patient.public_id])
    a, b = cast.client_for(cast.nurse), cast.client_for(cast.physician)
    opened = based_on(a.get(url).content.decode())
    assert opened == "0"  # no workup yet
    form = {"physical_exam_on": "2026-11-19", "physical_exam_note": "BP 120/80",
            "history_reviewed_on": "", "based_on": opened}
    assert b.post(url, form).status_code == 302
    stale = a.post(url, form | {"physical_exam_note": "BP 150/95"})
    assert stale.status_code == 409
    assert "BP 150/95" in stale.content.decode()
    workup = Workup.objects.get(patient=cast.patient)
    assert (workup.physical_exam_note, workup.version) == ("BP 120/80", 1)


def test_signing_off_a_workup_changed_since_it_was_read_is_refused(cast: Cast) -> None:
    actions.update_workup(patient=cast.patient, data={"physical_exam_note": "BP 120/80"},
                          actor=Actor(username="nurse.kaya"))
    chart = cast.client_for(cast.physician).get(reverse("patients:chart",
                                                        args=[cast.patient.public_id]))
    shown = based_on(chart.content.decode())
    actions.update_workup(patient=cast.patient, data={"physical_exam_note": "BP 180/110"},
                          actor=Actor(username="nurse.kaya"))
    response = cast.client_for(cast.physician).post(
        reverse("patients:workup-sign-off", args=[cast.patient.public_id]), {"based_on": shown})
    assert response.status_code == 409
    assert "BP 180/110" in response.content.decode()
    assert Workup.objects.get(patient=cast.patient).signed_off_at is None


def test_a_stale_knowledge_edit_is_refused_with_the_text_kept(cast: Cast) -> None:
    cast.physician.medical_director = True
    cast.physician.save(update_fields=["medical_director"])
    store.load_bundled(Actor(username="setup"))
    name = next(n for n in store.bundled_documents() if n != "pack.yaml")
    url = reverse("knowledge:edit", args=[name])
    client = cast.client_for(cast.physician)
    page = client.get(url).content.decode()
    opened = based_on(page)
    text = store.bundled_documents()[name]
    store.edit_document(name=name, text=text + "\n# another director's edit\n", note="Other edit",
                        by=cast.physician, actor=Actor(username="dr.house"))
    revisions = KnowledgeRevision.objects.count()
    response = client.post(url, {"text": text + "\n# mine\n", "note": "My edit",
                                 "based_on": opened})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Other edit" in html
    assert "# mine" in html
    assert KnowledgeRevision.objects.count() == revisions


def test_the_action_refuses_a_stale_version_and_audits_it(cast: Cast) -> None:
    actor = Actor(username="dr.house")
    actions.update_demographics(patient=cast.patient, data={"phone": "+90 532 000 00 01"},
                                actor=actor, based_on=1)
    with pytest.raises(StaleEdit) as caught:
        actions.update_demographics(patient=cast.patient, data={"email": "x@example.org"},
                                    actor=actor, based_on=1)
    assert (caught.value.based_on, caught.value.current) == (1, 2)
    assert [c.field for c in caught.value.changes] == ["phone"]
    assert Patient.objects.get(pk=cast.patient.pk).email == ""
    assert AuditEvent.objects.filter(object_type="patient", outcome="denied").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clinicians_saving_at_once_exactly_one_wins(cast: Cast) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks across connections: PostgreSQL")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(answer: str) -> None:
        from django.db import connections
        try:
            barrier.wait(timeout=10)
            actions.record_history(patient=Patient.objects.get(pk=cast.patient.pk),
                                   values={"pregnant": answer}, by=cast.physician,
                                   actor=Actor(username=answer), based_on=1)
            outcomes.append("saved")
        except StaleEdit:
            outcomes.append("stale")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save, args=(answer,)) for answer in ("yes", "unknown")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["saved", "stale"]
    assert list(MedicalHistory.objects.filter(patient=cast.patient)
                .values_list("version", flat=True).order_by("version")) == [1, 2]
    assert AuditEvent.objects.filter(object_type="medical_history", outcome="denied").count() == 1
