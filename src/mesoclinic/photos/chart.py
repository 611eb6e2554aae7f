"""The patient chart's photos section: the latest sets, a link to all photos and to upload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mesoclinic.accounts.permissions import Perm
from mesoclinic.patients.access import PatientAccess
from mesoclinic.patients.chart import ChartSection, register
from mesoclinic.photos.models import PhotoSet

SHOWN = 6


def _section(access: PatientAccess) -> Mapping[str, Any]:
    sets = list(PhotoSet.objects.filter(patient=access.patient).prefetch_related("photos")[:SHOWN])
    return {"sets": sets, "can_take": access.can(Perm.TAKE_PHOTOS)}


def register_chart_section() -> None:
    register(ChartSection(name="photos", template="photos/_chart_section.html", order=28,
                          perm=Perm.VIEW_CLINICAL, context=_section))
