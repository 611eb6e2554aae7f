"""From a plan and the clinic's calendar to the planner's request, and back to bookings.

The planner (`planner.py`) is pure; this module reads what it needs from the database: the plan's
phases and session length, the practitioners' hours, breaks and leave, rooms, devices, and every
booked appointment that could collide, as busy intervals.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, Membership, User
from mesoclinic.accounts.permissions import Role
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import PlanVersion, TreatmentPlan
from mesoclinic.scheduling import planner
from mesoclinic.scheduling.models import (
    Appointment,
    Device,
    Kind,
    Leave,
    Room,
    WeeklyBreak,
    WorkingHours,
)

# The anaesthetic cream works in 30–40 minutes (F-ANAESTHESIA): 35 leaves time to apply it and
# still starts the treatment once it has taken effect.
PREP_MINUTES = 35
ALLERGY_TEST_LEAD = timedelta(hours=24)  # F-ALLERGY-TEST: at least 24 h before the first session
NSAID_WASHOUT = timedelta(days=8)  # a week without NSAIDs (F-NSAID), counted from the reminder
PRACTITIONER_ROLES = (Role.PHYSICIAN, Role.NURSE)
HORIZON_DAYS = 120
# How far from its interval a session may drift; the protocols give intervals, not tolerances.
# A seventh of the interval (at least a day): ±1 day weekly, ±2 fortnightly, ±4 monthly.


def tolerance_for(interval_days: int) -> int:
    return min(max(1, interval_days // 7), interval_days - 1)


def phases_of(version: PlanVersion) -> tuple[planner.Phase, ...]:
    return tuple(planner.Phase(sessions=int(p["sessions"]), interval_days=int(p["interval_days"]),
                               tolerance_days=tolerance_for(int(p["interval_days"])))
                 for p in version.phases)


def requires_device(version: PlanVersion) -> str | None:
    return "ultrasound" if version.delivery == "needle_free" else None


def prep_minutes(version: PlanVersion) -> int:
    return PREP_MINUTES if version.anaesthetic_cream.strip() else 0


def practitioners(clinic: Clinic) -> list[User]:
    return list(User.objects.filter(memberships__clinic=clinic, memberships__role__in=PRACTITIONER_ROLES,
                                    is_active=True).distinct().order_by("last_name", "first_name", "id"))


def is_practitioner(clinic: Clinic, user: User) -> bool:
    """One query: an active physician or nurse of the clinic."""
    return user.is_active and Membership.objects.filter(
        clinic=clinic, user=user, role__in=PRACTITIONER_ROLES).exists()


def practitioner(clinic: Clinic, public_id: UUID | str) -> User | None:
    """The clinic's active practitioner with this id, in one query (None if not one)."""
    found = list(User.objects.filter(public_id=public_id, is_active=True).filter(
        Exists(Membership.objects.filter(user=OuterRef("pk"), clinic=clinic,
                                         role__in=PRACTITIONER_ROLES)))[:1])
    return found[0] if found else None


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def weekly_free(hours: Iterable[tuple[int, time, time]],
                breaks: Iterable[tuple[int, time, time]]) -> tuple[planner.Weekly, ...]:
    """Working hours with the breaks cut out, as the planner's weekly blocks."""
    cuts: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for weekday, start, end in breaks:
        cuts[weekday].append((_minutes(start), _minutes(end)))
    blocks: list[planner.Weekly] = []
    for weekday, start, end in hours:
        pieces = [(_minutes(start), _minutes(end))]
        for cut_start, cut_end in sorted(cuts[weekday]):
            pieces = [part for a, b in pieces for part in ((a, min(b, cut_start)), (max(a, cut_end), b))
                      if part[1] > part[0]]
        blocks.extend(planner.Weekly(weekday, a, b) for a, b in pieces)
    return tuple(sorted(blocks, key=lambda w: (w.weekday, w.start_minute)))


@dataclass
class Calendar:
    """The clinic's resources and their busy time in one window, keyed the planner's way."""

    practitioners: dict[str, User]
    rooms: dict[str, Room]
    devices: dict[str, Device]


