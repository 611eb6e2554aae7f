"""Each role lands where its work is, instead of on a page it may not open."""

from __future__ import annotations

import pyotp
import pytest
from conftest import PASSWORD
from django.test import Client
from django.urls import reverse

from mesoclinic.accounts.models import TOTPDevice
from mesoclinic.audit.models import AuditEvent


@pytest.mark.parametrize(
    ("who", "landing"),
    [
        ("physician", "patients:list"),
        ("nurse", "patients:list"),
        ("receptionist", "patients:list"),
        ("auditor", "audit:trail"),
        ("manager", "staff:list"),
    ],
)
def test_home_sends_each_role_to_its_own_page(cast, who: str, landing: str) -> None:
    response = cast.client_for(getattr(cast, who)).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(landing)


def test_auditor_landing_page_opens(cast) -> None:
    client = cast.client_for(cast.auditor)
    response = client.get(reverse("home"), follow=True)
    assert response.status_code == 200
    assert b"Audit trail" in response.content


# --- the first sign-in, through both real steps ---------------------------------------------------

@pytest.mark.parametrize(("who", "landing"), [("manager", "staff:list"), ("auditor", "audit:trail")])
def test_first_sign_in_lands_on_own_page_without_a_denial(cast, who: str, landing: str) -> None:
    user = getattr(cast, who)
    client = Client()
    # They open the site's root first, as a bookmark would.
    assert client.get(reverse("home"))["Location"] == reverse("accounts:login")
    client.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})
    client.get(reverse("accounts:enrol"))
    device = TOTPDevice.objects.get(user=user)
    response = client.post(reverse("accounts:enrol"), {"code": pyotp.TOTP(device.secret).now()})
    assert response["Location"] == reverse("accounts:recovery-codes")
    codes_page = client.get(reverse("accounts:recovery-codes"))
    assert f'href="{reverse("home")}"' in codes_page.content.decode()
    final = client.get(reverse("home"), follow=True)
    assert final.status_code == 200
    assert final.redirect_chain == [(reverse(landing), 302)]
    assert not AuditEvent.objects.filter(outcome=AuditEvent.Outcome.DENIED).exists()


def test_signing_in_again_lands_a_manager_on_the_staff_list(cast) -> None:
    device = TOTPDevice.objects.create(user=cast.manager, secret=pyotp.random_base32(),
                                       confirmed=True)
    client = Client()
    client.post(reverse("accounts:login"), {"username": cast.manager.username, "password": PASSWORD})
    response = client.post(reverse("accounts:two-factor"),
                           {"code": pyotp.TOTP(device.secret).now()}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1] == (reverse("staff:list"), 302)
    assert not AuditEvent.objects.filter(outcome=AuditEvent.Outcome.DENIED).exists()
