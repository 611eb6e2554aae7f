"""REST API v1 patients: every token against every endpoint, audit of every call, and bad input."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from mesoclinic.accounts.models import ApiToken
from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients.models import Patient

API = "/api/v1"
NEW = {"given_name": "Deniz", "family_name": "Arslan", "birth_date": "1987-09-30",
       "sex": "male", "phone": "+90 533 000 11 22", "email": "deniz@example.com"}
NOT_FOUND = {"error": "no such patient", "field": None}
UNAUTHORISED = {"error": "a valid bearer token is required", "field": None}
FORBIDDEN = {"create": {"error": "this token is read-only", "field": None},
             "patch": {"error": "this token is read-only", "field": None}}
RANDOM_ID = "3f1c1d4e-7a0b-4c4e-9a37-1f7b0e0c2d55"


def headers(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def token_of(cast: Any, who: str) -> str | None:
    return {"none": None, "garbage": "mc_not-a-real-token", "read": cast.read_token,
            "write": cast.write_token, "sister": cast.sister_token}[who]


def call(client: Client, method: str, path: str, token: str | None,
         body: dict[str, Any] | None = None) -> Any:
    if method == "GET":
        return client.get(path, headers=headers(token))
    send = client.post if method == "POST" else client.patch
    return send(path, json.dumps(body or {}), content_type="application/json",
                headers=headers(token))


def state(cast: Any) -> tuple[Any, ...]:
    patient = Patient.objects.get(pk=cast.patient.pk)
    return Patient.objects.count(), patient.given_name, patient.family_name, patient.phone


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


# endpoint → (method, path, body, expected status per token, audit action when allowed)
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any] | None, dict[str, int], str]] = {
    "list": ("GET", "/patients", None,
             {"read": 200, "write": 200, "sister": 200}, "search"),
    "search": ("GET", "/patients?q=sahin", None,
               {"read": 200, "write": 200, "sister": 200}, "search"),
    "read": ("GET", "/patients/{id}", None,
             {"read": 200, "write": 200, "sister": 404}, "view"),
    "create": ("POST", "/patients", NEW,
               {"read": 403, "write": 201, "sister": 201}, "create"),
    "patch": ("PATCH", "/patients/{id}", {"family_name": "Çelik", "version": 1},
              {"read": 403, "write": 200, "sister": 404}, "update"),
}


def _cases() -> list[Any]:
    return [
        pytest.param(endpoint, who, 401 if who in ("none", "garbage") else rule[3][who],
                     id=f"{who}-{endpoint}")
        for endpoint, rule in ENDPOINTS.items()
        for who in ("none", "garbage", "read", "write", "sister")
    ]


@pytest.mark.parametrize(("endpoint", "who", "expected"), _cases())
def test_tokens_reach_exactly_their_clinic_and_scope(cast, client, endpoint, who, expected) -> None:
    method, path, body, _, action = ENDPOINTS[endpoint]
    before, seq = state(cast), last_seq()

    response = call(client, method, API + path.format(id=cast.patient.public_id),
                    token_of(cast, who), body)

    assert response.status_code == expected
    data = response.json()
    events = list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))
    if expected == 401:
        assert data == UNAUTHORISED
        assert state(cast) == before
        # The knock is on the record: counted, and when the minute is over one denied event, no
        # identity, nothing about the patient.
        assert events == []
        with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
            events = list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))
        assert [(e.via, e.username, e.outcome, e.patient_id, e.changes) for e in events] == [
            ("api", "", "denied", "", {"count": 1})]
        return
    token = ApiToken.objects.get(token_hash=ApiToken.hash(token_of(cast, who) or ""))
    # Exactly one event per call, allowed or denied, made through the API by this token.
    assert [(e.via, e.username, e.user_id) for e in events] == [
        ("api", f"token:{token.name}", str(token.public_id))]
    event = events[0]
    if expected in (403, 404):
        assert state(cast) == before
        assert event.outcome == "denied"
        assert data == (NOT_FOUND if expected == 404 else FORBIDDEN[endpoint])
        assert "Şahin" not in json.dumps(data, ensure_ascii=False)
        return
    assert (event.action, event.outcome) == (action, "allowed")
    assert event.clinic_id == str(token.clinic.public_id)
    if endpoint in ("list", "search"):
        names = [(p["given_name"], p["family_name"]) for p in data["results"]]
        expected_names = {"clinic": [("Ayşe", "Şahin")], "sister": [("Lena", "Müller")]}[
            "sister" if who == "sister" else "clinic"]
        if endpoint == "search" and who == "sister":
            expected_names = []
        assert names == expected_names
        assert data["count"] == len(expected_names)
        assert state(cast) == before
    elif endpoint == "read":
        assert data["id"] == str(cast.patient.public_id)
        assert data["family_name"] == "Şahin"
        assert data["clinic"] == str(cast.clinic.public_id)
        assert event.patient_id == str(cast.patient.public_id)
        assert state(cast) == before
    elif endpoint == "create":
        created = Patient.objects.get(given_name="Deniz", family_name="Arslan")
        assert created.clinic == token.clinic
        assert data["id"] == str(created.public_id)
        assert event.patient_id == str(created.public_id)
        assert event.changes["family_name"] == [None, "Arslan"]
    else:
        assert Patient.objects.get(pk=cast.patient.pk).family_name == "Çelik"
        assert data["family_name"] == "Çelik"
        assert event.changes == {"family_name": ["Şahin", "Çelik"], "version": [1, 2]}
        assert event.patient_id == str(cast.patient.public_id)


def test_read_token_cannot_write_and_says_so(cast, client) -> None:
    created = call(client, "POST", API + "/patients", cast.read_token, NEW)
    patched = call(client, "PATCH", f"{API}/patients/{cast.patient.public_id}", cast.read_token,
                   {"family_name": "Çelik"})
    assert (created.status_code, created.json()) == (
        403, {"error": "this token is read-only", "field": None})
    assert (patched.status_code, patched.json()) == (
        403, {"error": "this token is read-only", "field": None})
    assert Patient.objects.count() == 2
    assert Patient.objects.get(pk=cast.patient.pk).family_name == "Şahin"
    assert list(AuditEvent.objects.order_by("seq").values_list("action", "outcome")) == [
        ("create", "denied"), ("update", "denied")]


def test_read_token_is_refused_before_its_body_is_even_read(cast, client) -> None:
    response = call(client, "POST", API + "/patients", cast.read_token, {"given_name": ""})
    assert (response.status_code, response.json()) == (
        403, {"error": "this token is read-only", "field": None})
    assert Patient.objects.count() == 2


def test_another_clinics_patient_is_indistinguishable_from_a_missing_one(cast, client) -> None:
    hidden = call(client, "GET", f"{API}/patients/{cast.patient.public_id}", cast.sister_token)
    missing = call(client, "GET", f"{API}/patients/{RANDOM_ID}", cast.sister_token)
    hidden_patch = call(client, "PATCH", f"{API}/patients/{cast.patient.public_id}",
                        cast.sister_token, {"given_name": "X", "version": 1})
    missing_patch = call(client, "PATCH", f"{API}/patients/{RANDOM_ID}", cast.sister_token,
                         {"given_name": "X", "version": 1})
    for response in (hidden, missing, hidden_patch, missing_patch):
        assert (response.status_code, response.content) == (404, hidden.content)
    assert hidden.json() == NOT_FOUND
    assert Patient.objects.get(pk=cast.patient.pk).given_name == "Ayşe"


@pytest.mark.parametrize("state_of_token", ["revoked", "expired"])
def test_revoked_or_expired_tokens_are_refused(cast, client, state_of_token) -> None:
    token = ApiToken.objects.get(token_hash=ApiToken.hash(cast.write_token))
    if state_of_token == "revoked":
        token.revoked_at = timezone.now()
    else:
        token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save()
    response = call(client, "GET", f"{API}/patients/{cast.patient.public_id}", cast.write_token)
    assert (response.status_code, response.json()) == (401, UNAUTHORISED)


def test_search_finds_by_phone_and_birth_date(cast, client) -> None:
    for q in ("0532 111 22 33", "1990-04-02", "02.04.1990", "AYSE"):
        response = client.get(f"{API}/patients", {"q": q}, headers=headers(cast.read_token))
        assert response.status_code == 200
        assert [p["id"] for p in response.json()["results"]] == [str(cast.patient.public_id)]


def test_each_read_writes_one_event_with_request_details(cast, client) -> None:
    response = client.get(f"{API}/patients/{cast.patient.public_id}",
                          headers=headers(cast.read_token) | {"X-Request-ID": "abc-123"})
    assert response.status_code == 200
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.outcome, event.via) == (
        "view", "patient", "allowed", "api")
    assert (event.role, event.request_id, event.client_address) == (
        "api:read", "abc-123", "127.0.0.1")
    assert (event.clinic_id, event.patient_id) == (
        str(cast.clinic.public_id), str(cast.patient.public_id))


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"birth_date": "02/04/1990"}, "birth_date"),
        ({"birth_date": "1850-01-01"}, "birth_date"),
        ({"sex": "unknown"}, "sex"),
        ({"preferred_language": "klingon"}, "preferred_language"),
        ({"phone": "call me maybe"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"given_name": "x" * 101}, "given_name"),
        ({"given_name": ""}, "given_name"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"family_name": None}, "family_name"),
    ],
)
def test_create_with_bad_input_names_the_field_and_creates_nothing(cast, client, change,
                                                                    field) -> None:
    response = call(client, "POST", API + "/patients", cast.write_token, NEW | change)
    assert response.status_code == 422
    data = response.json()
    assert data["field"] == field
    assert data["error"].startswith(f"{field}: ")
    assert Patient.objects.count() == 2
    assert not AuditEvent.objects.filter(action="create").exists()


def test_create_without_a_required_field_names_it(cast, client) -> None:
    body = {k: v for k, v in NEW.items() if k != "birth_date"}
    response = call(client, "POST", API + "/patients", cast.write_token, body)
    assert (response.status_code, response.json()) == (
        422, {"error": "birth_date: Field required", "field": "birth_date"})
    assert Patient.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"birth_date": "1899-12-31"}, "birth_date"),
        ({"sex": "unknown"}, "sex"),
        ({"phone": "call me maybe"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"given_name": "x" * 101}, "given_name"),
        ({"nickname": "Ayşo"}, "nickname"),
        ({"given_name": None}, "given_name"),
        ({"sex": None}, "sex"),
    ],
)
def test_patch_with_bad_input_names_the_field_and_changes_nothing(cast, client, change,
                                                                   field) -> None:
    # The valid family name in the same request must not be saved half-way.
    response = call(client, "PATCH", f"{API}/patients/{cast.patient.public_id}",
                    cast.write_token, {"family_name": "Çelik", "version": 1} | change)
    assert response.status_code == 422
    assert response.json()["field"] == field
    patient = Patient.objects.get(pk=cast.patient.pk)
    assert (patient.given_name, patient.family_name, patient.sex, patient.birth_date.isoformat(),
            patient.email) == ("Ayşe", "Şahin", "female", "1990-04-02", "")
    assert not AuditEvent.objects.filter(action="update").exists()


def test_a_body_that_is_not_json_gets_the_error_shape(cast, client) -> None:
    response = client.post(f"{API}/patients", "{not json", content_type="application/json",
                           headers=headers(cast.write_token))
    assert response.status_code == 400
    assert set(response.json()) == {"error", "field"}
    assert Patient.objects.count() == 2


@pytest.mark.parametrize(("query", "field"), [("limit=0", "limit"), ("limit=201", "limit"),
                                              ("offset=-1", "offset"), ("q=" + "x" * 101, "q")])
def test_search_parameters_are_validated(cast, client, query, field) -> None:
    response = client.get(f"{API}/patients?{query}", headers=headers(cast.read_token))
    assert (response.status_code, response.json()["field"]) == (422, field)


def test_a_malformed_patient_id_is_a_422(cast, client) -> None:
    response = client.get(f"{API}/patients/not-a-uuid", headers=headers(cast.read_token))
    assert (response.status_code, response.json()["field"]) == (422, "patient_id")


# --- schema -----------------------------------------------------------------------------------

def test_openapi_schema_lists_the_patient_endpoints(client) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]["/api/v1/patients"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/patients/{patient_id}"]) == {"get", "patch"}
    create = schema["paths"]["/api/v1/patients"]["post"]
    assert {"201", "401", "403", "422"} <= set(create["responses"])
    assert "additionalProperties" in json.dumps(schema["components"]["schemas"]["PatientIn"])


def test_a_patch_based_on_an_older_version_answers_409_and_saves_nothing(cast, client) -> None:
    path = f"{API}/patients/{cast.patient.public_id}"
    read = call(client, "GET", path, cast.write_token).json()
    assert read["version"] == 1
    first = call(client, "PATCH", path, cast.write_token,
                 {"phone": "+90 532 999 88 77", "version": read["version"]})
    assert (first.status_code, first.json()["version"]) == (200, 2)
    before = last_seq()
    stale = call(client, "PATCH", path, cast.write_token,
                 {"family_name": "Çelik", "version": read["version"]})
    assert (stale.status_code, stale.json()) == (409, {
        "error": "version: the patient was changed since version 1 (now 2); read it again and "
                 "re-apply your change", "field": "version"})
    patient = Patient.objects.get(pk=cast.patient.pk)
    assert (patient.family_name, patient.phone, patient.version) == ("Şahin", "+90 532 999 88 77", 2)
    assert list(AuditEvent.objects.filter(seq__gt=before).values_list(
        "action", "object_type", "outcome", "via", "detail")) == [
        ("update", "patient", "denied", "api", "refused stale edit: based on version 1, now version 2")]


def test_a_patch_must_say_which_version_it_changes(cast, client) -> None:
    response = call(client, "PATCH", f"{API}/patients/{cast.patient.public_id}", cast.write_token,
                    {"family_name": "Çelik"})
    assert (response.status_code, response.json()) == (
        422, {"error": "version: Field required", "field": "version"})
    assert Patient.objects.get(pk=cast.patient.pk).family_name == "Şahin"


def test_the_schema_documents_the_version_the_conflict_and_the_size_limit(client) -> None:
    schema = client.get(f"{API}/openapi.json").json()
    patch = schema["paths"]["/api/v1/patients/{patient_id}"]["patch"]
    assert {"409", "413"} <= set(patch["responses"])
    components = schema["components"]["schemas"]
    assert "version" in components["PatientPatch"]["required"]
    assert "version" in components["PatientOut"]["required"]
