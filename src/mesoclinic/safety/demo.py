"""Demo safety data: an expected side effect and a suspected infection with its alert and hold."""

from __future__ import annotations

from django.utils import timezone

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.safety import actions
from mesoclinic.safety.actions import EventSpec
from mesoclinic.safety.models import AdverseEvent
from mesoclinic.safety.surveillance import local_date

ACTOR = Actor(username="demo", via="cli")


def load_safety(clinic: Clinic, *, reporter: User) -> dict[str, int]:
    """Two events on the clinic's signed sessions, unless it has events already."""
    if AdverseEvent.objects.filter(clinic=clinic).exists():
        return {"events": 0}
    signed = TreatmentSession.objects.filter(clinic=clinic, status="signed").order_by("started_at")
    sessions = list(signed[:2])
    today = local_date(timezone.now(), clinic.timezone)
    made = 0
    if sessions:
        actions.report_event(patient=sessions[0].patient, by=reporter, actor=ACTOR, spec=EventSpec(
            effect="swelling", onset=today, severity="mild", sessions=[sessions[0].public_id],
            description="Slight puffiness at the injection points, settling.", action_taken="none"))
        made += 1
    if len(sessions) > 1:
        actions.report_event(patient=sessions[1].patient, by=reporter, actor=ACTOR, spec=EventSpec(
            effect="infection", onset=today, severity="moderate", sessions=[sessions[1].public_id],
            description="Warm, tender red papule at one injection point; no fever.",
            action_taken="observation"))
        made += 1
    return {"events": made}
