"""Write audit events. Every read or write of patient data goes through `record`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest

from mesoclinic.audit.models import AuditEvent
from mesoclinic.lib.http import client_address

GENESIS = "0" * 64
_CHAIN_LOCK = 727_001  # PostgreSQL advisory lock key serialising the hash chain


@dataclass(frozen=True)
class Actor:
    """Who acted, from where; built from a request, an API token or the CLI."""

    user_id: str = ""
    username: str = ""
    role: str = ""
    client_address: str = ""
    request_id: str = ""
    via: str = "web"


@dataclass
class Tracked:
    """The patients whose data an event was recorded for, within one `tracking()` block."""

    patient_ids: set[str] = field(default_factory=set)


_tracked: ContextVar[Tracked | None] = ContextVar("audit_tracked", default=None)


@contextmanager
def tracking() -> Iterator[Tracked]:
    """Note every patient an event is recorded for while the block runs (the kernel's views use
    it to audit each response that shows patient data exactly once)."""
    tracked = Tracked()
    token = _tracked.set(tracked)
    try:
        yield tracked
    finally:
        _tracked.reset(token)


def actor_from_request(request: HttpRequest) -> Actor:
    """The signed-in user (or anonymous) behind a page request."""
    user = request.user
    roles = ",".join(sorted(getattr(request, "roles", ())))
    return Actor(
        user_id=str(user.public_id) if user.is_authenticated else "",
        username=user.get_username() if user.is_authenticated else "",
        role=roles,
        client_address=client_address(request) or "",
        request_id=getattr(request, "request_id", ""),
        via="web",
    )


def record(
    actor: Actor,
    *,
    action: str,
    object_type: str,
    object_id: str = "",
    clinic_id: str = "",
    patient_id: str = "",
    outcome: str = AuditEvent.Outcome.ALLOWED,
    changes: dict[str, Any] | None = None,
    detail: str = "",
    break_glass: bool = False,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction."""
    tracked = _tracked.get()
    if tracked is not None and patient_id:
        tracked.patient_ids.add(patient_id)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Two concurrent writers would otherwise both chain onto the same predecessor.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        event = AuditEvent(
            seq=seq,
            user_id=actor.user_id,
            username=actor.username,
            role=actor.role,
            clinic_id=clinic_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            patient_id=patient_id,
            outcome=outcome,
            client_address=actor.client_address,
            request_id=actor.request_id,
            via=actor.via,
            changes=changes or {},
            detail=detail[:500],
            break_glass=break_glass,
            prev_hash=prev_hash,
        )
        event.hash = event.compute_hash()
        event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str


def verify_chain(batch: int = 5000) -> ChainProblem | None:
    """Walk the chain in order; return the first event that was altered, or after a removal."""
    expected_prev = GENESIS
    expected_seq = 1
    last_seq = 0
    while True:
        events = list(AuditEvent.objects.filter(seq__gt=last_seq).order_by("seq")[:batch])
        if not events:
            return None
        for event in events:
            if event.seq != expected_seq:
                return ChainProblem(expected_seq, f"event #{expected_seq} is missing (removed)")
            if event.prev_hash != expected_prev:
                return ChainProblem(event.seq, "previous-hash link broken (an event was removed)")
            if event.compute_hash() != event.hash:
                return ChainProblem(event.seq, "content does not match its hash (altered)")
            expected_prev = event.hash
            expected_seq += 1
            last_seq = event.seq
