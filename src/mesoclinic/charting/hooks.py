"""Where later stages plug into charting without charting importing them (the layers contract).

- `session_signed`: sent inside the signing transaction, so what a receiver writes (the safety
  app's check-ins) is saved with the signature or not at all.
- Hold sources: functions that list a patient's adverse events still open, in the pre-session
  check's words (`open_adverse_events`); the safety app registers one when it loads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

from mesoclinic.patients.models import Patient

# Sent with `session` (the TreatmentSession just signed) and `actor` (the audit Actor).
session_signed = Signal()

HoldSource = Callable[[Patient], list[dict[str, Any]]]
_hold_sources: list[HoldSource] = []


def register_hold_source(source: HoldSource) -> None:
    if source not in _hold_sources:
        _hold_sources.append(source)


def open_adverse_events(patient: Patient) -> list[dict[str, Any]]:
    return [event for source in _hold_sources for event in source(patient)]
