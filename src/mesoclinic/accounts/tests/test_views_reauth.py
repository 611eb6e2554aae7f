"""Re-authentication ("sudo mode", finding 10): new recovery codes need the password and a code
entered within the last minutes, not only a session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pyotp
import pytest
import time_machine
from conftest import PASSWORD
from django.conf import settings
from django.test import Client
from django.urls import reverse

from mesoclinic.accounts import actions
from mesoclinic.accounts.decorators import REAUTH_AT
from mesoclinic.accounts.models import LoginFailure, RecoveryCode, TOTPDevice
from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent

T0 = datetime(2025, 4, 7, 9, 0, 10, tzinfo=UTC)
REAUTH = reverse("accounts:reauth")
REGENERATE = reverse("accounts:regenerate-recovery-codes")


@pytest.fixture
def device(cast: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(user=cast.physician, secret=pyotp.random_base32(),
                                     confirmed=True)


@pytest.fixture
def old_codes(cast: Any) -> set[str]:
    actions.regenerate_recovery_codes(user=cast.physician, actor=Actor())
    return set(RecoveryCode.objects.values_list("code_hash", flat=True))


def stored_codes() -> set[str]:
    return set(RecoveryCode.objects.values_list("code_hash", flat=True))


def reauth(client: Client, device: TOTPDevice, *, at: datetime = T0, password: str = PASSWORD,
           code: str | None = None, next_url: str = REGENERATE) -> Any:
    return client.post(REAUTH, {"password": password, "next": next_url,
                                "code": code or pyotp.TOTP(device.secret).at(at)})


def test_post_without_reauth_regenerates_nothing_and_asks_for_it(cast, device, old_codes) -> None:
    client = cast.client_for(cast.physician)
    response = client.post(REGENERATE)
    assert (response.status_code, response["Location"]) == (
        302, f"{REAUTH}?{urlencode({'next': REGENERATE})}")
    assert stored_codes() == old_codes
    assert not AuditEvent.objects.filter(detail="recovery codes regenerated").exclude(
        user_id="").exists()


def test_a_wrong_code_is_refused_and_grants_nothing(cast, device, old_codes) -> None:
    client = cast.client_for(cast.physician)
    with time_machine.travel(T0, tick=False):
        right = pyotp.TOTP(device.secret).at(T0)
        refused = reauth(client, device, code=f"{(int(right) + 1) % 1_000_000:06d}")
        assert refused.status_code == 422
        assert "That password or code is not right." in refused.content.decode()
        assert REAUTH_AT not in client.session
        assert client.post(REGENERATE).status_code == 302
    assert stored_codes() == old_codes
    assert LoginFailure.objects.get().stage == "code"
    assert AuditEvent.objects.get(outcome="denied").detail == "wrong code at re-authentication"


def test_a_wrong_password_is_refused(cast, device, old_codes) -> None:
    client = cast.client_for(cast.physician)
    with time_machine.travel(T0, tick=False):
        refused = reauth(client, device, password="wrong-horse-battery")
    assert refused.status_code == 422
    assert REAUTH_AT not in client.session
    assert stored_codes() == old_codes


def test_with_password_and_code_new_codes_are_made_shown_once_and_audited_once(
        cast, device, old_codes) -> None:
    client = cast.client_for(cast.physician)
    session_before = client.session.session_key
    with time_machine.travel(T0, tick=False):
        back = reauth(client, device)
        assert client.session.session_key != session_before
        assert (back.status_code, back["Location"]) == (302, REGENERATE)
        assert client.get(REGENERATE).status_code == 200  # the confirmation
        shown = client.post(REGENERATE)
    codes = re.findall(r"<li>([0-9a-f]{8}-[0-9a-f]{8})</li>", shown.content.decode())
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    assert len(codes) == 10
    assert stored_codes() == {RecoveryCode.hash(c) for c in codes}
    assert not stored_codes() & old_codes
    event = AuditEvent.objects.get(detail="recovery codes regenerated", username="dr.house")
    assert (event.action, event.object_id, event.clinic_id) == (
        "update", str(cast.physician.public_id), str(cast.clinic.public_id))
    assert AuditEvent.objects.filter(detail="re-authenticated", username="dr.house").count() == 1


def test_reauth_lapses_after_ten_minutes(cast, device, old_codes) -> None:
    client = cast.client_for(cast.physician)
    with time_machine.travel(T0, tick=False):
        reauth(client, device)
    with time_machine.travel(T0 + timedelta(seconds=settings.REAUTH_SECONDS - 1), tick=False):
        assert client.get(REGENERATE).status_code == 200
    with time_machine.travel(T0 + timedelta(seconds=settings.REAUTH_SECONDS + 1), tick=False):
        assert client.post(REGENERATE).status_code == 302
    assert stored_codes() == old_codes


def test_signing_in_counts_as_a_fresh_reauthentication(cast, device) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        client.post(reverse("accounts:login"), {"username": "dr.house", "password": PASSWORD})
        client.post(reverse("accounts:two-factor"), {"code": pyotp.TOTP(device.secret).at(T0)})
        assert client.get(REGENERATE).status_code == 200


def test_reauth_failures_are_throttled(cast, device) -> None:
    client = cast.client_for(cast.physician)
    with time_machine.travel(T0, tick=False):
        for _ in range(settings.LOGIN_MAX_FAILURES):
            reauth(client, device, password="wrong-horse-battery")
        locked = reauth(client, device)
    assert locked.status_code == 422
    assert "Try again in 1 minute." in locked.content.decode()
    assert REAUTH_AT not in client.session


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x"])
def test_reauth_never_sends_off_site(cast, device, next_url) -> None:
    client = cast.client_for(cast.physician)
    with time_machine.travel(T0, tick=False):
        response = reauth(client, device, next_url=next_url)
    # Home, which sends each role on to its own page.
    assert (response.status_code, response["Location"]) == (302, reverse("home"))


def test_reauth_needs_a_signed_in_user() -> None:
    response = Client().get(REAUTH)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
