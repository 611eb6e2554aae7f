"""The outbox API: store, move and cancel messages; the worker sends them (delivery.py).

Call these inside the caller's transaction (the booking that causes the reminders), so that a
booking and its reminders are saved, moved or cancelled together or not at all. Nothing is sent
here: the row itself, with its due time, is the job. After commit a django-tasks task is queued
to run at the due time, so delivery is prompt; the worker's periodic sweep sends every due row
anyway, so a lost task (or a crashed worker) delays a message by at most one sweep.

An email may carry one file (`Attachment`, e.g. an aftercare sheet's PDF): it is stored through
Django's default storage when the message is scheduled, so the worker, on whichever machine it
runs, sends exactly the bytes the caller gave. The stored file stays with the message as
history. It is written before the caller's transaction commits: should that roll back, the file
remains in storage with no message pointing to it (never sent, and named by a random id only).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from uuid import UUID

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from mesoclinic.accounts.models import Clinic
from mesoclinic.messaging import texts
from mesoclinic.messaging.models import OutboundMessage

logger = logging.getLogger("mesoclinic.messaging")

REF_MAX_LENGTH = OutboundMessage._meta.get_field("ref").max_length or 100
ATTACHMENT_NAME_MAX_LENGTH = OutboundMessage._meta.get_field("attachment_name").max_length or 100
# Mail servers commonly refuse messages past 10-25 MB, and base64 adds a third.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
_MIMETYPE = re.compile(r"^[a-z]+/[a-z0-9][a-z0-9.+-]*$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email: the name the recipient sees, its bytes, its MIME type."""

    filename: str
    content: bytes
    mimetype: str


def _check_attachment(attachment: Attachment, channel: str) -> None:
    if channel != OutboundMessage.Channel.EMAIL:
        raise ValueError("only an email can carry an attachment")
    name = attachment.filename
    if (not name.strip() or len(name) > ATTACHMENT_NAME_MAX_LENGTH or "/" in name or "\\" in name
            or not name.isprintable()):
        raise ValueError(f"an attachment needs a plain file name of 1 to "
                         f"{ATTACHMENT_NAME_MAX_LENGTH} characters, not {name[:120]!r}")
    if not isinstance(attachment.content, bytes) or not attachment.content:
        raise ValueError("an attachment needs its content as bytes")
    if len(attachment.content) > MAX_ATTACHMENT_BYTES:
        raise ValueError(f"an attachment may have at most {MAX_ATTACHMENT_BYTES} bytes, "
                         f"not {len(attachment.content)}")
    if not _MIMETYPE.match(attachment.mimetype):
        raise ValueError(f"not a MIME type: {attachment.mimetype!r}")


def _check_context(kind: str, context: Any) -> None:
    if kind not in texts.REQUIRED_CONTEXT:
        raise ValueError(f"unknown message kind {kind!r}: known are {sorted(texts.REQUIRED_CONTEXT)}")
    if not isinstance(context, dict):
        raise ValueError("context must be a dict of the values the text shows")
    missing = texts.REQUIRED_CONTEXT[kind] - context.keys()
    if missing:
        raise ValueError(f"a {kind} message needs context values for {sorted(missing)}")


def _check_moment(name: str, value: datetime | None) -> None:
    if value is not None and timezone.is_naive(value):
        raise ValueError(f"{name} must be an aware datetime")


