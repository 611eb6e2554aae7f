"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

The browser starts once per session (it is the slow part); each test gets a fresh context, so
cookies and storage never leak between tests. With CI=true a missing browser is a failure, never
a skip: the issue requires these tests to run in CI.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from django.core.handlers.base import BaseHandler

from mesoclinic.accounts.models import TOTPDevice, User

CHROMIUM = Path(os.environ.get("MESOCLINIC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 10_000

# Reports Content-Security-Policy violations to the test; injected through the DevTools
# protocol, so the page's own CSP does not apply to it.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__reportCsp(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile || e.documentURI}`);
});
"""


_ONE_REQUEST_AT_A_TIME = threading.Lock()


@pytest.fixture(autouse=True)
def _one_request_at_a_time(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """On SQLite the live server's threads share the test's one in-memory connection: a page's
    parallel requests (its photos, each an audited read) would use it at the same moment. There
    the server answers them one after another; PostgreSQL serves them in parallel, as in
    production (a SQLite file gives each thread its own connection too)."""
    if "sqlite" not in settings.DATABASES["default"]["ENGINE"]:
        return
    original = BaseHandler.get_response

    def one_at_a_time(self: BaseHandler, request: Any) -> Any:
        with _ONE_REQUEST_AT_A_TIME:
            return original(self, request)

    monkeypatch.setattr(BaseHandler, "get_response", one_at_a_time)


def _unavailable(reason: str) -> None:
    # Never a silent skip: a newcomer's `make test` runs every test, or says what to install.
    pytest.fail(f"The browser tests cannot run: {reason}. "
                "Install Debian's chromium (apt-get install -y chromium; `make test` does it).",
                pytrace=False)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class Problems:
    """What went wrong in the page while a test drove it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return self.console_errors + self.page_errors + self.csp_violations


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def page(browser: Any, live_server: Any, problems: Problems) -> Iterator[Any]:
    """A page in a fresh browser context, with console errors and CSP violations collected."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900},
                                  locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    context.expose_function("__reportCsp", lambda text: problems.csp_violations.append(text))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    def on_console(msg: Any) -> None:
        if msg.type == "error":
            problems.console_errors.append(f"{msg.text} ({msg.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.page_errors.append(str(exc)))
    yield page
    context.close()


def confirmed_device(user: User) -> TOTPDevice:
    """Give `user` a confirmed authenticator, as if enrolled earlier."""
    return TOTPDevice.objects.create(user=user, secret=pyotp.random_base32(), confirmed=True)


def sign_in_password(page: Any, username: str, password: str) -> None:
    """The first sign-in step; leaves the page on the code or enrolment step."""
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/accounts/sign-in/(code|enrol)/$"))


def sign_in(page: Any, user: User, password: str, landing: str = "**/patients/") -> None:
    """Both sign-in steps with a current TOTP code; ends on the role's landing page."""
    device = TOTPDevice.objects.filter(user=user).first() or confirmed_device(user)
    sign_in_password(page, user.username, password)
    page.wait_for_url("**/accounts/sign-in/code/")
    page.get_by_label("Code").fill(pyotp.TOTP(device.secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(landing)


def screenshot(page: Any, name: str) -> None:
    """Keep a full-page PNG under test-artifacts/ (gitignored) for humans to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
