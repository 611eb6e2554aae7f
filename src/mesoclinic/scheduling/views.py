"""Calendar pages: the day and week, today's list, booking a series from a plan, one appointment's
page (move, cancel, its reminders), the manager's resources, and the iCalendar feed.

Calendars name patients, so they need Perm.VIEW_SCHEDULE and each page view is one audited read;
they never show clinical notes (reception books too).
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.models import Clinic
from mesoclinic.accounts.permissions import Perm
from mesoclinic.audit.models import AuditEvent
from mesoclinic.kernel.http import ClinicRequest
from mesoclinic.kernel.views import ClinicAccess, clinic_view
from mesoclinic.messaging import outbox
from mesoclinic.patients.access import PatientAccess, patient_view
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.scheduling import actions, feeds, grid, planner, readiness, series
from mesoclinic.scheduling.actions import BookingRefused, Slot
from mesoclinic.scheduling.forms import (
    BookForm,
    CancelForm,
    DeviceForm,
    HoursForm,
    LeaveForm,
    MoveForm,
    RoomForm,
    SeriesForm,
    local_moment,
)
from mesoclinic.scheduling.models import Appointment, Device, Kind, Leave, Room, WeeklyBreak, WorkingHours

PROPOSAL_SALT = "mesoclinic.scheduling.proposal"
PROPOSAL_MAX_AGE = 30 * 60


def _local_date(request: HttpRequest, tz: zoneinfo.ZoneInfo) -> date:
    text = request.GET.get("date", "")
    try:
        return date.fromisoformat(text) if text else timezone.now().astimezone(tz).date()
    except ValueError:
        return timezone.now().astimezone(tz).date()


def _minute(moment: datetime, tz: zoneinfo.ZoneInfo, day: date) -> int:
    local = moment.astimezone(tz)
    return (local.date() - day).days * 1440 + local.hour * 60 + local.minute


def _booked(access: ClinicAccess) -> QuerySet[Appointment]:
    return (Appointment.objects.filter(clinic=access.clinic, status=Appointment.Status.BOOKED)
            .select_related("patient", "practitioner", "room", "device"))


def _open_spans(access: ClinicAccess, weekday: int) -> dict[int, list[tuple[int, int]]]:
    hours = defaultdict(list)
    for who, d, a, b in WorkingHours.objects.filter(clinic=access.clinic, weekday=weekday).values_list(
            "practitioner_id", "weekday", "start", "end"):
        hours[who].append((d, a, b))
    breaks = defaultdict(list)
    for who, d, a, b in WeeklyBreak.objects.filter(clinic=access.clinic, weekday=weekday).values_list(
            "practitioner_id", "weekday", "start", "end"):
        breaks[who].append((d, a, b))
    return {who: [(w.start_minute, w.end_minute) for w in series.weekly_free(rows, breaks[who])]
            for who, rows in hours.items()}


@require_GET
@clinic_view(Perm.VIEW_SCHEDULE, object_type="appointment")
def day(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """One day, a column per practitioner (or per room with ?by=room)."""
    tz = zoneinfo.ZoneInfo(access.clinic.timezone)
    on = _local_date(request, tz)
    by_room = request.GET.get("by") == "room"
    start, end = series.local_day_bounds(access.clinic, on)
    booked = list(_booked(access).filter(starts_at__lt=end, ends_at__gt=start))
    if by_room:
        columns: list[Any] = list(Room.objects.filter(clinic=access.clinic, active=True))
        spans: dict[Any, list[tuple[int, int]]] = {}
        key = "room_id"
    else:
        columns = series.practitioners(access.clinic)
        spans = _open_spans(access, on.weekday())
        key = "practitioner_id"
    entries = [grid.Entry(getattr(a, key), _minute(a.starts_at, tz, on), _minute(a.ends_at, tz, on), a)
               for a in booked if getattr(a, key) is not None]
    first, last = grid.bounds(entries, spans)
    rows = grid.build([c.pk for c in columns], entries, spans, first, last)
    access.audit(AuditEvent.Action.VIEW, object_type="appointment",
                 detail=f"day {on.isoformat()} by {'room' if by_room else 'practitioner'}: "
                        f"{len(booked)} appointments")
    return render(request, "scheduling/day.html", {
        "on": on, "columns": columns, "rows": rows, "by_room": by_room,
        "previous": on - timedelta(days=1), "next": on + timedelta(days=1), "count": len(booked),
        "kinds": Kind.choices})


@require_GET
@clinic_view(Perm.VIEW_SCHEDULE, object_type="appointment")
def week(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """Seven days of one practitioner (?practitioner=) or one room (?room=)."""
    tz = zoneinfo.ZoneInfo(access.clinic.timezone)
    on = _local_date(request, tz)
    monday = on - timedelta(days=on.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    staff = series.practitioners(access.clinic)
    rooms = list(Room.objects.filter(clinic=access.clinic, active=True))
    room = _pick(rooms, request.GET.get("room"))
    who = None if room else (_pick(staff, request.GET.get("practitioner")) or
                             next((u for u in staff if u.pk == access.user.pk), None) or
                             (staff[0] if staff else None))
    start, _x = series.local_day_bounds(access.clinic, days[0])
    _y, end = series.local_day_bounds(access.clinic, days[-1])
    booked: list[Appointment] = []
    if room is not None:
        booked = list(_booked(access).filter(room=room, starts_at__lt=end, ends_at__gt=start))
    elif who is not None:
        # A practitioner's week shows their bookings at every clinic (they cannot be in two).
        booked = list(Appointment.objects.filter(practitioner=who, status=Appointment.Status.BOOKED,
                                                 starts_at__lt=end, ends_at__gt=start)
                      .select_related("patient", "practitioner", "room", "device", "clinic"))
    entries = []
    for a in booked:
        local_day = a.starts_at.astimezone(tz).date()
        entries.append(grid.Entry(local_day, _minute(a.starts_at, tz, local_day),
                                  _minute(a.ends_at, tz, local_day), a))
    spans: dict[Any, list[tuple[int, int]]] = {}
    if who is not None:
        for d in days:
            spans[d] = _open_spans(access, d.weekday()).get(who.pk, [])
    first, last = grid.bounds(entries, spans)
    rows = grid.build(days, entries, spans, first, last)
    shown = room or who
    subject = str(shown or "")
    access.audit(AuditEvent.Action.VIEW, object_type="appointment",
                 detail=f"week of {monday.isoformat()} for {'room' if room else 'practitioner'} "
                        f"{shown.public_id if shown is not None else '-'}: {len(booked)} appointments")
    return render(request, "scheduling/week.html", {
        "days": days, "rows": rows, "staff": staff, "rooms": rooms, "room": room, "who": who,
        "subject": subject, "previous": monday - timedelta(days=7), "next": monday + timedelta(days=7),
        "monday": monday, "today": timezone.now().astimezone(tz).date(), "kinds": Kind.choices,
        "other_clinic": [a for a in booked if a.clinic_id != access.clinic.pk]})


def _pick(items: list[Any], public_id: str | None) -> Any:
    return next((i for i in items if str(i.public_id) == public_id), None) if public_id else None


@require_GET
@clinic_view(Perm.VIEW_SCHEDULE, object_type="appointment")
def today(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """Today's appointments in time order; for clinical staff, whether each patient is ready."""
    tz = zoneinfo.ZoneInfo(access.clinic.timezone)
    on = timezone.now().astimezone(tz).date()
    start, end = series.local_day_bounds(access.clinic, on)
    booked = list(_booked(access).filter(starts_at__gte=start, starts_at__lt=end)
                  .select_related("plan"))
    clinical = access.can(Perm.VIEW_CLINICAL)
    rows = [{"a": a, "checks": readiness.checks(a) if clinical and a.kind == Kind.TREATMENT else None}
            for a in booked]
    access.audit(AuditEvent.Action.VIEW, object_type="appointment",
                 detail=f"today's list {on.isoformat()}: {len(booked)} appointments")
    return render(request, "scheduling/today.html", {"rows": rows, "on": on, "clinical": clinical})


