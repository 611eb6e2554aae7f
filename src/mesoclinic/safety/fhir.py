"""Adverse events as FHIR R4 `AdverseEvent` resources, one by one or as a collection Bundle.

The mappers build plain JSON (dicts) and are checked in tests with the `fhir.resources` models.
fhir.resources 8 (pydantic 2) has no R4 package: `fhir.resources.R4B` stands in for it, and R4B
left AdverseEvent, Medication and Bundle as R4 defined them, so a resource valid here is R4.

Mapping (R4 AdverseEvent):
- `id` and `identifier` (system urn:mesoclinic:adverse-event): the event's public id.
- `actuality` "actual" (1..1); `subject` (1..1) "Patient/<public id>", never a name.
- `event`: the knowledge pack's side-effect code (system urn:mesoclinic:side-effect) and label;
  "other" carries the typed name as its text. An infection says suspected or confirmed in its text
  and in an extension.
- `date` the onset (a date), `recordedDate` the report time (with the clinic's UTC offset),
  `recorder` "Practitioner/<user public id>".
- `seriousness` serious / non-serious (HL7 adverse-event-seriousness); the criteria are one
  extension each, since codings of one CodeableConcept must all mean the same thing.
- `severity` and `outcome` from their HL7 code systems (both bindings are required in R4).
- `suspectEntity`: each linked session as "Procedure/<public id>", and each lot used in them as a
  contained Medication (product name, lot number, expiry) referenced as "#lot-<n>".
R4 AdverseEvent has no element for the action taken, the resolution date, expectedness or our
open/closed status: the CSV export carries those.

Code displays are English on purpose: a coding's display belongs to its code system (the pack's
labels are English too), and an export must not change with the reader's language.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone, translation
from fhir.resources.R4B.adverseevent import AdverseEvent as FhirAdverseEvent
from fhir.resources.R4B.bundle import Bundle as FhirBundle

from mesoclinic.charting.models import TreatmentSession
from mesoclinic.inventory.models import Lot
from mesoclinic.knowledge.pack import SideEffect
from mesoclinic.knowledge.store import active_pack
from mesoclinic.safety.models import INFECTION, OTHER_EFFECT, AdverseEvent, EventOutcome, Seriousness

EVENT_SYSTEM = "urn:mesoclinic:adverse-event"
EFFECT_SYSTEM = "urn:mesoclinic:side-effect"
LOT_SYSTEM = "urn:mesoclinic:lot"
CRITERION_SYSTEM = "urn:mesoclinic:seriousness-criterion"
INFECTION_EXTENSION = "urn:mesoclinic:fhir:extension:infection-status"
CRITERION_EXTENSION = "urn:mesoclinic:fhir:extension:seriousness-criterion"
SERIOUSNESS_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
SEVERITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
OUTCOME_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"

# The HL7 code systems' codes and displays (R4 4.0.1).
SEVERITY = {"mild": "Mild", "moderate": "Moderate", "severe": "Severe"}
OUTCOME_CODES = {"resolved": "Resolved", "recovering": "Recovering", "ongoing": "Ongoing",
                 "resolvedWithSequelae": "Resolved with Sequelae", "fatal": "Fatal", "unknown": "Unknown"}
OUTCOME = {
    EventOutcome.ONGOING: "ongoing",
    EventOutcome.RECOVERING: "recovering",
    EventOutcome.RECOVERED: "resolved",
    EventOutcome.SEQUELAE: "resolvedWithSequelae",
    EventOutcome.FATAL: "fatal",
    EventOutcome.UNKNOWN: "unknown",
}
ACTUALITY = ("actual", "potential")
BUNDLE_TYPES = ("document", "message", "transaction", "transaction-response", "batch",
                "batch-response", "history", "searchset", "collection")


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _event_code(event: AdverseEvent, side_effects: Mapping[str, SideEffect]) -> dict[str, Any]:
    if event.effect == OTHER_EFFECT:
        return {"coding": [_coding(EFFECT_SYSTEM, OTHER_EFFECT, "Other side effect")],
                "text": event.other_effect}
    entry = side_effects.get(event.effect)
    # A code a later pack retired still exports, under its code.
    label = entry.label if entry is not None else event.effect
    concept: dict[str, Any] = {"coding": [_coding(EFFECT_SYSTEM, event.effect, label)], "text": label}
    if event.effect == INFECTION:
        concept["text"] = f"{label} ({event.infection})"
    return concept


def sessions_of(event: AdverseEvent) -> list[TreatmentSession]:
    """The event's sessions by number; sorted here so that a prefetched list costs no query."""
    return sorted(event.sessions.all(), key=lambda s: (s.session_number, s.pk))


def lots_of(event: AdverseEvent) -> list[Lot]:
    """The lots used in the event's sessions, each once, in session and component order."""
    seen: dict[int, Lot] = {}
    for session in sessions_of(event):
        for component in sorted(session.components.all(), key=lambda c: c.position):
            seen.setdefault(component.lot_id, component.lot)
    return list(seen.values())


