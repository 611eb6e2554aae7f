"""Is this patient perhaps registered already? Same folded name and birth date, or same phone.

Registration warns and lists them; the receptionist (or the API client) may register anyway.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q

from mesoclinic.accounts.models import Clinic
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.patients import search
from mesoclinic.patients.models import Patient

LIMIT = 10
# Fewer digits than this match too many unrelated numbers to be worth a warning.
MIN_PHONE_DIGITS = 7


def possible_duplicates(clinic: Clinic, *, given_name: str, family_name: str,
                        birth_date: date | None, phone: str = "") -> list[Patient]:
    """The clinic's patients with the same folded given and family name and birth date, or the
    same phone number (its last nine digits, as the search matches numbers)."""
    condition = Q(pk__in=[])
    if birth_date is not None:
        condition |= Q(given_key=search.fold(given_name)[:100],
                       family_key=search.fold(family_name)[:100], birth_date=birth_date)
    suffix = search.phone_suffix(search.phone_digits(phone))
    if len(suffix) >= MIN_PHONE_DIGITS:
        key = suffix[::-1]
        condition |= Q(phone_key__gte=key, phone_key__lt=search.prefix_upper_bound(key))
    return list(Patient.objects.for_clinic(clinic).filter(condition)
                .order_by("family_key", "given_key", "pk")[:LIMIT])


def audit_shown(patients: list[Patient], actor: Actor) -> None:
    """Each patient shown as a possible duplicate is on their own trail (their name was shown)."""
    for patient in patients:
        record(actor, action=AuditEvent.Action.VIEW, object_type="patient",
               object_id=str(patient.public_id), clinic_id=str(patient.clinic.public_id),
               patient_id=str(patient.public_id), detail="shown as a possible duplicate")
