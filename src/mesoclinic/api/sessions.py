"""Treatment sessions over REST: read, run the pre-session check, start, chart, sign, amend.

The same actions, check and audit as the session pages (charting/views.py). Sessions are
clinical: reading needs Perm.VIEW_CLINICAL, everything else Perm.CHART — staff sessions only,
since no API token holds either. A start refused by the check answers 409 with every blocking
item, as `mesoclinic session-check` would print them.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any
from uuid import UUID

from ninja import Schema, Status
from pydantic import AwareDatetime, ConfigDict, Field

from mesoclinic.accounts.permissions import Perm
from mesoclinic.api.auth import StaffSession
from mesoclinic.api.schemas import NO_NUL
from mesoclinic.api.views import BODY_ERRORS, ERRORS, ApiError, _principal, api
from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting import actions, precheck
from mesoclinic.charting.actions import ChartUpdate, ComponentSpec, PointSpec, SessionNotReady, SessionRefused
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.inventory.models import Lot
from mesoclinic.patients.access import AccessDenied, PatientAccess, PatientNotFound, patient_for
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.scheduling import series
from mesoclinic.scheduling.models import Appointment, Device

AUTH = [StaffSession()]
TAGS = ["sessions"]
SESSION_ERRORS: dict[int, Any] = {409: dict[str, Any], **BODY_ERRORS}
CONFLICT_FIELDS = frozenset({"status", "version"})


def _access(request: Any, patient_id: UUID | str, perm: Perm) -> PatientAccess:
    try:
        return patient_for(_principal(request), patient_id, perm, audit_as=None,
                           object_type="treatment_session")
    except PatientNotFound:
        raise ApiError(404, "no such patient") from None
    except AccessDenied:
        raise ApiError(403, "you may not do that with treatment sessions") from None


def _session(request: Any, session_id: UUID, perm: Perm) -> tuple[PatientAccess, TreatmentSession]:
    found = list(TreatmentSession.objects.select_related(
        "patient", "plan", "performer", "assistant", "signed_by", "device", "clinic__organisation")
        .filter(public_id=session_id)[:1])
    if not found:
        raise ApiError(404, "no such session")
    access = _access(request, found[0].patient.public_id, perm)
    return access, found[0]


def _refused(access: PatientAccess, exc: SessionRefused, action: AuditEvent.Action,
             object_id: str = "") -> ApiError:
    access.audit(action, object_type="treatment_session", object_id=object_id,
                 outcome=AuditEvent.Outcome.DENIED, detail=f"{exc.field}: {exc.message}"[:200])
    return ApiError(409 if exc.field in CONFLICT_FIELDS else 422, f"{exc.field}: {exc.message}", exc.field)


def _out(session: TreatmentSession) -> dict[str, Any]:
    tz = zoneinfo.ZoneInfo(session.clinic.timezone)

    def iso(moment: Any) -> str | None:
        return moment.astimezone(tz).isoformat() if moment is not None else None

    count, volume = actions.totals(session)
    return {
        "id": str(session.public_id), "patient_id": str(session.patient.public_id),
        "plan_id": str(session.plan.public_id), "plan_version": session.plan_version,
        "session_number": session.session_number, "status": session.status,
        "appointment_id": str(session.appointment.public_id) if session.appointment else None,
        "performer": {"id": str(session.performer.public_id), "role": session.performer_role,
                      "name": session.performer.get_full_name() or session.performer.username},
        "assistant": str(session.assistant.public_id) if session.assistant else None,
        "areas": session.areas, "technique": session.technique, "delivery": session.delivery,
        "device": str(session.device.public_id) if session.device else None,
        "depth_mm": {"min": str(session.depth_min_mm), "max": str(session.depth_max_mm)},
        "anaesthesia": session.anaesthesia, "started_at": iso(session.started_at),
        "ended_at": iso(session.ended_at), "signed_at": iso(session.signed_at),
        "immediate_reactions": session.immediate_reactions, "notes": session.notes,
        "version": session.version,
        "components": [{"position": c.position, "ingredient": c.ingredient,
                        "concentration": c.concentration, "lot_id": str(c.lot.public_id),
                        "lot": c.lot.number, "quantity": str(c.quantity),
                        "drawn": c.stock_move_id is not None}
                       for c in session.components.select_related("lot")],
        "points": [{"map": p.map_id, "region": p.region, "area": p.area, "x": float(p.x),
                    "y": float(p.y), "depth_mm": str(p.depth_mm), "volume_ml": str(p.volume_ml),
                    "depth_reason": p.depth_reason} for p in session.points.all()],
        "totals": {"injections": count, "volume_ml": str(volume)},
        "amendments": [{"at": iso(a.at), "by": str(a.by.public_id), "reason": a.reason,
                        "changes": a.changes} for a in session.amendments.select_related("by")],
        "check": session.check_output,
    }


@api.get("/patients/{patient_id}/sessions", response={200: list[dict[str, Any]], **ERRORS},
         tags=TAGS, auth=AUTH, summary="A patient's treatment sessions (clinical staff)")
def list_sessions(request: Any, patient_id: UUID) -> Any:
    access = _access(request, patient_id, Perm.VIEW_CLINICAL)
    sessions = list(TreatmentSession.objects.filter(patient=access.patient)
                    .select_related("patient", "plan", "performer", "assistant", "device", "appointment",
                                    "clinic")[:200])
    access.audit(AuditEvent.Action.VIEW, object_type="treatment_session",
                 detail=f"list: {len(sessions)} sessions")
    return [_out(s) for s in sessions]


@api.get("/sessions/{session_id}", response={200: dict[str, Any], **ERRORS}, tags=TAGS, auth=AUTH,
         summary="One treatment session: chart, lots, points, amendments, the check at its start")
def get_session(request: Any, session_id: UUID) -> Any:
    access, session = _session(request, session_id, Perm.VIEW_CLINICAL)
    access.audit(AuditEvent.Action.VIEW, object_type="treatment_session", object_id=str(session.public_id))
    return _out(session)


class ComponentIn(Schema):
    model_config = ConfigDict(extra="forbid")
    ingredient: str = Field(max_length=60, pattern=NO_NUL)
    lot_id: UUID
    quantity: Decimal = Field(gt=0, le=10000, max_digits=8, decimal_places=2)
    concentration: str = Field(default="", max_length=40, pattern=NO_NUL)


class StartIn(Schema):
    model_config = ConfigDict(extra="forbid")
    patient_id: UUID
    plan_id: UUID
    appointment_id: UUID | None = None
    assistant: UUID | None = None
    device: UUID | None = None
    components: list[ComponentIn] = Field(min_length=1, max_length=20)


def _components(access: PatientAccess, items: list[ComponentIn]) -> list[ComponentSpec]:
    specs = []
    for i, item in enumerate(items):
        lot = Lot.objects.select_related("product").filter(
            public_id=item.lot_id, clinic__organisation=access.clinic.organisation).first()
        if lot is None:
            raise ApiError(422, f"components[{i}].lot_id: no such lot", f"components[{i}].lot_id")
        specs.append(ComponentSpec(ingredient=item.ingredient, lot=lot, quantity=item.quantity,
                                   concentration=item.concentration))
    return specs


def _plan(access: PatientAccess, plan_id: UUID) -> TreatmentPlan:
    plan = TreatmentPlan.objects.filter(public_id=plan_id, patient=access.patient).first()
    if plan is None:
        raise ApiError(422, "plan_id: no such plan of this patient", "plan_id")
    return plan


@api.post("/session-checks", response={200: dict[str, Any], **BODY_ERRORS}, tags=TAGS, auth=AUTH,
          summary="Run the pre-session check now, without starting (clinical staff who chart)")
def check_session(request: Any, payload: StartIn) -> Any:
    access = _access(request, payload.patient_id, Perm.CHART)
    plan = _plan(access, payload.plan_id)
    lots = [precheck.LotUse(s.lot, s.quantity) for s in _components(access, payload.components)]
    outcome = precheck.evaluate(clinic=access.clinic, patient=access.patient, plan=plan,
                                performer=access.user, lots=lots)
    access.audit(AuditEvent.Action.VIEW, object_type="treatment_session",
                 detail="pre-session check: " + (", ".join(b.code for b in outcome.blocking) or "ready"))
    return {"ready": outcome.ready,
            "blocking": [{"code": b.code, "message": b.message, "fix": b.fix} for b in outcome.blocking]}


@api.post("/sessions", response={201: dict[str, Any], **SESSION_ERRORS}, tags=TAGS, auth=AUTH,
          summary="Start a session: only when the pre-session check passes (409 with every "
                  "blocking item otherwise)")
def start_session(request: Any, payload: StartIn) -> Any:
    access = _access(request, payload.patient_id, Perm.CHART)
    plan = _plan(access, payload.plan_id)
    appointment = None
    if payload.appointment_id is not None:
        appointment = Appointment.objects.filter(public_id=payload.appointment_id,
                                                 patient=access.patient).first()
        if appointment is None:
            raise ApiError(422, "appointment_id: no such appointment of this patient", "appointment_id")
    device = None
    if payload.device is not None:
        device = Device.objects.filter(public_id=payload.device, clinic=access.clinic).first()
        if device is None:
            raise ApiError(422, "device: no such device at this clinic", "device")
    assistant = series.practitioner(access.clinic, payload.assistant) if payload.assistant else None
    if payload.assistant is not None and assistant is None:
        raise ApiError(422, "assistant: not a practitioner of this clinic", "assistant")
    try:
        session = actions.start_session(
            clinic=access.clinic, patient=access.patient, plan=plan, appointment=appointment,
            performer=access.user, assistant=assistant, device=device,
            components=_components(access, payload.components), actor=access.actor)
    except SessionNotReady as exc:
        return Status(409, {"error": "the pre-session check did not pass", "ready": False,
                            "blocking": [{"code": b.code, "message": b.message, "fix": b.fix}
                                         for b in exc.outcome.blocking]})
    except SessionRefused as exc:
        raise _refused(access, exc, AuditEvent.Action.CREATE) from None
    return Status(201, _out(session))


class PointIn(Schema):
    model_config = ConfigDict(extra="forbid")
    map: str = Field(max_length=30, pattern=NO_NUL)
    x: float = Field(allow_inf_nan=False)
    y: float = Field(allow_inf_nan=False)
    depth_mm: Decimal = Field(max_digits=4, decimal_places=1)
    volume_ml: Decimal = Field(max_digits=6, decimal_places=3)
    depth_reason: str = Field(default="", max_length=300, pattern=NO_NUL)


class ChartIn(Schema):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, description="the session's `version` as read: a stale write is 409")
    points: list[PointIn] | None = Field(default=None, max_length=actions.MAX_POINTS)
    depth_min_mm: Decimal | None = Field(default=None, max_digits=4, decimal_places=1)
    depth_max_mm: Decimal | None = Field(default=None, max_digits=4, decimal_places=1)
    anaesthesia: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    immediate_reactions: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)
    notes: str | None = Field(default=None, max_length=4000, pattern=NO_NUL)


@api.put("/sessions/{session_id}/chart", response={200: dict[str, Any], **SESSION_ERRORS}, tags=TAGS,
         auth=AUTH, summary="Save the chart of a session in progress (points replace those saved)")
def save_chart(request: Any, session_id: UUID, payload: ChartIn) -> Any:
    access, session = _session(request, session_id, Perm.CHART)
    points = None if payload.points is None else [
        PointSpec(map_id=p.map, x=p.x, y=p.y, depth_mm=p.depth_mm, volume_ml=p.volume_ml,
                  depth_reason=p.depth_reason) for p in payload.points]
    update = ChartUpdate(points=points, depth_min_mm=payload.depth_min_mm,
                         depth_max_mm=payload.depth_max_mm, anaesthesia=payload.anaesthesia,
                         immediate_reactions=payload.immediate_reactions, notes=payload.notes)
    try:
        saved = actions.save_chart(session=session, update=update, expected_version=payload.version,
                                   actor=access.actor)
    except SessionRefused as exc:
        raise _refused(access, exc, AuditEvent.Action.UPDATE, str(session.public_id)) from None
    return _out(saved)


class SignIn(Schema):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    ended_at: AwareDatetime | None = None


@api.post("/sessions/{session_id}/sign", response={200: dict[str, Any], **SESSION_ERRORS}, tags=TAGS,
          auth=AUTH, summary="Sign the chart: locks it and draws each lot's quantity (409 if signed)")
def sign_session(request: Any, session_id: UUID, payload: SignIn) -> Any:
    from mesoclinic.charting import aftercare_issue

    access, session = _session(request, session_id, Perm.CHART)
    try:
        signed = actions.sign_session(session=session, by=access.user, actor=access.actor,
                                      ended_at=payload.ended_at, expected_version=payload.version)
    except SessionRefused as exc:
        raise _refused(access, exc, AuditEvent.Action.UPDATE, str(session.public_id)) from None
    aftercare_issue.issue(signed, actor=access.actor)
    return _out(signed)


class AmendIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=500, pattern=NO_NUL)
    notes: str | None = Field(default=None, max_length=4000, pattern=NO_NUL)
    immediate_reactions: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)
    anaesthesia: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    ended_at: AwareDatetime | None = None


@api.post("/sessions/{session_id}/amendments", response={201: dict[str, Any], **SESSION_ERRORS},
          tags=TAGS, auth=AUTH, summary="Correct a signed chart with a reason; the original is kept")
def amend_session(request: Any, session_id: UUID, payload: AmendIn) -> Any:
    access, session = _session(request, session_id, Perm.CHART)
    changes: dict[str, str] = {}
    for name in ("notes", "immediate_reactions", "anaesthesia"):
        value = getattr(payload, name)
        if value is not None:
            changes[name] = value
    if payload.ended_at is not None:
        changes["ended_at"] = payload.ended_at.isoformat()
    try:
        actions.amend_session(session=session, changes=changes, reason=payload.reason, by=access.user,
                              actor=access.actor)
    except SessionRefused as exc:
        raise _refused(access, exc, AuditEvent.Action.UPDATE, str(session.public_id)) from None
    session.refresh_from_db()
    return Status(201, _out(session))

