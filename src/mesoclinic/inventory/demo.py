"""A demo clinic's stock: products, lots (one expiring within two weeks, one recalled), and a
little history in the ledger. Made through the actions, so every lot has its received move and
every change its audit event. Running it again for a clinic that has products adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor
from mesoclinic.inventory import actions
from mesoclinic.inventory.models import Lot, Product

ACTOR = Actor(username="demo", via="cli")


@dataclass(frozen=True)
class DemoProduct:
    key: str
    name: str
    kind: str
    unit: str
    ingredients: tuple[str, ...]
    threshold: str
    in_use_days: int | None = None


PRODUCTS = (
    DemoProduct("ha", "Hyaluronic acid 1.5% (non-cross-linked), 2 ml vial", "component", "ml",
                ("hyaluronic_acid",), "10"),
    DemoProduct("cocktail", "Revitalising cocktail: HA, vitamins, amino acids, 5 ml vial", "mixture", "ml",
                ("hyaluronic_acid", "vitamin_c", "vitamin_b_complex", "amino_acid_complex"), "10"),
    DemoProduct("biotin", "Biotin 5 mg/ml, 1 ml ampoule", "component", "ml", ("biotin",), "5"),
    DemoProduct("dexpanthenol", "Dexpanthenol 250 mg/ml, 10 ml multi-dose vial", "component", "ml",
                ("dexpanthenol",), "10", in_use_days=28),
    DemoProduct("cream", "Lidocaine 2.5% / prilocaine 2.5% cream, 30 g tube", "anaesthetic_cream", "g",
                ("lidocaine", "prilocaine"), "30"),
    DemoProduct("needle_4mm", "Needle 30G × 4 mm", "needle", "piece", (), "100"),
    DemoProduct("needle_13mm", "Needle 30G × 13 mm", "needle", "piece", (), "50"),
)

# (key, product key, lot number stem, days to expiry, quantity, supplier)
LOTS = (
    ("ha", "ha", "HA24", 320, "40", "MesoPharm Distribution"),
    ("ha_expiring", "ha", "HA23", 10, "6", "MesoPharm Distribution"),
    ("cocktail", "cocktail", "RC24", 210, "50", "Dermasupply"),
    ("cocktail_recalled", "cocktail", "RC23", 250, "20", "Dermasupply"),
    ("biotin", "biotin", "BT24", 400, "12", "Dermasupply"),
    ("dexpanthenol", "dexpanthenol", "DX24", 365, "30", "MesoPharm Distribution"),
    ("cream", "cream", "LP24", 500, "90", "Pharmacy Central"),
    ("needle_4mm", "needle_4mm", "N4", 900, "500", "Medisupply"),
    ("needle_13mm", "needle_13mm", "N13", 900, "40", "Medisupply"),  # below its threshold of 50
)


def _number(stem: str, clinic: Clinic) -> str:
    # Each clinic's deliveries are its own batches: the recall of one clinic's lot must not
    # refuse the other's deliveries (a recalled batch cannot be received anywhere).
    return f"{stem}-{clinic.pk:03d}1"


def seed_inventory(clinic: Clinic, *, by: User, today: date) -> dict[str, Any]:
    """Stock the clinic, unless it has products already; returns {"products": {key: Product},
    "lots": {key: Lot}} (empty when nothing was added)."""
    if Product.objects.filter(clinic=clinic).exists():
        return {"products": {}, "lots": {}}
    products: dict[str, Product] = {}
    for spec in PRODUCTS:
        products[spec.key] = actions.add_product(
            clinic, name=spec.name, kind=spec.kind, unit=spec.unit, ingredients=spec.ingredients,
            multi_dose=spec.in_use_days is not None, in_use_days=spec.in_use_days,
            low_stock_threshold=spec.threshold, by=by, actor=ACTOR)
    lots: dict[str, Lot] = {}
    for key, product, stem, days, quantity, supplier in LOTS:
        lots[key] = actions.receive(clinic, product=products[product], number=_number(stem, clinic),
                                    expires_on=today + timedelta(days=days), supplier=supplier,
                                    quantity=quantity, by=by, actor=ACTOR)
    actions.draw(lots["ha"], "2", clinic=clinic, kind="wasted", by=by, actor=ACTOR,
                 reason="Vial dropped while preparing")
    actions.adjust(lots["needle_4mm"], "-10", clinic=clinic, by=by, actor=ACTOR,
                   reason="Monthly count: a box of 10 missing")
    lots["cocktail_recalled"] = actions.recall(
        lots["cocktail_recalled"], clinic=clinic, by=by, actor=ACTOR,
        reason="Supplier notice: sterility of this batch not assured; quarantine and return.")[0]
    for key in ("ha", "needle_4mm"):
        lots[key].refresh_from_db()
    return {"products": products, "lots": lots}
