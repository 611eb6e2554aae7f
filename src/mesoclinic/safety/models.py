"""Side effects and adverse events, the alerts they raise, post-session check-ins and clusters.

Most side effects pass within a day or two (F-SIDE-EFFECTS), but infections after injections can
show weeks later and are often recognised only when several patients of one lot or one room fall
ill. An `AdverseEvent` links to the sessions it followed (and through them to lots, technique,
area, room and performer); an `Alert` tells a physician at once and escalates when nobody
acknowledges it; a `CheckIn` asks the patient after each session, on the clinic's schedule; a
`Cluster` is what the signals engine (signals.py) found over the clinic's exposures and events.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mesoclinic.accounts.models import Clinic
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.lib.text import visible_text
from mesoclinic.patients.models import Patient

# The defaults the issue names: 4 hours to acknowledge; check-ins 1, 3, 6 and 12 weeks after a
# session, which covers the 1-12 weeks in which delayed mycobacterial infections show.
DEFAULT_ACK_HOURS = 4
DEFAULT_CHECKIN_WEEKS = (1, 3, 6, 12)
MAX_CHECKIN_WEEK = 26
# A check-in not answered this many days after its day is missed (a call may take a few tries).
CHECKIN_GRACE_DAYS = 3


def validate_checkin_weeks(value: Any) -> None:
    if (not isinstance(value, list) or not value or len(value) > 12
            or any(type(w) is not int or not 1 <= w <= MAX_CHECKIN_WEEK for w in value)
            or value != sorted(set(value))):
        raise ValidationError(_("Give 1 to 12 different whole weeks from 1 to %(max)d, in order "
                                "(e.g. 1, 3, 6, 12)."), params={"max": MAX_CHECKIN_WEEK})


def default_checkin_weeks() -> list[int]:
    return list(DEFAULT_CHECKIN_WEEKS)


class SafetySettings(models.Model):
    """A clinic's safety settings; a clinic without a row uses the defaults."""

    clinic = models.OneToOneField(Clinic, on_delete=models.PROTECT, related_name="safety_settings")
    ack_hours = models.PositiveSmallIntegerField(
        _("hours to acknowledge an alert"), default=DEFAULT_ACK_HOURS,
        help_text=_("An alert nobody acknowledges in this time goes to the clinic manager."))
    checkin_weeks = models.JSONField(_("check-in weeks after a session"), default=default_checkin_weeks,
                                     validators=[validate_checkin_weeks])
    # The clinic-local day the daily cluster check last ran (the worker runs it once a day).
    signals_checked_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(ack_hours__gte=1, ack_hours__lte=72),
                                   name="safety_ack_hours_range",
                                   violation_error_message=_("Allow 1 to 72 hours to acknowledge.")),
        ]

    @classmethod
    def of(cls, clinic: Clinic) -> SafetySettings:
        """The clinic's settings, or the defaults (unsaved) when it has none."""
        found = cls.objects.filter(clinic=clinic).first()
        return found if found is not None else cls(clinic=clinic)


class Severity(models.TextChoices):
    MILD = "mild", pgettext_lazy("severity", "Mild")
    MODERATE = "moderate", pgettext_lazy("severity", "Moderate")
    SEVERE = "severe", pgettext_lazy("severity", "Severe")


class Seriousness(models.TextChoices):
    """The regulatory seriousness criteria (ICH E2A); an event with none is not serious."""

    HOSPITALISATION = "hospitalisation", _("Hospitalisation")
    DISABILITY = "disability", _("Disability or lasting damage")
    LIFE_THREATENING = "life_threatening", _("Life-threatening")
    DEATH = "death", _("Death")
    OTHER_IMPORTANT = "other_important", _("Other medically important")


