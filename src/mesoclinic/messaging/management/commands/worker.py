"""`mesoclinic worker`: run queued tasks (django-tasks-db's worker loop) and, beside it, sweep
the outbox every --sweep-seconds so that every due message goes out, queued task or not; the
sweep also runs the apps' periodic jobs (messaging.periodic: alert escalation, cluster checks).

Run one on SQLite (one writer anyway), as many as needed on PostgreSQL: each message is claimed
by exactly one of them. SIGTERM or Ctrl+C lets the task and the message in hand finish first; a
second one stops at once (a message in hand is then sent again after its lease expires).
`--once` sweeps, runs the tasks that are ready, and exits (cron, tests).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from argparse import ArgumentTypeError
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection, connections
from django.db.migrations.executor import MigrationExecutor
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME, task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker

from mesoclinic.messaging import periodic
from mesoclinic.messaging.delivery import BATCH, DeliveryReport, deliver_due
from mesoclinic.messaging.tasks import housekeeping

logger = logging.getLogger("mesoclinic.messaging.worker")

HOUSEKEEPING_SECONDS = 60 * 60


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < seconds <= 24 * 60 * 60:
        raise ArgumentTypeError(f"must be more than 0 and at most 86400 seconds, not {value}")
    return seconds


def _worker_id(value: str) -> str:
    if not 0 < len(value) <= 64:
        raise ArgumentTypeError("a worker id has 1 to 64 characters")
    return value


class Sweeper:
    """Sends due messages every `seconds`, and does the hourly housekeeping."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.stop = threading.Event()
        self._housekept_at = -float(HOUSEKEEPING_SECONDS)

    def sweep(self, *, all_jobs: bool = False) -> DeliveryReport:
        """One pass: every message due now (in batches), the periodic jobs whose time is up (all of
        them with `all_jobs`, as `--once` does), then housekeeping when an hour is up."""
        total = DeliveryReport()
        while not self.stop.is_set():
            report = deliver_due(should_stop=self.stop.is_set)
            total += report
            # A full batch means more may be due; a batch of only lost races means others have them.
            if report.sent + report.retrying + report.failed + report.superseded < BATCH:
                break
        if any(total.astuple()):
            logger.info("outbox: %s", total)
        # The apps' own periodic jobs (escalating alerts, the daily cluster check).
        periodic.run_due(force=all_jobs)
        if time.monotonic() - self._housekept_at >= HOUSEKEEPING_SECONDS:
            self._housekept_at = time.monotonic()
            deleted = housekeeping()
            if any(deleted.values()):
                logger.info("housekeeping: deleted %s", deleted)
        return total

    def loop(self) -> None:
        """Sweep until stopped; a failed sweep (the database away) is logged and tried again."""
        while not self.stop.is_set():
            close_old_connections()
            try:
                self.sweep()
            except Exception:  # the thread must outlive it, or messages would silently stay due
                logger.exception("outbox sweep failed; next try in %ss", self.seconds)
            self.stop.wait(self.seconds)
        connections.close_all()


class Command(BaseCommand):
    help = "Run the background worker: queued tasks, and the outbox sweep that sends due messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sweep-seconds", type=_seconds, default=None,
                            help="how often to send due messages (default: WORKER_SWEEP_SECONDS, "
                                 f"{settings.WORKER_SWEEP_SECONDS})")
        parser.add_argument("--interval", type=_seconds, default=1.0,
                            help="seconds between looks at an empty task queue (default: 1)")
        parser.add_argument("--queue-name", default=DEFAULT_TASK_QUEUE_NAME,
                            help="the task queues to run, comma-separated, or * for all "
                                 "(default: %(default)s)")
        parser.add_argument("--worker-id", type=_worker_id, default=None,
                            help="unique among the running workers (default: host and process id)")
        parser.add_argument("--once", action="store_true",
                            help="sweep once, run the tasks that are ready, and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if not isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend):
            raise CommandError("TASKS['default'] is not django_tasks_db.DatabaseBackend: "
                               "this worker runs database-queued tasks only")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("the database has unapplied migrations: run `mesoclinic migrate` first")
        queue_names = [name for name in options["queue_name"].split(",") if name]
        if not queue_names:
            raise CommandError("--queue-name: name at least one queue, or *")
        worker_id = options["worker_id"] or f"{socket.gethostname()}-{os.getpid()}"[:64]
        sweeper = Sweeper(options["sweep_seconds"] or settings.WORKER_SWEEP_SECONDS)
        worker = Worker(
            queue_names=queue_names, interval=options["interval"], batch=options["once"],
            backend_name=DEFAULT_TASK_BACKEND_ALIAS, startup_delay=not options["once"],
            max_tasks=None, worker_id=worker_id, excluded_queue_names=[],
        )
        if options["once"]:
            report = sweeper.sweep(all_jobs=True)
            worker.run()
            self.stdout.write(f"Outbox: {report}.")
            return
        self.stdout.write(f"Worker {worker_id}: tasks from {', '.join(queue_names)}; due messages "
                          f"every {sweeper.seconds:g} s. Ctrl+C to stop.")
        thread = threading.Thread(target=sweeper.loop, name="outbox-sweep", daemon=True)
        # The task loop's handlers: the first signal finishes the task in hand, a second exits.
        worker.configure_signals()
        thread.start()
        try:
            worker.run()
        finally:
            # Also on the SystemExit the handler raises: let the message in hand be recorded.
            sweeper.stop.set()
            thread.join()
            self.stdout.write("Worker stopped.")
