"""The FHIR export validates: every AdverseEvent and the Bundle parse with the fhir.resources R4
(R4B) models for every severity, outcome and kind of effect, and each field says what we recorded."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from mesoclinic.charting.actions import ComponentSpec
from mesoclinic.charting.models import SessionComponent, TreatmentSession
from mesoclinic.charting.tests.helpers import ha_lot, ready, started
from mesoclinic.inventory.models import Lot
from mesoclinic.safety import fhir
from mesoclinic.safety.export import events_in_period, load
from mesoclinic.safety.models import AdverseEvent

# 09:30 in Istanbul (UTC+3), the cast clinic's zone.
REPORTED = datetime(2027, 3, 2, 6, 30, tzinfo=UTC)


@dataclass
class Exposed:
    """Two sessions of the cast's patient: the first with two lots, the second with a third."""

    first: TreatmentSession
    second: TreatmentSession
    lots: list[Lot]


def expose(cast: Any) -> Exposed:
    state = ready(cast)
    # Lot numbers a spreadsheet would run as formulas (the CSV tests rely on them).
    plus = ha_lot(cast, number="+EVIL-1")
    first = started(cast, state, components=[
        ComponentSpec(ingredient="hyaluronic_acid", lot=state.ha_lot, quantity=Decimal("1")),
        ComponentSpec(ingredient="hyaluronic_acid", lot=plus, quantity=Decimal("1"))])
    # A second session of the same plan, copied: a real one would wait for the series interval.
    second = TreatmentSession.objects.get(pk=first.pk)
    second.pk = None
    second.public_id = uuid.uuid4()
    second.session_number = first.session_number + 1
    second.save()
    at = ha_lot(cast, number="@AT-9")
    SessionComponent.objects.create(session=second, position=1, ingredient="hyaluronic_acid", lot=at,
                                    quantity=Decimal("1"))
    return Exposed(first=first, second=second, lots=[state.ha_lot, plus, at])


def make_event(cast: Any, *, sessions: Any = (), clinic: Any = None, patient: Any = None,
               **fields: Any) -> AdverseEvent:
    values: dict[str, Any] = {"effect": "swelling", "onset": date(2027, 3, 1), "severity": "mild",
                              "expected": True, "reported_by": cast.physician, "reported_at": REPORTED}
    values.update(fields)
    event = AdverseEvent.objects.create(clinic=clinic or cast.clinic, patient=patient or cast.patient,
                                        **values)
    event.sessions.set(sessions)
    return event


def variant_fields(cast: Any, variant: dict[str, Any]) -> dict[str, Any]:
    fields = dict(variant)
    if fields.get("status") == "closed":
        fields["closed_by"] = cast.physician
    return fields


def exported(event: AdverseEvent) -> AdverseEvent:
    """The event as the export loads it (prefetched)."""
    return next(e for e in load(events_in_period(event.clinic)) if e.pk == event.pk)


VARIANTS: list[dict[str, Any]] = [
    {"severity": "mild", "outcome": "ongoing"},
    {"severity": "moderate", "outcome": "recovering", "effect": "nausea"},  # systemic
    {"severity": "severe", "outcome": "recovered", "resolved_on": date(2027, 3, 9)},
    {"severity": "severe", "outcome": "sequelae", "seriousness": ["disability"], "expected": False},
    {"severity": "severe", "outcome": "fatal", "effect": "anaphylaxis",
     "seriousness": ["life_threatening", "death"]},
    {"severity": "moderate", "outcome": "unknown", "status": "closed", "closed_at": REPORTED},
    {"effect": "infection", "infection": "suspected", "severity": "moderate"},
    {"effect": "infection", "infection": "confirmed", "severity": "severe",
     "seriousness": ["hospitalisation"], "action_taken": "referred"},
    {"effect": "other", "other_effect": "Metallic taste", "severity": "mild", "action_taken": "other"},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: f"{v.get('effect', 'swelling')}-"
                                                        f"{v['severity']}-{v.get('outcome', 'ongoing')}")
def test_every_kind_of_event_is_a_valid_r4_adverse_event(cast: Any, variant: dict[str, Any]) -> None:
    exposed = expose(cast)
    event = exported(make_event(cast, sessions=[exposed.first, exposed.second],
                                **variant_fields(cast, variant)))
    resource = fhir.adverse_event_resource(event)
    fhir.validate(resource)
    assert resource["severity"]["coding"][0]["code"] == variant["severity"]
    assert len(resource["suspectEntity"]) == 2 + 3


