"""The safety dashboard: the rates a reader sees, the period filter, who may look, the audit row.

A small hand-made clinic (two practitioners, two rooms, three lots, three areas) with known
answers: every expected figure below is counted by hand from the table in `world`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import make_patient, make_user
from django.urls import NoReverseMatch, reverse

from mesoclinic.accounts.models import User
from mesoclinic.accounts.permissions import Role
from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting.models import SessionComponent, TreatmentSession
from mesoclinic.inventory.models import Lot, Product
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.safety import dashboard
from mesoclinic.safety.models import AdverseEvent, Alert, Cluster
from mesoclinic.scheduling.models import Appointment, Room

IST = ZoneInfo("Europe/Istanbul")
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=IST)
URL = "/safety/"


def local(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), IST).replace(hour=hour,
                                                                                     minute=minute)


@dataclass
class World:
    sessions: dict[str, TreatmentSession]
    events: dict[str, AdverseEvent]
    lots: dict[str, Lot]
    second: User


class TableReader(HTMLParser):
    """The cells of each <table data-testid=...>, row by row, as the reader sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("data-testid") or ""
            self.tables[self._table] = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._table is not None and not self._in_head:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(body: str) -> dict[str, list[list[str]]]:
    reader = TableReader()
    reader.feed(body)
    return reader.tables


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def _product(clinic: Any, name: str) -> Product:
    return Product.objects.create(clinic=clinic, name=name, kind="component", unit="ml")


def _session(cast: Any, clinic: Any, patient: Any, *, at: datetime, performer: User, room: Room | None,
             areas: list[str], technique: str, lots: list[tuple[str, Lot]]) -> TreatmentSession:
    plan = TreatmentPlan.objects.create(patient=patient, clinic=clinic, status="active",
                                        created_by=cast.physician)
    appointment = None
    if room is not None:
        appointment = Appointment.objects.create(
            clinic=clinic, patient=patient, kind="treatment", practitioner=performer, room=room,
            starts_at=at, ends_at=at + timedelta(minutes=40), plan=plan, series_index=1,
            created_by=cast.physician)
    session = TreatmentSession.objects.create(
        clinic=clinic, patient=patient, plan=plan, plan_version=1, session_number=1,
        appointment=appointment, performer=performer, performer_role="physician", areas=areas,
        technique=technique, delivery="needle", depth_min_mm=Decimal("1.0"), depth_max_mm=Decimal("2.0"),
        started_at=at, check_input={}, check_output={})
    for position, (ingredient, lot) in enumerate(lots):
        SessionComponent.objects.create(session=session, position=position, ingredient=ingredient,
                                        lot=lot, quantity=Decimal("1.00"))
    return session


def _event(cast: Any, clinic: Any, sessions: list[TreatmentSession], *, effect: str = "erythema",
           **extra: Any) -> AdverseEvent:
    event = AdverseEvent.objects.create(clinic=clinic, patient=sessions[0].patient, effect=effect,
                                        onset=sessions[0].started_at.date() + timedelta(days=1),
                                        severity="mild", expected=True, reported_by=cast.nurse, **extra)
    event.sessions.set(sessions)
    return event


