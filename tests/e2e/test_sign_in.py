"""Sign-in in a real browser: password then TOTP, first-time enrolment, a wrong code."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from conftest import PASSWORD, Cast
from django.contrib.sessions.models import Session

from mesoclinic.accounts.models import RecoveryCode, TOTPDevice
from tests.e2e.conftest import confirmed_device, sign_in_password

pytestmark = pytest.mark.e2e


def _signed_in_user_ids() -> list[str]:
    return [str(s.get_decoded()["_auth_user_id"]) for s in Session.objects.all()
            if "_auth_user_id" in s.get_decoded()]


def test_first_time_user_enrols_and_sees_ten_recovery_codes(page: Any, cast: Cast) -> None:
    sign_in_password(page, cast.nurse.username, PASSWORD)
    page.wait_for_url("**/accounts/sign-in/enrol/")
    qr = page.get_by_role("img", name=re.compile("QR code"))
    assert qr.evaluate("img => img.complete && img.naturalWidth > 100")  # the image decodes
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,64}", secret)
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm and sign in").click()

    page.wait_for_url("**/accounts/recovery-codes/")
    codes = page.get_by_test_id("recovery-codes").locator("li")
    assert codes.count() == 10
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{8}", c.strip()) for c in codes.all_inner_texts())
    assert TOTPDevice.objects.get(user=cast.nurse).confirmed is True
    assert RecoveryCode.objects.filter(user=cast.nurse, used_at__isnull=True).count() == 10
    page.get_by_role("link", name=re.compile("I have saved them")).click()
    page.wait_for_url("**/patients/")


def test_wrong_totp_code_shows_an_error_and_signs_nobody_in(page: Any, cast: Cast) -> None:
    device = confirmed_device(cast.physician)
    totp = pyotp.TOTP(device.secret)
    now = time.time()
    valid_now = {totp.at(now + offset) for offset in range(-90, 91, 30)}
    wrong = next(code for code in ("000000", "111111", "222222") if code not in valid_now)

    sign_in_password(page, cast.physician.username, PASSWORD)
    page.wait_for_url("**/accounts/sign-in/code/")
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Sign in").click()

    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "That code is not valid" in alert.inner_text()
    assert page.url.endswith("/accounts/sign-in/code/")
    assert _signed_in_user_ids() == []
    page.goto("/patients/")
    page.wait_for_url(re.compile(r"/accounts/sign-in/\?next="))
