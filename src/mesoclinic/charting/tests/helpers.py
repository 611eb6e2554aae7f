"""A patient ready for a session, made the real way: every pre-session check item holds.

`ready(cast)` gives the plan (approved, consented, active), the lots, and everything the check
reads; a test then breaks exactly one thing and looks for its code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from mesoclinic.accounts.models import Credential, User
from mesoclinic.audit.log import Actor
from mesoclinic.charting import actions
from mesoclinic.charting.actions import ComponentSpec, PointSpec
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.inventory import actions as stock
from mesoclinic.inventory.models import Lot
from mesoclinic.patients.models import LabResult, Patient, Workup
from mesoclinic.patients.tests.factories import MedicalHistoryFactory
from mesoclinic.plans import actions as plan_actions
from mesoclinic.plans import consents
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.plans.tests.helpers import HA, draft

ACTOR = Actor(username="test", via="cli")
FAR = date(2099, 12, 31)


@dataclass
class Ready:
    plan: TreatmentPlan
    ha_lot: Lot
    patient: Patient

    def components(self, quantity: str = "2") -> list[ComponentSpec]:
        return [ComponentSpec(ingredient="hyaluronic_acid", lot=self.ha_lot, quantity=Decimal(quantity))]


def credentials(user: User, *, physician: bool = True, until: date | None = None) -> None:
    until = until or FAR
    since = date(2015, 1, 1)
    if physician:
        Credential.objects.create(user=user, licence_type="medical", number="TTB-1", issuing_body="TTB",
                                  specialisation="", valid_from=since, valid_until=until)
        Credential.objects.create(user=user, licence_type="specialist", number="DERM-1",
                                  issuing_body="TDD", specialisation="dermatology",
                                  valid_from=since, valid_until=until)
    else:
        Credential.objects.create(user=user, licence_type="nursing", number="N-1", issuing_body="THD",
                                  specialisation="", valid_from=since, valid_until=until)
    Credential.objects.create(user=user, licence_type="training", number="MESO-1", issuing_body="SFM",
                              specialisation="mesotherapy", valid_from=since, valid_until=until)


def ha_lot(cast: Any, number: str = "HA-2291", quantity: str = "10", expires_on: date = FAR) -> Lot:
    product = stock.add_product(cast.clinic, name="Hyaluronic acid 1.5%", kind="component", unit="ml",
                                ingredients=("hyaluronic_acid",), by=cast.manager, actor=ACTOR) \
        if not Lot.objects.filter(clinic=cast.clinic).exists() else \
        Lot.objects.filter(clinic=cast.clinic).first().product  # type: ignore[union-attr]
    return stock.receive(cast.clinic, product=product, number=number, expires_on=expires_on,
                         supplier="MesoPharm", quantity=quantity, by=cast.manager, actor=ACTOR)


def ready(cast: Any, *, patient: Patient | None = None, lot_number: str = "HA-2291") -> Ready:
    """Everything the pre-session check asks for, at the cast's clinic, for the physician."""
    patient = patient or cast.patient
    clinic = cast.clinic
    clinic.licence_number = "IST-34-0001"
    clinic.licence_valid_until = FAR
    clinic.save(update_fields=["licence_number", "licence_valid_until"])
    if not Credential.objects.filter(user=cast.physician).exists():
        credentials(cast.physician)
        credentials(cast.nurse, physician=False)
    if not patient.histories.exists():
        MedicalHistoryFactory(patient=patient, recorded_by=cast.physician)
    Workup.objects.update_or_create(patient=patient, defaults={
        "signed_off_by": cast.physician, "signed_off_at": timezone.now() - timedelta(days=5),
        "physical_exam_on": timezone.localdate() - timedelta(days=5),
        "history_reviewed_on": timezone.localdate() - timedelta(days=5)})
    for kind in ("blood", "urine"):
        LabResult.objects.create(patient=patient, kind=kind,
                                 taken_on=timezone.localdate() - timedelta(days=6),
                                 values="normal", recorded_by=cast.physician)
    plan = plan_actions.create_plan(patient=patient, draft=dataclasses.replace(draft(solution=(HA,))),
                                    by=cast.physician, actor=ACTOR)
    plan = plan_actions.approve_plan(plan=plan, by=cast.physician, actor=ACTOR)
    document = consents.document_for(plan)
    consents.sign_consent(plan=plan, signature=consents.Signature(
        patient_id=str(patient.public_id), plan_version=plan.version, template=document.template,
        template_version=document.version, language=document.language, sha256=document.sha256,
        signer_name=f"{patient.given_name} {patient.family_name}", method="typed", drawing="",
        confirmed=True, photo_consent=False), witness=cast.physician, actor=ACTOR,
        render_pdf=lambda consent, document: b"%PDF-1.4 test")
    plan.refresh_from_db()
    plan = plan_actions.activate_plan(plan=plan, actor=ACTOR)
    actions.record_allergy_test(clinic=clinic, patient=patient,
                                performed_at=timezone.now() - timedelta(days=2),
                                ingredients=["hyaluronic_acid"], reactions=[], note="", by=cast.nurse,
                                actor=ACTOR)
    actions.rescreen_for_session(plan=plan, by=cast.physician, actor=ACTOR)
    return Ready(plan=plan, ha_lot=ha_lot(cast, number=lot_number), patient=patient)


def started(cast: Any, state: Ready | None = None, **kwargs: Any) -> TreatmentSession:
    state = state or ready(cast)
    return actions.start_session(clinic=cast.clinic, patient=state.patient, plan=state.plan,
                                 appointment=None, performer=kwargs.pop("performer", cast.physician),
                                 assistant=None, device=None,
                                 components=kwargs.pop("components", None) or state.components(),
                                 actor=ACTOR, **kwargs)


def cheek(n: int = 3, depth: str = "1.5", volume: str = "0.05") -> list[PointSpec]:
    """`n` points on the left cheek of the face-front map."""
    from mesoclinic.charting import maps

    region = next(r for r in maps.MAPS["face_front"].regions if r.id == "cheek_left")
    x, y = region.anchor
    return [PointSpec(map_id="face_front", x=x + i * 0.5, y=y, depth_mm=Decimal(depth),
                      volume_ml=Decimal(volume)) for i in range(n)]
