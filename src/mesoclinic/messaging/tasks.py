"""Background tasks (django-tasks, database backend) and the worker's periodic housekeeping.

Thin and idempotent: a task that runs twice sends nothing twice, because delivery claims each
message row before sending it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from mesoclinic.accounts.models import LoginFailure
from mesoclinic.messaging.delivery import deliver_due, deliver_one

# Sign-in failures count for a day (LOGIN_FAILURE_WINDOW_SECONDS); a month of them is plenty
# for looking into an attack, and the table stays small.
LOGIN_FAILURES_KEPT = timedelta(days=30)
# Finished task results (the per-message tasks, mostly no-ops once the sweep has sent).
TASK_RESULTS_KEPT = timedelta(days=14)


@task()
def deliver_due_messages() -> dict[str, int]:
    """Send every message that is due (what the worker's sweep runs)."""
    return asdict(deliver_due())


@task()
def deliver_message(public_id: str) -> dict[str, int]:
    """Send one message at its due time, if it is still due then."""
    return asdict(deliver_one(public_id))


def housekeeping(now: datetime | None = None) -> dict[str, int]:
    """Delete what is kept only for a while: old sign-in failures, old finished task results."""
    now = now or timezone.now()
    failures, _ = LoginFailure.objects.filter(at__lt=now - LOGIN_FAILURES_KEPT).delete()
    results, _ = DBTaskResult.objects.finished().filter(
        finished_at__lt=now - TASK_RESULTS_KEPT).delete()
    return {"login_failures": failures, "task_results": results}