class ActionTaken(models.TextChoices):
    NONE = "none", _("None needed")
    OBSERVATION = "observation", _("Watched, no treatment")
    TREATED = "treated", _("Treated")
    REFERRED = "referred", _("Referred")
    SERIES_PAUSED = "series_paused", _("Series paused")
    SERIES_STOPPED = "series_stopped", _("Series stopped")
    OTHER = "other", pgettext_lazy("action taken", "Other")


class EventOutcome(models.TextChoices):
    ONGOING = "ongoing", _("Not yet recovered")
    RECOVERING = "recovering", _("Recovering")
    RECOVERED = "recovered", _("Recovered")
    SEQUELAE = "sequelae", _("Recovered with lasting effects")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


class Infection(models.TextChoices):
    """For an infection: suspected (not yet confirmed), or confirmed (culture, biopsy, clinical)."""

    SUSPECTED = "suspected", _("Suspected")
    CONFIRMED = "confirmed", _("Confirmed")


class EventStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("adverse event", "Open")
    CLOSED = "closed", pgettext_lazy("adverse event", "Closed")


class EventSource(models.TextChoices):
    STAFF = "staff", _("Reported by staff")
    CHECK_IN = "check_in", _("Check-in call")


# The catalogue code of an infection (knowledge pack, side_effects.yaml) and of a typed effect.
INFECTION = "infection"
OTHER_EFFECT = "other"
# A hold blocks the next session while the event is open (the pre-session check's rule).
HOLD_SEVERITIES = (Severity.MODERATE, Severity.SEVERE)
RESOLVED_OUTCOMES = (EventOutcome.RECOVERED, EventOutcome.SEQUELAE, EventOutcome.FATAL)


class AdverseEvent(models.Model):
    Status = EventStatus

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="adverse_events")
    sessions = models.ManyToManyField(TreatmentSession, related_name="adverse_events",
                                      verbose_name=_("sessions"))
    # A code of the knowledge pack's side-effect catalogue, or "other" with its name typed.
    effect = models.CharField(_("side effect"), max_length=50)
    other_effect = models.CharField(_("other side effect"), max_length=200, blank=True,
                                    validators=[visible_text])
    infection = models.CharField(_("infection"), max_length=10, choices=Infection.choices, blank=True)
    description = models.TextField(_("description"), max_length=4000, blank=True,
                                   validators=[visible_text])
    onset = models.DateField(_("onset"))
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    seriousness = models.JSONField(_("seriousness"), default=list, blank=True)
    expected = models.BooleanField(_("expected"))
    action_taken = models.CharField(_("action taken"), max_length=20, choices=ActionTaken.choices,
                                    default=ActionTaken.NONE)
    outcome = models.CharField(_("outcome"), max_length=20, choices=EventOutcome.choices,
                               default=EventOutcome.ONGOING)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=EventStatus.choices,
                              default=EventStatus.OPEN)
    source = models.CharField(_("source"), max_length=10, choices=EventSource.choices,
                              default=EventSource.STAFF)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("reported by"))
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="+")
    # A physician's assessment that the patient may be treated again while the event stays open.
    hold_cleared_at = models.DateTimeField(null=True, blank=True)
    hold_cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                        null=True, blank=True, related_name="+")
    hold_note = models.TextField(_("clearance note"), max_length=2000, blank=True,
                                 validators=[visible_text])
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-onset", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="event_severity_known",
                                   violation_error_message=_("Severity is mild, moderate or severe.")),
            models.CheckConstraint(condition=Q(status__in=EventStatus.values), name="event_status_known"),
            models.CheckConstraint(
                condition=(Q(status=EventStatus.CLOSED, closed_at__isnull=False, closed_by__isnull=False)
                           | Q(status=EventStatus.OPEN, closed_at__isnull=True, closed_by__isnull=True)),
                name="event_closed_complete"),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=F("onset")),
                name="event_resolved_after_onset",
                violation_error_message=_("An event resolves on or after its onset.")),
            # A typed effect has its name; an infection says whether it is suspected or confirmed.
            models.CheckConstraint(condition=~Q(effect=OTHER_EFFECT) | ~Q(other_effect=""),
                                   name="event_other_named"),
            models.CheckConstraint(
                condition=(Q(effect=INFECTION, infection__in=Infection.values)
                           | (~Q(effect=INFECTION) & Q(infection=""))),
                name="event_infection_status"),
            # A cleared hold says who cleared it, when and why.
            models.CheckConstraint(
                condition=(Q(hold_cleared_at__isnull=True, hold_cleared_by__isnull=True, hold_note="")
                           | (Q(hold_cleared_at__isnull=False, hold_cleared_by__isnull=False)
                              & ~Q(hold_note=""))),
                name="event_hold_clearance_complete"),
        ]
        indexes = [
            models.Index(fields=["patient", "status"], name="event_patient_status"),
            models.Index(fields=["clinic", "onset"], name="event_clinic_onset"),
        ]

    def __str__(self) -> str:
        return f"adverse event {self.public_id} ({self.effect}, {self.severity}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == EventStatus.OPEN

    @property
    def serious(self) -> bool:
        return bool(self.seriousness)

    @property
    def signal_kind(self) -> str:
        """The event in the signals contract's words: suspected_infection, infection or other."""
        if self.effect != INFECTION:
            return "other"
        return "infection" if self.infection == Infection.CONFIRMED else "suspected_infection"

    @property
    def holds(self) -> bool:
        """Blocks the patient's next session: open, moderate or worse (or serious), not cleared."""
        return (self.is_open and self.hold_cleared_at is None
                and (self.severity in HOLD_SEVERITIES or self.serious))

    @property
    def hold_severity(self) -> str:
        # A serious event holds whatever its intensity was graded: the check sees it as moderate.
        if self.serious and self.severity == Severity.MILD:
            return Severity.MODERATE
        return self.severity


