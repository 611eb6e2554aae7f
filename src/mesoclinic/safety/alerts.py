"""Alerts: who is told at once, who may acknowledge, and escalation when nobody does.

An event's alert goes to the patient's physician: the physician who approved the plan of the
sessions it followed, else a physician who performed them, else the clinic's medical director,
else every physician of the clinic. A cluster's alert goes to the medical director and the
managers. Each recipient sees it in the app and gets an email through the outbox (no patient in
the email). Unacknowledged past the clinic's time (default 4 h), the worker escalates it: the
managers join the recipients and are emailed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, Membership, User
from mesoclinic.accounts.permissions import Role
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.messaging import outbox
from mesoclinic.safety.models import INFECTION, AdverseEvent, Alert, Cluster, SafetySettings, Severity
from mesoclinic.safety.surveillance import local_date

WORKER = Actor(username="worker", role="system", via="worker")
# How soon the proposed check-up should be: an infection within two days, a severe or serious
# event the next day.
CHECKUP_DAYS = {Alert.Reason.INFECTION: 2, Alert.Reason.SEVERE: 1, Alert.Reason.SERIOUS: 1}
# When several apply, the one named: a serious event outranks an infection, which outranks severity.
PRIORITY = (Alert.Reason.SERIOUS, Alert.Reason.INFECTION, Alert.Reason.SEVERE)


class AlertRefused(Exception):
    """`forbidden`: the caller has no right to this step (not: it is simply done already)."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.forbidden = forbidden


def reasons_for(event: AdverseEvent) -> list[str]:
    reasons: list[str] = []
    if event.serious:
        reasons.append(Alert.Reason.SERIOUS)
    if event.effect == INFECTION:
        reasons.append(Alert.Reason.INFECTION)
    if event.severity == Severity.SEVERE:
        reasons.append(Alert.Reason.SEVERE)
    return reasons


def _members(clinic: Clinic, role: Role) -> list[User]:
    return list(User.objects.filter(memberships__clinic=clinic, memberships__role=role, is_active=True)
                .distinct().order_by("id"))


def medical_directors(clinic: Clinic) -> list[User]:
    return [u for u in _members(clinic, Role.PHYSICIAN) if u.medical_director]


def managers(clinic: Clinic) -> list[User]:
    return _members(clinic, Role.MANAGER)


def patient_physicians(event: AdverseEvent) -> list[User]:
    clinic = event.clinic
    physicians = {u.pk: u for u in _members(clinic, Role.PHYSICIAN)}
    sessions = list(event.sessions.select_related("plan").order_by("-started_at"))
    for session in sessions:
        approver = session.plan.current.approved_by_id
        if approver in physicians:
            return [physicians[approver]]
    for session in sessions:
        if session.performer_id in physicians:
            return [physicians[session.performer_id]]
    return medical_directors(clinic) or list(physicians.values())


def _ack_due(clinic: Clinic, now: datetime) -> datetime:
    return now + timedelta(hours=SafetySettings.of(clinic).ack_hours)


def _url(alert: Alert) -> str:
    return settings.PUBLIC_URL + reverse("safety:alert", args=[alert.public_id])


def _language(user: User, clinic: Clinic) -> str:
    known = {code for code, _name in settings.LANGUAGES}
    chosen = user.language or clinic.language
    return chosen if chosen in known else settings.LANGUAGE_CODE


def _email(alert: Alert, users: Iterable[User], *, escalated: bool, now: datetime) -> None:
    for user in users:
        if not user.email:
            continue  # they still see it in the app
        language = _language(user, alert.clinic)
        with translation.override(language):
            reason = str(Alert.Reason(alert.reason).label)
        outbox.schedule(clinic=alert.clinic, kind="safety_alert", channel="email", recipient=user.email,
                        language=language, ref=f"alert:{alert.public_id}", due_at=now,
                        context={"name": user.display_name or user.username, "clinic": alert.clinic.name,
                                 "reason": reason, "url": _url(alert),
                                 "escalated": "yes" if escalated else ""})


def _audit(actor: Actor, alert: Alert, action: AuditEvent.Action, detail: str) -> None:
    record(actor, action=action, object_type="safety_alert", object_id=str(alert.public_id),
           clinic_id=str(alert.clinic.public_id), organisation_id=str(alert.clinic.organisation.public_id),
           patient_id=str(alert.patient.public_id) if alert.patient else "", detail=detail)


