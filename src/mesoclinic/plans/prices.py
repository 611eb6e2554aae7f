"""The clinic's price list: stored rows to the pricing engine's PriceList, and saving a new one.

A new list is validated by the engine (F-COST rules included) before anything is written; the
old lists stay, so that every quote can say which prices it used.
"""

from __future__ import annotations

from django.db import transaction

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent
from mesoclinic.plans import pricing
from mesoclinic.plans.models import PriceList, PriceListDiscount, PriceListEntry


def stored_in_force(clinic: Clinic) -> PriceList | None:
    return PriceList.objects.filter(clinic=clinic).first()


def to_engine(stored: PriceList) -> pricing.PriceList:
    q = pricing.quantum(stored.currency) if stored.currency in pricing.MINOR_UNITS else None

    def money(value: object) -> object:
        return value.quantize(q) if q is not None else value  # type: ignore[attr-defined]

    return pricing.PriceList(
        currency=stored.currency, tax_rate=stored.tax_rate.normalize(),
        location_factor=stored.location_factor.normalize(),
        entries=tuple(pricing.PriceEntry(e.area, e.size, e.grade, e.kind,
                                         money(e.price_per_session))  # type: ignore[arg-type]
                      for e in stored.entries.all()),
        package_discounts=tuple(pricing.PackageDiscount(d.min_sessions, d.percent.normalize())
                                for d in stored.discounts.all()),
        checkup_price=money(stored.checkup_price),  # type: ignore[arg-type]
    )


def price_list_in_force(clinic: Clinic) -> pricing.PriceList | None:
    stored = stored_in_force(clinic)
    return None if stored is None else to_engine(stored)


def save_price_list(*, clinic: Clinic, price_list: pricing.PriceList, by: User,
                    actor: Actor) -> PriceList:
    """Validate with the engine, then store as the list in force (raises PricingError)."""
    pricing.validate_price_list(price_list)
    if price_list.currency != clinic.currency:
        raise pricing.PricingError("currency", f"the clinic bills in {clinic.currency}, not "
                                               f"{price_list.currency}")
    with transaction.atomic():
        stored = PriceList.objects.create(
            clinic=clinic, currency=price_list.currency, tax_rate=price_list.tax_rate,
            location_factor=price_list.location_factor, checkup_price=price_list.checkup_price,
            created_by=by)
        PriceListEntry.objects.bulk_create(
            PriceListEntry(price_list=stored, position=i, area=e.area, size=e.size, grade=e.grade,
                           kind=e.kind, price_per_session=e.price_per_session)
            for i, e in enumerate(price_list.entries))
        PriceListDiscount.objects.bulk_create(
            PriceListDiscount(price_list=stored, min_sessions=t.min_sessions, percent=t.percent)
            for t in price_list.package_discounts)
        record(actor, action=AuditEvent.Action.CREATE, object_type="price_list",
               object_id=str(stored.pk), clinic_id=str(clinic.public_id),
               detail=f"{len(price_list.entries)} prices, {len(price_list.package_discounts)} tiers, "
                      f"{price_list.currency}")
    return stored
