"""Audited writes per second on PostgreSQL, with 1 and 4 concurrent writers, old vs new append.

Run: python bench/bench_audit_append.py [--database-url URL] [--seconds 5] [--work-ms 2]

The database (default postgresql://postgres@127.0.0.1:5432/mesoclinic_bench_audit) is dropped,
created, migrated, and dropped again at the end. Each writer is a thread with its own
connection that runs transactions like an audited action: BEGIN, `record()` one event, then
--work-ms of the rest of the action's work inside the transaction, COMMIT (the new design then
seals on commit, as it does in production).

  * locked  : the design before this change: `pg_advisory_xact_lock` and the chain head read
              in the caller's transaction, so the lock is held until that transaction ends;
              emulated with the same code by taking the lock and sealing inside the writer's
              transaction.
  * deferred: `record()` inserts the event unsealed, takes no lock; a short sealing
              transaction after each commit chains what has been committed.

At the end the chain is verified: every event sealed, in one unbroken chain.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import percentiles_ms, start_django

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/mesoclinic_bench_audit"


def _recreate(url: str, *, create: bool) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"--database-url: expected a plain database name, got {name!r}")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def run(design: str, writers: int, seconds: float, work_ms: float) -> tuple[int, list[float]]:
    """Run `writers` threads for `seconds`; return the number of audited writes and latencies."""
    from django.db import connection, transaction

    from mesoclinic.audit.log import _CHAIN_LOCK, Actor, record, seal
    from mesoclinic.audit.models import AuditEvent

    deadline = time.perf_counter() + seconds
    counts = [0] * writers
    latencies: list[list[float]] = [[] for _ in range(writers)]
    start = threading.Barrier(writers)

    def writer(n: int) -> None:
        actor = Actor(user_id=f"w{n}", username=f"writer.{n}", role="nurse", via="cli")
        try:
            start.wait()
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                with transaction.atomic():
                    if design == "locked":
                        with connection.cursor() as cursor:
                            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
                    record(actor, action=AuditEvent.Action.UPDATE, object_type="patient", object_id=str(n),
                           changes={"phone": ["1", "2"]})
                    if design == "locked":
                        seal()  # in the caller's transaction, under its lock
                    if work_ms:
                        time.sleep(work_ms / 1000)
                latencies[n].append(time.perf_counter() - began)
                counts[n] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts), [x for per in latencies for x in per]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--work-ms", type=float, default=2.0,
                        help="time the writer's transaction stays open after auditing")
    parser.add_argument("--writers", default="1,4")
    parser.add_argument("--design", choices=["locked", "deferred", "both"], default="both")
    args = parser.parse_args()
    url = args.database_url
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("this benchmark measures PostgreSQL (SQLite has a single writer)")

    workdir = Path(tempfile.mkdtemp(prefix="mesoclinic-bench-"))
    _recreate(url, create=True)
    try:
        start_django(url, workdir)
        from django.conf import settings
        from django.db import connection

        from mesoclinic.audit.log import seal, verify_chain
        from mesoclinic.audit.models import AuditEvent

        settings.AUDIT_CHECKPOINT_SECONDS = 0  # measure the append, not the checkpoint files
        connection.close()
        designs = ["locked", "deferred"] if args.design == "both" else [args.design]
        print(f"work inside each writer's transaction after auditing: {args.work_ms:g} ms; "
              f"{args.seconds:g} s per run")
        print(f"{'design':<9} {'writers':>7} {'writes/s':>9} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'p99 ms':>8}")
        for design in designs:
            for writers in [int(w) for w in args.writers.split(",")]:
                done, samples = run(design, writers, args.seconds, args.work_ms)
                p50, p95, p99, _ = percentiles_ms(samples)
                print(f"{design:<9} {writers:>7} {done / args.seconds:>9.0f} {p50:>8.2f} "
                      f"{p95:>8.2f} {p99:>8.2f}")
        seal()
        unsealed = AuditEvent.chain.filter(seq__isnull=True).count()
        problem = verify_chain()
        total = AuditEvent.chain.count()
        print(f"chain: {total} events, {unsealed} unsealed, "
              f"{'verified' if problem is None else problem}")
        connection.close()
        return 0 if problem is None and unsealed == 0 else 1
    finally:
        _recreate(url, create=False)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
