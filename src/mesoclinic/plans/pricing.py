"""The pricing engine (pure): a clinic's price list and a plan's work in, quote lines out."""

from __future__ import annotations