def _appointment(access: ClinicAccess, appointment_id: UUID) -> Appointment:
    found = list(Appointment.objects.select_related(
        "clinic__organisation", "patient", "practitioner", "room", "device", "plan")
        .filter(public_id=appointment_id, clinic=access.clinic)[:1])
    if not found:
        raise Http404("No such appointment")
    return found[0]


def _appointment_page(request: ClinicRequest, access: ClinicAccess, appointment: Appointment, *,
                      move_form: MoveForm | None = None, cancel_form: CancelForm | None = None,
                      moved: actions.Moved | None = None, status: int = 200) -> HttpResponse:
    tz = zoneinfo.ZoneInfo(access.clinic.timezone)
    local = appointment.starts_at.astimezone(tz)
    move_form = move_form or MoveForm(clinic=access.clinic, initial={
        "day": local.date(), "at": local.time().replace(second=0, microsecond=0),
        "practitioner": appointment.practitioner.public_id,
        "room": appointment.room.public_id if appointment.room else None, "version": appointment.version})
    cancel_form = cancel_form or CancelForm(initial={"version": appointment.version})
    shift = None
    if moved is not None and moved.rest is not None:
        shift = _shift_offer(appointment, moved)
    series_rows = []
    if appointment.plan is not None:
        series_rows = list(appointment.plan.appointments.filter(
            status=Appointment.Status.BOOKED, kind=Kind.TREATMENT).order_by("series_index"))
    context = {"a": appointment, "move_form": move_form, "cancel_form": cancel_form,
               "reminders": outbox.for_ref(appointment.ref), "moved": moved, "shift": shift,
               "series_rows": series_rows, "can_book": access.can(Perm.BOOK)}
    template = "scheduling/_appointment_panel.html" if request.htmx else "scheduling/appointment.html"
    return render(request, template, context, status=status)


