"""Screen a stored patient for a proposed treatment, store the result, accept review findings."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.knowledge.store import active_pack
from mesoclinic.lib.constraints import save_checked
from mesoclinic.patients.models import LabResult, MedicalHistory, Patient, Workup
from mesoclinic.screening.contract import InvalidIntake, decision_to_json, parse_intake
from mesoclinic.screening.models import FindingAcceptance, Screening
from mesoclinic.screening.rules import RULES_VERSION, screen

_TRI = {"yes": True, "no": False, "unknown": None}


class ScreeningRefused(Exception):
    """The request cannot be honoured; the message names what is wrong."""


def intake_for(patient: Patient, treatment: dict[str, Any],
               allergy_test: dict[str, Any] | None, *, as_of: datetime) -> dict[str, Any]:
    """The contract's input JSON built from the stored record (unknown stays null)."""
    history: MedicalHistory | None = patient.histories.order_by("-version").first()
    h = history.values() if history else {}

    def tri(name: str) -> bool | None:
        return _TRI.get(h.get(name, "unknown"))

    def enum(name: str) -> str | None:
        value = h.get(name, "unknown")
        return None if value == "unknown" else value

    workup = Workup.objects.filter(patient=patient).first()
    labs: dict[str, LabResult | None] = {"blood": None, "urine": None}
    # The latest of each kind in one query (a patient has a handful of results).
    for lab in patient.lab_results.filter(kind__in=labs).order_by("-taken_on").only("kind", "taken_on"):
        if labs[lab.kind] is None:
            labs[lab.kind] = lab

    def iso(value: object) -> str | None:
        return value.isoformat() if value is not None else None  # type: ignore[attr-defined]

    return {
        "as_of": as_of.isoformat(),
        "patient": {
            "birth_date": patient.birth_date.isoformat(),
            "sex": patient.sex,
            "pregnant": tri("pregnant"),
            "breastfeeding": tri("breastfeeding"),
            "diabetes": enum("diabetes"),
            "insulin": tri("insulin"),
            "cancer": enum("cancer"),
            "multi_drug_therapy": tri("multi_drug_therapy"),
            "heart_disease": tri("heart_disease"),
            "stroke_history": tri("stroke_history"),
            "liver_disorder": tri("liver_disorder"),
            "kidney_disorder": tri("kidney_disorder"),
            "medications": [
                {"name": m.name, "atc": m.atc_code or None, "last_dose_on": iso(m.last_dose_on)}
                for m in patient.medications.current()
            ],
            "allergies": [{"substance": a.substance} for a in patient.allergies.current()],
        },
        "treatment": treatment,
        "workup": {
            "physical_exam_on": iso(workup.physical_exam_on if workup else None),
            "blood_test_on": iso(labs["blood"].taken_on if labs["blood"] else None),
            "urine_test_on": iso(labs["urine"].taken_on if labs["urine"] else None),
            "history_reviewed_on": iso(workup.history_reviewed_on if workup else None),
        },
        "allergy_test": allergy_test,
    }


def screen_patient(
    *, patient: Patient, treatment: dict[str, Any], allergy_test: dict[str, Any] | None,
    by: User | None, actor: Actor, trigger: str = Screening.Trigger.MANUAL, detail: str = "",
) -> Screening:
    """Screen the patient's stored record for a treatment and store the result.

    Raises InvalidIntake (naming the field) when the treatment is not valid.
    """
    # "Today" is the clinic's date (issue 7): at 01:30 in Istanbul it is already tomorrow in UTC terms.
    now = timezone.now().astimezone(ZoneInfo(patient.clinic.timezone))
    pack = active_pack()
    data = intake_for(patient, treatment, allergy_test, as_of=now)
    try:
        output = decision_to_json(screen(parse_intake(data, now=now, pack=pack), pack))
    except InvalidIntake as exc:
        if trigger != Screening.Trigger.RECORD_CHANGED:
            raise
        # A proposal screened under an older pack may no longer pass the contract (an ingredient
        # the catalogue does not know). The record change must still go through (an allergy must
        # never fail to save), and the stale decision must not stand: incomplete, naming the field.
        output = _no_longer_valid(exc, pack.version)
    with transaction.atomic():
        screening = Screening.objects.create(
            patient=patient, clinic=patient.clinic, created_by=by, trigger=trigger,
            trigger_detail=detail[:200], input=data, output=output,
            decision=output["decision"], rules_version=output["rules_version"],
        )
        record(actor, action=AuditEvent.Action.CREATE, object_type="screening",
               object_id=str(screening.public_id), clinic_id=str(patient.clinic.public_id),
               patient_id=str(patient.public_id),
               changes={"decision": [None, screening.decision]}, detail=detail or trigger)
    return screening


def _no_longer_valid(exc: InvalidIntake, pack_version: str) -> dict[str, Any]:
    """The contract's output for a stored proposal that the pack in force now refuses."""
    message = (f"The proposed treatment no longer passes screening's checks ({exc}). "
               "Screen again with a corrected proposal.")
    return {
        "decision": "incomplete",
        "findings": [{"code": "MISSING_INFORMATION", "severity": "missing", "fact": "F-WORKUP",
                      "message": message, "field": exc.field}],
        "required_actions": [{"code": "MISSING_INFORMATION", "due_by": None,
                              "message": f"Correct {exc.field} and screen again.",
                              "field": exc.field}],
        "rules_version": f"{RULES_VERSION}+pack-{pack_version}",
    }


def rescreen_after_change(*, patient: Patient, what: str, by: User | None, actor: Actor) -> Screening | None:
    """Re-run the latest screening when the history, medications or allergies change."""
    latest = patient.screenings.order_by("-created_at", "-id").first()
    if latest is None:
        return None
    return screen_patient(
        patient=patient, treatment=latest.input["treatment"],
        allergy_test=latest.input.get("allergy_test"), by=by, actor=actor,
        trigger=Screening.Trigger.RECORD_CHANGED, detail=f"{what} changed",
    )


def accept_review_finding(
    *, screening: Screening, code: str, reason: str, by: User, actor: Actor
) -> FindingAcceptance:
    """A physician accepts a `review` finding with a reason; `block` findings never can be."""
    reason = reason.strip()
    severities = {f["code"]: f["severity"] for f in screening.output["findings"]}
    if code not in severities:
        raise ScreeningRefused(f"code: this screening has no finding {code!r}")
    if severities[code] != "review":
        raise ScreeningRefused(f"code: a {severities[code]} finding cannot be overridden")
    if len(reason) < 10:
        raise ScreeningRefused("reason: say why in at least 10 characters")
    with transaction.atomic():
        acceptance = FindingAcceptance(screening=screening, code=code, reason=reason[:1000],
                                       accepted_by=by)
        try:
            # The unique constraint answers "already accepted", also for two physicians at once.
            save_checked(acceptance, force_insert=True)
        except ValidationError as exc:
            if getattr(exc, "code", None) == "acceptance_once_per_finding":
                raise ScreeningRefused(f"code: {code} has already been accepted") from None
            raise ScreeningRefused(f"reason: {exc.messages[0]}") from None
        patient = screening.patient
        record(actor, action=AuditEvent.Action.UPDATE, object_type="screening",
               object_id=str(screening.public_id), clinic_id=str(patient.clinic.public_id),
               patient_id=str(patient.public_id),
               changes={"accepted": [None, code]}, detail=f"review accepted: {reason}")
    return acceptance
