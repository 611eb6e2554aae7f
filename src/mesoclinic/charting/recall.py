"""Who received a lot: every session, patient, date and area, for the clinic's recall list.

Transferred stock is the same physical batch, so the lots of this clinic with the recalled lot's
product name and number all count. Other clinics' patients are theirs to contact: each clinic's
staff see their own list (the organisation-wide marking is the inventory's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models.functions import TruncDate
from django.utils import timezone

from mesoclinic.accounts.models import Clinic, Organisation
from mesoclinic.charting.models import SessionComponent
from mesoclinic.inventory.models import Lot
from mesoclinic.inventory.queries import batch_of


@dataclass(frozen=True)
class Exposure:
    session_id: str
    session_number: int
    patient_id: str
    patient_name: str
    phone: str
    email: str
    date: date
    areas: tuple[str, ...]
    quantity: Decimal
    lot: str
    clinic: str
    signed: bool


def affected(lot: Lot, *, organisation: Organisation, clinic: Clinic) -> list[Exposure]:
    """Every session of `clinic` that drew on this batch, newest first (one query)."""
    batch = batch_of(lot).filter(clinic=clinic, clinic__organisation=organisation)
    # Plain values, not model instances: a lot given to thousands of patients stays fast.
    rows = (SessionComponent.objects.filter(lot__in=batch)
            .order_by("-session__started_at", "-session__id")
            .annotate(day=TruncDate("session__started_at", tzinfo=timezone.get_current_timezone()))
            .values_list("session__public_id", "session__session_number", "session__patient__public_id",
                         "session__patient__given_name", "session__patient__family_name",
                         "session__patient__phone", "session__patient__email", "day",
                         "session__areas", "quantity", "lot__number", "session__status"))
    return [Exposure(session_id=str(sid), session_number=n, patient_id=str(pid),
                     patient_name=f"{given} {family}", phone=phone, email=email, date=day,
                     areas=tuple(areas), quantity=quantity, lot=number, clinic=clinic.name,
                     signed=status == "signed")
            for sid, n, pid, given, family, phone, email, day, areas, quantity, number, status in rows]