def test_the_bundle_of_every_kind_validates(cast: Any) -> None:
    exposed = expose(cast)
    events = [make_event(cast, sessions=[exposed.first], **variant_fields(cast, variant))
              for variant in VARIANTS]
    document = fhir.bundle(load(events_in_period(cast.clinic)),
                           at=datetime(2027, 4, 1, 12, 0, tzinfo=UTC))
    fhir.validate(document)
    assert document["type"] == "collection"
    assert document["timestamp"] == "2027-04-01T12:00:00+00:00"
    assert [e["fullUrl"] for e in document["entry"]] == [f"urn:uuid:{e.public_id}"
                                                        for e in sorted(events, key=lambda e: e.pk)]
    # Also after a JSON round trip, as a registry receives it.
    fhir.validate(json.loads(json.dumps(document)))


def test_fields_are_mapped_to_r4(cast: Any) -> None:
    exposed = expose(cast)
    event = exported(make_event(cast, sessions=[exposed.second, exposed.first], effect="infection",
                                infection="confirmed", severity="severe", outcome="sequelae",
                                seriousness=["hospitalisation", "other_important"]))
    resource = fhir.adverse_event_resource(event)
    first = exposed.lots[0]
    assert resource["resourceType"] == "AdverseEvent"
    assert resource["id"] == str(event.public_id)
    assert resource["identifier"] == {"system": "urn:mesoclinic:adverse-event", "value": str(event.public_id)}
    assert resource["actuality"] == "actual"
    assert resource["event"] == {
        "coding": [{"system": "urn:mesoclinic:side-effect", "code": "infection", "display": "Infection"}],
        "text": "Infection (confirmed)"}
    assert resource["subject"] == {"reference": f"Patient/{cast.patient.public_id}"}
    assert "Ayşe" not in json.dumps(resource, ensure_ascii=False)
    assert resource["date"] == "2027-03-01"
    assert resource["recordedDate"] == "2027-03-02T09:30:00+03:00"
    assert resource["recorder"] == {"reference": f"Practitioner/{cast.physician.public_id}"}
    assert resource["seriousness"] == {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness", "code": "serious",
        "display": "Serious"}]}
    assert resource["severity"] == {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity", "code": "severe",
        "display": "Severe"}]}
    assert resource["outcome"] == {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
        "code": "resolvedWithSequelae", "display": "Resolved with Sequelae"}]}
    assert resource["extension"] == [
        {"url": fhir.INFECTION_EXTENSION, "valueCode": "confirmed"},
        {"url": fhir.CRITERION_EXTENSION, "valueCoding": {
            "system": fhir.CRITERION_SYSTEM, "code": "hospitalisation", "display": "Hospitalisation"}},
        {"url": fhir.CRITERION_EXTENSION, "valueCoding": {
            "system": fhir.CRITERION_SYSTEM, "code": "other_important",
            "display": "Other medically important"}},
    ]
    # Sessions by number, then each lot once, as contained Medications.
    n = exposed.first.session_number
    assert resource["suspectEntity"] == [
        {"instance": {"reference": f"Procedure/{exposed.first.public_id}",
                      "display": f"Mesotherapy session {n}"}},
        {"instance": {"reference": f"Procedure/{exposed.second.public_id}",
                      "display": f"Mesotherapy session {n + 1}"}},
        {"instance": {"reference": "#lot-1", "display": "Hyaluronic acid 1.5%, lot HA-2291"}},
        {"instance": {"reference": "#lot-2", "display": "Hyaluronic acid 1.5%, lot +EVIL-1"}},
        {"instance": {"reference": "#lot-3", "display": "Hyaluronic acid 1.5%, lot @AT-9"}},
    ]
    assert resource["contained"][0] == {
        "resourceType": "Medication", "id": "lot-1",
        "identifier": [{"system": "urn:mesoclinic:lot", "value": str(first.public_id)}],
        "code": {"text": "Hyaluronic acid 1.5%"},
        "batch": {"lotNumber": "HA-2291", "expirationDate": "2099-12-31"}}
    assert [m["batch"]["lotNumber"] for m in resource["contained"]] == ["HA-2291", "+EVIL-1", "@AT-9"]


