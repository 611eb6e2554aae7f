"""The clinic's calendar over REST: resources, appointments and the series planner.

The same actions, rights and audit as the calendar pages (scheduling/views.py). Clinic-scoped
operations act on the caller's clinic: a token's own, or a staff session's active clinic.
Calendars name patients but never carry clinical notes, so reception and tokens read them
(Perm.VIEW_SCHEDULE); booking needs Perm.BOOK (write tokens, clinical staff, reception); rooms
and devices are the manager's (Perm.MANAGE_RESOURCES; no token holds it).

Times in requests must carry a UTC offset; answers give them with the clinic's offset.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from ninja import Query, Schema, Status
from pydantic import AwareDatetime, ConfigDict, Field

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.accounts.permissions import Perm
from mesoclinic.api.auth import StaffSession, TokenAuth
from mesoclinic.api.schemas import NO_NUL, ErrorOut, Line
from mesoclinic.api.views import BODY_ERRORS, ERRORS, ApiError, _principal, api
from mesoclinic.audit.log import record
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.kernel.principal import Principal
from mesoclinic.messaging import outbox
from mesoclinic.patients.access import AccessDenied, PatientAccess, PatientNotFound, patient_for
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.scheduling import actions, planner, series, series_contract
from mesoclinic.scheduling.actions import BookingRefused, Slot
from mesoclinic.scheduling.models import (
    Appointment,
    Device,
    DeviceKind,
    Leave,
    Room,
    WeeklyBreak,
    WorkingHours,
)

AUTH = [TokenAuth(), StaffSession()]
# Booking writes: a read-only token is refused before its body is read (as for patients).
BOOK_AUTH = [TokenAuth(write=True), StaffSession()]
TAGS = ["scheduling"]
MAX_WINDOW = timedelta(days=31)
# A refusal about one of these is a clash with the calendar or the record's state: 409.
CONFLICT_FIELDS = frozenset({"practitioner", "room", "device", "patient", "version", "status",
                             "sessions"})
# The actions name the model's fields; the API names its own.
API_FIELDS = {"starts_at": "start", "ends_at": "end", "prep_starts_at": "prep_start"}
SCHEDULE_ERRORS: dict[int, Any] = {409: ErrorOut, **BODY_ERRORS}
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


# --- who and where --------------------------------------------------------------------------

def _clinic(request: Any, principal: Principal) -> Clinic:
    """The token's clinic, or the staff member's active clinic (as `POST /quotes` decides)."""
    clinic = principal.token.clinic if principal.token is not None else request.clinic
    assert isinstance(clinic, Clinic)  # noqa: S101 (StaffSession needs an active clinic)
    return clinic


def _allowed(request: Any, perm: Perm, *, action: AuditEvent.Action,
             object_type: ObjectType) -> tuple[Principal, Clinic]:
    """The caller and its clinic, when it holds `perm` there; else 403, audited."""
    principal = _principal(request)
    clinic = _clinic(request, principal)
    if perm not in principal.perms_at(clinic):
        record(principal.actor, action=action, object_type=object_type,
               object_id=request.path.replace("\x00", "%00")[:64], clinic_id=str(clinic.public_id),
               outcome=AuditEvent.Outcome.DENIED, detail=f"missing permission {perm.value}")
        raise ApiError(403, "you may not do that with the calendar")
    return principal, clinic


def _by(principal: Principal) -> User:
    """Who the appointment is recorded as made by: the staff member, or the token's issuer
    (the audit trail names the token itself)."""
    if principal.user is not None:
        return principal.user
    assert principal.token is not None  # noqa: S101
    # Only its key is written (created_by_id): no query for the issuer on every booking.
    return User(pk=principal.token.created_by_id)


def _audit(principal: Principal, clinic: Clinic, action: AuditEvent.Action, *,
           object_type: ObjectType = "appointment", **fields: Any) -> None:
    record(principal.actor, action=action, object_type=object_type,
           clinic_id=str(clinic.public_id),
           organisation_id=str(clinic.organisation.public_id), **fields)


def _refused(principal: Principal, clinic: Clinic, exc: BookingRefused, *,
             action: AuditEvent.Action, object_id: str = "", patient_id: str = "") -> ApiError:
    """A refused booking, move or cancellation: on the record, then 409 or 422 naming the field."""
    field = API_FIELDS.get(exc.field, exc.field)
    _audit(principal, clinic, action, object_id=object_id, patient_id=patient_id,
           outcome=AuditEvent.Outcome.DENIED, detail=f"{field}: {exc.message}"[:200])
    status = 409 if exc.field in CONFLICT_FIELDS else 422
    return ApiError(status, f"{field}: {exc.message}", field)


def _tz(clinic: Clinic) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(clinic.timezone)


def _iso(moment: datetime | None, tz: zoneinfo.ZoneInfo) -> str | None:
    return moment.astimezone(tz).isoformat() if moment is not None else None


def _practitioner(clinic: Clinic, public_id: UUID | str | None, field: str) -> User | None:
    if public_id is None:
        return None
    found = series.practitioner(clinic, public_id)
    if found is None:
        raise ApiError(422, f"{field}: not a practitioner of this clinic", field)
    return found


def _room(clinic: Clinic, public_id: UUID | None, field: str = "room") -> Room | None:
    if public_id is None:
        return None
    found = list(Room.objects.filter(public_id=public_id, clinic=clinic, active=True)[:1])
    if not found:
        raise ApiError(422, f"{field}: not one of this clinic's rooms in use", field)
    return found[0]


def _device(clinic: Clinic, public_id: UUID | None, field: str = "device") -> Device | None:
    if public_id is None:
        return None
    found = list(Device.objects.filter(public_id=public_id, clinic=clinic, active=True)[:1])
    if not found:
        raise ApiError(422, f"{field}: not one of this clinic's devices in use", field)
    return found[0]


def _appointment(principal: Principal, clinic: Clinic, appointment_id: UUID,
                 action: AuditEvent.Action) -> Appointment:
    found = list(Appointment.objects.select_related(
        "clinic__organisation", "patient", "practitioner", "room", "device", "plan")
        .filter(public_id=appointment_id, clinic=clinic)[:1])
    if not found:
        _audit(principal, clinic, action, object_id=str(appointment_id),
               outcome=AuditEvent.Outcome.DENIED, detail="no such appointment")
        raise ApiError(404, "no such appointment")
    return found[0]


def _patient_access(request: Any, patient_id: UUID) -> PatientAccess:
    try:
        return patient_for(_principal(request), patient_id, Perm.BOOK, audit_as=None,
                           object_type="appointment")
    except PatientNotFound:
        raise ApiError(404, "no such patient") from None
    except AccessDenied:
        raise ApiError(403, "you may not book appointments") from None


# --- answers --------------------------------------------------------------------------------

def _named(thing: User | Room | Device | None) -> dict[str, str] | None:
    return {"id": str(thing.public_id), "name": str(thing)} if thing is not None else None


def _out(a: Appointment, tz: zoneinfo.ZoneInfo) -> dict[str, Any]:
    """An appointment as reception sees it: names and times, never clinical notes."""
    return {
        "id": str(a.public_id), "patient_id": str(a.patient.public_id),
        "patient_name": str(a.patient), "kind": a.kind, "status": a.status,
        "start": _iso(a.starts_at, tz), "end": _iso(a.ends_at, tz),
        "prep_start": _iso(a.prep_starts_at, tz),
        "practitioner": _named(a.practitioner), "room": _named(a.room), "device": _named(a.device),
        "plan_id": str(a.plan.public_id) if a.plan is not None else None,
        "series_index": a.series_index, "version": a.version, "note": a.note,
    }


LIST_COLUMNS = (
    "public_id", "patient__public_id", "patient__given_name", "patient__family_name", "kind",
    "status", "starts_at", "ends_at", "prep_starts_at", "practitioner__public_id",
    "practitioner__display_name", "practitioner__first_name", "practitioner__last_name",
    "practitioner__username", "room__public_id", "room__name", "device__public_id", "device__name",
    "plan__public_id", "series_index", "version", "note")


def _row_out(r: dict[str, Any], tz: zoneinfo.ZoneInfo) -> dict[str, Any]:
    """`_out` of a row of LIST_COLUMNS (the same keys and values)."""
    def named(prefix: str, name: str) -> dict[str, str] | None:
        key = r[f"{prefix}__public_id"]
        return {"id": str(key), "name": name} if key is not None else None

    # User.__str__: the display name, else the full name, else the username.
    who = (r["practitioner__display_name"] or
           f"{r['practitioner__first_name']} {r['practitioner__last_name']}".strip() or
           r["practitioner__username"])
    return {
        "id": str(r["public_id"]), "patient_id": str(r["patient__public_id"]),
        "patient_name": f"{r['patient__given_name']} {r['patient__family_name']}",
        "kind": r["kind"], "status": r["status"],
        "start": _iso(r["starts_at"], tz), "end": _iso(r["ends_at"], tz),
        "prep_start": _iso(r["prep_starts_at"], tz),
        "practitioner": named("practitioner", who), "room": named("room", r["room__name"]),
        "device": named("device", r["device__name"]),
        "plan_id": str(r["plan__public_id"]) if r["plan__public_id"] is not None else None,
        "series_index": r["series_index"], "version": r["version"], "note": r["note"],
    }


def _proposal(proposal: planner.SeriesProposal | None, tz: zoneinfo.ZoneInfo) -> dict[str, Any] | None:
    return series_contract.proposal_to_json(proposal, tz) if proposal is not None else None


# --- resources ------------------------------------------------------------------------------

def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


@api.get("/schedule/resources", response={200: dict[str, Any], **ERRORS}, tags=TAGS, auth=AUTH,
         summary="The clinic's practitioners with their hours, rooms, devices and upcoming leave "
                 "(any token; clinical staff, reception)")
def get_resources(request: Any) -> Any:
    principal, clinic = _allowed(request, Perm.VIEW_SCHEDULE, action=AuditEvent.Action.VIEW,
                                 object_type="schedule_resource")
    tz = _tz(clinic)
    hours: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for h in WorkingHours.objects.filter(clinic=clinic).order_by("weekday", "start"):
        hours[h.practitioner_id].append({"weekday": h.weekday, "start": _hhmm(h.start), "end": _hhmm(h.end)})
    breaks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for b in WeeklyBreak.objects.filter(clinic=clinic).order_by("weekday", "start"):
        breaks[b.practitioner_id].append({"weekday": b.weekday, "start": _hhmm(b.start), "end": _hhmm(b.end)})
    staff = series.practitioners(clinic)
    # Why someone is away is theirs: the calendar needs only when.
    leave = Leave.objects.filter(clinic=clinic, ends_at__gte=timezone.now()).select_related("practitioner")
    _audit(principal, clinic, AuditEvent.Action.VIEW, object_type="schedule_resource",
           detail="resources")
    return {
        "timezone": clinic.timezone,
        "practitioners": [{"id": str(u.public_id), "name": str(u), "hours": hours[u.pk],
                           "breaks": breaks[u.pk]} for u in staff],
        "rooms": [{"id": str(r.public_id), "name": r.name, "active": r.active}
                  for r in Room.objects.filter(clinic=clinic)],
        "devices": [{"id": str(d.public_id), "name": d.name, "kind": d.kind, "active": d.active}
                    for d in Device.objects.filter(clinic=clinic)],
        "leave": [{"practitioner": str(x.practitioner.public_id), "start": _iso(x.starts_at, tz),
                   "end": _iso(x.ends_at, tz)} for x in leave],
    }


class RoomIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: Line = Field(min_length=1, max_length=100, pattern=NO_NUL)


class DeviceIn(RoomIn):
    kind: Literal["ultrasound", "injector_gun"] = Field(description="ultrasound | injector_gun")


def _resource_refused(principal: Principal, clinic: Clinic, exc: DjangoValidationError) -> ApiError:
    errors = getattr(exc, "message_dict", {"name": exc.messages})
    field, messages = next(iter(errors.items()))
    field = "name" if field == "__all__" else field
    record(principal.actor, action=AuditEvent.Action.CREATE, object_type="schedule_resource",
           clinic_id=str(clinic.public_id), outcome=AuditEvent.Outcome.DENIED,
           detail=f"{field}: {messages[0]}"[:200])
    return ApiError(422, f"{field}: {messages[0]}", field)


@api.post("/schedule/rooms", response={201: dict[str, Any], **BODY_ERRORS}, tags=TAGS, auth=AUTH,
          summary="Add a room (clinic managers; no token)")
def create_room(request: Any, payload: RoomIn) -> Any:
    principal, clinic = _allowed(request, Perm.MANAGE_RESOURCES, action=AuditEvent.Action.CREATE,
                                 object_type="schedule_resource")
    try:
        room = actions.add_room(clinic=clinic, name=payload.name, actor=principal.actor)
    except DjangoValidationError as exc:
        raise _resource_refused(principal, clinic, exc) from None
    return Status(201, {"id": str(room.public_id), "name": room.name, "active": room.active})


@api.post("/schedule/devices", response={201: dict[str, Any], **BODY_ERRORS}, tags=TAGS, auth=AUTH,
          summary="Add a device (clinic managers; no token)")
def create_device(request: Any, payload: DeviceIn) -> Any:
    principal, clinic = _allowed(request, Perm.MANAGE_RESOURCES, action=AuditEvent.Action.CREATE,
                                 object_type="schedule_resource")
    assert payload.kind in DeviceKind.values  # noqa: S101 (the schema's Literal)
    try:
        device = actions.add_device(clinic=clinic, name=payload.name, kind=payload.kind,
                                    actor=principal.actor)
    except DjangoValidationError as exc:
        raise _resource_refused(principal, clinic, exc) from None
    return Status(201, {"id": str(device.public_id), "name": device.name, "kind": device.kind,
                        "active": device.active})


# --- appointments ---------------------------------------------------------------------------

class WindowParams(Schema):
    since: AwareDatetime | None = Field(default=None, alias="from",
                                        description="with its UTC offset; default: today's start")
    until: AwareDatetime | None = Field(default=None, alias="to",
                                        description="at most 31 days after `from`")
    practitioner: UUID | None = None
    room: UUID | None = None


@api.get("/appointments", response={200: list[dict[str, Any]], **ERRORS}, tags=TAGS, auth=AUTH,
         summary="The clinic's appointments in a window of at most 31 days, by default today "
                 "(any token; clinical staff, reception)")
def list_appointments(request: Any, params: Query[WindowParams]) -> Any:
    """Appointments overlapping [from, to), both with a UTC offset (`+` written `%2B`)."""
    principal, clinic = _allowed(request, Perm.VIEW_SCHEDULE, action=AuditEvent.Action.VIEW,
                                 object_type="appointment")
    since, until, practitioner, room = params.since, params.until, params.practitioner, params.room
    tz = _tz(clinic)
    day_start, day_end = series.local_day_bounds(clinic, timezone.now().astimezone(tz).date())
    start = since or (until - timedelta(days=1) if until is not None else day_start)
    end = until or (start + timedelta(days=1) if since is not None else day_end)
    if end <= start:
        raise ApiError(422, "to: must be after from", "to")
    if end - start > MAX_WINDOW:
        raise ApiError(422, "to: the window is at most 31 days", "to")
    found = (Appointment.objects.filter(clinic=clinic, starts_at__lt=end, ends_at__gt=start)
             .order_by("starts_at", "id"))
    if practitioner is not None:
        found = found.filter(practitioner__public_id=practitioner)
    if room is not None:
        found = found.filter(room__public_id=room)
    # Only the columns the answer shows: the list is the calendar's most frequent read.
    rows = list(found.values(*LIST_COLUMNS)[:2000])
    _audit(principal, clinic, AuditEvent.Action.VIEW,
           detail=f"list {start.isoformat()}–{end.isoformat()}"
                  f"{f' practitioner {practitioner}' if practitioner else ''}"
                  f"{f' room {room}' if room else ''}: {len(rows)} appointments")
    return [_row_out(r, tz) for r in rows]


@api.get("/appointments/{appointment_id}", response={200: dict[str, Any], **ERRORS}, tags=TAGS,
         auth=AUTH, summary="One appointment with its reminders (any token; clinical staff, reception)")
def get_appointment(request: Any, appointment_id: UUID) -> Any:
    principal, clinic = _allowed(request, Perm.VIEW_SCHEDULE, action=AuditEvent.Action.VIEW,
                                 object_type="appointment")
    appointment = _appointment(principal, clinic, appointment_id, AuditEvent.Action.VIEW)
    tz = _tz(clinic)
    _audit(principal, clinic, AuditEvent.Action.VIEW, object_id=str(appointment.public_id),
           patient_id=str(appointment.patient.public_id))
    return {**_out(appointment, tz), "cancel_reason": appointment.cancel_reason,
            "reminders": [{"kind": m.kind, "channel": m.channel, "status": m.status,
                           "due_at": _iso(m.due_at, tz), "sent_at": _iso(m.sent_at, tz),
                           "last_error": m.last_error} for m in outbox.for_ref(appointment.ref)]}


class AppointmentIn(Schema):
    model_config = ConfigDict(extra="forbid")
    patient_id: UUID
    kind: str = Field(max_length=20, description="consultation | allergy_test | treatment | "
                                                 "checkup | photo_review")
    start: AwareDatetime = Field(description="with its UTC offset, to the minute")
    end: AwareDatetime
    practitioner: UUID = Field(description="the practitioner's id (`/schedule/resources`)")
    room: UUID | None = None
    device: UUID | None = None
    plan_id: UUID | None = Field(default=None, description="a treatment session's plan")
    series_index: int | None = Field(default=None, ge=1, le=100)
    note: Line = Field(default="", max_length=300, pattern=NO_NUL,
                       description="logistics for the front desk; never clinical notes")


def _patient_in(principal: Principal, clinic: Clinic, patient_id: UUID) -> Patient:
    """A patient of the caller's clinic that it may book for; 404 outside it, 403 without BOOK."""
    try:
        access = patient_for(principal, patient_id, Perm.BOOK, audit_as=None,
                             object_type="appointment")
    except PatientNotFound:
        raise ApiError(404, "no such patient") from None
    except AccessDenied:
        raise ApiError(403, "you may not book appointments") from None
    if access.patient.clinic_id != clinic.pk:
        # Booked only at the patient's own clinic: switch clinics to book there.
        access.audit(AuditEvent.Action.CREATE, object_type="appointment",
                     outcome=AuditEvent.Outcome.DENIED, detail="patient of another clinic")
        raise ApiError(404, "no such patient")
    return access.patient


