"""The clinic's adverse events of a period, loaded for export, and written as CSV.

One row per event, in onset order. Codes become labels in the reader's language; times are the
clinic's local time with its UTC offset. Every cell goes through `lib.spreadsheet.safe_cell`, so
a typed side effect or a lot number cannot run as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Protocol

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic
from mesoclinic.charting.models import SessionComponent, TreatmentSession
from mesoclinic.knowledge.pack import SideEffect
from mesoclinic.knowledge.store import active_pack
from mesoclinic.lib.spreadsheet import safe_cell
from mesoclinic.safety.fhir import lots_of, sessions_of
from mesoclinic.safety.models import OTHER_EFFECT, AdverseEvent, Seriousness

# Machine-readable column names, as the recall and audit exports have them.
HEADER = ("event_id", "patient_id", "onset", "effect_code", "effect", "infection", "severity", "serious",
          "seriousness_criteria", "expected", "action_taken", "outcome", "resolved_on", "status",
          "session_numbers", "session_ids", "lots", "reported_by", "reported_at")
# Events are read in chunks of this many; each chunk costs three queries (events, sessions,
# components with their lots), and an IN list this long suits SQLite and PostgreSQL alike.
CHUNK_SIZE = 2000


class Writable(Protocol):
    def write(self, s: str, /) -> Any: ...


def events_in_period(clinic: Clinic, *, since: date | None = None,
                     until: date | None = None) -> QuerySet[AdverseEvent]:
    """The clinic's events with onset in [since, until] (either open), with what the exports read."""
    events = AdverseEvent.objects.filter(clinic=clinic)
    if since is not None:
        events = events.filter(onset__gte=since)
    if until is not None:
        events = events.filter(onset__lte=until)
    components = SessionComponent.objects.select_related("lot__product")
    sessions = TreatmentSession.objects.prefetch_related(Prefetch("components", queryset=components))
    return (events.select_related("clinic", "patient", "reported_by")
            .prefetch_related(Prefetch("sessions", queryset=sessions))
            .order_by("onset", "id"))


def load(events: QuerySet[AdverseEvent]) -> list[AdverseEvent]:
    """The events in memory, a chunk of prefetches at a time."""
    return list(events.iterator(chunk_size=CHUNK_SIZE))


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def row(event: AdverseEvent, *, side_effects: Mapping[str, SideEffect]) -> list[str]:
    """One event's cells, formula-safe."""
    zone = zoneinfo.ZoneInfo(event.clinic.timezone)
    if event.effect == OTHER_EFFECT:
        effect = event.other_effect
    else:
        entry = side_effects.get(event.effect)
        effect = entry.label if entry is not None else event.effect
    sessions = sessions_of(event)
    cells = [
        str(event.public_id), str(event.patient.public_id), event.onset.isoformat(), event.effect, effect,
        event.get_infection_display() if event.infection else "",
        event.get_severity_display(), _yes_no(event.serious),
        "; ".join(str(Seriousness(code).label) for code in event.seriousness),
        _yes_no(event.expected), event.get_action_taken_display(), event.get_outcome_display(),
        event.resolved_on.isoformat() if event.resolved_on else "", event.get_status_display(),
        "; ".join(str(s.session_number) for s in sessions),
        "; ".join(str(s.public_id) for s in sessions),
        "; ".join(f"{lot.number} ({lot.product.name})" for lot in lots_of(event)),
        str(event.reported_by), event.reported_at.astimezone(zone).isoformat(timespec="seconds"),
    ]
    return [safe_cell(str(cell)) for cell in cells]


def write_csv(events: Iterable[AdverseEvent], out: Writable) -> int:
    """Write the header and one row per event to `out`; the number of events written."""
    side_effects = active_pack().side_effects
    writer = csv.writer(out)
    writer.writerow(HEADER)
    count = 0
    for event in events:
        writer.writerow(row(event, side_effects=side_effects))
        count += 1
    return count
