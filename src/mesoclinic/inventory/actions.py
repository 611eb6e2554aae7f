"""Stock changes: add a product, receive a delivery, draw, adjust, transfer, recall.

This is the inventory's public API; the charting app draws the stock a signed session used with
`draw(lot, quantity, clinic=…, kind="used", …)` and keeps its own row pointing at the returned
`StockMove`. Each action is one audited transaction. Bad input raises `StockRefused(field,
message)` with a translated message and changes nothing; a refusal caused by the lot's state
(too little left, expired, recalled, a vial past its in-use period) carries `conflict=True`.

Stock never goes below zero because the database refuses it (models.Lot's check constraint):
a draw is one `UPDATE … SET on_hand = on_hand - q` in a savepoint, and two sessions drawing the
last units at once cannot both succeed. Rows written together are locked in primary-key order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.db.models.functions import Round
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.audit.log import Actor, record
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.inventory.models import (
    DIGITS,
    PLACES,
    Lot,
    MoveKind,
    Product,
    ProductIngredient,
    ProductKind,
    StockMove,
    Unit,
    plain,
    quantity_text,
)
from mesoclinic.inventory.queries import batch_of, clinic_today
from mesoclinic.lib.text import invisible_character, invisible_message

DRAW_KINDS = (MoveKind.USED, MoveKind.WASTED, MoveKind.ADJUSTED)
MAX_QUANTITY = Decimal(10) ** (DIGITS - PLACES) - 1
MAX_IN_USE_DAYS = 365
MAX_REASON = 300
INGREDIENT_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class StockRefused(Exception):
    """The stock change cannot be made; `field` names what is wrong (nothing was saved).

    `conflict` is true when the request was well formed but the lot's state refuses it (too
    little left, expired, recalled, already recalled, a vial past its in-use period): the API
    answers 409 for those and 422 for the rest.
    """

    def __init__(self, field: str, message: str, *, conflict: bool = False) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.conflict = conflict


# --- helpers --------------------------------------------------------------------------------

def _moment(at: datetime | None) -> datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise StockRefused("at", _("A time needs its UTC offset or the clinic's zone."))
    return at


def _day(value: date) -> str:
    return date_format(value, "DATE_FORMAT")


def _quantity(value: Decimal | int | str, unit: str, field: str = "quantity", *,
              signed: bool = False) -> Decimal:
    """A positive quantity (or, `signed`, a non-zero one) to three decimals; pieces are whole."""
    try:
        quantity = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise StockRefused(field, _("Enter a number.")) from None
    if not quantity.is_finite():
        raise StockRefused(field, _("Enter a number."))
    if quantity == 0 or (quantity < 0 and not signed):
        raise StockRefused(field, _("The quantity must be more than zero.") if not signed
                           else _("The change cannot be zero."))
    if abs(quantity) > MAX_QUANTITY:
        raise StockRefused(field, _("That quantity is too large."))
    if quantity != quantity.quantize(Decimal("0.001")):
        raise StockRefused(field, _("At most three decimals."))
    if unit == Unit.PIECE and quantity != quantity.to_integral_value():
        raise StockRefused(field, _("Pieces are counted whole."))
    return quantity.quantize(Decimal("0.001"))


def _threshold(value: Decimal | int | str | None, unit: str) -> Decimal:
    """A low-stock threshold: zero (never warn) or a quantity."""
    if value is None or str(value).strip() == "":
        return Decimal("0.000")
    try:
        if Decimal(str(value).strip()) == 0:
            return Decimal("0.000")
    except (InvalidOperation, ValueError):
        pass
    return _quantity(value, unit, "low_stock_threshold")


def _line(value: str, field: str, *, required: bool, max_length: int,
          multiline: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise StockRefused(field, _("This field is required."))
    if len(text) > max_length:
        raise StockRefused(field, _("At most %(n)d characters.") % {"n": max_length})
    char = invisible_character(text, multiline=multiline)
    if char is not None:
        raise StockRefused(field, invisible_message(char))
    return text


def _reason(value: str, *, required: bool) -> str:
    text = _line(value, "reason", required=False, max_length=MAX_REASON)
    if required and not text:
        raise StockRefused("reason", _("Say why."))
    return text


def _fresh(lot: Lot) -> Lot:
    """The lot as stored now, with what the messages and audit need."""
    return Lot.objects.select_related("product", "clinic__organisation").get(pk=lot.pk)


def _own(lot: Lot, clinic: Clinic) -> None:
    if lot.clinic_id != clinic.pk:
        raise StockRefused("lot", _("Lot %(lot)s belongs to another clinic.") % {"lot": lot.number})


def _audit(actor: Actor, lot: Lot, action: AuditEvent.Action, *, changes: dict[str, Any],
           detail: str = "", object_type: ObjectType = "lot") -> None:
    record(actor, action=action, object_type=object_type,
           object_id=str(lot.public_id), clinic_id=str(lot.clinic.public_id),
           organisation_id=str(lot.clinic.organisation.public_id), changes=changes, detail=detail)


def _on_hand(lot: Lot) -> Decimal:
    return Lot.objects.filter(pk=lot.pk).values_list("on_hand", flat=True).get()


def _usable_refusal(lot: Lot, at: datetime) -> StockRefused | None:
    """Why the lot may not go into a patient now, or None (a kind "used" draw)."""
    today = clinic_today(lot.clinic, at)
    if lot.expired_on(today):
        return StockRefused("lot", _("Lot %(lot)s expired on %(day)s: it may not be used.")
                            % {"lot": lot.number, "day": _day(lot.expires_on)}, conflict=True)
    if lot.recalled_at is not None:
        return StockRefused("lot", _("Lot %(lot)s was recalled on %(day)s: it may not be used.")
                            % {"lot": lot.number, "day": _day(clinic_today(lot.clinic, lot.recalled_at))},
                            conflict=True)
    until = lot.in_use_until
    if until is not None and at > until:
        return StockRefused("lot", _("The vial of lot %(lot)s was opened on %(day)s and may be used "
                                     "for %(n)d days after opening: discard it.")
                            % {"lot": lot.number, "day": _day(clinic_today(lot.clinic, lot.opened_at)),
                               "n": lot.product.in_use_days}, conflict=True)
    return None


def _move(lot: Lot, kind: MoveKind, quantity: Decimal, *, at: datetime, by: User, reason: str,
          counterpart: StockMove | None = None) -> StockMove:
    move = StockMove(lot=lot, clinic_id=lot.clinic_id, kind=kind, quantity=quantity,
                     on_hand_after=_on_hand(lot), at=at, by=by, reason=reason, counterpart=counterpart)
    move.save(force_insert=True)
    return move


def _put(lot: Lot, quantity: Decimal, kind: MoveKind, *, at: datetime, by: User, reason: str = "",
         received: bool = False, counterpart: StockMove | None = None) -> StockMove:
    """Add stock to a lot: one UPDATE, then the move with the stock it left."""
    changes: dict[str, Any] = {"on_hand": Round(F("on_hand") + quantity, 3)}
    if received:
        changes["received_quantity"] = Round(F("received_quantity") + quantity, 3)
    Lot.objects.filter(pk=lot.pk).update(**changes)
    return _move(lot, kind, quantity, at=at, by=by, reason=reason, counterpart=counterpart)


def _take(lot: Lot, quantity: Decimal, kind: MoveKind, *, at: datetime, by: User,
          reason: str = "") -> StockMove:
    """Take stock from a lot: one conditional UPDATE in a savepoint; the database refuses a
    result below zero, whatever was drawn at the same moment."""
    conditions: dict[str, Any] = {}
    multi_dose_use = kind == MoveKind.USED and lot.product.multi_dose
    if kind == MoveKind.USED:
        # Re-checked in the UPDATE itself: a recall or an opening committed since we read the lot.
        conditions["recalled_at__isnull"] = True
    try:
        with transaction.atomic():
            updated = Lot.objects.filter(pk=lot.pk, **conditions).update(
                on_hand=Round(F("on_hand") - quantity, 3))
    except IntegrityError:
        left = _on_hand(lot)
        raise StockRefused("quantity", _("Only %(left)s left of lot %(lot)s.")
                           % {"left": quantity_text(left, lot.product.unit), "lot": lot.number},
                           conflict=True) from None
    except OperationalError as exc:
        # PostgreSQL broke a lock cycle between this draw and another one: this one lost.
        if "deadlock detected" not in str(exc):
            raise
        raise StockRefused("quantity", _("Someone drew from lot %(lot)s at the same moment: try "
                                         "again.") % {"lot": lot.number}, conflict=True) from exc
    if updated == 0:
        refusal = _usable_refusal(_fresh(lot), at)
        raise refusal or StockRefused("lot", _("Lot %(lot)s changed meanwhile: try again.")
                                      % {"lot": lot.number}, conflict=True)
    if multi_dose_use:
        _open(lot, at)
    return _move(lot, kind, -quantity, at=at, by=by, reason=reason)


def _open(lot: Lot, at: datetime) -> None:
    """The first use of a multi-dose vial opens it (a use recorded earlier than the opening on
    file moves the opening back)."""
    opened = Lot.objects.filter(pk=lot.pk).values_list("opened_at", flat=True).get()
    if opened is None or at < opened:
        Lot.objects.filter(pk=lot.pk).update(opened_at=at)
        lot.opened_at = at
    refusal = _usable_refusal(_fresh(lot), at)
    if refusal is not None:
        # Opened by someone else long enough ago that this use is past the in-use period.
        raise refusal


# --- products -------------------------------------------------------------------------------

def _ingredients(kind: str, codes: Iterable[str]) -> list[str]:
    found = []
    for code in codes:
        text = code.strip()
        if not INGREDIENT_CODE.match(text):
            raise StockRefused("ingredients", _("%(code)r is not an ingredient code (lower-case "
                                                "letters, digits and _, e.g. hyaluronic_acid).")
                               % {"code": text})
        if text not in found:
            found.append(text)
    if kind == ProductKind.COMPONENT and len(found) != 1:
        raise StockRefused("ingredients", _("A solution component contains exactly one ingredient."))
    if kind in (ProductKind.MIXTURE, ProductKind.ANAESTHETIC_CREAM) and not found:
        raise StockRefused("ingredients", _("Name the ingredients it contains."))
    if kind == ProductKind.NEEDLE and found:
        raise StockRefused("ingredients", _("A needle contains no ingredient."))
    return found


@transaction.atomic
def add_product(clinic: Clinic, *, name: str, kind: str, unit: str, ingredients: Sequence[str] = (),
                multi_dose: bool = False, in_use_days: int | None = None,
                low_stock_threshold: Decimal | int | str | None = 0, by: User, actor: Actor) -> Product:
    """A product the clinic stocks; `ingredients` are knowledge-pack ingredient codes."""
    name = _line(name, "name", required=True, max_length=200)
    if kind not in ProductKind.values:
        raise StockRefused("kind", _("Unknown product kind."))
    if unit not in Unit.values:
        raise StockRefused("unit", _("Unknown unit."))
    if kind == ProductKind.NEEDLE and unit != Unit.PIECE:
        raise StockRefused("unit", _("Needles are counted in pieces."))
    codes = _ingredients(kind, ingredients)
    if multi_dose:
        if in_use_days is None:
            raise StockRefused("in_use_days", _("A multi-dose vial needs its days of use after "
                                                "opening."))
        if not 1 <= in_use_days <= MAX_IN_USE_DAYS:
            raise StockRefused("in_use_days", _("Between 1 and %(n)d days.") % {"n": MAX_IN_USE_DAYS})
        if unit == Unit.PIECE:
            raise StockRefused("unit", _("A multi-dose vial is measured in ml or g."))
    elif in_use_days is not None:
        raise StockRefused("in_use_days", _("Only a multi-dose vial has days of use after opening."))
    threshold = _threshold(low_stock_threshold, unit)
    if Product.objects.filter(clinic=clinic, name__iexact=name).exists():
        raise StockRefused("name", _("The clinic has a product of that name."))
    product = Product(clinic=clinic, name=name, kind=kind, unit=unit, multi_dose=multi_dose,
                      in_use_days=in_use_days, low_stock_threshold=threshold)
    try:
        with transaction.atomic():
            product.save(force_insert=True)
    except IntegrityError:
        raise StockRefused("name", _("The clinic has a product of that name.")) from None
    ProductIngredient.objects.bulk_create(ProductIngredient(product=product, code=c) for c in codes)
    record(actor, action=AuditEvent.Action.CREATE, object_type="product",
           object_id=str(product.public_id), clinic_id=str(clinic.public_id),
           organisation_id=str(clinic.organisation.public_id),
           changes={"name": name, "kind": kind, "unit": unit, "ingredients": codes,
                    "multi_dose": multi_dose, "in_use_days": in_use_days,
                    "low_stock_threshold": plain(threshold)},
           detail=f"by {by.public_id}")
    return product


# --- receiving ------------------------------------------------------------------------------

def _recalled_batch(clinic: Clinic, product_name: str, number: str) -> Lot | None:
    """A recalled lot of this batch anywhere in the organisation (transfers share batches)."""
    return (Lot.objects.filter(clinic__organisation_id=clinic.organisation_id,
                               product__name__iexact=product_name, number__iexact=number,
                               recalled_at__isnull=False)
            .select_related("clinic").order_by("recalled_at").first())


def _lot_for(clinic: Clinic, product: Product, number: str, expires_on: date,
             supplier: str) -> Lot:
    """The clinic's lot of this number (written case aside), created if new: two deliveries of a
    new number at once, the second finds the first's row. Not locked here: the UPDATE that
    changes its stock locks it."""
    for _attempt in range(2):
        existing = list(Lot.objects.filter(clinic=clinic, product=product, number__iexact=number)[:1])
        if existing:
            lot = existing[0]
            if lot.expires_on != expires_on:
                raise StockRefused("expires_on", _("Lot %(lot)s is on record with the expiry date "
                                                   "%(day)s: check the delivery.")
                                   % {"lot": number, "day": _day(lot.expires_on)})
            return lot
        lot = Lot(clinic=clinic, product=product, number=number, expires_on=expires_on,
                  supplier=supplier)
        try:
            with transaction.atomic():
                lot.save(force_insert=True)
        except IntegrityError:
            continue
        return lot
    raise StockRefused("number", _("Lot %(lot)s was being recorded at the same moment: try again.")
                       % {"lot": number}, conflict=True)


@transaction.atomic
def receive(clinic: Clinic, *, product: Product, number: str, expires_on: date, supplier: str = "",
            quantity: Decimal | int | str, by: User, actor: Actor, at: datetime | None = None) -> Lot:
    """Take a delivery into stock; more of a lot number on record adds to that lot."""
    moment = _moment(at)
    if product.clinic_id != clinic.pk:
        raise StockRefused("product", _("The product is not one of this clinic's."))
    if not product.active:
        raise StockRefused("product", _("%(product)s is no longer in use.") % {"product": product.name})
    number = _line(number, "number", required=True, max_length=64)
    supplier = _line(supplier, "supplier", required=False, max_length=200)
    if not isinstance(expires_on, date) or isinstance(expires_on, datetime):
        raise StockRefused("expires_on", _("Enter the expiry date."))
    amount = _quantity(quantity, product.unit)
    today = clinic_today(clinic, moment)
    if expires_on < today:
        raise StockRefused("expires_on", _("This lot expired on %(day)s: do not take it into stock.")
                           % {"day": _day(expires_on)})
    recalled = _recalled_batch(clinic, product.name, number)
    if recalled is not None:
        raise StockRefused("number", _("Lot %(lot)s of %(product)s was recalled on %(day)s: it "
                                       "cannot be taken into stock.")
                           % {"lot": number, "product": product.name,
                              "day": _day(clinic_today(clinic, recalled.recalled_at))}, conflict=True)
    lot = _lot_for(clinic, product, number, expires_on, supplier)
    lot.product, lot.clinic = product, clinic
    move = _put(lot, amount, MoveKind.RECEIVED, at=moment, by=by, received=True)
    _audit(actor, lot, AuditEvent.Action.CREATE,
           changes={"received": plain(amount), "on_hand": plain(move.on_hand_after),
                    "number": number, "expires_on": expires_on.isoformat(), "supplier": supplier},
           detail=f"received {plain(amount)} {product.unit} of {product.name}")
    return _fresh(lot)


# --- drawing and correcting ------------------------------------------------------------------

@transaction.atomic
def draw(lot: Lot, quantity: Decimal | int | str, *, clinic: Clinic, kind: str = MoveKind.USED,
         by: User, actor: Actor, reason: str = "", at: datetime | None = None) -> StockMove:
    """Take stock out of a lot: used in a session, wasted, or a count corrected down.

    A use (`kind="used"`) is refused for a lot of another clinic, an expired lot (it is usable
    through its expiry date, the clinic's local day at `at`), a recalled lot and an opened
    multi-dose vial past its in-use period; the first use of a multi-dose vial opens it at `at`.
    """
    moment = _moment(at)
    if kind not in DRAW_KINDS:
        raise StockRefused("kind", _("A draw is a use, a waste or a count correction."))
    current = _fresh(lot)
    _own(current, clinic)
    amount = _quantity(quantity, current.product.unit)
    text = _reason(reason, required=kind != MoveKind.USED)
    if kind == MoveKind.USED:
        refusal = _usable_refusal(current, moment)
        if refusal is not None:
            raise refusal
    move = _take(current, amount, MoveKind(kind), at=moment, by=by, reason=text)
    _audit(actor, current, AuditEvent.Action.UPDATE, object_type="stock_move",
           changes={"kind": kind, "quantity": plain(move.quantity),
                    "on_hand": plain(move.on_hand_after), "move": str(move.public_id)},
           detail=text or kind)
    return move


@dataclass(frozen=True)
class Draw:
    """One lot and quantity of a multi-lot use (`draw_many`)."""

    lot: Lot
    quantity: Decimal


@transaction.atomic
def draw_many(items: Sequence[Draw], *, clinic: Clinic, by: User, actor: Actor,
              at: datetime | None = None) -> list[StockMove]:
    """Several uses at once (a session's solution), all or none; the moves in `items`' order.

    The lots are drawn in a fixed order (by key), so two sessions drawing the same lots in
    different orders never wait on each other in a cycle.
    """
    if not items:
        raise StockRefused("lots", _("Name at least one lot."))
    moves: dict[int, StockMove] = {}
    for index in sorted(range(len(items)), key=lambda i: items[i].lot.pk):
        item = items[index]
        try:
            moves[index] = draw(item.lot, item.quantity, clinic=clinic, by=by, actor=actor, at=at)
        except StockRefused as exc:
            raise StockRefused(f"lots[{index}].{exc.field}", exc.message,
                               conflict=exc.conflict) from exc
    return [moves[i] for i in range(len(items))]


@transaction.atomic
def adjust(lot: Lot, delta: Decimal | int | str, *, clinic: Clinic, by: User, actor: Actor,
           reason: str, at: datetime | None = None) -> StockMove:
    """Correct the stock after a count: `delta` more (+) or fewer (-) than on record."""
    moment = _moment(at)
    current = _fresh(lot)
    _own(current, clinic)
    change = _quantity(delta, current.product.unit, "delta", signed=True)
    text = _reason(reason, required=True)
    if change < 0:
        move = _take(current, -change, MoveKind.ADJUSTED, at=moment, by=by, reason=text)
    else:
        move = _put(current, change, MoveKind.ADJUSTED, at=moment, by=by, reason=text)
    _audit(actor, current, AuditEvent.Action.UPDATE, object_type="stock_move",
           changes={"kind": MoveKind.ADJUSTED, "quantity": plain(move.quantity),
                    "on_hand": plain(move.on_hand_after), "move": str(move.public_id)},
           detail=text)
    return move


# --- between clinics ------------------------------------------------------------------------

def _product_at(clinic: Clinic, source: Product, by: User, actor: Actor) -> Product:
    """The receiving clinic's product of the same name, created like the sender's if missing."""
    found = list(Product.objects.filter(clinic=clinic, name__iexact=source.name)[:1])
    if found:
        product = found[0]
        if product.unit != source.unit:
            raise StockRefused("to_clinic", _("%(clinic)s keeps %(product)s in %(unit)s, not in "
                                              "%(other)s.")
                               % {"clinic": clinic.name, "product": source.name,
                                  "unit": Unit(product.unit).label, "other": Unit(source.unit).label})
        return product
    return add_product(clinic, name=source.name, kind=source.kind, unit=source.unit,
                       ingredients=source.ingredient_codes, multi_dose=source.multi_dose,
                       in_use_days=source.in_use_days,
                       low_stock_threshold=source.low_stock_threshold, by=by, actor=actor)


@transaction.atomic
def send(lot: Lot, to_clinic: Clinic, quantity: Decimal | int | str, *, clinic: Clinic, by: User,
         actor: Actor, at: datetime | None = None) -> StockMove:
    """`transfer`, returning the sending clinic's transfer_out move (its `counterpart` is the
    receiving lot's transfer_in move)."""
    moment = _moment(at)
    source = _fresh(lot)
    _own(source, clinic)
    if to_clinic.pk == clinic.pk:
        raise StockRefused("to_clinic", _("Choose another clinic."))
    if to_clinic.organisation_id != clinic.organisation_id:
        raise StockRefused("to_clinic", _("Stock moves only between the organisation's clinics."))
    amount = _quantity(quantity, source.product.unit)
    refusal = _usable_refusal(source, moment)
    if refusal is not None:
        raise refusal
    product = _product_at(to_clinic, source.product, by, actor)
    try:
        target = _lot_for(to_clinic, product, source.number, source.expires_on, source.supplier)
    except StockRefused as exc:
        raise StockRefused("to_clinic", _("%(clinic)s has lot %(lot)s on record with another expiry "
                                          "date: check both before sending.")
                           % {"clinic": to_clinic.name, "lot": source.number}) from exc
    # Both rows locked in key order: two transfers in opposite directions cannot deadlock.
    list(Lot.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk"))
    target = _fresh(target)
    if target.recalled_at is not None:
        raise StockRefused("to_clinic", _("Lot %(lot)s is recalled at %(clinic)s.")
                           % {"lot": target.number, "clinic": to_clinic.name}, conflict=True)
    out = _take(source, amount, MoveKind.TRANSFER_OUT, at=moment, by=by,
                reason=f"→ {to_clinic.name}"[:MAX_REASON])
    incoming = _put(target, amount, MoveKind.TRANSFER_IN, at=moment, by=by,
                    reason=f"← {clinic.name}"[:MAX_REASON], counterpart=out)
    StockMove.objects.filter(pk=out.pk).update(counterpart=incoming)
    out.counterpart = incoming
    # An opened vial's in-use period runs from its first opening, wherever it is now.
    if source.opened_at is not None and (target.opened_at is None or target.opened_at > source.opened_at):
        Lot.objects.filter(pk=target.pk).update(opened_at=source.opened_at)
    _audit(actor, source, AuditEvent.Action.UPDATE, object_type="stock_move",
           changes={"kind": MoveKind.TRANSFER_OUT, "quantity": plain(out.quantity),
                    "on_hand": plain(out.on_hand_after), "to_clinic": str(to_clinic.public_id),
                    "move": str(out.public_id)},
           detail=f"sent {plain(amount)} to {to_clinic.name}")
    _audit(actor, target, AuditEvent.Action.UPDATE, object_type="stock_move",
           changes={"kind": MoveKind.TRANSFER_IN, "quantity": plain(incoming.quantity),
                    "on_hand": plain(incoming.on_hand_after), "from_clinic": str(clinic.public_id),
                    "move": str(incoming.public_id)},
           detail=f"received {plain(amount)} from {clinic.name}")
    return out


def transfer(lot: Lot, to_clinic: Clinic, quantity: Decimal | int | str, *, clinic: Clinic, by: User,
             actor: Actor, at: datetime | None = None) -> Lot:
    """Send stock to another clinic of the organisation; returns the receiving clinic's lot (same
    number, under its product of the same name, created like the sender's if missing). The two
    moves name each other as counterparts."""
    out = send(lot, to_clinic, quantity, clinic=clinic, by=by, actor=actor, at=at)
    assert out.counterpart is not None  # noqa: S101 (send links both moves)
    return _fresh(out.counterpart.lot)




# --- recall ---------------------------------------------------------------------------------

@transaction.atomic
def recall(lot: Lot, *, clinic: Clinic, reason: str, by: User, actor: Actor,
           at: datetime | None = None) -> list[Lot]:
    """Mark the lot and every lot of its batch in the organisation recalled; returns the lots
    marked now. Recalling a recalled lot is refused, saying when and by whom it was."""
    moment = _moment(at)
    current = _fresh(lot)
    _own(current, clinic)
    text = _line(reason, "reason", required=True, max_length=1000, multiline=True)
    if current.recalled_at is None:
        # Locked in key order; a recall committed meanwhile drops its rows from the result.
        locked = list(batch_of(current).filter(recalled_at__isnull=True).select_for_update(of=("self",))
                      .order_by("pk").values_list("pk", flat=True))
        if current.pk in locked:
            Lot.objects.filter(pk__in=locked).update(recalled_at=moment, recalled_by=by,
                                                     recall_reason=text)
            marked = list(Lot.objects.filter(pk__in=locked)
                          .select_related("product", "clinic__organisation").order_by("pk"))
            for each in marked:
                _audit(actor, each, AuditEvent.Action.UPDATE,
                       changes={"recalled": True, "recalled_at": moment.isoformat(),
                                "batch_lots": len(marked), "on_hand": plain(each.on_hand)},
                       detail=f"recall of lot {each.number} from {clinic.name}: {text}")
            return marked
        current = _fresh(current)
    assert current.recalled_at is not None  # noqa: S101 (recalled, or just recalled by another)
    who = current.recalled_by
    raise StockRefused("lot", _("Lot %(lot)s was recalled already on %(day)s by %(who)s.")
                       % {"lot": current.number, "day": _day(clinic_today(clinic, current.recalled_at)),
                          "who": who}, conflict=True)


__all__ = [
    "Draw",
    "StockRefused",
    "add_product",
    "adjust",
    "batch_of",
    "clinic_today",
    "draw",
    "draw_many",
    "recall",
    "receive",
    "transfer",
]
