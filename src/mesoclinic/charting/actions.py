"""Start, chart, sign and amend a treatment session; record allergy tests and the numbing cream.

Each is one audited transaction. A session starts only when the pre-session check passes, run on
the record as it stands inside the starting transaction; signing draws the solution's stock
through the inventory ledger (whose database constraint refuses a negative balance) and locks the
chart. Refusals name the field and leave nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting import hooks, maps, precheck
from mesoclinic.charting.models import (
    MAX_DEPTH_MM,
    MAX_POINT_VOLUME_ML,
    AllergyTest,
    CreamApplication,
    InjectionPoint,
    SessionAmendment,
    SessionComponent,
    SessionStatus,
    TreatmentSession,
)
from mesoclinic.inventory import actions as stock
from mesoclinic.inventory.models import Lot
from mesoclinic.knowledge.store import active_pack
from mesoclinic.lib.constraints import save_checked
from mesoclinic.patients.models import Patient
from mesoclinic.plans.actions import treatment_for
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.scheduling.models import Appointment, Device
from mesoclinic.screening.actions import screen_patient
from mesoclinic.screening.models import Screening

MAX_POINTS = 400  # a full-face session is well under 200 injections


class SessionRefused(Exception):
    """Nothing was saved; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SessionNotReady(Exception):
    """The pre-session check failed: every blocking item, with its fix."""

    def __init__(self, outcome: precheck.Outcome) -> None:
        super().__init__(", ".join(b.code for b in outcome.blocking))
        self.outcome = outcome


@dataclass(frozen=True)
class ComponentSpec:
    ingredient: str
    lot: Lot
    quantity: Decimal
    concentration: str = ""


@dataclass(frozen=True)
class PointSpec:
    map_id: str
    x: float
    y: float
    depth_mm: Decimal
    volume_ml: Decimal
    depth_reason: str = ""


@dataclass(frozen=True)
class ChartUpdate:
    """What the chart form says; None leaves a value as it was."""

    points: Sequence[PointSpec] | None = None
    depth_min_mm: Decimal | None = None
    depth_max_mm: Decimal | None = None
    anaesthesia: str | None = None
    immediate_reactions: str | None = None
    notes: str | None = None
    quantities: Mapping[int, Decimal] = field(default_factory=dict)  # component position → used


def _audit(actor: Actor, session: TreatmentSession, action: AuditEvent.Action, *,
           changes: dict[str, Any] | None = None, detail: str = "") -> None:
    record(actor, action=action, object_type="treatment_session", object_id=str(session.public_id),
           clinic_id=str(session.clinic.public_id),
           organisation_id=str(session.clinic.organisation.public_id),
           patient_id=str(session.patient.public_id), changes=changes, detail=detail)


def _refuse_validation(exc: ValidationError, prefix: str = "") -> SessionRefused:
    if hasattr(exc, "error_dict"):
        name, errors = next(iter(exc.error_dict.items()))
        return SessionRefused(prefix + name, " ".join(str(m) for e in errors for m in e.messages))
    return SessionRefused(prefix.rstrip(".") or "session", " ".join(exc.messages))


# --- before the session ---------------------------------------------------------------------

def record_allergy_test(*, clinic: Clinic, patient: Patient, performed_at: datetime,
                        ingredients: Sequence[str], reactions: Sequence[str], note: str, by: User,
                        actor: Actor) -> AllergyTest:
    known = active_pack().ingredients
    tested = list(dict.fromkeys(ingredients))
    if not tested:
        raise SessionRefused("ingredients", _("Name at least one ingredient that was tested."))
    for code in [*tested, *reactions]:
        if code not in known:
            raise SessionRefused("ingredients", _("Unknown ingredient: %(code)s.") % {"code": code})
    untested = [c for c in reactions if c not in tested]
    if untested:
        raise SessionRefused("reactions", _("A reaction can only be to a tested ingredient: %(codes)s.")
                             % {"codes": ", ".join(untested)})
    if performed_at > timezone.now():
        raise SessionRefused("performed_at", _("An allergy test cannot be recorded ahead of time."))
    test = AllergyTest(clinic=clinic, patient=patient, performed_at=performed_at, ingredients=tested,
                       reactions=list(dict.fromkeys(reactions)), note=note, recorded_by=by)
    with transaction.atomic():
        try:
            save_checked(test)
        except ValidationError as exc:
            raise _refuse_validation(exc) from None
        record(actor, action=AuditEvent.Action.CREATE, object_type="allergy_test",
               object_id=str(test.public_id), clinic_id=str(clinic.public_id),
               organisation_id=str(clinic.organisation.public_id), patient_id=str(patient.public_id),
               detail=f"{len(tested)} ingredients, {len(test.reactions)} reacted")
    return test


