"""The demo stock: realistic products, one lot expiring within two weeks, one recalled."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mesoclinic.inventory import queries
from mesoclinic.inventory.demo import seed_inventory
from mesoclinic.inventory.models import Lot, Product, StockMove
from mesoclinic.inventory.tests.helpers import ledger_sum, today

pytestmark = pytest.mark.django_db


def test_the_demo_stocks_both_clinics_once(cast):
    day = today(cast.clinic)
    seeded = seed_inventory(cast.clinic, by=cast.manager, today=day)
    seed_inventory(cast.sister, by=cast.sister_physician, today=today(cast.sister))
    assert len(seeded["products"]) == 7
    lots = Lot.objects.filter(clinic=cast.clinic)
    assert lots.count() == 9
    expiring = [x.number for x in queries.expiring_soon(cast.clinic, 14, day)]
    assert expiring == [seeded["lots"]["ha_expiring"].number]
    assert seeded["lots"]["ha_expiring"].expires_on == day + timedelta(days=10)
    recalled = list(lots.filter(recalled_at__isnull=False))
    assert recalled == [seeded["lots"]["cocktail_recalled"]]
    # Each clinic's batches are its own: one recall marks one lot.
    assert Lot.objects.filter(recalled_at__isnull=False).count() == 2
    for item in Lot.objects.all():
        assert StockMove.objects.filter(lot=item, kind="received").count() == 1
        assert ledger_sum(item) == item.on_hand
    assert [x.product.name for x in queries.low_stock(cast.clinic, day)] == ["Needle 30G × 13 mm"]
    dexpanthenol = Product.objects.get(clinic=cast.clinic, name__startswith="Dexpanthenol")
    assert (dexpanthenol.multi_dose, dexpanthenol.in_use_days) == (True, 28)
    assert seed_inventory(cast.clinic, by=cast.manager, today=day) == {"products": {}, "lots": {}}
    assert Lot.objects.filter(clinic=cast.clinic).count() == 9
