"""Products, deliveries, draws, corrections, transfers and recalls: the rules and every refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from mesoclinic.accounts.models import Clinic
from mesoclinic.audit.models import AuditEvent
from mesoclinic.inventory import actions
from mesoclinic.inventory.actions import Draw, StockRefused
from mesoclinic.inventory.models import AppendOnlyError, Lot, Product, StockMove
from mesoclinic.inventory.tests.helpers import (
    ACTOR,
    FAR,
    ledger_sum,
    local,
    lot,
    on_hand,
    product,
    state,
    vial,
)

pytestmark = pytest.mark.django_db


def _use(cast: Any, item: Lot, quantity: str = "1", **extra: Any) -> StockMove:
    extra.setdefault("clinic", cast.clinic)
    return actions.draw(item, quantity, by=cast.nurse, actor=ACTOR, **extra)


def _refused(call: Callable[..., object], *args: Any, **kwargs: Any) -> StockRefused:
    before = state()
    with pytest.raises(StockRefused) as refused:
        call(*args, **kwargs)
    assert state() == before, "a refused action changed something"
    return refused.value


# --- products ---------------------------------------------------------------------------------

def test_a_product_is_added_with_its_ingredient_codes_and_audited(cast):
    item = product(cast, name="Vitamin cocktail NCTF", kind="mixture",
                   ingredients=("hyaluronic_acid", "vitamin_c", "vitamin_c", "glutathione"),
                   low_stock_threshold="5")
    assert item.ingredient_codes == ["glutathione", "hyaluronic_acid", "vitamin_c"]
    assert item.low_stock_threshold == Decimal("5.000")
    event = AuditEvent.objects.get(object_type="product", object_id=str(item.public_id))
    assert event.action == "create"
    assert event.changes["ingredients"] == ["hyaluronic_acid", "vitamin_c", "glutathione"]
    assert event.clinic_id == str(cast.clinic.public_id)


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"name": "  "}, "name", "required"),
    ({"kind": "potion"}, "kind", "Unknown product kind"),
    ({"unit": "litre"}, "unit", "Unknown unit"),
    ({"ingredients": ("hyaluronic_acid", "lidocaine")}, "ingredients", "exactly one"),
    ({"ingredients": ("Hyaluronic acid",)}, "ingredients", "not an ingredient code"),
    ({"kind": "needle", "unit": "ml", "ingredients": ()}, "unit", "pieces"),
    ({"kind": "needle", "unit": "piece"}, "ingredients", "no ingredient"),
    ({"kind": "mixture", "ingredients": ()}, "ingredients", "Name the ingredients"),
    ({"multi_dose": True}, "in_use_days", "days of use"),
    ({"multi_dose": True, "in_use_days": 0}, "in_use_days", "Between 1 and 365"),
    ({"in_use_days": 28}, "in_use_days", "Only a multi-dose vial"),
    ({"low_stock_threshold": "-1"}, "low_stock_threshold", "more than zero"),
    ({"name": "Bad\u202ename"}, "name", "invisible"),
])
def test_a_bad_product_is_refused_naming_the_field(cast, fields, field, words):
    base = {"name": "HA", "kind": "component", "unit": "ml", "ingredients": ("hyaluronic_acid",)}
    refused = _refused(actions.add_product, cast.clinic, **{**base, **fields}, by=cast.manager,
                       actor=ACTOR)
    assert refused.field == field
    assert words in refused.message
    assert not Product.objects.exists()


def test_a_product_name_is_unique_in_a_clinic_whatever_its_case_but_not_across_clinics(cast):
    product(cast, name="Hyaluronic acid 1%")
    refused = _refused(product, cast, name="HYALURONIC ACID 1%")
    assert refused.field == "name"
    assert product(cast, cast.sister, name="Hyaluronic acid 1%").clinic == cast.sister


# --- receiving --------------------------------------------------------------------------------

def test_a_delivery_makes_a_lot_with_a_received_move_and_an_audit_event(cast):
    item = product(cast)
    received = lot(cast, item, quantity="10")
    assert (received.number, received.on_hand, received.received_quantity) == (
        "HA-2291", Decimal("10.000"), Decimal("10.000"))
    move = StockMove.objects.get(lot=received)
    assert (move.kind, move.quantity, move.on_hand_after, move.by) == (
        "received", Decimal("10.000"), Decimal("10.000"), cast.manager)
    event = AuditEvent.objects.get(object_type="lot", object_id=str(received.public_id))
    assert event.action == "create"
    assert event.changes["received"] == "10"


def test_more_of_the_same_lot_number_adds_to_the_lot(cast):
    item = product(cast)
    first = lot(cast, item, quantity="10")
    again = lot(cast, item, number="ha-2291", quantity="2.5")  # as typed from the box
    assert again.pk == first.pk
    assert (again.on_hand, again.received_quantity) == (Decimal("12.500"), Decimal("12.500"))
    assert [m.on_hand_after for m in StockMove.objects.filter(lot=first)] == [
        Decimal("10.000"), Decimal("12.500")]


@pytest.mark.parametrize(("quantity", "words"), [
    ("0", "more than zero"), ("-2", "more than zero"), ("abc", "Enter a number"),
    ("NaN", "Enter a number"), ("1.0005", "three decimals"), ("1e12", "too large"),
])
def test_a_delivery_with_a_bad_quantity_is_refused(cast, quantity, words):
    item = product(cast)
    refused = _refused(lot, cast, item, quantity=quantity)
    assert refused.field == "quantity"
    assert words in refused.message


def test_needles_are_received_in_whole_pieces(cast):
    needles = product(cast, name="30G 4 mm needle", kind="needle", unit="piece", ingredients=())
    refused = _refused(lot, cast, needles, number="N-1", quantity="1.5")
    assert refused.field == "quantity"
    assert "whole" in refused.message
    assert lot(cast, needles, number="N-1", quantity="100").on_hand == 100


def test_a_delivery_with_another_expiry_for_a_lot_on_record_is_refused(cast):
    item = product(cast)
    lot(cast, item, expires_on=date(2099, 1, 31))
    refused = _refused(lot, cast, item, expires_on=date(2099, 2, 28))
    assert refused.field == "expires_on"
    assert "on record with the expiry date" in refused.message


def test_a_product_of_another_clinic_or_out_of_use_cannot_be_received(cast):
    berlin = product(cast, cast.sister)
    refused = _refused(lot, cast, berlin, clinic=cast.clinic)
    assert refused.field == "product"
    retired = product(cast, name="Old HA")
    Product.objects.filter(pk=retired.pk).update(active=False)
    retired.refresh_from_db()
    assert _refused(lot, cast, retired).field == "product"


def test_an_expired_delivery_is_refused_on_the_clinics_local_day(cast):
    item = product(cast)
    # 31 January 23:30 in Istanbul (UTC+3) is still the expiry day; 1 February 00:30 is not.
    refused = _refused(lot, cast, item, expires_on=date(2027, 1, 31),
                       at=datetime(2027, 1, 31, 21, 30, tzinfo=UTC))
    assert refused.field == "expires_on"
    assert "expired" in refused.message
    assert lot(cast, item, expires_on=date(2027, 1, 31),
               at=datetime(2027, 1, 31, 20, 30, tzinfo=UTC)).on_hand == 10


def test_a_naive_time_is_refused(cast):
    item = product(cast)
    assert _refused(lot, cast, item, at=datetime(2027, 1, 1, 10, 0)).field == "at"  # noqa: DTZ001


def test_a_recalled_batch_cannot_be_received_at_any_clinic_of_the_organisation(cast):
    item = product(cast)
    recalled = lot(cast, item)
    actions.recall(recalled, clinic=cast.clinic, reason="Supplier notice 12/27", by=cast.manager,
                   actor=ACTOR)
    berlin = product(cast, cast.sister)
    refused = _refused(lot, cast, berlin)
    assert refused.field == "number"
    assert refused.conflict
    assert "recalled" in refused.message
    # Another organisation's batch numbers are their own.
    elsewhere = product(cast, cast.foreign)
    assert lot(cast, elsewhere).on_hand == 10


# --- drawing ----------------------------------------------------------------------------------

def test_a_use_takes_the_quantity_out_with_a_negative_move(cast):
    item = lot(cast, product(cast), quantity="3")
    move = _use(cast, item, "1.25")
    assert (move.kind, move.quantity, move.on_hand_after, move.by) == (
        "used", Decimal("-1.250"), Decimal("1.750"), cast.nurse)
    assert on_hand(item) == Decimal("1.750")
    event = AuditEvent.objects.get(object_type="stock_move")
    assert event.changes == {"kind": "used", "quantity": "-1.25", "on_hand": "1.75",
                             "move": str(move.public_id)}


def test_the_last_units_can_be_drawn_and_no_more(cast):
    item = lot(cast, product(cast), quantity="1")
    for _ in range(10):
        _use(cast, item, "0.1")  # ten tenths of a millilitre make exactly one, also on SQLite
    assert on_hand(item) == 0
    refused = _refused(_use, cast, item, "0.001")
    assert refused.field == "quantity"
    assert refused.message == "Only 0 ml left of lot HA-2291."
    assert refused.conflict


def test_drawing_more_than_is_left_is_refused_saying_how_much_is_left(cast):
    item = lot(cast, product(cast), quantity="2")
    refused = _refused(_use, cast, item, "2.5")
    assert (refused.field, refused.message) == ("quantity", "Only 2 ml left of lot HA-2291.")
    assert on_hand(item) == 2


def test_a_lot_of_another_clinic_is_refused(cast):
    berlin = lot(cast, product(cast, cast.sister))
    for kind, reason in (("used", ""), ("wasted", "Dropped")):
        refused = _refused(_use, cast, berlin, kind=kind, reason=reason)
        assert refused.field == "lot"
        assert "another clinic" in refused.message


def test_an_expired_lot_is_usable_through_its_expiry_day_in_the_clinics_zone(cast):
    item = lot(cast, product(cast), expires_on=date(2027, 1, 31), at=datetime(2027, 1, 1, tzinfo=UTC))
    last_minute = local(cast.clinic, date(2027, 1, 31), 23, 59)
    assert _use(cast, item, at=last_minute).on_hand_after == 9
    refused = _refused(_use, cast, item, at=last_minute + timedelta(minutes=1))
    assert refused.field == "lot"
    assert "expired on" in refused.message
    # The same moment is still the 31st in Berlin (two hours behind): judged on the clinic's day.
    assert refused.conflict


def test_a_recalled_lot_cannot_be_used_but_may_be_wasted(cast):
    item = lot(cast, product(cast))
    actions.recall(item, clinic=cast.clinic, reason="Contamination suspected", by=cast.physician,
                   actor=ACTOR)
    refused = _refused(_use, cast, item)
    assert refused.field == "lot"
    assert "recalled" in refused.message
    wasted = _use(cast, item, "10", kind="wasted", reason="Returned to the supplier (recall)")
    assert wasted.on_hand_after == 0


def test_an_expired_lot_may_be_wasted(cast):
    item = lot(cast, product(cast), expires_on=date(2027, 1, 31), at=datetime(2027, 1, 1, tzinfo=UTC))
    move = _use(cast, item, "10", kind="wasted", reason="Expired",
                at=datetime(2027, 3, 1, tzinfo=UTC))
    assert move.quantity == -10


@pytest.mark.parametrize(("extra", "field", "words"), [
    ({"kind": "wasted"}, "reason", "Say why"),
    ({"kind": "adjusted", "reason": "   "}, "reason", "Say why"),
    ({"kind": "received"}, "kind", "use, a waste or a count correction"),
    ({"kind": "transfer_out"}, "kind", "use, a waste or a count correction"),
])
def test_a_draw_with_bad_input_is_refused(cast, extra, field, words):
    item = lot(cast, product(cast))
    refused = _refused(_use, cast, item, **extra)
    assert refused.field == field
    assert words in refused.message


def test_a_draw_of_several_lots_is_all_or_nothing(cast):
    ha = lot(cast, product(cast), quantity="5")
    cocktail = lot(cast, product(cast, name="Vitamin cocktail", kind="mixture",
                                 ingredients=("vitamin_c", "glutathione")), number="VC-1", quantity="1")
    refused = _refused(actions.draw_many, [Draw(ha, Decimal(2)), Draw(cocktail, Decimal(3))],
                       clinic=cast.clinic, by=cast.nurse, actor=ACTOR)
    assert refused.field == "lots[1].quantity"
    moves = actions.draw_many([Draw(cocktail, Decimal(1)), Draw(ha, Decimal(2))], clinic=cast.clinic,
                              by=cast.nurse, actor=ACTOR)
    assert [(m.lot_id, m.quantity) for m in moves] == [(cocktail.pk, Decimal(-1)), (ha.pk, Decimal(-2))]


# --- multi-dose vials -------------------------------------------------------------------------

def test_the_first_use_of_a_multi_dose_vial_opens_it(cast):
    item = vial(cast, days=28)
    assert item.opened_at is None
    first = local(cast.clinic, date(2027, 1, 4), 10)
    _use(cast, item, at=first)
    _use(cast, item, at=first + timedelta(days=3))
    assert Lot.objects.get(pk=item.pk).opened_at == first


def test_a_multi_dose_vial_is_refused_after_its_in_use_period(cast):
    item = vial(cast, days=28)
    opened = local(cast.clinic, date(2027, 1, 4), 10)
    _use(cast, item, at=opened)
    assert _use(cast, item, at=opened + timedelta(days=28)).on_hand_after == 8  # the last moment
    refused = _refused(_use, cast, item, at=opened + timedelta(days=28, seconds=1))
    assert refused.field == "lot"
    assert "may be used for 28 days after opening: discard it" in refused.message
    # Throwing the rest away is what is left to do.
    assert _use(cast, item, "8", kind="wasted", reason="In-use period over",
                at=opened + timedelta(days=29)).on_hand_after == 0


def test_a_single_use_product_is_never_opened(cast):
    item = lot(cast, product(cast))
    _use(cast, item)
    assert Lot.objects.get(pk=item.pk).opened_at is None


# --- corrections ------------------------------------------------------------------------------

def test_a_count_correction_goes_either_way_and_says_why(cast):
    item = lot(cast, product(cast), quantity="10")
    down = actions.adjust(item, "-1.5", clinic=cast.clinic, by=cast.manager, actor=ACTOR,
                          reason="Count on 3 May")
    up = actions.adjust(item, "0.5", clinic=cast.clinic, by=cast.manager, actor=ACTOR,
                        reason="Found a box")
    assert [(m.kind, m.quantity, m.on_hand_after, m.reason) for m in (down, up)] == [
        ("adjusted", Decimal("-1.500"), Decimal("8.500"), "Count on 3 May"),
        ("adjusted", Decimal("0.500"), Decimal("9.000"), "Found a box")]


@pytest.mark.parametrize(("delta", "reason", "field", "words"), [
    ("0", "Count", "delta", "cannot be zero"),
    ("-11", "Count", "quantity", "Only 10 ml left"),
    ("1", "", "reason", "Say why"),
    ("x", "Count", "delta", "Enter a number"),
])
def test_a_bad_correction_is_refused(cast, delta, reason, field, words):
    item = lot(cast, product(cast), quantity="10")
    refused = _refused(actions.adjust, item, delta, clinic=cast.clinic, by=cast.manager, actor=ACTOR,
                       reason=reason)
    assert refused.field == field
    assert words in refused.message


# --- transfers --------------------------------------------------------------------------------

def _send(cast: Any, item: Lot, to: Clinic, quantity: str = "4") -> Lot:
    return actions.transfer(item, to, quantity, clinic=cast.clinic, by=cast.manager, actor=ACTOR)


def test_a_transfer_moves_stock_to_the_sister_clinics_lot_of_the_same_number(cast):
    source = lot(cast, product(cast, low_stock_threshold="2"), quantity="10")
    target = _send(cast, source, cast.sister)
    assert (target.clinic, target.number, target.expires_on, target.on_hand, target.received_quantity) == (
        cast.sister, "HA-2291", FAR, Decimal("4.000"), Decimal("0.000"))
    # The receiving clinic had no such product: it now has one like the sender's.
    assert (target.product.name, target.product.unit, target.product.ingredient_codes,
            target.product.low_stock_threshold) == ("Hyaluronic acid 1%", "ml", ["hyaluronic_acid"],
                                                     Decimal("2.000"))
    out = StockMove.objects.get(lot=source, kind="transfer_out")
    incoming = StockMove.objects.get(lot=target, kind="transfer_in")
    assert (out.quantity, incoming.quantity) == (Decimal(-4), Decimal(4))
    assert (out.counterpart, incoming.counterpart) == (incoming, out)
    assert on_hand(source) == 6
    again = _send(cast, source, cast.sister, "1")
    assert (again.pk, again.on_hand) == (target.pk, Decimal("5.000"))


def test_a_transfer_finds_the_receiving_product_whatever_its_case_and_the_recall_follows(cast):
    source = lot(cast, product(cast, name="Hyaluronic acid 1%"))
    theirs = product(cast, cast.sister, name="HYALURONIC ACID 1%")
    target = _send(cast, source, cast.sister)
    assert target.product == theirs
    marked = actions.recall(source, clinic=cast.clinic, reason="Notice", by=cast.manager, actor=ACTOR)
    assert {m.pk for m in marked} == {source.pk, target.pk}


def test_a_transfer_keeps_an_opened_vials_opening(cast):
    item = vial(cast)
    opened = local(cast.clinic, date(2027, 1, 4), 10)
    _use(cast, item, at=opened)
    moved = actions.transfer(item, cast.sister, "2", clinic=cast.clinic, by=cast.manager, actor=ACTOR,
                             at=opened + timedelta(days=1))
    assert moved.opened_at == opened


def test_a_transfer_to_a_clinic_keeping_the_product_in_another_unit_is_refused(cast):
    source = lot(cast, product(cast))
    product(cast, cast.sister, unit="g")
    refused = _refused(_send, cast, source, cast.sister)
    assert refused.field == "to_clinic"
    assert "in g, not in ml" in refused.message


@pytest.mark.parametrize(("to", "quantity", "field", "words"), [
    ("clinic", "1", "to_clinic", "another clinic"),
    ("foreign", "1", "to_clinic", "organisation's clinics"),
    ("sister", "11", "quantity", "Only 10 ml left"),
    ("sister", "0", "quantity", "more than zero"),
])
def test_a_bad_transfer_is_refused_and_changes_nothing(cast, to, quantity, field, words):
    source = lot(cast, product(cast))
    refused = _refused(_send, cast, source, getattr(cast, to), quantity)
    assert refused.field == field
    assert words in refused.message
    assert not Product.objects.filter(clinic=getattr(cast, to)).exclude(pk=source.product_id).exists()


def test_a_recalled_or_expired_lot_cannot_be_sent(cast):
    source = lot(cast, product(cast))
    actions.recall(source, clinic=cast.clinic, reason="Supplier notice", by=cast.manager, actor=ACTOR)
    assert _refused(_send, cast, source, cast.sister).field == "lot"
    old = lot(cast, product(cast, name="Old HA"), number="OLD-1", expires_on=date(2027, 1, 31),
              at=datetime(2027, 1, 1, tzinfo=UTC))
    refused = _refused(actions.transfer, old, cast.sister, "1", clinic=cast.clinic, by=cast.manager,
                       actor=ACTOR, at=datetime(2027, 2, 2, tzinfo=UTC))
    assert refused.field == "lot"
    assert "expired" in refused.message


def test_a_lot_of_another_clinic_cannot_be_sent_from_here(cast):
    berlin = lot(cast, product(cast, cast.sister))
    assert _refused(_send, cast, berlin, cast.sister).field == "lot"


# --- recall -----------------------------------------------------------------------------------

def test_a_recall_marks_every_lot_of_the_batch_across_the_organisations_clinics(cast):
    ha = product(cast)
    batch = lot(cast, ha, quantity="10")
    sent = _send(cast, batch, cast.sister)
    other_number = lot(cast, ha, number="HA-2292")
    other_product = lot(cast, product(cast, name="Vitamin cocktail", kind="mixture",
                                      ingredients=("vitamin_c", "zinc")), number="HA-2291")
    elsewhere = lot(cast, product(cast, cast.foreign))  # another organisation's HA-2291
    marked = actions.recall(batch, clinic=cast.clinic, reason="Supplier notice 12/27: sterility",
                            by=cast.physician, actor=ACTOR)
    assert [m.pk for m in marked] == [batch.pk, sent.pk]
    recalled = Lot.objects.filter(recalled_at__isnull=False)
    assert set(recalled) == {batch, sent}
    assert {(x.recalled_by, x.recall_reason) for x in recalled} == {
        (cast.physician, "Supplier notice 12/27: sterility")}
    for untouched in (other_number, other_product, elsewhere):
        assert Lot.objects.get(pk=untouched.pk).recalled_at is None
    events = AuditEvent.objects.filter(object_type="lot", action="update")
    assert {(e.object_id, e.clinic_id) for e in events} == {
        (str(batch.public_id), str(cast.clinic.public_id)),
        (str(sent.public_id), str(cast.sister.public_id))}


def test_recalling_twice_is_refused_saying_when_and_by_whom(cast, time_machine):
    time_machine.move_to(datetime(2027, 3, 1, 9, 0, tzinfo=UTC), tick=False)
    batch = lot(cast, product(cast))
    sent = _send(cast, batch, cast.sister)
    actions.recall(batch, clinic=cast.clinic, reason="Supplier notice", by=cast.physician, actor=ACTOR)
    refused = _refused(actions.recall, batch, clinic=cast.clinic, reason="Again", by=cast.manager,
                       actor=ACTOR)
    assert refused.field == "lot"
    assert refused.message == f"Lot HA-2291 was recalled already on 1 Mar 2027 by {cast.physician}."
    # From the sister clinic, its own lot of the batch is recalled already too.
    refused = _refused(actions.recall, sent, clinic=cast.sister, reason="Again", by=cast.sister_physician,
                       actor=ACTOR)
    assert "recalled already" in refused.message


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001])
def test_a_recall_needs_a_reason(cast, reason):
    batch = lot(cast, product(cast))
    assert _refused(actions.recall, batch, clinic=cast.clinic, reason=reason, by=cast.manager,
                    actor=ACTOR).field == "reason"


def test_a_lot_of_another_clinic_cannot_be_recalled_from_here(cast):
    berlin = lot(cast, product(cast, cast.sister))
    assert _refused(actions.recall, berlin, clinic=cast.clinic, reason="Notice", by=cast.manager,
                    actor=ACTOR).field == "lot"


# --- the ledger -------------------------------------------------------------------------------

def test_the_moves_of_every_lot_add_up_to_its_stock(cast):
    ha = lot(cast, product(cast), quantity="10")
    dx = vial(cast)
    lot(cast, ha.product, quantity="2.5")
    _use(cast, ha, "0.3")
    _use(cast, ha, "0.7")
    _use(cast, dx, "0.25")
    actions.adjust(ha, "-0.125", clinic=cast.clinic, by=cast.manager, actor=ACTOR, reason="Count")
    _use(cast, ha, "1", kind="wasted", reason="Dropped vial")
    _send(cast, ha, cast.sister, "3")
    for item in Lot.objects.all():
        assert ledger_sum(item) == item.on_hand, item
        last = StockMove.objects.filter(lot=item).order_by("-at", "-id").first()
        assert last is not None
        assert last.on_hand_after == item.on_hand
    assert on_hand(ha) == Decimal("7.375")


def test_a_move_is_never_changed_or_deleted(cast):
    move = StockMove.objects.get(lot=lot(cast, product(cast)))
    move.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        move.save()
    with pytest.raises(AppendOnlyError):
        move.delete()
    with pytest.raises(AppendOnlyError):
        StockMove.objects.filter(pk=move.pk).update(quantity=1)
    with pytest.raises(AppendOnlyError):
        StockMove.objects.all().delete()


def test_the_database_itself_refuses_negative_stock(cast):
    item = lot(cast, product(cast), quantity="1")
    with pytest.raises(IntegrityError, match="lot_on_hand_never_negative"), transaction.atomic():
        Lot.objects.filter(pk=item.pk).update(on_hand=F("on_hand") - 2)
    assert on_hand(item) == 1
