"""The safety dashboard's numbers: side-effect rates of a clinic's sessions over a period.

The denominator is the sessions that started in the period (the clinic's local dates, both ends
included); the numerator is the adverse events linked to those sessions. A rate is distinct
events per 100 distinct sessions, grouped by solution ingredient, lot, technique, practitioner,
room and area, and month by month. The counting is done in SQL, never by looping over sessions
in Python: on PostgreSQL one statement (GROUPING SETS over the period's sessions, read once), on
SQLite one aggregate query per grouping; the tests hold both to the same numbers.

An event linked to two sessions counts once in each group it touches, and once overall. Recent
sessions have had less time to show a delayed infection: the newest months read low at first.

The open alerts and clusters for the top of the page carry no patient and no clinical detail:
managers read this page.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.charting.models import SessionComponent, TreatmentSession
from mesoclinic.inventory.models import Lot
from mesoclinic.knowledge.store import active_pack
from mesoclinic.safety.models import AdverseEvent, Alert, Cluster
from mesoclinic.scheduling.models import Appointment, Room

# The groupings, in the order the page shows them.
DIMENSIONS = ("ingredient", "lot", "technique", "practitioner", "room", "area")
MAX_SPAN_YEARS = 5
# The top of the page lists at most this many open alerts and clusters (the rest are counted).
OPEN_LIMIT = 50


@dataclass(frozen=True)
class Rate:
    """Sessions and the distinct events linked to them, for one group (or for all)."""

    key: str  # what the group is: a code, a lot's or user's public id, "" when not recorded
    label: str
    sessions: int
    events: int
    detail: str = ""  # a second line for the table (a lot's product)

    @property
    def per_100(self) -> float:
        return 100 * self.events / self.sessions if self.sessions else 0.0


@dataclass(frozen=True)
class MonthRate:
    month: date  # the first of the month
    sessions: int
    events: int

    @property
    def per_100(self) -> float | None:
        """None for a month without sessions (no rate, rather than a rate of 0)."""
        return 100 * self.events / self.sessions if self.sessions else None


@dataclass(frozen=True)
class Rates:
    since: date
    until: date
    overall: Rate
    by: Mapping[str, list[Rate]]  # DIMENSIONS -> rows, highest rate first
    months: list[MonthRate]


@dataclass(frozen=True)
class OpenAlert:
    """An alert nobody acknowledged yet, as the dashboard lists it (no patient, no event text)."""

    public_id: str
    reason: str
    raised_at: datetime
    ack_due_at: datetime
    overdue: bool
    escalated_at: datetime | None
    cluster_key: str


@dataclass(frozen=True)
class OpenCluster:
    public_id: str
    kind: str
    key: str
    events: int
    exposed: int
    detected_at: datetime
    updated_at: datetime


# --- the period --------------------------------------------------------------------------------

def shift_months(day: date, months: int) -> date:
    """The same day `months` months later (earlier if negative), kept within the month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    first_of_next = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return date(year, month + 1, min(day.day, (first_of_next - timedelta(days=1)).day))


def last_months(today: date, months: int) -> tuple[date, date]:
    """The `months` months that end today: from the day after the same day `months` months ago."""
    return shift_months(today, -months) + timedelta(days=1), today


def span_too_long(since: date, until: date) -> bool:
    return since < shift_months(until, -12 * MAX_SPAN_YEARS)


def period_bounds(clinic: Clinic, since: date, until: date) -> tuple[datetime, datetime]:
    """[start, end) of the clinic's local days `since` to `until`, both included."""
    zone = zoneinfo.ZoneInfo(clinic.timezone)
    return (datetime.combine(since, time.min, zone),
            datetime.combine(until + timedelta(days=1), time.min, zone))


def month_starts(since: date, until: date) -> list[date]:
    first = since.replace(day=1)
    out = []
    while first <= until:
        out.append(first)
        first = shift_months(first, 1)
    return out


# --- the counts --------------------------------------------------------------------------------

# What the counts are grouped by: every session of the period ("all"), then each grouping.
GROUPS = ("all", "technique", "practitioner", "room", "month", "area", "ingredient", "lot")
# {group: {value: (distinct sessions, distinct events)}}; "all" has the one value None.
Counts = dict[str, dict[Any, tuple[int, int]]]


