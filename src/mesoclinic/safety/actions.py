"""Reporting and handling adverse events: every change is one transaction and one audit event.

Views and the API only parse and call these. A refusal (`SafetyRefused(field, message)`) changes
nothing. Raising alerts (alerts.py) and queueing the cluster check (tasks.py) happen in the same
transaction as the event that causes them, so an event is never saved without its alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.knowledge.store import active_pack
from mesoclinic.patients.models import Patient
from mesoclinic.safety import alerts
from mesoclinic.safety.models import (
    INFECTION,
    OTHER_EFFECT,
    RESOLVED_OUTCOMES,
    ActionTaken,
    AdverseEvent,
    CheckIn,
    Cluster,
    ClusterCall,
    EventEntry,
    EventOutcome,
    EventSource,
    EventStatus,
    Infection,
    SafetySettings,
    Seriousness,
    Severity,
    validate_checkin_weeks,
)
from mesoclinic.safety.surveillance import checkin_days, local_date

# Swelling and needle marks for a day or two are what a session leaves (F-SIDE-EFFECTS).
EXPECTED_EFFECTS = frozenset({"swelling", "needle_marks"})
EXPECTED_DAYS = 2


class SafetyRefused(Exception):
    """Refused with a message for the person who asked; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class EventSpec:
    """What staff say about a side effect; sessions by public id."""

    effect: str
    onset: date
    severity: str
    sessions: Sequence[UUID | str]
    other_effect: str = ""
    infection: str = ""
    description: str = ""
    seriousness: Sequence[str] = field(default_factory=list)
    action_taken: str = ActionTaken.NONE
    outcome: str = EventOutcome.ONGOING
    resolved_on: date | None = None


def catalogue() -> dict[str, str]:
    """Side effects staff choose from: the knowledge pack's catalogue (F-SIDE-EFFECTS)."""
    return {code: entry.label for code, entry in active_pack().side_effects.items()}


def effect_label(event: AdverseEvent) -> str:
    if event.effect == OTHER_EFFECT:
        return event.other_effect
    entry = active_pack().side_effects.get(event.effect)
    return entry.label if entry is not None else event.effect


def _today(clinic: Clinic, now: datetime) -> date:
    return local_date(now, clinic.timezone)


def _sessions(patient: Patient, ids: Sequence[UUID | str]) -> list[TreatmentSession]:
    wanted: list[UUID] = []
    for raw in ids:
        try:
            wanted.append(raw if isinstance(raw, UUID) else UUID(str(raw)))
        except ValueError:
            raise SafetyRefused("sessions", _("Not a session: %(id)s.") % {"id": str(raw)[:60]}) from None
    if not wanted:
        raise SafetyRefused("sessions", _("Name the session or sessions the side effect followed."))
    found = {s.public_id: s for s in TreatmentSession.objects.filter(public_id__in=wanted)}
    for public_id in wanted:
        session = found.get(public_id)
        # Another clinic's or patient's session reads as unknown: nothing about it leaks.
        if session is None or session.patient_id != patient.pk or session.clinic_id != patient.clinic_id:
            raise SafetyRefused("sessions", _("Session %(id)s is not one of this patient's sessions.")
                                % {"id": str(public_id)})
    return [found[p] for p in dict.fromkeys(wanted)]