@require_GET
@clinic_view(Perm.VIEW_SCHEDULE, object_type="appointment")
def appointment_detail(request: ClinicRequest, access: ClinicAccess, appointment_id: UUID) -> HttpResponse:
    appointment = _appointment(access, appointment_id)
    access.audit(AuditEvent.Action.VIEW, object_type="appointment", object_id=str(appointment.public_id),
                 patient_id=str(appointment.patient.public_id))
    return _appointment_page(request, access, appointment)


def _refused_page(request: ClinicRequest, access: ClinicAccess, appointment: Appointment,
                  **kwargs: Any) -> HttpResponse:
    # What staff see on a refused change names the patient: a read on the record.
    access.audit(AuditEvent.Action.VIEW, object_type="appointment", object_id=str(appointment.public_id),
                 patient_id=str(appointment.patient.public_id), detail="refused change shown")
    return _appointment_page(request, access, appointment, status=422, **kwargs)


@require_POST
@clinic_view(Perm.BOOK, object_type="appointment", action=AuditEvent.Action.UPDATE)
def move(request: ClinicRequest, access: ClinicAccess, appointment_id: UUID) -> HttpResponse:
    appointment = _appointment(access, appointment_id)
    form = MoveForm(request.POST, clinic=access.clinic)
    moment = form.moment("day", "at") if form.is_valid() else None
    if moment is None:
        return _refused_page(request, access, appointment, move_form=form)
    try:
        moved = actions.move(appointment, starts_at=moment, by=access.user, actor=access.actor,
                             practitioner=form.cleaned_data["practitioner"],
                             room=form.cleaned_data.get("room"), based_on=form.cleaned_data["version"])
    except BookingRefused as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _refused_page(request, access, appointment, move_form=form)
    messages.success(request, _("Appointment moved."))
    appointment = _appointment(access, appointment_id)
    return _appointment_page(request, access, appointment, moved=moved)


