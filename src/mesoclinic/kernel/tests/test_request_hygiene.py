"""Findings 8, 9, 11: oversized bodies answer 413, patient data is never cached, no invisible text."""

from __future__ import annotations

import json

import pytest
from conftest import Cast
from django.conf import settings
from django.test import Client
from django.urls import reverse

from mesoclinic.audit.models import AuditEvent
from mesoclinic.lib.text import invisible_character
from mesoclinic.patients.models import Patient

API = "/api/v1"
RLO = "\u202e"
DEMOGRAPHICS = {"given_name": "Ayşe", "family_name": "Şahin", "birth_date": "1990-04-02",
                "sex": "female", "phone": "+90 532 111 22 33", "email": "", "address": "",
                "national_id": "", "emergency_contact_name": "", "emergency_contact_phone": "",
                "preferred_language": "en"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- finding 8: request size --------------------------------------------------------------------

def test_an_oversized_json_body_answers_413_json_under_a_lowered_limit(cast: Cast, client: Client,
                                                                       settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    body = json.dumps({"given_name": "x" * (3 * 1024 * 1024)})
    response = client.post(f"{API}/patients", body, content_type="application/json",
                           headers=bearer(cast.write_token))
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"error": "request body too large (limit 1024 kB)", "field": None}
    assert Patient.objects.count() == 2


def test_a_body_over_the_default_limit_answers_413_json(cast: Cast, client: Client) -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440
    body = b"{" + b" " * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b"}"
    for method in ("post", "patch"):
        path = f"{API}/patients" if method == "post" else f"{API}/patients/{cast.patient.public_id}"
        response = getattr(client, method)(path, body, content_type="application/json",
                                           headers=bearer(cast.write_token))
        assert (response.status_code, response.json()) == (
            413, {"error": "request body too large (limit 2560 kB)", "field": None})
    screening = client.post(f"{API}/screenings", body, content_type="application/json",
                            headers=bearer(cast.read_token))
    assert screening.status_code == 413
    assert Patient.objects.get(pk=cast.patient.pk).family_name == "Şahin"


def test_an_oversized_form_answers_the_413_page(cast: Cast, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    client = cast.client_for(cast.receptionist)
    response = client.post(reverse("patients:edit", args=[cast.patient.public_id]),
                           DEMOGRAPHICS | {"address": "x" * 100_000, "based_on": "1"})
    assert response.status_code == 413
    assert "Too large" in response.content.decode()
    assert "64 kB" in response.content.decode()
    assert Patient.objects.get(pk=cast.patient.pk).address == ""


# --- finding 11: invisible characters -------------------------------------------------------------

@pytest.mark.parametrize("char", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\u200f",
                                  "\u2028", "\u2029", "\ufeff", "\u00ad", "\x07", "\x1b", "\x7f",
                                  "\x85"])
def test_invisible_characters_are_found(char: str) -> None:
    assert invisible_character(f"Ay{char}şe") == char
    assert invisible_character(f"note{char}", multiline=True) == char


def test_tabs_and_line_breaks_are_free_text_not_names() -> None:
    assert invisible_character("line one\r\nline two\tend", multiline=True) is None
    assert invisible_character("Ayşe\nNur") == "\n"
    assert invisible_character("Ayşe Nur Şahin-Çelik عائشة Айше") is None


def test_a_right_to_left_override_in_a_name_is_refused_by_the_form(cast: Cast) -> None:
    client = cast.client_for(cast.receptionist)
    response = client.post(reverse("patients:edit", args=[cast.patient.public_id]),
                           DEMOGRAPHICS | {"given_name": f"Ay{RLO}şe", "based_on": "1"})
    assert response.status_code == 422
    assert "Given name: contains an invisible control character U+202E" in response.content.decode()
    assert Patient.objects.get(pk=cast.patient.pk).given_name == "Ayşe"
    registered = client.post(reverse("patients:new"),
                             DEMOGRAPHICS | {"given_name": f"{RLO}Deniz"})
    assert registered.status_code == 422
    assert not Patient.objects.filter(given_name__contains="Deniz").exists()


def test_an_invisible_character_in_free_text_is_refused(cast: Cast) -> None:
    client = cast.client_for(cast.physician)
    response = client.post(reverse("patients:allergy-add", args=[cast.patient.public_id]),
                           {"substance": "Lido\u200bcaine", "reaction": "", "severity": "mild"})
    assert response.status_code == 422
    assert "contains an invisible control character U+200B" in response.content.decode()
    assert not cast.patient.allergies.exists()


def test_a_right_to_left_override_in_a_name_is_refused_by_the_api(cast: Cast, client: Client) -> None:
    created = client.post(f"{API}/patients",
                          json.dumps({"given_name": f"Ay{RLO}şe", "family_name": "Arslan",
                                      "birth_date": "1990-01-01", "sex": "female"}),
                          content_type="application/json", headers=bearer(cast.write_token))
    assert (created.status_code, created.json()) == (422, {
        "error": "given_name: contains an invisible control character U+202E",
        "field": "given_name"})
    patched = client.patch(f"{API}/patients/{cast.patient.public_id}",
                           json.dumps({"family_name": f"Şa{RLO}hin", "version": 1}),
                           content_type="application/json", headers=bearer(cast.write_token))
    assert (patched.status_code, patched.json()["field"]) == (422, "family_name")
    assert Patient.objects.count() == 2
    assert Patient.objects.get(pk=cast.patient.pk).family_name == "Şahin"
    assert not AuditEvent.objects.filter(action__in=["create", "update"], outcome="allowed").exists()


# --- finding 9: no-store --------------------------------------------------------------------------

def assert_no_store(response) -> None:
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["Pragma"] == "no-cache"


def test_the_chart_and_the_patient_list_are_never_cached(cast: Cast) -> None:
    client = cast.client_for(cast.physician)
    for url in (reverse("patients:chart", args=[cast.patient.public_id]), reverse("patients:list"),
                reverse("patients:history", args=[cast.patient.public_id])):
        response = client.get(url)
        assert response.status_code == 200
        assert_no_store(response)


def test_api_answers_are_never_cached(cast: Cast, client: Client) -> None:
    for path in (f"/patients/{cast.patient.public_id}", "/patients?q=sahin"):
        response = client.get(API + path, headers=bearer(cast.read_token))
        assert response.status_code == 200
        assert_no_store(response)


def test_the_sign_in_page_is_never_cached(client: Client) -> None:
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert_no_store(response)


def test_the_health_check_may_be_cached(client: Client) -> None:
    assert "Cache-Control" not in client.get("/healthz")
