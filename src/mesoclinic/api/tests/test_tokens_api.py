"""API tokens over the API: a token revokes itself; revoked and expired tokens are refused at
once in this process; the lookup is cached, and other processes' revocations count within the
cache's lifetime."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mesoclinic.accounts.models import ApiToken
from mesoclinic.audit.models import AuditEvent

CURRENT = "/api/v1/tokens/current"
PATIENTS = "/api/v1/patients"
UNAUTHORISED = {"error": "a valid bearer token is required", "field": None}


def auth(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.parametrize("who", ["read_token", "write_token"])
def test_a_token_of_any_scope_revokes_itself(cast, client, who) -> None:
    raw = getattr(cast, who)
    assert client.get(PATIENTS, headers=auth(raw)).status_code == 200
    response = client.delete(CURRENT, headers=auth(raw))
    assert (response.status_code, response.content) == (204, b"")
    token = ApiToken.objects.get(token_hash=ApiToken.hash(raw))
    assert token.revoked_at is not None
    refused = client.get(PATIENTS, headers=auth(raw))
    assert (refused.status_code, refused.json()) == (401, UNAUTHORISED)
    assert client.delete(CURRENT, headers=auth(raw)).status_code == 401
    event = AuditEvent.objects.get(object_type="api_token")
    assert (event.action, event.username, event.via, event.object_id, event.clinic_id) == (
        "update", f"token:{token.name}", "api", str(token.public_id), str(cast.clinic.public_id))
    # The other tokens still work.
    other = cast.write_token if who == "read_token" else cast.read_token
    assert client.get(PATIENTS, headers=auth(other)).status_code == 200


def test_revoking_without_a_token_is_a_401_with_the_error_shape(cast, client) -> None:
    response = client.delete(CURRENT)
    assert (response.status_code, response.json()) == (401, UNAUTHORISED)
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()


def test_an_expired_token_is_refused_even_when_cached(cast, client) -> None:
    token = ApiToken.objects.get(name="reader")
    token.expires_at = timezone.now() + timedelta(seconds=5)
    token.save(update_fields=["expires_at"])
    assert client.get(PATIENTS, headers=auth(cast.read_token)).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=6)):
        response = client.get(PATIENTS, headers=auth(cast.read_token))
    assert (response.status_code, response.json()) == (401, UNAUTHORISED)


def test_a_cached_token_is_resolved_without_querying_the_token_table(cast, client) -> None:
    client.get(PATIENTS, headers=auth(cast.read_token))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PATIENTS, headers=auth(cast.read_token)).status_code == 200
    assert not [q for q in queries.captured_queries if "accounts_apitoken" in q["sql"]]


def test_another_process_revocation_counts_within_the_cache_lifetime(cast, client) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert client.get(PATIENTS, headers=auth(cast.read_token)).status_code == 200
        # As another server process would: the row changes, this process's cache does not know.
        ApiToken.objects.filter(name="reader").update(revoked_at=start)
        assert client.get(PATIENTS, headers=auth(cast.read_token)).status_code == 200
    later = start + timedelta(seconds=settings.API_TOKEN_CACHE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert client.get(PATIENTS, headers=auth(cast.read_token)).status_code == 401


def test_last_use_is_recorded_once_per_cache_lifetime(cast, client) -> None:
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        client.get(PATIENTS, headers=auth(cast.read_token))
    with time_machine.travel(start + timedelta(seconds=5), tick=False):
        client.get(PATIENTS, headers=auth(cast.read_token))
    assert ApiToken.objects.get(name="reader").last_used_at == start
    assert ApiToken.objects.get(name="writer").last_used_at is None


def test_the_revocation_endpoint_is_documented_with_the_error_shape(client) -> None:
    operation = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/tokens/current"]["delete"]
    assert set(operation["responses"]) == {"204", "401"}
    schema: Any = operation["responses"]["401"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ErrorOut"}
    assert operation["security"] == [{"TokenAuth": []}]
