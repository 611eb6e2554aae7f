"""A plan whose signed consent allows photographs, and photos made of synthetic pixels."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from mesoclinic.charting.tests.helpers import ACTOR
from mesoclinic.patients.models import Patient
from mesoclinic.plans import actions as plan_actions
from mesoclinic.plans import consents
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.plans.tests.helpers import draft


def consented_plan(cast: Any, *, patient: Patient | None = None, photos: bool = True) -> TreatmentPlan:
    patient = patient or cast.patient
    plan = plan_actions.create_plan(patient=patient, draft=draft(), by=cast.physician, actor=ACTOR)
    plan = plan_actions.approve_plan(plan=plan, by=cast.physician, actor=ACTOR)
    document = consents.document_for(plan)
    consents.sign_consent(plan=plan, signature=consents.Signature(
        patient_id=str(patient.public_id), plan_version=plan.version, template=document.template,
        template_version=document.version, language=document.language, sha256=document.sha256,
        signer_name=f"{patient.given_name} {patient.family_name}", method="typed", drawing="",
        confirmed=True, photo_consent=photos), witness=cast.physician, actor=ACTOR,
        render_pdf=lambda consent, document: b"%PDF-1.4 test")
    plan.refresh_from_db()
    return plan


def skin(width: int = 640, height: int = 480, colour: tuple[int, int, int] = (205, 160, 140)) -> np.ndarray:
    """A skin-coloured image with a few dark spots."""
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[:] = colour
    for cx, cy in ((120, 100), (300, 260), (500, 380)):
        yy, xx = np.ogrid[:height, :width]
        rgb[(xx - cx) ** 2 + (yy - cy) ** 2 <= 36] = (120, 80, 70)
    return rgb


def jpeg(rgb: np.ndarray | None = None, **save: Any) -> bytes:
    out = io.BytesIO()
    Image.fromarray(skin() if rgb is None else rgb).save(out, "JPEG", quality=90, **save)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A camera-like JPEG: GPS position and a maker note in its EXIF."""
    image = Image.fromarray(skin())
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x927C] = b"SECRET-MAKER-NOTE"  # MakerNote
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (41.0, 2.0, 30.0)
    gps[3] = "E"
    gps[4] = (28.0, 58.0, 12.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()
