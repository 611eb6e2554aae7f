"""Write audit events. Every read or write of patient data goes through `record`.

The append takes no lock. `record` inserts the event unsealed (no seq, no hash) in the caller's
transaction, so concurrent writers never wait for one another; `seal` then chains every
committed unsealed event, in id order, in a short transaction of its own under an advisory lock
(the only serialised step, and it holds no caller's transaction open). It runs on commit of each
writer, and before any read of the trail (`AuditQuerySet` seals on read), verification or
checkpoint. A sealer sees only committed events (and its own transaction's), so none is ever
chained before it exists, and a writer's rollback takes its unsealed events with it.
On SQLite there is a single writer anyway: events are sealed as they are inserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.http import HttpRequest
from django.utils import timezone

from mesoclinic.audit import keys
from mesoclinic.audit.models import OBJECT_TYPES, VIAS, AuditEvent, ObjectType, Via
from mesoclinic.lib.http import client_address

GENESIS = "0" * 64
_CHAIN_LOCK = 727_001  # PostgreSQL advisory lock key serialising the sealers (not the writers)
SEAL_BATCH = 500


@dataclass(frozen=True)
class Actor:
    """Who acted, from where; built from a request, an API token or the CLI."""

    user_id: str = ""
    username: str = ""
    role: str = ""
    client_address: str = ""
    request_id: str = ""
    via: Via = "web"


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
    action: AuditEvent.Action,
    object_type: ObjectType,
    object_id: str = "",
    clinic_id: str = "",
    organisation_id: str = "",
    patient_id: str = "",
    outcome: str = AuditEvent.Outcome.ALLOWED,
    changes: dict[str, Any] | None = None,
    detail: str = "",
    break_glass: bool = False,
    at: datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> AuditEvent:
    """Append one event, in the caller's transaction; it joins the chain once sealed."""
    if object_type not in OBJECT_TYPES or actor.via not in VIAS:
        raise ValueError(f"not in the audit vocabulary: {object_type!r} via {actor.via!r}")
    action = AuditEvent.Action(action)
    tracked = _tracked.get()
    if tracked is not None and patient_id:
        tracked.patient_ids.add(patient_id)
    event = AuditEvent(
        at=at or timezone.now(),
        user_id=actor.user_id,
        username=actor.username,
        role=actor.role,
        clinic_id=clinic_id,
        organisation_id=organisation_id,
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
    )
    _append(event, using)
    _after_commit(using)
    return event


def _append(event: AuditEvent, using: str) -> None:
    connection = connections[using]
    if connection.vendor == "postgresql":
        event.save(force_insert=True, using=using)
        return
    # SQLite: the transaction holds the database's only write lock (BEGIN IMMEDIATE), so the
    # head cannot move under us; seal at once. No savepoint: a failure fails the caller's write.
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        seq, prev_hash = _head(cursor)
        event.seq, event.prev_hash, event.key_id = seq + 1, prev_hash, keys.signing_key_id()
        event.hash = event.compute_hash()
        event.save(force_insert=True, using=using)


def _after_commit(using: str) -> None:
    """Once per transaction: seal what it wrote, and write a checkpoint when one is due."""
    connection = connections[using]
    if connection.in_atomic_block and any(
        item[1] is _sealer_for(using) for item in connection.run_on_commit
    ):
        return
    transaction.on_commit(_sealer_for(using), using=using, robust=True)


# One sealer function per database alias, so that a transaction registers it only once.
_sealers: dict[str, Callable[[], None]] = {}
# When this process last sealed after a commit, per alias (time.monotonic()).
_sealed_at: dict[str, float] = {}


def _sealer_for(using: str) -> Callable[[], None]:
    if using not in _sealers:
        def sealer() -> None:
            from mesoclinic.audit.checkpoints import checkpoint_if_due

            # A busy process seals at most every AUDIT_SEAL_SECONDS: one seal then chains every
            # event committed since, instead of a sealing transaction per audited request. The
            # events in between are already guarded (no DELETE, no change but the seal), and every
            # reader of the chain (trail, export, verify, checkpoint, backup) seals first.
            now = time.monotonic()
            if now - _sealed_at.get(using, -1e9) < settings.AUDIT_SEAL_SECONDS:
                return
            _sealed_at[using] = now
            seal(using=using)
            checkpoint_if_due(using=using)

        _sealers[using] = sealer
    return _sealers[using]


def _head(cursor: Any) -> tuple[int, str]:
    cursor.execute("SELECT seq, hash FROM audit_auditevent WHERE seq IS NOT NULL "
                   "ORDER BY seq DESC LIMIT 1")
    row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _pending(using: str) -> tuple[bool, bool]:
    """(unsealed events exist, closed refusal tallies exist), in one cheap query."""
    connection = connections[using]
    cutoff = connection.ops.adapt_datetimefield_value(_minute(timezone.now()))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT 1 FROM audit_auditevent WHERE seq IS NULL LIMIT 1),"
            " (SELECT 1 FROM audit_refusaltally WHERE minute < %s LIMIT 1)", [cutoff])
        unsealed, tallies = cursor.fetchone()
    return unsealed is not None, tallies is not None


