"""SMS through a provider adapter named by `SMS_BACKEND`, like Django's EMAIL_BACKEND.

An adapter is any class whose instances have `send(to, body) -> provider_id`; it raises
`SmsError` (or anything else) when the provider refuses, and the message says why. Development
logs each text (`LoggingSmsBackend`); tests collect them in `outbox` (`LocmemSmsBackend`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("mesoclinic.messaging.sms")

LOGGING_BACKEND = "mesoclinic.messaging.sms.LoggingSmsBackend"


class SmsError(Exception):
    """The provider refused the text; str(error) is the reason shown to staff."""


@runtime_checkable
class SmsBackend(Protocol):
    def send(self, to: str, body: str) -> str:
        """Hand one text to the provider; returns the provider's id for it."""
        ...


class LoggingSmsBackend:
    """Development: writes each text to the log instead of sending it."""

    def send(self, to: str, body: str) -> str:
        provider_id = f"log-{uuid.uuid4().hex}"
        logger.info("SMS %s to %s:\n%s", provider_id, to, body)
        return provider_id


@dataclass(frozen=True)
class Sms:
    to: str
    body: str
    provider_id: str


# What LocmemSmsBackend sent, oldest first (tests empty it, as Django's test runner does mail.outbox).
outbox: list[Sms] = []


class LocmemSmsBackend:
    """Tests: keeps each text in `mesoclinic.messaging.sms.outbox`."""

    def send(self, to: str, body: str) -> str:
        provider_id = f"locmem-{len(outbox) + 1}"
        outbox.append(Sms(to=to, body=body, provider_id=provider_id))
        return provider_id


def enabled() -> bool:
    """Whether SMS reminders are sent at all (SMS_BACKEND is set)."""
    return bool(settings.SMS_BACKEND)


def get_backend() -> SmsBackend:
    """A fresh instance of the configured adapter."""
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
