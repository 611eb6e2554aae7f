"""The seam through which later stages hear that a patient's record changed.

The record must not import the stages built on it (screening, later plans and sessions), yet a
pregnancy or a new aspirin must re-screen at once, in the same transaction. Each stage
subscribes in its AppConfig.ready(); the record calls every subscriber explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mesoclinic.accounts.models import User
    from mesoclinic.audit.log import Actor
    from mesoclinic.patients.models import Patient

RecordChanged = Callable[..., object]
_subscribers: list[RecordChanged] = []


def subscribe(callback: RecordChanged) -> None:
    """Call `callback(patient=, what=, by=, actor=)` whenever history, medications or allergies
    change (inside the changing transaction)."""
    if callback not in _subscribers:
        _subscribers.append(callback)


def record_changed(*, patient: Patient, what: str, by: User | None, actor: Actor) -> None:
    """Tell every subscriber that part of the patient's record changed."""
    for callback in _subscribers:
        callback(patient=patient, what=what, by=by, actor=actor)
