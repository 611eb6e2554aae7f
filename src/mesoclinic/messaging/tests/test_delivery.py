"""The worker's delivery: once only, even with two workers or a crash; retries; the audit trail."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection

from mesoclinic.audit.models import AuditEvent
from mesoclinic.messaging import delivery, outbox, sms
from mesoclinic.messaging.delivery import DeliveryReport, deliver_due
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.tests.conftest import NOW, REF, remind


class RefusingSmsBackend:
    def send(self, to: str, body: str) -> str:
        raise sms.SmsError("number not reachable")


class MovingSmsBackend:
    """The appointment is moved (or cancelled) by someone else while the text is on its way."""

    then: str = "move"

    def send(self, to: str, body: str) -> str:
        if self.then == "move":
            outbox.reschedule(REF, "session_preparation", NOW + timedelta(days=1))
        else:
            outbox.cancel(REF)
        return sms.LocmemSmsBackend().send(to, body)


def _message_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="message").order_by("seq"))


class WaitingSmsBackend:
    """Holds the first worker's text until the second worker has tried to claim it."""

    proceed = threading.Event()

    def send(self, to: str, body: str) -> str:
        assert self.proceed.wait(timeout=10)
        return sms.LocmemSmsBackend().send(to, body)


def _run_two_workers() -> list[DeliveryReport]:
    reports: list[DeliveryReport] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            reports.append(deliver_due())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return reports


@pytest.mark.django_db(transaction=True)
def test_a_reminder_due_now_is_sent_once_even_when_two_workers_run(clinic, settings,
                                                                   monkeypatch) -> None:
    settings.SMS_BACKEND = f"{__name__}.WaitingSmsBackend"
    monkeypatch.setattr(WaitingSmsBackend, "proceed", threading.Event())
    message = remind(clinic, channel="sms", recipient="+90 532 111 22 33", due_at=NOW)
    # The worst interleaving, every time: both workers see the message due; one claims it and
    # starts sending; the other tries to claim it while the text is on its way.
    both_saw_it = threading.Barrier(2)
    first_claimed = threading.Event()
    turns: list[str] = []
    turn = threading.Lock()
    real_claim = delivery._claim

    def claim_in_turn(pk: int, now: datetime) -> str | None:
        both_saw_it.wait(timeout=10)
        with turn:
            first = not turns
            turns.append("first" if first else "second")
        if first:
            token = real_claim(pk, now)
            first_claimed.set()
            return token
        assert first_claimed.wait(timeout=10)
        try:
            return real_claim(pk, now)
        finally:
            WaitingSmsBackend.proceed.set()

    monkeypatch.setattr(delivery, "_claim", claim_in_turn)
    with time_machine.travel(NOW, tick=True):
        reports = _run_two_workers()

    assert sorted(turns) == ["first", "second"]
    assert sorted((r.sent, r.skipped) for r in reports) == [(0, 1), (1, 0)]
    assert len(sms.outbox) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert [e.changes for e in _message_events()] == [{"status": "sent"}]


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_the_same_instant_send_once(clinic, mailoutbox, monkeypatch) -> None:
    message = remind(clinic, due_at=NOW)
    both_saw_it = threading.Barrier(2)
    real_claim = delivery._claim

    def claim_together(pk: int, now: datetime) -> str | None:
        both_saw_it.wait(timeout=10)
        return real_claim(pk, now)

    monkeypatch.setattr(delivery, "_claim", claim_together)
    with time_machine.travel(NOW, tick=True):
        reports = _run_two_workers()

    assert sorted((r.sent, r.skipped) for r in reports) == [(0, 1), (1, 0)]
    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert message.status == "sent"


@pytest.mark.django_db(transaction=True)
def test_a_reminder_is_sent_once_when_the_sweep_runs_twice(clinic, mailoutbox) -> None:
    remind(clinic, channel="sms", recipient="+90 532 111 22 33", due_at=NOW)
    with time_machine.travel(NOW, tick=False):
        first, second = deliver_due(), deliver_due()
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        third = deliver_due()

    assert (first.sent, second.sent, third.sent) == (1, 0, 0)
    assert len(sms.outbox) == 1
    assert OutboundMessage.objects.get().status == "sent"


def test_a_crash_mid_send_is_retried_after_the_lease_expires_and_sent_once(clinic, settings,
                                                                           mailoutbox) -> None:
    settings.MESSAGE_LEASE_SECONDS = 300
    message = remind(clinic, due_at=NOW)
    # A worker claims it, then dies before sending or recording anything.
    assert delivery._claim(message.pk, NOW) is not None
    assert delivery._claim(message.pk, NOW + timedelta(seconds=1)) is None  # the lease holds

    with time_machine.travel(NOW + timedelta(seconds=299), tick=False):
        assert deliver_due() == DeliveryReport()
    assert mailoutbox == []

    with time_machine.travel(NOW + timedelta(seconds=301), tick=False):
        assert deliver_due().sent == 1
        assert deliver_due().sent == 0
    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.claimed_until) == ("sent", 2, None)


