"""Book, move and cancel appointments; keep hours, leave, rooms and devices. Each is one audited
transaction.

Python checks what staff must be told in their own words (working hours, the protocol window, a
resource of another clinic); the database refuses any double booking however many people book at
once (models.py), and the refusal comes back here as a `BookingRefused` naming the resource.
"""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.lib.constraints import save_checked
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import Status as PlanStatus
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.scheduling import planner, reminders, series
from mesoclinic.scheduling.models import (
    OVERLAP_RULES,
    Appointment,
    Device,
    Kind,
    Leave,
    Room,
    WeeklyBreak,
    WorkingHours,
)

BOOKABLE_PLAN = (PlanStatus.ACCEPTED, PlanStatus.ACTIVE)
MAX_MINUTES = 8 * 60


class BookingRefused(Exception):
    """The booking cannot be made; `field` names what is wrong (nothing was saved)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Slot:
    """What to book: the treatment's start and end, and the resources."""

    starts_at: datetime
    ends_at: datetime
    practitioner: User
    room: Room | None = None
    device: Device | None = None
    prep_starts_at: datetime | None = None


def _audit(actor: Actor, appointment: Appointment, action: AuditEvent.Action, *,
           changes: dict[str, object] | None = None, detail: str = "") -> None:
    record(actor, action=action, object_type="appointment", object_id=str(appointment.public_id),
           clinic_id=str(appointment.clinic.public_id),
           organisation_id=str(appointment.clinic.organisation.public_id),
           patient_id=str(appointment.patient.public_id), changes=changes, detail=detail)


def _tz(clinic: Clinic) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(clinic.timezone)


def _check_slot(clinic: Clinic, slot: Slot) -> None:
    """Everything about one slot that needs no look at other bookings."""
    for name, value in (("starts_at", slot.starts_at), ("ends_at", slot.ends_at),
                        ("prep_starts_at", slot.prep_starts_at)):
        if value is not None and timezone.is_naive(value):
            raise BookingRefused(name, _("A time needs its UTC offset or the clinic's zone."))
        if value is not None and (value.second or value.microsecond):
            raise BookingRefused(name, _("Appointments are booked to the minute."))
    if slot.ends_at <= slot.starts_at:
        raise BookingRefused("ends_at", _("The end must be after the start."))
    if slot.ends_at - slot.starts_at > timedelta(minutes=MAX_MINUTES):
        raise BookingRefused("ends_at", _("An appointment lasts at most 8 hours."))
    if slot.prep_starts_at is not None and slot.prep_starts_at >= slot.starts_at:
        raise BookingRefused("prep_starts_at", _("The preparation must come before the treatment."))
    if not series.is_practitioner(clinic, slot.practitioner):
        raise BookingRefused("practitioner", _("%(name)s is not a practitioner of this clinic.")
                             % {"name": slot.practitioner})
    if slot.room is not None and (slot.room.clinic_id != clinic.pk or not slot.room.active):
        raise BookingRefused("room", _("The room is not one of this clinic's rooms in use."))
    if slot.device is not None and (slot.device.clinic_id != clinic.pk or not slot.device.active):
        raise BookingRefused("device", _("The device is not one of this clinic's devices in use."))
    _check_hours(clinic, slot)


def _check_hours(clinic: Clinic, slot: Slot) -> None:
    tz = _tz(clinic)
    start, end = slot.starts_at.astimezone(tz), slot.ends_at.astimezone(tz)
    same_day = {"clinic": clinic, "practitioner": slot.practitioner, "weekday": start.weekday()}
    # The day's hours and breaks in one query (a break is marked 1).
    rows = WorkingHours.objects.filter(**same_day).order_by().annotate(cut=Value(0)).values_list(
        "weekday", "start", "end", "cut").union(
        WeeklyBreak.objects.filter(**same_day).order_by().annotate(cut=Value(1)).values_list(
            "weekday", "start", "end", "cut"), all=True)
    hours: list[tuple[int, time, time]] = []
    breaks: list[tuple[int, time, time]] = []
    for weekday, a, b, cut in rows:
        (breaks if cut else hours).append((weekday, a, b))
    first = start.hour * 60 + start.minute
    last = (end.date() - start.date()).days * 1440 + end.hour * 60 + end.minute
    if not any(b.start_minute <= first and last <= b.end_minute for b in series.weekly_free(hours, breaks)):
        raise BookingRefused("starts_at", _("%(name)s does not work then (%(day)s %(from)s–%(to)s, "
                                            "clinic time): pick a time inside their working hours.")
                             % {"name": slot.practitioner, "day": start.strftime("%a %Y-%m-%d"),
                                "from": start.strftime("%H:%M"), "to": end.strftime("%H:%M")})
    if Leave.objects.filter(practitioner=slot.practitioner, starts_at__lt=slot.ends_at,
                            ends_at__gt=slot.starts_at).exists():
        raise BookingRefused("practitioner", _("%(name)s is on leave then.") % {"name": slot.practitioner})


