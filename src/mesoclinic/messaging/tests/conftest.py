"""A clinic, an in-memory SMS provider, and a helper that schedules a reminder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mesoclinic.accounts.models import Clinic, Organisation
from mesoclinic.messaging import outbox, sms
from mesoclinic.messaging.models import OutboundMessage

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REF = "appointment:7f6c3f0e-5d7b-4a3e-9a51-0c1f6a8e2b44"
CONTEXT = {"given_name": "Ayşe", "clinic": "Nişantaşı", "address": "Abdi İpekçi Cd. 12, İstanbul",
           "date": "2026-03-04", "time": "14:30", "arrive": "14:00", "cream": "yes"}


@pytest.fixture(autouse=True)
def _sms_in_memory(settings: Any) -> Any:
    settings.SMS_BACKEND = "mesoclinic.messaging.sms.LocmemSmsBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def clinic(db: None) -> Clinic:
    org = Organisation.objects.create(name="Test Group")
    return Clinic.objects.create(organisation=org, name="Nişantaşı", timezone="Europe/Istanbul")


def remind(clinic: Clinic, **fields: Any) -> OutboundMessage:
    """Schedule a session-preparation email due at NOW unless told otherwise."""
    values: dict[str, Any] = {
        "kind": "session_preparation", "channel": "email", "recipient": "ayse@example.org",
        "language": "tr", "context": dict(CONTEXT), "ref": REF, "due_at": NOW,
        "patient_id": "0b8e0c47-3f7e-4a55-8f59-6a4d7e1d2c10",
    }
    values.update(fields)
    return outbox.schedule(clinic=clinic, **values)