@api.post("/appointments", response={201: dict[str, Any], **SCHEDULE_ERRORS}, tags=TAGS,
          auth=BOOK_AUTH, summary="Book one appointment (write tokens; clinical staff, reception); "
                                  "409 when a practitioner, room, device or the patient is taken")
def create_appointment(request: Any, payload: AppointmentIn) -> Any:
    principal, clinic = _allowed(request, Perm.BOOK, action=AuditEvent.Action.CREATE,
                                 object_type="appointment")
    patient = _patient_in(principal, clinic, payload.patient_id)
    who = _practitioner(clinic, payload.practitioner, "practitioner")
    assert who is not None  # noqa: S101
    plan = None
    if payload.plan_id is not None:
        plan = TreatmentPlan.objects.select_related("clinic").filter(
            public_id=payload.plan_id, patient=patient).first()
        if plan is None:
            raise ApiError(422, "plan_id: no such plan of this patient", "plan_id")
    slot = Slot(starts_at=payload.start, ends_at=payload.end, practitioner=who,
                room=_room(clinic, payload.room), device=_device(clinic, payload.device))
    try:
        appointment = actions.book(clinic=clinic, patient=patient, kind=payload.kind, slot=slot,
                                   by=_by(principal), actor=principal.actor, plan=plan,
                                   series_index=payload.series_index, note=payload.note)
    except BookingRefused as exc:
        raise _refused(principal, clinic, exc, action=AuditEvent.Action.CREATE,
                       patient_id=str(patient.public_id)) from None
    return Status(201, _out(appointment, _tz(clinic)))


