"""What every Django-backed benchmark shares: a throwaway database, Django set up, percentiles."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

try:
    import mesoclinic  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def start_django(url: str, workdir: Path) -> None:
    """Point the settings at `url`, set Django up and migrate (printing how long it took)."""
    os.environ["DATABASE_URL"] = url
    os.environ["MESOCLINIC_DATA_DIR"] = str(workdir)
    os.environ.setdefault("DEBUG", "false")  # DEBUG keeps every SQL statement in memory
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesoclinic.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} ({url}); migrated in "
          f"{time.perf_counter() - started:.1f} s")


def percentiles_ms(samples: list[float]) -> tuple[float, float, float, float]:
    """p50, p95, p99 and the worst sample, in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000, max(samples) * 1000


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://"))


def _admin_url(url: str) -> tuple[str, str]:
    """The maintenance-database URL next to `url`, and the benchmark database's name."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"--database-url: expected a plain database name, got {name!r}")
    return urlunsplit(parts._replace(path="/postgres")), name


def recreate_postgres(url: str, *, create: bool) -> None:
    """Drop the database of `url` (its sessions too), and create it empty again if asked."""
    import psycopg

    admin, name = _admin_url(url.replace("postgresql+psycopg", "postgresql"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def staff_client(username: str, clinic: Any, role: str) -> tuple[Any, Any]:
    """A new member of staff with `role` at `clinic`, signed in on a test client with that clinic
    active (as after the two-step sign-in); returns (client, user)."""
    from django.test import Client

    from mesoclinic.accounts.models import Membership, User
    from mesoclinic.accounts.session import SESSION_CLINIC, SESSION_EPOCH

    user = User.objects.create_user(username=username,
                                    display_name=username.replace(".", " ").title())
    Membership.objects.create(user=user, clinic=clinic, role=role)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    session = client.session
    session[SESSION_EPOCH] = user.session_epoch
    session[SESSION_CLINIC] = clinic.pk
    session.save()
    return client, user