def load_calendar(clinic: Clinic, *, since: datetime, until: datetime,
                  ignore: Sequence[int] = ()) -> tuple[Calendar, tuple[planner.Practitioner, ...],
                                                        tuple[planner.Room, ...], tuple[planner.Device, ...]]:
    """Every resource of the clinic with its busy intervals between `since` and `until`.

    `ignore` lists appointments not to count (the ones being moved)."""
    staff = practitioners(clinic)
    rooms = list(Room.objects.filter(clinic=clinic, active=True).order_by("name", "id"))
    devices = list(Device.objects.filter(clinic=clinic, active=True).order_by("kind", "name", "id"))
    hours: dict[int, list[tuple[int, time, time]]] = defaultdict(list)
    columns = ("practitioner_id", "weekday", "start", "end")
    for h in WorkingHours.objects.filter(clinic=clinic).values_list(*columns):
        hours[h[0]].append(h[1:])
    breaks: dict[int, list[tuple[int, time, time]]] = defaultdict(list)
    for b in WeeklyBreak.objects.filter(clinic=clinic).values_list(*columns):
        breaks[b[0]].append(b[1:])
    busy: dict[tuple[str, int], list[tuple[datetime, datetime]]] = defaultdict(list)
    for who, start, end in Leave.objects.filter(
            practitioner__in=staff, starts_at__lt=until, ends_at__gt=since).values_list(
                "practitioner_id", "starts_at", "ends_at"):
        busy["p", who].append((start, end))
    booked = (Appointment.objects.filter(status=Appointment.Status.BOOKED, starts_at__lt=until,
                                         ends_at__gt=since)
              .filter(Q(clinic=clinic) | Q(practitioner__in=staff))
              .exclude(id__in=list(ignore))
              .values_list("practitioner_id", "room_id", "device_id", "starts_at", "ends_at"))
    for who, room, device, start, end in booked:
        busy["p", who].append((start, end))
        if room is not None:
            busy["r", room].append((start, end))
        if device is not None:
            busy["d", device].append((start, end))
    calendar = Calendar(practitioners={str(u.public_id): u for u in staff},
                        rooms={str(r.public_id): r for r in rooms},
                        devices={str(d.public_id): d for d in devices})
    p_parts = tuple(planner.Practitioner(id=key, working_hours=weekly_free(hours[u.pk], breaks[u.pk]),
                                         busy=tuple(busy["p", u.pk]))
                    for key, u in calendar.practitioners.items())
    r_parts = tuple(planner.Room(id=key, busy=tuple(busy["r", r.pk])) for key, r in calendar.rooms.items())
    d_parts = tuple(planner.Device(id=key, kind=d.kind, busy=tuple(busy["d", d.pk]))
                    for key, d in calendar.devices.items())
    return calendar, p_parts, r_parts, d_parts


def practitioner_key(user: User) -> str:
    return str(user.public_id)


def patient_busy(patient: Patient, *, since: datetime, until: datetime,
                 ignore: Sequence[int] = ()) -> tuple[tuple[datetime, datetime], ...]:
    rows = (Appointment.objects.filter(patient=patient, status=Appointment.Status.BOOKED,
                                       starts_at__lt=until + timedelta(hours=2), ends_at__gt=since)
            .exclude(id__in=list(ignore)).values_list("prep_starts_at", "starts_at", "ends_at"))
    return tuple((prep or start, end) for prep, start, end in rows)


@dataclass(frozen=True)
class Prerequisites:
    """The earliest first session the plan's preconditions allow, and what staff should know."""

    not_before: datetime
    notes: tuple[str, ...]


