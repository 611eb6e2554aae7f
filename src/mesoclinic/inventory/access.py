"""Scoped getters: a product or lot of the caller's clinic, else nothing (the caller answers 404)."""

from __future__ import annotations

from uuid import UUID

from mesoclinic.accounts.models import Clinic
from mesoclinic.inventory.models import Lot, Product


def lot_of(clinic: Clinic, public_id: UUID | str) -> Lot | None:
    """The clinic's lot with this id; another clinic's lot is not found."""
    found = list(Lot.objects.select_related("product", "clinic__organisation", "recalled_by")
                 .filter(public_id=public_id, clinic=clinic)[:1])
    return found[0] if found else None


def product_of(clinic: Clinic, public_id: UUID | str) -> Product | None:
    """The clinic's product with this id; another clinic's product is not found."""
    found = list(Product.objects.filter(public_id=public_id, clinic=clinic)[:1])
    return found[0] if found else None
