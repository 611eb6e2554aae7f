"""The demo clinics' stock and a few charted sessions, made the real way.

Each charted session passes the pre-session check on the record as it stands (an allergy test two
days earlier, a screening today, the cream 40 minutes before where the plan uses one), is charted
on the face map and signed, which draws its lots. One lot is then recalled, so the recall list
names a patient; one session is left in progress. Running it again adds nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor
from mesoclinic.charting import actions, aftercare_issue, maps, precheck
from mesoclinic.charting.actions import ChartUpdate, ComponentSpec, PointSpec, SessionNotReady, SessionRefused
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.inventory import actions as stock
from mesoclinic.inventory.demo import seed_inventory
from mesoclinic.inventory.models import Lot
from mesoclinic.patients.models import LabResult, Workup
from mesoclinic.plans import actions as plan_actions
from mesoclinic.plans.actions import PlanRefused
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.scheduling.models import Appointment, Kind

ACTOR = Actor(username="demo", via="cli")
CHARTED = 2  # signed sessions per clinic; one more is left in progress
REGIONS = ("cheek_left", "cheek_right", "forehead")


def _points(per_region: int = 4) -> list[PointSpec]:
    face = maps.MAPS["face_front"]
    points = []
    for region_id in REGIONS:
        x, y = face.region(region_id).anchor
        points += [PointSpec("face_front", x + (i % 2) * 1.5, y + (i // 2) * 1.5, Decimal("1.5"),
                             Decimal("0.05")) for i in range(per_region)]
    return points


def _lot(clinic: Clinic, code: str, exclude: tuple[int, ...] = ()) -> Lot | None:
    today = timezone.localdate()
    return (Lot.objects.for_clinic(clinic).not_recalled().unexpired(today).in_stock()
            .filter(product__ingredients__code=code, product__kind="component").exclude(pk__in=exclude)
            .select_related("product").order_by("expires_on", "id").first())


def _prepare(plan: TreatmentPlan, performer: User, nurse: User) -> None:
    """What a session needs before it starts: the plan active, the test, today's screening."""
    if plan.status == TreatmentPlan.Status.ACCEPTED:
        plan_actions.activate_plan(plan=plan, actor=ACTOR)
    plan.refresh_from_db()
    now = timezone.now()
    today = timezone.localdate()
    patient = plan.patient
    if not Workup.objects.filter(patient=patient, signed_off_at__isnull=False).exists():
        # The consultation before the first session (F-WORKUP): examined, tested, signed off.
        Workup.objects.update_or_create(patient=patient, defaults={
            "physical_exam_on": today - timedelta(days=7), "history_reviewed_on": today - timedelta(days=7),
            "physical_exam_note": "Skin intact; no infection or inflammation at the sites.",
            "signed_off_by": performer, "signed_off_at": now - timedelta(days=6)})
        for kind, values in (("blood", "Hb 13.1 g/dL; platelets 240 ×10⁹/L; glucose 88 mg/dL"),
                             ("urine", "Protein negative; glucose negative")):
            LabResult.objects.create(patient=patient, kind=kind, taken_on=today - timedelta(days=8),
                                     values=values, abnormal=False, recorded_by=performer)
    actions.record_allergy_test(clinic=plan.clinic, patient=plan.patient,
                                performed_at=now - timedelta(days=2, hours=1),
                                ingredients=precheck.plan_ingredients(plan), reactions=[], note="",
                                by=nurse, actor=ACTOR)
    actions.rescreen_for_session(plan=plan, by=performer, actor=ACTOR)
    if plan.current.anaesthetic_cream:
        appointment = plan.appointments.filter(kind=Kind.TREATMENT).order_by("starts_at").first()
        actions.record_cream(clinic=plan.clinic, patient=plan.patient, appointment=appointment,
                             applied_at=now - timedelta(minutes=40), by=nurse, actor=ACTOR)


def load_sessions(clinic: Clinic, *, performer: User, nurse: User, manager: User) -> dict[str, int]:
    """Stock the clinic and chart a few sessions, unless it has sessions already."""
    seed_inventory(clinic, by=manager, today=timezone.localdate())
    if TreatmentSession.objects.filter(clinic=clinic).exists():
        return {"sessions": 0}
    made, recalled_lot = 0, None
    plans = TreatmentPlan.objects.filter(clinic=clinic, status__in=("accepted", "active")).order_by("id")
    for plan in plans[:CHARTED + 1]:
        try:
            _prepare(plan, performer, nurse)
        except (PlanRefused, SessionRefused):
            continue
        plan.refresh_from_db()
        lot = _lot(clinic, "hyaluronic_acid", exclude=(recalled_lot.pk,) if recalled_lot else ())
        if lot is None:
            break
        first = plan.appointments.filter(kind=Kind.TREATMENT, series_index=1,
                                         status=Appointment.Status.BOOKED).first()
        try:
            session = actions.start_session(
                clinic=clinic, patient=plan.patient, plan=plan,
                appointment=first if first is not None and not hasattr(first, "treatment_session") else None,
                performer=performer, assistant=nurse, device=None,
                components=[ComponentSpec("hyaluronic_acid", lot, Decimal("2.00"), "1.5 %")], actor=ACTOR)
        except (SessionNotReady, SessionRefused):
            continue
        made += 1
        if made > CHARTED:
            break  # left in progress: the chart is still open in the demo
        session = actions.save_chart(session=session, update=ChartUpdate(
            points=_points(), immediate_reactions="Mild redness at the injection points.",
            notes="Tolerated well; no bleeding."), expected_version=session.version, actor=ACTOR)
        signed = actions.sign_session(session=session, by=performer, actor=ACTOR)
        aftercare_issue.issue(signed, actor=ACTOR)
        if recalled_lot is None:
            recalled_lot = lot
    if recalled_lot is not None:
        # The supplier's notice arrives after a patient was treated from the lot: the recall
        # list has someone to call.
        stock.recall(Lot.objects.get(pk=recalled_lot.pk), clinic=clinic, by=manager, actor=ACTOR,
                     reason="Supplier notice: particles found in retained samples of this batch.")
    return {"sessions": made}