def _validate(spec: EventSpec, *, clinic: Clinic, sessions: list[TreatmentSession],
              now: datetime) -> dict[str, Any]:
    """The model's values from a spec, or SafetyRefused naming the first thing wrong."""
    known = catalogue()
    effect = (spec.effect or "").strip()
    if effect != OTHER_EFFECT and effect not in known:
        raise SafetyRefused("effect", _("Choose a side effect from the list, or “other” and name it."))
    other = (spec.other_effect or "").strip() if effect == OTHER_EFFECT else ""
    if effect == OTHER_EFFECT and not other:
        raise SafetyRefused("other_effect", _("Name the side effect."))
    infection = spec.infection or ""
    if effect == INFECTION:
        infection = infection or Infection.SUSPECTED
        if infection not in Infection.values:
            raise SafetyRefused("infection", _("An infection is suspected or confirmed."))
    elif infection:
        raise SafetyRefused("infection", _("Only an infection is marked suspected or confirmed."))
    if spec.severity not in Severity.values:
        raise SafetyRefused("severity", _("Severity is mild, moderate or severe."))
    criteria = list(dict.fromkeys(spec.seriousness))
    unknown = [c for c in criteria if c not in Seriousness.values]
    if unknown:
        raise SafetyRefused("seriousness", _("Not a seriousness criterion: %(value)s.")
                            % {"value": str(unknown[0])[:60]})
    if spec.action_taken not in ActionTaken.values:
        raise SafetyRefused("action_taken", _("Choose the action taken from the list."))
    if spec.outcome not in EventOutcome.values:
        raise SafetyRefused("outcome", _("Choose the outcome from the list."))
    if not isinstance(spec.onset, date) or isinstance(spec.onset, datetime):
        raise SafetyRefused("onset", _("Give the day the side effect began."))
    today = _today(clinic, now)
    if spec.onset > today:
        raise SafetyRefused("onset", _("The onset cannot be in the future."))
    zone = ZoneInfo(clinic.timezone)
    first = min(s.started_at.astimezone(zone).date() for s in sessions)
    latest = max(s.started_at.astimezone(zone).date() for s in sessions)
    if spec.onset < first:
        raise SafetyRefused("onset", _("The onset is before the session it followed (%(day)s).")
                            % {"day": first.isoformat()})
    resolved = spec.resolved_on
    if resolved is not None:
        if resolved < spec.onset:
            raise SafetyRefused("resolved_on", _("It cannot resolve before it began."))
        if resolved > today:
            raise SafetyRefused("resolved_on", _("The day it resolved cannot be in the future."))
        if spec.outcome not in RESOLVED_OUTCOMES:
            raise SafetyRefused("outcome", _("An effect with a resolution date has recovered "
                                             "(fully or with lasting effects) or was fatal."))
    elif spec.outcome in (EventOutcome.RECOVERED, EventOutcome.SEQUELAE):
        raise SafetyRefused("resolved_on", _("Give the day it resolved."))
    if Seriousness.DEATH in criteria and spec.outcome != EventOutcome.FATAL:
        raise SafetyRefused("outcome", _("An event that led to death has the outcome “fatal”."))
    # Expected: swelling or marks starting within two days of the latest session they followed.
    expected = effect in EXPECTED_EFFECTS and spec.onset <= latest + timedelta(days=EXPECTED_DAYS) \
        and not criteria and spec.severity == Severity.MILD
    return {"effect": effect, "other_effect": other, "infection": infection,
            "description": (spec.description or "").strip(), "onset": spec.onset,
            "severity": spec.severity, "seriousness": criteria, "expected": expected,
            "action_taken": spec.action_taken, "outcome": spec.outcome, "resolved_on": resolved}


def _audit(actor: Actor, event: AdverseEvent, action: AuditEvent.Action, *, detail: str = "",
           changes: dict[str, Any] | None = None, object_type: ObjectType = "adverse_event",
           object_id: str = "") -> None:
    record(actor, action=action, object_type=object_type, object_id=object_id or str(event.public_id),
           clinic_id=str(event.clinic.public_id), organisation_id=str(event.clinic.organisation.public_id),
           patient_id=str(event.patient.public_id), changes=changes, detail=detail)


