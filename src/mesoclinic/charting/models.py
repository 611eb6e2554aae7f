"""The treatment session: what was done, where, how deep, from which lot — and what held before.

A session exists only once the pre-session check passed (`actions.start_session`); the check's
input and answer are kept with it. Signing locks the chart and draws the stock; a later
correction is a `SessionAmendment` (the signed values stay as they were, the amendment says what
they should read, who said so and why).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic
from mesoclinic.inventory.models import Lot, StockMove
from mesoclinic.lib.text import visible_text
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.scheduling.models import Appointment, Device

# Mesotherapy is intradermal to shallow subcutaneous: 1–4 mm by area (F-DEPTH). A depth outside
# the protocol's range asks for a reason; beyond 10 mm it is not mesotherapy and is refused.
MAX_DEPTH_MM = Decimal("10")
# Each injection delivers a small drop (F-DEPTH): a point above 1 ml is a typing error.
MAX_POINT_VOLUME_ML = Decimal("1")


class AllergyTest(models.Model):
    """A patch or intradermal test of the solution's ingredients, read later (F-ALLERGY-TEST)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergy_tests")
    performed_at = models.DateTimeField(_("performed at"))
    ingredients = models.JSONField(_("ingredients tested"))
    reactions = models.JSONField(_("ingredients that reacted"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True, validators=[visible_text])
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-performed_at", "-id"]
        indexes = [models.Index(fields=["patient", "-performed_at"], name="allergy_test_latest")]


class CreamApplication(models.Model):
    """When the anaesthetic cream went on before a session (F-ANAESTHESIA)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="cream_applications")
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="cream_applications")
    applied_at = models.DateTimeField(_("applied at"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        ordering = ["-applied_at", "-id"]


class SessionStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    SIGNED = "signed", _("Signed")


class TreatmentSession(models.Model):
    Status = SessionStatus

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="treatment_sessions")
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="treatment_sessions")
    plan_version = models.PositiveIntegerField()
    session_number = models.PositiveSmallIntegerField(_("session number"))
    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="treatment_session")
    status = models.CharField(_("status"), max_length=20, choices=SessionStatus.choices,
                              default=SessionStatus.IN_PROGRESS)
    performer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("performed by"))
    performer_role = models.CharField(max_length=20)
    assistant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="+", verbose_name=_("assistant"))
    areas = models.JSONField(_("areas"))
    technique = models.CharField(_("technique"), max_length=50)
    delivery = models.CharField(_("delivery"), max_length=50)
    device = models.ForeignKey(Device, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("device"))
    depth_min_mm = models.DecimalField(_("shallowest (mm)"), max_digits=3, decimal_places=1)
    depth_max_mm = models.DecimalField(_("deepest (mm)"), max_digits=3, decimal_places=1)
    anaesthesia = models.CharField(_("anaesthesia"), max_length=200, blank=True,
                                   validators=[visible_text])
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    immediate_reactions = models.TextField(_("immediate reactions"), max_length=2000, blank=True,
                                           validators=[visible_text])
    notes = models.TextField(_("notes"), max_length=4000, blank=True, validators=[visible_text])
    # The pre-session check as it ran at the start: the contract's input and its answer.
    check_input = models.JSONField()
    check_output = models.JSONField()
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="+")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "session_number"], name="session_number_once",
                                    violation_error_message=_(
                                        "This session of the plan is already charted.")),
            models.CheckConstraint(condition=models.Q(status__in=SessionStatus.values),
                                   name="session_status_known"),
            models.CheckConstraint(
                condition=models.Q(depth_min_mm__gt=0, depth_max_mm__lte=MAX_DEPTH_MM,
                                   depth_min_mm__lte=models.F("depth_max_mm")),
                name="session_depth_range",
                violation_error_message=_("The depth range must lie above 0 and at most 10 mm.")),
            # Signed means who and when; an unsigned chart carries neither.
            models.CheckConstraint(
                condition=(models.Q(status=SessionStatus.SIGNED, signed_at__isnull=False,
                                    signed_by__isnull=False, ended_at__isnull=False)
                           | models.Q(status=SessionStatus.IN_PROGRESS, signed_at__isnull=True,
                                      signed_by__isnull=True)),
                name="session_signed_complete"),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="session_ends_after_start",
                violation_error_message=_("A session ends after it starts.")),
        ]
        indexes = [
            models.Index(fields=["patient", "-started_at"], name="session_patient_latest"),
            # The safety dashboard counts a clinic's sessions of a period by technique, performer,
            # room and area: covered on PostgreSQL (SQLite ignores `include`).
            models.Index(fields=["clinic", "started_at"], name="session_clinic_period",
                         include=["id", "technique", "performer", "appointment", "areas"]),
        ]

    def __str__(self) -> str:
        return f"session {self.public_id} ({self.status})"

    @property
    def is_signed(self) -> bool:
        return self.status == SessionStatus.SIGNED


class SessionComponent(models.Model):
    """One component of the solution prepared, from one lot (F-SOLUTION)."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="components")
    position = models.PositiveSmallIntegerField()
    ingredient = models.CharField(_("ingredient"), max_length=60)
    concentration = models.CharField(_("concentration"), max_length=40, blank=True)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="session_uses")
    quantity = models.DecimalField(_("quantity used"), max_digits=8, decimal_places=2)
    # The ledger's move, written when the chart is signed.
    stock_move = models.OneToOneField(StockMove, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="session_component")

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "position"], name="component_position_once"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="component_quantity_positive",
                                   violation_error_message=_("The quantity used must be above 0.")),
        ]
        indexes = [
            models.Index(fields=["lot", "session"], name="component_by_lot"),
            # The dashboard's ingredient and lot counts read the components of a period's sessions.
            models.Index(fields=["session"], name="component_by_session", include=["ingredient", "lot"]),
        ]


