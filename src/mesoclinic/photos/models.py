"""Clinical photos: sets per area and occasion, each photo re-encoded from its pixels, with metrics.

A `PhotoSet` is what was taken on one day for one area (baseline, a session, a check-up, an
outcome point), under a signed consent that allows photographs (F-PHOTOS): no set without one.
A `Photo` is one standard view, stored under a random name with its SHA-256; the bytes stored
are a fresh JPEG made from the decoded pixels, so no EXIF (GPS, maker notes) or XMP survives.
Its metrics are the worker's (`metrics`, `metrics_at`). A `Simulation` is an illustrative,
watermarked image made from a face photo for a consultation: never a `Photo`, never measured.
An `OutcomeMeasure` is a score beside the photos (pain, GAIS, satisfaction).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.accounts.models import Clinic
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.lib.text import visible_text
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import Consent, TreatmentPlan


class Area(models.TextChoices):
    FACE = "face", _("Face")
    SCALP = "scalp", _("Scalp")
    BODY = "body", _("Body")


class View(models.TextChoices):
    """The standard views, so that photos of one view compare across months."""

    FACE_FRONT = "face_front", _("Face, front")
    FACE_LEFT_45 = "face_left_45", _("Face, left 45°")
    FACE_RIGHT_45 = "face_right_45", _("Face, right 45°")
    FACE_LEFT_90 = "face_left_90", _("Face, left 90°")
    FACE_RIGHT_90 = "face_right_90", _("Face, right 90°")
    SCALP_TOP = "scalp_top", _("Scalp, top")
    SCALP_VERTEX = "scalp_vertex", _("Scalp, vertex")
    BODY_ABDOMEN = "body_abdomen", _("Body, abdomen")
    BODY_THIGHS = "body_thighs", _("Body, thighs")
    BODY_BUTTOCKS = "body_buttocks", _("Body, buttocks")
    BODY_ARMS = "body_arms", _("Body, upper arms")
    BODY_NECK = "body_neck", _("Body, neck and décolleté")
    BODY_HANDS = "body_hands", _("Body, hands")


VIEW_AREA = {v.value: v.value.split("_", 1)[0] for v in View}


class Occasion(models.TextChoices):
    BASELINE = "baseline", _("Baseline")
    SESSION = "session", _("Session")
    CHECKUP = "checkup", _("Check-up")
    OUTCOME = "outcome", _("Outcome point")


class PhotoSet(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="photo_sets")
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="photo_sets")
    # The consent that allowed photographs when the set was taken (PROTECT: it stays readable).
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="photo_sets")
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="photo_sets")
    area = models.CharField(_("area"), max_length=10, choices=Area.choices)
    occasion = models.CharField(_("occasion"), max_length=10, choices=Occasion.choices)
    taken_on = models.DateField(_("taken on"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-taken_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(area__in=["face", "scalp", "body"]),
                                   name="photo_set_area_known"),
            models.CheckConstraint(condition=Q(occasion__in=Occasion.values),
                                   name="photo_set_occasion_known"),
        ]


def _stored_name(instance: models.Model, filename: str) -> str:
    # A random name: the patient's name or the camera's file name never reaches the storage.
    return f"photos/{uuid.uuid4().hex}.jpg"


class Photo(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    photo_set = models.ForeignKey(PhotoSet, on_delete=models.PROTECT, related_name="photos")
    view = models.CharField(_("view"), max_length=20, choices=View.choices)
    file = models.FileField(upload_to=_stored_name)
    sha256 = models.CharField(max_length=64)  # of the stored (re-encoded) bytes
    received_sha256 = models.CharField(max_length=64)  # of the upload as it arrived
    received_format = models.CharField(max_length=10)  # jpeg, png, heic
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    # Points the user placed for alignment in other areas: [[x, y], …] in image pixels. On a
    # scalp photo the first two are also the corners of the clipped, marked area hairs are counted on.
    points = models.JSONField(default=list, blank=True)
    # A scale known when the photo was taken (a trichoscope's, or measured on a ruler in the frame).
    mm_per_pixel = models.DecimalField(_("millimetres per pixel"), max_digits=8, decimal_places=6,
                                       null=True, blank=True)
    metrics = models.JSONField(null=True, blank=True)
    metrics_at = models.DateTimeField(null=True, blank=True)
    metrics_error = models.CharField(max_length=300, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["photo_set", "view", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(view__in=View.values), name="photo_view_known"),
            models.CheckConstraint(condition=Q(width__gt=0, height__gt=0), name="photo_has_pixels"),
            models.CheckConstraint(
                condition=Q(mm_per_pixel__isnull=True) | Q(mm_per_pixel__gt=0, mm_per_pixel__lte=10),
                name="photo_scale_range"),
        ]
        indexes = [models.Index(fields=["view", "photo_set"], name="photo_by_view")]

    def __str__(self) -> str:
        return f"photo {self.public_id} ({self.view})"


class Simulation(models.Model):
    """An illustrative result on a face photo: watermarked in its pixels, with its parameters."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    photo = models.ForeignKey(Photo, on_delete=models.PROTECT, related_name="simulations")
    file = models.FileField(upload_to=_stored_name)
    sha256 = models.CharField(max_length=64)
    strength = models.DecimalField(max_digits=3, decimal_places=2)
    parameters = models.JSONField(default=dict)
    notes = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(strength__gte=0, strength__lte=1),
                                              name="simulation_strength_range")]


class OutcomeKind(models.TextChoices):
    PAIN = "pain", _("Pain (0–10)")
    GAIS = "gais", _("Global Aesthetic Improvement Scale")
    SATISFACTION = "satisfaction", _("Patient satisfaction (1–5)")


# The range each kind is scored on. GAIS: 1 very much improved … 5 worse.
OUTCOME_RANGE = {OutcomeKind.PAIN: (0, 10), OutcomeKind.GAIS: (1, 5), OutcomeKind.SATISFACTION: (1, 5)}


class OutcomeMeasure(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="outcome_measures")
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="outcome_measures")
    kind = models.CharField(_("measure"), max_length=20, choices=OutcomeKind.choices)
    value = models.PositiveSmallIntegerField(_("score"))
    recorded_on = models.DateField(_("recorded on"))
    note = models.CharField(_("note"), max_length=500, blank=True, validators=[visible_text])
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="pain", value__gte=0, value__lte=10)
                           | Q(kind="gais", value__gte=1, value__lte=5)
                           | Q(kind="satisfaction", value__gte=1, value__lte=5)),
                name="outcome_value_in_range",
                violation_error_message=_("The score is outside its scale.")),
        ]
