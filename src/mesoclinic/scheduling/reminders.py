"""Which reminders an appointment gets, and when; the outbox (messaging) stores and sends them.

Called inside the booking's transaction, so a booking and its reminders are saved together, and
a move or cancellation moves or cancels them in the same step.

- NSAID stop (F-NSAID): 8 days before a series' first session, so that a week without NSAIDs fits.
- Allergy test (F-ALLERGY-TEST): the day before the test appointment.
- Session preparation: 24 to 48 h before each treatment session (no make-up, when to arrive, earlier
  for the anaesthetic cream), in the daytime: 48 h before, moved to 09:00 when that is at night.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from mesoclinic.messaging import outbox, sms
from mesoclinic.scheduling.models import Appointment, Kind

NSAID_LEAD = timedelta(days=8)
ALLERGY_TEST_LEAD = timedelta(hours=24)
PREPARATION_LEAD = timedelta(hours=48)
LATEST_LEAD = timedelta(hours=24)
# Not worth sending when the appointment is this close: the patient was just booked in person.
TOO_LATE = timedelta(hours=3)
DAY_STARTS, DAY_ENDS = time(9, 0), time(20, 0)
ARRIVE_EARLY = timedelta(minutes=10)


def _daytime(moment: datetime, tz: zoneinfo.ZoneInfo, *, latest: datetime) -> datetime:
    """The moment, or the next 09:00 local when it falls at night (never after `latest`)."""
    local = moment.astimezone(tz)
    if local.time() < DAY_STARTS:
        local = datetime.combine(local.date(), DAY_STARTS, tz)
    elif local.time() >= DAY_ENDS:
        local = datetime.combine(local.date() + timedelta(days=1), DAY_STARTS, tz)
    return min(local, latest)


def due_times(appointment: Appointment, *, now: datetime | None = None) -> dict[str, datetime]:
    """Each reminder kind this appointment gets, with its due time."""
    now = now or timezone.now()
    start = appointment.prep_starts_at or appointment.starts_at
    if start - now < TOO_LATE:
        return {}
    tz = zoneinfo.ZoneInfo(appointment.clinic.timezone)
    due: dict[str, datetime] = {}
    if appointment.kind == Kind.ALLERGY_TEST:
        due["allergy_test"] = max(now, _daytime(start - ALLERGY_TEST_LEAD, tz, latest=start - TOO_LATE))
    if appointment.kind == Kind.TREATMENT:
        if appointment.series_index == 1:
            due["nsaid_stop"] = max(now, _daytime(start - NSAID_LEAD, tz, latest=start - TOO_LATE))
        due["session_preparation"] = max(now, _daytime(start - PREPARATION_LEAD, tz,
                                                       latest=start - LATEST_LEAD))
    return due


def _context(appointment: Appointment) -> dict[str, str]:
    tz = zoneinfo.ZoneInfo(appointment.clinic.timezone)
    start = appointment.starts_at.astimezone(tz)
    arrive = (appointment.prep_starts_at or appointment.starts_at).astimezone(tz) - ARRIVE_EARLY
    return {
        "given_name": appointment.patient.given_name,
        "clinic": appointment.clinic.name,
        "address": appointment.clinic.address,
        "date": start.strftime("%Y-%m-%d"),
        "time": start.strftime("%H:%M"),
        "arrive": arrive.strftime("%H:%M"),
        "cream": "yes" if appointment.prep_starts_at else "",
    }


def _language(appointment: Appointment) -> str:
    chosen = appointment.patient.preferred_language or appointment.clinic.language
    known = {code for code, _name in settings.LANGUAGES}
    return chosen if chosen in known else settings.LANGUAGE_CODE


def _channels(appointment: Appointment) -> list[tuple[str, str]]:
    patient = appointment.patient
    channels = []
    if patient.email:
        channels.append(("email", patient.email))
    if patient.phone and sms.enabled():
        channels.append(("sms", patient.phone))
    return channels


def _tracking(appointment: Appointment) -> dict[str, Any]:
    """The patient whose audit trail records each delivery; a reminder not sent by the time the
    patient is due is dropped as failed rather than sent late."""
    return {"patient_id": str(appointment.patient.public_id),
            "expires_at": appointment.prep_starts_at or appointment.starts_at}


def schedule_for(appointment: Appointment) -> None:
    context = _context(appointment)
    for kind, due_at in due_times(appointment).items():
        for channel, recipient in _channels(appointment):
            outbox.schedule(clinic=appointment.clinic, kind=kind, channel=channel,
                            recipient=recipient, language=_language(appointment), context=context,
                            ref=appointment.ref, due_at=due_at, **_tracking(appointment))


def move_for(appointment: Appointment) -> None:
    """The appointment moved: still-due reminders follow it; new ones are added if it came
    closer to a lead time it had passed, none twice."""
    due = due_times(appointment)
    context = _context(appointment)
    pending = {m.kind for m in outbox.for_ref(appointment.ref) if m.status == "due"}
    for kind in pending - due.keys():
        outbox.cancel(appointment.ref, kind=kind)
    for kind, due_at in due.items():
        if kind in pending:
            outbox.reschedule(appointment.ref, kind, due_at, context=context,
                              expires_at=_tracking(appointment)["expires_at"])
        else:
            for channel, recipient in _channels(appointment):
                outbox.schedule(clinic=appointment.clinic, kind=kind, channel=channel,
                                recipient=recipient, language=_language(appointment),
                                context=context, ref=appointment.ref, due_at=due_at,
                                **_tracking(appointment))


def cancel_for(appointment: Appointment) -> None:
    outbox.cancel(appointment.ref)
