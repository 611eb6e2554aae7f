"""The pre-session check, from the database as of now: build the contract's input, run the engine.

The engine (`session_check`) is the one `mesoclinic session-check` runs; this module only reads
what the record says at this moment and writes it in the contract's words, so the page, the API
and the CLI can never disagree about whether a session may start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from mesoclinic.accounts.models import Clinic, Credential, Membership, User
from mesoclinic.accounts.permissions import Role
from mesoclinic.charting import hooks, session_check
from mesoclinic.charting.models import AllergyTest, CreamApplication
from mesoclinic.charting.session_check_contract import parse, to_json
from mesoclinic.inventory.models import Lot
from mesoclinic.patients.models import Allergy, AllergyStatement, MedicalHistory, Medication, Patient
from mesoclinic.plans.models import Consent, TreatmentPlan
from mesoclinic.screening.models import Screening

# Findings the screening leaves open until met or accepted; `info` never holds a session back.
OPEN_SEVERITIES = ("block", "review", "condition", "missing")
# Before this many minutes ahead, a cream application belongs to another session.
CREAM_WINDOW_HOURS = 6


@dataclass(frozen=True)
class LotUse:
    """A lot the performer means to draw from, and how much of it today's solution needs."""

    lot: Lot
    needed: Decimal


@dataclass(frozen=True)
class Blocking:
    code: str
    message: str
    fix: str


@dataclass(frozen=True)
class Outcome:
    ready: bool
    blocking: list[Blocking]
    input: dict[str, Any]
    output: dict[str, Any]


def _iso(moment: datetime | None) -> str | None:
    # Microseconds kept: a record change in the same second as the screening still makes it stale.
    return None if moment is None else moment.isoformat()


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def performer_role(clinic: Clinic, user: User) -> str | None:
    """"physician" or "nurse" at this clinic (a physician who is also a nurse acts as physician)."""
    roles = set(Membership.objects.filter(clinic=clinic, user=user).values_list("role", flat=True))
    if Role.PHYSICIAN in roles:
        return "physician"
    if Role.NURSE in roles:
        return "nurse"
    return None


def _credentials(user: User) -> list[dict[str, Any]]:
    """Our credential records in the contract's kinds (F-CREDENTIALS).

    A medical or nursing licence is what it says; a specialist certificate in dermatology, or a
    medical licence registered in dermatology, counts as dermatology; a training or specialist
    certificate naming mesotherapy counts as mesotherapy training.
    """
    kinds: list[dict[str, Any]] = []
    for credential in Credential.objects.filter(user=user):
        span = {"valid_from": _day(credential.valid_from), "valid_until": _day(credential.valid_until)}
        speciality = credential.specialisation.casefold()
        if credential.licence_type == Credential.LicenceType.MEDICAL:
            kinds.append({"kind": "medical_licence", **span})
            # A medical licence registered in dermatology is the specialist's licence too.
            if "dermatolog" in speciality:
                kinds.append({"kind": "dermatology", **span})
        elif credential.licence_type == Credential.LicenceType.NURSING:
            kinds.append({"kind": "nursing_licence", **span})
        if credential.licence_type in (Credential.LicenceType.SPECIALIST, Credential.LicenceType.TRAINING):
            if "dermatolog" in speciality and credential.licence_type == Credential.LicenceType.SPECIALIST:
                kinds.append({"kind": "dermatology", **span})
            if "mesotherap" in speciality:
                kinds.append({"kind": "mesotherapy_training", **span})
    return kinds


def _record_changed_at(patient: Patient) -> datetime | None:
    """The last change of history, medications or allergies (a retraction is a change too)."""
    moments = [
        MedicalHistory.objects.filter(patient=patient).aggregate(at=Max("recorded_at"))["at"],
        Medication.objects.filter(patient=patient).aggregate(at=Max("recorded_at"))["at"],
        Medication.objects.filter(patient=patient).aggregate(at=Max("retracted_at"))["at"],
        Allergy.objects.filter(patient=patient).aggregate(at=Max("recorded_at"))["at"],
        Allergy.objects.filter(patient=patient).aggregate(at=Max("retracted_at"))["at"],
        AllergyStatement.objects.filter(patient=patient).aggregate(at=Max("stated_at"))["at"],
    ]
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def _screening(patient: Patient, now: datetime) -> dict[str, Any] | None:
    screening = (Screening.objects.filter(patient=patient, created_at__lte=now)
                 .order_by("-created_at", "-id").first())
    if screening is None:
        return None
    accepted = set(screening.acceptances.values_list("code", flat=True))
    open_items = [{"code": f["code"], "severity": f["severity"]}
                  for f in screening.output.get("findings", [])
                  if f.get("severity") in OPEN_SEVERITIES and f["code"] not in accepted]
    return {"at": _iso(screening.created_at), "decision": str(screening.decision), "open": open_items}