class InjectionPoint(models.Model):
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="points")
    position = models.PositiveSmallIntegerField()
    map_id = models.CharField(max_length=30)
    region = models.CharField(max_length=40)
    area = models.CharField(max_length=50)
    x = models.DecimalField(max_digits=6, decimal_places=1)
    y = models.DecimalField(max_digits=6, decimal_places=1)
    depth_mm = models.DecimalField(_("depth (mm)"), max_digits=3, decimal_places=1)
    volume_ml = models.DecimalField(_("volume (ml)"), max_digits=5, decimal_places=3)
    depth_reason = models.CharField(_("reason for this depth"), max_length=300, blank=True,
                                    validators=[visible_text])

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "position"], name="point_position_once"),
            models.CheckConstraint(condition=models.Q(depth_mm__gt=0, depth_mm__lte=MAX_DEPTH_MM),
                                   name="point_depth_plausible",
                                   violation_error_message=_("Depth must be above 0 and at most 10 mm.")),
            models.CheckConstraint(
                condition=models.Q(volume_ml__gt=0, volume_ml__lte=MAX_POINT_VOLUME_ML),
                name="point_volume_plausible",
                violation_error_message=_("Volume must be above 0 and at most 1 ml per point.")),
        ]


class SessionAmendment(models.Model):
    """A correction of a signed chart: the signed record is kept as it was."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="amendments")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=500, validators=[visible_text])
    # {field: {"from": value as signed or last amended, "to": corrected value}}
    changes = models.JSONField()

    class Meta:
        ordering = ["session", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="amendment_has_reason",
                                   violation_error_message=_("An amendment needs a reason.")),
        ]


class AftercareSheet(models.Model):
    """The aftercare sheet given for one session, as printed (F-AFTERCARE)."""

    session = models.OneToOneField(TreatmentSession, on_delete=models.PROTECT, related_name="aftercare")
    language = models.CharField(max_length=10)
    content = models.JSONField()
    pdf = models.FileField(upload_to="aftercare/%Y/%m/")
    created_at = models.DateTimeField(default=timezone.now)
    emailed_to = models.EmailField(blank=True)
    message_ref = models.CharField(max_length=80, blank=True)