class MoveIn(Schema):
    model_config = ConfigDict(extra="forbid")
    start: AwareDatetime = Field(description="the new start, with its UTC offset")
    practitioner: UUID | None = Field(default=None, description="another practitioner")
    room: UUID | None = Field(default=None, description="another room; absent keeps the room")
    version: int = Field(ge=1, description="the appointment `version` read")


@api.post("/appointments/{appointment_id}/move", response={200: dict[str, Any], **SCHEDULE_ERRORS},
          tags=TAGS, auth=BOOK_AUTH,
          summary="Move an appointment based on the `version` read; for a series session, says "
                  "which later sessions lose their interval and proposes new times for them")
def move_appointment(request: Any, appointment_id: UUID, payload: MoveIn) -> Any:
    principal, clinic = _allowed(request, Perm.BOOK, action=AuditEvent.Action.UPDATE,
                                 object_type="appointment")
    appointment = _appointment(principal, clinic, appointment_id, AuditEvent.Action.UPDATE)
    try:
        moved = actions.move(appointment, starts_at=payload.start, by=_by(principal),
                             actor=principal.actor,
                             practitioner=_practitioner(clinic, payload.practitioner, "practitioner"),
                             room=_room(clinic, payload.room), based_on=payload.version)
    except BookingRefused as exc:
        raise _refused(principal, clinic, exc, action=AuditEvent.Action.UPDATE,
                       object_id=str(appointment.public_id),
                       patient_id=str(appointment.patient.public_id)) from None
    return {**_out(moved.appointment, _tz(clinic)), "follow_problems": list(moved.follow_problems),
            "rest_proposal": _proposal(moved.rest, _tz(clinic))}


class CancelIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: Line = Field(max_length=300, pattern=NO_NUL)
    version: int = Field(ge=1, description="the appointment `version` read")


@api.post("/appointments/{appointment_id}/cancel", response={200: dict[str, Any], **SCHEDULE_ERRORS},
          tags=TAGS, auth=BOOK_AUTH,
          summary="Cancel an appointment, saying why; its reminders will not go out")
def cancel_appointment(request: Any, appointment_id: UUID, payload: CancelIn) -> Any:
    principal, clinic = _allowed(request, Perm.BOOK, action=AuditEvent.Action.UPDATE,
                                 object_type="appointment")
    appointment = _appointment(principal, clinic, appointment_id, AuditEvent.Action.UPDATE)
    try:
        cancelled = actions.cancel(appointment, reason=payload.reason, by=_by(principal),
                                   actor=principal.actor, based_on=payload.version)
    except BookingRefused as exc:
        raise _refused(principal, clinic, exc, action=AuditEvent.Action.UPDATE,
                       object_id=str(appointment.public_id),
                       patient_id=str(appointment.patient.public_id)) from None
    return {**_out(cancelled, _tz(clinic)), "cancel_reason": cancelled.cancel_reason}


# --- a plan's series ------------------------------------------------------------------------

def _plan(access: PatientAccess, plan_id: UUID) -> TreatmentPlan:
    found = list(TreatmentPlan.objects.select_related("patient", "clinic__organisation")
                 .filter(public_id=plan_id, patient=access.patient)[:1])
    if not found:
        raise ApiError(404, "no such plan")
    return found[0]


