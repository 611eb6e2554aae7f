"""Write, revise, approve and move treatment plans; every change is one audited transaction.

Only physicians call these (Perm.WRITE_PLAN, checked by the views and the API). The consent module
calls `mark_accepted` when a patient signs, and `withdrawn` when they withdraw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.knowledge.pack import KnowledgePack
from mesoclinic.knowledge.store import active_pack
from mesoclinic.patients.models import Patient
from mesoclinic.plans import lifecycle, rules
from mesoclinic.plans.lifecycle import Step, TransitionRefused
from mesoclinic.plans.models import ConcentrationUnit, PlanIngredient, PlanVersion, TreatmentPlan
from mesoclinic.screening.actions import screen_patient
from mesoclinic.screening.models import Screening

MIN_JUSTIFICATION = 10
# A screening older than this is run again on approval: the record may have moved on.
SCREENING_REUSE = timedelta(hours=24)
EARLIEST_START = timedelta(days=2)


class PlanRefused(Exception):
    """The plan cannot be saved or moved; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ApprovalRefused(PlanRefused):
    """Screening does not allow approval; the screening is kept so that reviews can be accepted."""

    def __init__(self, message: str, screening: Screening) -> None:
        super().__init__("screening", message)
        self.screening = screening


@dataclass(frozen=True)
class SolutionItem:
    ingredient: str  # a catalogue code
    concentration: Decimal
    unit: str
    volume_ml: Decimal


@dataclass(frozen=True)
class PlanDraft:
    """What the editor (or the API) submits for a plan."""

    values: rules.PlanValues
    solution: tuple[SolutionItem, ...]
    anaesthetic_cream: str = ""  # a catalogue code of a numbing cream, or ""
    justifications: dict[str, str] = field(default_factory=dict)
    planned_start: date | None = None
    note: str = ""


# A change to any of these writes a new version: consent is given to them.
MATERIAL = ("indication", "area", "area_size", "technique", "delivery", "sessions", "phases")


@dataclass(frozen=True)
class Checked:
    protocol: Any
    deviations: list[rules.Deviation]
    conflicts: list[rules.Deviation]


def check_draft(draft: PlanDraft, pack: KnowledgePack) -> Checked:
    """Everything a draft must satisfy to be saved; raises PlanRefused naming the first problem."""
    v = draft.values
    if v.area not in pack.top_level_areas:
        raise PlanRefused("area", f"unknown area {v.area!r}")
    if v.indication not in pack.indications:
        raise PlanRefused("indication", f"unknown indication {v.indication!r}")
    protocol = pack.protocol_for(v.area, v.indication)
    if protocol is None:
        raise PlanRefused("indication", f"no protocol in the knowledge pack treats "
                                        f"{v.indication!r} on the {v.area}")
    for problem in rules.check_structure(v, pack):
        raise PlanRefused(problem.field, problem.message)
    if not draft.solution:
        raise PlanRefused("solution", "a solution needs at least one ingredient")
    seen: set[str] = set()
    for i, item in enumerate(draft.solution):
        path = f"solution[{i}]"
        if item.ingredient not in pack.ingredients:
            raise PlanRefused(f"{path}.ingredient",
                              f"{item.ingredient!r} is not in the ingredient catalogue; the medical "
                              "director adds it to the knowledge pack first")
        if item.ingredient in seen:
            raise PlanRefused(f"{path}.ingredient", f"{item.ingredient!r} is listed twice")
        seen.add(item.ingredient)
        if item.unit not in ConcentrationUnit.values:
            raise PlanRefused(f"{path}.unit", f"unknown unit {item.unit!r}")
        if not item.concentration.is_finite() or item.concentration <= 0:
            raise PlanRefused(f"{path}.concentration", "must be above 0")
        if not item.volume_ml.is_finite() or not Decimal("0") < item.volume_ml <= Decimal("100"):
            raise PlanRefused(f"{path}.volume_ml", "must be above 0 and at most 100 ml")
    if draft.anaesthetic_cream and "local_anaesthetic" not in \
            getattr(pack.ingredients.get(draft.anaesthetic_cream), "classes", ()):
        raise PlanRefused("anaesthetic_cream",
                          f"{draft.anaesthetic_cream!r} is not a local anaesthetic of the catalogue")
    deviations = rules.deviations(v, protocol)
    for d in deviations:
        reason = draft.justifications.get(d.field, "").strip()
        if len(reason) < MIN_JUSTIFICATION:
            raise PlanRefused(f"justifications.{d.field}",
                              f"{d.message}: write why (at least {MIN_JUSTIFICATION} characters)")
    return Checked(protocol, deviations, rules.conflicts(protocol))


