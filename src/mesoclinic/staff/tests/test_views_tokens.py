"""The manager's API token page (staff app): list, issue (shown once), revoke; re-authentication first;
only the active clinic's tokens; every other role refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
import time_machine
from conftest import PASSWORD
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mesoclinic.accounts.decorators import REAUTH_AT
from mesoclinic.accounts.models import ApiToken, Membership, TOTPDevice, User
from mesoclinic.audit.models import AuditEvent

T0 = datetime(2025, 4, 7, 9, 0, 10, tzinfo=UTC)
TOKENS = reverse("staff:tokens")
PATIENTS_API = "/api/v1/patients"


def revoke_url(token: ApiToken) -> str:
    return reverse("staff:revoke-token", args=[token.public_id])


def fresh(cast: Any, user: User) -> Client:
    """Signed in and re-authenticated just now."""
    client = cast.client_for(user)
    session = client.session
    session[REAUTH_AT] = timezone.now().timestamp()
    session.save()
    return client


def api_status(raw: str) -> int:
    return Client().get(PATIENTS_API, headers={"Authorization": f"Bearer {raw}"}).status_code


def state() -> list[tuple[Any, ...]]:
    return list(ApiToken.objects.order_by("pk").values_list("pk", "name", "revoked_at"))


@pytest.mark.parametrize(
    ("who", "status"),
    [("manager", 200), ("physician", 403), ("nurse", 403), ("receptionist", 403),
     ("auditor", 403), ("foreign_physician", 403)],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_only_a_manager_reaches_the_token_page(cast, who, status, method) -> None:
    before = state()
    response = getattr(fresh(cast, getattr(cast, who)), method)(
        TOKENS, {"name": "x", "scope": "write", "days": "30"} if method == "post" else None)
    assert response.status_code == status
    if status == 403:
        assert "mc_" not in response.content.decode()
        assert state() == before
        event = AuditEvent.objects.get(outcome="denied")
        assert (event.object_type, event.detail) == ("api_token", "missing permission manage_tokens")


def test_anonymous_is_sent_to_sign_in(cast) -> None:
    response = Client().get(TOKENS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_page_lists_the_clinics_tokens_only(cast) -> None:
    body = fresh(cast, cast.manager).get(TOKENS).content.decode()
    assert "reader" in body
    assert "writer" in body
    assert "sister" not in body  # the other clinic's token
    assert "mc_" not in body  # no raw token on a listing


def test_without_reauth_the_manager_is_asked_for_password_and_code(cast) -> None:
    client = cast.client_for(cast.manager)
    before = state()
    for method in ("get", "post"):
        response = getattr(client, method)(TOKENS, {"name": "x", "scope": "read", "days": "30"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:reauth"))
    token = ApiToken.objects.get(name="reader")
    assert client.post(revoke_url(token)).status_code == 302
    assert state() == before


def test_reauth_then_the_page(cast) -> None:
    device = TOTPDevice.objects.create(user=cast.manager, secret=pyotp.random_base32(),
                                       confirmed=True)
    client = cast.client_for(cast.manager)
    with time_machine.travel(T0, tick=False):
        back = client.post(reverse("accounts:reauth"), {
            "password": PASSWORD, "code": pyotp.TOTP(device.secret).at(T0), "next": TOKENS})
        assert back["Location"] == TOKENS
        assert client.get(TOKENS).status_code == 200


def test_issuing_shows_a_working_token_once_and_audits_it(cast) -> None:
    client = fresh(cast, cast.manager)
    response = client.post(TOKENS, {"name": "lab import", "scope": "write", "days": "30"})
    assert response.status_code == 200
    raw = re.search(r'data-testid="raw-token">(mc_[A-Za-z0-9_-]+)<', response.content.decode())
    assert raw is not None
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(name="lab import")
    assert (token.clinic, token.scope, token.created_by) == (cast.clinic, "write", cast.manager)
    assert token.token_hash == ApiToken.hash(raw[1])
    assert api_status(raw[1]) == 200
    assert raw[1] not in client.get(TOKENS).content.decode()
    event = AuditEvent.objects.get(object_type="api_token")
    assert (event.action, event.username, event.object_id, event.clinic_id, event.via) == (
        "create", "manager.yilmaz", str(token.public_id), str(cast.clinic.public_id), "web")


@pytest.mark.parametrize(
    ("data", "message"),
    [({"name": " ", "scope": "read", "days": "30"}, "Name: This field is required."),
     ({"name": "x", "scope": "admin", "days": "30"}, "Scope: Select a valid choice."),
     ({"name": "x", "scope": "read", "days": "0"}, "Valid for (days): Ensure this value"),
     ({"name": "x" * 101, "scope": "read", "days": "30"}, "Name: Ensure this value has at most")],
)
def test_bad_input_names_the_field_and_issues_nothing(cast, data, message) -> None:
    before = state()
    response = fresh(cast, cast.manager).post(TOKENS, data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert state() == before
    assert not AuditEvent.objects.filter(object_type="api_token").exists()


def test_revoking_stops_the_token_at_once_and_is_audited(cast) -> None:
    client = fresh(cast, cast.manager)
    assert api_status(cast.read_token) == 200  # now cached in this process
    token = ApiToken.objects.get(name="reader")
    assert client.get(revoke_url(token)).status_code == 200  # the confirmation
    response = client.post(revoke_url(token))
    assert (response.status_code, response["Location"]) == (302, TOKENS)
    assert api_status(cast.read_token) == 401
    assert api_status(cast.write_token) == 200
    event = AuditEvent.objects.get(object_type="api_token", action="update")
    assert (event.username, event.object_id, event.detail) == (
        "manager.yilmaz", str(token.public_id), "read token 'reader' revoked")
    # Twice is harmless: nothing more written.
    assert client.post(revoke_url(token)).status_code == 302
    assert AuditEvent.objects.filter(object_type="api_token", action="update").count() == 1


def test_a_manager_cannot_revoke_another_clinics_token(cast) -> None:
    sister_manager = User.objects.create_user(username="manager.berlin", password=PASSWORD)
    Membership.objects.create(user=sister_manager, clinic=cast.sister, role="manager")
    theirs = ApiToken.objects.get(name="sister")
    before = state()
    for method in ("get", "post"):
        assert getattr(fresh(cast, cast.manager), method)(revoke_url(theirs)).status_code == 404
    assert state() == before
    assert api_status(cast.sister_token) == 200
    # Their own manager can.
    assert fresh(cast, sister_manager).post(revoke_url(theirs)).status_code == 302
    assert api_status(cast.sister_token) == 401


def test_an_unknown_token_id_is_a_404(cast) -> None:
    url = reverse("staff:revoke-token", args=["3f1c1d4e-7a0b-4c4e-9a37-1f7b0e0c2d55"])
    assert fresh(cast, cast.manager).post(url).status_code == 404