def counts(clinic: Clinic, start: datetime, end: datetime) -> Counts:
    """Sessions started in [start, end) and the distinct events linked to them, per group.

    On PostgreSQL one statement does it all (one pass over the sessions); elsewhere (SQLite: the
    tests, a laptop) one aggregate query per group. Both count the same way.
    """
    if connection.vendor == "postgresql":
        return _counts_postgresql(clinic, start, end)
    return _counts_per_group(clinic, start, end)


def _sessions(clinic: Clinic, start: datetime, end: datetime) -> QuerySet[TreatmentSession]:
    return TreatmentSession.objects.filter(clinic=clinic, started_at__gte=start,
                                           started_at__lt=end).order_by()


def _counted(rows: Iterable[dict[str, Any]], key: str) -> dict[Any, tuple[int, int]]:
    return {row[key]: (row["sessions"], row["events"]) for row in rows}


def _by_session_field(sessions: QuerySet[TreatmentSession], field: str) -> dict[Any, tuple[int, int]]:
    """(sessions, distinct events) for each value of a session's field: one GROUP BY."""
    return _counted(sessions.values(field).annotate(
        sessions=Count("id", distinct=True), events=Count("adverse_events", distinct=True)), field)


def _by_component_field(clinic: Clinic, start: datetime, end: datetime,
                        field: str) -> dict[Any, tuple[int, int]]:
    """The same over the sessions' solution components (a session counts once per value)."""
    components = SessionComponent.objects.filter(
        session__clinic=clinic, session__started_at__gte=start, session__started_at__lt=end).order_by()
    return _counted(components.values(field).annotate(
        sessions=Count("session_id", distinct=True),
        events=Count("session__adverse_events", distinct=True)), field)


def _by_area_sqlite(clinic: Clinic, start: datetime, end: datetime) -> dict[Any, tuple[int, int]]:
    """Per area code of the sessions' `areas` lists, exploded in SQL (json_each)."""
    sessions = TreatmentSession._meta.db_table
    links = AdverseEvent.sessions.through._meta.db_table
    # Only the models' table names go into the text; the values are parameters.
    sql = (f"SELECT a.value, COUNT(DISTINCT s.id), COUNT(DISTINCT l.adverseevent_id) "  # noqa: S608
           f"FROM {sessions} s, json_each(s.areas) AS a LEFT JOIN {links} l ON l.treatmentsession_id = s.id "
           "WHERE s.clinic_id = %s AND s.started_at >= %s AND s.started_at < %s "
           "AND json_type(s.areas) = 'array' GROUP BY a.value")
    with connection.cursor() as cursor:
        cursor.execute(sql, [clinic.pk, start, end])
        return {str(area): (n, events) for area, n, events in cursor.fetchall()}


def _by_area_in_python(clinic: Clinic, start: datetime, end: datetime) -> dict[Any, tuple[int, int]]:
    """The same for a database that cannot explode a JSON list (bounded: one clinic's period)."""
    sessions = _sessions(clinic, start, end)
    events_of: dict[int, set[int]] = {}
    for session_id, event_id in AdverseEvent.sessions.through.objects.filter(
            treatmentsession__in=sessions).values_list("treatmentsession_id", "adverseevent_id"):
        events_of.setdefault(session_id, set()).add(event_id)
    found: dict[str, tuple[set[int], set[int]]] = {}
    for session_id, areas in sessions.values_list("id", "areas").iterator():
        for area in dict.fromkeys(areas if isinstance(areas, list) else []):
            seen, events = found.setdefault(str(area), (set(), set()))
            seen.add(session_id)
            events |= events_of.get(session_id, set())
    return {area: (len(seen), len(events)) for area, (seen, events) in found.items()}


def _counts_per_group(clinic: Clinic, start: datetime, end: datetime) -> Counts:
    sessions = _sessions(clinic, start, end)
    totals = sessions.aggregate(sessions=Count("id", distinct=True),
                                events=Count("adverse_events", distinct=True))
    zone = zoneinfo.ZoneInfo(clinic.timezone)
    months: dict[Any, tuple[int, int]] = {}
    for month, n, events in (sessions.annotate(month=TruncMonth("started_at", tzinfo=zone)).values("month")
                             .annotate(sessions=Count("id", distinct=True),
                                       events=Count("adverse_events", distinct=True))
                             .values_list("month", "sessions", "events")):
        day = timezone.localtime(month, zone).date() if isinstance(month, datetime) else month
        months[day.replace(day=1)] = (n, events)
    area = (_by_area_sqlite(clinic, start, end) if connection.vendor == "sqlite"
            else _by_area_in_python(clinic, start, end))
    return {
        "all": {None: (totals["sessions"], totals["events"])},
        "technique": _by_session_field(sessions, "technique"),
        "practitioner": _by_session_field(sessions, "performer_id"),
        "room": _by_session_field(sessions, "appointment__room_id"),
        "month": months,
        "area": area,
        "ingredient": _by_component_field(clinic, start, end, "ingredient"),
        "lot": _by_component_field(clinic, start, end, "lot_id"),
    }


