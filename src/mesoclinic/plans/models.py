"""Treatment plans and their versions: what will be done, approved on a screening.

A plan's clinical content lives in `PlanVersion` rows. A change of the solution, areas, delivery,
indication, technique, session count or phases writes a new version (consent is given to a
version); the checks, outcome measures and notes are edited in place.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic
from mesoclinic.lib.text import visible_text
from mesoclinic.patients.models import Patient
from mesoclinic.plans.lifecycle import Status as _Status
from mesoclinic.screening.models import Screening


class Status(models.TextChoices):
    DRAFT = _Status.DRAFT, _("Draft")
    PROPOSED = _Status.PROPOSED, _("Proposed")
    ACCEPTED = _Status.ACCEPTED, _("Accepted")
    ACTIVE = _Status.ACTIVE, _("Active")
    COMPLETED = _Status.COMPLETED, _("Completed")
    STOPPED = _Status.STOPPED, _("Stopped")


class AreaSize(models.TextChoices):
    SMALL = "small", _("Small")
    STANDARD = "standard", _("Standard")
    LARGE = "large", _("Large")


class ConcentrationUnit(models.TextChoices):
    PERCENT = "%", "%"
    MG_PER_ML = "mg/ml", "mg/ml"
    IU_PER_ML = "IU/ml", "IU/ml"


# The longest series the brief knows is 15 sessions (F-SESSIONS); a justified plan may go beyond
# the protocol, but not without bound.
MAX_SESSIONS = 40


class TreatmentPlan(models.Model):
    Status = Status

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # PROTECT: a plan is part of the clinical record.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="plans")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.DRAFT)
    # The number of the version in force; edits name the number they were based on.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    stop_reason = models.CharField(_("reason for stopping"), max_length=500, blank=True,
                                   validators=[visible_text])
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=Status.values),
                                   name="plan_status_known",
                                   violation_error_message=_("Unknown plan status.")),
            # A stopped plan says why; no other plan carries a reason for stopping.
            models.CheckConstraint(
                condition=(models.Q(status=Status.STOPPED) & ~models.Q(stop_reason=""))
                | (~models.Q(status=Status.STOPPED) & models.Q(stop_reason="")),
                name="plan_stop_reason_iff_stopped",
                violation_error_message=_("A stopped plan needs a reason."),
            ),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="plan_version_from_1",
                                   violation_error_message=_("Plan versions start at 1.")),
        ]

    def __str__(self) -> str:
        return f"plan {self.public_id} v{self.version} ({self.status})"

    @property
    def current(self) -> PlanVersion:
        return self.versions.get(number=self.version)

    @property
    def is_open(self) -> bool:
        return self.status not in (Status.COMPLETED, Status.STOPPED)


class PlanVersion(models.Model):
    """One version of a plan's clinical content. Approval fields are set once, on approval."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    protocol = models.CharField(_("protocol"), max_length=50)
    pack_version = models.CharField(max_length=20)
    indication = models.CharField(_("indication"), max_length=50)
    area = models.CharField(_("area"), max_length=50)
    area_size = models.CharField(_("area size"), max_length=10, choices=AreaSize.choices)
    technique = models.CharField(_("technique"), max_length=50)
    delivery = models.CharField(_("delivery"), max_length=50)
    sessions = models.PositiveSmallIntegerField(_("sessions"))
    # [{"code": "intensive", "sessions": 6, "interval_days": 14}, ...] adding up to `sessions`.
    phases = models.JSONField(_("phases"))
    session_minutes = models.PositiveSmallIntegerField(_("minutes per session"))
    depth_mm = models.DecimalField(_("depth (mm)"), max_digits=3, decimal_places=1)
    anaesthetic_cream = models.CharField(
        _("anaesthetic cream"), max_length=50, blank=True,
        help_text=_("The numbing cream applied 30–40 minutes before, if the patient needs one."))
    # Session numbers after which a check-up is due (F-OUTPATIENT).
    checkups = models.JSONField(_("check-ups"), default=list)
    outcome_measures = models.JSONField(_("outcome measures"), default=list)
    # {field: the physician's written reason} for each value outside the protocol.
    justifications = models.JSONField(default=dict)
    # What was outside the protocol when written: [{"field", "message", "fact"}].
    deviations = models.JSONField(default=list)
    planned_start = models.DateField(_("planned first session"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True, max_length=2000, validators=[visible_text])
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    # The screening the approval rests on (PROTECT: it must stay readable).
    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_once",
                                    violation_error_message=_("This plan version already exists.")),
            models.CheckConstraint(
                condition=models.Q(sessions__gte=1, sessions__lte=MAX_SESSIONS),
                name="plan_sessions_bounded",
                violation_error_message=_("A plan has between 1 and 40 sessions.")),
            models.CheckConstraint(condition=models.Q(area_size__in=AreaSize.values),
                                   name="plan_area_size_known",
                                   violation_error_message=_("Unknown area size.")),
            models.CheckConstraint(condition=models.Q(depth_mm__gt=0, depth_mm__lte=10),
                                   name="plan_depth_plausible",
                                   violation_error_message=_("Depth must be above 0 and at most 10 mm.")),
            # Approval is all or nothing: who, when and on which screening.
            models.CheckConstraint(
                condition=(models.Q(approved_at__isnull=True, approved_by__isnull=True,
                                    screening__isnull=True)
                           | models.Q(approved_at__isnull=False, approved_by__isnull=False,
                                      screening__isnull=False)),
                name="plan_approval_complete",
                violation_error_message=_("An approval names who, when and the screening.")),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} v{self.number}"


