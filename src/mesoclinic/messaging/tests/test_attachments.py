"""An email may carry a file (the aftercare sheet's PDF): stored with the message, sent as given."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from mesoclinic.messaging import outbox, texts
from mesoclinic.messaging.delivery import deliver_due
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.tests.conftest import CONTEXT, NOW, REF, remind

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n% a small test file\n%%EOF\n"
SHEET = outbox.Attachment(filename="aftercare.pdf", content=PDF, mimetype="application/pdf")
AFTERCARE = {"name": "Ayşe Yılmaz", "clinic": "Nişantaşı", "phone": "+90 212 555 01 01"}


def send_sheet(clinic: Any, **fields: Any) -> OutboundMessage:
    values: dict[str, Any] = {"kind": "aftercare_sheet", "context": dict(AFTERCARE),
                              "language": "en-gb", "attachment": SHEET}
    values.update(fields)
    return remind(clinic, **values)


def stored_files(settings: Any) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_an_email_goes_out_with_its_attachment_as_given(clinic, mailoutbox, settings) -> None:
    message = send_sheet(clinic)

    # Stored under the message's random id, never the patient's name.
    assert re.fullmatch(rf"messages/\d{{4}}/\d{{2}}/message-{message.public_id}\.pdf",
                        message.attachment.name)
    assert "Ayşe" not in message.attachment.name
    with default_storage.open(message.attachment.name, "rb") as stored:
        assert stored.read() == PDF
    assert (message.attachment_name, message.attachment_type) == ("aftercare.pdf", "application/pdf")

    with time_machine.travel(NOW, tick=False):
        assert deliver_due().sent == 1
    [email] = mailoutbox
    assert email.to == ["ayse@example.org"]
    assert email.subject == "Nişantaşı: your aftercare instructions"
    assert [tuple(a) for a in email.attachments] == [("aftercare.pdf", PDF, "application/pdf")]
    message.refresh_from_db()
    assert message.status == "sent"
    assert len(stored_files(settings)) == 1  # kept with the message as history


def test_the_aftercare_email_says_what_is_attached_and_when_to_call() -> None:
    with_phone = texts.render(kind="aftercare_sheet", channel="email", language="en-gb",
                              context=AFTERCARE)
    without = texts.render(kind="aftercare_sheet", channel="email", language="en-gb",
                           context={**AFTERCARE, "phone": ""})

    assert with_phone.body.startswith("Hello Ayşe Yılmaz,\n\nAttached is your aftercare sheet from "
                                      "Nişantaşı.")
    assert "call us now on +90 212 555 01 01: do not wait" in with_phone.body
    assert "call us now: do not wait for your next appointment" in without.body
    assert "+90" not in without.body
    assert "call emergency services (112) at once" in with_phone.body
    assert with_phone.body.endswith("With best wishes,\nNişantaşı\n")


@pytest.mark.parametrize(("fields", "complaint"), [
    ({"channel": "sms", "recipient": "+90 532 111 22 33"}, "aftercare_sheet messages go by email only"),
    ({"kind": "session_preparation", "context": dict(CONTEXT), "channel": "sms",
      "recipient": "+90 532 111 22 33"}, "only an email can carry an attachment"),
    ({"attachment": outbox.Attachment("", PDF, "application/pdf")}, "a plain file name"),
    ({"attachment": outbox.Attachment("../../etc/passwd", PDF, "application/pdf")}, "a plain file name"),
    ({"attachment": outbox.Attachment("a\nb.pdf", PDF, "application/pdf")}, "a plain file name"),
    ({"attachment": outbox.Attachment("x" * 101, PDF, "application/pdf")}, "a plain file name"),
    ({"attachment": outbox.Attachment("aftercare.pdf", b"", "application/pdf")}, "content as bytes"),
    ({"attachment": outbox.Attachment("aftercare.pdf", b"x" * (outbox.MAX_ATTACHMENT_BYTES + 1),
                                      "application/pdf")}, "at most 10485760 bytes"),
    ({"attachment": outbox.Attachment("aftercare.pdf", PDF, "PDF please")}, "not a MIME type"),
])
def test_an_attachment_that_could_not_be_sent_is_refused_and_nothing_stored(
        clinic, settings, fields, complaint) -> None:
    with pytest.raises(ValueError, match=complaint):
        send_sheet(clinic, **fields)
    assert not OutboundMessage.objects.exists()
    assert stored_files(settings) == []


def test_the_database_keeps_files_on_emails_and_named(clinic) -> None:
    row: dict[str, Any] = {"clinic": clinic, "kind": "aftercare_sheet", "recipient": "x",
                           "language": "en-gb", "ref": REF, "due_at": NOW}
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundMessage.objects.create(**row, channel="sms", attachment="messages/x.pdf",
                                       attachment_name="x.pdf", attachment_type="application/pdf")
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundMessage.objects.create(**row, channel="email", attachment="messages/x.pdf")
    assert not OutboundMessage.objects.exists()


def test_a_missing_file_is_retried_then_failed_with_the_reason(clinic, settings, mailoutbox) -> None:
    settings.MESSAGE_MAX_ATTEMPTS = 2
    message = send_sheet(clinic)
    default_storage.delete(message.attachment.name)

    with time_machine.travel(NOW, tick=False):
        assert deliver_due().retrying == 1
    message.refresh_from_db()
    reason = (f"Email: MissingAttachment: the attachment aftercare.pdf is missing from storage "
              f"({message.attachment.name})")
    assert (message.status, message.last_error) == ("due", reason)

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert deliver_due().failed == 1
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("failed", reason)
    assert mailoutbox == []


def test_a_moved_message_keeps_its_attachment(clinic, mailoutbox) -> None:
    send_sheet(clinic, due_at=NOW + timedelta(hours=1))
    assert outbox.reschedule(REF, "aftercare_sheet", NOW + timedelta(hours=2)) == 1
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        assert deliver_due().sent == 1
    [email] = mailoutbox
    assert [a[1] for a in email.attachments] == [PDF]
