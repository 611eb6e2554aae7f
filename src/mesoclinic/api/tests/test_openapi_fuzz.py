"""Property-based tests of REST API v1 against its own OpenAPI document (schemathesis).

Every operation is fuzzed in-process through the WSGI application (no sockets), mostly with a
valid write token (now and then a read-only token or none), with both schema-valid and
schema-violating input. Schemathesis's checks assert that
the API never answers 5xx, only answers with documented status codes and content types, and that
every body matches the documented schema; on top of that every 4xx must have the error shape
`{"error": str, "field": str | null}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
import schemathesis
import time_machine
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from mesoclinic.audit.models import AuditEvent
from mesoclinic.wsgi import application

schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json",
    application,
    config=schemathesis.Config.from_dict({
        # The test sends a real bearer token itself (below), so schemathesis should not generate one.
        "generation": {"with-security-parameters": False},
        "checks": {
            # Schema-valid input may still be refused with 422 when it breaks a rule of meaning the
            # OpenAPI document cannot state: a birth date in the future or before 1900, an e-mail
            # address or phone number the patient model rejects, or a screening intake that breaks
            # the eligibility contract (its body is free-form JSON in the schema). The API documents
            # 422 for exactly that; every other answer to valid input is still a failure.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"],
            },
        },
    }),
)


@pytest.fixture(autouse=True)
def _keep_test_connection() -> Iterator[None]:
    """Calling the WSGI application directly fires Django's request signals, whose
    `close_old_connections` would drop the connection holding the test's transaction;
    Django's test client unhooks it in the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def error_shape(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                case: schemathesis.Case[Any]) -> bool | None:
    """Every client error is `{"error": str, "field": str | null}` and nothing else (a 409 for
    a possible duplicate also lists the `duplicates`)."""
    if 400 <= response.status_code < 500:
        body = json.loads(response.content)
        assert isinstance(body, dict), body
        extra = {"duplicates"} if response.status_code == 409 else set()
        assert {"error", "field"} <= set(body) <= {"error", "field"} | extra, body
        assert isinstance(body["error"], str), body
        assert body["error"], body
        assert body["field"] is None or isinstance(body["field"], str), body
    return None


def _is_uuid(value: object) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


@schema.parametrize()
@schema.given(
    existing=st.booleans(),
    birth=st.none() | st.dates(date(1900, 1, 1), date(2020, 12, 31)),
    who=st.sampled_from(["write", "write", "write", "read", "none"]),
)
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    # Generated cases only: the documented screening example is checked on its own
    # (test_screenings_api), and schemathesis cannot mix schema examples with @schema.given.
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@pytest.mark.django_db
def test_api_conforms_to_its_schema(case: schemathesis.Case[Any], existing: bool, birth: date | None,
                                    who: str, cast: Any) -> None:
    if existing and _is_uuid((case.path_parameters or {}).get("patient_id")):
        # Half the time aim at a real patient of the token's clinic, not only at 404s.
        case.path_parameters = {**(case.path_parameters or {}), "patient_id": str(cast.patient.public_id)}
    if birth is not None and isinstance(case.body, dict) and "birth_date" in case.body:
        # Most generated dates (years 1 to 9999) are refused before a patient is ever saved; often
        # use a plausible one so that the other fields reach the model and the database.
        case.body = {**case.body, "birth_date": birth.isoformat()}
    # Mostly the write token, which may do everything; now and then a read-only token (403 on
    # writes) or none at all (401), whose refusals are audited and must survive any input too.
    token = {"write": cast.write_token, "read": cast.read_token, "none": None}[who]
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"} if token else {},
        additional_checks=[error_shape],
    )


@pytest.mark.parametrize(("who", "method", "status"), [("none", "get", 401), ("read", "patch", 403)])
def test_a_refused_call_with_nul_in_its_path_is_audited_not_a_500(cast, client, who, method,
                                                                 status) -> None:
    # A NUL in the path reached the audit record of the refusal; PostgreSQL cannot store it.
    token = {"none": None, "read": cast.read_token}[who]
    with time_machine.travel(datetime(2026, 3, 1, 10, 15, 30, tzinfo=UTC), tick=False):
        response = getattr(client, method)(
            "/api/v1/patients/a%00b", content_type="application/json",
            headers={"Authorization": f"Bearer {token}"} if token else {})
    assert response.status_code == status
    assert set(response.json()) == {"error", "field"}
    # Anonymous refusals are counted per route and minute: the event comes when the minute ends.
    with time_machine.travel(datetime(2026, 3, 1, 10, 16, tzinfo=UTC), tick=False):
        door = AuditEvent.objects.get(outcome="denied").object_id
    assert door == {"none": "/api/v1/patients/<patient_id>", "read": "/api/v1/patients/a%00b"}[who]
