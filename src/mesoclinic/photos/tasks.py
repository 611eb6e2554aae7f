"""The worker measures each photo (photos.metrics, the engine `mesoclinic photo-metrics` runs).

Face and body photos get the colour and spot metrics, scalp photos the hair coverage. The scale
comes from the interpupillary distance when both eyes are found on a face photo (about 63 mm in
adults); otherwise spots are counted at the contract's default scale and have no area. Colours
are corrected first from a ColorChecker in the frame when one is found (photos.colour); without
one the result says so, since metrics then compare only between photos taken the same way.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.utils import timezone
from django_tasks import task

from mesoclinic.photos import alignment, calibration, colour, imaging, metrics
from mesoclinic.photos.models import Photo

logger = logging.getLogger("mesoclinic.photos")

# Mean adult interpupillary distance; a scale from it is approximate (± about 10 %).
IPD_MM = 63.0
SWEEP_BATCH = 20


def gettext_noop(message: str) -> str:
    return message


NO_SCALE = gettext_noop("No scale: both eyes were not found, so spot areas are not given.")
NO_HAIR_SCALE = gettext_noop("No scale given with the photo: hairs per cm² and shaft width are not measured.")


def _hair_density(rgb: Any, photo: Photo, mm_per_pixel: float | None) -> dict[str, Any] | None:
    """Hairs per cm² and shaft width on the marked area (the first two points' rectangle), or on
    the whole photo when none is marked; only with a known scale."""
    if mm_per_pixel is None:
        return None
    region = None
    if len(photo.points) >= 2:
        (x1, y1), (x2, y2) = photo.points[:2]
        left, top = int(min(x1, x2)), int(min(y1, y2))
        width, height = int(abs(x2 - x1)), int(abs(y2 - y1))
        if width >= 2 and height >= 2:
            region = (left, top, width, height)
    found = metrics.hair_density(rgb, region, mm_per_pixel)
    return {"count": found.count, "per_cm2": round(found.per_cm2, 2),
            "mean_shaft_width_mm": round(found.mean_shaft_width_mm, 4) if found.mean_shaft_width_mm else None,
            "region": list(region) if region else None}


def measure(photo: Photo) -> dict[str, Any]:
    with photo.file.open("rb") as handle:
        stored = imaging.decode(handle.read()).rgb
    area = photo.photo_set.area
    # Colours corrected from a chart in the frame when there is one (warnings: English sentences
    # marked for translation; the pages translate them).
    corrected = colour.correct(stored)
    rgb = corrected.rgb
    warnings = [corrected.warning] if corrected.warning else []
    chart = {"found": corrected.chart_found, "method": corrected.method,
             "residual_de": round(corrected.residual, 2) if corrected.residual is not None else None}
    # The scale: as given with the upload, else from the calibration sticker in the frame, else
    # (face photos) from the distance between the eyes.
    known_scale = float(photo.mm_per_pixel) if photo.mm_per_pixel else calibration.scale_from_sticker(stored)
    scale_source = "given" if photo.mm_per_pixel else "sticker" if known_scale else None
    if area == "scalp":
        result = dict(metrics.scalp_metrics(rgb, mm_per_pixel=known_scale))
        result["hair_density"] = _hair_density(rgb, photo, known_scale)
        if known_scale is None:
            warnings.append(NO_HAIR_SCALE)
    else:
        mm_per_pixel = known_scale
        eyes = alignment.eyes(rgb) if area == "face" else None
        if area == "face" and mm_per_pixel is None:
            if eyes is not None:
                (x1, y1), (x2, y2) = eyes
                distance = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
                if distance > 10:
                    mm_per_pixel, scale_source = IPD_MM / distance, "eyes"
            if mm_per_pixel is None:
                warnings.append(NO_SCALE)
        result = dict(metrics.face_metrics(rgb, mm_per_pixel=mm_per_pixel))
        result["mm_per_pixel"] = round(mm_per_pixel, 5) if mm_per_pixel else None
        result["texture_percent"] = round(metrics.ridge_density_percent(rgb, mm_per_pixel=mm_per_pixel), 4)
        bands = _under_eye_bands(rgb, eyes) if eyes is not None and mm_per_pixel else None
        result["under_eye_delta_l"] = (round(metrics.under_eye_darkness(rgb, *bands), 4)
                                       if bands is not None else None)
    result["warnings"] = warnings
    result["colour_chart"] = chart
    result["scale_source"] = scale_source
    return result


Box = tuple[int, int, int, int]


def _under_eye_bands(rgb: Any, eyes: Any) -> tuple[Box, Box] | None:
    """An under-eye band below the left eye and a mid-cheek patch below it, in pixels.

    Sized from the eye distance: the band starts a fifth of it below the eye centre, a third
    as wide and a tenth as high; the cheek patch sits twice as far down."""
    (x1, y1), (x2, y2) = eyes
    distance = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    width, height = int(distance / 3), max(2, int(distance / 10))
    x = int(x1 - width / 2)
    band = (x, int(y1 + distance / 5), width, height)
    cheek = (x, int(y1 + distance * 0.6), width, height * 2)
    rows, cols = rgb.shape[:2]
    for bx, by, bw, bh in (band, cheek):
        if bx < 0 or by < 0 or bx + bw > cols or by + bh > rows or bw < 2:
            return None
    return band, cheek


def measure_and_store(photo: Photo, now: datetime | None = None) -> None:
    try:
        values = measure(photo)
    except (imaging.ImageRefused, ValueError, OSError) as exc:
        Photo.objects.filter(pk=photo.pk).update(metrics_error=str(exc)[:300],
                                                 metrics_at=now or timezone.now())
        return
    Photo.objects.filter(pk=photo.pk).update(metrics=values, metrics_at=now or timezone.now(),
                                             metrics_error="")


@task()
def measure_photo(public_id: str) -> bool:
    photo = (Photo.objects.select_related("photo_set")
             .filter(public_id=public_id, metrics_at__isnull=True).first())
    if photo is None:
        return False
    measure_and_store(photo)
    return True


def sweep(now: datetime) -> int:
    """Measure photos a lost task left unmeasured (the worker's periodic job)."""
    done = 0
    for photo in Photo.objects.select_related("photo_set").filter(metrics_at__isnull=True)[:SWEEP_BATCH]:
        measure_and_store(photo, now)
        done += 1
    return done
