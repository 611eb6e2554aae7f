"""A practitioner's iCalendar feed behind a secret URL (calendar apps cannot sign in).

Only a hash of the secret is stored; a new address revokes the old one. Calendar apps copy events
to servers we do not control, so an event names the appointment type and the patient's initials,
never a full name or anything clinical. Every fetch is audited.
"""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.scheduling.models import Appointment, CalendarFeed, Kind

PAST = timedelta(days=30)
AHEAD = timedelta(days=180)
KIND_LABELS: dict[str, str] = {  # English, like the rest of an .ics file's machine-facing parts
    Kind.CONSULTATION: "Consultation", Kind.ALLERGY_TEST: "Allergy test",
    Kind.TREATMENT: "Treatment session", Kind.CHECKUP: "Check-up", Kind.PHOTO_REVIEW: "Photo review",
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _audit(actor: Actor, clinic: Clinic, practitioner: User, action: AuditEvent.Action, detail: str) -> None:
    record(actor, action=action, object_type="calendar_feed", object_id=str(practitioner.public_id),
           clinic_id=str(clinic.public_id), organisation_id=str(clinic.organisation.public_id),
           detail=detail)


def active(*, clinic: Clinic, practitioner: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(clinic=clinic, practitioner=practitioner,
                                       revoked_at__isnull=True).first()


@transaction.atomic
def create(*, clinic: Clinic, practitioner: User, actor: Actor) -> str:
    """A new secret address (returned once); any earlier one stops working."""
    CalendarFeed.objects.filter(clinic=clinic, practitioner=practitioner,
                                revoked_at__isnull=True).update(revoked_at=timezone.now())
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.create(clinic=clinic, practitioner=practitioner, token_hash=_hash(token))
    _audit(actor, clinic, practitioner, AuditEvent.Action.CREATE, "calendar feed address issued")
    return token


@transaction.atomic
def revoke(*, clinic: Clinic, practitioner: User, actor: Actor) -> int:
    count = CalendarFeed.objects.filter(clinic=clinic, practitioner=practitioner,
                                        revoked_at__isnull=True).update(revoked_at=timezone.now())
    _audit(actor, clinic, practitioner, AuditEvent.Action.DELETE, "calendar feed address revoked")
    return count


def lookup(token: str) -> CalendarFeed | None:
    if not token or len(token) > 100:
        return None
    return (CalendarFeed.objects.select_related("clinic__organisation", "practitioner")
            .filter(token_hash=_hash(token), revoked_at__isnull=True, practitioner__is_active=True)
            .first())


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _fold(line: str) -> str:
    """RFC 5545: lines longer than 75 octets continue on lines starting with a space."""
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > 75:
            out.append(current)
            current = " " + char
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _initials(appointment: Appointment) -> str:
    p = appointment.patient
    return f"{p.given_name[:1]}. {p.family_name[:1]}.".upper()


@transaction.atomic
def render(feed: CalendarFeed, *, now: datetime | None = None) -> str:
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(feed.clinic.timezone)
    rows = (Appointment.objects.filter(clinic=feed.clinic, practitioner=feed.practitioner,
                                       status=Appointment.Status.BOOKED,
                                       starts_at__gte=now - PAST, starts_at__lt=now + AHEAD)
            .select_related("patient", "room").order_by("starts_at"))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Mesoclinic//Calendar//EN",
             "CALSCALE:GREGORIAN", f"X-WR-CALNAME:{_escape(f'Mesoclinic · {feed.clinic.name}')}",
             f"X-WR-TIMEZONE:{tz.key}"]
    count = 0
    for a in rows:
        count += 1
        lines += ["BEGIN:VEVENT", f"UID:{a.public_id}@mesoclinic", f"DTSTAMP:{_stamp(a.updated_at)}",
                  f"DTSTART:{_stamp(a.starts_at)}", f"DTEND:{_stamp(a.ends_at)}",
                  f"SUMMARY:{_escape(f'{KIND_LABELS.get(a.kind, a.kind)} · {_initials(a)}')}",
                  f"SEQUENCE:{a.version}"]
        if a.room is not None:
            lines.append(f"LOCATION:{_escape(a.room.name)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    record(Actor(username="calendar-feed", via="web"), action=AuditEvent.Action.VIEW,
           object_type="calendar_feed", object_id=str(feed.practitioner.public_id),
           clinic_id=str(feed.clinic.public_id),
           organisation_id=str(feed.clinic.organisation.public_id),
           detail=f"feed fetched: {count} appointments")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