def _full_clean(event: AdverseEvent) -> None:
    from django.core.exceptions import ValidationError

    try:
        event.full_clean(exclude=["clinic", "patient", "reported_by", "closed_by", "hold_cleared_by"],
                         validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        name, errors = next(iter(exc.message_dict.items()))
        raise SafetyRefused(name, " ".join(errors)) from None


def _after_change(event: AdverseEvent, actor: Actor, now: datetime, *, was_infection: bool) -> None:
    alerts.raise_for_event(event, actor=actor, now=now)
    if event.effect == INFECTION and not was_infection:
        from mesoclinic.safety.tasks import queue_signals

        queue_signals(event.clinic)


def report_event(*, patient: Patient, spec: EventSpec, by: User, actor: Actor,
                 source: str = EventSource.STAFF, now: datetime | None = None) -> AdverseEvent:
    """Record a side effect after one or more of the patient's sessions."""
    now = now or timezone.now()
    clinic = patient.clinic
    sessions = _sessions(patient, spec.sessions)
    values = _validate(spec, clinic=clinic, sessions=sessions, now=now)
    with transaction.atomic():
        event = AdverseEvent(clinic=clinic, patient=patient, reported_by=by, reported_at=now,
                             source=source, **values)
        _full_clean(event)
        event.save(force_insert=True)
        event.sessions.set(sessions)
        EventEntry.objects.create(event=event, action=EventEntry.Action.REPORTED, at=now, by=by)
        # The audit names what kind of record changed, never its clinical values.
        _audit(actor, event, AuditEvent.Action.CREATE,
               detail=f"adverse event reported ({values['severity']}, {len(sessions)} session(s))")
        _after_change(event, actor, now, was_infection=False)
    return event


def _locked(event: AdverseEvent, expected_version: int | None) -> AdverseEvent:
    locked = AdverseEvent.objects.select_for_update().select_related(
        "clinic__organisation", "patient").get(pk=event.pk)
    if expected_version is not None and locked.version != expected_version:
        raise SafetyRefused("version", _("Someone changed this event since you opened it: reload it "
                                         "and make your change again."))
    return locked


def update_event(*, event: AdverseEvent, spec: EventSpec, by: User, actor: Actor,
                 expected_version: int | None = None, now: datetime | None = None) -> AdverseEvent:
    """Correct or complete an open event (outcome, resolution, severity as it evolves)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(event, expected_version)
        if not locked.is_open:
            raise SafetyRefused("status", _("The event is closed: reopen it, with a reason, to change it."))
        sessions = _sessions(locked.patient, spec.sessions)
        values = _validate(spec, clinic=locked.clinic, sessions=sessions, now=now)
        was_infection = locked.effect == INFECTION
        changed = [name for name, value in values.items() if getattr(locked, name) != value]
        before = set(locked.sessions.values_list("pk", flat=True))
        if {s.pk for s in sessions} != before:
            changed.append("sessions")
        if not changed:
            return locked
        for name, value in values.items():
            setattr(locked, name, value)
        locked.version += 1
        _full_clean(locked)
        locked.save()
        locked.sessions.set(sessions)
        EventEntry.objects.create(event=locked, action=EventEntry.Action.UPDATED, at=now, by=by,
                                  changes={"fields": changed})
        _audit(actor, locked, AuditEvent.Action.UPDATE, changes={"fields": changed},
               detail="adverse event updated")
        _after_change(locked, actor, now, was_infection=was_infection)
    return locked


def close_event(*, event: AdverseEvent, by: User, actor: Actor, note: str = "",
                expected_version: int | None = None, now: datetime | None = None) -> AdverseEvent:
    """Close an event once its outcome is known (a physician's step: it ends any hold)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(event, expected_version)
        if not locked.is_open:
            raise SafetyRefused("status", _("The event is already closed."))
        if locked.outcome == EventOutcome.ONGOING or locked.outcome == EventOutcome.RECOVERING:
            raise SafetyRefused("outcome", _("Record how it ended (recovered, with lasting effects, "
                                             "fatal or unknown) before closing the event."))
        locked.status = EventStatus.CLOSED
        locked.closed_at, locked.closed_by = now, by
        locked.version += 1
        locked.save(update_fields=["status", "closed_at", "closed_by", "version"])
        EventEntry.objects.create(event=locked, action=EventEntry.Action.CLOSED, at=now, by=by,
                                  note=note.strip()[:2000])
        _audit(actor, locked, AuditEvent.Action.UPDATE, changes={"status": ["open", "closed"]},
               detail="adverse event closed")
    return locked


def reopen_event(*, event: AdverseEvent, reason: str, by: User, actor: Actor,
                 expected_version: int | None = None, now: datetime | None = None) -> AdverseEvent:
    """Reopen a closed event (it came back, or was closed too early); the reason is kept."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise SafetyRefused("reason", _("Say why the event is reopened."))
    with transaction.atomic():
        locked = _locked(event, expected_version)
        if locked.is_open:
            raise SafetyRefused("status", _("The event is open already."))
        locked.status = EventStatus.OPEN
        locked.closed_at = locked.closed_by = None
        # A reopened event holds again until a physician clears it anew.
        locked.hold_cleared_at = locked.hold_cleared_by = None
        locked.hold_note = ""
        if locked.outcome in RESOLVED_OUTCOMES or locked.outcome == EventOutcome.UNKNOWN:
            locked.outcome, locked.resolved_on = EventOutcome.ONGOING, None
        locked.version += 1
        locked.save()
        EventEntry.objects.create(event=locked, action=EventEntry.Action.REOPENED, at=now, by=by,
                                  note=reason[:2000])
        _audit(actor, locked, AuditEvent.Action.UPDATE, changes={"status": ["closed", "open"]},
               detail="adverse event reopened")
        alerts.raise_for_event(locked, actor=actor, now=now)
    return locked


def clear_hold(*, event: AdverseEvent, note: str, by: User, actor: Actor,
               expected_version: int | None = None, now: datetime | None = None) -> AdverseEvent:
    """A physician has seen the patient: the next session may go ahead while the event stays open."""
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise SafetyRefused("note", _("Write what you assessed before clearing the hold."))
    with transaction.atomic():
        locked = _locked(event, expected_version)
        if not locked.holds:
            raise SafetyRefused("status", _("This event holds no session: nothing to clear."))
        locked.hold_cleared_at, locked.hold_cleared_by, locked.hold_note = now, by, note[:2000]
        locked.version += 1
        locked.save(update_fields=["hold_cleared_at", "hold_cleared_by", "hold_note", "version"])
        EventEntry.objects.create(event=locked, action=EventEntry.Action.HOLD_CLEARED, at=now, by=by,
                                  note=note[:2000])
        _audit(actor, locked, AuditEvent.Action.UPDATE, changes={"hold": ["on", "cleared"]},
               detail="hold cleared")
    return locked


def holds_for(patient: Patient) -> list[dict[str, Any]]:
    """The patient's open events in the pre-session check's words (charting.hooks source)."""
    events = AdverseEvent.objects.filter(patient=patient, status=EventStatus.OPEN)
    return [{"severity": e.hold_severity, "cleared": e.hold_cleared_at is not None,
             "id": str(e.public_id)[:8], "code": e.effect} for e in events]


# --- check-ins ---------------------------------------------------------------------------------


def schedule_checkins(session: TreatmentSession) -> list[CheckIn]:
    """The session's check-ins on the clinic's schedule; a second call adds none twice."""
    clinic = session.clinic
    weeks = SafetySettings.of(clinic).checkin_weeks
    rows = [CheckIn(clinic=clinic, patient_id=session.patient_id, session=session, week=week, due_on=day)
            for week, day in checkin_days(session.started_at, clinic.timezone, weeks)]
    CheckIn.objects.bulk_create(rows, ignore_conflicts=True)
    return list(CheckIn.objects.filter(session=session))


@dataclass(frozen=True)
class CheckInAnswer:
    reached: bool
    answers: dict[str, bool] = field(default_factory=dict)
    note: str = ""
    onset: date | None = None  # when a sign began, if the patient says


def record_checkin(*, checkin: CheckIn, answer: CheckInAnswer, by: User, actor: Actor,
                   now: datetime | None = None) -> CheckIn:
    """One call: not reached (tried again later), or the answers; a yes opens a suspected infection."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = CheckIn.objects.select_for_update().select_related(
            "clinic__organisation", "patient__clinic", "session").get(pk=checkin.pk)
        if locked.status != CheckIn.Status.DUE:
            raise SafetyRefused("status", _("This check-in is done already."))
        if not answer.reached:
            locked.attempts += 1
            locked.last_attempt_at = now
            locked.note = answer.note.strip()[:1000]
            locked.save(update_fields=["attempts", "last_attempt_at", "note"])
            _checkin_audit(actor, locked, "check-in call: not reached")
            return locked
        missing = [q for q in CheckIn.QUESTIONS if type(answer.answers.get(q)) is not bool]
        if missing:
            raise SafetyRefused(missing[0], _("Answer every question (yes or no)."))
        locked.answers = {q: answer.answers[q] for q in CheckIn.QUESTIONS}
        locked.note = answer.note.strip()[:1000]
        locked.status = CheckIn.Status.DONE
        locked.attempts += 1
        locked.last_attempt_at = locked.answered_at = now
        locked.answered_by = by
        if locked.positive:
            today = _today(locked.clinic, now)
            onset = answer.onset or today
            signs = ", ".join(str(CheckIn.SIGNS[q]) for q in CheckIn.QUESTIONS if locked.answers[q])
            # Moderate until a physician grades it: it holds the next session, as it should.
            spec = EventSpec(effect=INFECTION, infection=Infection.SUSPECTED, onset=onset,
                             severity=Severity.MODERATE, sessions=[locked.session.public_id],
                             description=_("Check-in call, week %(week)d: %(signs)s.")
                             % {"week": locked.week, "signs": signs}
                             + (f" {locked.note}" if locked.note else ""))
            locked.event = report_event(patient=locked.patient, spec=spec, by=by, actor=actor,
                                        source=EventSource.CHECK_IN, now=now)
        locked.save()
        _checkin_audit(actor, locked, "check-in answered" + (": signs reported" if locked.positive else ""))
    return locked


def _checkin_audit(actor: Actor, checkin: CheckIn, detail: str) -> None:
    record(actor, action=AuditEvent.Action.UPDATE, object_type="check_in", object_id=str(checkin.public_id),
           clinic_id=str(checkin.clinic.public_id),
           organisation_id=str(checkin.clinic.organisation.public_id),
           patient_id=str(checkin.patient.public_id), detail=detail)


# --- clusters: the call list -------------------------------------------------------------------


def record_call(*, call: ClusterCall, outcome: str, note: str, by: User, actor: Actor,
                now: datetime | None = None) -> ClusterCall:
    now = now or timezone.now()
    if outcome not in ClusterCall.Outcome.values:
        raise SafetyRefused("outcome", _("Choose how the call went."))
    with transaction.atomic():
        locked = ClusterCall.objects.select_for_update().select_related(
            "cluster__clinic__organisation", "patient").get(pk=call.pk)
        locked.outcome, locked.note = outcome, (note or "").strip()[:500]
        locked.attempts += 1
        locked.called_at, locked.called_by = now, by
        locked.save()
        clinic = locked.cluster.clinic
        record(actor, action=AuditEvent.Action.UPDATE, object_type="safety_cluster",
               object_id=str(locked.cluster.public_id), clinic_id=str(clinic.public_id),
               organisation_id=str(clinic.organisation.public_id), patient_id=str(locked.patient.public_id),
               detail=f"cluster call: {outcome}")
    return locked


def close_cluster(*, cluster: Cluster, note: str, by: User, actor: Actor,
                  now: datetime | None = None) -> Cluster:
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise SafetyRefused("note", _("Say what was found and done before closing the cluster."))
    with transaction.atomic():
        locked = Cluster.objects.select_for_update().select_related("clinic__organisation").get(pk=cluster.pk)
        if locked.status != Cluster.Status.OPEN:
            raise SafetyRefused("status", _("The cluster is closed already."))
        locked.status, locked.closed_at, locked.closed_by, locked.closed_note = (
            Cluster.Status.CLOSED, now, by, note[:2000])
        locked.save()
        record(actor, action=AuditEvent.Action.UPDATE, object_type="safety_cluster",
               object_id=str(locked.public_id), clinic_id=str(locked.clinic.public_id),
               organisation_id=str(locked.clinic.organisation.public_id), detail="cluster closed")
    return locked


# --- settings ----------------------------------------------------------------------------------


def save_settings(*, clinic: Clinic, ack_hours: int, checkin_weeks: list[int],
                  actor: Actor) -> SafetySettings:
    from django.core.exceptions import ValidationError

    if type(ack_hours) is not int or not 1 <= ack_hours <= 72:
        raise SafetyRefused("ack_hours", _("Allow 1 to 72 hours to acknowledge."))
    try:
        validate_checkin_weeks(checkin_weeks)
    except ValidationError as exc:
        raise SafetyRefused("checkin_weeks", " ".join(exc.messages)) from None
    with transaction.atomic():
        settings_row, _created = SafetySettings.objects.select_for_update().get_or_create(clinic=clinic)
        before = {"ack_hours": settings_row.ack_hours, "checkin_weeks": settings_row.checkin_weeks}
        settings_row.ack_hours, settings_row.checkin_weeks = ack_hours, checkin_weeks
        try:
            settings_row.save()
        except IntegrityError:
            raise SafetyRefused("ack_hours", _("Allow 1 to 72 hours to acknowledge.")) from None
        record(actor, action=AuditEvent.Action.UPDATE, object_type="safety_settings",
               object_id=str(clinic.public_id), clinic_id=str(clinic.public_id),
               organisation_id=str(clinic.organisation.public_id),
               changes={k: [before[k], v] for k, v in
                        {"ack_hours": ack_hours, "checkin_weeks": checkin_weeks}.items() if before[k] != v})
    return settings_row
