"""Products and lots for inventory tests, made through the actions (as staff would)."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from mesoclinic.accounts.models import Clinic
from mesoclinic.audit.log import Actor
from mesoclinic.audit.models import AuditEvent
from mesoclinic.inventory import actions
from mesoclinic.inventory.models import Lot, Product, StockMove

ACTOR = Actor(username="test", via="cli")
FAR = date(2099, 12, 31)


def product(cast: Any, clinic: Clinic | None = None, name: str = "Hyaluronic acid 1%", *,
            kind: str = "component", unit: str = "ml", ingredients: tuple[str, ...] = ("hyaluronic_acid",),
            **extra: Any) -> Product:
    return actions.add_product(clinic or cast.clinic, name=name, kind=kind, unit=unit,
                               ingredients=ingredients, by=cast.manager, actor=ACTOR, **extra)


def lot(cast: Any, item: Product, number: str = "HA-2291", quantity: str | int = "10",
        expires_on: date = FAR, clinic: Clinic | None = None, **extra: Any) -> Lot:
    return actions.receive(clinic or item.clinic, product=item, number=number, expires_on=expires_on,
                           supplier="MesoPharm", quantity=quantity, by=cast.manager, actor=ACTOR,
                           **extra)


def vial(cast: Any, days: int = 28, quantity: str = "10") -> Lot:
    """A multi-dose dexpanthenol vial in stock."""
    item = product(cast, name="Dexpanthenol 500 mg/ml multi-dose", ingredients=("dexpanthenol",),
                   multi_dose=True, in_use_days=days)
    return lot(cast, item, number="DX-7", quantity=quantity)


def local(clinic: Clinic, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), zoneinfo.ZoneInfo(clinic.timezone))


def today(clinic: Clinic) -> date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(clinic.timezone)).date()


def ledger_sum(item: Lot) -> Decimal:
    return sum((m.quantity for m in StockMove.objects.filter(lot=item)), Decimal(0))


def on_hand(item: Lot) -> Decimal:
    return Lot.objects.get(pk=item.pk).on_hand


def state() -> dict[str, Any]:
    """Everything a refused action must leave as it was."""
    return {
        "products": sorted(Product.objects.values_list("name", "clinic_id")),
        "lots": sorted(Lot.objects.values_list("number", "clinic_id", "on_hand", "received_quantity",
                                               "opened_at", "recalled_at")),
        "moves": StockMove.objects.count(),
        "audited": AuditEvent.objects.filter(object_type__in=("product", "lot", "stock_move"),
                                             outcome="allowed").count(),
    }


__all__ = ["ACTOR", "FAR", "local", "lot", "product", "state", "timedelta", "today", "vial"]