class WindowIn(Schema):
    model_config = ConfigDict(extra="forbid")
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    start: str = Field(pattern=HHMM, examples=["09:00"], description="clinic time")
    end: str = Field(pattern=HHMM, examples=["18:00"], description="clinic time; 00:00 = midnight")


class ProposalIn(Schema):
    model_config = ConfigDict(extra="forbid")
    availability: list[WindowIn] = Field(
        default_factory=list, max_length=50,
        description="when the patient can come; none given: whenever the clinic is open")
    not_before: date | None = Field(default=None, description="the first session's earliest day")
    preferred_practitioner: UUID | None = None


def _availability(windows: Sequence[WindowIn]) -> tuple[planner.Weekly, ...]:
    rows = []
    for i, w in enumerate(windows):
        start, end = time.fromisoformat(w.start), time.fromisoformat(w.end)
        if end <= start and end != time(0):
            raise ApiError(422, f"availability[{i}].end: must be after the start",
                           f"availability[{i}].end")
        rows.append((w.weekday, start, end))
    return series.availability_from_form(rows)


@api.post("/patients/{patient_id}/plans/{plan_id}/series-proposal",
          response={200: dict[str, Any], **SCHEDULE_ERRORS}, tags=TAGS, auth=BOOK_AUTH,
          summary="Propose every session of a plan: the planner's output, ids being the clinic's "
                  "practitioner, room and device ids (write tokens; clinical staff, reception)")