def _check_plan(plan: TreatmentPlan | None, patient: Patient, kind: str, slot: Slot) -> None:
    if plan is None:
        if kind == Kind.TREATMENT:
            raise BookingRefused("plan", _("A treatment session is booked from a treatment plan."))
        return
    if plan.patient_id != patient.pk:
        raise BookingRefused("plan", _("The plan is not this patient's."))
    if kind == Kind.TREATMENT and plan.status not in BOOKABLE_PLAN:
        raise BookingRefused("plan", _("Sessions are booked once the patient has accepted the plan."))
    needed = series.requires_device(plan.current) if kind == Kind.TREATMENT else None
    if needed is not None and (slot.device is None or slot.device.kind != needed):
        raise BookingRefused("device", _("This plan's needle-free delivery needs an ultrasound device."))


def _save(appointment: Appointment) -> None:
    """Insert or update; a refused overlap becomes a BookingRefused naming the resource."""
    appointment.full_clean(exclude=["clinic", "patient", "practitioner", "room", "device", "plan",
                                    "created_by"], validate_unique=False, validate_constraints=False)
    try:
        # No savepoint: a refusal leaves the caller's (the action's) transaction, which rolls
        # back whole, so there is nothing to go back to inside it.
        with transaction.atomic(savepoint=False):
            appointment.save()
    except OperationalError as exc:
        # Two bookings of one slot checked the exclusion constraint against each other at once:
        # PostgreSQL aborts one of them (a deadlock); that one lost the slot.
        if "deadlock detected" not in str(exc):
            raise
        raise BookingRefused("starts_at", str(_("Someone booked this time at the same moment: "
                                                "reload and choose again."))) from exc
    except IntegrityError as exc:
        text = str(exc)
        for name, (field, message) in OVERLAP_RULES.items():
            if name in text:
                raise BookingRefused(field, str(message)) from exc
        raise


def _window_problems(plan: TreatmentPlan, index: int, starts_at: datetime,
                     ignore: Sequence[int] = ()) -> tuple[list[str], list[str]]:
    """The session against its booked neighbours in the series: its own window after the one
    before, and the window of the one after (which a move may break)."""
    phases = series.phases_of(plan.current)
    booked = {a.series_index: a for a in plan.appointments.filter(status=Appointment.Status.BOOKED,
                                                                   kind=Kind.TREATMENT)
              .exclude(id__in=list(ignore)) if a.series_index is not None}
    before = max((i for i in booked if i < index), default=None)
    after = min((i for i in booked if i > index), default=None)
    tz = _tz(plan.clinic)
    own = planner.check_move(starts_at, booked[before].starts_at, None, _phase_of(phases, index),
                             None, tz) if before is not None else []
    follow = planner.check_move(starts_at, None, booked[after].starts_at, None,
                                _phase_of(phases, after), tz) if after is not None else []
    return own, follow


def _phase_of(phases: Sequence[planner.Phase], index: int) -> planner.Phase:
    seen = 0
    for phase in phases:
        seen += phase.sessions
        if index <= seen:
            return phase
    return phases[-1]


@transaction.atomic
def book(*, clinic: Clinic, patient: Patient, kind: str, slot: Slot, by: User, actor: Actor,
         plan: TreatmentPlan | None = None, series_index: int | None = None,
         note: str = "") -> Appointment:
    """One appointment; a series session (with `series_index`) must keep its protocol window."""
    if patient.clinic_id != clinic.pk:
        raise BookingRefused("patient", _("The patient is not registered at this clinic."))
    if kind not in Kind.values:
        raise BookingRefused("kind", _("Unknown appointment type."))
    _check_slot(clinic, slot)
    _check_plan(plan, patient, kind, slot)
    if plan is not None and series_index is not None:
        if not 1 <= series_index <= plan.current.sessions:
            raise BookingRefused("series_index", _("The plan has %(n)d sessions.")
                                 % {"n": plan.current.sessions})
        own, follow = _window_problems(plan, series_index, slot.starts_at)
        if own or follow:
            raise BookingRefused("starts_at", " ".join(own + follow))
    appointment = Appointment(
        clinic=clinic, patient=patient, kind=kind, practitioner=slot.practitioner, room=slot.room,
        device=slot.device, starts_at=slot.starts_at, ends_at=slot.ends_at,
        prep_starts_at=slot.prep_starts_at, plan=plan, series_index=series_index, note=note,
        created_by=by)
    _save(appointment)
    _audit(actor, appointment, AuditEvent.Action.CREATE,
           changes={"kind": kind, "starts_at": slot.starts_at.isoformat()})
    reminders.schedule_for(appointment)
    return appointment