def seal(*, using: str = DEFAULT_DB_ALIAS, batch: int = SEAL_BATCH, durable: bool = False) -> int:
    """Chain every committed unsealed event (closed refusal tallies first); returns how many."""
    unsealed, tallies = _pending(using)
    if tallies:
        flush_refusals(using=using)
        unsealed = connections[using].vendor == "postgresql"
    if not unsealed:
        return 0
    connection = connections[using]
    sealed = 0
    signing = keys.signing_key_id()
    own_transaction = not connection.in_atomic_block
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Held only by sealers, and only for this short transaction (unless a caller reads
            # the trail inside its own open transaction: then to that transaction's end).
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
            if own_transaction and not durable:
                # No second WAL flush per audited write: a seal lost to a database crash leaves
                # its events unsealed, and the next sealer seals them again. A head that leaves
                # the database (a checkpoint) comes from `seal_durably`, whose commit is flushed,
                # and with it every seal before it.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        seq, prev_hash = _head(cursor)
        while True:
            rows = list(AuditEvent.chain.using(using).filter(seq__isnull=True).order_by("id")[:batch])
            if not rows:
                break
            params = []
            for event in rows:
                seq += 1
                event.seq, event.prev_hash, event.key_id = seq, prev_hash, signing
                event.hash = event.compute_hash()
                prev_hash = event.hash
                params.append((event.seq, event.key_id, event.prev_hash, event.hash, event.pk))
            cursor.executemany(
                "UPDATE audit_auditevent SET seq = %s, key_id = %s, prev_hash = %s, hash = %s"
                " WHERE id = %s AND seq IS NULL", params)
            sealed += len(rows)
    return sealed


# --- refused anonymous requests: counted, then one event per source, minute and door -----------

def count_refusal(
    actor: Actor,
    *,
    action: AuditEvent.Action,
    object_type: ObjectType,
    door: str,
    clinic_id: str = "",
    patient_id: str = "",
    detail: str = "",
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Count one refused anonymous request. `door` must come from a small set (a route, a known
    patient), so that varying the path cannot multiply the events."""
    connection = connections[using]
    minute = connection.ops.adapt_datetimefield_value(_minute(timezone.now()))
    # One atomic statement on both backends: concurrent knocks never lose a count.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_refusaltally (minute, source, via, action, door, object_type,"
            " clinic_id, patient_id, detail, request_id, count)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1)"
            " ON CONFLICT (minute, source, via, action, door)"
            " DO UPDATE SET count = audit_refusaltally.count + 1",
            [minute, actor.client_address[:45], actor.via[:10], action, door[:64],
             object_type[:50], clinic_id, patient_id, detail[:500], actor.request_id[:64]])


def flush_refusals(*, using: str = DEFAULT_DB_ALIAS, now: datetime | None = None) -> int:
    """Turn each tally of a minute that has ended into exactly one event; returns how many."""
    connection = connections[using]
    cutoff = connection.ops.adapt_datetimefield_value(_minute(now or timezone.now()))
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            # DELETE … RETURNING claims the rows: two flushers never turn one tally into two events.
            cursor.execute(
                "DELETE FROM audit_refusaltally WHERE minute < %s RETURNING minute, source, via,"
                " action, door, object_type, clinic_id, patient_id, detail, request_id, count",
                [cutoff])
            claimed = cursor.fetchall()
        tallies = sorted((_as_datetime(row[0]), *row[1:]) for row in claimed)
        for minute, source, via, action, door, object_type, clinic, patient, detail, rid, n in tallies:
            event = AuditEvent(
                at=minute, client_address=source, via=via, request_id=rid, action=action,
                object_type=object_type, object_id=door, clinic_id=clinic, patient_id=patient,
                outcome=AuditEvent.Outcome.DENIED, changes={"count": n},
                detail=f"{detail}: {n} request{'' if n == 1 else 's'} in this minute"[:500],
            )
            _append(event, using)
    return len(tallies)


def _as_datetime(value: datetime | str) -> datetime:
    """A raw cursor's datetime: psycopg returns one, SQLite an ISO string in UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- verification -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str


def verify_chain(batch: int = 5000, *, using: str = DEFAULT_DB_ALIAS) -> ChainProblem | None:
    """Walk the chain in order; return the first event that was altered, or after a removal."""
    expected_prev = GENESIS
    expected_seq = 1
    last_seq = 0
    while True:
        events = list(
            AuditEvent.chain.using(using).filter(seq__gt=last_seq).order_by("seq")[:batch])
        if not events:
            return None
        for event in events:
            if event.seq != expected_seq:
                return ChainProblem(expected_seq, f"event #{expected_seq} is missing (removed)")
            if event.prev_hash != expected_prev:
                return ChainProblem(event.seq, "previous-hash link broken (an event was removed)")
            try:
                expected_hash = event.compute_hash()
            except keys.UnknownKeyError:
                return ChainProblem(event.seq, f"signed with key {event.key_id!r}, which is not "
                                               "configured (forged, or AUDIT_KEYS lacks it)")
            if not keys.equal(expected_hash, event.hash):
                return ChainProblem(event.seq, "content does not match its keyed hash "
                                               "(altered, or re-chained without the key)")
            expected_prev = event.hash
            expected_seq += 1
            last_seq = event.seq


def chain_head(*, using: str = DEFAULT_DB_ALIAS) -> tuple[int, str]:
    """The newest sealed event's seq and hash (0 and the genesis hash when there is none)."""
    with connections[using].cursor() as cursor:
        return _head(cursor)


def seal_durably(*, using: str = DEFAULT_DB_ALIAS) -> tuple[int, str]:
    """Record that the head is being taken outside the database, seal everything, and return the
    head once it is on disk (a checkpoint must never name a hash a database crash could undo)."""
    flush_refusals(using=using)
    with transaction.atomic(using=using):  # a normal, flushed commit
        _append(AuditEvent(action=AuditEvent.Action.EXPORT, object_type="audit_checkpoint",
                           outcome=AuditEvent.Outcome.ALLOWED, via="cli",
                           detail="chain head signed into a checkpoint"), using)
        seal(using=using, durable=True)
        return chain_head(using=using)