@pytest.fixture
def world(cast, frozen) -> World:
    """Eight sessions in the last twelve months, one older, one at the sister clinic:

    | s  | started (local)  | by | room   | areas      | technique      | lots          | events |
    | s1 | 2026-06-01 10:00 | A  | Room 1 | face       | point_by_point | HA-1          | E1     |
    | s2 | 2026-06-02 10:00 | A  | Room 1 | face, neck | point_by_point | HA-1, LID-1   | E1     |
    | s3 | 2026-01-10 10:00 | A  | Room 2 | scalp      | comprehensive  | HA-2          |        |
    | s4 | 2026-01-11 10:00 | A  | Room 2 | face       | point_by_point | HA-2          |        |
    | s5 | 2026-05-20 10:00 | B  | Room 1 | face       | point_by_point | HA-1          | E3, E6 |
    | s6 | 2026-04-01 10:00 | B  | Room 2 | scalp      | comprehensive  | HA-2, LID-1   | E2     |
    | s7 | 2026-03-16 00:30 | B  | (none) | neck       | point_by_point | HA-1          |        |
    | s8 | 2025-12-01 10:00 | B  | Room 1 | face       | epidermal      | HA-1          |        |
    | s9 | 2025-06-15 23:30 | A  | Room 1 | face       | point_by_point | HA-1          | E4     |
    | sx | sister clinic    |    |        | face       | point_by_point | (sister's)    | E5     |

    A is the cast's physician (Dr House), B a second physician (Dr Wilson). s7 starts half an
    hour after local midnight (still the 15th in UTC); s9 half an hour before midnight on the day
    before the twelve months began.
    """
    clinic = cast.clinic
    second = make_user("dr.wilson", clinic, Role.PHYSICIAN)
    second.display_name = "Dr Wilson"
    second.save(update_fields=["display_name"])
    cast.physician.display_name = "Dr House"
    cast.physician.save(update_fields=["display_name"])
    room1 = Room.objects.create(clinic=clinic, name="Room 1")
    room2 = Room.objects.create(clinic=clinic, name="Room 2")
    ha, lido = _product(clinic, "Hyaluronic acid 1.5%"), _product(clinic, "Lidocaine 2%")
    lots = {
        "HA-1": Lot.objects.create(product=ha, clinic=clinic, number="HA-1", expires_on=date(2099, 1, 1)),
        "HA-2": Lot.objects.create(product=ha, clinic=clinic, number="HA-2", expires_on=date(2099, 1, 1)),
        "LID-1": Lot.objects.create(product=lido, clinic=clinic, number="LID-1",
                                    expires_on=date(2099, 1, 1)),
    }
    a, b = cast.physician, second
    ha1, ha2, lid1 = ("hyaluronic_acid", lots["HA-1"]), ("hyaluronic_acid", lots["HA-2"]), \
        ("lidocaine", lots["LID-1"])
    patients = [make_patient(clinic, "Patient", f"Number{n}") for n in range(4)]
    rows = {
        "s1": (patients[0], local("2026-06-01"), a, room1, ["face"], "point_by_point", [ha1]),
        "s2": (patients[0], local("2026-06-02"), a, room1, ["face", "neck"], "point_by_point", [ha1, lid1]),
        "s3": (patients[1], local("2026-01-10"), a, room2, ["scalp"], "comprehensive", [ha2]),
        "s4": (patients[1], local("2026-01-11"), a, room2, ["face"], "point_by_point", [ha2]),
        "s5": (patients[2], local("2026-05-20"), b, room1, ["face"], "point_by_point", [ha1]),
        "s6": (patients[3], local("2026-04-01"), b, room2, ["scalp"], "comprehensive", [ha2, lid1]),
        "s7": (patients[2], local("2026-03-16", 0, 30), b, None, ["neck"], "point_by_point", [ha1]),
        "s8": (patients[3], local("2025-12-01"), b, room1, ["face"], "epidermal", [ha1]),
        "s9": (patients[1], local("2025-06-15", 23, 30), a, room1, ["face"], "point_by_point", [ha1]),
    }
    sessions = {name: _session(cast, clinic, patient, at=at, performer=performer, room=room, areas=areas,
                               technique=technique, lots=used)
                for name, (patient, at, performer, room, areas, technique, used) in rows.items()}
    sister_lot = Lot.objects.create(product=_product(cast.sister, "Hyaluronic acid 1.5%"), clinic=cast.sister,
                                    number="HA-1", expires_on=date(2099, 1, 1))
    sessions["sx"] = _session(cast, cast.sister, cast.sister_patient, at=local("2026-06-01"),
                              performer=cast.sister_physician, room=None, areas=["face"],
                              technique="point_by_point", lots=[("hyaluronic_acid", sister_lot)])
    events = {
        "E1": _event(cast, clinic, [sessions["s1"], sessions["s2"]]),
        "E2": _event(cast, clinic, [sessions["s6"]], effect="infection", infection="suspected"),
        "E3": _event(cast, clinic, [sessions["s5"]], effect="swelling"),
        "E4": _event(cast, clinic, [sessions["s9"]]),
        "E6": _event(cast, clinic, [sessions["s5"]], effect="itching"),
        "E5": _event(cast, cast.sister, [sessions["sx"]]),
    }
    return World(sessions=sessions, events=events, lots=lots, second=second)