def _version_fields(draft: PlanDraft, checked: Checked) -> dict[str, Any]:
    v = draft.values
    kept = {d.field for d in checked.deviations}
    return {
        "protocol": checked.protocol.code,
        "indication": v.indication, "area": v.area, "area_size": v.area_size,
        "technique": v.technique, "delivery": v.delivery, "sessions": v.sessions,
        "phases": [{"code": p.code, "sessions": p.sessions, "interval_days": p.interval_days}
                   for p in v.phases],
        "session_minutes": v.session_minutes, "depth_mm": v.depth_mm,
        "anaesthetic_cream": draft.anaesthetic_cream,
        "checkups": list(v.checkups), "outcome_measures": list(v.outcome_measures),
        # Only the reasons for values that are outside the protocol are kept.
        "justifications": {k: r.strip() for k, r in draft.justifications.items() if k in kept},
        "deviations": [{"field": d.field, "message": d.message, "fact": d.fact}
                       for d in checked.deviations],
        "planned_start": draft.planned_start,
        "note": draft.note.strip(),
    }


def _write_solution(version: PlanVersion, solution: Sequence[SolutionItem]) -> None:
    PlanIngredient.objects.bulk_create(
        PlanIngredient(version=version, position=i, ingredient=s.ingredient,
                       concentration=s.concentration, unit=s.unit, volume_ml=s.volume_ml)
        for i, s in enumerate(solution)
    )


def _audit(actor: Actor, plan: TreatmentPlan, action: AuditEvent.Action, *,
           changes: dict[str, Any] | None = None, detail: str = "") -> None:
    record(actor, action=action, object_type="treatment_plan", object_id=str(plan.public_id),
           clinic_id=str(plan.clinic.public_id), patient_id=str(plan.patient.public_id),
           changes=changes, detail=detail)


def create_plan(*, patient: Patient, draft: PlanDraft, by: User, actor: Actor) -> TreatmentPlan:
    pack = active_pack()
    checked = check_draft(draft, pack)
    with transaction.atomic():
        plan = TreatmentPlan.objects.create(patient=patient, clinic=patient.clinic, created_by=by)
        version = PlanVersion.objects.create(plan=plan, number=1, created_by=by,
                                             pack_version=pack.version,
                                             **_version_fields(draft, checked))
        _write_solution(version, draft.solution)
        _audit(actor, plan, AuditEvent.Action.CREATE,
               changes={"status": [None, plan.status], "version": [None, 1]},
               detail=f"protocol {checked.protocol.code}")
    return plan


def _locked(plan: TreatmentPlan) -> TreatmentPlan:
    """The plan row, locked for this transaction (two physicians at once: one waits)."""
    return TreatmentPlan.objects.select_for_update().select_related("patient", "clinic").get(pk=plan.pk)


def _solution_of(version: PlanVersion) -> tuple[SolutionItem, ...]:
    return tuple(SolutionItem(i.ingredient, i.concentration, i.unit, i.volume_ml)
                 for i in version.ingredients.all())


def revise_plan(*, plan: TreatmentPlan, draft: PlanDraft, based_on: int, by: User,
                actor: Actor) -> TreatmentPlan:
    """Save an edit. A material change writes version n+1 and takes the plan back to draft."""
    pack = active_pack()
    checked = check_draft(draft, pack)
    with transaction.atomic():
        plan = _locked(plan)
        if not plan.is_open:
            raise PlanRefused("status", f"a {plan.status} plan cannot be changed")
        if based_on != plan.version:
            raise PlanRefused("based_on", f"the plan is at version {plan.version} now, not "
                                          f"{based_on}: someone changed it since you opened it")
        current = plan.versions.get(number=plan.version)
        fields = _version_fields(draft, checked)
        material = (any(getattr(current, k) != fields[k] for k in MATERIAL)
                    or _solution_of(current) != draft.solution
                    or current.anaesthetic_cream != fields["anaesthetic_cream"])
        changed = sorted(k for k, value in fields.items() if getattr(current, k) != value)
        if material:
            status_before = plan.status
            plan.status = lifecycle.next_status(Step.AMEND, plan.status)
            plan.version += 1
            version = PlanVersion.objects.create(plan=plan, number=plan.version, created_by=by,
                                                 pack_version=pack.version, **fields)
            _write_solution(version, draft.solution)
            plan.updated_at = timezone.now()
            plan.save(update_fields=["status", "version", "updated_at"])
            _audit(actor, plan, AuditEvent.Action.UPDATE,
                   changes={"version": [plan.version - 1, plan.version],
                            "status": [status_before, plan.status]},
                   detail="new version: " + ", ".join(changed or ["solution"]))
        elif changed:
            for k in changed:
                setattr(current, k, fields[k])
            current.save(update_fields=changed)
            plan.updated_at = timezone.now()
            plan.save(update_fields=["updated_at"])
            _audit(actor, plan, AuditEvent.Action.UPDATE,
                   changes={k: [None, str(fields[k])] for k in changed},
                   detail=f"version {plan.version} edited")
    return plan


