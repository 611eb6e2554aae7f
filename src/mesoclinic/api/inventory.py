"""Stock over REST: products, lots and their ledger, deliveries, waste, corrections, transfers and
recalls.

The same actions, rights and audit as the stock pages (inventory/views.py), on the caller's
clinic: a token's own, or a staff session's active clinic. Stock carries no patient data: any
token reads it (Perm.VIEW_STOCK); a write token books deliveries, waste, corrections and
transfers (Perm.MANAGE_STOCK); a recall is a physician's or manager's (Perm.RECALL, no token).
A use in a session is drawn by the charting app when a chart is signed, never through here.

Quantities are decimal strings (numbers are accepted); a refusal caused by the lot's state (too
little left, expired, recalled) answers 409, other bad input 422, both naming the field.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from ninja import Query, Schema, Status
from pydantic import ConfigDict, Field

from mesoclinic.accounts.models import Clinic, User
from mesoclinic.accounts.permissions import Perm
from mesoclinic.api.auth import StaffSession, TokenAuth
from mesoclinic.api.schemas import NO_NUL, ErrorOut, Line, Text
from mesoclinic.api.views import BODY_ERRORS, ERRORS, ApiError, _principal, api
from mesoclinic.audit.log import record
from mesoclinic.audit.models import AuditEvent, ObjectType
from mesoclinic.inventory import actions, queries
from mesoclinic.inventory.access import lot_of, product_of
from mesoclinic.inventory.actions import StockRefused
from mesoclinic.inventory.models import Lot, MoveKind, StockMove, plain
from mesoclinic.kernel.principal import Principal

AUTH = [TokenAuth(), StaffSession()]
# Stock writes: a read-only token is refused before its body is read.
WRITE_AUTH = [TokenAuth(write=True), StaffSession()]
TAGS = ["inventory"]
STOCK_ERRORS: dict[int, Any] = {409: ErrorOut, **BODY_ERRORS}
MAX_LOTS = 500
# The actions name their own arguments; the API names its fields.
API_FIELDS = {"delta": "quantity"}


# --- who and where --------------------------------------------------------------------------

def _clinic(request: Any, principal: Principal) -> Clinic:
    """The token's clinic, or the staff member's active clinic."""
    clinic = principal.token.clinic if principal.token is not None else request.clinic
    assert isinstance(clinic, Clinic)  # noqa: S101 (StaffSession needs an active clinic)
    return clinic


def _allowed(request: Any, perm: Perm, *, action: AuditEvent.Action,
             object_type: ObjectType) -> tuple[Principal, Clinic]:
    """The caller and its clinic, when it holds `perm` there; else 403, audited."""
    principal = _principal(request)
    clinic = _clinic(request, principal)
    if perm not in principal.perms_at(clinic):
        record(principal.actor, action=action, object_type=object_type,
               object_id=request.path.replace("\x00", "%00")[:64], clinic_id=str(clinic.public_id),
               outcome=AuditEvent.Outcome.DENIED, detail=f"missing permission {perm.value}")
        raise ApiError(403, "you may not do that with the stock")
    return principal, clinic


def _by(principal: Principal) -> User:
    """Who the move is recorded as made by: the staff member, or the token's issuer (the audit
    trail names the token itself)."""
    if principal.user is not None:
        return principal.user
    assert principal.token is not None  # noqa: S101
    return User(pk=principal.token.created_by_id)


def _audit(principal: Principal, clinic: Clinic, action: AuditEvent.Action, *,
           object_type: ObjectType = "lot", **fields: Any) -> None:
    record(principal.actor, action=action, object_type=object_type, clinic_id=str(clinic.public_id),
           organisation_id=str(clinic.organisation.public_id), **fields)


def _refused(principal: Principal, clinic: Clinic, exc: StockRefused, *, action: AuditEvent.Action,
             object_type: ObjectType, object_id: str = "") -> ApiError:
    """A refused change: on the record, then 409 (the lot's state) or 422, naming the field."""
    field = API_FIELDS.get(exc.field, exc.field)
    _audit(principal, clinic, action, object_type=object_type, object_id=object_id,
           outcome=AuditEvent.Outcome.DENIED, detail=f"{field}: {exc.message}"[:200])
    return ApiError(409 if exc.conflict else 422, f"{field}: {exc.message}", field)


def _lot(principal: Principal, clinic: Clinic, lot_id: UUID, action: AuditEvent.Action) -> Lot:
    found = lot_of(clinic, lot_id)
    if found is None:
        _audit(principal, clinic, action, object_id=str(lot_id), outcome=AuditEvent.Outcome.DENIED,
               detail="no such lot")
        raise ApiError(404, "no such lot")
    return found


# --- answers --------------------------------------------------------------------------------

def _iso(moment: datetime | None, clinic: Clinic) -> str | None:
    return moment.astimezone(zoneinfo.ZoneInfo(clinic.timezone)).isoformat() if moment else None


def _lot_out(lot: Lot, clinic: Clinic, today: date) -> dict[str, Any]:
    product = lot.product
    return {
        "id": str(lot.public_id),
        "product": {"id": str(product.public_id), "name": product.name, "unit": product.unit},
        "number": lot.number, "expires_on": lot.expires_on.isoformat(), "supplier": lot.supplier,
        "received_quantity": plain(lot.received_quantity), "on_hand": plain(lot.on_hand),
        "opened_at": _iso(lot.opened_at, clinic), "in_use_until": _iso(lot.in_use_until, clinic),
        "recalled_at": _iso(lot.recalled_at, clinic), "recall_reason": lot.recall_reason,
        "state": queries.lot_state(lot, today) or "usable",
    }


def _move_out(move: StockMove, clinic: Clinic) -> dict[str, Any]:
    return {
        "id": str(move.public_id), "lot_id": str(move.lot.public_id), "kind": move.kind,
        "quantity": plain(move.quantity), "on_hand_after": plain(move.on_hand_after),
        "at": _iso(move.at, clinic), "by": str(move.by), "reason": move.reason,
        "counterpart_id": str(move.counterpart.public_id) if move.counterpart else None,
    }


# --- products -------------------------------------------------------------------------------

@api.get("/products", response={200: list[dict[str, Any]], **ERRORS}, tags=TAGS, auth=AUTH,
         summary="The clinic's products with their usable and total stock (any token; physicians, "
                 "nurses, managers)")
def list_products(request: Any) -> Any:
    principal, clinic = _allowed(request, Perm.VIEW_STOCK, action=AuditEvent.Action.VIEW,
                                 object_type="product")
    today = queries.clinic_today(clinic)
    levels = queries.stock_levels(clinic, today, active_only=False)
    _audit(principal, clinic, AuditEvent.Action.VIEW, object_type="product",
           detail=f"products: {len(levels)}")
    return [{"id": str(x.product.public_id), "name": x.product.name, "kind": x.product.kind,
             "unit": x.product.unit, "ingredients": x.product.ingredient_codes,
             "multi_dose": x.product.multi_dose, "in_use_days": x.product.in_use_days,
             "low_stock_threshold": plain(x.product.low_stock_threshold), "active": x.product.active,
             "usable": plain(x.usable), "on_hand": plain(x.on_hand), "low": x.low} for x in levels]


# --- lots -----------------------------------------------------------------------------------

class LotFilter(Schema):
    expiring_within_days: int | None = Field(
        default=None, ge=0, le=365,
        description="only lots in stock, not recalled and not expired, expiring within this many "
                    "days of the clinic's today")
    recalled: bool | None = Field(default=None, description="true: recalled lots only; false: none")
    product: UUID | None = None


@api.get("/lots", response={200: list[dict[str, Any]], **ERRORS}, tags=TAGS, auth=AUTH,
         summary="The clinic's lots, soonest expiry first (any token; physicians, nurses, managers)")
def list_lots(request: Any, filters: Query[LotFilter]) -> Any:
    principal, clinic = _allowed(request, Perm.VIEW_STOCK, action=AuditEvent.Action.VIEW,
                                 object_type="lot")
    today = queries.clinic_today(clinic)
    found = Lot.objects.for_clinic(clinic).select_related("product")
    if filters.expiring_within_days is not None:
        found = queries.expiring_soon(clinic, filters.expiring_within_days, today)
    if filters.recalled is not None:
        found = found.filter(recalled_at__isnull=not filters.recalled)
    if filters.product is not None:
        product = product_of(clinic, filters.product)
        if product is None:
            raise ApiError(422, "product: not a product of this clinic", "product")
        found = found.filter(product=product)
    rows = list(found.order_by("expires_on", "product__name", "number")[:MAX_LOTS])
    _audit(principal, clinic, AuditEvent.Action.VIEW,
           detail=f"lots expiring_within_days={filters.expiring_within_days} "
                  f"recalled={filters.recalled}: {len(rows)} lots")
    return [_lot_out(lot, clinic, today) for lot in rows]


@api.get("/lots/{lot_id}", response={200: dict[str, Any], **ERRORS}, tags=TAGS, auth=AUTH,
         summary="One lot (any token; physicians, nurses, managers)")
def get_lot(request: Any, lot_id: UUID) -> Any:
    principal, clinic = _allowed(request, Perm.VIEW_STOCK, action=AuditEvent.Action.VIEW,
                                 object_type="lot")
    lot = _lot(principal, clinic, lot_id, AuditEvent.Action.VIEW)
    _audit(principal, clinic, AuditEvent.Action.VIEW, object_id=str(lot.public_id))
    return _lot_out(lot, clinic, queries.clinic_today(clinic))


class DeliveryIn(Schema):
    model_config = ConfigDict(extra="forbid")
    product: UUID = Field(description="a product of the clinic (`/products`)")
    number: Line = Field(min_length=1, max_length=64, pattern=NO_NUL,
                         description="the manufacturer's lot number")
    expires_on: date
    supplier: Line = Field(default="", max_length=200, pattern=NO_NUL)
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=3,
                              description="in the product's unit; pieces whole")