def prerequisites(plan: TreatmentPlan, *, now: datetime | None = None) -> Prerequisites:
    """The allergy test ≥ 24 h before (F-ALLERGY-TEST), a week without NSAIDs (F-NSAID), the
    workup signed off (F-WORKUP): each moves the earliest start or leaves a note."""
    now = now or timezone.now()
    earliest = now + timedelta(hours=1)
    notes: list[str] = []
    test = (Appointment.objects.filter(patient=plan.patient, kind=Kind.ALLERGY_TEST,
                                       status=Appointment.Status.BOOKED)
            .order_by("-ends_at").first())
    if test is not None:
        earliest = max(earliest, test.ends_at + ALLERGY_TEST_LEAD)
    else:
        earliest = max(earliest, now + ALLERGY_TEST_LEAD)
        notes.append(_("No allergy test is booked: book one at least 24 hours before the first "
                       "session (F-ALLERGY-TEST)."))
    screening = plan.versions.filter(number=plan.version).values_list("screening__output", flat=True).first()
    codes = {f.get("code") for f in (screening or {}).get("findings", []) if isinstance(f, dict)}
    if "NSAID_WASHOUT" in codes:
        earliest = max(earliest, now + NSAID_WASHOUT)
        notes.append(_("The patient takes an NSAID: the first session is at least 8 days away so "
                       "that a week without it fits (F-NSAID)."))
    workup = getattr(plan.patient, "workup", None)
    if workup is None or workup.signed_off_at is None:
        notes.append(_("The workup is not signed off yet: it must be before the first session "
                       "(F-WORKUP)."))
    return Prerequisites(not_before=earliest, notes=tuple(notes))


def clinic_hours(clinic: Clinic) -> tuple[planner.Weekly, ...]:
    """When the clinic is open at all: every practitioner's hours merged, per weekday. The
    patient's availability when staff give none."""
    days: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = WorkingHours.objects.filter(clinic=clinic).values_list("weekday", "start", "end")
    for weekday, start, end in rows:
        days[weekday].append((_minutes(start), _minutes(end)))
    merged: list[planner.Weekly] = []
    for weekday in sorted(days):
        spans: list[list[int]] = []
        for a, b in sorted(days[weekday]):
            if spans and a <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], b)
            else:
                spans.append([a, b])
        merged.extend(planner.Weekly(weekday, a, b) for a, b in spans)
    return tuple(merged)


def availability_from_form(rows: Iterable[tuple[int, time, time]]) -> tuple[planner.Weekly, ...]:
    return tuple(planner.Weekly(w, _minutes(a), _minutes(b) if b != time(0) else 1440) for w, a, b in rows)


def build_request(plan: TreatmentPlan, *, not_before: datetime,
                  availability: tuple[planner.Weekly, ...], preferred: User | None = None,
                  phases: tuple[planner.Phase, ...] | None = None,
                  follows: planner.Follows | None = None, ignore: Sequence[int] = ()
                  ) -> tuple[planner.SeriesRequest, Calendar]:
    version = plan.current
    clinic = plan.clinic
    tz = zoneinfo.ZoneInfo(clinic.timezone)
    phases = phases if phases is not None else phases_of(version)
    span = sum(p.sessions * (p.interval_days + p.tolerance_days) for p in phases)
    until = not_before + timedelta(days=HORIZON_DAYS + span + 2)
    since = min(not_before, follows.start) if follows else not_before
    calendar, staff, rooms, devices = load_calendar(clinic, since=since - timedelta(days=1), until=until,
                                                    ignore=ignore)
    request = planner.SeriesRequest(
        timezone=tz, not_before=not_before, phases=phases, session_minutes=version.session_minutes,
        patient_availability=availability, practitioners=staff, rooms=rooms,
        prep_minutes=prep_minutes(version), requires_device=requires_device(version),
        patient_busy=patient_busy(plan.patient, since=since - timedelta(days=1), until=until, ignore=ignore),
        devices=devices,
        preferred_practitioner=practitioner_key(preferred) if preferred is not None else None,
        horizon_days=HORIZON_DAYS, follows=follows)
    return request, calendar


def local_day_bounds(clinic: Clinic, day: date) -> tuple[datetime, datetime]:
    tz = zoneinfo.ZoneInfo(clinic.timezone)
    start = datetime.combine(day, time(0), tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tz)