class EventEntry(models.Model):
    """One step in an event's history, shown on its page (the audit trail has the same and more)."""

    class Action(models.TextChoices):
        REPORTED = "reported", _("Reported")
        UPDATED = "updated", _("Updated")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")
        HOLD_CLEARED = "hold_cleared", _("Hold cleared")

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="entries")
    action = models.CharField(max_length=20, choices=Action.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                           related_name="+")
    note = models.TextField(max_length=2000, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]


class Cluster(models.Model):
    """Infections of two or more patients after sessions sharing one lot, or one room on one day."""

    class Kind(models.TextChoices):
        LOT = "lot", _("Shared lot")
        ROOM_DAY = "room_day", _("Shared room and day")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("cluster", "Open")
        CLOSED = "closed", pgettext_lazy("cluster", "Closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=420)  # the lot number, or "room/YYYY-MM-DD"
    # The engine's answer as of the last run: event and patient public ids.
    events = models.JSONField(default=list)
    exposed_patients = models.JSONField(default=list)
    detected_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="+")
    closed_note = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            # One cluster per lot or room-day of a clinic: two workers racing create it once.
            models.UniqueConstraint(fields=["clinic", "kind", "key"], name="cluster_once"),
            models.CheckConstraint(condition=Q(kind__in=["lot", "room_day"]), name="cluster_kind_known"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} cluster {self.key}"


class ClusterCall(models.Model):
    """One exposed patient to call about a cluster, and how the call went."""

    class Outcome(models.TextChoices):
        WELL = "well", _("Reached, no symptoms")
        SYMPTOMS = "symptoms", _("Reached, has symptoms: check-up booked")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_MESSAGE = "left_message", _("Message left")

    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="calls")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    note = models.CharField(max_length=500, blank=True, validators=[visible_text])
    attempts = models.PositiveSmallIntegerField(default=0)
    called_at = models.DateTimeField(null=True, blank=True)
    called_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["cluster", "patient"], name="cluster_call_once")]

    @property
    def done(self) -> bool:
        return self.outcome in (self.Outcome.WELL, self.Outcome.SYMPTOMS)


