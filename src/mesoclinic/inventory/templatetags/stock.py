"""Quantities as staff read them: `{{ lot.on_hand|qty:lot.product.unit }}` → "2.5 ml"."""

from __future__ import annotations

from decimal import Decimal

from django import template

from mesoclinic.inventory.models import plain, quantity_text

register = template.Library()


@register.filter
def qty(value: Decimal | None, unit: str = "") -> str:
    """A quantity without trailing zeros, with its unit when one is given."""
    if value is None:
        return ""
    return quantity_text(value, unit) if unit else plain(value)


@register.filter
def signed(value: Decimal | None) -> str:
    """A ledger quantity with its sign: +10, -2.5 (a true minus sign)."""
    if value is None:
        return ""
    text = plain(abs(value))
    return f"+{text}" if value > 0 else f"−{text}"
