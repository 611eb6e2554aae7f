"""Send due messages: claim, render, send, record — each message at most once.

1. Claim: one conditional UPDATE per message (still due, due by now, no lease running) sets a
   lease and a fresh claim token. The database applies it to one claimant only — on PostgreSQL
   the second UPDATE waits for the first and re-checks the condition, on SQLite writers are
   serialised — so of two workers exactly one sends; the other moves on (healthchecks'
   sendalerts claims its flips the same way).
2. Send outside any transaction, in the message's language.
3. Record: mark it sent only where the row still carries our token and is still due, with its
   audit event, in one transaction. A move or cancellation while sending clears the token, so
   it wins: the move's message still goes at its new time, a cancelled one never again.
A worker that dies between 1 and 3 leaves the lease to expire (MESSAGE_LEASE_SECONDS); the next
sweep claims the message again. Only a crash after the provider took the message and before
the mark can send it twice; the mark is retried so that a brief database hiccup does not.
"""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.db import OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.messaging import sms, texts
from mesoclinic.messaging.models import OutboundMessage

logger = logging.getLogger("mesoclinic.messaging")

WORKER = Actor(username="worker", role="system", via="worker")
RETRY_CAP = timedelta(hours=1)
MARK_TRIES = 5
BATCH = 100


@dataclass
class DeliveryReport:
    sent: int = 0  # handed to the mail server or SMS provider and marked sent
    retrying: int = 0  # failed this time, due again later
    failed: int = 0  # given up on (attempts used up, or expired), with the reason
    skipped: int = 0  # another worker claimed it first, or it was moved or cancelled meanwhile
    superseded: int = 0  # went out, but was moved or cancelled while being sent

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(*(a + b for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[int, int, int, int, int]:
        return (self.sent, self.retrying, self.failed, self.skipped, self.superseded)

    def __str__(self) -> str:
        return (f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}, "
                f"skipped {self.skipped}, superseded {self.superseded}")


def retry_delay(attempt: int) -> timedelta:
    """After the n-th failed attempt: the base delay, doubled each time, at most an hour."""
    base = timedelta(seconds=settings.MESSAGE_RETRY_SECONDS)
    return min(base * 2 ** max(attempt - 1, 0), RETRY_CAP)


def deliver_due(now: datetime | None = None, *, limit: int = BATCH,
                should_stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """Send up to `limit` messages due by `now`, oldest first. Call it outside a transaction:
    a message handed to the provider cannot be rolled back."""
    report = DeliveryReport()
    moment = now or timezone.now()
    candidates = list(OutboundMessage.objects.claimable(moment)
                      .order_by("due_at", "id").values_list("pk", flat=True)[:limit])
    for pk in candidates:
        if should_stop is not None and should_stop():
            break
        _deliver(pk, now, report)
    return report


def deliver_one(public_id: str, now: datetime | None = None) -> DeliveryReport:
    """Send this message if it is due (the per-message task; a no-op once moved or sent)."""
    report = DeliveryReport()
    try:
        pk = OutboundMessage.objects.values_list("pk", flat=True).get(public_id=public_id)
    except (OutboundMessage.DoesNotExist, ValidationError, ValueError):
        report.skipped += 1
        return report
    _deliver(pk, now, report)
    return report


def _claim(pk: int, now: datetime) -> str | None:
    """Lease the message to this worker; None when it is not (or no longer) claimable."""
    token = uuid.uuid4().hex
    try:
        claimed = OutboundMessage.objects.claimable(now).filter(pk=pk).update(
            claimed_until=now + timedelta(seconds=settings.MESSAGE_LEASE_SECONDS),
            claim_token=token, attempts=F("attempts") + 1)
    except OperationalError as exc:
        if "locked" not in str(exc).lower():
            raise
        # SQLite: another worker holds the write lock past the busy timeout; the next sweep retries.
        return None
    return token if claimed == 1 else None


def _deliver(pk: int, now: datetime | None, report: DeliveryReport) -> None:
    token = _claim(pk, now or timezone.now())
    if token is None:
        report.skipped += 1
        return
    message = OutboundMessage.objects.select_related("clinic").get(pk=pk)
    at = now or timezone.now()
    if message.expires_at is not None and message.expires_at <= at:
        reason = f"Not sent: no longer useful after {message.expires_at.isoformat()}."
        _finish(message, token, report, failed=reason)
        return
    try:
        provider_id = _send(message)
    except Exception as exc:  # any failure of one message must not stop the others
        reason = _reason(exc, message.channel)
        logger.warning("message %s attempt %d failed: %s", message.public_id, message.attempts,
                       reason)
        if message.attempts >= settings.MESSAGE_MAX_ATTEMPTS:
            _finish(message, token, report, failed=reason)
        else:
            _retry_later(message, token, report, reason, at)
        return
    _finish(message, token, report, provider_id=provider_id)


def _send(message: OutboundMessage) -> str:
    """Render and hand over; returns the provider's id (the email's Message-ID)."""
    text = texts.render(kind=message.kind, channel=message.channel, language=message.language,
                        context=message.context)
    if message.channel == OutboundMessage.Channel.SMS:
        return str(sms.get_backend().send(message.recipient, text.body) or "")
    message_id = make_msgid(domain=DNS_NAME)
    email = EmailMessage(
        subject=text.subject, body=text.body, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient],
        headers={"Message-ID": message_id, "Content-Language": message.language,
                 "Auto-Submitted": "auto-generated"},
    )
    if message.attachment:
        email.attach(message.attachment_name, _attachment(message), message.attachment_type)
    if email.send(fail_silently=False) != 1:
        raise smtplib.SMTPException("the mail server accepted no recipient")
    return message_id


class MissingAttachment(Exception):
    """The message's file is not in storage (removed, or the storage is unreachable)."""


def _attachment(message: OutboundMessage) -> bytes:
    """The stored file's bytes; its absence fails this attempt (retried: storage may be back)."""
    try:
        with message.attachment.storage.open(message.attachment.name, "rb") as stored:
            content: bytes = stored.read()
    except FileNotFoundError:
        raise MissingAttachment(f"the attachment {message.attachment_name} is missing from "
                                f"storage ({message.attachment.name})") from None
    return content


def _reason(exc: Exception, channel: str) -> str:
    """What staff are shown: the provider's own words where it gave some."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        text = "the mail server refused the address: " + "; ".join(
            f"{address} ({code} {detail.decode(errors='replace') if isinstance(detail, bytes) else detail})"
            for address, (code, detail) in exc.recipients.items())
    else:
        text = str(exc) if isinstance(exc, sms.SmsError) else f"{type(exc).__name__}: {exc}"
    where = "SMS provider" if channel == OutboundMessage.Channel.SMS else "Email"
    return f"{where}: {text or 'refused the message'}"[:500]


def _with_retries(write: Callable[[], Any]) -> Any:
    """The record step, retried: once the provider has the message, losing the mark would send
    it again after the lease expires."""
    for attempt in range(1, MARK_TRIES + 1):
        try:
            return write()
        except OperationalError:
            if attempt == MARK_TRIES:
                raise
            time.sleep(0.2 * attempt)
    return None


def _audit(message: OutboundMessage, *, status: str, detail: str) -> None:
    record(WORKER, action=AuditEvent.Action.UPDATE, object_type="message",
           object_id=str(message.public_id), clinic_id=str(message.clinic.public_id),
           patient_id=message.patient_id, changes={"status": status} if status else {},
           detail=detail)


def _finish(message: OutboundMessage, token: str, report: DeliveryReport, *,
            provider_id: str = "", failed: str = "") -> None:
    """Mark it sent (or failed, with the reason) if it is still ours, with its audit event."""
    what = f"{message.kind} by {message.channel}"
    mine = OutboundMessage.objects.filter(pk=message.pk, claim_token=token,
                                          status=OutboundMessage.Status.DUE)
    release: dict[str, Any] = {"claimed_until": None, "claim_token": ""}

    def write() -> str:
        with transaction.atomic():
            if failed:
                if not mine.update(status=OutboundMessage.Status.FAILED, last_error=failed, **release):
                    return "skipped"
                _audit(message, status="failed",
                       detail=f"{what} failed after {message.attempts} attempt(s): {failed}")
                return "failed"
            if mine.update(status=OutboundMessage.Status.SENT, sent_at=timezone.now(),
                           provider_id=provider_id[:200], last_error="", **release):
                _audit(message, status="sent", detail=f"{what} sent")
                return "sent"
            # It went out, but was moved or cancelled meanwhile: the row stays as they left it.
            _audit(message, status="",
                   detail=f"{what} sent, but it was moved or cancelled while being sent")
            return "superseded"

    outcome = _with_retries(write)
    setattr(report, outcome, getattr(report, outcome) + 1)


def _retry_later(message: OutboundMessage, token: str, report: DeliveryReport, reason: str,
                 now: datetime) -> None:
    """Keep it due, a little later each time; the reason shows meanwhile."""
    retry_at = now + retry_delay(message.attempts)
    updated = _with_retries(lambda: OutboundMessage.objects.filter(
        pk=message.pk, claim_token=token, status=OutboundMessage.Status.DUE,
    ).update(due_at=retry_at, last_error=reason, claimed_until=None, claim_token=""))
    if updated:
        report.retrying += 1
    else:
        report.skipped += 1
