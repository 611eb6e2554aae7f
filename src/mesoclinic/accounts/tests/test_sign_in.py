"""Sign-in: password, then TOTP or a recovery code; enrolment, lock-out, sign-out, sessions."""

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
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from mesoclinic import settings as project_settings
from mesoclinic.accounts import actions
from mesoclinic.accounts.models import LoginFailure, Membership, RecoveryCode, TOTPDevice, User
from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent

T0 = datetime(2025, 4, 7, 9, 0, 10, tzinfo=UTC)  # 10 s into a 30-second step
LOGIN = reverse("accounts:login")
CODE = reverse("accounts:two-factor")
ENROL = reverse("accounts:enrol")
PATIENTS = reverse("patients:list")
HOME = reverse("home")  # sends each role on to its own page


@pytest.fixture
def device(cast: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(user=cast.physician, secret=pyotp.random_base32(),
                                     confirmed=True)


def code_at(device: TOTPDevice, moment: datetime) -> str:
    return pyotp.TOTP(device.secret).at(moment)


def password_step(client: Client, username: str = "dr.house", password: str = PASSWORD,
                  query: str = "") -> Any:
    return client.post(LOGIN + query, {"username": username, "password": password})


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


# --- password, then code ------------------------------------------------------------------------

def test_password_then_totp_signs_in(cast, device) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        first = password_step(client)
        assert (first.status_code, first["Location"]) == (302, CODE)
        assert not signed_in(client)
        assert client.get(PATIENTS).status_code == 302  # not yet: the code is still missing
        second = client.post(CODE, {"code": code_at(device, T0)})
        assert (second.status_code, second["Location"]) == (302, HOME)
        assert client.session[SESSION_KEY] == str(cast.physician.pk)
        assert client.get(PATIENTS).status_code == 200
    event = AuditEvent.objects.get(action="sign_in")
    assert (event.outcome, event.username, event.object_id) == (
        "allowed", "dr.house", str(cast.physician.public_id))


def test_a_code_from_the_previous_step_is_accepted_for_clock_drift(cast, device) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        password_step(client)
        response = client.post(CODE, {"code": code_at(device, T0 - timedelta(seconds=30))})
        assert response.status_code == 302
        assert signed_in(client)


def test_an_old_code_is_refused(cast, device) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        password_step(client)
        response = client.post(CODE, {"code": code_at(device, T0 - timedelta(seconds=90))})
        assert response.status_code == 422
        assert not signed_in(client)
        assert "pending_user_id" in client.session  # the password step still stands


def test_the_code_step_cannot_be_reached_without_the_password(cast, device) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        response = client.post(CODE, {"code": code_at(device, T0)})
        assert not signed_in(client)
    assert (response.status_code, response["Location"]) == (302, LOGIN)


def test_wrong_password_is_refused_and_audited(cast, device) -> None:
    client = Client()
    response = password_step(client, password="wrong-horse-battery")
    assert response.status_code == 422
    assert "That username and password do not match an account." in response.content.decode()
    assert not signed_in(client)
    assert "pending_user_id" not in client.session
    assert LoginFailure.objects.get().username == "dr.house"
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.object_id, event.detail) == (
        "sign_in", "denied", "dr.house", "wrong username or password")
    assert event.client_address == "127.0.0.1"


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(cast) -> None:
    unknown = password_step(Client(), username="nobody")
    wrong = password_step(Client(), password="wrong-horse-battery")
    assert unknown.status_code == wrong.status_code == 422
    message = "That username and password do not match an account."
    assert message in unknown.content.decode()
    assert message in wrong.content.decode()


def test_a_patient_account_cannot_sign_in_to_staff_pages(cast) -> None:
    User.objects.create_user(username="portal.ayse", password=PASSWORD, kind=User.Kind.PATIENT)
    response = password_step(Client(), username="portal.ayse")
    assert response.status_code == 422


def test_wrong_code_is_refused_and_audited(cast, device) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        password_step(client)
        right = code_at(device, T0)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        response = client.post(CODE, {"code": wrong})
        assert not signed_in(client)
    assert response.status_code == 422
    assert "That code is not valid." in response.content.decode()
    event = AuditEvent.objects.get(outcome="denied")
    assert (event.action, event.detail) == ("sign_in", "wrong second-factor code")