def schedule(
    *,
    clinic: Clinic,
    kind: str,
    channel: str,
    recipient: str,
    language: str,
    context: dict[str, Any],
    ref: str,
    due_at: datetime,
    patient_id: str = "",
    expires_at: datetime | None = None,
    attachment: Attachment | None = None,
) -> OutboundMessage:
    """Store one message to go out at `due_at` (never before); returns the stored row.

    `ref` ties it to what caused it ("appointment:<uuid>"); `patient_id` (optional, the patient's
    public id) puts its delivery on that patient's audit trail; past `expires_at` (optional, e.g.
    the appointment's start) it is marked failed instead of being sent late; `attachment`
    (optional, email only) is a file sent with it.
    """
    _check_context(kind, context)
    if channel not in OutboundMessage.Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if channel == OutboundMessage.Channel.SMS and kind in texts.EMAIL_ONLY:
        raise ValueError(f"{kind} messages go by email only")
    if attachment is not None:
        _check_attachment(attachment, channel)
    recipient = recipient.strip()
    if not recipient:
        raise ValueError("a message needs a recipient")
    if not texts.valid_language(language):
        raise ValueError(f"not a language code: {language!r}")
    if not ref or len(ref) > REF_MAX_LENGTH:
        raise ValueError(f"ref must be 1 to {REF_MAX_LENGTH} characters")
    _check_moment("due_at", due_at)
    _check_moment("expires_at", expires_at)
    message = OutboundMessage(
        clinic=clinic, kind=kind, channel=channel, recipient=recipient, language=language,
        context=context, ref=ref, patient_id=patient_id, due_at=due_at, expires_at=expires_at,
    )
    if attachment is not None:
        # Stored under the message's random id: the patient's name never appears in storage.
        suffix = PurePosixPath(attachment.filename).suffix.lower()
        stored = f"message-{message.public_id}{suffix if _SUFFIX.match(suffix) else ''}"
        message.attachment_name = attachment.filename
        message.attachment_type = attachment.mimetype
        message.attachment.save(stored, ContentFile(attachment.content), save=False)
    message.save(force_insert=True)
    _enqueue_on_commit([message.public_id], due_at)
    return message


def reschedule(ref: str, kind: str, due_at: datetime, context: dict[str, Any] | None = None, *,
               expires_at: datetime | None = None) -> int:
    """Move the still-due messages of `ref` and `kind` to `due_at` (with a new context and expiry
    when given); returns how many moved. Sent, failed and cancelled ones stay as history.

    A message being sent at this moment is released: if it goes out, the worker records it as
    superseded, and the moved message still goes at its new time.
    """
    _check_moment("due_at", due_at)
    _check_moment("expires_at", expires_at)
    changes: dict[str, Any] = {"due_at": due_at, "claimed_until": None, "claim_token": "",
                               "attempts": 0, "last_error": ""}
    if context is not None:
        _check_context(kind, context)
        changes["context"] = context
    if expires_at is not None:
        changes["expires_at"] = expires_at
    due = OutboundMessage.objects.filter(ref=ref, kind=kind, status=OutboundMessage.Status.DUE)
    moved = due.update(**changes)
    if moved:
        _enqueue_on_commit(due.values_list("public_id", flat=True), due_at)
    return moved


def cancel(ref: str, kind: str | None = None) -> int:
    """Cancel the still-due messages of `ref` (of one kind, or all); returns how many. Sent ones
    stay as history; a message being sent at this moment is recorded as superseded."""
    due = OutboundMessage.objects.filter(ref=ref, status=OutboundMessage.Status.DUE)
    if kind is not None:
        due = due.filter(kind=kind)
    return due.update(status=OutboundMessage.Status.CANCELLED, claimed_until=None, claim_token="")


def for_ref(ref: str) -> list[OutboundMessage]:
    """Every message `ref` caused, in due order: what staff see on the appointment."""
    return list(OutboundMessage.objects.for_ref(ref))


def _enqueue_on_commit(public_ids: Iterable[UUID], due_at: datetime) -> None:
    ids = [str(public_id) for public_id in public_ids]

    def enqueue() -> None:
        from mesoclinic.messaging.tasks import deliver_message

        for public_id in ids:
            deliver_message.using(run_after=due_at).enqueue(public_id)

    # robust: a queue that refuses the task must not undo a committed booking; the sweep sends it.
    transaction.on_commit(enqueue, robust=True)
