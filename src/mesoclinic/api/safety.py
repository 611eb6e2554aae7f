"""Adverse events and safety alerts over REST: report, read, clear a hold, acknowledge.

The same actions and audit as the safety pages (safety/views.py). Events are clinical: reading
needs Perm.VIEW_CLINICAL, reporting Perm.REPORT_EVENT, clearing a hold Perm.MANAGE_EVENT —
staff sessions only, since no API token holds them.
"""

from __future__ import annotations

import zoneinfo
from datetime import date
from typing import Any, Literal
from uuid import UUID

from ninja import Schema, Status
from pydantic import ConfigDict, Field

from mesoclinic.accounts.permissions import Perm
from mesoclinic.api.auth import StaffSession
from mesoclinic.api.schemas import NO_NUL
from mesoclinic.api.views import BODY_ERRORS, ERRORS, ApiError, _principal, api
from mesoclinic.audit.log import record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients.access import AccessDenied, PatientAccess, PatientNotFound, patient_for
from mesoclinic.safety import actions, alerts
from mesoclinic.safety.actions import EventSpec, SafetyRefused
from mesoclinic.safety.models import AdverseEvent, Alert

AUTH = [StaffSession()]
TAGS = ["safety"]
CONFLICT_FIELDS = frozenset({"status", "version"})


def _access(request: Any, patient_id: UUID | str, perm: Perm) -> PatientAccess:
    try:
        return patient_for(_principal(request), patient_id, perm, audit_as=None, object_type="adverse_event")
    except PatientNotFound:
        raise ApiError(404, "no such patient") from None
    except AccessDenied:
        raise ApiError(403, "you may not do that with adverse events") from None


def _out(event: AdverseEvent) -> dict[str, Any]:
    tz = zoneinfo.ZoneInfo(event.clinic.timezone)
    cleared = event.hold_cleared_at
    return {
        "id": str(event.public_id), "patient_id": str(event.patient.public_id),
        "sessions": [str(s.public_id) for s in event.sessions.all()],
        "effect": event.effect, "other_effect": event.other_effect, "infection": event.infection or None,
        "label": actions.effect_label(event), "description": event.description,
        "onset": event.onset.isoformat(), "severity": event.severity, "seriousness": event.seriousness,
        "serious": event.serious, "expected": event.expected, "action_taken": event.action_taken,
        "outcome": event.outcome,
        "resolved_on": event.resolved_on.isoformat() if event.resolved_on else None,
        "status": event.status, "holds_next_session": event.holds,
        "hold_cleared_at": cleared.astimezone(tz).isoformat() if cleared else None,
        "reported_at": event.reported_at.astimezone(tz).isoformat(), "source": event.source,
        "alerts": [{"id": str(a.public_id), "reason": a.reason,
                    "acknowledged": a.acknowledged_at is not None} for a in event.alerts.all()],
        "version": event.version,
    }


def _event(request: Any, event_id: UUID, perm: Perm) -> tuple[PatientAccess, AdverseEvent]:
    found = list(AdverseEvent.objects.select_related("patient", "clinic__organisation")
                 .filter(public_id=event_id)[:1])
    if not found:
        raise ApiError(404, "no such adverse event")
    return _access(request, found[0].patient.public_id, perm), found[0]


def _refused(access: PatientAccess, exc: SafetyRefused, action: AuditEvent.Action,
             object_id: str = "") -> ApiError:
    access.audit(action, object_type="adverse_event", object_id=object_id,
                 outcome=AuditEvent.Outcome.DENIED, detail=f"{exc.field}: refused"[:200])
    return ApiError(409 if exc.field in CONFLICT_FIELDS else 422, f"{exc.field}: {exc.message}", exc.field)


@api.get("/patients/{patient_id}/adverse-events", response={200: list[dict[str, Any]], **ERRORS},
         tags=TAGS, auth=AUTH, summary="A patient's side effects and adverse events (clinical staff)")
def list_events(request: Any, patient_id: UUID) -> Any:
    access = _access(request, patient_id, Perm.VIEW_CLINICAL)
    events = list(AdverseEvent.objects.filter(patient=access.patient)
                  .select_related("patient", "clinic").prefetch_related("sessions", "alerts")[:200])
    access.audit(AuditEvent.Action.VIEW, object_type="adverse_event", detail=f"list: {len(events)} events")
    return [_out(e) for e in events]


@api.get("/adverse-events/{event_id}", response={200: dict[str, Any], **ERRORS}, tags=TAGS, auth=AUTH,
         summary="One adverse event")
def get_event(request: Any, event_id: UUID) -> Any:
    access, event = _event(request, event_id, Perm.VIEW_CLINICAL)
    access.audit(AuditEvent.Action.VIEW, object_type="adverse_event", object_id=str(event.public_id))
    return _out(event)