def record_cream(*, clinic: Clinic, patient: Patient, appointment: Appointment | None,
                 applied_at: datetime, by: User, actor: Actor) -> CreamApplication:
    if applied_at > timezone.now() + timedelta(minutes=1):
        raise SessionRefused("applied_at", _("The cream cannot be recorded ahead of time."))
    with transaction.atomic():
        application = CreamApplication.objects.create(clinic=clinic, patient=patient,
                                                      appointment=appointment,
                                                      applied_at=applied_at, recorded_by=by)
        record(actor, action=AuditEvent.Action.CREATE, object_type="treatment_session",
               clinic_id=str(clinic.public_id), organisation_id=str(clinic.organisation.public_id),
               patient_id=str(patient.public_id),
               detail=f"anaesthetic cream applied at {applied_at.isoformat(timespec='minutes')}")
    return application


def rescreen_for_session(*, plan: TreatmentPlan, by: User, actor: Actor) -> Screening:
    """Screen the patient again for this plan's treatment today, with the allergy test on record.

    Raises InvalidIntake (naming the field) when the plan's treatment no longer passes the
    screening contract.
    """
    pack = active_pack()
    tz = ZoneInfo(plan.clinic.timezone)
    now = timezone.now()
    treatment = treatment_for(plan.current, pack, tz=tz)
    treatment["first_session_at"] = now.astimezone(tz).isoformat(timespec="seconds")
    test = precheck.latest_allergy_test(plan.patient, now)

    def name(code: str) -> str:
        entry = pack.ingredients.get(code)
        return entry.name if entry is not None else code

    allergy = None if test is None else {
        "performed_at": test["at"], "tested": [name(c) for c in test["ingredients"]],
        "reactive_to": [name(c) for c in test["reactions"]]}
    return screen_patient(patient=plan.patient, treatment=treatment, allergy_test=allergy, by=by,
                          actor=actor, detail=f"before a session of plan {plan.public_id}")


# --- starting ---------------------------------------------------------------------------------

def depth_range(plan: TreatmentPlan) -> tuple[Decimal, Decimal]:
    """The protocol's depth range for the plan (F-DEPTH), else the area's."""
    pack = active_pack()
    version = plan.current
    protocol = pack.protocols.get(version.protocol)
    span = protocol.depth_mm if protocol is not None else pack.areas[version.area].depth_mm
    return Decimal(span.min), Decimal(span.max)


def _check_lots(clinic: Clinic, components: Sequence[ComponentSpec]) -> None:
    for i, component in enumerate(components):
        if component.lot.clinic_id != clinic.pk:
            raise SessionRefused(f"components[{i}].lot",
                                 _("Lot %(lot)s belongs to another clinic.") % {"lot": component.lot.number})
        if component.quantity <= 0:
            raise SessionRefused(f"components[{i}].quantity", _("The quantity must be above 0."))


