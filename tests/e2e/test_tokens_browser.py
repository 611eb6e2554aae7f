"""A manager issues and revokes an API token in a real browser; the pages meet WCAG AA and the CSP."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import PASSWORD, Cast

from mesoclinic.accounts.models import ApiToken
from tests.e2e.conftest import Problems, confirmed_device, sign_in_password

pytestmark = pytest.mark.e2e

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        "resultTypes": ["violations"]}


def violations(page: Any) -> list[str]:
    results = Axe().run(page, options=WCAG)
    return [f"{v['id']}: {v['nodes'][0]['target']}" for v in results.response["violations"]]


def test_manager_issues_then_revokes_a_token(page: Any, cast: Cast, problems: Problems) -> None:
    device = confirmed_device(cast.manager)
    sign_in_password(page, cast.manager.username, PASSWORD)
    page.get_by_label("Code").fill(pyotp.TOTP(device.secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/")
    page.get_by_role("link", name="API tokens").click()  # just signed in: no second prompt
    page.wait_for_url("**/staff/tokens/")
    assert violations(page) == []

    page.get_by_label("Name").fill("lab import")
    page.get_by_label("Scope").select_option("write")
    page.get_by_role("button", name="Issue token").click()
    raw = page.get_by_test_id("raw-token").inner_text().strip()
    token = ApiToken.objects.get(name="lab import")
    assert token.token_hash == ApiToken.hash(raw)
    assert violations(page) == []

    page.locator(f'tr[data-token="{token.public_id}"]').get_by_role("button", name="Revoke").click()
    page.wait_for_url("**/staff/tokens/")
    assert "is revoked" in page.get_by_role("status").inner_text()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None

    page.goto("/accounts/reauth/")
    assert violations(page) == []
    assert problems.all() == []