def draft_of(version: PlanVersion) -> PlanDraft:
    """The stored version as a draft (the editor's starting point, the API's read)."""
    return PlanDraft(
        values=rules.PlanValues(
            area=version.area, area_size=version.area_size, indication=version.indication,
            technique=version.technique, delivery=version.delivery, sessions=version.sessions,
            phases=tuple(rules.Phase(p["code"], p["sessions"], p["interval_days"])
                         for p in version.phases),
            session_minutes=version.session_minutes, depth_mm=version.depth_mm,
            anaesthetic_cream=bool(version.anaesthetic_cream),
            checkups=tuple(version.checkups), outcome_measures=tuple(version.outcome_measures),
        ),
        solution=_solution_of(version),
        anaesthetic_cream=version.anaesthetic_cream,
        justifications=dict(version.justifications),
        planned_start=version.planned_start,
        note=version.note,
    )


def treatment_for(version: PlanVersion, pack: KnowledgePack, *, tz: ZoneInfo) -> dict[str, Any]:
    """The screening contract's `treatment` for this version (the numbing cream included)."""
    codes = [i.ingredient for i in version.ingredients.all()]
    if version.anaesthetic_cream:
        codes.append(version.anaesthetic_cream)
    # Without a planned date, the plan is screened for the earliest first session that leaves
    # room for an allergy test at least 24 h before (F-ALLERGY-TEST): two days ahead, 09:00.
    # The pre-session check screens again for the real date.
    day = version.planned_start or (timezone.now().astimezone(tz).date() + EARLIEST_START)
    start = datetime.combine(day, time(9, 0), tzinfo=tz)
    return {
        "area": version.area, "indication": version.indication, "technique": version.technique,
        "delivery": version.delivery,
        "ingredients": [pack.ingredients[c].name for c in codes],
        "first_session_at": start.isoformat(timespec="seconds"),
    }