def _shift_offer(appointment: Appointment, moved: actions.Moved) -> dict[str, Any] | None:
    rest, calendar = moved.rest, moved.calendar
    if rest is None or calendar is None or appointment.plan is None:
        return None
    later = actions.later_sessions(appointment.plan, appointment)
    pairs = list(zip(later, rest.sessions, strict=False))
    changed = [p for p in pairs if p[0].starts_at != p[1].start]
    token = signing.dumps({"after": str(appointment.public_id), "version": appointment.version,
                           "sessions": [_session_json(s) for s in rest.sessions]},
                          salt=PROPOSAL_SALT, compress=True)
    return {"pairs": pairs, "changed": bool(changed) and not rest.unplaced,
            "unplaced": rest.unplaced, "token": token, "needed": bool(moved.follow_problems),
            "problems": moved.follow_problems}


def _session_json(s: planner.PlacedSession) -> dict[str, Any]:
    data = asdict(s)
    for key in ("start", "end", "prep_start"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


def _session_from(data: dict[str, Any]) -> planner.PlacedSession:
    def when(key: str) -> datetime | None:
        return datetime.fromisoformat(data[key]) if data.get(key) else None

    start, end = when("start"), when("end")
    if start is None or end is None:
        raise BookingRefused("sessions", _("The proposal is incomplete: propose again."))
    return planner.PlacedSession(index=int(data["index"]), start=start, end=end,
                                 prep_start=when("prep_start"), practitioner=data["practitioner"],
                                 room=data["room"], device=data.get("device"))


def _calendar_for(clinic: Clinic, sessions: list[planner.PlacedSession]) -> series.Calendar:
    """The resources a signed proposal names, looked up within this clinic only."""
    staff = {str(u.public_id): u for u in series.practitioners(clinic)}
    rooms = {str(r.public_id): r for r in Room.objects.filter(clinic=clinic, active=True)}
    devices = {str(d.public_id): d for d in Device.objects.filter(clinic=clinic, active=True)}
    for s in sessions:
        if s.practitioner not in staff or s.room not in rooms or (s.device and s.device not in devices):
            raise BookingRefused("sessions", _("A practitioner, room or device of the proposal is no "
                                               "longer available: propose again."))
    return series.Calendar(practitioners=staff, rooms=rooms, devices=devices)


@require_POST
@clinic_view(Perm.BOOK, object_type="appointment", action=AuditEvent.Action.UPDATE)
def shift(request: ClinicRequest, access: ClinicAccess, appointment_id: UUID) -> HttpResponse:
    """Move the rest of the series as proposed after a move."""
    appointment = _appointment(access, appointment_id)
    try:
        data = signing.loads(request.POST.get("proposal", ""), salt=PROPOSAL_SALT, max_age=PROPOSAL_MAX_AGE)
    except signing.BadSignature:
        messages.error(request, _("That proposal has expired: move the session again to get a new one."))
        return redirect("scheduling:appointment", appointment_id=appointment.public_id)
    if data.get("after") != str(appointment.public_id) or data.get("version") != appointment.version \
            or appointment.plan is None:
        messages.error(request, _("The session changed since the proposal: move it again."))
        return redirect("scheduling:appointment", appointment_id=appointment.public_id)
    try:
        sessions = [_session_from(s) for s in data["sessions"]]
        calendar = _calendar_for(access.clinic, sessions)
        moved = actions.shift_rest(appointment.plan, after=appointment,
                                   proposal=planner.SeriesProposal(tuple(sessions), ()),
                                   calendar=calendar, by=access.user, actor=access.actor)
    except BookingRefused as exc:
        messages.error(request, exc.message)
        return redirect("scheduling:appointment", appointment_id=appointment.public_id)
    messages.success(request, _("%(n)d later sessions moved.") % {"n": len(moved)})
    return redirect("scheduling:appointment", appointment_id=appointment.public_id)


@require_POST
@clinic_view(Perm.BOOK, object_type="appointment", action=AuditEvent.Action.UPDATE)
def cancel(request: ClinicRequest, access: ClinicAccess, appointment_id: UUID) -> HttpResponse:
    appointment = _appointment(access, appointment_id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _refused_page(request, access, appointment, cancel_form=form)
    try:
        actions.cancel(appointment, reason=form.cleaned_data["reason"], by=access.user,
                       actor=access.actor, based_on=form.cleaned_data["version"])
    except BookingRefused as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _refused_page(request, access, appointment, cancel_form=form)
    messages.success(request, _("Appointment cancelled; its reminders will not be sent."))
    return redirect("scheduling:appointment", appointment_id=appointment.public_id)


def _patient_in_clinic(access: ClinicAccess, public_id: str | None) -> Patient:
    found = list(Patient.objects.filter(public_id=public_id, clinic=access.clinic)[:1]) if public_id else []
    if not found:
        raise Http404("No such patient")
    return found[0]


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.BOOK, object_type="appointment", action=AuditEvent.Action.CREATE)
def book(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """One appointment that is not a series session: consultation, allergy test, check-up…"""
    try:
        patient = _patient_in_clinic(access, request.GET.get("patient") or request.POST.get("patient"))
    except (Http404, ValueError, signing.BadSignature):
        raise Http404("No such patient") from None
    form = BookForm(request.POST if request.method == "POST" else None, clinic=access.clinic,
                    initial={"day": request.GET.get("date") or None, "kind": request.GET.get("kind")})
    if request.method == "POST" and form.is_valid():
        moment = form.moment("day", "at")
        if moment is not None:
            data = form.cleaned_data
            try:
                appointment = actions.book(
                    clinic=access.clinic, patient=patient, kind=data["kind"],
                    slot=Slot(starts_at=moment, ends_at=moment + timedelta(minutes=data["minutes"]),
                              practitioner=data["practitioner"], room=data["room"]),
                    by=access.user, actor=access.actor, note=data["note"])
            except BookingRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Appointment booked."))
                return redirect("scheduling:appointment", appointment_id=appointment.public_id)
    access.audit(AuditEvent.Action.VIEW, object_type="patient", object_id=str(patient.public_id),
                 patient_id=str(patient.public_id), detail="booking form")
    return render(request, "scheduling/book.html", {"form": form, "patient": patient},
                  status=422 if request.method == "POST" else 200)


def _plan_of(access: PatientAccess, plan_id: UUID) -> TreatmentPlan:
    found = list(TreatmentPlan.objects.select_related("patient", "clinic__organisation")
                 .filter(public_id=plan_id, patient=access.patient)[:1])
    if not found:
        raise Http404("No such plan")
    return found[0]


def _series_initial(plan: TreatmentPlan, prereq: series.Prerequisites) -> dict[str, Any]:
    tz = zoneinfo.ZoneInfo(plan.clinic.timezone)
    hours = series.clinic_hours(plan.clinic)
    start = min((w.start_minute for w in hours), default=9 * 60)
    end = max((w.end_minute for w in hours), default=18 * 60)
    version = plan.current
    not_before = prereq.not_before.astimezone(tz).date()
    if version.planned_start and version.planned_start > not_before:
        not_before = version.planned_start
    return {"not_before": not_before, "weekdays": sorted({w.weekday for w in hours}) or [0, 1, 2, 3, 4],
            "available_from": time(start // 60, start % 60),
            "available_until": time(end // 60 % 24, end % 60)}


@require_http_methods(["GET", "POST"])
@patient_view(Perm.BOOK, object_type="appointment")
def book_series(request: ClinicRequest, access: PatientAccess, plan_id: UUID) -> HttpResponse:
    """Propose every session of an accepted plan, then book them in one step."""
    plan = _plan_of(access, plan_id)
    if plan.clinic_id != access.clinic.pk:
        raise Http404("No such plan")
    version = plan.current
    prereq = series.prerequisites(plan)
    form = SeriesForm(request.POST if request.method == "POST" else None, clinic=plan.clinic,
                      initial=_series_initial(plan, prereq))
    booked = list(plan.appointments.filter(status=Appointment.Status.BOOKED, kind=Kind.TREATMENT))
    context: dict[str, Any] = {"patient": access.patient, "plan": plan, "version": version, "form": form,
                               "prereq": prereq, "booked": booked, "proposal": None,
                               "bookable": plan.status in actions.BOOKABLE_PLAN and not booked,
                               "prep_minutes": series.prep_minutes(version),
                               "device": series.requires_device(version)}
    status = 200
    if request.method == "POST" and request.POST.get("action") == "book":
        try:
            data = signing.loads(request.POST.get("proposal", ""), salt=PROPOSAL_SALT,
                                 max_age=PROPOSAL_MAX_AGE)
            if data.get("plan") != str(plan.public_id) or data.get("version") != plan.version:
                raise BookingRefused("sessions", _("The plan changed since the proposal: propose again."))
            sessions = [_session_from(s) for s in data["sessions"]]
            appointments = actions.book_series(plan=plan, sessions=sessions,
                                               calendar=_calendar_for(plan.clinic, sessions),
                                               by=access.user, actor=access.actor)
        except signing.BadSignature:
            form.add_error(None, _("That proposal has expired: propose again."))
            status = 422
        except BookingRefused as exc:
            form.add_error(None, exc.message)
            status = 409
        else:
            messages.success(request, _("%(n)d sessions booked.") % {"n": len(appointments)})
            tz = zoneinfo.ZoneInfo(plan.clinic.timezone)
            first = appointments[0]
            who = first.practitioner.public_id
            return redirect(reverse("scheduling:week") + f"?practitioner={who}&date="
                            f"{first.starts_at.astimezone(tz).date().isoformat()}")
    elif request.method == "POST":
        if form.is_valid():
            proposal, calendar = _propose(plan, form, prereq)
            context["proposal"] = proposal
            context["proposal_rows"] = [
                {"s": s, "practitioner": calendar.practitioners[s.practitioner],
                 "room": calendar.rooms[s.room].name,
                 "device": calendar.devices[s.device].name if s.device else ""}
                for s in proposal.sessions]
            context["token"] = signing.dumps(
                {"plan": str(plan.public_id), "version": plan.version,
                 "sessions": [_session_json(s) for s in proposal.sessions]},
                salt=PROPOSAL_SALT, compress=True)
        else:
            status = 422
    return render(request, "scheduling/series.html", context, status=status)


def _propose(plan: TreatmentPlan, form: SeriesForm, prereq: series.Prerequisites
             ) -> tuple[planner.SeriesProposal, series.Calendar]:
    data = form.cleaned_data
    tz = zoneinfo.ZoneInfo(plan.clinic.timezone)
    day_start = datetime.combine(data["not_before"], time(0), tz)
    not_before = max(prereq.not_before, day_start)
    until = data["available_until"]
    availability = series.availability_from_form(
        (w, data["available_from"], until) for w in data["weekdays"])
    request, calendar = series.build_request(plan, not_before=not_before.replace(second=0, microsecond=0),
                                             availability=availability,
                                             preferred=data.get("practitioner"))
    return planner.plan_series(request), calendar


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.MANAGE_RESOURCES, object_type="schedule_resource")
def resources(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """Rooms, devices, working hours and leave of the clinic."""
    clinic = access.clinic
    forms_by_name: dict[str, Any] = {
        "room": RoomForm(prefix="room"), "device": DeviceForm(prefix="device"),
        "hours": HoursForm(prefix="hours", clinic=clinic), "leave": LeaveForm(prefix="leave", clinic=clinic)}
    status = 200
    if request.method == "POST":
        which = request.POST.get("form", "")
        if which not in forms_by_name:
            status = 400
        else:
            form = _bound(which, request, clinic)
            forms_by_name[which] = form
            if form.is_valid() and _apply(which, form, access):
                messages.success(request, _("Saved."))
                return redirect("scheduling:resources")
            status = 422
    else:
        access.audit(AuditEvent.Action.VIEW, object_type="schedule_resource", detail="resources")
    tz = zoneinfo.ZoneInfo(clinic.timezone)
    staff = series.practitioners(clinic)
    hours = defaultdict(list)
    for h in WorkingHours.objects.filter(clinic=clinic).order_by("weekday", "start"):
        hours[h.practitioner_id].append(h)
    breaks = defaultdict(list)
    for b in WeeklyBreak.objects.filter(clinic=clinic).order_by("weekday", "start"):
        breaks[b.practitioner_id].append(b)
    leave = Leave.objects.filter(clinic=clinic, ends_at__gte=timezone.now()).select_related("practitioner")
    return render(request, "scheduling/resources.html", {
        **forms_by_name, "rooms": Room.objects.filter(clinic=clinic),
        "devices": Device.objects.filter(clinic=clinic),
        "staff": [{"user": u, "hours": hours[u.pk], "breaks": breaks[u.pk]} for u in staff],
        "leave": leave, "tz": tz}, status=status)


def _bound(which: str, request: ClinicRequest, clinic: Any) -> Any:
    if which == "room":
        return RoomForm(request.POST, prefix="room")
    if which == "device":
        return DeviceForm(request.POST, prefix="device")
    if which == "hours":
        return HoursForm(request.POST, prefix="hours", clinic=clinic)
    return LeaveForm(request.POST, prefix="leave", clinic=clinic)


def _apply(which: str, form: Any, access: ClinicAccess) -> bool:
    data = form.cleaned_data
    clinic = access.clinic
    try:
        if which == "room":
            actions.add_room(clinic=clinic, name=data["name"], actor=access.actor)
        elif which == "device":
            actions.add_device(clinic=clinic, name=data["name"], kind=data["kind"], actor=access.actor)
        elif which == "hours":
            blocks = [(data["start"], data["end"])] if data.get("start") else []
            pause = [(data["break_start"], data["break_end"])] if data.get("break_start") else []
            actions.set_hours(clinic=clinic, practitioner=data["practitioner"], weekday=data["weekday"],
                              blocks=blocks, breaks=pause, actor=access.actor)
        else:
            start = local_moment(clinic, data["first_day"], time(0))
            end = local_moment(clinic, data["last_day"] + timedelta(days=1), time(0))
            actions.add_leave(clinic=clinic, practitioner=data["practitioner"], starts_at=start,
                              ends_at=end, reason=data.get("reason", ""), actor=access.actor)
    except BookingRefused as exc:
        form.add_error(None, exc.message)
        return False
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return False
    return True


@require_http_methods(["GET", "POST"])
@clinic_view(Perm.VIEW_SCHEDULE, object_type="calendar_feed")
def my_feed(request: ClinicRequest, access: ClinicAccess) -> HttpResponse:
    """A practitioner's own calendar subscription: create (the URL is shown once) or revoke."""
    if not any(u.pk == access.user.pk for u in series.practitioners(access.clinic)):
        return render(request, "scheduling/feed.html", {"not_practitioner": True}, status=403)
    url = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            feeds.revoke(clinic=access.clinic, practitioner=access.user, actor=access.actor)
            messages.success(request, _("The calendar address no longer works."))
            return redirect("scheduling:my-feed")
        token = feeds.create(clinic=access.clinic, practitioner=access.user, actor=access.actor)
        url = request.build_absolute_uri(reverse("scheduling:feed", args=[token]))
    active = feeds.active(clinic=access.clinic, practitioner=access.user)
    return render(request, "scheduling/feed.html", {"url": url, "active": active})


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed: no session, the secret in the URL is the key (revocable)."""
    found = feeds.lookup(token)
    if found is None:
        raise Http404("No such calendar")
    body = feeds.render(found)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="mesoclinic.ics"'
    return response