def start_session(*, clinic: Clinic, patient: Patient, plan: TreatmentPlan,
                  appointment: Appointment | None, performer: User, assistant: User | None,
                  device: Device | None, components: Sequence[ComponentSpec], actor: Actor,
                  now: datetime | None = None) -> TreatmentSession:
    """Run the pre-session check on the record as it is now and, only if it passes, start.

    Raises SessionNotReady (every blocking item) or SessionRefused (a field).
    """
    now = now or timezone.now()
    if plan.patient_id != patient.pk:
        raise SessionRefused("plan", _("This plan is another patient's."))
    if appointment is not None and (appointment.patient_id != patient.pk
                                    or appointment.status != Appointment.Status.BOOKED):
        raise SessionRefused("appointment", _("This appointment is not a booked session of this patient."))
    if device is not None and device.clinic_id != clinic.pk:
        raise SessionRefused("device", _("This device belongs to another clinic."))
    if not components:
        raise SessionRefused("components", _("Name the lot of each component of the solution."))
    _check_lots(clinic, components)
    with transaction.atomic():
        # One session start per plan at a time: the session number and the check see one state.
        locked = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
        lots = [precheck.LotUse(Lot.objects.select_related("product").get(pk=c.lot.pk), c.quantity)
                for c in components]
        outcome = precheck.evaluate(clinic=clinic, patient=patient, plan=locked, performer=performer,
                                    lots=lots, now=now)
        if not outcome.ready:
            record(actor, action=AuditEvent.Action.CREATE, object_type="treatment_session",
                   clinic_id=str(clinic.public_id), organisation_id=str(clinic.organisation.public_id),
                   patient_id=str(patient.public_id), outcome=AuditEvent.Outcome.DENIED,
                   detail="pre-session check: " + ", ".join(b.code for b in outcome.blocking))
        else:
            session = _create(clinic, patient, locked, appointment, performer, assistant, device,
                              components, outcome, now)
            _audit(actor, session, AuditEvent.Action.CREATE,
                   detail=f"session {session.session_number} started; check passed")
    if not outcome.ready:
        raise SessionNotReady(outcome)
    return session


def _create(clinic: Clinic, patient: Patient, plan: TreatmentPlan, appointment: Appointment | None,
            performer: User, assistant: User | None, device: Device | None,
            components: Sequence[ComponentSpec], outcome: precheck.Outcome,
            now: datetime) -> TreatmentSession:
    version = plan.current
    if appointment is not None and appointment.series_index:
        number = appointment.series_index
    else:
        number = (TreatmentSession.objects.filter(plan=plan).order_by("-session_number")
                  .values_list("session_number", flat=True).first() or 0) + 1
    low, high = depth_range(plan)
    role = precheck.performer_role(clinic, performer) or "nurse"
    session = TreatmentSession(
        clinic=clinic, patient=patient, plan=plan, plan_version=plan.version, session_number=number,
        appointment=appointment, performer=performer, performer_role=role, assistant=assistant,
        areas=[version.area], technique=version.technique, delivery=version.delivery, device=device,
        depth_min_mm=low, depth_max_mm=high,
        anaesthesia=(version.anaesthetic_cream and _("Anaesthetic cream: %(cream)s")
        % {"cream": active_pack().ingredients[version.anaesthetic_cream].name}) or "",
        started_at=now, check_input=outcome.input, check_output=outcome.output)
    try:
        save_checked(session)
    except ValidationError as exc:
        raise _refuse_validation(exc) from None
    SessionComponent.objects.bulk_create(
        SessionComponent(session=session, position=i, ingredient=c.ingredient, lot=c.lot,
                         quantity=c.quantity, concentration=c.concentration)
        for i, c in enumerate(components))
    return session


# --- charting ---------------------------------------------------------------------------------

def _locked_open(session: TreatmentSession, expected_version: int | None) -> TreatmentSession:
    locked = (TreatmentSession.objects.select_for_update(of=("self",))
              .select_related("clinic__organisation", "patient", "plan", "performer").get(pk=session.pk))
    if locked.is_signed:
        raise SessionRefused("status", _("This chart is signed: correct it with an amendment."))
    if expected_version is not None and locked.version != expected_version:
        raise SessionRefused("version", _("Someone else saved this chart meanwhile: reload it and "
                                          "make your change again."))
    return locked