def _same_treatment(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("area", "indication", "technique", "delivery")
    return all(a.get(k) == b.get(k) for k in keys) and sorted(a.get("ingredients", [])) == \
        sorted(b.get("ingredients", []))


def approve_plan(*, plan: TreatmentPlan, by: User, actor: Actor,
                 screening: Screening | None = None) -> TreatmentPlan:
    """Approve the current version on a screening of its treatment, and propose it.

    Reuses `screening` when it is the patient's latest, recent, and of this very treatment (its
    review findings accepted since); otherwise screens again. Refuses while anything blocks or a
    review finding is not accepted. Missing items (an allergy test, a blood test) do not stop the
    plan: they are due before the first session, and the session check asks for them.
    """
    pack = active_pack()
    patient = plan.patient
    tz = ZoneInfo(plan.clinic.timezone)
    current = plan.versions.get(number=plan.version)
    lifecycle.next_status(Step.APPROVE, plan.status)  # refuse early, before screening
    treatment = treatment_for(current, pack, tz=tz)
    latest = patient.screenings.order_by("-created_at", "-id").first()
    # One transaction, one commit: the screening (kept even when it refuses) and the approval.
    with transaction.atomic():
        if not (screening is not None and latest is not None and screening.pk == latest.pk
                and timezone.now() - screening.created_at < SCREENING_REUSE
                and _same_treatment(screening.treatment, treatment)):
            allergy_test = latest.input.get("allergy_test") if latest is not None else None
            screening = screen_patient(patient=patient, treatment=treatment,
                                       allergy_test=allergy_test, by=by, actor=actor,
                                       detail=f"plan {plan.public_id} approval")
        refused = _refusal(screening)
        if refused is None:
            locked = _locked(plan)
            if locked.version != current.number:
                raise PlanRefused("based_on", "the plan changed while it was being screened")
            status_before = locked.status
            locked.status = lifecycle.next_status(Step.APPROVE, locked.status)
            locked.updated_at = timezone.now()
            locked.save(update_fields=["status", "updated_at"])
            PlanVersion.objects.filter(pk=current.pk).update(
                approved_at=timezone.now(), approved_by=by, screening=screening)
            _audit(actor, locked, AuditEvent.Action.UPDATE,
                   changes={"status": [status_before, locked.status]},
                   detail=f"approved version {current.number} on screening {screening.public_id} "
                          f"({screening.decision})")
    if refused is not None:
        raise refused
    return locked


def _refusal(screening: Screening) -> ApprovalRefused | None:
    """Why this screening cannot approve the plan: a block, or a review finding not accepted."""
    findings = screening.output["findings"]
    blocks = [f["code"] for f in findings if f["severity"] == "block"]
    if blocks:
        return ApprovalRefused("screening blocks this treatment: " + ", ".join(blocks), screening)
    accepted = set(screening.acceptances.values_list("code", flat=True))
    open_reviews = [f["code"] for f in findings if f["severity"] == "review"
                    and f["code"] not in accepted]
    if open_reviews:
        return ApprovalRefused("accept or resolve these review findings first: "
                               + ", ".join(open_reviews), screening)
    return None


def _move(plan: TreatmentPlan, step: Step, actor: Actor, *, detail: str = "",
          reason: str = "", check: Any = None) -> TreatmentPlan:
    with transaction.atomic():
        locked = _locked(plan)
        try:
            after = lifecycle.next_status(step, locked.status)
        except TransitionRefused as exc:
            raise PlanRefused("status", str(exc)) from None
        if check is not None:
            check(locked)
        before = locked.status
        locked.status = after
        locked.updated_at = timezone.now()
        fields = ["status", "updated_at"]
        if after in lifecycle.CLOSED:
            locked.closed_at = locked.updated_at
            fields.append("closed_at")
        if after == lifecycle.Status.STOPPED:
            locked.stop_reason = reason
            fields.append("stop_reason")
        locked.save(update_fields=fields)
        _audit(actor, locked, AuditEvent.Action.UPDATE, changes={"status": [before, after]},
               detail=detail or step.value)
    return locked


def stop_plan(*, plan: TreatmentPlan, reason: str, actor: Actor) -> TreatmentPlan:
    reason = reason.strip()
    if len(reason) < MIN_JUSTIFICATION:
        raise PlanRefused("reason", f"say why in at least {MIN_JUSTIFICATION} characters")
    return _move(plan, Step.STOP, actor, reason=reason[:500], detail=f"stopped: {reason[:200]}")


def complete_plan(*, plan: TreatmentPlan, actor: Actor) -> TreatmentPlan:
    return _move(plan, Step.COMPLETE, actor)


def activate_plan(*, plan: TreatmentPlan, actor: Actor) -> TreatmentPlan:
    """Accepted → active; only with a valid (signed, not withdrawn) consent to this version."""
    from mesoclinic.plans import consents

    def consented(locked: TreatmentPlan) -> None:
        if consents.valid_consent(locked) is None:
            raise PlanRefused("consent", f"no valid consent to version {locked.version}: the "
                                         "patient signs the current version first")

    return _move(plan, Step.ACTIVATE, actor, check=consented)


def mark_accepted(*, plan: TreatmentPlan, version: int, actor: Actor) -> TreatmentPlan:
    """Proposed → accepted: the consent module calls this when the patient signs `version`."""

    def same_version(locked: TreatmentPlan) -> None:
        if locked.version != version:
            raise PlanRefused("plan_version", f"the consent is to version {version}; the plan is "
                                              f"at version {locked.version}")

    return _move(plan, Step.ACCEPT, actor, check=same_version, detail=f"consent to version {version}")


def consent_withdrawn(*, plan: TreatmentPlan, actor: Actor, reason: str) -> TreatmentPlan:
    """The patient withdrew consent: no further sessions (active → stopped, accepted → proposed)."""
    if plan.status not in (lifecycle.Status.ACCEPTED, lifecycle.Status.ACTIVE):
        return plan
    return _move(plan, Step.WITHDRAW, actor, reason=f"consent withdrawn: {reason}"[:500],
                 detail="consent withdrawn")