def adverse_event_resource(event: AdverseEvent, *,
                           side_effects: Mapping[str, SideEffect] | None = None) -> dict[str, Any]:
    """The event as an R4 AdverseEvent (JSON). Pass the pack's side effects when mapping many."""
    if side_effects is None:
        side_effects = active_pack().side_effects
    zone = zoneinfo.ZoneInfo(event.clinic.timezone)
    lots = lots_of(event)
    contained = [{
        "resourceType": "Medication",
        "id": f"lot-{n}",
        "identifier": [{"system": LOT_SYSTEM, "value": str(lot.public_id)}],
        "code": {"text": lot.product.name},
        "batch": {"lotNumber": lot.number, "expirationDate": lot.expires_on.isoformat()},
    } for n, lot in enumerate(lots, start=1)]
    suspects: list[dict[str, Any]] = [
        {"instance": {"reference": f"Procedure/{session.public_id}",
                      "display": f"Mesotherapy session {session.session_number}"}}
        for session in sessions_of(event)]
    suspects += [{"instance": {"reference": f"#{medication['id']}",
                               "display": f"{lot.product.name}, lot {lot.number}"}}
                 for medication, lot in zip(contained, lots, strict=True)]
    extensions: list[dict[str, Any]] = []
    if event.effect == INFECTION:
        extensions.append({"url": INFECTION_EXTENSION, "valueCode": event.infection})
    with translation.override("en"):
        extensions += [{"url": CRITERION_EXTENSION,
                        "valueCoding": _coding(CRITERION_SYSTEM, code, str(Seriousness(code).label))}
                       for code in event.seriousness]
    resource: dict[str, Any] = {"resourceType": "AdverseEvent", "id": str(event.public_id)}
    if contained:
        resource["contained"] = contained
    if extensions:
        resource["extension"] = extensions
    serious = "serious" if event.serious else "non-serious"
    outcome = OUTCOME[EventOutcome(event.outcome)]
    resource |= {
        "identifier": {"system": EVENT_SYSTEM, "value": str(event.public_id)},
        "actuality": "actual",
        "event": _event_code(event, side_effects),
        "subject": {"reference": f"Patient/{event.patient.public_id}"},
        "date": event.onset.isoformat(),
        "recordedDate": event.reported_at.astimezone(zone).isoformat(timespec="seconds"),
        "recorder": {"reference": f"Practitioner/{event.reported_by.public_id}"},
        "seriousness": {"coding": [_coding(SERIOUSNESS_SYSTEM, serious, serious.capitalize())]},
        "severity": {"coding": [_coding(SEVERITY_SYSTEM, event.severity, SEVERITY[event.severity])]},
        "outcome": {"coding": [_coding(OUTCOME_SYSTEM, outcome, OUTCOME_CODES[outcome])]},
    }
    if suspects:
        resource["suspectEntity"] = suspects
    return resource


def bundle(events: Iterable[AdverseEvent], *, at: datetime | None = None) -> dict[str, Any]:
    """The events as a Bundle of type "collection".

    Not "searchset": that is a FHIR server's answer to a FHIR search (with its self link, total
    and search modes), and this is a file for a registry or a sponsor, a package of resources.
    """
    side_effects = active_pack().side_effects
    moment = at or timezone.now()
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timezone.localtime(moment).isoformat(timespec="seconds"),
        # Public ids are UUIDs: an entry's full URL is its event's, the same in every export.
        "entry": [{"fullUrl": f"urn:uuid:{event.public_id}",
                   "resource": adverse_event_resource(event, side_effects=side_effects)}
                  for event in events],
    }


def _check_codes(resource: dict[str, Any]) -> None:
    """What the models leave out: R4's required bindings and contained resources referenced."""
    where = f"AdverseEvent/{resource.get('id', '')}"
    if resource.get("actuality") not in ACTUALITY:
        raise ValueError(f"{where}: actuality {resource.get('actuality')!r} is not actual or potential")
    for element, system, codes in (("severity", SEVERITY_SYSTEM, SEVERITY),
                                   ("outcome", OUTCOME_SYSTEM, OUTCOME_CODES)):
        concept = resource.get(element)
        if concept is None:
            continue
        if not any(c.get("system") == system and c.get("code") in codes
                   for c in concept.get("coding", [])):
            raise ValueError(f"{where}: {element} has no code of {system}")
    referenced = {e["instance"].get("reference") for e in resource.get("suspectEntity", [])}
    for inner in resource.get("contained", []):
        if f"#{inner.get('id')}" not in referenced:
            raise ValueError(f"{where}: contained {inner.get('id')!r} is not referenced (dom-3)")


def validate(resource: dict[str, Any]) -> None:
    """Parse an AdverseEvent or Bundle with the fhir.resources models; ValueError when invalid.

    (pydantic's ValidationError is a ValueError.) The models check structure, cardinality and
    datatypes; required code bindings and dom-3 are checked here.
    """
    kind = resource.get("resourceType")
    if kind == "AdverseEvent":
        FhirAdverseEvent.model_validate(resource)
        _check_codes(resource)
    elif kind == "Bundle":
        FhirBundle.model_validate(resource)
        if resource.get("type") not in BUNDLE_TYPES:
            raise ValueError(f"Bundle: type {resource.get('type')!r} is not a bundle type")
        for entry in resource.get("entry", []):
            inner = entry.get("resource", {})
            if inner.get("resourceType") == "AdverseEvent":
                _check_codes(inner)
    else:
        raise ValueError(f"not an AdverseEvent or Bundle: {kind!r}")