@pytest.mark.parametrize(("ours", "theirs"), [
    ("ongoing", "ongoing"), ("recovering", "recovering"), ("recovered", "resolved"),
    ("sequelae", "resolvedWithSequelae"), ("fatal", "fatal"), ("unknown", "unknown")])
def test_outcomes_map_to_the_hl7_codes(cast: Any, ours: str, theirs: str) -> None:
    resource = fhir.adverse_event_resource(exported(make_event(cast, outcome=ours)))
    assert resource["outcome"]["coding"][0]["code"] == theirs


def test_an_event_without_sessions_or_criteria(cast: Any) -> None:
    resource = fhir.adverse_event_resource(exported(make_event(cast, effect="bruising")))
    fhir.validate(resource)
    assert resource["event"]["coding"][0] == {"system": "urn:mesoclinic:side-effect", "code": "bruising",
                                              "display": "Bruising"}
    assert resource["seriousness"]["coding"][0]["code"] == "non-serious"
    assert {"suspectEntity", "contained", "extension"}.isdisjoint(resource)


def test_a_typed_effect_keeps_its_name_as_text(cast: Any) -> None:
    resource = fhir.adverse_event_resource(exported(make_event(cast, effect="other",
                                                               other_effect="Metallic taste")))
    assert resource["event"] == {"coding": [{"system": "urn:mesoclinic:side-effect", "code": "other",
                                             "display": "Other side effect"}],
                                 "text": "Metallic taste"}


def _broken(resource: dict[str, Any], change: str) -> dict[str, Any]:
    broken = copy.deepcopy(resource)
    if change == "no subject":
        del broken["subject"]
    elif change == "no actuality":
        del broken["actuality"]
    elif change == "unknown actuality":
        broken["actuality"] = "maybe"
    elif change == "unknown severity":
        broken["severity"]["coding"][0]["code"] = "grave"
    elif change == "outcome of another system":
        broken["outcome"]["coding"][0]["system"] = "urn:mesoclinic:outcome"
    elif change == "time without offset":
        broken["recordedDate"] = "2027-03-02T09:30:00"
    elif change == "two events":
        broken["event"] = [broken["event"], broken["event"]]
    elif change == "unknown element":
        broken["note"] = [{"text": "R5 only"}]
    elif change == "suspect without instance":
        broken["suspectEntity"][0] = {}
    elif change == "contained not referenced":
        broken["suspectEntity"] = broken["suspectEntity"][:2]
    return broken


@pytest.mark.parametrize("change", [
    "no subject", "no actuality", "unknown actuality", "unknown severity", "outcome of another system",
    "time without offset", "two events", "unknown element", "suspect without instance",
    "contained not referenced"])
def test_validate_refuses_what_r4_forbids(cast: Any, change: str) -> None:
    exposed = expose(cast)
    resource = fhir.adverse_event_resource(exported(make_event(cast, sessions=[exposed.first])))
    fhir.validate(resource)
    with pytest.raises(ValueError, match=r"."):
        fhir.validate(_broken(resource, change))
    document = {"resourceType": "Bundle", "type": "collection",
                "entry": [{"fullUrl": f"urn:uuid:{resource['id']}", "resource": _broken(resource, change)}]}
    with pytest.raises(ValueError, match=r"."):
        fhir.validate(document)


def test_validate_refuses_other_resources_and_bundle_types(cast: Any) -> None:
    with pytest.raises(ValueError, match="not an AdverseEvent or Bundle"):
        fhir.validate({"resourceType": "Patient", "id": "x"})
    with pytest.raises(ValueError, match="not a bundle type"):
        fhir.validate({"resourceType": "Bundle", "type": "pile"})


def test_the_fhir_download_validates_and_holds_only_this_clinics_events(cast: Any) -> None:
    exposed = expose(cast)
    ours = make_event(cast, sessions=[exposed.first], effect="infection", infection="suspected")
    theirs = make_event(cast, clinic=cast.sister, patient=cast.sister_patient,
                        reported_by=cast.sister_physician)
    response = cast.client_for(cast.physician).get(reverse("safety:export-fhir"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="adverse-events-20')
    assert response["Content-Disposition"].endswith('.fhir.json"')
    document = json.loads(response.content)
    fhir.validate(document)
    assert [e["resource"]["id"] for e in document["entry"]] == [str(ours.public_id)]
    assert str(theirs.public_id) not in response.content.decode()
