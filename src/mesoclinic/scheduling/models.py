"""The clinic's calendar: who works when, rooms and devices, and the appointments booked on them.

No double booking is a database rule, not a check in Python: on PostgreSQL exclusion constraints
(migration 0002) refuse two booked appointments that overlap for one practitioner, room, device
or patient; on SQLite triggers with the same names do (SQLite has one writer at a time, so the
trigger's look-up and the write cannot interleave). `actions.py` turns a refusal into a message.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from mesoclinic.accounts.models import Clinic
from mesoclinic.lib.text import visible_line
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import TreatmentPlan


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WorkingHours(models.Model):
    """One weekly block of a practitioner's hours at a clinic, in the clinic's local time."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                     related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__gte=0, weekday__lte=6),
                                   name="hours_weekday_0_6",
                                   violation_error_message=_("The weekday must be Monday to Sunday.")),
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")),
                                   name="hours_end_after_start",
                                   violation_error_message=_("The end must be after the start.")),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner_id} {self.weekday} {self.start}-{self.end}"


class WeeklyBreak(models.Model):
    """A recurring break (lunch) inside a practitioner's working hours."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                     related_name="weekly_breaks")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__gte=0, weekday__lte=6),
                                   name="break_weekday_0_6",
                                   violation_error_message=_("The weekday must be Monday to Sunday.")),
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")),
                                   name="break_end_after_start",
                                   violation_error_message=_("The end must be after the start.")),
        ]

    def __str__(self) -> str:
        return f"break {self.practitioner_id} {self.weekday} {self.start}-{self.end}"


class Leave(models.Model):
    """Time a practitioner is away (holiday, training, illness): nothing is booked on it."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                     related_name="leave")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True, validators=[visible_line])

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="leave_end_after_start",
                                   violation_error_message=_("The end must be after the start.")),
        ]

    def __str__(self) -> str:
        return f"leave {self.practitioner_id} {self.starts_at:%Y-%m-%d}"


class Room(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(_("name"), max_length=100, validators=[visible_line])
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="room_unique_name",
                                    violation_error_message=_("The clinic has a room of that name.")),
        ]

    def __str__(self) -> str:
        return self.name


class DeviceKind(models.TextChoices):
    ULTRASOUND = "ultrasound", _("Ultrasound device (needle-free)")
    INJECTOR_GUN = "injector_gun", _("Injector gun")


class Device(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="devices")
    name = models.CharField(_("name"), max_length=100, validators=[visible_line])
    kind = models.CharField(_("kind"), max_length=20, choices=DeviceKind.choices)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="device_unique_name",
                                    violation_error_message=_("The clinic has a device of that name.")),
            models.CheckConstraint(condition=models.Q(kind__in=DeviceKind.values),
                                   name="device_kind_known",
                                   violation_error_message=_("Unknown device kind.")),
        ]

    def __str__(self) -> str:
        return self.name


class Kind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation and workup")
    ALLERGY_TEST = "allergy_test", _("Allergy test")
    TREATMENT = "treatment", _("Treatment session")
    CHECKUP = "checkup", _("Check-up")
    PHOTO_REVIEW = "photo_review", _("Photo review")


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CANCELLED = "cancelled", _("Cancelled")


# The names the database uses for its no-overlap rules (exclusion constraints on PostgreSQL,
# triggers on SQLite), with what staff are told when one refuses a booking.
OVERLAP_RULES: dict[str, tuple[str, StrOrPromise]] = {
    "appointment_practitioner_free": (
        "practitioner", _("The practitioner has another appointment at that time.")),
    "appointment_room_free": ("room", _("The room is booked at that time.")),
    "appointment_device_free": ("device", _("The device is booked at that time.")),
    "appointment_patient_free": ("patient", _("The patient has another appointment at that time.")),
}


class Appointment(models.Model):
    Kind = Kind
    Status = AppointmentStatus

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="appointments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="appointments", verbose_name=_("practitioner"))
    room = models.ForeignKey(Room, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="appointments", verbose_name=_("room"))
    device = models.ForeignKey(Device, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="appointments", verbose_name=_("device"))
    # The treatment itself; a cream preparation block, when there is one, runs from
    # prep_starts_at to starts_at: the patient waits, the practitioner and room are free.
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"))
    prep_starts_at = models.DateTimeField(_("preparation from"), null=True, blank=True)
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="appointments")
    series_index = models.PositiveSmallIntegerField(_("session number"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=AppointmentStatus.choices,
                              default=AppointmentStatus.BOOKED)
    # Logistics only ("brings her daughter"): never clinical notes, reception reads it.
    note = models.CharField(_("note"), max_length=300, blank=True, validators=[visible_line])
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True,
                                     validators=[visible_line])
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    # Raised on each change; a move names the version it was based on (no silent overwrite).
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["clinic", "starts_at"], name="appointment_clinic_start"),
            models.Index(fields=["practitioner", "starts_at"], name="appointment_practitioner"),
            models.Index(fields=["room", "starts_at"], name="appointment_room"),
            models.Index(fields=["patient", "starts_at"], name="appointment_patient"),
            # A session's room read from the index alone (the safety dashboard counts by room).
            models.Index(fields=["id"], name="appointment_room_of", include=["room"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=Kind.values),
                                   name="appointment_kind_known",
                                   violation_error_message=_("Unknown appointment type.")),
            models.CheckConstraint(condition=models.Q(status__in=AppointmentStatus.values),
                                   name="appointment_status_known",
                                   violation_error_message=_("Unknown appointment status.")),
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="appointment_end_after_start",
                                   violation_error_message=_("The end must be after the start.")),
            models.CheckConstraint(
                condition=models.Q(prep_starts_at__isnull=True)
                | models.Q(prep_starts_at__lt=models.F("starts_at")),
                name="appointment_prep_before_start",
                violation_error_message=_("The preparation must come before the treatment.")),
            # A cancelled appointment says why; a booked one carries no reason.
            models.CheckConstraint(
                condition=(models.Q(status=AppointmentStatus.CANCELLED) & ~models.Q(cancel_reason=""))
                | (models.Q(status=AppointmentStatus.BOOKED) & models.Q(cancel_reason="")),
                name="appointment_cancel_reason",
                violation_error_message=_("A cancelled appointment needs a reason.")),
            # Series sessions belong to a plan; a session number without a plan means nothing.
            models.CheckConstraint(
                condition=models.Q(series_index__isnull=True) | models.Q(plan__isnull=False),
                name="appointment_series_has_plan",
                violation_error_message=_("A series session belongs to a plan.")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.starts_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def ref(self) -> str:
        """How reminders name this appointment in the outbox."""
        return f"appointment:{self.public_id}"

    @property
    def occupies_from(self) -> object:
        """When the patient is first needed: the preparation block, if any, else the start."""
        return self.prep_starts_at or self.starts_at


class CalendarFeed(models.Model):
    """A practitioner's iCalendar subscription; the URL's secret is stored only as a hash."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                     related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"feed {self.practitioner_id}"