@api.post("/lots", response={201: dict[str, Any], **STOCK_ERRORS}, tags=TAGS, auth=WRITE_AUTH,
          summary="Receive a delivery; more of a lot number on record adds to that lot (write "
                  "tokens; physicians, nurses, managers)")
def receive_delivery(request: Any, payload: DeliveryIn) -> Any:
    principal, clinic = _allowed(request, Perm.MANAGE_STOCK, action=AuditEvent.Action.CREATE,
                                 object_type="lot")
    product = product_of(clinic, payload.product)
    if product is None:
        raise ApiError(422, "product: not a product of this clinic", "product")
    try:
        lot = actions.receive(clinic, product=product, number=payload.number,
                              expires_on=payload.expires_on, supplier=payload.supplier,
                              quantity=payload.quantity, by=_by(principal), actor=principal.actor)
    except StockRefused as exc:
        raise _refused(principal, clinic, exc, action=AuditEvent.Action.CREATE,
                       object_type="lot") from None
    return Status(201, _lot_out(lot, clinic, queries.clinic_today(clinic)))


# --- the ledger -----------------------------------------------------------------------------

@api.get("/lots/{lot_id}/moves", response={200: list[dict[str, Any]], **ERRORS}, tags=TAGS,
         auth=AUTH, summary="A lot's ledger, oldest first (any token; physicians, nurses, managers)")