class Alert(models.Model):
    """Someone must look now: a suspected infection, a severe or serious event, or a cluster."""

    class Reason(models.TextChoices):
        INFECTION = "infection", _("Suspected infection")
        SEVERE = "severe", _("Severe side effect")
        SERIOUS = "serious", _("Serious adverse event")
        CLUSTER = "cluster", _("Cluster of infections")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="safety_alerts")
    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="alerts")
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="alerts")
    # Who is told: the patient's physician (an event), the medical director and managers (a
    # cluster); the managers join when an alert escalates.
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="safety_alerts")
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    ack_due_at = models.DateTimeField(_("acknowledge by"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                        blank=True, related_name="+", verbose_name=_("acknowledged by"))
    ack_note = models.CharField(_("note"), max_length=500, blank=True, validators=[visible_text])
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    # The check-up the alert proposes (an infection is seen within two days); booked from the alert.
    checkup_by = models.DateField(_("check-up by"), null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(reason__in=["infection", "severe", "serious", "cluster"]),
                                   name="alert_reason_known"),
            # An event's alert names the event and its patient; a cluster's names the cluster.
            models.CheckConstraint(
                condition=(Q(reason="cluster", cluster__isnull=False, event__isnull=True)
                           | (~Q(reason="cluster") & Q(event__isnull=False, patient__isnull=False,
                                                        cluster__isnull=True))),
                name="alert_subject"),
            models.CheckConstraint(
                condition=(Q(acknowledged_at__isnull=True, acknowledged_by__isnull=True)
                           | Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False)),
                name="alert_ack_complete"),
            models.CheckConstraint(condition=Q(ack_due_at__gt=F("raised_at")), name="alert_due_after_raised"),
            # One alert per event and reason: a second worker or an edit never raises it twice.
            models.UniqueConstraint(fields=["event", "reason"], condition=Q(event__isnull=False),
                                    name="alert_once_per_event"),
            models.UniqueConstraint(fields=["cluster"], condition=Q(cluster__isnull=False),
                                    name="alert_once_per_cluster"),
        ]
        indexes = [
            # The escalation sweep: unacknowledged, not escalated, by due time.
            models.Index(fields=["acknowledged_at", "escalated_at", "ack_due_at"], name="alert_escalation"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} alert {self.public_id}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


class CheckIn(models.Model):
    """A call to the patient some weeks after a session: any sign of a delayed infection?"""

    class Status(models.TextChoices):
        DUE = "due", pgettext_lazy("check-in", "Due")
        DONE = "done", pgettext_lazy("check-in", "Done")
        CANCELLED = "cancelled", pgettext_lazy("check-in", "Cancelled")

    # The questions, in the order the form asks them; a yes to any opens a suspected infection.
    QUESTIONS = ("redness", "swelling", "lumps", "pain", "discharge")
    SIGNS = {"redness": _("redness"), "swelling": _("swelling"), "lumps": _("lumps"), "pain": _("pain"),
             "discharge": _("discharge")}

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="check_ins")
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="check_ins")
    week = models.PositiveSmallIntegerField(_("week"))
    due_on = models.DateField(_("due on"))  # the clinic's local calendar day
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DUE)
    answers = models.JSONField(default=dict, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True, validators=[visible_text])
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")
    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "week"], name="check_in_once"),
            models.CheckConstraint(condition=Q(status__in=["due", "done", "cancelled"]),
                                   name="check_in_status_known"),
            models.CheckConstraint(
                condition=(Q(status="done", answered_at__isnull=False, answered_by__isnull=False)
                           | (~Q(status="done") & Q(answered_at__isnull=True))),
                name="check_in_answered_complete"),
        ]
        indexes = [models.Index(fields=["clinic", "status", "due_on"], name="check_in_call_list")]

    @property
    def positive(self) -> bool:
        return any(self.answers.get(q) is True for q in self.QUESTIONS)
