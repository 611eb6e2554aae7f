"""The safety dashboard's numbers: side-effect rates of a clinic's sessions over a period.

The denominator is the sessions that started in the period (the clinic's local dates, both ends
included); the numerator is the adverse events linked to those sessions. A rate is distinct
events per 100 distinct sessions, grouped by solution ingredient, lot, technique, practitioner,
room and area, and month by month. Each grouping is one SQL aggregate over the clinic's sessions
of the period (nothing loops over sessions in Python), so the page stays quick on a busy year.

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

from django.db import connection
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
from mesoclinic.scheduling.models import Room

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


# --- the rates ---------------------------------------------------------------------------------

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


def _by_area(clinic: Clinic, start: datetime, end: datetime) -> dict[Any, tuple[int, int]]:
    """Per area code of the sessions' `areas` lists, exploded in SQL (jsonb / json_each)."""
    sessions = TreatmentSession._meta.db_table
    links = AdverseEvent.sessions.through._meta.db_table
    where = "s.clinic_id = %s AND s.started_at >= %s AND s.started_at < %s"
    if connection.vendor == "postgresql":
        source = (f"{sessions} s CROSS JOIN LATERAL jsonb_array_elements_text("
                  "CASE WHEN jsonb_typeof(s.areas) = 'array' THEN s.areas ELSE '[]'::jsonb END) AS a(code)")
    elif connection.vendor == "sqlite":
        source = f"{sessions} s, json_each(s.areas) AS a"
        where += " AND json_type(s.areas) = 'array'"
    else:  # pragma: no cover (the product runs on PostgreSQL; tests on SQLite)
        return _by_area_in_python(clinic, start, end)
    code = "a.code" if connection.vendor == "postgresql" else "a.value"
    # Only table names from the models and fixed SQL go into the text; the values are parameters.
    sql = (f"SELECT {code}, COUNT(DISTINCT s.id), COUNT(DISTINCT l.adverseevent_id) FROM {source} "  # noqa: S608
           f"LEFT JOIN {links} l ON l.treatmentsession_id = s.id WHERE {where} GROUP BY {code}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [clinic.pk, start, end])
        return {str(area): (n, events) for area, n, events in cursor.fetchall()}


def _by_area_in_python(clinic: Clinic, start: datetime, end: datetime) -> dict[Any, tuple[int, int]]:
    sessions = _sessions(clinic, start, end)
    with_event = set(AdverseEvent.sessions.through.objects.filter(
        treatmentsession__in=sessions).values_list("treatmentsession_id", "adverseevent_id"))
    events_of: dict[int, set[int]] = {}
    for session_id, event_id in with_event:
        events_of.setdefault(session_id, set()).add(event_id)
    counts: dict[str, tuple[set[int], set[int]]] = {}
    for session_id, areas in sessions.values_list("id", "areas").iterator():
        for area in dict.fromkeys(areas if isinstance(areas, list) else []):
            seen, events = counts.setdefault(str(area), (set(), set()))
            seen.add(session_id)
            events |= events_of.get(session_id, set())
    return {area: (len(seen), len(events)) for area, (seen, events) in counts.items()}


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
    sessions = _sessions(clinic, start, end)
    pack = active_pack()
    totals = sessions.aggregate(sessions=Count("id", distinct=True),
                                events=Count("adverse_events", distinct=True))
    overall = Rate(key="", label=_("All sessions"), sessions=totals["sessions"], events=totals["events"])

    by: dict[str, list[Rate]] = {}
    ingredients = _by_component_field(clinic, start, end, "ingredient")
    by["ingredient"] = _rows(ingredients, _pack_labels(ingredients, pack.ingredients, "name"))

    lots = _by_component_field(clinic, start, end, "lot_id")
    lot_labels = {pk: (str(public_id), number, product)
                  for pk, public_id, number, product in Lot.objects.filter(pk__in=list(lots))
                  .values_list("pk", "public_id", "number", "product__name")}
    by["lot"] = _rows(lots, lot_labels)

    techniques = _by_session_field(sessions, "technique")
    by["technique"] = _rows(techniques, _pack_labels(techniques, pack.techniques, "label"))

    performers = _by_session_field(sessions, "performer_id")
    by["practitioner"] = _rows(performers, {user.pk: (str(user.public_id), str(user), "")
                                            for user in User.objects.filter(pk__in=list(performers))})

    rooms = _by_session_field(sessions, "appointment__room_id")
    room_labels: dict[Any, tuple[str, str, str]] = {
        pk: (str(public_id), name, "")
        for pk, public_id, name in Room.objects.filter(pk__in=[r for r in rooms if r is not None])
        .values_list("pk", "public_id", "name")}
    room_labels[None] = ("", _("No room recorded"), "")
    by["room"] = _rows(rooms, room_labels)

    areas = _by_area(clinic, start, end)
    by["area"] = _rows(areas, _pack_labels(areas, pack.areas, "label"))

    zone = zoneinfo.ZoneInfo(clinic.timezone)
    monthly = {}
    for row in (sessions.annotate(month=TruncMonth("started_at", tzinfo=zone)).values("month")
                .annotate(sessions=Count("id", distinct=True),
                          events=Count("adverse_events", distinct=True))):
        month = row["month"]
        if isinstance(month, datetime):
            month = timezone.localtime(month, zone).date() if timezone.is_aware(month) else month.date()
        monthly[month.replace(day=1)] = (row["sessions"], row["events"])
    months = [MonthRate(month=m, sessions=monthly.get(m, (0, 0))[0], events=monthly.get(m, (0, 0))[1])
              for m in month_starts(since, until)]
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
