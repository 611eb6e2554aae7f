"""Who received a lot: every session, patient, date and area, for the clinic's recall list.

Transferred stock is the same physical batch, so the lots of this clinic with the recalled lot's
product name and number all count. Other clinics' patients are theirs to contact: each clinic's
staff see their own list (the organisation-wide marking is the inventory's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils import timezone

from mesoclinic.accounts.models import Clinic, Organisation
from mesoclinic.charting.models import SessionComponent
from mesoclinic.inventory.models import Lot

# A spreadsheet runs a cell starting with these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    batch = Lot.objects.filter(clinic=clinic, number=lot.number, product__name=lot.product.name,
                               clinic__organisation=organisation)
    uses = (SessionComponent.objects.filter(lot__in=batch)
            .select_related("session__patient", "lot")
            .only("quantity", "lot__number", "session__public_id", "session__session_number",
                  "session__started_at", "session__areas", "session__status",
                  "session__patient__public_id", "session__patient__given_name",
                  "session__patient__family_name", "session__patient__phone",
                  "session__patient__email")
            .order_by("-session__started_at", "-session__id"))
    rows = []
    for use in uses:
        session = use.session
        patient = session.patient
        rows.append(Exposure(
            session_id=str(session.public_id), session_number=session.session_number,
            patient_id=str(patient.public_id), patient_name=f"{patient.given_name} {patient.family_name}",
            phone=patient.phone, email=patient.email,
            date=timezone.localtime(session.started_at).date(), areas=tuple(session.areas),
            quantity=use.quantity, lot=use.lot.number, clinic=clinic.name,
            signed=session.status == "signed"))
    return rows


def safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs."""
    return "'" + value if value.startswith(FORMULA_START) else value