def plan_ingredients(plan: TreatmentPlan) -> list[str]:
    """Today's solution, and the numbing cream when the plan uses one (both are tested)."""
    version = plan.current
    codes = [i.ingredient for i in version.ingredients.all()]
    if version.anaesthetic_cream:
        codes.append(version.anaesthetic_cream)
    return codes


def latest_allergy_test(patient: Patient, now: datetime) -> dict[str, Any] | None:
    test = AllergyTest.objects.filter(patient=patient, performed_at__lte=now).first()
    if test is not None:
        return {"at": _iso(test.performed_at), "ingredients": list(test.ingredients),
                "reactions": list(test.reactions)}
    # A test recorded with an earlier screening (before tests were charted here) still counts.
    screening = Screening.objects.filter(patient=patient).order_by("-created_at", "-id").first()
    recorded = (screening.input.get("allergy_test") or {}) if screening is not None else {}
    if isinstance(recorded, dict) and recorded.get("performed_at"):
        return {"at": recorded["performed_at"], "ingredients": list(recorded.get("tested") or []),
                "reactions": list(recorded.get("reactive_to") or [])}
    return None


def _cream_applied_at(patient: Patient, now: datetime) -> datetime | None:
    since = now - timedelta(hours=CREAM_WINDOW_HOURS)
    application = CreamApplication.objects.filter(patient=patient, applied_at__gte=since).first()
    return None if application is None else application.applied_at


def _consent(plan: TreatmentPlan) -> dict[str, Any] | None:
    consent = Consent.objects.filter(plan=plan).order_by("-signed_at", "-id").first()
    if consent is None:
        return None
    return {"plan_version": consent.plan_version, "signed_at": _iso(consent.signed_at),
            "withdrawn_at": _iso(consent.withdrawn_at)}


def _clinic_licence(clinic: Clinic) -> dict[str, Any] | None:
    if not clinic.licence_number:
        return None
    # We keep the licence's end only: it counts from its first day on record.
    return {"valid_from": date.min.isoformat(), "valid_until": _day(clinic.licence_valid_until)}


def build_input(*, clinic: Clinic, patient: Patient, plan: TreatmentPlan | None, performer: User,
                lots: Sequence[LotUse], now: datetime | None = None) -> dict[str, Any]:
    """The contract's input for this session, read from the database as of `now`."""
    tz = clinic.timezone
    now = (now or timezone.now()).astimezone(ZoneInfo(tz))
    plan_data: dict[str, Any] | None = None
    if plan is not None:
        version = plan.current
        plan_data = {"version": plan.version, "status": str(plan.status),
                     "ingredients": plan_ingredients(plan),
                     "uses_anaesthetic_cream": bool(version.anaesthetic_cream),
                     "approved_by_physician": version.approved_at is not None}
    workup = getattr(patient, "workup", None)
    role = performer_role(clinic, performer)
    return {
        "now": _iso(now),
        "timezone": tz,
        "screening": _screening(patient, now),
        "record_changed_at": _iso(_record_changed_at(patient)),
        "plan": plan_data,
        "consent": _consent(plan) if plan is not None else None,
        "allergy_test": latest_allergy_test(patient, now),
        "workup": None if workup is None else {"signed_off_at": _iso(workup.signed_off_at)},
        "cream_applied_at": _iso(_cream_applied_at(patient, now)),
        # Only physicians and nurses chart (Perm.CHART); anyone else is refused before this.
        "performer": {"role": role or "nurse", "credentials": _credentials(performer)},
        "clinic_licence": _clinic_licence(clinic),
        # The safety app's open events (charting.hooks: it sits above charting).
        "open_adverse_events": hooks.open_adverse_events(patient),
        "lots": [{"product": use.lot.product.name, "lot": use.lot.number,
                  "expires": _day(use.lot.expires_on), "recalled": use.lot.recalled_at is not None,
                  "available": float(use.lot.on_hand), "needed": float(use.needed)}
                 for use in lots],
    }


def run(data: dict[str, Any]) -> Outcome:
    """Run the engine on an input built here, with messages in the active language."""
    result = session_check.check(parse(data))
    blocking = []
    for item in result.blocking:
        message, fix = session_check.localise(item, gettext)
        blocking.append(Blocking(item.code, message, fix))
    return Outcome(ready=result.ready, blocking=blocking, input=data, output=to_json(result))


def evaluate(*, clinic: Clinic, patient: Patient, plan: TreatmentPlan | None, performer: User,
             lots: Sequence[LotUse], now: datetime | None = None) -> Outcome:
    return run(build_input(clinic=clinic, patient=patient, plan=plan, performer=performer, lots=lots,
                           now=now))