# GROUPING(technique, performer_id, room_id, month, area) has a bit set for each column a row
# is not grouped by (the first column is the highest bit); GROUPING(ingredient, lot_id) likewise.
_SESSION_SETS = {31: "all", 15: "technique", 23: "practitioner", 27: "room", 29: "month", 30: "area"}
_COMPONENT_SETS = {1: "ingredient", 2: "lot"}


def _counts_postgresql(clinic: Clinic, start: datetime, end: datetime) -> Counts:
    """Every group in one statement: the period's sessions are read once (a CTE), exploded by
    area for the session groups and joined to their components for ingredient and lot."""
    sessions = TreatmentSession._meta.db_table
    appointments = Appointment._meta.db_table
    components = SessionComponent._meta.db_table
    links = AdverseEvent.sessions.through._meta.db_table
    # Only the models' table names and fixed SQL go into the text; the values are parameters.
    sql = f"""
        WITH ps AS MATERIALIZED (
            SELECT s.id, s.technique, s.performer_id, a.room_id, s.areas,
                   date_trunc('month', s.started_at AT TIME ZONE %s)::date AS month
            FROM {sessions} s LEFT JOIN {appointments} a ON a.id = s.appointment_id
            WHERE s.clinic_id = %s AND s.started_at >= %s AND s.started_at < %s),
        ev AS MATERIALIZED (
            SELECT l.treatmentsession_id AS session_id, l.adverseevent_id AS event_id
            FROM {links} l JOIN ps ON ps.id = l.treatmentsession_id)
        SELECT 's', GROUPING(ps.technique, ps.performer_id, ps.room_id, ps.month, ar.code),
               COALESCE(ps.technique, ps.performer_id::text, ps.room_id::text, ps.month::text, ar.code),
               COUNT(DISTINCT ps.id), COUNT(DISTINCT ev.event_id)
        FROM ps
        LEFT JOIN LATERAL jsonb_array_elements_text(
            CASE WHEN jsonb_typeof(ps.areas) = 'array' THEN ps.areas ELSE '[]'::jsonb END) AS ar(code) ON TRUE
        LEFT JOIN ev ON ev.session_id = ps.id
        GROUP BY GROUPING SETS ((), (ps.technique), (ps.performer_id), (ps.room_id), (ps.month), (ar.code))
        UNION ALL
        SELECT 'c', GROUPING(c.ingredient, c.lot_id), COALESCE(c.ingredient, c.lot_id::text),
               COUNT(DISTINCT ps.id), COUNT(DISTINCT ev.event_id)
        FROM ps JOIN {components} c ON c.session_id = ps.id LEFT JOIN ev ON ev.session_id = ps.id
        GROUP BY GROUPING SETS ((c.ingredient), (c.lot_id))
    """  # noqa: S608
    found: Counts = {group: {} for group in GROUPS}
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner guesses 100 areas a session (a set-returning function), so the statement
        # looks costly enough to JIT-compile: half a second spent on a query that takes tens of ms.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, [clinic.timezone, clinic.pk, start, end])
        rows = cursor.fetchall()
    for part, grouping, key, n, events in rows:
        group = (_SESSION_SETS if part == "s" else _COMPONENT_SETS)[grouping]
        value: Any = key
        if group == "all":
            value = None
        elif key is None and group != "room":
            continue  # a session without areas or components: no row for it there
        elif group in ("practitioner", "lot") or (group == "room" and key is not None):
            value = int(key)
        elif group == "month":
            value = date.fromisoformat(key)
        found[group][value] = (n, events)
    found["all"].setdefault(None, (0, 0))
    return found


# --- the rates ---------------------------------------------------------------------------------

