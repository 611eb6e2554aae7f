"""Taking, marking and simulating photos, and recording outcome scores; one transaction each.

Every upload is decoded safely (imaging.decode: JPEG, PNG or HEIC by its bytes, 60 MP at most,
orientation applied, sRGB) and stored as a fresh JPEG made from the pixels, so no EXIF, GPS or
XMP reaches the storage. The stored file is written before the transaction commits: should it
roll back, the file stays in storage under a random name with nothing pointing to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.charting.models import TreatmentSession
from mesoclinic.patients.models import Patient
from mesoclinic.photos import imaging, simulation
from mesoclinic.photos.models import (
    OUTCOME_RANGE,
    VIEW_AREA,
    Occasion,
    OutcomeKind,
    OutcomeMeasure,
    Photo,
    PhotoSet,
    Simulation,
    View,
)
from mesoclinic.plans.models import Consent, TreatmentPlan

# A 12-megapixel JPEG is about 5 MB, a HEIC less; a PNG of 60 MP could be far more.
MAX_UPLOAD_BYTES = 40 * 1024 * 1024
MAX_POINTS = 20


class PhotoRefused(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def photo_consent(plan: TreatmentPlan) -> Consent | None:
    """The plan's signed consent in force, if it allows photographs (F-PHOTOS)."""
    consent = (Consent.objects.filter(plan=plan, withdrawn_at__isnull=True)
               .order_by("-signed_at", "-id").first())
    return consent if consent is not None and consent.photo_consent else None


def _audit(actor: Actor, patient: Patient, action: AuditEvent.Action, object_type: ObjectType, object_id: str,
           detail: str = "") -> None:
    record(actor, action=action, object_type=object_type, object_id=object_id,
           clinic_id=str(patient.clinic.public_id),
           organisation_id=str(patient.clinic.organisation.public_id),
           patient_id=str(patient.public_id), detail=detail)


def _today(patient: Patient) -> dt.date:
    return timezone.localtime(timezone.now(), ZoneInfo(patient.clinic.timezone)).date()


@dataclass(frozen=True)
class Upload:
    view: str
    occasion: str
    taken_on: dt.date
    data: bytes
    session: TreatmentSession | None = None
    mm_per_pixel: Decimal | None = None


