"""System checks: the worker's settings make sense, and SMS reminders are really sent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from mesoclinic.messaging.sms import LOGGING_BACKEND, SmsBackend, get_backend

_LOWEST = {"WORKER_SWEEP_SECONDS": 1, "MESSAGE_LEASE_SECONDS": 1, "MESSAGE_MAX_ATTEMPTS": 1,
           "MESSAGE_RETRY_SECONDS": 0}


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The worker's numbers are in range, and SMS_BACKEND names an adapter with send()."""
    errors: list[checks.CheckMessage] = [
        checks.Error(f"{name} must be at least {lowest}, not {getattr(settings, name)}",
                     id="messaging.E001")
        for name, lowest in _LOWEST.items() if getattr(settings, name) < lowest
    ]
    if not settings.SMS_BACKEND:
        return errors  # SMS off: reminders go by email only
    try:
        backend = get_backend()
    except Exception as exc:  # an operator's typo: say what is wrong, not a traceback
        errors.append(checks.Error(f"SMS_BACKEND {settings.SMS_BACKEND!r} cannot be loaded: {exc}",
                                   id="messaging.E002"))
    else:
        if not isinstance(backend, SmsBackend):
            errors.append(checks.Error(
                f"SMS_BACKEND {settings.SMS_BACKEND!r} has no send(to, body) method",
                id="messaging.E003"))
    return errors


def check_sms_deploy(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """In production the logging adapter would mark reminders sent that no patient received."""
    if settings.SMS_BACKEND == LOGGING_BACKEND:
        return [checks.Warning(
            "SMS_BACKEND is the logging adapter: SMS reminders are written to the log, not sent.",
            hint="Set SMS_BACKEND to your SMS provider's adapter (see docs/operations.md).",
            id="messaging.W001")]
    return []
