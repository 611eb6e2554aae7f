"""The switch behind the database triggers that keep audit events immutable.

SQLite triggers ask `audit_guards_on()`, a function each Django connection registers (a tool
without it, such as the sqlite3 shell, fails on the call: refused all the same). The only way to
switch the guards off from the application is `guards_lifted()`, for wiping a whole database
(`flush` in tests); nothing in the application uses it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_state = threading.local()


def guards_on() -> int:
    return 0 if getattr(_state, "lifted", False) else 1


@contextmanager
def guards_lifted() -> Iterator[None]:
    _state.lifted = True
    try:
        yield
    finally:
        _state.lifted = False


def register(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver: give SQLite connections the triggers' function."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("audit_guards_on", 0, guards_on)