def _slot_from(session: planner.PlacedSession, calendar: series.Calendar) -> Slot:
    return Slot(starts_at=session.start, ends_at=session.end, prep_starts_at=session.prep_start,
                practitioner=calendar.practitioners[session.practitioner],
                room=calendar.rooms[session.room],
                device=calendar.devices[session.device] if session.device else None)


@transaction.atomic
def book_series(*, plan: TreatmentPlan, sessions: Sequence[planner.PlacedSession],
                calendar: series.Calendar, by: User, actor: Actor) -> list[Appointment]:
    """Every proposed session, or none: one refusal rolls the whole series back."""
    if not sessions:
        raise BookingRefused("sessions", _("There is no session to book."))
    if plan.status not in BOOKABLE_PLAN:
        raise BookingRefused("plan", _("Sessions are booked once the patient has accepted the plan."))
    taken = {i for i in plan.appointments.filter(status=Appointment.Status.BOOKED, kind=Kind.TREATMENT)
             .values_list("series_index", flat=True) if i is not None}
    clash = sorted(taken & {s.index for s in sessions})
    if clash:
        raise BookingRefused("sessions", _("Session %(n)s of this plan is booked already.") % {"n": clash[0]})
    booked = []
    for session in sorted(sessions, key=lambda s: s.index):
        try:
            booked.append(book(clinic=plan.clinic, patient=plan.patient, kind=Kind.TREATMENT,
                               slot=_slot_from(session, calendar), by=by, actor=actor, plan=plan,
                               series_index=session.index))
        except BookingRefused as exc:
            raise BookingRefused(exc.field, _("Session %(n)d: %(why)s") % {"n": session.index,
                                                                          "why": exc.message}) from exc
    return booked


@dataclass(frozen=True)
class Moved:
    appointment: Appointment
    # Later sessions of the series that no longer keep their interval after the move, and a
    # proposal for the rest measured from the moved session.
    follow_problems: tuple[str, ...]
    rest: planner.SeriesProposal | None
    calendar: series.Calendar | None


def _refuse_stale(appointment: Appointment, based_on: int | None) -> None:
    if based_on is not None and based_on != appointment.version:
        raise BookingRefused("version", _("Someone changed this appointment since you opened it: "
                                          "reload and try again."))


@transaction.atomic
def move(appointment: Appointment, *, starts_at: datetime, by: User, actor: Actor,
         practitioner: User | None = None, room: Room | None = None, device: Device | None = None,
         based_on: int | None = None, keep_room: bool = True) -> Moved:
    """Move one appointment (its length and preparation move with it)."""
    appointment = Appointment.objects.select_for_update(of=("self",)).select_related(
        "clinic__organisation", "patient", "practitioner", "room", "device").get(pk=appointment.pk)
    _refuse_stale(appointment, based_on)
    if appointment.status != Appointment.Status.BOOKED:
        raise BookingRefused("status", _("A cancelled appointment cannot be moved; book a new one."))
    length = appointment.ends_at - appointment.starts_at
    prep = appointment.starts_at - appointment.prep_starts_at if appointment.prep_starts_at else None
    slot = Slot(starts_at=starts_at, ends_at=starts_at + length,
                prep_starts_at=starts_at - prep if prep else None,
                practitioner=practitioner or appointment.practitioner,
                room=room if room is not None else (appointment.room if keep_room else None),
                device=device if device is not None else appointment.device)
    _check_slot(appointment.clinic, slot)
    _check_plan(appointment.plan, appointment.patient, appointment.kind, slot)
    follow: list[str] = []
    plan = appointment.plan
    if plan is not None and appointment.series_index is not None:
        own, follow = _window_problems(plan, appointment.series_index, starts_at,
                                       ignore=[appointment.pk])
        if own:
            raise BookingRefused("starts_at", " ".join(own))
    before = appointment.starts_at
    appointment.starts_at, appointment.ends_at = slot.starts_at, slot.ends_at
    appointment.prep_starts_at = slot.prep_starts_at
    appointment.practitioner, appointment.room, appointment.device = slot.practitioner, slot.room, slot.device
    appointment.version += 1
    appointment.updated_at = timezone.now()
    _save(appointment)
    _audit(actor, appointment, AuditEvent.Action.UPDATE,
           changes={"starts_at": [before.isoformat(), starts_at.isoformat()]}, detail="moved")
    reminders.move_for(appointment)
    rest, calendar = (None, None)
    if plan is not None and appointment.series_index is not None:
        rest, calendar = propose_rest(plan, after=appointment)
    return Moved(appointment, tuple(follow), rest, calendar)