def propose_series(request: Any, patient_id: UUID, plan_id: UUID, payload: ProposalIn) -> Any:
    """The same proposal as the series page: after the plan's prerequisites (allergy test, NSAID
    wash-out), inside the patient's availability; `notes` says what staff should know."""
    access = _patient_access(request, patient_id)
    plan = _plan(access, plan_id)
    clinic = plan.clinic
    tz = _tz(clinic)
    prereq = series.prerequisites(plan)
    not_before = prereq.not_before
    if payload.not_before is not None:
        not_before = max(not_before, datetime.combine(payload.not_before, time(0), tz))
    availability = _availability(payload.availability) or series.clinic_hours(clinic)
    preferred = _practitioner(clinic, payload.preferred_practitioner, "preferred_practitioner")
    series_request, _calendar = series.build_request(
        plan, not_before=not_before.replace(second=0, microsecond=0), availability=availability,
        preferred=preferred)
    proposal = planner.plan_series(series_request)
    access.audit(AuditEvent.Action.VIEW, object_type="appointment", object_id=str(plan.public_id),
                 detail=f"series proposal: {len(proposal.sessions)} sessions, "
                        f"{len(proposal.unplaced)} unplaced")
    return {**series_contract.proposal_to_json(proposal, tz), "notes": [str(n) for n in prereq.notes]}


