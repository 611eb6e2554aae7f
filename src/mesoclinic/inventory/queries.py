"""What the stock pages, the API and the charting app's lot pickers read.

"Today" is the clinic's local day: a lot is usable through its expiry date.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Prefetch, Q, Sum
from django.utils import timezone

from mesoclinic.accounts.models import Clinic
from mesoclinic.inventory.models import ZERO, Lot, LotQuerySet, Product, ProductIngredient


def clinic_today(clinic: Clinic, at: datetime | None = None) -> date:
    """The clinic's calendar day at `at` (default now)."""
    return (at or timezone.now()).astimezone(zoneinfo.ZoneInfo(clinic.timezone)).date()


def batch_of(lot: Lot) -> LotQuerySet:
    """Every lot of the same physical batch across the organisation's clinics: the same product
    name and lot number (stock sent to a sister clinic keeps both)."""
    return Lot.objects.filter(clinic__organisation_id=lot.clinic.organisation_id,
                              product__name__iexact=lot.product.name, number__iexact=lot.number)


def usable(clinic: Clinic, today: date) -> LotQuerySet:
    """Lots that may go into a patient today, in stock: not expired, not recalled."""
    return Lot.objects.for_clinic(clinic).not_recalled().unexpired(today).in_stock()


@dataclass(frozen=True)
class StockLevel:
    """A product's stock at a clinic: what may be used today, and everything on the shelf."""

    product: Product
    usable: Decimal
    on_hand: Decimal
    lots: int

    @property
    def low(self) -> bool:
        """At or below the product's threshold (a threshold of 0 never warns)."""
        return self.product.low_stock_threshold > 0 and self.usable <= self.product.low_stock_threshold


def stock_levels(clinic: Clinic, today: date | None = None, *, active_only: bool = True) -> list[StockLevel]:
    """Every product of the clinic with its usable and total stock, by name."""
    day = today or clinic_today(clinic)
    products = Product.objects.filter(clinic=clinic).prefetch_related(
        Prefetch("ingredients", queryset=ProductIngredient.objects.order_by("code")))
    if active_only:
        products = products.filter(active=True)
    totals = {row["product_id"]: row for row in Lot.objects.for_clinic(clinic).values("product_id")
              .annotate(total=Sum("on_hand"),
                        usable_total=Sum("on_hand", filter=Q(recalled_at__isnull=True,
                                                             expires_on__gte=day)),
                        stocked=Count("id", filter=Q(on_hand__gt=0)))}
    levels = []
    for product in products.order_by("name"):
        row = totals.get(product.pk, {})
        levels.append(StockLevel(product=product, usable=_decimal(row.get("usable_total")),
                                 on_hand=_decimal(row.get("total")), lots=int(row.get("stocked") or 0)))
    return levels


def _decimal(value: object) -> Decimal:
    # SQLite sums decimals as floats: back to three places.
    return Decimal(str(value or 0)).quantize(Decimal("0.001")) if value else ZERO


def low_stock(clinic: Clinic, today: date | None = None) -> list[StockLevel]:
    """Active products whose usable stock is at or below their low-stock threshold."""
    return [level for level in stock_levels(clinic, today) if level.low]


def expiring_soon(clinic: Clinic, within_days: int = 30, today: date | None = None) -> LotQuerySet:
    """Lots in stock, not recalled, that expire within `within_days` (not expired yet), soonest first."""
    day = today or clinic_today(clinic)
    return (usable(clinic, day).filter(expires_on__lte=day + timedelta(days=within_days))
            .select_related("product").order_by("expires_on", "number"))


def usable_lots(clinic: Clinic, ingredient: str | None = None, at: datetime | None = None) -> LotQuerySet:
    """The lots a session may draw from now (for lot pickers): in stock, not expired, not
    recalled, and no opened multi-dose vial past its in-use period; `ingredient` (a
    knowledge-pack code) keeps the products that contain it. Open vials first, then the
    soonest expiry (use what goes first)."""
    moment = at or timezone.now()
    lots = usable(clinic, clinic_today(clinic, moment)).filter(product__active=True)
    if ingredient is not None:
        lots = lots.filter(product__ingredients__code=ingredient)
    # The in-use period differs per product: checked here on the few open multi-dose vials.
    opened = lots.filter(product__multi_dose=True, opened_at__isnull=False).select_related("product")
    spent = [lot.pk for lot in opened if lot.in_use_until is not None and moment > lot.in_use_until]
    return (lots.exclude(pk__in=spent).select_related("product")
            .order_by(F("opened_at").asc(nulls_last=True), "expires_on", "number").distinct())


def lot_state(lot: Lot, today: date, within_days: int = 30) -> str:
    """What a lot list flags: "recalled", "expired", "expiring" (within `within_days`), "empty",
    or "" (usable)."""
    if lot.recalled_at is not None:
        return "recalled"
    if lot.expired_on(today):
        return "expired"
    if lot.on_hand <= 0:
        return "empty"
    if lot.expires_on <= today + timedelta(days=within_days):
        return "expiring"
    return ""
