"""Treatment plans over REST: the same actions, roles and audit as the plan pages.

Staff call these with their signed-in session (CSRF-checked) and their own roles; API tokens
hold no plan rights, so a token is refused (403, audited) rather than acting as a physician.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from ninja import Schema, Status
from pydantic import ConfigDict, Field

from mesoclinic.accounts.permissions import Perm
from mesoclinic.api.auth import StaffSession, TokenAuth
from mesoclinic.api.schemas import ErrorOut
from mesoclinic.api.views import BODY_ERRORS, ERRORS, ApiError, _principal, api
from mesoclinic.audit.log import record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients.access import AccessDenied, PatientAccess, PatientNotFound, patient_for
from mesoclinic.plans import actions, quote_contract, rules
from mesoclinic.plans.actions import ApprovalRefused, PlanRefused
from mesoclinic.plans.models import PlanVersion, TreatmentPlan
from mesoclinic.screening.models import Screening

AUTH = [TokenAuth(), StaffSession()]
DECIMAL = r"^[0-9]+(\.[0-9]+)?$"


class PhaseIn(Schema):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=50)
    sessions: int = Field(ge=0, le=40)
    interval_days: int = Field(ge=1, le=365)


class SolutionIn(Schema):
    model_config = ConfigDict(extra="forbid")
    ingredient: str = Field(max_length=60, description="an ingredient code of the catalogue")
    concentration: str = Field(pattern=DECIMAL, max_length=12, examples=["1.5"])
    unit: str = Field(examples=["%"])
    volume_ml: str = Field(pattern=DECIMAL, max_length=8, examples=["2.00"])


class PlanIn(Schema):
    model_config = ConfigDict(extra="forbid")
    indication: str = Field(max_length=50)
    area: str = Field(max_length=50)
    area_size: str = Field(max_length=10)
    technique: str = Field(max_length=50)
    delivery: str = Field(max_length=50)
    sessions: int = Field(ge=1, le=40)
    phases: list[PhaseIn] = Field(max_length=10)
    session_minutes: int = Field(ge=1, le=240)
    depth_mm: str = Field(pattern=DECIMAL, max_length=5)
    anaesthetic_cream: str = Field(default="", max_length=60)
    checkups: list[int] = Field(default_factory=list, max_length=40)
    outcome_measures: list[str] = Field(default_factory=list, max_length=20)
    solution: list[SolutionIn] = Field(max_length=20)
    justifications: dict[str, str] = Field(default_factory=dict)
    planned_start: date | None = None
    note: str = Field(default="", max_length=2000)


class PlanRevision(PlanIn):
    based_on: int = Field(ge=1, description="the plan `version` the edit was made on")


class ApprovalIn(Schema):
    model_config = ConfigDict(extra="forbid")
    screening: UUID | None = Field(default=None, description="approve on this screening (its "
                                   "review findings accepted); otherwise the patient is screened")


class StepIn(Schema):
    model_config = ConfigDict(extra="forbid")
    step: str = Field(description="activate | complete | stop")
    reason: str = Field(default="", max_length=500)


def _access(request: Any, patient_id: UUID, perm: Perm,
            audit_as: AuditEvent.Action | None) -> PatientAccess:
    try:
        return patient_for(_principal(request), patient_id, perm, audit_as=audit_as,
                           object_type="treatment_plan")
    except PatientNotFound:
        raise ApiError(404, "no such patient") from None
    except AccessDenied:
        raise ApiError(403, "you may not do that with treatment plans") from None


def _plan(access: PatientAccess, plan_id: UUID) -> TreatmentPlan:
    found = list(TreatmentPlan.objects.select_related("patient", "clinic")
                 .filter(public_id=plan_id, patient=access.patient)[:1])
    if not found:
        raise ApiError(404, "no such plan")
    return found[0]


def _decimal(value: str, field: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ApiError(422, f"{field}: not a decimal", field) from None


def _draft(payload: PlanIn) -> actions.PlanDraft:
    values = rules.PlanValues(
        area=payload.area, area_size=payload.area_size, indication=payload.indication,
        technique=payload.technique, delivery=payload.delivery, sessions=payload.sessions,
        phases=tuple(rules.Phase(p.code, p.sessions, p.interval_days) for p in payload.phases),
        session_minutes=payload.session_minutes, depth_mm=_decimal(payload.depth_mm, "depth_mm"),
        anaesthetic_cream=bool(payload.anaesthetic_cream), checkups=tuple(sorted(set(payload.checkups))),
        outcome_measures=tuple(payload.outcome_measures))
    solution = tuple(
        actions.SolutionItem(s.ingredient, _decimal(s.concentration, f"solution[{i}].concentration"),
                             s.unit, _decimal(s.volume_ml, f"solution[{i}].volume_ml"))
        for i, s in enumerate(payload.solution))
    return actions.PlanDraft(values=values, solution=solution,
                             anaesthetic_cream=payload.anaesthetic_cream,
                             justifications={k[:60]: v[:1000] for k, v in payload.justifications.items()},
                             planned_start=payload.planned_start, note=payload.note)


def _out(plan: TreatmentPlan) -> dict[str, Any]:
    version: PlanVersion = plan.current
    return {
        "id": str(plan.public_id), "patient_id": str(plan.patient.public_id),
        "status": plan.status, "version": plan.version, "stop_reason": plan.stop_reason,
        "protocol": version.protocol, "pack_version": version.pack_version,
        "indication": version.indication, "area": version.area, "area_size": version.area_size,
        "technique": version.technique, "delivery": version.delivery,
        "sessions": version.sessions, "phases": version.phases,
        "session_minutes": version.session_minutes, "depth_mm": str(version.depth_mm),
        "anaesthetic_cream": version.anaesthetic_cream, "checkups": version.checkups,
        "outcome_measures": version.outcome_measures,
        "solution": [{"ingredient": i.ingredient, "concentration": str(i.concentration.normalize()),
                      "unit": i.unit, "volume_ml": str(i.volume_ml)} for i in version.ingredients.all()],
        "deviations": version.deviations, "justifications": version.justifications,
        "planned_start": version.planned_start.isoformat() if version.planned_start else None,
        "note": version.note,
        "approved_at": version.approved_at.isoformat() if version.approved_at else None,
        "screening_id": str(version.screening.public_id) if version.screening else None,
    }


def _refused(exc: PlanRefused) -> ApiError:
    status = 409 if exc.field in ("based_on", "status", "screening", "consent") else 422
    return ApiError(status, f"{exc.field}: {exc.message}", exc.field)


PLAN_ERRORS = {409: ErrorOut, **BODY_ERRORS}


@api.get("/patients/{patient_id}/plans", response={200: list[dict[str, Any]], **ERRORS},
         tags=["plans"], auth=AUTH, summary="A patient's treatment plans (physicians and nurses)")
def list_plans(request: Any, patient_id: UUID) -> Any:
    access = _access(request, patient_id, Perm.VIEW_PLAN, AuditEvent.Action.VIEW)
    plans = TreatmentPlan.objects.filter(patient=access.patient).select_related("patient", "clinic")
    return [_out(p) for p in plans[:100]]


@api.post("/patients/{patient_id}/plans", response={201: dict[str, Any], **PLAN_ERRORS},
          tags=["plans"], auth=AUTH, summary="Write a plan (physicians)")
def create_plan(request: Any, patient_id: UUID, payload: PlanIn) -> Any:
    access = _access(request, patient_id, Perm.WRITE_PLAN, None)
    try:
        plan = actions.create_plan(patient=access.patient, draft=_draft(payload), by=access.user,
                                   actor=access.actor)
    except PlanRefused as exc:
        access.audit(AuditEvent.Action.CREATE, object_type="treatment_plan",
                     outcome=AuditEvent.Outcome.DENIED, detail=str(exc)[:200])
        raise _refused(exc) from None
    return Status(201, _out(plan))


@api.get("/patients/{patient_id}/plans/{plan_id}", response={200: dict[str, Any], **ERRORS},
         tags=["plans"], auth=AUTH, summary="One plan, its current version (physicians and nurses)")
def get_plan(request: Any, patient_id: UUID, plan_id: UUID) -> Any:
    access = _access(request, patient_id, Perm.VIEW_PLAN, AuditEvent.Action.VIEW)
    return _out(_plan(access, plan_id))


@api.put("/patients/{patient_id}/plans/{plan_id}", response={200: dict[str, Any], **PLAN_ERRORS},
         tags=["plans"], auth=AUTH,
         summary="Revise a plan based on the `version` read; a material change makes a new version")
def revise_plan(request: Any, patient_id: UUID, plan_id: UUID, payload: PlanRevision) -> Any:
    access = _access(request, patient_id, Perm.WRITE_PLAN, None)
    plan = _plan(access, plan_id)
    try:
        plan = actions.revise_plan(plan=plan, draft=_draft(payload), based_on=payload.based_on,
                                   by=access.user, actor=access.actor)
    except PlanRefused as exc:
        access.audit(AuditEvent.Action.UPDATE, object_type="treatment_plan",
                     object_id=str(plan.public_id), outcome=AuditEvent.Outcome.DENIED,
                     detail=str(exc)[:200])
        raise _refused(exc) from None
    return _out(plan)


@api.post("/patients/{patient_id}/plans/{plan_id}/approve",
          response={200: dict[str, Any], **PLAN_ERRORS}, tags=["plans"], auth=AUTH,
          summary="Screen and approve the current version (physicians); 409 while screening refuses")
def approve_plan(request: Any, patient_id: UUID, plan_id: UUID, payload: ApprovalIn) -> Any:
    access = _access(request, patient_id, Perm.WRITE_PLAN, None)
    plan = _plan(access, plan_id)
    screening = None
    if payload.screening is not None:
        screening = Screening.objects.filter(public_id=payload.screening,
                                             patient=access.patient).first()
        if screening is None:
            raise ApiError(422, "screening: no such screening of this patient", "screening")
    try:
        plan = actions.approve_plan(plan=plan, by=access.user, actor=access.actor,
                                    screening=screening)
    except ApprovalRefused as exc:
        raise ApiError(409, f"screening: {exc.message} (screening {exc.screening.public_id})",
                       "screening") from None
    except PlanRefused as exc:
        raise _refused(exc) from None
    return _out(plan)


@api.post("/patients/{patient_id}/plans/{plan_id}/transitions",
          response={200: dict[str, Any], **PLAN_ERRORS}, tags=["plans"], auth=AUTH,
          summary="Activate, complete or stop a plan (physicians)")
def move_plan(request: Any, patient_id: UUID, plan_id: UUID, payload: StepIn) -> Any:
    access = _access(request, patient_id, Perm.WRITE_PLAN, None)
    plan = _plan(access, plan_id)
    try:
        if payload.step == "activate":
            plan = actions.activate_plan(plan=plan, actor=access.actor)
        elif payload.step == "complete":
            plan = actions.complete_plan(plan=plan, actor=access.actor)
        elif payload.step == "stop":
            plan = actions.stop_plan(plan=plan, reason=payload.reason, actor=access.actor)
        else:
            raise ApiError(422, "step: one of activate, complete, stop", "step")
    except PlanRefused as exc:
        raise _refused(exc) from None
    return _out(plan)


QUOTE_EXAMPLE = {
    "date": "2026-12-01", "valid_days": 30, "currency": "EUR", "tax_rate": "0.19",
    "location_factor": "1.10",
    "price_list": [{"area": "face", "size": "standard", "grade": "physician", "kind": "cosmetic",
                    "price_per_session": "120.00"}],
    "package_discounts": [{"min_sessions": 6, "percent": "10"}],
    "checkup_price": "40.00",
    "plan": {"area": "face", "size": "standard", "grade": "physician", "kind": "cosmetic",
             "sessions": 8, "extra_checkups": 1},
}
_QUOTE_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "required": ["date", "valid_days", "currency", "tax_rate",
                                              "location_factor", "price_list",
                                              "package_discounts", "checkup_price", "plan"]},
    "example": QUOTE_EXAMPLE}}}}


@api.post("/quotes", response={200: dict[str, Any], 413: ErrorOut, **ERRORS}, tags=["quotes"],
          auth=AUTH, openapi_extra=_QUOTE_BODY,
          summary="Price a plan: the `mesoclinic quote` contract over HTTP (any token; reception, "
                  "physicians)")
def create_quote(request: Any) -> Any:
    """The same input and output as `mesoclinic quote`; 422 names the field. The currency must
    be the caller's clinic's."""
    principal = _principal(request)
    clinic = principal.token.clinic if principal.token is not None else request.clinic
    if Perm.QUOTE not in principal.perms_at(clinic):
        record(principal.actor, action=AuditEvent.Action.CREATE, object_type="quote",
               clinic_id=str(clinic.public_id), outcome=AuditEvent.Outcome.DENIED,
               detail="missing permission quote")
        raise ApiError(403, "you may not price plans")
    body = request.body
    if len(body) > 1_000_000:
        raise ApiError(413, "body: larger than 1 MB", "body")
    try:
        data = quote_contract.decode_json(body.decode("utf-8"))
        if isinstance(data, dict) and isinstance(data.get("currency"), str) \
                and data["currency"] != clinic.currency:
            raise quote_contract.InvalidQuote(
                "currency", f"{data['currency']} is not the clinic's currency ({clinic.currency})")
        return quote_contract.quote_json(data)
    except UnicodeDecodeError:
        raise ApiError(422, "body: not UTF-8 text", "body") from None
    except quote_contract.InvalidQuote as exc:
        raise ApiError(422, str(exc), exc.field) from None