def page(cast: Any, user: User | None = None, **query: Any) -> Any:
    return cast.client_for(user or cast.physician, cast.clinic).get(URL, query)


def by_label(rows: list[list[str]]) -> dict[str, list[str]]:
    """{label: [sessions, side effects, per 100]} (a lot's label carries its product after it)."""
    return {row[0]: row[1:] for row in rows}


# --- the numbers ------------------------------------------------------------------------------

def test_rates_by_each_dimension_over_the_last_twelve_months(cast, world):
    response = page(cast)
    assert response.status_code == 200
    found = tables(response.content.decode())
    assert by_label(found["table-practitioner"]) == {
        "Dr Wilson": ["4", "3", "75.00"], "Dr House": ["4", "1", "25.00"]}
    assert by_label(found["table-room"]) == {
        "Room 1": ["4", "3", "75.00"], "Room 2": ["3", "1", "33.33"], "No room recorded": ["1", "0", "0.00"]}
    assert by_label(found["table-lot"]) == {
        "LID-1 Lidocaine 2%": ["2", "2", "100.00"], "HA-1 Hyaluronic acid 1.5%": ["5", "3", "60.00"],
        "HA-2 Hyaluronic acid 1.5%": ["3", "1", "33.33"]}
    assert by_label(found["table-ingredient"]) == {
        "Lidocaine": ["2", "2", "100.00"], "Hyaluronic acid": ["8", "4", "50.00"]}
    assert by_label(found["table-technique"]) == {
        "Comprehensive": ["2", "1", "50.00"], "Point by point": ["5", "3", "60.00"],
        "Upper-skin (epidermal)": ["1", "0", "0.00"]}
    assert by_label(found["table-area"]) == {
        "Face": ["5", "3", "60.00"], "Neck": ["2", "1", "50.00"], "Scalp (hair)": ["2", "1", "50.00"]}


def test_rows_are_listed_highest_rate_first(cast, world):
    found = tables(page(cast).content.decode())
    assert [row[0] for row in found["table-room"]] == ["Room 1", "Room 2", "No room recorded"]
    assert [row[0] for row in found["table-area"]] == ["Face", "Neck", "Scalp (hair)"]  # a tie: by name


def test_overall_counts_an_event_of_two_sessions_once(cast, world):
    body = page(cast).content.decode()
    overall = re.sub(r"\s+", " ", re.search(r'data-testid="overall">(.*?)</p>', body, re.S)[1])  # type: ignore[index]
    assert re.sub(r"<[^>]+>", "", overall) == "50.00 per 100 · 4 side effects · 8 sessions"


def test_month_by_month(cast, world):
    months = by_label(tables(page(cast).content.decode())["months"])
    assert list(months) == ["Jun 2025", "Jul 2025", "Aug 2025", "Sep 2025", "Oct 2025", "Nov 2025",
                            "Dec 2025", "Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026", "May 2026",
                            "Jun 2026"]
    assert months["Jun 2026"] == ["2", "1", "50.00"]  # s1 and s2, one event linked to both
    assert months["May 2026"] == ["1", "2", "200.00"]  # s5, with two side effects
    assert months["Jan 2026"] == ["2", "0", "0.00"]
    assert months["Mar 2026"] == ["1", "0", "0.00"]  # s7, just after local midnight
    assert months["Jun 2025"] == ["0", "0", "–"]  # s9 fell the evening before the period began
    assert months["Dec 2025"] == ["1", "0", "0.00"]


def test_the_charts_write_the_same_numbers(cast, world):
    body = page(cast).content.decode()
    assert 'role="img"' in body
    assert "75.00 per 100 · 3 events / 4 sessions" in body  # Dr Wilson's bar
    assert "100.00 per 100 · 2 events / 2 sessions" in body  # LID-1
    assert "all sessions: 50.00" in body  # the reference line