def later_sessions(plan: TreatmentPlan, after: Appointment) -> list[Appointment]:
    return list(plan.appointments.filter(status=Appointment.Status.BOOKED, kind=Kind.TREATMENT,
                                         series_index__gt=after.series_index)
                .select_related("practitioner", "room", "device").order_by("series_index"))


def propose_rest(plan: TreatmentPlan, *, after: Appointment
                 ) -> tuple[planner.SeriesProposal | None, series.Calendar | None]:
    """Where the series' later booked sessions would go if measured again from `after`."""
    rest = later_sessions(plan, after)
    if not rest or after.series_index is None:
        return None, None
    phases = series.phases_of(plan.current)
    remaining = _phases_after(phases, after.series_index, len(rest))
    availability = series.clinic_hours(plan.clinic)
    follows = planner.Follows(start=after.starts_at, practitioner=series.practitioner_key(after.practitioner),
                              room=str(after.room.public_id) if after.room else None)
    request, calendar = series.build_request(
        plan, not_before=after.ends_at, availability=availability, preferred=after.practitioner,
        phases=remaining, follows=follows, ignore=[a.pk for a in rest])
    return planner.plan_series(request), calendar


def _phases_after(phases: Sequence[planner.Phase], index: int, count: int) -> tuple[planner.Phase, ...]:
    """The phases of sessions index+1 … index+count."""
    out: list[planner.Phase] = []
    for i in range(index + 1, index + count + 1):
        phase = _phase_of(phases, i)
        last = out[-1] if out else None
        if last and (last.interval_days, last.tolerance_days) == (phase.interval_days, phase.tolerance_days):
            out[-1] = planner.Phase(out[-1].sessions + 1, phase.interval_days, phase.tolerance_days)
        else:
            out.append(planner.Phase(1, phase.interval_days, phase.tolerance_days))
    return tuple(out)


@transaction.atomic
def shift_rest(plan: TreatmentPlan, *, after: Appointment, proposal: planner.SeriesProposal,
               calendar: series.Calendar, by: User, actor: Actor) -> list[Appointment]:
    """Move the later sessions to the proposal's times, all or none."""
    rest = later_sessions(plan, after)
    if proposal.unplaced:
        raise BookingRefused("sessions", _("Not every later session fits: move them one by one."))
    if len(proposal.sessions) != len(rest):
        raise BookingRefused("sessions", _("The series changed since the proposal: reload."))
    reason = _("Moved with the series")
    # Free the old times first, so that a session may take a time a later one held.
    for old in rest:
        Appointment.objects.filter(pk=old.pk).update(status=Appointment.Status.CANCELLED,
                                                     cancel_reason=reason)
    moved = []
    for old, session in zip(rest, proposal.sessions, strict=True):
        slot = _slot_from(session, calendar)
        _check_slot(plan.clinic, slot)
        before = old.starts_at
        old.status, old.cancel_reason = Appointment.Status.BOOKED, ""
        old.starts_at, old.ends_at, old.prep_starts_at = slot.starts_at, slot.ends_at, slot.prep_starts_at
        old.practitioner, old.room, old.device = slot.practitioner, slot.room, slot.device
        old.version += 1
        old.updated_at = timezone.now()
        _save(old)
        _audit(actor, old, AuditEvent.Action.UPDATE,
               changes={"starts_at": [before.isoformat(), slot.starts_at.isoformat()]},
               detail="moved with the series")
        reminders.move_for(old)
        moved.append(old)
    return moved


