"""Many sessions drawing the last units of a lot at once: stock never goes below zero.

Each thread has its own database connection; a barrier releases them together. On PostgreSQL
the draws really run in parallel, and only the database's check constraint stands between them
and a negative stock. SQLite has one writer at a time, so the race cannot happen there.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, connections

from mesoclinic.inventory import actions
from mesoclinic.inventory.actions import Draw, StockRefused
from mesoclinic.inventory.models import Lot, StockMove
from mesoclinic.inventory.tests.helpers import ACTOR, ledger_sum, lot, product

CONNECTIONS = 20


def _run(count: int, work) -> tuple[Counter[str], list[BaseException]]:
    """Run `work(n)` in `count` threads released together; the refusals' fields and any error."""
    barrier = threading.Barrier(count)
    refusals: Counter[str] = Counter()
    errors: list[BaseException] = []
    guard = threading.Lock()

    def attempt(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            try:
                work(n)
            except StockRefused as exc:
                with guard:
                    refusals[exc.field] += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return refusals, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_use_of_the_last_units_of_a_lot_never_makes_stock_negative(cast):
    if connection.vendor != "postgresql":
        pytest.skip("parallel connections: PostgreSQL (SQLite has a single writer)")
    item = lot(cast, product(cast), quantity="7")

    def use(n: int) -> None:
        actions.draw(item, "1", clinic=cast.clinic, by=cast.nurse, actor=ACTOR)

    refusals, errors = _run(CONNECTIONS, use)
    assert errors == []
    assert refusals == Counter({"quantity": CONNECTIONS - 7})
    stored = Lot.objects.get(pk=item.pk)
    assert stored.on_hand == 0
    assert StockMove.objects.filter(lot=item, kind="used").count() == 7
    assert ledger_sum(stored) == 0
    assert sorted(StockMove.objects.filter(lot=item, kind="used")
                  .values_list("on_hand_after", flat=True)) == [Decimal(n) for n in range(7)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sessions_drawing_two_lots_in_any_order_never_deadlock_or_go_negative(cast):
    if connection.vendor != "postgresql":
        pytest.skip("parallel connections: PostgreSQL (SQLite has a single writer)")
    ha = lot(cast, product(cast), quantity="5")
    cocktail = lot(cast, product(cast, name="Vitamin cocktail", kind="mixture",
                                 ingredients=("vitamin_c", "glutathione")), number="VC-1", quantity="6")

    def session(n: int) -> None:
        items = [Draw(ha, Decimal("0.5")), Draw(cocktail, Decimal("1"))]
        random.Random(n).shuffle(items)
        actions.draw_many(items, clinic=cast.clinic, by=cast.nurse, actor=ACTOR)

    refusals, errors = _run(CONNECTIONS, session)
    assert errors == []
    drawn = StockMove.objects.filter(kind="used").count() // 2
    assert drawn == 6  # the cocktail runs out first; every session took both or neither
    assert sum(refusals.values()) == CONNECTIONS - 6
    assert {field.split(".")[-1] for field in refusals} == {"quantity"}
    for stored in Lot.objects.all():
        assert stored.on_hand >= 0
        assert ledger_sum(stored) == stored.on_hand
    assert Lot.objects.get(pk=cocktail.pk).on_hand == 0
    assert Lot.objects.get(pk=ha.pk).on_hand == Decimal("2")