def upload(*, patient: Patient, plan: TreatmentPlan, item: Upload, by: User, actor: Actor) -> Photo:
    """Store one photo of a standard view in the day's set for its area and occasion."""
    if plan.patient_id != patient.pk:
        raise PhotoRefused("plan", _("This plan is another patient's."))
    consent = photo_consent(plan)
    if consent is None:
        raise PhotoRefused("plan", _("No signed consent for this plan allows photographs: record the "
                                     "patient's consent to photographs first."))
    if item.view not in View.values:
        raise PhotoRefused("view", _("Choose one of the standard views."))
    if item.occasion not in Occasion.values:
        raise PhotoRefused("occasion", _("Choose when the photo was taken."))
    if item.session is not None and item.session.patient_id != patient.pk:
        raise PhotoRefused("session", _("This session is another patient's."))
    if item.taken_on > _today(patient) or item.taken_on.year < 1900:
        raise PhotoRefused("taken_on", _("The day the photo was taken cannot be in the future."))
    if item.mm_per_pixel is not None and not Decimal("0") < item.mm_per_pixel <= Decimal("10"):
        raise PhotoRefused("mm_per_pixel", _("A scale is more than 0 and at most 10 mm per pixel."))
    if not item.data:
        raise PhotoRefused("file", _("The file is empty."))
    if len(item.data) > MAX_UPLOAD_BYTES:
        raise PhotoRefused("file", _("The file is larger than %(mb)d MB.")
                           % {"mb": MAX_UPLOAD_BYTES // 2**20})
    try:
        decoded = imaging.decode(item.data)
    except imaging.ImageRefused as exc:
        raise PhotoRefused("file", exc.localise(_)) from None
    stored = imaging.encode_jpeg(decoded.rgb)
    with transaction.atomic():
        photo_set, _created = PhotoSet.objects.get_or_create(
            clinic=patient.clinic, patient=patient, plan=plan, area=VIEW_AREA[item.view],
            occasion=item.occasion, taken_on=item.taken_on, session=item.session,
            defaults={"consent": consent, "created_by": by})
        photo = Photo(photo_set=photo_set, view=item.view, sha256=imaging.sha256(stored),
                      received_sha256=imaging.sha256(item.data), received_format=decoded.format,
                      width=decoded.width, height=decoded.height, size_bytes=len(stored), uploaded_by=by,
                      mm_per_pixel=item.mm_per_pixel)
        photo.file.save("photo.jpg", ContentFile(stored), save=False)
        photo.save(force_insert=True)
        _audit(actor, patient, AuditEvent.Action.CREATE, "photo", str(photo.public_id),
               f"photo uploaded: {item.view}, {decoded.width}x{decoded.height} {decoded.format}")
        public_id = str(photo.public_id)

        def queue() -> None:
            from mesoclinic.photos.tasks import measure_photo

            measure_photo.enqueue(public_id)

        # robust: a refused queue must not undo the upload; the worker's sweep measures it later.
        transaction.on_commit(queue, robust=True)
    return photo


def set_points(*, photo: Photo, points: Sequence[Sequence[float]], actor: Actor) -> Photo:
    """The points the user placed on a photo, matched in order across photos to align them."""
    clean: list[list[float]] = []
    if len(points) > MAX_POINTS:
        raise PhotoRefused("points", _("Place at most %(n)d points.") % {"n": MAX_POINTS})
    for point in points:
        if len(point) != 2:
            raise PhotoRefused("points", _("Each point is an x and a y."))
        x, y = float(point[0]), float(point[1])
        if not (0 <= x <= photo.width and 0 <= y <= photo.height):
            raise PhotoRefused("points", _("A point lies outside the photo."))
        clean.append([round(x, 1), round(y, 1)])
    with transaction.atomic():
        Photo.objects.filter(pk=photo.pk).update(points=clean)
        photo.points = clean
        patient = photo.photo_set.patient
        _audit(actor, patient, AuditEvent.Action.UPDATE, "photo", str(photo.public_id),
               f"alignment points: {len(clean)}")
    return photo


def simulate(*, photo: Photo, strength: Decimal, watermark: str, by: User, actor: Actor) -> Simulation:
    """An illustrative result on a face photo, watermarked in its pixels; never a photo."""
    if photo.photo_set.area != "face":
        raise PhotoRefused("photo", _("A simulation is made on a face photo."))
    if not Decimal("0") <= strength <= Decimal("1"):
        raise PhotoRefused("strength", _("Choose a strength from 0 to 1."))
    with photo.file.open("rb") as handle:
        decoded = imaging.decode(handle.read())
    result = simulation.simulate(decoded.rgb, float(strength), watermark=watermark)
    stored = imaging.encode_jpeg(result.rgb)
    with transaction.atomic():
        made = Simulation(photo=photo, sha256=imaging.sha256(stored), strength=strength,
                          parameters=dict(result.parameters), notes=list(result.notes), created_by=by)
        made.file.save("simulation.jpg", ContentFile(stored), save=False)
        made.save(force_insert=True)
        _audit(actor, photo.photo_set.patient, AuditEvent.Action.CREATE, "simulation", str(made.public_id),
               f"simulation at strength {strength}")
    return made


def record_outcome(*, patient: Patient, plan: TreatmentPlan, kind: str, value: int, recorded_on: dt.date,
                   note: str, by: User, actor: Actor) -> OutcomeMeasure:
    if plan.patient_id != patient.pk:
        raise PhotoRefused("plan", _("This plan is another patient's."))
    if kind not in OutcomeKind.values:
        raise PhotoRefused("kind", _("Choose a measure from the list."))
    low, high = OUTCOME_RANGE[OutcomeKind(kind)]
    if type(value) is not int or not low <= value <= high:
        raise PhotoRefused("value", _("The score runs from %(low)d to %(high)d.")
                           % {"low": low, "high": high})
    if recorded_on > _today(patient):
        raise PhotoRefused("recorded_on", _("The day cannot be in the future."))
    with transaction.atomic():
        measure = OutcomeMeasure.objects.create(clinic=patient.clinic, patient=patient, plan=plan, kind=kind,
                                                value=value, recorded_on=recorded_on, note=note.strip()[:500],
                                                recorded_by=by)
        _audit(actor, patient, AuditEvent.Action.CREATE, "outcome_measure", str(measure.public_id), kind)
    return measure


def stored_rgb(photo: Photo) -> Any:
    with photo.file.open("rb") as handle:
        return imaging.decode(handle.read()).rgb