@transaction.atomic
def cancel(appointment: Appointment, *, reason: str, by: User, actor: Actor,
           based_on: int | None = None) -> Appointment:
    """Cancel: the resources are free again and the reminders will not go out."""
    appointment = Appointment.objects.select_for_update(of=("self",)).select_related(
        "clinic__organisation", "patient").get(pk=appointment.pk)
    _refuse_stale(appointment, based_on)
    if appointment.status == Appointment.Status.CANCELLED:
        raise BookingRefused("status", _("The appointment is cancelled already."))
    if not reason.strip():
        raise BookingRefused("reason", _("Say why the appointment is cancelled."))
    appointment.status, appointment.cancel_reason = Appointment.Status.CANCELLED, reason.strip()
    appointment.version += 1
    appointment.updated_at = timezone.now()
    _save(appointment)
    _audit(actor, appointment, AuditEvent.Action.UPDATE, changes={"status": "cancelled"},
           detail="cancelled")
    reminders.cancel_for(appointment)
    return appointment


# Resources: the manager keeps them (Perm.MANAGE_RESOURCES).

def _audit_resource(actor: Actor, clinic: Clinic, what: str, object_id: str,
                    action: AuditEvent.Action = AuditEvent.Action.CREATE) -> None:
    record(actor, action=action, object_type="schedule_resource", object_id=object_id,
           clinic_id=str(clinic.public_id), organisation_id=str(clinic.organisation.public_id),
           detail=what)


def _practitioner_of(clinic: Clinic, user: User) -> None:
    if not series.is_practitioner(clinic, user):
        raise BookingRefused("practitioner", _("%(name)s is not a practitioner of this clinic.")
                             % {"name": user})


@transaction.atomic
def set_hours(*, clinic: Clinic, practitioner: User, weekday: int,
              blocks: Sequence[tuple[time, time]], breaks: Sequence[tuple[time, time]] = (),
              actor: Actor) -> None:
    """Replace one weekday's working hours and breaks of a practitioner."""
    _practitioner_of(clinic, practitioner)
    if not 0 <= weekday <= 6:
        raise BookingRefused("weekday", _("The weekday must be Monday to Sunday."))
    for field, rows in (("hours", blocks), ("breaks", breaks)):
        for start, end in rows:
            if end <= start:
                raise BookingRefused(field, _("%(from)s–%(to)s: the end must be after the start.")
                                     % {"from": start.strftime("%H:%M"), "to": end.strftime("%H:%M")})
        ordered = sorted(rows)
        for (_a, b), (c, _d) in itertools.pairwise(ordered):
            if c < b:
                raise BookingRefused(field, _("Two blocks overlap on the same day."))
    WorkingHours.objects.filter(clinic=clinic, practitioner=practitioner, weekday=weekday).delete()
    WeeklyBreak.objects.filter(clinic=clinic, practitioner=practitioner, weekday=weekday).delete()
    WorkingHours.objects.bulk_create(WorkingHours(clinic=clinic, practitioner=practitioner,
                                                  weekday=weekday, start=a, end=b) for a, b in blocks)
    WeeklyBreak.objects.bulk_create(WeeklyBreak(clinic=clinic, practitioner=practitioner,
                                                weekday=weekday, start=a, end=b) for a, b in breaks)
    _audit_resource(actor, clinic, f"hours {practitioner.public_id} weekday {weekday}",
                    str(practitioner.public_id), AuditEvent.Action.UPDATE)


@transaction.atomic
def add_leave(*, clinic: Clinic, practitioner: User, starts_at: datetime, ends_at: datetime,
              reason: str, actor: Actor) -> Leave:
    _practitioner_of(clinic, practitioner)
    if ends_at <= starts_at:
        raise BookingRefused("ends_at", _("The end must be after the start."))
    clash = Appointment.objects.filter(practitioner=practitioner, status=Appointment.Status.BOOKED,
                                       starts_at__lt=ends_at, ends_at__gt=starts_at).count()
    if clash:
        raise BookingRefused("starts_at", _("%(n)d booked appointments fall in that time: move them "
                                            "first.") % {"n": clash})
    leave = Leave(clinic=clinic, practitioner=practitioner, starts_at=starts_at, ends_at=ends_at,
                  reason=reason)
    save_checked(leave)
    _audit_resource(actor, clinic, f"leave {practitioner.public_id}", str(leave.pk))
    return leave


@transaction.atomic
def add_room(*, clinic: Clinic, name: str, actor: Actor) -> Room:
    room = Room(clinic=clinic, name=name.strip())
    save_checked(room)
    _audit_resource(actor, clinic, "room", str(room.public_id))
    return room


@transaction.atomic
def add_device(*, clinic: Clinic, name: str, kind: str, actor: Actor) -> Device:
    device = Device(clinic=clinic, name=name.strip(), kind=kind)
    save_checked(device)
    _audit_resource(actor, clinic, "device", str(device.public_id))
    return device
