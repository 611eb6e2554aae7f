"""The audit trail's HMAC keys (settings.AUDIT_KEYS, never stored in the database) and signing."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from django.conf import settings


class UnknownKeyError(LookupError):
    """An event or checkpoint names a key id that is not configured."""


def signing_key_id() -> str:
    """The key that signs new events and checkpoints: the last one configured."""
    return list(settings.AUDIT_KEYS)[-1]


def mac(key_id: str, message: str) -> str:
    """HMAC-SHA256 of `message` under the key `key_id`, hex."""
    secret = settings.AUDIT_KEYS.get(key_id)
    if secret is None:
        raise UnknownKeyError(key_id)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def canonical(body: dict[str, Any]) -> str:
    """The event's fields as stable JSON; datetimes as UTC with microseconds."""
    flat = {
        name: value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if isinstance(value, datetime) else value
        for name, value in body.items()
    }
    return json.dumps(flat, sort_keys=True, separators=(",", ":"), default=str)


def event_hash(key_id: str, prev_hash: str, body: dict[str, Any]) -> str:
    """An event's link in the chain: keyed over the previous hash and the event's content."""
    return mac(key_id, prev_hash + canonical(body))


def equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
