"""Plan rules (pure): a plan's values checked against its protocol."""

from __future__ import annotations
