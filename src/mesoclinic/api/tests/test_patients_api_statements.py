"""SQL statements per patient API call: a budget each, so that one more is a decision, not a drift.

A statement count is not a timing: it holds on any machine. Under pytest-django's test
transaction a request's BEGIN and COMMIT appear as SAVEPOINT and RELEASE: the counts are those
of a real request. The budgets include what the request does not own and others are changing:
the bearer-token lookup (api/auth.py) and the audit append (audit/log.py, below).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection

from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients.models import Patient

API = "/api/v1"
NEW = {"given_name": "Deniz", "family_name": "Arslan", "birth_date": "1987-09-30",
       "sex": "male", "phone": "+90 533 000 11 22", "email": "deniz@example.com"}
# A token's first call in a process: its row and its last-used time; cached afterwards.
TOKEN_LOOKUP = 2
TRANSACTION = 2  # BEGIN and COMMIT (or, nested, SAVEPOINT and RELEASE)


# One SELECT for a possible duplicate (same folded name and birth date, or phone) before the
# insert: a deliberate statement, so that reception is warned (patients/duplicates.py).
DUPLICATE_CHECK = 1


def audit_append() -> int:
    """audit.log.record() in the caller's transaction: on SQLite the chain head and the sealed
    INSERT (the database's one write lock keeps the head still); on PostgreSQL the unsealed INSERT
    only — it is sealed after the commit, in a short transaction of its own."""
    return 2 if connection.vendor == "sqlite" else 1


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sql_of(captured: Any) -> list[str]:
    return [query["sql"] for query in captured.captured_queries]


def test_registration_runs_one_insert_and_the_audit_append(
    cast, client, django_assert_max_num_queries
) -> None:
    # 1: INSERT INTO patients_patient; DUPLICATE_CHECK: is this patient registered already?
    budget = TOKEN_LOOKUP + TRANSACTION + DUPLICATE_CHECK + 1 + audit_append()
    with django_assert_max_num_queries(budget) as captured:
        response = client.post(f"{API}/patients", json.dumps(NEW),
                               content_type="application/json", headers=auth(cast.write_token))
    assert response.status_code == 201
    # full_clean() no longer asks whether the clinic exists or the new public id is taken: the
    # foreign key and the unique index answer on INSERT.
    assert [sql for sql in sql_of(captured) if sql.startswith('SELECT 1 AS "a"')] == []
    assert Patient.objects.get(public_id=response.json()["id"]).family_key == "arslan"


def test_registration_with_a_second_given_name_adds_only_its_name_word(
    cast, client, django_assert_max_num_queries
) -> None:
    # 2: the patient and its name word
    budget = TOKEN_LOOKUP + TRANSACTION + DUPLICATE_CHECK + 2 + audit_append()
    with django_assert_max_num_queries(budget):
        response = client.post(f"{API}/patients", json.dumps(NEW | {"given_name": "Deniz Nur"}),
                               content_type="application/json", headers=auth(cast.write_token))
    assert response.status_code == 201
    patient = Patient.objects.get(public_id=response.json()["id"])
    assert list(patient.name_words.values_list("word", flat=True)) == ["nur"]


@pytest.mark.parametrize("q", ["sahin", "ayse sah", "1990-04-02", "0532 111 22 33"])
def test_search_is_one_query_and_the_audit_append(
    cast, client, django_assert_max_num_queries, q
) -> None:
    budget = TOKEN_LOOKUP + 1 + audit_append()  # 1: the search with the clinic joined
    with django_assert_max_num_queries(budget):
        response = client.get(f"{API}/patients", {"q": q}, headers=auth(cast.read_token))
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [str(cast.patient.public_id)]


def test_reading_a_patient_is_one_query_and_the_audit_append(
    cast, client, django_assert_max_num_queries
) -> None:
    budget = TOKEN_LOOKUP + 1 + audit_append()  # 1: the patient with its clinic joined
    with django_assert_max_num_queries(budget):
        response = client.get(f"{API}/patients/{cast.patient.public_id}",
                              headers=auth(cast.read_token))
    assert response.status_code == 200
    assert response.json()["family_name"] == "Şahin"


def test_changing_a_name_locks_updates_and_rewrites_the_name_words_only(
    cast, client, django_assert_max_num_queries
) -> None:
    # 1: the scoped load; 3: the row locked, its UPDATE, its stored name words. The view answers
    # with the caller's instance, which update_demographics() left current: no second read.
    budget = TOKEN_LOOKUP + 1 + TRANSACTION + 3 + audit_append()
    with django_assert_max_num_queries(budget) as captured:
        response = client.patch(f"{API}/patients/{cast.patient.public_id}",
                                json.dumps({"family_name": "Çelik", "version": 1}),
                                content_type="application/json", headers=auth(cast.write_token))
    assert response.status_code == 200
    assert [sql for sql in sql_of(captured) if sql.startswith('SELECT 1 AS "a"')] == []
    assert Patient.objects.get(pk=cast.patient.pk).family_key == "celik"


def test_a_taken_public_id_is_the_same_clear_422_and_saves_nothing(
    cast, client, monkeypatch
) -> None:
    # A UUID4 collision, made certain: the unique index refuses the row, and the error is the one
    # full_clean()'s unique check used to give before the INSERT.
    field = Patient._meta.get_field("public_id")
    monkeypatch.setattr(field, "_get_default", lambda: cast.patient.public_id)
    before = Patient.objects.count(), AuditEvent.objects.count()
    response = client.post(f"{API}/patients", json.dumps(NEW), content_type="application/json",
                           headers=auth(cast.write_token))
    assert (response.status_code, response.json()) == (
        422, {"error": "public_id: Patient with this Public id already exists.",
              "field": "public_id"})
    assert (Patient.objects.count(), AuditEvent.objects.count()) == before