def list_moves(request: Any, lot_id: UUID) -> Any:
    principal, clinic = _allowed(request, Perm.VIEW_STOCK, action=AuditEvent.Action.VIEW,
                                 object_type="stock_move")
    lot = _lot(principal, clinic, lot_id, AuditEvent.Action.VIEW)
    moves = list(StockMove.objects.filter(lot=lot).select_related("lot", "by", "counterpart")
                 .order_by("at", "id"))
    _audit(principal, clinic, AuditEvent.Action.VIEW, object_type="stock_move",
           object_id=str(lot.public_id), detail=f"ledger: {len(moves)} moves")
    return [_move_out(m, clinic) for m in moves]


class MoveIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["wasted", "adjusted", "transfer"] = Field(
        description="wasted: `quantity` thrown away; adjusted: a count correction, `quantity` "
                    "signed (-2: two fewer than on record); transfer: `quantity` sent to `to_clinic`")
    quantity: Decimal = Field(max_digits=12, decimal_places=3)
    reason: Line = Field(default="", max_length=300, pattern=NO_NUL,
                         description="required for wasted and adjusted")
    to_clinic: UUID | None = Field(default=None, description="a transfer's receiving clinic, of "
                                                              "the same organisation")


@api.post("/lots/{lot_id}/moves", response={201: dict[str, Any], **STOCK_ERRORS}, tags=TAGS,
          auth=WRITE_AUTH,
          summary="Record waste, a count correction or a transfer to a sister clinic (write "
                  "tokens; physicians, nurses, managers)")
