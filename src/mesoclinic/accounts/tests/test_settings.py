"""Settings from the environment: the production profile is deploy-clean, bad values fail loudly."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest


def run_check(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`django check` in a fresh interpreter with only the given environment."""
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
             "DJANGO_SETTINGS_MODULE": "mesoclinic.settings",
             "MESOCLINIC_DATA_DIR": str(tmp_path / "var"), **env}
    return subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "django", "check", *args],
        env=clean, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )


def production(**extra: str) -> dict[str, str]:
    return {"MESOCLINIC_PROFILE": "production", "SECRET_KEY": secrets.token_urlsafe(50)[:50],
            "AUDIT_KEY": secrets.token_urlsafe(48), "ALLOWED_HOSTS": "clinic.example", **extra}


def test_production_profile_passes_check_deploy_without_warnings(tmp_path) -> None:
    result = run_check(tmp_path, "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_check_deploy_catches_debug_left_on_in_production(tmp_path) -> None:
    result = run_check(tmp_path, "--deploy", "--fail-level", "WARNING",
                       **production(DEBUG="true"))
    assert result.returncode == 1
    assert "security.W018" in result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path) -> None:
    env = production()
    del env["SECRET_KEY"]
    result = run_check(tmp_path, **env)
    assert result.returncode == 1
    assert "SECRET_KEY must be set in production" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be true or false, not 'maybe'"),
        ({"LOGIN_MAX_FAILURES": "five"}, "LOGIN_MAX_FAILURES must be an integer, not 'five'"),
        ({"MESOCLINIC_PROFILE": "staging"}, "MESOCLINIC_PROFILE must be development or production"),
    ],
)
def test_a_bad_environment_value_fails_loudly(tmp_path, env, message) -> None:
    result = run_check(tmp_path, **env)
    assert result.returncode == 1
    assert message in result.stderr
