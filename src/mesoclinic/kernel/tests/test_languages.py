"""Pages speak the member's language, else the clinic's; a string not yet translated stays English."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation

from mesoclinic.accounts.permissions import Role
from mesoclinic.audit.log import Actor
from mesoclinic.knowledge import store
from mesoclinic.screening import actions
from mesoclinic.screening.forms import TreatmentForm

DECISIONS_TR = {"eligible": "Uygun", "eligible_with_conditions": "Koşullu uygun",
                "incomplete": "Bilgi eksik", "not_eligible": "Uygun değil"}


@pytest.fixture(autouse=True)
def _fresh_pack_cache() -> Iterator[None]:
    store._cache.clear()
    yield
    store._cache.clear()


def body(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return str(response.content.decode())


def test_turkish_member_sees_the_navigation_and_headings_in_turkish(cast) -> None:
    cast.physician.language = "tr"
    cast.physician.save(update_fields=["language"])
    page = body(cast.client_for(cast.physician), reverse("knowledge:browse"))
    assert '<html lang="tr">' in page
    assert ">Hastalar</a>" in page
    assert ">Bilgi bankası</a>" in page
    assert "<h1>Klinik bilgi paketi</h1>" in page
    assert ">Çıkış yap</button>" in page
    assert "Clinical knowledge pack" not in page
    assert ">Patients</a>" not in page


def test_turkish_member_sees_the_screening_decision_in_turkish(cast) -> None:
    cast.nurse.language = "tr"
    cast.nurse.save(update_fields=["language"])
    with time_machine.travel(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), tick=False):
        screening = actions.screen_patient(
            patient=cast.patient, actor=Actor(username="dr.house"), by=cast.physician,
            allergy_test=None,
            treatment={"area": "face", "indication": "wrinkles", "technique": "point_by_point",
                       "delivery": "needle", "ingredients": ["hyaluronic acid"],
                       "first_session_at": "2026-12-10T10:00:00+03:00"})
        page = body(cast.client_for(cast.nurse), reverse(
            "screening:detail", args=[cast.patient.public_id, screening.public_id]))
    assert f"<h1>Tarama: <span class=\"badge badge-warn\">{DECISIONS_TR[screening.decision]}</span>" in page
    assert "<h2 id=\"h-findings\">Bulgular</h2>" in page
    assert ">koşul</span>" in page  # a condition finding's severity badge
    # Day and month names follow the language too.
    assert ">10 Aralık 2026 10:00 GMT+3</time>" in page
    # The engine's own sentences stay English (they carry dates and names inside them).
    assert "Still to do before treatment:" in page


def test_the_clinic_language_applies_when_the_member_chose_none(cast) -> None:
    cast.clinic.language = "tr"
    cast.clinic.save(update_fields=["language"])
    assert cast.receptionist.language == ""
    page = body(cast.client_for(cast.receptionist), reverse("knowledge:browse"))
    assert "<h1>Klinik bilgi paketi</h1>" in page


def test_the_member_language_wins_over_the_clinic_language(cast) -> None:
    cast.clinic.language = "tr"
    cast.clinic.save(update_fields=["language"])
    cast.manager.language = "en-gb"
    cast.manager.save(update_fields=["language"])
    page = body(cast.client_for(cast.manager), reverse("knowledge:browse"))
    assert "<h1>Clinical knowledge pack</h1>" in page
    assert '<html lang="en-gb">' in page


def test_a_german_member_reads_the_pages_in_german(cast) -> None:
    cast.auditor.language = "de"
    cast.auditor.save(update_fields=["language"])
    page = body(cast.client_for(cast.auditor), reverse("knowledge:browse"))
    assert ">Prüfprotokoll</a>" in page
    assert "<h1>Klinisches Wissenspaket</h1>" in page


def test_the_sign_in_page_follows_the_browser_language() -> None:
    page = body(Client(headers={"accept-language": "tr"}), reverse("accounts:login"))
    assert "<h1>Giriş yap</h1>" in page
    assert "Kullanıcı adı" in page


@pytest.mark.parametrize(
    ("role", "turkish"),
    [(Role.PHYSICIAN, "Hekim"), (Role.NURSE, "Uzman hemşire"), (Role.RECEPTIONIST, "Resepsiyonist"),
     (Role.MANAGER, "Klinik müdürü"), (Role.AUDITOR, "Denetçi")],
)
def test_role_labels_are_translated(role, turkish) -> None:
    with translation.override("tr"):
        assert str(role.label) == turkish
    with translation.override("en-gb"):
        assert str(role.label) == {"physician": "Physician", "nurse": "Specialist nurse",
                                   "receptionist": "Receptionist", "manager": "Clinic manager",
                                   "auditor": "Auditor"}[role]


def test_form_labels_and_errors_are_translated(db) -> None:
    with translation.override("tr"):
        form = TreatmentForm({"ingredients": " , "}, pack=store.active_pack(), tz=ZoneInfo("UTC"))
        assert not form.is_valid()
        assert str(form["first_session_at"].label) == "İlk seans"
        assert form.errors["ingredients"] == ["En az bir içerik yazın."]


def test_turkish_chart_patient_list_and_staff_page_have_turkish_headings(cast) -> None:
    cast.physician.language = "tr"
    cast.physician.save(update_fields=["language"])
    physician = cast.client_for(cast.physician)
    chart = body(physician, reverse("patients:chart", args=[cast.patient.public_id]))
    assert '<h2 id="h-meds">İlaçlar</h2>' in chart
    assert '<h2 id="h-allergies">Alerjiler</h2>' in chart
    assert '<h2 id="h-history">Tıbbi öykü</h2>' in chart
    assert '<h2 id="h-workup">Ön değerlendirme</h2>' in chart
    assert '<h2 id="h-labs">Kan ve idrar tahlilleri</h2>' in chart
    assert ">İnme geçirmiş</dt>" in chart  # the history's own labels
    for english in (">Medications<", ">Allergies<", ">Medical history<", ">Workup<", ">Details<",
                    ">Edit details<", ">Has had a stroke<"):
        assert english not in chart

    patients = body(physician, reverse("patients:list"))
    assert "<h1>Hastalar</h1>" in patients
    assert '<th scope="col">Doğum tarihi</th>' in patients
    assert ">Son kaydedilenler</p>" in patients
    for english in ("<h1>Patients</h1>", ">Date of birth<", ">Recently registered<", ">Search</button>"):
        assert english not in patients

    cast.manager.language = "tr"
    cast.manager.save(update_fields=["language"])
    staff = body(cast.client_for(cast.manager), reverse("staff:list"))
    assert "<h1>Personel: Nişantaşı</h1>" in staff
    assert '<th scope="col">Roller</th><th scope="col">Belgeler</th>' in staff
    assert ">Uzman hemşire</span>" in staff
    for english in ("Staff at", ">Credentials<", ">Roles<", ">none recorded<", ">Specialist nurse<"):
        assert english not in staff
