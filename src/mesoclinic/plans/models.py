"""Treatment plans, their versions, consents and quotes."""

from __future__ import annotations