def _points(session: TreatmentSession, specs: Sequence[PointSpec]) -> list[InjectionPoint]:
    if len(specs) > MAX_POINTS:
        raise SessionRefused("points", _("At most %(n)d injection points.") % {"n": MAX_POINTS})
    offered = set()
    for area in session.areas:
        offered.update(maps.maps_for_area(area))
    rows = []
    for i, spec in enumerate(specs):
        name = f"points[{i}]"
        if spec.map_id not in offered:
            raise SessionRefused(f"{name}.map", _("Point %(n)d is on a map this session does not use.")
                                 % {"n": i + 1})
        try:
            region = maps.validate_point(spec.map_id, spec.x, spec.y)
        except maps.MapError as exc:
            problem = _(exc.message) % exc.params if exc.params else _(exc.message)
            raise SessionRefused(f"{name}.{exc.field}", _("Point %(n)d: %(problem)s")
                                 % {"n": i + 1, "problem": problem}) from None
        if not (0 < spec.depth_mm <= MAX_DEPTH_MM):
            raise SessionRefused(f"{name}.depth_mm", _("Point %(n)d: depth must be above 0 and at most "
                                                        "%(max)s mm.") % {"n": i + 1, "max": MAX_DEPTH_MM})
        if not (0 < spec.volume_ml <= MAX_POINT_VOLUME_ML):
            raise SessionRefused(f"{name}.volume_ml", _("Point %(n)d: volume must be above 0 and at "
                                                         "most 1 ml.") % {"n": i + 1})
        outside = not (session.depth_min_mm <= spec.depth_mm <= session.depth_max_mm)
        if outside and not spec.depth_reason.strip():
            raise SessionRefused(f"{name}.depth_reason", _(
                "Point %(n)d: %(depth)s mm is outside the protocol's %(low)s–%(high)s mm for this "
                "area: give a reason.") % {"n": i + 1, "depth": spec.depth_mm,
                                           "low": session.depth_min_mm, "high": session.depth_max_mm})
        rows.append(InjectionPoint(session=session, position=i, map_id=spec.map_id, region=region.id,
                                   area=region.area, x=Decimal(str(round(spec.x, 1))),
                                   y=Decimal(str(round(spec.y, 1))), depth_mm=spec.depth_mm,
                                   volume_ml=spec.volume_ml,
                                   depth_reason=spec.depth_reason.strip() if outside else ""))
    return rows


def save_chart(*, session: TreatmentSession, update: ChartUpdate, expected_version: int | None,
               actor: Actor) -> TreatmentSession:
    with transaction.atomic():
        locked = _locked_open(session, expected_version)
        changed: dict[str, Any] = {}
        for name in ("depth_min_mm", "depth_max_mm", "anaesthesia", "immediate_reactions", "notes"):
            value = getattr(update, name)
            if value is not None and value != getattr(locked, name):
                setattr(locked, name, value)
                changed[name] = True
        if update.quantities:
            for component in locked.components.all():
                quantity = update.quantities.get(component.position)
                if quantity is None:
                    continue
                if quantity <= 0:
                    raise SessionRefused(f"components[{component.position}].quantity",
                                         _("The quantity used must be above 0."))
                if quantity != component.quantity:
                    component.quantity = quantity
                    component.save(update_fields=["quantity"])
                    changed["components"] = True
        if update.points is not None:
            rows = _points(locked, update.points)
            locked.points.all().delete()
            InjectionPoint.objects.bulk_create(rows)
            changed["points"] = len(rows)
        locked.version += 1
        try:
            save_checked(locked)
        except ValidationError as exc:
            raise _refuse_validation(exc) from None
        _audit(actor, locked, AuditEvent.Action.UPDATE, changes=dict.fromkeys(changed, "changed"),
               detail="chart saved")
    return locked


def totals(session: TreatmentSession) -> tuple[int, Decimal]:
    """Number of injections and total volume charted (ml)."""
    points = list(session.points.values_list("volume_ml", flat=True))
    return len(points), sum(points, Decimal("0"))


# --- signing and amending ---------------------------------------------------------------------

