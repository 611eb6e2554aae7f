"""The worker's safety jobs: the cluster check (after each infection event and daily), escalation.

`run_signals` builds the `safety-signals` contract's input from the clinic's sessions and events,
runs the same engine the command runs, and keeps one `Cluster` row per lot or room-day: a new one
raises a cluster alert and a call list of the exposed patients; a known one gains the new events
and patients (and their calls) without a second alert.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from mesoclinic.accounts.models import Clinic
from mesoclinic.audit.log import record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.charting.models import SessionComponent, TreatmentSession
from mesoclinic.patients.models import Patient
from mesoclinic.safety import alerts
from mesoclinic.safety.models import INFECTION, AdverseEvent, Cluster, ClusterCall, SafetySettings
from mesoclinic.safety.signals import DEFAULT_WINDOW_DAYS, detect
from mesoclinic.safety.signals_contract import parse
from mesoclinic.safety.surveillance import local_date

logger = logging.getLogger("mesoclinic.safety")

# Infections count up to 12 weeks after a session (published outbreaks: 1-12 weeks).
WINDOW_DAYS = DEFAULT_WINDOW_DAYS
# Events this far back are looked at daily; older ones were seen while they were recent.
LOOKBACK_DAYS = 365


def signals_input(clinic: Clinic, now: datetime) -> dict[str, Any]:
    """The contract's input for one clinic: a year of infection events and the sessions they could
    count for, with every session of those days and lots (the exposed)."""
    today = local_date(now, clinic.timezone)
    events_since = today - timedelta(days=LOOKBACK_DAYS)
    sessions_since = events_since - timedelta(days=WINDOW_DAYS + 1)
    sessions = list(TreatmentSession.objects.filter(clinic=clinic, started_at__date__gte=sessions_since)
                    .values_list("pk", "public_id", "patient__public_id", "started_at",
                                 "appointment__room__name"))
    lots: dict[int, list[str]] = {}
    for session_pk, number in (SessionComponent.objects.filter(session__clinic=clinic,
                                                              session__started_at__date__gte=sessions_since)
                               .values_list("session_id", "lot__number")):
        lots.setdefault(session_pk, []).append(number)
    known = {str(public_id) for _pk, public_id, *_rest in sessions}
    events: list[dict[str, Any]] = []
    for event_id, patient_id, infection, onset in (
            AdverseEvent.objects.filter(clinic=clinic, effect=INFECTION, onset__gte=events_since)
            .values_list("public_id", "patient__public_id", "infection", "onset")):
        events.append({"id": str(event_id), "patient": str(patient_id),
                       "kind": "infection" if infection == "confirmed" else "suspected_infection",
                       "onset": onset.isoformat(), "sessions": []})
    by_id = {e["id"]: e for e in events}
    for event_id, session_id in AdverseEvent.sessions.through.objects.filter(
            adverseevent__public_id__in=list(by_id)).values_list(
            "adverseevent__public_id", "treatmentsession__public_id"):
        if str(session_id) in known:  # an older session is past the window anyway
            by_id[str(event_id)]["sessions"].append(str(session_id))
    return {
        "timezone": clinic.timezone,
        "window_days": WINDOW_DAYS,
        "exposures": [{"session": str(public_id), "patient": str(patient_id), "at": started.isoformat(),
                       "room": room, "lots": sorted(set(lots.get(pk, [])))}
                      for pk, public_id, patient_id, started, room in sessions],
        "events": events,
    }


def run_signals(clinic: Clinic, now: datetime | None = None) -> list[Cluster]:
    """Run the cluster check on the clinic's data; returns the clusters it found new."""
    now = now or timezone.now()
    found = detect(parse(signals_input(clinic, now)))
    new: list[Cluster] = []
    for cluster in found:
        with transaction.atomic():
            row = Cluster.objects.select_for_update().filter(clinic=clinic, kind=cluster.kind,
                                                             key=cluster.key).first()
            created = row is None
            if row is None:
                try:
                    with transaction.atomic():
                        row = Cluster.objects.create(clinic=clinic, kind=cluster.kind, key=cluster.key,
                                                     events=list(cluster.events),
                                                     exposed_patients=list(cluster.exposed_patients),
                                                     detected_at=now, updated_at=now)
                except IntegrityError:  # another worker made it a moment ago
                    continue
            elif (row.events, row.exposed_patients) != (list(cluster.events), list(cluster.exposed_patients)):
                row.events, row.exposed_patients, row.updated_at = (
                    list(cluster.events), list(cluster.exposed_patients), now)
                row.save(update_fields=["events", "exposed_patients", "updated_at"])
            patients = Patient.objects.filter(clinic=clinic, public_id__in=cluster.exposed_patients)
            ClusterCall.objects.bulk_create([ClusterCall(cluster=row, patient=p) for p in patients],
                                            ignore_conflicts=True)
            if created:
                record(alerts.WORKER, action=AuditEvent.Action.CREATE, object_type="safety_cluster",
                       object_id=str(row.public_id), clinic_id=str(clinic.public_id),
                       organisation_id=str(clinic.organisation.public_id),
                       detail=f"{cluster.kind} cluster {cluster.key}: {len(cluster.events)} events, "
                              f"{len(cluster.exposed_patients)} exposed")
                alerts.raise_for_cluster(row, actor=alerts.WORKER, now=now)
                new.append(row)
    return new


@task()
def check_signals(clinic_id: str) -> int:
    """The cluster check of one clinic (queued after an infection event); returns new clusters."""
    clinic = Clinic.objects.select_related("organisation").filter(public_id=clinic_id).first()
    return 0 if clinic is None else len(run_signals(clinic))


def queue_signals(clinic: Clinic) -> None:
    """Queue the clinic's cluster check once the caller's transaction commits."""
    clinic_id = str(clinic.public_id)
    # robust: a queue that refuses the task must not undo the event; the daily run catches up.
    transaction.on_commit(lambda: check_signals.enqueue(clinic_id), robust=True)


def daily_signals(now: datetime | None = None) -> int:
    """Once a clinic-local day, the cluster check of every clinic (the worker's periodic job)."""
    now = now or timezone.now()
    checked = 0
    for clinic in Clinic.objects.select_related("organisation"):
        today = local_date(now, clinic.timezone)
        settings_row = SafetySettings.of(clinic)
        if settings_row.signals_checked_on == today:
            continue
        try:
            run_signals(clinic, now)
        except Exception:  # one clinic's failure must not stop the others' checks
            logger.exception("cluster check failed for clinic %s", clinic.public_id)
            continue
        SafetySettings.objects.update_or_create(clinic=clinic, defaults={"signals_checked_on": today})
        checked += 1
    return checked


def escalate(now: datetime) -> int:
    return alerts.escalate_due(now)