def test_lockout_after_max_failures_even_with_the_right_password(cast, device) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        for _ in range(settings.LOGIN_MAX_FAILURES):
            assert password_step(client, password="wrong-horse-battery").status_code == 422
        locked = password_step(client)
    assert locked.status_code == 422
    assert "Too many failed attempts. Try again in 1 minute." in locked.content.decode()
    assert "pending_user_id" not in client.session
    assert AuditEvent.objects.filter(detail="throttled: this username from this address",
                                     outcome="denied").count() == 1
    # Once the wait has passed the right password works again.
    later = T0 + timedelta(seconds=settings.LOGIN_BACKOFF_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert password_step(Client())["Location"] == CODE


def test_one_failure_fewer_than_the_limit_does_not_lock(cast, device) -> None:
    with time_machine.travel(T0, tick=False):
        for _ in range(settings.LOGIN_MAX_FAILURES - 1):
            password_step(Client(), password="wrong-horse-battery")
        assert password_step(Client()).status_code == 302


def test_wrong_codes_count_towards_the_lockout(cast, device) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        password_step(client)
        for _ in range(settings.LOGIN_MAX_FAILURES):
            client.post(CODE, {"code": "000000" if code_at(device, T0) != "000000" else "111111"})
        response = client.post(CODE, {"code": code_at(device, T0)})
        assert not signed_in(client)
    assert response.status_code == 422
    assert "Too many failed attempts. Try again in 1 minute." in response.content.decode()


def test_the_same_totp_code_cannot_be_used_twice(cast, device) -> None:
    with time_machine.travel(T0, tick=False):
        code = code_at(device, T0)
        first, second = Client(), Client()
        password_step(first)
        assert first.post(CODE, {"code": code}).status_code == 302
        password_step(second)
        replay = second.post(CODE, {"code": code})
        assert replay.status_code == 422
        assert signed_in(first)
        assert not signed_in(second)
    # The next step's code is fine.
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        assert second.post(CODE, {"code": code_at(device, T0 + timedelta(seconds=30))}
                           ).status_code == 302


def test_a_recovery_code_works_exactly_once(cast, device) -> None:
    codes = actions.regenerate_recovery_codes(user=cast.physician, actor=Actor())
    assert len(codes) == 10
    assert RecoveryCode.objects.filter(user=cast.physician).count() == 10
    first = Client()
    password_step(first)
    # Typed in capitals with a space: still the same code.
    response = first.post(CODE, {"code": " " + codes[0].upper() + " "})
    assert (response.status_code, response["Location"]) == (302, HOME)
    assert signed_in(first)
    assert RecoveryCode.objects.filter(user=cast.physician, used_at__isnull=False).count() == 1
    assert AuditEvent.objects.filter(detail="recovery code used").count() == 1
    again = Client()
    password_step(again)
    assert again.post(CODE, {"code": codes[0]}).status_code == 422
    assert not signed_in(again)
    assert again.post(CODE, {"code": codes[1]}).status_code == 302


def test_recovery_codes_are_stored_only_as_hashes(cast) -> None:
    codes = actions.regenerate_recovery_codes(user=cast.physician, actor=Actor())
    stored = set(RecoveryCode.objects.values_list("code_hash", flat=True))
    assert not stored & set(codes)
    assert RecoveryCode.hash(codes[0]) in stored


# --- enrolment ----------------------------------------------------------------------------------

def test_enrolment_shows_a_qr_code_then_signs_in_with_ten_recovery_codes(cast) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        assert password_step(client)["Location"] == ENROL
        page = client.get(ENROL)
        assert page.status_code == 200
        device = TOTPDevice.objects.get(user=cast.physician)
        assert device.confirmed is False
        body = page.content.decode()
        assert 'src="data:image/svg+xml;base64,' in body
        assert device.secret in body
        confirmed = client.post(ENROL, {"code": code_at(device, T0)})
        assert (confirmed.status_code, confirmed["Location"]) == (
            302, reverse("accounts:recovery-codes"))
        assert signed_in(client)
        shown = client.get(reverse("accounts:recovery-codes"))
        codes = re.findall(r"<li>([0-9a-f]{8}-[0-9a-f]{8})</li>", shown.content.decode())
        # Shown once: a second visit does not show them again.
        again = client.get(reverse("accounts:recovery-codes")).content.decode()
        assert client.get(PATIENTS).status_code == 200
    assert len(set(codes)) == 10
    assert {RecoveryCode.hash(c) for c in codes} == set(
        RecoveryCode.objects.filter(user=cast.physician).values_list("code_hash", flat=True))
    assert codes[0] not in again
    assert TOTPDevice.objects.get(user=cast.physician).confirmed is True
    assert AuditEvent.objects.filter(detail="two-factor enrolled").count() == 1


def test_enrolment_with_a_wrong_code_is_refused(cast) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        password_step(client)
        client.get(ENROL)
        device = TOTPDevice.objects.get(user=cast.physician)
        right = code_at(device, T0)
        response = client.post(ENROL, {"code": f"{(int(right) + 1) % 1_000_000:06d}"})
        assert not signed_in(client)
    assert response.status_code == 422
    assert "That code does not match." in response.content.decode()
    assert device.secret in response.content.decode()  # the same secret, to try again
    assert TOTPDevice.objects.get(user=cast.physician).confirmed is False
    assert RecoveryCode.objects.count() == 0


def test_an_enrolment_code_posted_before_the_page_was_shown_starts_over(cast) -> None:
    client = Client()
    password_step(client)
    response = client.post(ENROL, {"code": "123456"})
    assert (response.status_code, response["Location"]) == (302, ENROL)
    assert not signed_in(client)
    assert TOTPDevice.objects.filter(user=cast.physician).count() == 0


def test_an_enrolled_user_cannot_enrol_again_to_skip_the_code(cast, device) -> None:
    client = Client()
    password_step(client)
    assert client.get(ENROL)["Location"] == CODE
    assert TOTPDevice.objects.get(user=cast.physician).secret == device.secret


# --- sign-out and sessions ----------------------------------------------------------------------

def test_sign_out_ends_the_session(cast) -> None:
    client = cast.client_for(cast.physician)
    assert client.get(PATIENTS).status_code == 200
    response = client.post(reverse("accounts:logout"))
    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert client.get(PATIENTS)["Location"] == f"{LOGIN}?next={PATIENTS}"
    assert AuditEvent.objects.filter(action="sign_out", username="dr.house").count() == 1


def test_sign_out_everywhere_ends_the_other_devices_sessions(cast) -> None:
    laptop, tablet = cast.client_for(cast.physician), cast.client_for(cast.physician)
    assert laptop.get(PATIENTS).status_code == 200
    response = tablet.post(reverse("accounts:logout-everywhere"))
    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert User.objects.get(pk=cast.physician.pk).session_epoch == 1
    assert laptop.get(PATIENTS)["Location"] == f"{LOGIN}?next={PATIENTS}"
    assert tablet.get(PATIENTS).status_code == 302
    event = AuditEvent.objects.get(detail="signed out everywhere")
    assert (event.action, event.username) == ("sign_out", "dr.house")


def test_signing_in_after_sign_out_everywhere_works(cast, device) -> None:
    cast.client_for(cast.physician).post(reverse("accounts:logout-everywhere"))
    client = Client()
    with time_machine.travel(T0, tick=False):
        password_step(client)
        client.post(CODE, {"code": code_at(device, T0)})
        assert client.get(PATIENTS).status_code == 200


def test_idle_sessions_expire_and_activity_keeps_them_alive(cast) -> None:
    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    with time_machine.travel(T0, tick=False):
        client = cast.client_for(cast.physician)
    with time_machine.travel(T0 + idle * 0.9, tick=False):
        assert client.get(PATIENTS).status_code == 200
    with time_machine.travel(T0 + idle * 1.8, tick=False):
        assert client.get(PATIENTS).status_code == 200  # idle for 0.9 of the limit only
    with time_machine.travel(T0 + idle * 2.9, tick=False):
        assert client.get(PATIENTS).status_code == 302


def test_activity_rewrites_the_session_at_most_once_a_minute(cast) -> None:
    from django.contrib.sessions.models import Session

    with time_machine.travel(T0, tick=False):
        client = cast.client_for(cast.physician)
        client.get(PATIENTS)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    first = Session.objects.get(session_key=key).expire_date
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        assert client.get(PATIENTS).status_code == 200
    assert Session.objects.get(session_key=key).expire_date == first  # no write for this page
    with time_machine.travel(T0 + timedelta(seconds=90), tick=False):
        assert client.get(PATIENTS).status_code == 200
    assert Session.objects.get(session_key=key).expire_date == first + timedelta(seconds=90)


def test_idle_expiry_is_configured() -> None:
    assert project_settings.SESSION_SAVE_EVERY_REQUEST is False
    assert project_settings.SESSION_TOUCH_SECONDS == 60
    assert project_settings.SESSION_COOKIE_AGE == 30 * 60
    assert project_settings.SESSION_COOKIE_HTTPONLY is True


def test_passwords_are_hashed_with_argon2(cast) -> None:
    assert project_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher")
    assert User.objects.get(pk=cast.physician.pk).password.startswith("argon2$")


# --- clinic switching and redirects -------------------------------------------------------------

def test_switching_to_a_clinic_without_a_role_is_refused(cast) -> None:
    client = cast.client_for(cast.physician)
    for value in (str(cast.sister.public_id), str(cast.foreign.public_id), "not-a-uuid"):
        response = client.post(reverse("accounts:switch-clinic"), {"clinic": value})
        assert response.status_code == 400
        assert response.content.decode() == "clinic: you hold no role at that clinic"
    assert client.get(PATIENTS).context["active_clinic"] == cast.clinic


def test_switching_to_a_clinic_with_a_role_shows_its_patients(cast) -> None:
    Membership.objects.create(user=cast.physician, clinic=cast.sister, role="physician")
    client = cast.client_for(cast.physician, cast.clinic)
    response = client.post(reverse("accounts:switch-clinic"), {"clinic": str(cast.sister.public_id)})
    assert (response.status_code, response["Location"]) == (302, HOME)
    listing = client.get(PATIENTS)
    assert listing.context["active_clinic"] == cast.sister
    assert [p.full_name for p in listing.context["patients"]] == ["Lena Müller"]


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/patients/new/", "/patients/new/"),
        ("https://evil.example/steal", HOME),
        ("//evil.example/steal", HOME),
        ("/\\evil.example", HOME),
        ("javascript:alert(1)", HOME),
    ],
)
def test_next_cannot_redirect_off_site(cast, device, next_url, lands_on) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        password_step(client, query="?" + urlencode({"next": next_url}))
        response = client.post(CODE, {"code": code_at(device, T0)})
    assert (response.status_code, response["Location"]) == (302, lands_on)
