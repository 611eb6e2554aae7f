"""`mesoclinic worker`: the command, the queued per-message task, signals, and housekeeping."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from mesoclinic.accounts.models import LoginFailure
from mesoclinic.messaging import sms
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.tasks import housekeeping
from mesoclinic.messaging.tests.conftest import NOW, remind

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_once_delivers_a_due_message_and_exits(clinic, mailoutbox) -> None:
    remind(clinic, due_at=NOW - timedelta(minutes=5))
    remind(clinic, kind="nsaid_stop", due_at=NOW + timedelta(days=1))
    out = StringIO()

    with time_machine.travel(NOW, tick=False):
        call_command("worker", "--once", stdout=out)

    assert out.getvalue() == "Outbox: sent 1, retrying 0, failed 0, skipped 0, superseded 0.\n"
    assert len(mailoutbox) == 1
    assert sorted(OutboundMessage.objects.values_list("kind", "status")) == [
        ("nsaid_stop", "due"), ("session_preparation", "sent")]


@pytest.mark.parametrize(("option", "complaint"), [
    (["--sweep-seconds", "soon"], "not a number of seconds: 'soon'"),
    (["--sweep-seconds", "0"], "must be more than 0"),
    (["--interval", "-1"], "must be more than 0"),
    (["--worker-id", ""], "a worker id has 1 to 64 characters"),
    (["--queue-name", ","], "name at least one queue"),
    (["--frequently"], "unrecognized arguments: --frequently"),
])
def test_a_bad_option_is_a_clear_error(clinic, option, complaint) -> None:
    remind(clinic, due_at=NOW)
    with pytest.raises(CommandError, match=complaint), time_machine.travel(NOW, tick=False):
        call_command("worker", "--once", *option)
    assert OutboundMessage.objects.get().status == "due"


def test_the_queued_task_sends_the_message_at_its_due_time(clinic, mailoutbox) -> None:
    with transaction.atomic():  # the booking's transaction: the task is queued once it commits
        message = remind(clinic, due_at=NOW + timedelta(hours=1))
    task = DBTaskResult.objects.get()
    worker = Worker(queue_names=["default"], interval=0, batch=True, backend_name="default",
                    startup_delay=False, max_tasks=None, worker_id="test", excluded_queue_names=[])

    with time_machine.travel(NOW, tick=False):
        worker.run()  # not ready yet
    task.refresh_from_db()
    assert task.status == TaskResultStatus.READY
    assert mailoutbox == []

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        worker.run()
        call_command("worker", "--once", stdout=StringIO())  # the sweep finds nothing left to do
    task.refresh_from_db()
    assert task.status == TaskResultStatus.SUCCESSFUL
    assert task.return_value == {"sent": 1, "retrying": 0, "failed": 0, "skipped": 0, "superseded": 0}
    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert message.status == "sent"


def test_a_moved_messages_old_task_sends_nothing(clinic, mailoutbox) -> None:
    from mesoclinic.messaging import outbox

    with transaction.atomic():
        message = remind(clinic, due_at=NOW)
    with transaction.atomic():
        outbox.reschedule(message.ref, message.kind, NOW + timedelta(days=1))

    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        call_command("worker", "--once", stdout=StringIO())
    assert mailoutbox == []
    assert sorted(DBTaskResult.objects.values_list("status", flat=True)) == ["READY", "SUCCESSFUL"]

    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        call_command("worker", "--once", stdout=StringIO())
    assert len(mailoutbox) == 1


def test_the_running_worker_sweeps_and_stops_cleanly_on_sigterm(clinic, settings) -> None:
    remind(clinic, channel="sms", recipient="+90 532 111 22 33", due_at=NOW)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}

    def stop_when_sent() -> None:
        deadline = time.monotonic() + 20
        while not sms.outbox and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_when_sent)
    out = StringIO()
    try:
        with time_machine.travel(NOW, tick=True):
            stopper.start()
            try:
                call_command("worker", "--sweep-seconds", "0.1", "--interval", "0.1", stdout=out)
                code: object = 0  # the signal came while the queued task ran: the loop ended
            except SystemExit as exited:  # the signal came while idle: the handler exits
                code = exited.code
    finally:
        stopper.join()
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        connection.close()

    assert code == 0
    assert len(sms.outbox) == 1
    assert OutboundMessage.objects.get().status == "sent"
    assert out.getvalue().endswith("Worker stopped.\n")


def test_housekeeping_forgets_sign_in_failures_after_thirty_days(db) -> None:
    old = LoginFailure.objects.create(username="dr.house", at=NOW - timedelta(days=31))
    recent = LoginFailure.objects.create(username="dr.house", at=NOW - timedelta(days=29))

    assert housekeeping(NOW) == {"login_failures": 1, "task_results": 0}
    assert list(LoginFailure.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not LoginFailure.objects.filter(pk=old.pk).exists()


def test_an_unmigrated_database_is_a_clear_error_not_a_traceback(clinic, monkeypatch) -> None:
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("messaging", False)])
    with pytest.raises(CommandError, match="unapplied migrations: run `mesoclinic migrate` first"):
        call_command("worker", "--once")