def test_rates_function_for_a_period(cast, world):
    result = dashboard.rates(cast.clinic, date(2026, 1, 1), date(2026, 1, 31))
    assert (result.overall.sessions, result.overall.events) == (2, 0)
    assert [(r.label, r.sessions, r.events) for r in result.by["room"]] == [("Room 2", 2, 0)]


# --- the period -------------------------------------------------------------------------------

def test_last_three_months(cast, world):
    response = page(cast, months=3)
    assert response.status_code == 200
    found = tables(response.content.decode())
    # 2026-03-16 to 2026-06-15: s1, s2, s5, s6, s7 (s7 at 00:30 local, still the 15th in UTC).
    assert by_label(found["table-practitioner"]) == {
        "Dr Wilson": ["3", "3", "100.00"], "Dr House": ["2", "1", "50.00"]}
    assert [row[0] for row in found["months"]] == ["Mar 2026", "Apr 2026", "May 2026", "Jun 2026"]
    body = response.content.decode()
    assert 'href="?months=3" aria-current="page"' in body
    assert 'value="2026-03-16"' in body
    assert 'value="2026-06-15"' in body


def test_chosen_dates(cast, world):
    response = page(cast, since="2026-01-01", until="2026-01-31")
    assert response.status_code == 200
    found = tables(response.content.decode())
    assert by_label(found["table-practitioner"]) == {"Dr House": ["2", "0", "0.00"]}
    assert by_label(found["months"]) == {"Jan 2026": ["2", "0", "0.00"]}


def test_a_period_that_includes_the_older_session(cast, world):
    found = tables(page(cast, since="2025-06-15", until="2026-06-15").content.decode())
    assert by_label(found["table-practitioner"])["Dr House"] == ["5", "2", "40.00"]


@pytest.mark.parametrize(("query", "message"), [
    ({"since": "2026-13-01"}, "Enter a date as YYYY-MM-DD."),
    ({"until": "yesterday"}, "Enter a date as YYYY-MM-DD."),
    ({"since": "2026-06-01", "until": "2026-05-01"}, "The end date is before the start date."),
    ({"since": "2020-01-01", "until": "2026-01-02"}, "Choose a period of at most 5 years."),
    ({"months": "7"}, "Choose the last 3, 6 or 12 months."),
])
def test_a_period_that_cannot_be_read_is_refused_with_its_reason(cast, world, query, message):
    response = page(cast, **query)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert "<svg" not in body  # nothing else: no charts, no alerts, no numbers
    assert "Open alerts" not in body
    assert not AuditEvent.objects.filter(object_type="adverse_event", action=AuditEvent.Action.VIEW).exists()


def test_exactly_five_years_is_allowed(cast, world):
    assert page(cast, since="2021-01-02", until="2026-01-01").status_code == 200


def test_last_months_ends_today():
    assert dashboard.last_months(date(2026, 6, 15), 12) == (date(2025, 6, 16), date(2026, 6, 15))
    assert dashboard.last_months(date(2026, 5, 31), 3) == (date(2026, 3, 1), date(2026, 5, 31))
    assert dashboard.shift_months(date(2024, 3, 31), -1) == date(2024, 2, 29)


# --- who may look ------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "status"), [
    ("physician", 200), ("manager", 200), ("nurse", 403), ("receptionist", 403), ("auditor", 403)])
def test_who_may_read_the_dashboard(cast, world, role, status):
    response = page(cast, getattr(cast, role))
    assert response.status_code == status
    if status == 403:
        assert b"Dr Wilson" not in response.content
        assert b"Room 1" not in response.content