class SessionIn(Schema):
    # As proposed: keys the planner adds for information are ignored.
    model_config = ConfigDict(extra="ignore")
    index: int = Field(ge=1, le=100)
    start: AwareDatetime
    end: AwareDatetime
    prep_start: AwareDatetime | None = None
    practitioner: str = Field(max_length=40)
    room: str = Field(max_length=40)
    device: str | None = Field(default=None, max_length=40)


class SeriesIn(Schema):
    model_config = ConfigDict(extra="forbid")
    sessions: list[SessionIn] = Field(min_length=1, max_length=100)


def _calendar(clinic: Clinic, sessions: Iterable[SessionIn]) -> series.Calendar:
    """The resources the sessions name, looked up within this clinic only."""
    staff = {str(u.public_id): u for u in series.practitioners(clinic)}
    rooms = {str(r.public_id): r for r in Room.objects.filter(clinic=clinic, active=True)}
    devices = {str(d.public_id): d for d in Device.objects.filter(clinic=clinic, active=True)}
    for i, s in enumerate(sessions):
        for key, known, value in (("practitioner", staff, s.practitioner), ("room", rooms, s.room),
                                  ("device", devices, s.device)):
            if value is not None and value not in known:
                field = f"sessions[{i}].{key}"
                raise ApiError(422, f"{field}: not one of this clinic's, in use", field)
    return series.Calendar(practitioners=staff, rooms=rooms, devices=devices)