def test_a_refused_sms_is_retried_with_backoff_then_failed_with_the_reason(clinic, settings) -> None:
    settings.SMS_BACKEND = f"{__name__}.RefusingSmsBackend"
    settings.MESSAGE_MAX_ATTEMPTS = 3
    settings.MESSAGE_RETRY_SECONDS = 60
    message = remind(clinic, channel="sms", recipient="+90 532 000 00 00", due_at=NOW)

    with time_machine.travel(NOW, tick=False):
        assert deliver_due().retrying == 1
        assert deliver_due() == DeliveryReport()  # not due again yet
    message.refresh_from_db()
    assert (message.status, message.attempts, message.due_at) == ("due", 1, NOW + timedelta(seconds=60))
    assert message.last_error == "SMS provider: number not reachable"

    with time_machine.travel(NOW + timedelta(seconds=60), tick=False):
        assert deliver_due().retrying == 1
    message.refresh_from_db()
    assert (message.attempts, message.due_at) == (2, NOW + timedelta(seconds=180))

    with time_machine.travel(NOW + timedelta(seconds=180), tick=False):
        assert deliver_due().failed == 1
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert deliver_due() == DeliveryReport()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert message.last_error == "SMS provider: number not reachable"

    [event] = _message_events()
    assert (event.via, event.action, event.object_id, event.clinic_id, event.patient_id) == (
        "worker", "update", str(message.public_id), str(clinic.public_id), message.patient_id)
    assert event.changes == {"status": "failed"}
    assert event.detail == ("session_preparation by sms failed after 3 attempt(s): "
                            "SMS provider: number not reachable")
    assert sms.outbox == []


def test_a_failing_mail_server_is_shown_as_the_reason(clinic, settings, monkeypatch) -> None:
    settings.MESSAGE_MAX_ATTEMPTS = 1

    def refuse(self: object, fail_silently: bool = False) -> int:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    message = remind(clinic, due_at=NOW)
    with time_machine.travel(NOW, tick=False):
        assert deliver_due().failed == 1
    message.refresh_from_db()
    assert (message.status, message.last_error) == (
        "failed", "Email: ConnectionRefusedError: [Errno 111] Connection refused")


def test_a_sent_reminder_is_audited_by_the_worker_without_its_text(clinic, mailoutbox) -> None:
    message = remind(clinic, due_at=NOW)
    with time_machine.travel(NOW, tick=False):
        deliver_due()

    [event] = _message_events()
    assert (event.via, event.username, event.object_id, event.clinic_id, event.patient_id) == (
        "worker", "worker", str(message.public_id), str(clinic.public_id), message.patient_id)
    assert (event.changes, event.detail) == ({"status": "sent"}, "session_preparation by email sent")
    assert "Ayşe" not in str(event.changes) + event.detail
    assert "ayse@example.org" not in str(event.changes) + event.detail


def test_a_move_while_sending_wins_and_the_moved_reminder_still_goes(clinic, settings) -> None:
    settings.SMS_BACKEND = f"{__name__}.MovingSmsBackend"
    message = remind(clinic, channel="sms", recipient="+90 532 111 22 33", due_at=NOW)

    with time_machine.travel(NOW, tick=False):
        assert deliver_due().superseded == 1
    message.refresh_from_db()
    assert (message.status, message.due_at, message.sent_at) == ("due", NOW + timedelta(days=1), None)
    assert [e.detail for e in _message_events()] == [
        "session_preparation by sms sent, but it was moved or cancelled while being sent"]

    settings.SMS_BACKEND = "mesoclinic.messaging.sms.LocmemSmsBackend"
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert deliver_due().sent == 1
    assert len(sms.outbox) == 2
    message.refresh_from_db()
    assert message.status == "sent"


def test_a_cancellation_while_sending_wins(clinic, settings, monkeypatch) -> None:
    settings.SMS_BACKEND = f"{__name__}.MovingSmsBackend"
    monkeypatch.setattr(MovingSmsBackend, "then", "cancel")
    message = remind(clinic, channel="sms", recipient="+90 532 111 22 33", due_at=NOW)

    with time_machine.travel(NOW, tick=False):
        assert deliver_due().superseded == 1
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        assert deliver_due() == DeliveryReport()
    message.refresh_from_db()
    assert message.status == "cancelled"
    assert len(sms.outbox) == 1


def test_delivery_takes_the_oldest_first_and_stops_at_the_limit(clinic, mailoutbox) -> None:
    for hours in (3, 1, 2):
        remind(clinic, due_at=NOW - timedelta(hours=hours), recipient=f"p{hours}@example.org")
    with time_machine.travel(NOW, tick=False):
        assert deliver_due(limit=2).sent == 2
    assert [email.to for email in mailoutbox] == [["p3@example.org"], ["p2@example.org"]]


def test_retry_delay_doubles_up_to_an_hour(settings) -> None:
    settings.MESSAGE_RETRY_SECONDS = 60
    assert [delivery.retry_delay(n).total_seconds() for n in (1, 2, 3, 7, 20)] == [
        60, 120, 240, 3600, 3600]


def test_the_per_message_task_ignores_an_unknown_or_moved_message(clinic, mailoutbox) -> None:
    message = remind(clinic, due_at=NOW + timedelta(hours=1))
    with time_machine.travel(NOW, tick=False):
        assert delivery.deliver_one(str(message.public_id)).skipped == 1  # not due yet
        assert delivery.deliver_one("0b8e0c47-0000-4a55-8f59-6a4d7e1d2c10").skipped == 1
        assert delivery.deliver_one("not-a-uuid").skipped == 1
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert delivery.deliver_one(str(message.public_id)).sent == 1
    assert len(mailoutbox) == 1