def sign_session(*, session: TreatmentSession, by: User, actor: Actor, ended_at: datetime | None = None,
                 expected_version: int | None = None) -> TreatmentSession:
    """Lock the chart and draw each component's quantity from its lot, all or nothing."""
    with transaction.atomic():
        locked = _locked_open(session, expected_version)
        needle = locked.delivery != "needle_free"
        if needle and not locked.points.exists():
            raise SessionRefused("points", _("Place the injection points on the map before signing."))
        ended = ended_at or timezone.now()
        if ended < locked.started_at:
            raise SessionRefused("ended_at", _("A session ends after it starts."))
        components = list(locked.components.select_related("lot__product").order_by("position"))
        try:
            moves = stock.draw_many([stock.Draw(c.lot, c.quantity) for c in components],
                                    clinic=locked.clinic, by=by, actor=actor, at=locked.started_at)
        except stock.StockRefused as exc:
            # draw_many names lots[i]: the chart names its components.
            raise SessionRefused(exc.field.replace("lots[", "components[", 1), exc.message) from None
        for component, move in zip(components, moves, strict=True):
            component.stock_move = move
            component.save(update_fields=["stock_move"])
        locked.status = SessionStatus.SIGNED
        locked.signed_at = timezone.now()
        locked.signed_by = by
        locked.ended_at = ended
        locked.version += 1
        locked.save(update_fields=["status", "signed_at", "signed_by", "ended_at", "version"])
        _audit(actor, locked, AuditEvent.Action.UPDATE, changes={"status": ["in_progress", "signed"]},
               detail="chart signed; stock drawn")
        hooks.session_signed.send(sender=TreatmentSession, session=locked, actor=actor)
    return locked


AMENDABLE = ("notes", "immediate_reactions", "anaesthesia", "ended_at")


def effective(session: TreatmentSession) -> dict[str, Any]:
    """The chart's values as last corrected: the signed values, then each amendment in turn."""
    values: dict[str, Any] = {name: getattr(session, name) for name in AMENDABLE}
    values["ended_at"] = session.ended_at.isoformat() if session.ended_at else None
    for amendment in session.amendments.all():
        for name, change in amendment.changes.items():
            values[name] = change["to"]
    return values


def amend_session(*, session: TreatmentSession, changes: Mapping[str, str], reason: str, by: User,
                  actor: Actor) -> SessionAmendment:
    reason = reason.strip()
    if not reason:
        raise SessionRefused("reason", _("Say why the signed chart is corrected."))
    unknown = [name for name in changes if name not in AMENDABLE]
    if unknown:
        raise SessionRefused(unknown[0], _("This part of a signed chart cannot be amended."))
    with transaction.atomic():
        locked = TreatmentSession.objects.select_for_update().select_related(
            "clinic__organisation", "patient").get(pk=session.pk)
        if not locked.is_signed:
            raise SessionRefused("status", _("The chart is not signed yet: edit it directly."))
        before = effective(locked)
        diff = {}
        for name, value in changes.items():
            if name == "ended_at" and value:
                try:
                    moment = datetime.fromisoformat(value)
                except ValueError:
                    raise SessionRefused("ended_at", _("Enter a valid date and time.")) from None
                if timezone.is_naive(moment):
                    moment = timezone.make_aware(moment)
                if moment < locked.started_at:
                    raise SessionRefused("ended_at", _("A session ends after it starts."))
                value = moment.isoformat()
            if value != before[name]:
                diff[name] = {"from": before[name], "to": value}
        if not diff:
            raise SessionRefused("changes", _("Nothing differs from the chart as it stands."))
        amendment = SessionAmendment(session=locked, by=by, reason=reason, changes=diff)
        try:
            save_checked(amendment)
        except ValidationError as exc:
            raise _refuse_validation(exc) from None
        _audit(actor, locked, AuditEvent.Action.UPDATE, changes=dict.fromkeys(diff, "amended"),
               detail=f"amendment: {reason[:120]}")
    return amendment


def parse_decimal(value: object, field_name: str) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise SessionRefused(field_name, _("Enter a number.")) from None
    if not number.is_finite():
        raise SessionRefused(field_name, _("Enter a number."))
    return number