@api.post("/patients/{patient_id}/plans/{plan_id}/series",
          response={201: list[dict[str, Any]], **SCHEDULE_ERRORS}, tags=TAGS, auth=BOOK_AUTH,
          summary="Book the proposed sessions of an accepted plan, all or none; 409 names the "
                  "session that clashes")
def book_series(request: Any, patient_id: UUID, plan_id: UUID, payload: SeriesIn) -> Any:
    access = _patient_access(request, patient_id)
    plan = _plan(access, plan_id)
    principal, clinic = access.principal, plan.clinic
    indexes = [s.index for s in payload.sessions]
    if len(set(indexes)) != len(indexes):
        raise ApiError(422, "sessions: each session number once", "sessions")
    calendar = _calendar(clinic, payload.sessions)
    sessions = [planner.PlacedSession(index=s.index, start=s.start, end=s.end,
                                      prep_start=s.prep_start, practitioner=s.practitioner,
                                      room=s.room, device=s.device) for s in payload.sessions]
    try:
        booked = actions.book_series(plan=plan, sessions=sessions, calendar=calendar,
                                     by=_by(principal), actor=principal.actor)
    except BookingRefused as exc:
        raise _refused(principal, clinic, exc, action=AuditEvent.Action.CREATE,
                       object_id=str(plan.public_id), patient_id=str(plan.patient.public_id)) from None
    tz = _tz(clinic)
    return Status(201, [_out(a, tz) for a in booked])


# --- the pure planner -----------------------------------------------------------------------

# Weekly face sessions, one practitioner Monday to Friday, the patient free on weekday mornings.
PLANNER_EXAMPLE: dict[str, Any] = {
    "timezone": "Europe/Istanbul", "not_before": "2027-03-01T08:00:00+03:00",
    "phases": [{"sessions": 6, "interval_days": 7, "tolerance_days": 1}],
    "session_minutes": 30, "prep_minutes": 0,
    "patient_availability": [{"weekday": d, "start": "09:00", "end": "13:00"} for d in range(5)],
    "practitioners": [{"id": "dr-a", "working_hours": [{"weekday": d, "start": "08:00", "end": "18:00"}
                                                       for d in range(5)],
                       "busy": [["2027-03-01T09:00:00+03:00", "2027-03-01T12:00:00+03:00"]]}],
    "rooms": [{"id": "room-1"}], "preferred_practitioner": "dr-a", "horizon_days": 60,
}
_PLANNER_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "description": "the `mesoclinic plan-series` input",
               "required": ["timezone", "not_before", "phases", "session_minutes",
                            "patient_availability", "practitioners", "rooms"]},
    "example": PLANNER_EXAMPLE}}}}


@api.post("/planner/series", response={200: dict[str, Any], 413: ErrorOut, **ERRORS}, tags=TAGS,
          auth=AUTH, openapi_extra=_PLANNER_BODY,
          summary="Plan a series: the `mesoclinic plan-series` contract over HTTP (any token; "
                  "clinical staff, reception)")
def plan_series(request: Any) -> Any:
    """The same input and output as `mesoclinic plan-series`; 422 names the field. Nothing is
    read from or written to the clinic's calendar."""
    _allowed(request, Perm.VIEW_SCHEDULE, action=AuditEvent.Action.CREATE, object_type="appointment")
    body = request.body
    if len(body) > 1_000_000:
        raise ApiError(413, "body: larger than 1 MB", "body")
    try:
        data = series_contract.decode_json(body.decode("utf-8"))
        return series_contract.plan_series_json(data)
    except UnicodeDecodeError:
        raise ApiError(422, "body: not UTF-8 text", "body") from None
    except series_contract.InvalidSeries as exc:
        raise ApiError(422, str(exc), exc.field) from None
