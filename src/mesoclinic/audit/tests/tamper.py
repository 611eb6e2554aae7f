"""What an insider with the database owner's rights can do: drop the guards and write raw SQL."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

_guards = importlib.import_module("mesoclinic.audit.migrations.0004_sealed_event_triggers")


def _statements(kind: str) -> list[str]:
    if connection.vendor == "postgresql":
        return [getattr(_guards, f"PG_{kind}")]
    return list(getattr(_guards, f"SQLITE_{kind}"))


def remove_guards() -> None:
    with connection.cursor() as cursor:
        for statement in _statements("REMOVE"):
            cursor.execute(statement, None)


def install_guards() -> None:
    with connection.cursor() as cursor:
        for statement in _statements("INSTALL"):
            cursor.execute(statement, None)


@contextmanager
def guards_dropped() -> Iterator[None]:
    remove_guards()
    try:
        yield
    finally:
        install_guards()


def raw(sql: str, params: list[Any] | None = None) -> None:
    """Run SQL behind the application's back, with the triggers out of the way."""
    with guards_dropped(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])
