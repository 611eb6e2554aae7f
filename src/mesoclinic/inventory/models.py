"""Products, their lots, and the one stock ledger.

Stock never goes negative, whoever draws at the same moment: that is a database rule
(`lot_on_hand_never_negative`), not a check in Python. `actions.draw` decrements with a single
UPDATE and turns the constraint's refusal into a message naming what is left. Every change of a
lot's stock is one `StockMove` row, so the moves of a lot always add up to its `on_hand`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mesoclinic.accounts.models import Clinic
from mesoclinic.lib.text import visible_line, visible_text

# Quantities: millilitres and grams to the microlitre/milligram, pieces whole (actions check).
DIGITS, PLACES = 12, 3
ZERO = Decimal("0")


class ProductKind(models.TextChoices):
    COMPONENT = "component", _("Solution component")
    MIXTURE = "mixture", _("Ready-made mixture")
    ANAESTHETIC_CREAM = "anaesthetic_cream", _("Anaesthetic cream")
    NEEDLE = "needle", _("Needle")
    OTHER = "other", _("Other")


class Unit(models.TextChoices):
    ML = "ml", _("ml")
    G = "g", _("g")
    PIECE = "piece", _("piece")


class Product(models.Model):
    """Something the clinic keeps in stock, per clinic (a sister clinic has its own row)."""

    Kind = ProductKind
    Unit = Unit

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(_("name"), max_length=200, validators=[visible_line])
    kind = models.CharField(_("kind"), max_length=20, choices=ProductKind.choices)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices)
    # A vial opened once and used for several patients must be discarded after its in-use period.
    multi_dose = models.BooleanField(_("multi-dose vial"), default=False)
    in_use_days = models.PositiveSmallIntegerField(_("days usable after opening"), null=True,
                                                   blank=True)
    low_stock_threshold = models.DecimalField(_("low-stock threshold"), default=ZERO,
                                              max_digits=DIGITS, decimal_places=PLACES)
    active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="product_unique_name",
                                    violation_error_message=_("The clinic has a product of that name.")),
            models.CheckConstraint(condition=Q(kind__in=ProductKind.values), name="product_kind_known",
                                   violation_error_message=_("Unknown product kind.")),
            models.CheckConstraint(condition=Q(unit__in=Unit.values), name="product_unit_known",
                                   violation_error_message=_("Unknown unit.")),
            # A multi-dose vial says how long it may be used once opened; a single-use one does not.
            models.CheckConstraint(
                condition=(Q(multi_dose=True) & Q(in_use_days__isnull=False) & Q(in_use_days__gte=1))
                | (Q(multi_dose=False) & Q(in_use_days__isnull=True)),
                name="product_in_use_days_multi_dose",
                violation_error_message=_("A multi-dose vial needs its days of use after opening.")),
            models.CheckConstraint(condition=Q(low_stock_threshold__gte=0),
                                   name="product_threshold_not_negative",
                                   violation_error_message=_("The threshold cannot be negative.")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def ingredient_codes(self) -> list[str]:
        """The knowledge-pack ingredient codes the product contains (prefetch `ingredients`)."""
        return [i.code for i in self.ingredients.all()]


class ProductIngredient(models.Model):
    """One knowledge-pack ingredient code a product contains (a mixture has several)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="ingredients")
    code = models.CharField(_("ingredient code"), max_length=64)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["product", "code"], name="product_ingredient_once"),
        ]
        indexes = [models.Index(fields=["code"], name="product_ingredient_code")]

    def __str__(self) -> str:
        return self.code


class LotQuerySet(models.QuerySet["Lot"]):
    def for_clinic(self, clinic: Clinic) -> LotQuerySet:
        return self.filter(clinic=clinic)

    def not_recalled(self) -> LotQuerySet:
        return self.filter(recalled_at__isnull=True)

    def unexpired(self, today: date) -> LotQuerySet:
        """Usable through the expiry date itself (`today` is the clinic's local day)."""
        return self.filter(expires_on__gte=today)

    def in_stock(self) -> LotQuerySet:
        return self.filter(on_hand__gt=0)