class PlanIngredient(models.Model):
    """One ingredient of a version's solution: a catalogue code, never free text."""

    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="ingredients")
    position = models.PositiveSmallIntegerField()
    ingredient = models.CharField(_("ingredient"), max_length=60)
    concentration = models.DecimalField(_("concentration"), max_digits=8, decimal_places=3,
                                        validators=[MinValueValidator(Decimal("0.001"))])
    unit = models.CharField(_("unit"), max_length=10, choices=ConcentrationUnit.choices)
    volume_ml = models.DecimalField(_("volume per session (ml)"), max_digits=5, decimal_places=2,
                                    validators=[MinValueValidator(Decimal("0.01"))])

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "ingredient"], name="plan_ingredient_once",
                                    violation_error_message=_("An ingredient appears once in a solution.")),
            models.CheckConstraint(condition=models.Q(concentration__gt=0, volume_ml__gt=0),
                                   name="plan_ingredient_amounts_positive",
                                   violation_error_message=_("Concentration and volume must be above 0.")),
            models.CheckConstraint(condition=models.Q(unit__in=ConcentrationUnit.values),
                                   name="plan_ingredient_unit_known",
                                   violation_error_message=_("Unknown concentration unit.")),
        ]


class Grade(models.TextChoices):
    """Who will treat: the price depends on the practitioner's expertise (F-COST)."""

    SENIOR_PHYSICIAN = "senior_physician", _("Senior physician")
    PHYSICIAN = "physician", _("Physician")
    SPECIALIST_NURSE = "specialist_nurse", _("Specialist nurse")


class Kind(models.TextChoices):
    COSMETIC = "cosmetic", _("Cosmetic")
    MEDICAL = "medical", _("Medical")


class Quote(models.Model):
    """A priced offer for one plan version; once accepted it fixes the prices of its sessions.

    The request (the price list as it stood, the work) and the engine's lines are kept exactly,
    so the quote reads the same after the price list changes.
    """

    Grade = Grade
    Kind = Kind

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="quotes")
    plan_version = models.PositiveIntegerField()
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    grade = models.CharField(_("practitioner"), max_length=20, choices=Grade.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    sessions = models.PositiveSmallIntegerField(_("sessions"))
    extra_checkups = models.PositiveSmallIntegerField(_("extra check-ups"), default=0)
    request = models.JSONField()  # the `quote` contract's input, as priced
    lines = models.JSONField()  # the contract's output lines
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    tax = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    valid_until = models.DateField(_("valid until"))
    issued_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            # One accepted quote per plan version, also when two desks accept at once.
            models.UniqueConstraint(fields=["plan", "plan_version"],
                                    condition=models.Q(accepted_at__isnull=False),
                                    name="quote_one_accepted_per_plan",
                                    violation_error_message=_("This plan already has an accepted quote.")),
            models.CheckConstraint(condition=models.Q(grade__in=Grade.values), name="quote_grade_known",
                                   violation_error_message=_("Unknown practitioner grade.")),
            models.CheckConstraint(condition=models.Q(kind__in=Kind.values), name="quote_kind_known",
                                   violation_error_message=_("Unknown kind of treatment.")),
            models.CheckConstraint(condition=models.Q(total=models.F("subtotal") + models.F("tax")),
                                   name="quote_total_adds_up",
                                   violation_error_message=_("The total must be subtotal plus tax.")),
            models.CheckConstraint(
                condition=(models.Q(accepted_at__isnull=True, accepted_by__isnull=True)
                           | models.Q(accepted_at__isnull=False, accepted_by__isnull=False)),
                name="quote_acceptance_complete",
                violation_error_message=_("An acceptance names who and when.")),
        ]

    def __str__(self) -> str:
        return f"quote {self.public_id} {self.total} {self.currency}"