class EventIn(Schema):
    model_config = ConfigDict(extra="forbid")
    sessions: list[UUID] = Field(min_length=1, max_length=20)
    effect: str = Field(max_length=50, pattern=NO_NUL)
    other_effect: str = Field(default="", max_length=200, pattern=NO_NUL)
    infection: Literal["", "suspected", "confirmed"] = ""
    description: str = Field(default="", max_length=4000, pattern=NO_NUL)
    onset: date
    severity: Literal["mild", "moderate", "severe"]
    seriousness: list[Literal["hospitalisation", "disability", "life_threatening", "death",
                              "other_important"]] = Field(default_factory=list, max_length=5)
    action_taken: str = Field(default="none", max_length=20)
    outcome: str = Field(default="ongoing", max_length=20)
    resolved_on: date | None = None


@api.post("/patients/{patient_id}/adverse-events", response={201: dict[str, Any], **BODY_ERRORS},
          tags=TAGS, auth=AUTH,
          summary="Report a side effect after the patient's sessions (alerts and holds as on the page)")
def report_event(request: Any, patient_id: UUID, payload: EventIn) -> Any:
    access = _access(request, patient_id, Perm.REPORT_EVENT)
    spec = EventSpec(**payload.model_dump())
    try:
        event = actions.report_event(patient=access.patient, spec=spec, by=access.user, actor=access.actor)
    except SafetyRefused as exc:
        raise _refused(access, exc, AuditEvent.Action.CREATE) from None
    return Status(201, _out(event))


class NoteIn(Schema):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)
    version: int | None = None


@api.post("/adverse-events/{event_id}/hold-clearance", response={200: dict[str, Any], **BODY_ERRORS},
          tags=TAGS, auth=AUTH, summary="A physician clears the hold on the next session, with a note")
def clear_hold(request: Any, event_id: UUID, payload: NoteIn) -> Any:
    access, event = _event(request, event_id, Perm.MANAGE_EVENT)
    try:
        event = actions.clear_hold(event=event, note=payload.note, by=access.user, actor=access.actor,
                                   expected_version=payload.version)
    except SafetyRefused as exc:
        raise _refused(access, exc, AuditEvent.Action.UPDATE, str(event.public_id)) from None
    return _out(event)


class AckIn(Schema):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=500, pattern=NO_NUL)


def _alert_out(alert: Alert) -> dict[str, Any]:
    return {"id": str(alert.public_id), "reason": alert.reason,
            "patient_id": str(alert.patient.public_id) if alert.patient else None,
            "event_id": str(alert.event.public_id) if alert.event else None,
            "cluster": {"kind": alert.cluster.kind, "key": alert.cluster.key} if alert.cluster else None,
            "raised_at": alert.raised_at.isoformat(), "ack_due_at": alert.ack_due_at.isoformat(),
            "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
            "escalated_at": alert.escalated_at.isoformat() if alert.escalated_at else None}


@api.get("/safety/alerts", response={200: list[dict[str, Any]], **ERRORS}, tags=TAGS, auth=AUTH,
         summary="Open safety alerts addressed to you at your active clinic")
def my_alerts(request: Any) -> Any:
    principal = _principal(request)
    clinic, user = request.clinic, principal.user
    if clinic is None or user is None or Perm.VIEW_ALERTS not in principal.perms_at(clinic):
        raise ApiError(403, "you may not read safety alerts")
    shown = list(Alert.objects.filter(clinic=clinic, recipients=user, acknowledged_at__isnull=True)
                 .select_related("patient", "event", "cluster")[:200])
    record(principal.actor, action=AuditEvent.Action.VIEW, object_type="safety_alert",
           clinic_id=str(clinic.public_id), organisation_id=str(clinic.organisation.public_id),
           detail=f"api: {len(shown)} open alerts")
    return [_alert_out(a) for a in shown]


@api.post("/safety/alerts/{alert_id}/acknowledgement", response={200: dict[str, Any], **BODY_ERRORS},
          tags=TAGS, auth=AUTH, summary="Acknowledge an alert addressed to you")
def acknowledge(request: Any, alert_id: UUID, payload: AckIn) -> Any:
    principal = _principal(request)
    clinic, user = request.clinic, principal.user
    if clinic is None or user is None or Perm.VIEW_ALERTS not in principal.perms_at(clinic):
        raise ApiError(403, "you may not acknowledge safety alerts")
    alert = Alert.objects.select_related("clinic__organisation", "patient", "event", "cluster") \
        .filter(public_id=alert_id, clinic=clinic).first()
    if alert is None:
        raise ApiError(404, "no such alert")
    try:
        alert = alerts.acknowledge(alert, by=user, actor=principal.actor, note=payload.note)
    except alerts.AlertRefused as exc:
        raise ApiError(403 if exc.forbidden else 409, exc.message) from None
    return _alert_out(alert)
