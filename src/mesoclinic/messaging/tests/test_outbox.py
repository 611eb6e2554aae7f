"""The outbox API as the scheduling app uses it: schedule, move, cancel, and what goes out when."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from mesoclinic.messaging import outbox, sms, texts
from mesoclinic.messaging.delivery import deliver_due
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.tests.conftest import CONTEXT, NOW, REF, remind

pytestmark = pytest.mark.django_db


def test_a_reminder_is_not_sent_before_it_is_due_and_once_when_due(clinic, mailoutbox) -> None:
    message = remind(clinic, due_at=NOW + timedelta(hours=2))

    with time_machine.travel(NOW + timedelta(hours=2) - timedelta(seconds=1), tick=False):
        assert deliver_due().sent == 0
    assert mailoutbox == []
    message.refresh_from_db()
    assert (message.status, message.sent_at) == ("due", None)

    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        assert deliver_due().sent == 1
        assert deliver_due().sent == 0
    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert (message.status, message.sent_at, message.attempts) == ("sent", NOW + timedelta(hours=2), 1)
    assert message.provider_id == mailoutbox[0].extra_headers["Message-ID"]


def test_the_email_is_rendered_in_the_message_language(clinic, mailoutbox, monkeypatch) -> None:
    remind(clinic, language="de")
    languages: list[str | None] = []
    real_render = texts._render

    def spy(name: str, context: dict[str, object]) -> str:
        languages.append(translation.get_language())
        return real_render(name, context)

    monkeypatch.setattr(texts, "_render", spy)
    with translation.override("en-gb"), time_machine.travel(NOW, tick=False):
        deliver_due()

    assert languages == ["de", "de"]  # subject and body
    [email] = mailoutbox
    assert email.to == ["ayse@example.org"]
    assert email.extra_headers["Content-Language"] == "de"
    # The German catalogue's words, with the context's values in them.
    assert email.subject == "Nişantaşı: Ihre Sitzung am 2026-03-04 um 14:30 Uhr"
    assert "Hallo Ayşe," in email.body
    assert "Bitte kommen Sie um 14:00 Uhr: Wir tragen zuerst eine Betäubungscreme auf" in email.body
    assert "ohne Make-up im zu behandelnden Bereich" in email.body
    assert "Medikament" in email.body
    assert "{%" not in email.body
    assert "{{" not in email.body


def test_an_sms_goes_to_the_sms_provider_as_one_short_paragraph(clinic, mailoutbox) -> None:
    remind(clinic, channel="sms", recipient="+90 532 111 22 33", language="en-gb",
           context={**CONTEXT, "cream": ""})
    with time_machine.travel(NOW, tick=False):
        deliver_due()

    assert mailoutbox == []
    [text] = sms.outbox
    assert text.to == "+90 532 111 22 33"
    assert text.body == (
        "Nişantaşı: your session is on 2026-03-04 at 14:30. Please arrive at 14:00, without "
        "make-up on the area. Tell us about any new medicine, pregnancy or illness.")
    assert OutboundMessage.objects.get().provider_id == text.provider_id


@pytest.mark.parametrize(("kind", "words"), [
    ("nsaid_stop", ["ibuprofen, naproxen or aspirin for pain", "bruising", "ask your doctor first",
                    "Your first mesotherapy session at Nişantaşı is on 2026-03-04 at 14:30."]),
    ("allergy_test", ["Your allergy test at Nişantaşı is on 2026-03-04 at 14:30.",
                      "Abdi İpekçi Cd. 12, İstanbul", "ingredients of your treatment solution",
                      "at least 24 hours before your first session"]),
    ("session_preparation", ["without make-up", "Please arrive at 14:00",
                             "started a new medicine"]),
])
def test_each_reminder_says_what_the_patient_must_know(kind, words) -> None:
    email = texts.render(kind=kind, channel="email", language="en-gb", context=CONTEXT)
    short = texts.render(kind=kind, channel="sms", language="en-gb", context=CONTEXT)
    for text in words:
        assert text in email.body
    assert email.subject.startswith("Nişantaşı: ")
    assert "\n" not in email.subject
    assert short.body.startswith("Nişantaşı: your ")
    assert "2026-03-04 at 14:30" in short.body
    assert len(short.body) <= 320  # two SMS segments at most


def test_texts_are_plain_text_not_html_escaped() -> None:
    text = texts.render(kind="nsaid_stop", channel="email", language="en-gb",
                        context={**CONTEXT, "given_name": "O'Brien <Jr> & Co"})
    assert "Hello O'Brien <Jr> & Co," in text.body


def test_a_cancelled_reminder_is_never_sent(clinic, mailoutbox) -> None:
    message = remind(clinic, due_at=NOW + timedelta(hours=1))

    assert outbox.cancel(REF) == 1
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        assert deliver_due().sent == 0

    assert mailoutbox == []
    message.refresh_from_db()
    assert message.status == "cancelled"
    # Moving a cancelled one does nothing either.
    assert outbox.reschedule(REF, "session_preparation", NOW + timedelta(days=4)) == 0


def test_cancelling_leaves_sent_reminders_as_history_and_can_pick_one_kind(clinic, mailoutbox) -> None:
    sent = remind(clinic, kind="nsaid_stop", due_at=NOW)
    with time_machine.travel(NOW, tick=False):
        deliver_due()
    preparation = remind(clinic, due_at=NOW + timedelta(days=1))
    allergy = remind(clinic, kind="allergy_test", due_at=NOW + timedelta(days=1))

    assert outbox.cancel(REF, kind="allergy_test") == 1
    assert outbox.cancel(REF) == 1

    assert [(m.kind, m.status) for m in outbox.for_ref(REF)] == [
        ("nsaid_stop", "sent"), ("session_preparation", "cancelled"), ("allergy_test", "cancelled")]
    assert {m.pk for m in outbox.for_ref(REF)} == {sent.pk, preparation.pk, allergy.pk}
    assert len(mailoutbox) == 1


def test_a_moved_reminder_goes_at_the_new_time_with_the_new_details(clinic, mailoutbox) -> None:
    remind(clinic, due_at=NOW, language="en-gb")
    later = NOW + timedelta(days=2)

    assert outbox.reschedule(REF, "session_preparation", later,
                             context={**CONTEXT, "date": "2026-03-06"}) == 1
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert deliver_due().sent == 0
    assert mailoutbox == []

    with time_machine.travel(later, tick=False):
        assert deliver_due().sent == 1
    [email] = mailoutbox
    assert "on 2026-03-06 at 14:30" in email.body
    assert OutboundMessage.objects.get().sent_at == later


def test_moving_one_kind_leaves_the_others(clinic) -> None:
    nsaid = remind(clinic, kind="nsaid_stop", due_at=NOW)
    remind(clinic, due_at=NOW)

    assert outbox.reschedule(REF, "session_preparation", NOW + timedelta(days=1)) == 1
    nsaid.refresh_from_db()
    assert nsaid.due_at == NOW
    assert [m.kind for m in outbox.for_ref(REF)] == ["nsaid_stop", "session_preparation"]


def test_for_ref_shows_only_that_refs_messages_in_due_order(clinic) -> None:
    remind(clinic, kind="session_preparation", due_at=NOW + timedelta(days=7))
    remind(clinic, kind="nsaid_stop", due_at=NOW)
    remind(clinic, ref="appointment:other", due_at=NOW)

    assert [(m.kind, m.status, m.due_at) for m in outbox.for_ref(REF)] == [
        ("nsaid_stop", "due", NOW), ("session_preparation", "due", NOW + timedelta(days=7))]
    assert outbox.for_ref("appointment:none") == []


@pytest.mark.parametrize(("fields", "complaint"), [
    ({"kind": "birthday"}, "unknown message kind 'birthday'"),
    ({"context": {"given_name": "Ayşe"}}, "needs context values for ['arrive', 'clinic', 'date', 'time']"),
    ({"channel": "fax"}, "unknown channel 'fax'"),
    ({"recipient": "  "}, "needs a recipient"),
    ({"language": "Deutsch"}, "not a language code"),
    ({"ref": ""}, "ref must be 1 to 100 characters"),
    ({"due_at": NOW.replace(tzinfo=None)}, "due_at must be an aware datetime"),
])
def test_schedule_refuses_what_it_could_not_send(clinic, fields, complaint) -> None:
    with pytest.raises(ValueError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        remind(clinic, **fields)
    assert not OutboundMessage.objects.exists()


def test_a_task_is_queued_after_commit_for_the_due_time(clinic, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = remind(clinic, due_at=NOW + timedelta(days=1))
    assert not DBTaskResult.objects.exists()  # nothing queued before the booking commits

    for callback in callbacks:
        callback()
    task = DBTaskResult.objects.get()
    assert task.task_path == "mesoclinic.messaging.tasks.deliver_message"
    assert task.run_after == NOW + timedelta(days=1)
    assert task.args_kwargs == {"args": [str(message.public_id)], "kwargs": {}}


def test_a_message_past_its_expiry_is_failed_not_sent(clinic, mailoutbox) -> None:
    message = remind(clinic, due_at=NOW, expires_at=NOW + timedelta(hours=1))
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        report = deliver_due()

    assert (report.sent, report.failed) == (0, 1)
    assert mailoutbox == []
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.last_error.startswith("Not sent: no longer useful after 2026-03-02T10:00:00")