def test_anonymous_is_sent_to_sign_in(cast, world, client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_another_clinics_events_and_sessions_are_not_counted(cast, world):
    """The sister clinic's session uses a lot also numbered HA-1, on the same day as s1."""
    found = tables(page(cast, months=3).content.decode())
    assert by_label(found["table-lot"])["HA-1 Hyaluronic acid 1.5%"] == ["4", "3", "75.00"]  # s1, s2, s5, s7
    sister = tables(cast.client_for(cast.sister_physician, cast.sister).get(URL).content.decode())
    assert by_label(sister["table-practitioner"]) == {str(cast.sister_physician): ["1", "1", "100.00"]}


def test_no_patient_is_named(cast, world):
    body = page(cast, cast.manager).content.decode()
    assert "Number0" not in body
    assert "Şahin" not in body
    assert "Müller" not in body


# --- escaping, audit ---------------------------------------------------------------------------

def test_a_lot_number_with_markup_is_shown_as_text(cast, world):
    lot = world.lots["HA-2"]
    lot.number = "<script>alert(1)</script>"
    lot.save(update_fields=["number"])
    body = page(cast).content.decode()
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # the table, and the bar's tooltip


def test_one_audit_event_names_the_period(cast, world):
    page(cast, months=6)
    event = AuditEvent.objects.get(object_type="adverse_event", action=AuditEvent.Action.VIEW)
    assert event.username == cast.physician.username
    assert event.clinic_id == str(cast.clinic.public_id)
    assert event.detail.startswith("safety dashboard 2025-12-16 to 2026-06-15: 7 sessions, 4 events")


# --- open alerts and clusters --------------------------------------------------------------------

def _links_exist() -> bool:
    try:
        reverse("safety:alert", args=["00000000-0000-0000-0000-000000000000"])
        reverse("safety:cluster", args=["00000000-0000-0000-0000-000000000000"])
    except NoReverseMatch:
        return False
    return True


@pytest.mark.skipif(not _links_exist(), reason="the alert and cluster pages are not wired yet")
def test_open_alerts_and_clusters_lead_the_page(cast, world):
    cluster = Cluster.objects.create(clinic=cast.clinic, kind="lot", key="HA-1",
                                     events=["e1", "e2"], exposed_patients=["p1", "p2", "p3"])
    Cluster.objects.create(clinic=cast.clinic, kind="room_day", key="Room 2/2026-04-01",
                           status="closed", closed_at=NOW, closed_by=cast.physician)
    Cluster.objects.create(clinic=cast.sister, kind="lot", key="HA-9")
    overdue = Alert.objects.create(clinic=cast.clinic, reason="infection",
                                   patient=world.sessions["s6"].patient, event=world.events["E2"],
                                   raised_at=NOW - timedelta(hours=6), ack_due_at=NOW - timedelta(hours=2))
    cluster_alert = Alert.objects.create(clinic=cast.clinic, reason="cluster", cluster=cluster,
                                         raised_at=NOW - timedelta(hours=1),
                                         ack_due_at=NOW + timedelta(hours=3))
    Alert.objects.create(clinic=cast.clinic, reason="severe", patient=world.sessions["s5"].patient,
                         event=world.events["E3"], raised_at=NOW - timedelta(days=2),
                         ack_due_at=NOW - timedelta(days=1), acknowledged_at=NOW - timedelta(days=1),
                         acknowledged_by=cast.physician)
    response = page(cast, cast.manager)
    body = response.content.decode()
    found = tables(body)
    assert [row[0] for row in found["alerts"]] == ["Suspected infection", "Cluster of infections HA-1"]
    assert "overdue" in found["alerts"][0][2]
    assert "overdue" not in found["alerts"][1][2]
    assert reverse("safety:alert", args=[overdue.public_id]) in body
    assert reverse("safety:alert", args=[cluster_alert.public_id]) in body
    assert [row[:4] for row in found["clusters"]] == [["Shared lot", "HA-1", "2", "3"]]
    assert reverse("safety:cluster", args=[cluster.public_id]) in body
    assert re.search(r'data-testid="alert-total">2<', body)
    assert re.search(r'data-testid="cluster-total">1<', body)
    assert "Number2" not in body
    assert "Number3" not in body
    assert body.index('id="h-alerts"') < body.index('id="h-overall"')


def test_nothing_open_says_so(cast, world):
    body = page(cast).content.decode()
    assert "No open alerts" in body
    assert "No open clusters." in body
