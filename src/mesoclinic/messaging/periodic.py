"""Jobs the worker's sweep runs every so often, registered by the apps that own them.

The worker lives in messaging (low in the layers); an app above it (safety: escalating alerts,
the daily cluster check) registers its job here when it loads, and the sweep calls each job when
its interval is up. A job is idempotent and takes the current time: running it twice, or on two
workers at once, does its work once (the job's own rows and constraints see to that).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

logger = logging.getLogger("mesoclinic.messaging.periodic")

Job = Callable[[datetime], object]


@dataclass
class _Entry:
    name: str
    job: Job
    every_seconds: float
    last_run: float = field(default=-float("inf"))


_jobs: dict[str, _Entry] = {}


def register(name: str, job: Job, *, every_seconds: float) -> None:
    """Run `job(now)` from the worker's sweep at most once every `every_seconds`."""
    if every_seconds <= 0:
        raise ValueError("every_seconds must be more than 0")
    _jobs.setdefault(name, _Entry(name, job, every_seconds))


def registered() -> list[str]:
    return sorted(_jobs)


def run_due(now: datetime | None = None, *, force: bool = False) -> dict[str, object]:
    """Run each job whose interval is up (every job with `force`); returns their answers.

    A failing job is logged and does not stop the others: one broken job must not keep the
    alerts from escalating."""
    results: dict[str, object] = {}
    clock = time.monotonic()
    for entry in list(_jobs.values()):
        if not force and clock - entry.last_run < entry.every_seconds:
            continue
        entry.last_run = clock
        try:
            results[entry.name] = entry.job(now or timezone.now())
        except Exception:  # logged with its traceback; the next sweep tries again
            logger.exception("periodic job %s failed", entry.name)
            entry.last_run = -float("inf")
    return results