def raise_for_event(event: AdverseEvent, *, actor: Actor, now: datetime | None = None) -> Alert | None:
    """Raise the event's alert if it needs one it has not had, and none of its alerts is open."""
    now = now or timezone.now()
    wanted = reasons_for(event)
    if not wanted or not event.is_open:
        return None
    had = list(Alert.objects.filter(event=event).values_list("reason", "acknowledged_at"))
    if any(acknowledged is None for _reason, acknowledged in had):
        return None  # someone is already being asked to look
    new = [r for r in PRIORITY if r in wanted and r not in {reason for reason, _at in had}]
    if not new:
        return None
    reason = new[0]
    clinic = event.clinic
    with transaction.atomic():
        alert = Alert.objects.create(
            clinic=clinic, reason=reason, patient=event.patient, event=event, raised_at=now,
            ack_due_at=_ack_due(clinic, now),
            checkup_by=local_date(now, clinic.timezone) + timedelta(days=CHECKUP_DAYS[reason]))
        recipients = patient_physicians(event)
        alert.recipients.set(recipients)
        _email(alert, recipients, escalated=False, now=now)
        _audit(actor, alert, AuditEvent.Action.CREATE, f"alert raised: {reason}")
    return alert


def raise_for_cluster(cluster: Cluster, *, actor: Actor, now: datetime | None = None) -> Alert:
    now = now or timezone.now()
    clinic = cluster.clinic
    with transaction.atomic():
        alert = Alert.objects.create(clinic=clinic, reason=Alert.Reason.CLUSTER, cluster=cluster,
                                     raised_at=now, ack_due_at=_ack_due(clinic, now))
        directors = medical_directors(clinic)
        # No medical director at this clinic: every physician hears of it.
        recipients = {u.pk: u for u in (directors or _members(clinic, Role.PHYSICIAN)) + managers(clinic)}
        alert.recipients.set(list(recipients.values()))
        _email(alert, recipients.values(), escalated=False, now=now)
        _audit(actor, alert, AuditEvent.Action.CREATE, f"cluster alert raised: {cluster.kind} {cluster.key}")
    return alert


def may_acknowledge(alert: Alert, user: User) -> bool:
    """A recipient may; so may the clinic's medical director. Nobody else."""
    if alert.recipients.filter(pk=user.pk).exists():
        return True
    return user.medical_director and Membership.objects.filter(
        user=user, clinic=alert.clinic, role=Role.PHYSICIAN).exists()


def acknowledge(alert: Alert, *, by: User, actor: Actor, note: str = "",
                now: datetime | None = None) -> Alert:
    now = now or timezone.now()
    if not may_acknowledge(alert, by):
        raise AlertRefused(_("This alert is addressed to someone else: only its recipients or the "
                             "medical director may acknowledge it."), forbidden=True)
    with transaction.atomic():
        # Conditional: of two people acknowledging at once, one is recorded.
        done = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=now, acknowledged_by=by, ack_note=(note or "").strip()[:500])
        if not done:
            raise AlertRefused(_("This alert was acknowledged already."))
        alert.refresh_from_db()
        outbox.cancel(f"alert:{alert.public_id}")
        _audit(actor, alert, AuditEvent.Action.UPDATE, "alert acknowledged")
    return alert


def escalate_due(now: datetime | None = None) -> int:
    """Escalate every alert nobody acknowledged in time (the worker's job, each minute)."""
    now = now or timezone.now()
    escalated = 0
    due = Alert.objects.filter(acknowledged_at__isnull=True, escalated_at__isnull=True,
                               ack_due_at__lte=now).select_related("clinic__organisation", "patient")
    for alert in due[:500]:
        with transaction.atomic():
            # Conditional: two workers escalate an alert once.
            if not Alert.objects.filter(pk=alert.pk, escalated_at__isnull=True,
                                        acknowledged_at__isnull=True).update(escalated_at=now):
                continue
            told = set(alert.recipients.values_list("pk", flat=True))
            # No manager at the clinic: the medical director is the one to chase it.
            above = managers(alert.clinic) or medical_directors(alert.clinic)
            added = [u for u in above if u.pk not in told]
            alert.recipients.add(*added)
            _email(alert, added, escalated=True, now=now)
            _audit(WORKER, alert, AuditEvent.Action.UPDATE,
                   f"alert escalated to {len(added)} manager(s) after no acknowledgement")
            escalated += 1
    return escalated
