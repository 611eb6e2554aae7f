"""A clinic with hours, rooms and a device, and an accepted plan to book, for scheduling tests."""

from __future__ import annotations

import dataclasses
import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from mesoclinic.audit.log import Actor
from mesoclinic.plans import actions as plan_actions
from mesoclinic.plans.models import TreatmentPlan
from mesoclinic.plans.tests.helpers import draft
from mesoclinic.scheduling import actions
from mesoclinic.scheduling.models import Device, Room

ACTOR = Actor(username="test", via="cli")
# Mondays to Fridays 08:00–18:00 with lunch 12:00–13:00, clinic time.
HOURS = (time(8), time(18))
LUNCH = (time(12), time(13))


def furnish(cast: Any, clinic: Any = None) -> dict[str, Any]:
    clinic = clinic or cast.clinic
    rooms = [Room.objects.create(clinic=clinic, name=f"Room {n}") for n in (1, 2)]
    device = Device.objects.create(clinic=clinic, name="US-1", kind="ultrasound")
    staff = [cast.physician, cast.nurse] if clinic == cast.clinic else []
    for who in staff:
        for weekday in range(5):
            actions.set_hours(clinic=clinic, practitioner=who, weekday=weekday, blocks=[HOURS],
                              breaks=[LUNCH], actor=ACTOR)
    return {"rooms": rooms, "device": device}


def accepted_plan(cast: Any, *, patient: Any = None, cream: str = "", area: str = "face",
                  indication: str = "rejuvenation", **values: Any) -> TreatmentPlan:
    """A plan the patient has accepted (approval and consent are the plans app's to test)."""
    d = dataclasses.replace(draft(area, indication, **values), anaesthetic_cream=cream)
    plan = plan_actions.create_plan(patient=patient or cast.patient, draft=d, by=cast.physician,
                                    actor=ACTOR)
    TreatmentPlan.objects.filter(pk=plan.pk).update(status=TreatmentPlan.Status.ACCEPTED)
    plan.refresh_from_db()
    return plan


def local(cast: Any, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), zoneinfo.ZoneInfo(cast.clinic.timezone))


def next_monday(after: date | None = None) -> date:
    start = after or (datetime.now(zoneinfo.ZoneInfo("Europe/Istanbul")).date() + timedelta(days=3))
    return start + timedelta(days=(7 - start.weekday()) % 7)