def create_move(request: Any, lot_id: UUID, payload: MoveIn) -> Any:
    principal, clinic = _allowed(request, Perm.MANAGE_STOCK, action=AuditEvent.Action.CREATE,
                                 object_type="stock_move")
    lot = _lot(principal, clinic, lot_id, AuditEvent.Action.CREATE)
    by = _by(principal)
    target = _sister(clinic, payload.to_clinic) if payload.kind == "transfer" else None
    try:
        if target is not None:
            move = actions.send(lot, target, payload.quantity, clinic=clinic, by=by,
                                actor=principal.actor)
        elif payload.kind == "wasted":
            move = actions.draw(lot, payload.quantity, clinic=clinic, kind=MoveKind.WASTED, by=by,
                                actor=principal.actor, reason=payload.reason)
        else:
            move = actions.adjust(lot, payload.quantity, clinic=clinic, by=by, actor=principal.actor,
                                  reason=payload.reason)
    except StockRefused as exc:
        raise _refused(principal, clinic, exc, action=AuditEvent.Action.CREATE,
                       object_type="stock_move", object_id=str(lot.public_id)) from None
    out = _move_out(move, clinic)
    if target is not None and move.counterpart is not None:
        out["to_lot_id"] = str(move.counterpart.lot.public_id)
    return Status(201, out)


def _sister(clinic: Clinic, public_id: UUID | None) -> Clinic:
    """The receiving clinic of a transfer: one of the organisation's."""
    if public_id is None:
        raise ApiError(422, "to_clinic: a transfer names the receiving clinic", "to_clinic")
    found = list(Clinic.objects.filter(public_id=public_id, organisation_id=clinic.organisation_id)[:1])
    if not found:
        raise ApiError(422, "to_clinic: not a clinic of your organisation", "to_clinic")
    return found[0]


# --- recall ---------------------------------------------------------------------------------

class RecallIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(min_length=1, max_length=1000, pattern=NO_NUL,
                         description="the supplier's or authority's notice")


@api.post("/lots/{lot_id}/recall", response={200: dict[str, Any], **STOCK_ERRORS}, tags=TAGS,
          auth=AUTH,
          summary="Recall the lot's batch: every lot of the same product name and number in the "
                  "organisation's clinics (physicians, managers; no token)")
def recall_lot(request: Any, lot_id: UUID, payload: RecallIn) -> Any:
    principal, clinic = _allowed(request, Perm.RECALL, action=AuditEvent.Action.UPDATE,
                                 object_type="lot")
    lot = _lot(principal, clinic, lot_id, AuditEvent.Action.UPDATE)
    try:
        marked = actions.recall(lot, clinic=clinic, reason=payload.reason, by=_by(principal),
                                actor=principal.actor)
    except StockRefused as exc:
        raise _refused(principal, clinic, exc, action=AuditEvent.Action.UPDATE, object_type="lot",
                       object_id=str(lot.public_id)) from None
    today = queries.clinic_today(clinic)
    return {"recalled": [{**_lot_out(m, m.clinic, today), "clinic": {"id": str(m.clinic.public_id),
                                                                      "name": m.clinic.name}}
                         for m in marked]}
