"""Demo photos: synthetic skin patches (no real person) at baseline and a check-up, measured."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
from django.utils import timezone

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor
from mesoclinic.photos import actions, imaging, tasks
from mesoclinic.photos.actions import Upload
from mesoclinic.photos.models import Photo
from mesoclinic.plans.models import TreatmentPlan

ACTOR = Actor(username="demo", via="cli")


def _patch(colour: tuple[int, int, int], spots: int, seed: int) -> np.ndarray:
    """Skin-coloured noise with a few darker spots: something for the metrics to measure."""
    rng = np.random.default_rng(seed)
    height, width = 900, 1200
    base = np.array(colour, dtype=np.float32)
    rgb = base + rng.normal(0, 4, (height, width, 3)).astype(np.float32)
    yy, xx = np.ogrid[:height, :width]
    for _ in range(spots):
        cx, cy, r = int(rng.integers(100, width - 100)), int(rng.integers(100, height - 100)), 9
        rgb[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] *= 0.7
    return np.clip(rgb, 0, 255).astype(np.uint8)


def load_photos(clinic: Clinic, *, by: User) -> dict[str, int]:
    """Two face photos of one consenting patient, unless the clinic has photos already."""
    if Photo.objects.filter(photo_set__clinic=clinic).exists():
        return {"photos": 0}
    plan = next((p for p in TreatmentPlan.objects.filter(clinic=clinic).order_by("id")
                 if actions.photo_consent(p) is not None), None)
    if plan is None:
        return {"photos": 0}
    today = timezone.localtime(timezone.now(), ZoneInfo(clinic.timezone)).date()
    made = 0
    for occasion, days_ago, colour, spots, seed in (("baseline", 42, (205, 150, 135), 9, 1),
                                                    ("checkup", 0, (208, 160, 145), 5, 2)):
        data = imaging.encode_jpeg(_patch(colour, spots, seed))
        photo = actions.upload(patient=plan.patient, plan=plan, by=by, actor=ACTOR, item=Upload(
            view="face_front", occasion=occasion, taken_on=today - dt.timedelta(days=days_ago), data=data))
        tasks.measure_and_store(photo)
        made += 1
    return {"photos": made}