class Lot(models.Model):
    """A manufacturer's batch of one product as held at one clinic."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="lots")
    number = models.CharField(_("lot number"), max_length=64, validators=[visible_line])
    expires_on = models.DateField(_("expires on"))
    supplier = models.CharField(_("supplier"), max_length=200, blank=True, validators=[visible_line])
    # From suppliers only; stock sent from a sister clinic arrives as a transfer_in move.
    received_quantity = models.DecimalField(_("quantity received"), default=ZERO,
                                            max_digits=DIGITS, decimal_places=PLACES)
    on_hand = models.DecimalField(_("on hand"), default=ZERO, max_digits=DIGITS, decimal_places=PLACES)
    # The first opening of a multi-dose vial: its in-use period runs from here.
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    recalled_at = models.DateTimeField(_("recalled"), null=True, blank=True)
    recalled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")
    recall_reason = models.TextField(_("reason for the recall"), blank=True, validators=[visible_text])
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = LotQuerySet.as_manager()

    class Meta:
        ordering = ["expires_on", "number"]
        indexes = [
            models.Index(fields=["clinic", "expires_on"], name="lot_clinic_expiry"),
            # The recall looks for a batch by its number across the organisation's clinics.
            models.Index(fields=["number"], name="lot_number"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "product", "number"], name="lot_unique_number",
                                    violation_error_message=_("This lot is on record already.")),
            # THE stock rule: a draw of more than is left fails here, also when two sessions
            # draw the last units at the same moment (actions.draw turns it into a message).
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="lot_on_hand_never_negative",
                                   violation_error_message=_("Stock cannot go below zero.")),
            models.CheckConstraint(condition=Q(received_quantity__gte=0),
                                   name="lot_received_not_negative",
                                   violation_error_message=_("A received quantity cannot be negative.")),
            # A recall says when, by whom and why, or nothing at all.
            models.CheckConstraint(
                condition=(Q(recalled_at__isnull=True) & Q(recalled_by__isnull=True)
                           & Q(recall_reason=""))
                | (Q(recalled_at__isnull=False) & Q(recalled_by__isnull=False)
                   & ~Q(recall_reason="")),
                name="lot_recall_complete",
                violation_error_message=_("A recall needs its time, author and reason.")),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} {self.number}"

    @property
    def recalled(self) -> bool:
        return self.recalled_at is not None

    def expired_on(self, today: date) -> bool:
        """Usable through its expiry date: expired only the day after."""
        return today > self.expires_on

    @property
    def in_use_until(self) -> datetime | None:
        """When an opened multi-dose vial must be discarded (None: unopened or single-use)."""
        days = self.product.in_use_days
        if not self.product.multi_dose or self.opened_at is None or days is None:
            return None
        return self.opened_at + timedelta(days=days)


class MoveKind(models.TextChoices):
    RECEIVED = "received", _("Received")
    USED = "used", _("Used in a session")
    WASTED = "wasted", _("Wasted")
    ADJUSTED = "adjusted", _("Count corrected")
    TRANSFER_OUT = "transfer_out", _("Sent to another clinic")
    TRANSFER_IN = "transfer_in", _("Received from another clinic")


INCOMING = (MoveKind.RECEIVED, MoveKind.TRANSFER_IN)
OUTGOING = (MoveKind.USED, MoveKind.WASTED, MoveKind.TRANSFER_OUT)


class AppendOnlyError(RuntimeError):
    """Stock moves are never changed or deleted: a mistake is corrected by a new move."""


class StockMoveQuerySet(models.QuerySet["StockMove"]):
    def update(self, **kwargs: Any) -> int:
        # The one update a move ever gets: a transfer's first move learns its counterpart, in
        # the transaction that wrote both.
        if set(kwargs) != {"counterpart"}:
            raise AppendOnlyError("stock moves cannot be changed")
        return models.QuerySet.update(self.filter(counterpart__isnull=True), **kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("stock moves cannot be deleted")


class StockMove(models.Model):
    """One change of one lot's stock: + in, - out. The ledger is append-only."""

    Kind = MoveKind

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="moves")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=MoveKind.choices)
    quantity = models.DecimalField(_("quantity"), max_digits=DIGITS, decimal_places=PLACES)
    on_hand_after = models.DecimalField(_("on hand after"), max_digits=DIGITS, decimal_places=PLACES)
    at = models.DateTimeField(_("at"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=300, blank=True, validators=[visible_line])
    # The other half of a transfer between clinics.
    counterpart = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+")

    objects = StockMoveQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["lot", "at"], name="stockmove_lot_at"),
            models.Index(fields=["clinic", "at"], name="stockmove_clinic_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=MoveKind.values), name="stockmove_kind_known",
                                   violation_error_message=_("Unknown kind of stock move.")),
            # In is positive, out is negative, a count correction either but never zero.
            models.CheckConstraint(
                condition=(Q(kind__in=INCOMING) & Q(quantity__gt=0))
                | (Q(kind__in=OUTGOING) & Q(quantity__lt=0))
                | (Q(kind=MoveKind.ADJUSTED) & ~Q(quantity=0)),
                name="stockmove_sign_matches_kind",
                violation_error_message=_("The quantity's sign does not match the kind of move.")),
            # Stock thrown away or corrected by hand says why.
            models.CheckConstraint(
                condition=~Q(kind__in=(MoveKind.WASTED, MoveKind.ADJUSTED)) | ~Q(reason=""),
                name="stockmove_reason_when_wasted_or_adjusted",
                violation_error_message=_("Say why the stock was wasted or corrected.")),
            models.CheckConstraint(condition=Q(on_hand_after__gte=0),
                                   name="stockmove_on_hand_after_not_negative",
                                   violation_error_message=_("Stock cannot go below zero.")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} of lot {self.lot_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("stock moves cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("stock moves cannot be deleted")


def plain(quantity: Decimal) -> str:
    """A quantity without trailing zeros: 2.500 → "2.5", 3.000 → "3"."""
    text = f"{quantity:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantity_text(quantity: Decimal, unit: str) -> str:
    """A quantity with its unit, as staff read it: "2.5 ml", "1 needle" → "1 piece"."""
    if unit == Unit.PIECE:
        count = int(quantity)
        return ngettext("%(n)s piece", "%(n)s pieces", count) % {"n": plain(quantity)}
    return f"{plain(quantity)} {Unit(unit).label}"