class PriceList(models.Model):
    """A clinic's prices; the newest is in force, older ones stay (quotes record what they used)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="price_lists")
    currency = models.CharField(_("currency"), max_length=3)
    tax_rate = models.DecimalField(_("tax rate"), max_digits=6, decimal_places=4)
    location_factor = models.DecimalField(_("location factor"), max_digits=6, decimal_places=3)
    checkup_price = models.DecimalField(_("check-up price"), max_digits=10, decimal_places=3)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(tax_rate__gte=0), name="price_list_tax_not_negative",
                                   violation_error_message=_("The tax rate cannot be negative.")),
            models.CheckConstraint(condition=models.Q(location_factor__gt=0),
                                   name="price_list_factor_positive",
                                   violation_error_message=_("The location factor must be above 0.")),
            models.CheckConstraint(condition=models.Q(checkup_price__gte=0),
                                   name="price_list_checkup_not_negative",
                                   violation_error_message=_("Prices cannot be negative.")),
        ]


class PriceListEntry(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="entries")
    position = models.PositiveSmallIntegerField()
    area = models.CharField(max_length=50)
    size = models.CharField(max_length=10, choices=AreaSize.choices)
    grade = models.CharField(max_length=20, choices=Grade.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    price_per_session = models.DecimalField(max_digits=10, decimal_places=3)

    class Meta:
        ordering = ["price_list", "position"]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "area", "size", "grade", "kind"],
                                    name="price_once_per_work",
                                    violation_error_message=_("The same work is priced twice.")),
            models.CheckConstraint(condition=models.Q(price_per_session__gte=0),
                                   name="price_not_negative",
                                   violation_error_message=_("Prices cannot be negative.")),
        ]


class PriceListDiscount(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="discounts")
    min_sessions = models.PositiveSmallIntegerField()
    percent = models.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["price_list", "min_sessions"]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "min_sessions"], name="discount_tier_once",
                                    violation_error_message=_("A package tier appears once.")),
            models.CheckConstraint(condition=models.Q(percent__gte=0, percent__lte=100),
                                   name="discount_percent_0_100",
                                   violation_error_message=_("A discount is between 0 and 100 %.")),
        ]


class ConsentMethod(models.TextChoices):
    DRAWN = "drawn", _("Signed on the tablet")
    TYPED = "typed", _("Typed name and confirmation")


class Consent(models.Model):
    """The patient's signed consent to one plan version, with the exact text they read."""

    Method = ConsentMethod

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="consents")
    plan_version = models.PositiveIntegerField()
    template = models.CharField(max_length=30)
    template_version = models.PositiveIntegerField()
    language = models.CharField(max_length=5)
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    signer_name = models.CharField(_("signed by"), max_length=200, validators=[visible_text])
    method = models.CharField(_("how it was signed"), max_length=10, choices=ConsentMethod.choices)
    signature = models.TextField(blank=True)  # a PNG data URL for a drawn signature
    photo_consent = models.BooleanField(_("photographs allowed"))
    witness = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)
    pdf = models.FileField(upload_to="consents/%Y/%m/", blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")
    withdrawal_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]
        constraints = [
            # One standing consent per plan version, also when two tablets submit at once.
            models.UniqueConstraint(fields=["plan", "plan_version"],
                                    condition=models.Q(withdrawn_at__isnull=True),
                                    name="consent_one_standing_per_version",
                                    violation_error_message=_("This plan version is already consented to.")),
            models.CheckConstraint(condition=models.Q(method__in=ConsentMethod.values),
                                   name="consent_method_known",
                                   violation_error_message=_("Unknown signing method.")),
            models.CheckConstraint(condition=~models.Q(method=ConsentMethod.DRAWN, signature=""),
                                   name="consent_drawn_has_signature",
                                   violation_error_message=_("A drawn consent needs the signature.")),
            models.CheckConstraint(
                condition=(models.Q(withdrawn_at__isnull=True, withdrawn_by__isnull=True)
                           | models.Q(withdrawn_at__isnull=False, withdrawn_by__isnull=False)),
                name="consent_withdrawal_complete",
                violation_error_message=_("A withdrawal names who and when.")),
        ]

    def __str__(self) -> str:
        return f"consent {self.public_id} to {self.plan_id} v{self.plan_version}"

    @property
    def standing(self) -> bool:
        return self.withdrawn_at is None
