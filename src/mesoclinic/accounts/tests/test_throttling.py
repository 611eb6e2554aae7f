"""Sign-in throttling (finding 4): per username and address with backoff, per address across
usernames, second-factor failures per username; a stranger cannot lock the owner out."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import time_machine
from conftest import PASSWORD
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from mesoclinic.accounts import actions
from mesoclinic.accounts.models import LoginFailure, TOTPDevice
from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent

T0 = datetime(2025, 4, 7, 9, 0, 10, tzinfo=UTC)
LOGIN = reverse("accounts:login")
CODE = reverse("accounts:two-factor")
OWNER, STRANGER = "10.0.0.5", "10.0.0.66"
WRONG = "wrong-horse-battery"


@pytest.fixture
def device(cast: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(user=cast.physician, secret=pyotp.random_base32(),
                                     confirmed=True)


def attempt(address: str, username: str = "dr.house", password: str = WRONG) -> Any:
    return Client(REMOTE_ADDR=address).post(LOGIN, {"username": username, "password": password})


def throttled(response: Any) -> bool:
    return response.status_code == 422 and "Too many failed attempts" in response.content.decode()


def minutes_said(response: Any) -> str:
    body = response.content.decode()
    start = body.index("Try again in")
    return body[start:body.index(".", start)]


def test_five_failures_throttle_the_username_from_that_address(cast, device) -> None:
    with time_machine.travel(T0, tick=False):
        for _ in range(settings.LOGIN_MAX_FAILURES):
            assert not throttled(attempt(STRANGER))
        refused = attempt(STRANGER, password=PASSWORD)
    assert throttled(refused)
    assert minutes_said(refused) == "Try again in 1 minute"
    assert "pending_user_id" not in refused.client.session


def test_a_strangers_fifty_failures_do_not_stop_the_owner_from_another_address(cast, device):
    with time_machine.travel(T0, tick=False):
        answers = [attempt(STRANGER) for _ in range(50)]
        owner = attempt(OWNER, password=PASSWORD)
    assert all(a.status_code == 422 for a in answers)
    assert sum(throttled(a) for a in answers) == 50 - settings.LOGIN_MAX_FAILURES
    assert (owner.status_code, owner["Location"]) == (302, CODE)
    # Refused attempts are audited but do not count as guesses.
    assert LoginFailure.objects.filter(client_address=STRANGER).count() == settings.LOGIN_MAX_FAILURES
    assert AuditEvent.objects.filter(client_address=STRANGER, outcome="denied").count() == 50


def test_fifty_recorded_failures_over_a_day_from_a_stranger_do_not_stop_the_owner(cast, device):
    LoginFailure.objects.bulk_create(
        LoginFailure(username="dr.house", client_address=STRANGER, at=T0 - timedelta(minutes=m))
        for m in range(50))
    with time_machine.travel(T0, tick=False):
        assert throttled(attempt(STRANGER, password=PASSWORD))
        assert attempt(OWNER, password=PASSWORD)["Location"] == CODE


def test_the_wait_doubles_with_each_failure_past_the_allowance(cast, device) -> None:
    with time_machine.travel(T0, tick=False):
        for _ in range(settings.LOGIN_MAX_FAILURES):
            attempt(STRANGER)
    moment, said = T0, []
    for minutes in (1, 2, 4, 8, 16):
        with time_machine.travel(moment, tick=False):
            said.append(minutes_said(attempt(STRANGER, password=PASSWORD)))
        with time_machine.travel(moment + timedelta(minutes=minutes, seconds=-1), tick=False):
            assert throttled(attempt(STRANGER, password=PASSWORD))
        moment += timedelta(minutes=minutes)
        with time_machine.travel(moment, tick=False):
            assert not throttled(attempt(STRANGER))  # the door reopens: one more wrong guess
    assert said == ["Try again in 1 minute", "Try again in 2 minutes", "Try again in 4 minutes",
                    "Try again in 8 minutes", "Try again in 16 minutes"]


def test_the_wait_is_capped(cast, device, settings) -> None:
    LoginFailure.objects.bulk_create(
        LoginFailure(username="dr.house", client_address=STRANGER, at=T0 - timedelta(seconds=s))
        for s in range(40))
    with time_machine.travel(T0, tick=False):
        assert minutes_said(attempt(STRANGER)) == "Try again in 60 minutes"
    with time_machine.travel(T0 + timedelta(seconds=settings.LOGIN_BACKOFF_MAX_SECONDS), tick=False):
        assert not throttled(attempt(STRANGER, password=PASSWORD))


def test_failures_older_than_the_window_are_forgotten(cast, device) -> None:
    old = T0 - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 1)
    LoginFailure.objects.bulk_create(
        LoginFailure(username="dr.house", client_address=STRANGER, at=old) for _ in range(20))
    with time_machine.travel(T0, tick=False):
        assert attempt(STRANGER, password=PASSWORD)["Location"] == CODE


def test_one_address_spraying_many_usernames_is_throttled_for_every_username(cast, device):
    with time_machine.travel(T0, tick=False):
        for n in range(settings.LOGIN_MAX_FAILURES_PER_ADDRESS):
            assert not throttled(attempt(STRANGER, username=f"user{n}"))
        sprayed = attempt(STRANGER, password=PASSWORD)  # a username it never tried, right password
        elsewhere = attempt(OWNER, password=PASSWORD)
    assert throttled(sprayed)
    assert AuditEvent.objects.filter(detail="throttled: this address").count() == 1
    assert elsewhere["Location"] == CODE


def test_an_unknown_username_is_throttled_with_the_same_answer(cast) -> None:
    with time_machine.travel(T0, tick=False):
        for username in ("dr.house", "nobody.here"):
            for _ in range(settings.LOGIN_MAX_FAILURES):
                attempt(STRANGER, username=username)
        real, unknown = attempt(STRANGER), attempt(STRANGER, username="nobody.here")
    assert real.status_code == unknown.status_code == 422
    assert minutes_said(real) == minutes_said(unknown) == "Try again in 1 minute"


def test_signing_in_forgives_the_failures_from_that_address(cast, device) -> None:
    with time_machine.travel(T0, tick=False):
        for _ in range(settings.LOGIN_MAX_FAILURES - 1):
            attempt(OWNER)
        attempt(STRANGER)
        client = Client(REMOTE_ADDR=OWNER)
        client.post(LOGIN, {"username": "dr.house", "password": PASSWORD})
        assert client.post(CODE, {"code": pyotp.TOTP(device.secret).at(T0)}).status_code == 302
    assert list(LoginFailure.objects.values_list("client_address", flat=True)) == [STRANGER]


def test_second_factor_failures_from_many_addresses_throttle_the_username(cast, device) -> None:
    # Only someone who knows the password reaches the code step, so this ceiling is per username.
    right = pyotp.TOTP(device.secret).at(T0)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with time_machine.travel(T0, tick=False):
        for n in range(settings.LOGIN_MAX_CODE_FAILURES):
            client = Client(REMOTE_ADDR=f"192.0.2.{n}")
            client.post(LOGIN, {"username": "dr.house", "password": PASSWORD})
            assert client.post(CODE, {"code": wrong}).status_code == 422
        refused = attempt(OWNER, password=PASSWORD)
    assert throttled(refused)
    assert AuditEvent.objects.filter(detail="throttled: second-factor failures").exists()


def test_a_wrong_enrolment_code_is_recorded_and_audited(cast) -> None:
    client = Client(REMOTE_ADDR=OWNER)
    with time_machine.travel(T0, tick=False):
        client.post(LOGIN, {"username": "nurse.kaya", "password": PASSWORD})
        client.get(reverse("accounts:enrol"))
        right = pyotp.TOTP(TOTPDevice.objects.get(user=cast.nurse).secret).at(T0)
        response = client.post(reverse("accounts:enrol"),
                               {"code": f"{(int(right) + 1) % 1_000_000:06d}"})
    assert response.status_code == 422
    failure = LoginFailure.objects.get()
    assert (failure.username, failure.stage, failure.client_address) == ("nurse.kaya", "code", OWNER)
    assert AuditEvent.objects.get(outcome="denied").detail == "wrong enrolment code"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_parallel_guesses_gets_no_more_than_the_allowance(cast, monkeypatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the per-username advisory lock is PostgreSQL's (SQLite serialises writers)")
    from django.contrib.auth import authenticate as real_authenticate

    def slow_authenticate(**credentials: Any) -> Any:
        time.sleep(0.2)  # a real Argon2 check takes this long; every guess is now in flight
        return real_authenticate(**credentials)

    monkeypatch.setattr(actions, "authenticate", slow_authenticate)
    guesses = settings.LOGIN_MAX_FAILURES + 3
    barrier = threading.Barrier(guesses)

    def guess() -> str:
        barrier.wait()
        try:
            actions.check_password(username="dr.house", password=WRONG,
                                   actor=Actor(client_address=STRANGER))
        except actions.SignInError as exc:
            return str(exc)
        finally:
            connection.close()
        return "signed in"

    with ThreadPoolExecutor(max_workers=guesses) as pool:
        answers = list(pool.map(lambda _: guess(), range(guesses)))
    assert LoginFailure.objects.filter(client_address=STRANGER).count() == settings.LOGIN_MAX_FAILURES
    assert sum("Try again in" in a for a in answers) == 3