def _rows(counts: Mapping[Any, tuple[int, int]], labels: Mapping[Any, tuple[str, str, str]]) -> list[Rate]:
    """Rates from counts, labelled (key, label, detail); highest rate first, then most sessions."""
    rows = [Rate(key=labels[value][0], label=labels[value][1], detail=labels[value][2],
                 sessions=n, events=events) for value, (n, events) in counts.items()]
    rows.sort(key=lambda r: (-r.per_100, -r.sessions, r.label.casefold()))
    return rows


def _pack_labels(codes: Iterable[Any], entries: Mapping[str, Any],
                 attribute: str) -> dict[Any, tuple[str, str, str]]:
    out = {}
    for code in codes:
        entry = entries.get(code)
        text = str(getattr(entry, attribute, "") or code) if entry is not None else str(code)
        out[code] = (str(code), capfirst(text), "")
    return out


def rates(clinic: Clinic, since: date, until: date) -> Rates:
    """The clinic's side-effect rates for sessions started from `since` to `until` (local days)."""
    start, end = period_bounds(clinic, since, until)
    found = counts(clinic, start, end)
    pack = active_pack()
    n, events = found["all"][None]
    overall = Rate(key="", label=_("All sessions"), sessions=n, events=events)

    lots = found["lot"]
    lot_labels = {pk: (str(public_id), number, product)
                  for pk, public_id, number, product in Lot.objects.filter(pk__in=list(lots))
                  .values_list("pk", "public_id", "number", "product__name")}
    performers = found["practitioner"]
    rooms = found["room"]
    room_labels: dict[Any, tuple[str, str, str]] = {
        pk: (str(public_id), name, "")
        for pk, public_id, name in Room.objects.filter(pk__in=[r for r in rooms if r is not None])
        .values_list("pk", "public_id", "name")}
    room_labels[None] = ("", _("No room recorded"), "")
    by = {
        "ingredient": _rows(found["ingredient"], _pack_labels(found["ingredient"], pack.ingredients, "name")),
        "lot": _rows(lots, lot_labels),
        "technique": _rows(found["technique"], _pack_labels(found["technique"], pack.techniques, "label")),
        "practitioner": _rows(performers, {user.pk: (str(user.public_id), str(user), "")
                                           for user in User.objects.filter(pk__in=list(performers))}),
        "room": _rows(rooms, room_labels),
        "area": _rows(found["area"], _pack_labels(found["area"], pack.areas, "label")),
    }
    months = [MonthRate(month=m, sessions=found["month"].get(m, (0, 0))[0],
                        events=found["month"].get(m, (0, 0))[1]) for m in month_starts(since, until)]
    return Rates(since=since, until=until, overall=overall, by=by, months=months)


# --- what is open ------------------------------------------------------------------------------

def open_alerts(clinic: Clinic, now: datetime | None = None) -> tuple[list[OpenAlert], int]:
    """The clinic's unacknowledged alerts, oldest due first (at most OPEN_LIMIT), and how many."""
    now = now or timezone.now()
    found = Alert.objects.filter(clinic=clinic, acknowledged_at__isnull=True)
    rows = [OpenAlert(public_id=str(public_id), reason=str(Alert.Reason(reason).label), raised_at=raised,
                      ack_due_at=due, overdue=due <= now, escalated_at=escalated, cluster_key=key or "")
            for public_id, reason, raised, due, escalated, key in found.order_by("ack_due_at", "id")
            .values_list("public_id", "reason", "raised_at", "ack_due_at", "escalated_at",
                         "cluster__key")[:OPEN_LIMIT]]
    total = len(rows) if len(rows) < OPEN_LIMIT else found.count()
    return rows, total


def open_clusters(clinic: Clinic) -> tuple[list[OpenCluster], int]:
    """The clinic's open clusters, newest first (at most OPEN_LIMIT), and how many there are."""
    found = Cluster.objects.filter(clinic=clinic, status=Cluster.Status.OPEN)
    rows = [OpenCluster(public_id=str(c.public_id), kind=str(Cluster.Kind(c.kind).label), key=c.key,
                        events=len(c.events), exposed=len(c.exposed_patients),
                        detected_at=c.detected_at, updated_at=c.updated_at)
            for c in found.order_by("-detected_at", "-id")[:OPEN_LIMIT]]
    total = len(rows) if len(rows) < OPEN_LIMIT else found.count()
    return rows, total
