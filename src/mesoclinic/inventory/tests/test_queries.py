"""Low stock, expiring soon, and the lots a session may draw from (the charting app's pickers)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from mesoclinic.inventory import actions, queries
from mesoclinic.inventory.tests.helpers import ACTOR, local, lot, product, vial

pytestmark = pytest.mark.django_db

DAY = date(2027, 1, 10)
RECEIVED = datetime(2027, 1, 2, 9, 0, tzinfo=UTC)


def test_low_stock_counts_only_usable_stock_against_the_threshold(cast):
    ha = product(cast, low_stock_threshold="5")
    needles = product(cast, name="30G 13 mm needle", kind="needle", unit="piece", ingredients=(),
                      low_stock_threshold="10")
    product(cast, name="Never warns", ingredients=("zinc",))  # threshold 0
    lot(cast, ha, quantity="4", at=RECEIVED)
    lot(cast, ha, number="HA-OLD", quantity="50", expires_on=DAY - timedelta(days=1), at=RECEIVED)
    recalled = lot(cast, ha, number="HA-BAD", quantity="50", at=RECEIVED)
    actions.recall(recalled, clinic=cast.clinic, reason="Notice", by=cast.manager, actor=ACTOR)
    lot(cast, needles, number="N-1", quantity="11", at=RECEIVED)
    low = queries.low_stock(cast.clinic, DAY)
    assert [(x.product.name, x.usable, x.on_hand, x.lots) for x in low] == [
        ("Hyaluronic acid 1%", Decimal("4.000"), Decimal("104.000"), 3)]
    lot(cast, needles, number="N-1", quantity="1", at=RECEIVED)  # 12 > 10: still fine
    actions.draw(queries.usable_lots(cast.clinic).get(number="N-1"), "2", clinic=cast.clinic,
                 by=cast.nurse, actor=ACTOR)  # 10: at the threshold
    assert [x.product.name for x in queries.low_stock(cast.clinic, DAY)] == [
        "30G 13 mm needle", "Hyaluronic acid 1%"]


def test_expiring_soon_lists_lots_in_stock_expiring_within_the_window_not_the_expired(cast):
    ha = product(cast)
    for number, offset in (("TODAY", 0), ("D30", 30), ("D31", 31), ("YESTERDAY", -1)):
        lot(cast, ha, number=number, expires_on=DAY + timedelta(days=offset), at=RECEIVED)
    empty = lot(cast, ha, number="EMPTY", quantity="1", expires_on=DAY + timedelta(days=3), at=RECEIVED)
    actions.draw(empty, "1", clinic=cast.clinic, kind="wasted", reason="Spilt", by=cast.nurse,
                 actor=ACTOR, at=RECEIVED)
    gone = lot(cast, ha, number="RECALLED", expires_on=DAY + timedelta(days=3), at=RECEIVED)
    actions.recall(gone, clinic=cast.clinic, reason="Notice", by=cast.manager, actor=ACTOR)
    lot(cast, product(cast, cast.sister), number="BERLIN", expires_on=DAY, at=RECEIVED)
    assert [x.number for x in queries.expiring_soon(cast.clinic, 30, DAY)] == ["TODAY", "D30"]
    assert [x.number for x in queries.expiring_soon(cast.clinic, 0, DAY)] == ["TODAY"]


def test_usable_lots_filter_by_ingredient_and_put_open_vials_first(cast):
    ha = lot(cast, product(cast), number="HA-LATE", expires_on=date(2099, 6, 1))
    ha_soon = lot(cast, ha.product, number="HA-SOON", expires_on=date(2098, 1, 1))
    cocktail = lot(cast, product(cast, name="Vitamin cocktail", kind="mixture",
                                 ingredients=("hyaluronic_acid", "vitamin_c")), number="VC-1")
    cream = lot(cast, product(cast, name="Lidocaine/prilocaine cream", kind="anaesthetic_cream",
                              unit="g", ingredients=("lidocaine", "prilocaine")), number="EM-1")
    dx = vial(cast)
    dx_open = lot(cast, dx.product, number="DX-OPEN")
    now = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
    actions.draw(dx_open, "1", clinic=cast.clinic, by=cast.nurse, actor=ACTOR, at=now)
    assert [x.number for x in queries.usable_lots(cast.clinic, "hyaluronic_acid", now)] == [
        "HA-SOON", "HA-LATE", "VC-1"]
    assert [x.number for x in queries.usable_lots(cast.clinic, "lidocaine", now)] == ["EM-1"]
    assert [x.number for x in queries.usable_lots(cast.clinic, "dexpanthenol", now)] == ["DX-OPEN", "DX-7"]
    # Past the 28 days after opening, the open vial is no longer offered.
    later = now + timedelta(days=28, minutes=1)
    assert [x.number for x in queries.usable_lots(cast.clinic, "dexpanthenol", later)] == ["DX-7"]
    assert {x.pk for x in queries.usable_lots(cast.clinic, at=now)} == {
        ha.pk, ha_soon.pk, cocktail.pk, cream.pk, dx.pk, dx_open.pk}
    assert not queries.usable_lots(cast.sister, "hyaluronic_acid", now).exists()


def test_usable_lots_judge_expiry_on_the_clinics_local_day(cast):
    item = lot(cast, product(cast), expires_on=date(2027, 1, 31), at=RECEIVED)
    evening = local(cast.clinic, date(2027, 1, 31), 23, 30)
    assert list(queries.usable_lots(cast.clinic, at=evening)) == [item]
    assert list(queries.usable_lots(cast.clinic, at=evening + timedelta(minutes=31))) == []


def test_the_batch_of_a_lot_spans_the_organisation_whatever_the_case_of_its_number(cast):
    ha = lot(cast, product(cast))
    sent = actions.transfer(ha, cast.sister, "1", clinic=cast.clinic, by=cast.manager, actor=ACTOR)
    lot(cast, product(cast, cast.foreign))
    assert set(queries.batch_of(ha)) == {ha, sent}
    assert queries.clinic_today(cast.clinic, datetime(2027, 1, 31, 21, 30, tzinfo=UTC)) == date(2027, 2, 1)
